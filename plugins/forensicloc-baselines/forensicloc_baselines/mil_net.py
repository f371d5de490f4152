"""The ``mil`` network and its pooling (torch; imported only when ``mil`` trains or scores)."""

from __future__ import annotations

import torch
from torch import nn


class TemporalMILNet(nn.Module):
    """A small temporal conv net: per-snippet forgery logits from concatenated features.

    ``x: [B, D, T] -> logits [B, T]``. Receptive field ``1 + 2 * layers * (kernel // 2)``
    snippets: a little context, no attention, so the baseline stays a baseline.
    """

    def __init__(self, in_dim: int, hidden: int = 64, layers: int = 2, kernel: int = 3, dropout: float = 0.2):
        super().__init__()
        blocks: list[nn.Module] = []
        dim = in_dim
        for _ in range(layers):
            blocks += [nn.Conv1d(dim, hidden, kernel, padding=kernel // 2), nn.GELU(), nn.Dropout(dropout)]
            dim = hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Conv1d(dim, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(1)


def topk_pool(logits: torch.Tensor, mask: torch.Tensor, divisor: int) -> torch.Tensor:
    """Mean of the ``ceil(T_i / divisor)`` largest logits of each video (padding ignored).

    ``logits, mask: [B, T]`` (mask true on real snippets) ``-> [B]``. This is the k-max
    MIL pooling of W-TALC: a fake video needs *some* high-scoring snippets, a real
    video none.
    """
    lengths = mask.sum(dim=1).clamp(min=1)
    k = torch.ceil(lengths.float() / divisor).long().clamp(min=1)
    ranked = logits.masked_fill(~mask, float("-inf")).sort(dim=1, descending=True).values
    take = torch.arange(logits.shape[1], device=logits.device)[None, :] < k[:, None]
    return torch.where(take, ranked, torch.zeros_like(ranked)).sum(dim=1) / k


