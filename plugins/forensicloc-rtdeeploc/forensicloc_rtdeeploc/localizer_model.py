"""The temporal localizer network (``nn.Module``; imported lazily).

Per-snippet input = standardised features ‖ MAE cue tracks. Dilated residual temporal
convolutions see local context (a forgery is a run of snippets with a beginning and an
end); one self-attention layer sees the whole video (a snippet is forged relative to the
rest of *its* video). Outputs a forgery logit per snippet and an L2-normalised embedding
per snippet on which AICL acts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forensicloc_rtdeeploc.mae_model import Encoder, sinusoid


class ConvBlock(nn.Module):
    """Pre-norm residual block: LayerNorm → dilated conv → GELU → conv, padding zeroed."""

    def __init__(self, dim: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.norm = nn.LayerNorm(dim)
        self.conv1 = nn.Conv1d(dim, dim, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(dim, dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """:param x: ``[B, T, d]``; :param valid: ``[B, T]`` bool. :returns: ``[B, T, d]``."""
        h = self.norm(x) * valid[..., None]
        h = self.conv2(F.gelu(self.conv1(h.transpose(1, 2)))).transpose(1, 2)
        return (x + self.drop(h)) * valid[..., None]


class TemporalLocalizer(nn.Module):
    def __init__(
        self,
        in_dim: int,
        d_model: int = 64,
        layers: int = 3,
        kernel: int = 3,
        attention_layers: int = 1,
        heads: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.d_model = d_model
        self.inp = nn.Linear(in_dim, d_model)
        self.blocks = nn.ModuleList(ConvBlock(d_model, kernel, 2**i, dropout) for i in range(layers))
        self.attention = Encoder(d_model, heads, attention_layers, dropout) if attention_layers else None
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Snippet logits and embeddings.

        :param x: ``[B, T, F]`` standardised features ‖ cues (zeros in padding).
        :param valid: ``[B, T]`` bool.
        :returns: ``logits [B, T]`` and L2-normalised ``embeddings [B, T, d]`` (the
            features the logit head reads, projected onto the unit sphere).
        """
        h = self.inp(x) * valid[..., None]
        for block in self.blocks:
            h = block(h, valid)
        if self.attention is not None:
            h = self.attention(h + sinusoid(h.shape[1], self.d_model, h.device).to(h.dtype), valid)
        h = self.norm(h)
        logits = self.head(h).squeeze(-1)
        return logits, F.normalize(h.float(), dim=-1)
