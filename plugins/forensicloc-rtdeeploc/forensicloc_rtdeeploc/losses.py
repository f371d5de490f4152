"""The training losses, as pure functions of tensors (no module state).

Shapes: ``B`` videos (or windows) in a batch, ``T`` snippets (padded), ``M`` modalities,
``D`` embedding size. Boolean masks mark which entries count; padded snippets are never
in any mask. The equations are written out in the plugin's README.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def masked_reconstruction_loss(errors: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """Mean per-token reconstruction error over the masked tokens.

    :param errors: ``[B, M, T]`` per-token squared error (mean over feature dims).
    :param masked: ``[B, M, T]`` bool, tokens hidden from the encoder (and not padding).
    :returns: scalar; only masked tokens count, as in MAE (visible ones are trivial).
    """
    weight = masked.to(errors.dtype)
    return (errors * weight).sum() / weight.sum().clamp_min(1.0)


def topk_pool(logits: torch.Tensor, valid: torch.Tensor, k_ratio: float, k_min: int = 1) -> torch.Tensor:
    """Per-video mean of the ``k`` largest snippet logits, ``k = max(k_min, ceil(k_ratio * T_b))``.

    :param logits: ``[B, T]`` snippet logits.
    :param valid: ``[B, T]`` bool, real snippets (not padding).
    :returns: ``[B]`` video logits. Top-k rather than max is less noisy; rather than the
        mean, it does not dilute a short forgery in a long video.
    """
    lengths = valid.sum(dim=1)
    k = torch.clamp(torch.ceil(k_ratio * lengths.to(logits.dtype)).long(), min=k_min)
    k = torch.minimum(k, lengths.clamp_min(1))
    ordered = logits.masked_fill(~valid, float("-inf")).sort(dim=1, descending=True).values
    take = torch.arange(logits.shape[1], device=logits.device)[None, :] < k[:, None]
    ordered = torch.where(take, ordered, torch.zeros_like(ordered))
    return ordered.sum(dim=1) / k.to(logits.dtype)


def mil_loss(logits: torch.Tensor, valid: torch.Tensor, labels: torch.Tensor, k_ratio: float = 0.125) -> torch.Tensor:
    """Multiple-instance video loss: BCE of the top-k pooled logit against the video label.

    :param logits: ``[B, T]``; :param valid: ``[B, T]`` bool; :param labels: ``[B]`` in {0, 1}.
    :returns: scalar. A fake video needs *some* high snippets, a real video none.
    """
    video = topk_pool(logits, valid, k_ratio)
    return F.binary_cross_entropy_with_logits(video, labels.to(video.dtype))


def snippet_bce(logits: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Snippet-level BCE on the snippets that have a (pseudo-)label, balanced.

    :param logits: ``[B, T]``; :param positive: ``[B, T]`` bool, snippets taken as forged;
    :param negative: ``[B, T]`` bool, snippets taken as authentic.
    :returns: scalar ``mean_pos BCE(l, 1) + mean_neg BCE(l, 0)`` (a missing side counts 0),
        so the many authentic snippets do not drown the few forged ones.
    """
    zero = logits.sum() * 0.0
    pos = F.softplus(-logits[positive]).mean() if positive.any() else zero
    neg = F.softplus(logits[negative]).mean() if negative.any() else zero
    return pos + neg


@dataclass
class AICLTerms:
    """The parts of the AICL loss (scalars), kept apart for logging and tests."""

    loss: torch.Tensor
    pull: torch.Tensor
    push: torch.Tensor


def aicl_loss(
    embeddings: torch.Tensor,
    authentic: torch.Tensor,
    forged: torch.Tensor,
    *,
    margin: float = 1.0,
    push_weight: float = 1.0,
    centre: torch.Tensor | None = None,
) -> AICLTerms:
    """Asymmetric Intra-video Contrastive Loss.

    Authentic snippets are pulled into one compact cluster; forged snippets are only
    pushed out of it, beyond ``margin`` — nothing pulls forged snippets together, since
    forgeries of different kinds need not resemble each other.

    With ``c`` the authentic centre (``centre`` if given, else the batch mean of the
    authentic embeddings; detached either way) and ``mu_b`` the detached mean of the
    authentic embeddings of video ``b`` (intra-video centre; ``c`` where video ``b`` has
    none)::

        pull = mean_{i in A} ||z_i - c||^2
        push = mean_{j in F} relu(margin - min(||z_j - c||, ||z_j - mu_b(j)||))^2
        loss = pull + push_weight * push

    A forged snippet must be far from the authentic cluster both globally and within its
    own video. Detaching ``c`` does not change the pull gradient (the gradient of the
    cluster's variance is ``2 (z_i - mean)`` either way) but stops forged snippets from
    dragging the centre.

    :param embeddings: ``[B, T, D]`` snippet embeddings (the caller L2-normalises them,
        so ``margin`` lives on the unit sphere, where distances are at most 2).
    :param authentic: ``[B, T]`` bool, anchors (all snippets of real videos, the
        lowest-cue snippets of fake ones).
    :param forged: ``[B, T]`` bool, snippets the cue and the localizer both mark forged.
    :param centre: optional ``[D]`` centre (e.g. a running mean); detached here.
    :returns: :class:`AICLTerms`; terms with no snippet are zero (with a graph).
    """
    zero = embeddings.sum() * 0.0
    a = authentic.to(embeddings.dtype)[..., None]  # [B, T, 1]
    n_auth = a.sum()
    if centre is None:
        if n_auth > 0:
            centre = (embeddings * a).sum(dim=(0, 1)) / n_auth
        else:
            centre = None
    if centre is None:  # no anchor in the batch: nothing defines the cluster
        return AICLTerms(zero, zero, zero)
    c = centre.detach().to(embeddings.dtype)

    sq = ((embeddings - c) ** 2).sum(dim=-1)  # [B, T]
    pull = (sq * a[..., 0]).sum() / n_auth.clamp_min(1.0) if n_auth > 0 else zero

    if forged.any():
        per_video_n = a.sum(dim=1)  # [B, 1]
        per_video = (embeddings * a).sum(dim=1) / per_video_n.clamp_min(1.0)  # [B, D]
        mu = torch.where(per_video_n > 0, per_video, c[None, :]).detach()
        d_global = sq.clamp_min(1e-12).sqrt()
        d_intra = ((embeddings - mu[:, None, :]) ** 2).sum(dim=-1).clamp_min(1e-12).sqrt()
        hinge = F.relu(margin - torch.minimum(d_global, d_intra)) ** 2
        f = forged.to(embeddings.dtype)
        push = (hinge * f).sum() / f.sum()
    else:
        push = zero
    return AICLTerms(pull + push_weight * push, pull, push)
