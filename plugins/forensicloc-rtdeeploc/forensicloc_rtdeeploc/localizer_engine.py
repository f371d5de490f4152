"""Training loop of the localizer: MIL + AICL, model selection by a callback (torch)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from forensicloc.api import ProgressCallback, no_progress
from forensicloc_rtdeeploc.batching import autocast, chunks, copy_state, optimizer_and_schedule, pad_batch
from forensicloc_rtdeeploc.localizer_model import TemporalLocalizer
from forensicloc_rtdeeploc.losses import aicl_loss, mil_loss, snippet_bce


@dataclass
class LocalizerTrainConfig:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    topk: float
    anchor_ratio: float
    forged_ratio: float
    margin: float
    aicl_weight: float
    push_weight: float
    centre_momentum: float
    cue_weight: float = 0.0


@dataclass
class TrainVideo:
    """One training video: network input ``x [T, F]``, selection cue ``cue [T]``
    (higher = reconstructs worse), and the video label."""

    x: np.ndarray
    cue: np.ndarray
    label: int


def _rank_in_video(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` ascending rank of each valid entry among its video's valid entries."""
    filled = values.masked_fill(~valid, float("inf"))
    return filled.argsort(dim=1).argsort(dim=1)


def select_snippets(
    cue: torch.Tensor,
    logits: torch.Tensor,
    valid: torch.Tensor,
    labels: torch.Tensor,
    anchor_ratio: float,
    forged_ratio: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Authentic anchors and forged candidates for AICL, from the cue and the localizer.

    - authentic: every snippet of a real video; in a fake video, the ``anchor_ratio``
      fraction with the lowest cue (they reconstruct like authentic footage);
    - forged: in a fake video, the ``forged_ratio`` fraction with the highest cue *and*
      a logit at least the video's median — the cue proposes, the localizer confirms,
      so one source's mistakes are not enforced alone.

    :param cue: ``[B, T]``; :param logits: ``[B, T]`` (detached here);
    :param valid: ``[B, T]`` bool; :param labels: ``[B]`` in {0, 1}.
    :returns: ``(authentic, forged)``, ``[B, T]`` bool each, disjoint.
    """
    n = valid.sum(dim=1, keepdim=True)
    rank = _rank_in_video(cue, valid)
    fake = labels.bool()[:, None]
    n_anchor = torch.ceil(anchor_ratio * n.float()).long()
    n_forged = torch.ceil(forged_ratio * n.float()).long()
    low_cue = rank < n_anchor
    high_cue = rank >= (n - n_forged)
    logit_rank = _rank_in_video(logits.detach().float(), valid)
    confirmed = logit_rank >= n // 2
    authentic = valid & (~fake | low_cue)
    forged = valid & fake & high_cue & confirmed & ~authentic
    return authentic, forged


def train_localizer(
    model: TemporalLocalizer,
    videos: Sequence[TrainVideo],
    cfg: LocalizerTrainConfig,
    *,
    device: str,
    seed: int,
    evaluate: Callable[[], dict[str, float]] | None = None,
    progress: ProgressCallback = no_progress,
    log: Callable[[str], None] = lambda m: None,
) -> dict:
    """Train with MIL + ``aicl_weight`` x AICL; keep the epoch with the best validation
    video-level AUC from ``evaluate`` (the last epoch when there is no validation).

    :returns: summary with per-epoch losses, validation metrics and ``best_epoch``.
    """
    model.to(device)
    rng = np.random.default_rng(seed)
    steps = math.ceil(len(videos) / cfg.batch_size)
    opt, sched = optimizer_and_schedule(model, cfg.lr, cfg.weight_decay, cfg.epochs * steps)
    centre: torch.Tensor | None = None
    history: dict[str, list] = {"loss": [], "mil": [], "pull": [], "push": [], "validation": []}
    best_auc, best_state, best_epoch = -math.inf, None, cfg.epochs
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = rng.permutation(len(videos))
        sums = {"loss": 0.0, "mil": 0.0, "pull": 0.0, "push": 0.0}
        for part in chunks(len(order), cfg.batch_size):
            batch = [videos[i] for i in order[part]]
            (x, cue), valid = pad_batch([[v.x, v.cue[:, None]] for v in batch], device=device)
            labels = torch.tensor([v.label for v in batch], device=device)
            with autocast(device):
                logits, emb = model(x, valid)
            logits = logits.float()
            l_mil = mil_loss(logits, valid, labels, cfg.topk)
            authentic, forged = select_snippets(cue[..., 0], logits, valid, labels, cfg.anchor_ratio, cfg.forged_ratio)
            if authentic.any():
                a = authentic.float()[..., None]
                batch_centre = ((emb * a).sum(dim=(0, 1)) / a.sum()).detach()
                centre = batch_centre if centre is None else cfg.centre_momentum * centre + (1 - cfg.centre_momentum) * batch_centre
            terms = aicl_loss(emb, authentic, forged, margin=cfg.margin, push_weight=cfg.push_weight, centre=centre)
            loss = l_mil + cfg.aicl_weight * terms.loss
            if cfg.cue_weight > 0:
                # every snippet of a real video is authentic (that much the label says);
                # in a fake video the cue-selected sets act as pseudo-labels
                loss = loss + cfg.cue_weight * snippet_bce(logits, forged, authentic)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            for key, value in (("loss", loss), ("mil", l_mil), ("pull", terms.pull), ("push", terms.push)):
                sums[key] += float(value.detach()) * len(batch)
        for key, value in sums.items():
            history[key].append(value / len(videos))
        metrics = evaluate() if evaluate is not None else {}
        history["validation"].append(metrics)
        auc = metrics.get("auc")
        if auc is not None and auc >= best_auc:  # ties: the later, longer-trained epoch
            best_auc, best_state, best_epoch = auc, copy_state(model), epoch
        shown = " ".join(f"{k.upper() if k == 'auc' else k} {v:.3f}" for k, v in metrics.items())
        log(
            f"localizer {epoch}/{cfg.epochs}: loss {history['loss'][-1]:.3f} "
            f"(mil {history['mil'][-1]:.3f} pull {history['pull'][-1]:.3f} push {history['push'][-1]:.3f})"
            + (f" dev {shown}" if shown else "")
        )
        progress(epoch, cfg.epochs, f"localizer epoch {epoch}/{cfg.epochs} loss {history['loss'][-1]:.4f}")
    if best_state is not None:
        model.load_state_dict(best_state)
    return {**history, "epochs": cfg.epochs, "best_epoch": best_epoch}
