"""Training and scoring loops of the masked autoencoder (torch; imported lazily)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from forensicloc.api import ProgressCallback, no_progress
from forensicloc_rtdeeploc.batching import autocast, chunks, copy_state, optimizer_and_schedule, pad_batch
from forensicloc_rtdeeploc.losses import masked_reconstruction_loss
from forensicloc_rtdeeploc.mae_model import AVMaskedAutoencoder, scoring_masks, token_errors, training_masks
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
        log(f"mae {epoch}/{cfg.epochs}: loss {losses[-1]:.3f}, held-out authentic error {held[-1]:.3f}")
        progress(epoch, cfg.epochs, f"mae epoch {epoch}/{cfg.epochs} loss {losses[-1]:.4f}")
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"epochs": cfg.epochs, "losses": losses, "heldout": held, "best_epoch": best_epoch}


def heldout_error(model: AVMaskedAutoencoder, videos: Sequence[Video], cfg: MAETrainConfig, device: str) -> float:
    """Mean scoring-pass reconstruction error over held-out videos."""
    per_video = [float(reconstruction_errors(model, v, window=cfg.window, block=cfg.block, device=device).mean()) for v in videos]
    return float(np.mean(per_video))


def _scoring_batches(
    model: AVMaskedAutoencoder, video: Video, window: int, block: int, cross: bool, device: str, max_batch: int
) -> Iterator[tuple[list[int], torch.Tensor, list[torch.Tensor], list[torch.Tensor]]]:
    """The deterministic scoring passes over a video, in batches: ``(window starts,
    hidden [b, M, L], predictions, inputs)``; windows of ``window`` snippets, half
    overlap, the last one ending at the video's end."""
    model.eval()
    length = int(video[0].shape[0])
    span = min(window, length)
    starts = window_starts(length, span, max(1, span // 2))
    masks = scoring_masks(span, len(video), block, cross).to(device)  # [P, M, L]
    items = [(s, p) for s in starts for p in range(masks.shape[0])]
    for part in chunks(len(items), max_batch):
        batch = items[part]
        inputs, valid = pad_batch([[x[s : s + span] for x in video] for s, _ in batch], span, device)
        hide = masks[[p for _, p in batch]]
        with autocast(device):
            preds = model(inputs, hide, valid)
        yield [s for s, _ in batch], hide, [p.float() for p in preds], inputs


@torch.inference_mode()
def reconstruction_errors(
    model: AVMaskedAutoencoder,
    video: Video,
    *,
    window: int,
    block: int,
    cross: bool = True,
    weights: Sequence[np.ndarray] | None = None,
    device: str = "cpu",
    max_batch: int = 256,
) -> np.ndarray:
    """``[M, T]`` error of every token, each reconstructed while hidden.

    In each window, the deterministic :func:`scoring_masks` passes hide every token
    (once in each block pass set, once in a cross pass); a token's error is the mean
    over the passes that hid it, and overlapping windows are averaged. ``weights``
    (per modality ``[D_m]``) weigh the feature dims. No randomness: scores repeat exactly.
    """
    length = int(video[0].shape[0])
    w = [torch.as_tensor(x, dtype=torch.float32, device=device) for x in weights] if weights is not None else None
    err_sum: dict[int, torch.Tensor] = {}  # window start -> [M, L] summed error over hiding passes
    hidden: dict[int, torch.Tensor] = {}  # window start -> [M, L] number of hiding passes
    for starts, hide, preds, inputs in _scoring_batches(model, video, window, block, cross, device, max_batch):
        errors = token_errors(preds, inputs, w) * hide.float()
        for s, err, h in zip(starts, errors, hide.float()):
            err_sum[s] = err_sum.get(s, 0.0) + err
            hidden[s] = hidden.get(s, 0.0) + h
    total = np.zeros((len(video), length))
    count = np.zeros(length)
    for s, err in err_sum.items():
        mean = (err / hidden[s].clamp_min(1.0)).cpu().numpy()
        total[:, s : s + mean.shape[1]] += mean
        count[s : s + mean.shape[1]] += 1
    return total / np.maximum(count, 1)[None, :]


@torch.inference_mode()
def residual_scale(
    model: AVMaskedAutoencoder,
    videos: Sequence[Video],
    *,
    window: int,
    block: int,
    cross: bool = True,
    device: str = "cpu",
    max_batch: int = 256,
) -> list[np.ndarray]:
    """Per modality ``[D_m]``: mean squared residual of each feature dim over hidden
    tokens of authentic videos — the scale that whitens residuals before they are
    averaged, so that dims the model predicts well count as much as unpredictable ones."""
    sums = [np.zeros(x.shape[1]) for x in videos[0]]
    counts = np.zeros(len(sums))
    for video in videos:
        for _, hide, preds, inputs in _scoring_batches(model, video, window, block, cross, device, max_batch):
            for m, (p, x) in enumerate(zip(preds, inputs)):
                h = hide[:, m].float()[..., None]  # [b, L, 1]
                sums[m] += (((p - x.float()) ** 2) * h).sum(dim=(0, 1)).cpu().numpy()
                counts[m] += float(h.sum())
    return [np.maximum(s / max(c, 1.0), 1e-4) for s, c in zip(sums, counts)]
