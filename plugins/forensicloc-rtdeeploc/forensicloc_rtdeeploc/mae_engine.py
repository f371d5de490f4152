"""Training and scoring loops of the masked autoencoder (torch; imported lazily)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from forensicloc.api import ProgressCallback, no_progress
from forensicloc_rtdeeploc.batching import autocast, chunks, copy_state, optimizer_and_schedule, pad_batch
from forensicloc_rtdeeploc.losses import masked_reconstruction_loss
from forensicloc_rtdeeploc.mae_model import AVMaskedAutoencoder, scoring_masks, training_masks
from forensicloc_rtdeeploc.tracks import window_starts

#: a video as the engine sees it: per-modality standardised ``[T, D_m]`` arrays
Video = Sequence[np.ndarray]


@dataclass
class MAETrainConfig:
    epochs: int
    window: int
    batch_size: int
    lr: float
    weight_decay: float
    mask_ratio: float
    span_prob: float
    cross_prob: float
    block: int


def _crops(videos: Sequence[Video], window: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``ceil(T / window)`` random windows per video (so each snippet is seen about once
    per epoch), in shuffled order."""
    crops = []
    for i, video in enumerate(videos):
        length = int(video[0].shape[0])
        n = max(1, math.ceil(length / window))
        starts = rng.integers(0, max(1, length - window + 1), size=n)
        crops.extend((i, int(s)) for s in starts)
    order = rng.permutation(len(crops))
    return [crops[k] for k in order]


def train_mae(
    model: AVMaskedAutoencoder,
    videos: Sequence[Video],
    heldout: Sequence[Video],
    cfg: MAETrainConfig,
    *,
    device: str,
    seed: int,
    progress: ProgressCallback = no_progress,
    log: Callable[[str], None] = lambda m: None,
) -> dict:
    """Train on random windows of ``videos``; keep the epoch with the lowest held-out
    reconstruction error (authentic videos only: no label is needed to select it).

    :returns: summary with per-epoch ``losses`` and ``heldout`` errors and ``best_epoch``.
    """
    model.to(device)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(_crops(videos, cfg.window, np.random.default_rng(0))) / cfg.batch_size)
    opt, sched = optimizer_and_schedule(model, cfg.lr, cfg.weight_decay, cfg.epochs * steps_per_epoch)
    losses, held, best, best_state, best_epoch = [], [], math.inf, None, 0
    modalities = len(videos[0])
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        crops = _crops(videos, cfg.window, rng)
        total, count = 0.0, 0
        for part in chunks(len(crops), cfg.batch_size):
            items = [[x[s : s + cfg.window] for x in videos[i]] for i, s in crops[part]]
            inputs, valid = pad_batch(items, cfg.window, device)
            masks = training_masks(
                valid, modalities, ratio=cfg.mask_ratio, block=cfg.block,
                span_prob=cfg.span_prob, cross_prob=cfg.cross_prob, generator=gen,
            )
            with autocast(device):
                errors = model.token_errors(inputs, masks, valid)
            loss = masked_reconstruction_loss(errors, masks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(items)
            count += len(items)
        losses.append(total / max(1, count))
        held.append(heldout_error(model, heldout, cfg, device) if heldout else losses[-1])
        if held[-1] < best:
            best, best_state, best_epoch = held[-1], copy_state(model), epoch
        log(f"mae epoch {epoch}/{cfg.epochs}: loss {losses[-1]:.4f}, held-out error {held[-1]:.4f}")
        progress(epoch, cfg.epochs, f"mae epoch {epoch}/{cfg.epochs} loss {losses[-1]:.4f}")
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"epochs": cfg.epochs, "losses": losses, "heldout": held, "best_epoch": best_epoch}


def heldout_error(model: AVMaskedAutoencoder, videos: Sequence[Video], cfg: MAETrainConfig, device: str) -> float:
    """Mean scoring-pass reconstruction error over held-out videos."""
    per_video = [float(reconstruction_errors(model, v, window=cfg.window, block=cfg.block, device=device).mean()) for v in videos]
    return float(np.mean(per_video))


@torch.inference_mode()
def reconstruction_errors(
    model: AVMaskedAutoencoder,
    video: Video,
    *,
    window: int,
    block: int,
    cross: bool = True,
    device: str = "cpu",
    max_batch: int = 256,
) -> np.ndarray:
    """``[M, T]`` error of every token, each reconstructed while hidden.

    Windows of ``window`` snippets with half overlap cover the video; in each, the
    deterministic :func:`scoring_masks` passes hide every token (once in a block pass,
    once in a cross pass); a token's error is the mean over the passes that hid it, and
    overlapping windows are averaged. No randomness: scores repeat exactly.
    """
    model.eval()
    length = int(video[0].shape[0])
    span = min(window, length)
    starts = window_starts(length, span, max(1, span // 2))
    masks = scoring_masks(span, len(video), block, cross).to(device)  # [P, M, L]
    passes = masks.shape[0]
    items = [(s, p) for s in starts for p in range(passes)]
    total = np.zeros((len(video), length))
    count = np.zeros(length)
    per_token = masks.float().sum(dim=0).clamp_min(1.0)  # [M, L]
    window_err: dict[int, torch.Tensor] = {}
    for part in chunks(len(items), max_batch):
        batch = items[part]
        inputs, valid = pad_batch([[x[s : s + span] for x in video] for s, _ in batch], span, device)
        hide = masks[[p for _, p in batch]]
        with autocast(device):
            errors = model.token_errors(inputs, hide, valid)  # [b, M, L]
        errors = errors.float() * hide.float()
        for (s, _), err in zip(batch, errors):
            window_err[s] = window_err.get(s, 0.0) + err
    for s, err in window_err.items():
        total[:, s : s + span] += (err / per_token).cpu().numpy()
        count[s : s + span] += 1
    return total / np.maximum(count, 1)[None, :]
