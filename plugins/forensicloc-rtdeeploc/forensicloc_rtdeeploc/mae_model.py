"""The masked audio-visual autoencoder (``nn.Module``) and its masking patterns.

Imported lazily (it imports torch). One token per modality and snippet: ``[B, M, T]``
tokens for ``M`` modalities over a window of ``T`` snippets. Masked tokens are hidden
from the encoder through the attention key mask (rather than gathered out as in the
original MAE) so that any mask shape works — per-sample ratios, blocks, whole
modalities, padding — at the price of running the encoder over every position of a
short window, which is cheap here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def sinusoid(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """``[length, dim]`` fixed sinusoidal temporal embedding (any window length works)."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(position * freq)
    out[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return out


class Block(nn.Module):
    """Pre-norm transformer block (self-attention + MLP) with a key mask.

    Written on :func:`torch.nn.functional.scaled_dot_product_attention` rather than
    ``nn.TransformerEncoderLayer``, whose CPU inference fast path is several times slower
    with a padding mask, and whose results then differ between training and eval mode.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)
        self.attn_dropout = dropout

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        """:param x: ``[B, N, d]``; :param attend: ``[B, N]`` bool, keys that may be
        attended to (at least one per row). :returns: ``[B, N, d]``."""
        batch, n, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(batch, n, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attend[:, None, None, :], dropout_p=self.attn_dropout if self.training else 0.0
        )
        x = x + self.drop(self.proj(h.transpose(1, 2).reshape(batch, n, dim)))
        return x + self.drop(self.mlp(self.norm2(x)))


class Encoder(nn.Module):
    """A stack of :class:`Block` s and a final LayerNorm."""

    def __init__(self, dim: int, heads: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, attend)
        return self.norm(x)


class AVMaskedAutoencoder(nn.Module):
    """Masked autoencoder over per-snippet audio and visual features.

    Each modality ``m`` is projected to ``d_model`` and given a modality embedding and a
    temporal embedding; the encoder attends over visible tokens only; a lighter decoder
    sees the encoded visible tokens plus a shared mask token at hidden positions, and a
    per-modality head predicts the (standardised) features.
    """

    def __init__(
        self,
        dims: Sequence[int],
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        decoder_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.dims = list(dims)
        self.d_model = d_model
        self.embed = nn.ModuleList(nn.Linear(d, d_model) for d in self.dims)
        self.modality = nn.Parameter(torch.zeros(len(self.dims), d_model))
        self.encoder = Encoder(d_model, heads, layers, dropout)
        self.mask_token = nn.Parameter(torch.zeros(d_model))
        self.decoder = Encoder(d_model, heads, decoder_layers, dropout)
        self.heads = nn.ModuleList(nn.Linear(d_model, d) for d in self.dims)
        nn.init.normal_(self.modality, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)

    def _position(self, x: torch.Tensor, length: int) -> torch.Tensor:
        """``[M*T, d]``: temporal + modality embedding of every token (modality-major)."""
        pos = sinusoid(length, self.d_model, x.device).to(x.dtype)
        return (self.modality[:, None, :].to(x.dtype) + pos[None]).reshape(-1, self.d_model)

    def forward(self, inputs: Sequence[torch.Tensor], masked: torch.Tensor, valid: torch.Tensor) -> list[torch.Tensor]:
        """Reconstruct every token from the visible ones.

        :param inputs: per modality ``[B, T, D_m]`` standardised features.
        :param masked: ``[B, M, T]`` bool, tokens hidden from the encoder.
        :param valid: ``[B, T]`` bool, real snippets (``False`` = padding).
        :returns: per modality ``[B, T, D_m]`` predictions (meaningful at masked tokens).
        """
        batch, length = valid.shape
        tokens = torch.stack([emb(x) for emb, x in zip(self.embed, inputs)], dim=1)  # [B, M, T, d]
        tokens = tokens.reshape(batch, -1, self.d_model)
        pos = self._position(tokens, length)
        padded = (~valid)[:, None, :].expand(-1, len(self.dims), -1).reshape(batch, -1)
        hidden = masked.reshape(batch, -1) | padded
        encoded = self.encoder(tokens + pos, ~hidden)
        decoder_in = torch.where(hidden[..., None], self.mask_token.to(encoded.dtype), encoded) + pos
        decoded = self.decoder(decoder_in, ~padded)
        decoded = decoded.reshape(batch, len(self.dims), length, self.d_model)
        return [head(decoded[:, m]) for m, head in enumerate(self.heads)]

    def token_errors(
        self,
        inputs: Sequence[torch.Tensor],
        masked: torch.Tensor,
        valid: torch.Tensor,
        weights: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``[B, M, T]`` unreduced squared error per token (mean over feature dims).

        Kept unreduced: the loss averages it over masked tokens, the scorer reads it
        per snippet and modality. ``weights`` (per modality ``[D_m]``) weigh the feature
        dims in the mean (the scorer whitens residuals with them).
        """
        preds = self.forward(inputs, masked, valid)
        return token_errors(preds, inputs, weights)


def token_errors(
    preds: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor], weights: Sequence[torch.Tensor] | None = None
) -> torch.Tensor:
    """``[B, M, T]``: per token ``mean_d w_d (pred_d - x_d)^2`` (``w = 1`` by default)."""
    out = []
    for m, (p, x) in enumerate(zip(preds, inputs)):
        sq = (p.float() - x.float()) ** 2
        out.append((sq * weights[m]).mean(dim=-1) if weights is not None else sq.mean(dim=-1))
    return torch.stack(out, dim=1)


# --------------------------------------------------------------------------- masks


def random_token_mask(valid: torch.Tensor, modalities: int, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """``[B, M, T]``: hide ``round(ratio * n_b)`` of each sample's ``n_b`` valid tokens.

    Which tokens is ``argsort(rand)`` as in MAE, from a seeded ``generator``; padding is
    never chosen (it sorts last).
    """
    batch, length = valid.shape
    valid_tokens = valid[:, None, :].expand(-1, modalities, -1).reshape(batch, -1)
    noise = torch.rand(valid_tokens.shape, generator=generator)
    noise = noise.masked_fill(~valid_tokens.cpu(), 2.0)
    rank = noise.argsort(dim=1).argsort(dim=1)
    keep_count = torch.round(ratio * valid_tokens.sum(dim=1).cpu().float()).long()
    hide = rank < keep_count[:, None]
    return hide.reshape(batch, modalities, length).to(valid.device)


def alternating_blocks(length: int, block: int, phase: int, offset: int = 0) -> torch.Tensor:
    """``[T]`` bool: every other block of ``block`` snippets, starting at ``phase``."""
    index = (torch.arange(length) + offset) // max(1, block)
    return index % 2 == phase


def training_masks(
    valid: torch.Tensor,
    modalities: int,
    *,
    ratio: float,
    block: int,
    span_prob: float,
    cross_prob: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """``[B, M, T]`` masks for one training batch, a per-sample mixture of three kinds:

    - *cross* (probability ``cross_prob``): one modality hidden entirely, the other
      visible — it must be predicted from the other modality alone;
    - *span* (probability ``span_prob``): random token masking, then one modality hidden
      in alternating blocks (size drawn in ``[block/2, 2 block]``, random phase) with the
      other modality visible there — the scoring passes are of this shape;
    - *random* (otherwise): ``ratio`` of the tokens hidden, as in MAE.
    """
    batch, length = valid.shape
    masks = random_token_mask(valid, modalities, ratio, generator).cpu()
    kind = torch.rand(batch, generator=generator)
    which = torch.randint(modalities, (batch,), generator=generator)
    sizes = torch.randint(max(1, block // 2), 2 * block + 1, (batch,), generator=generator)
    offsets = torch.randint(0, 4 * block, (batch,), generator=generator)
    phases = torch.randint(2, (batch,), generator=generator)
    for b in range(batch):
        m = int(which[b])
        if kind[b] < cross_prob:
            masks[b] = False
            masks[b, m] = True
        elif kind[b] < cross_prob + span_prob:
            span = alternating_blocks(length, int(sizes[b]), int(phases[b]), int(offsets[b]))
            masks[b, :, span] = False
            masks[b, m, span] = True
    masks &= valid.cpu()[:, None, :]
    # never hide every token of a sample: the encoder would attend to nothing
    empty = ~(valid.cpu()[:, None, :] & ~masks).flatten(1).any(dim=1)
    masks[empty] = False
    return masks.to(valid.device)


def scoring_masks(length: int, modalities: int, block: int, cross: bool = True) -> torch.Tensor:
    """``[P, M, T]`` deterministic masking passes that hide every token at least once.

    Block passes: modality ``m`` hidden in alternating blocks of ``block`` snippets
    (two phases), all other tokens visible — each token is predicted from its own
    modality's surroundings and the other modality at the same time. Cross passes (if
    ``cross``): modality ``m`` hidden entirely — predicted from the other modality
    alone. Each token is hidden in exactly one block pass and one cross pass.
    """
    passes = []
    for m in range(modalities):
        for phase in (0, 1):
            mask = torch.zeros(modalities, length, dtype=torch.bool)
            mask[m] = alternating_blocks(length, block, phase)
            passes.append(mask)
        if cross and modalities > 1:
            mask = torch.zeros(modalities, length, dtype=torch.bool)
            mask[m] = True
            passes.append(mask)
    return torch.stack(passes)
