"""A toy generator of audio-visual feature sequences with planted forgeries.

A shared latent signal drives both modalities (so they are correlated, as speech and
lips are); a forgery replaces one modality's latent over a span with an unrelated one
(audio-visual mismatch) and shifts it a little. Fast, deterministic, no media needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forensicloc.api import Features, Sample, VideoRecord

DIMS = {"visual": 12, "audio": 10}
RATE = 25.0


def _latent(rng: np.random.Generator, length: int, dim: int = 4) -> np.ndarray:
    out = np.zeros((length, dim))
    state = rng.normal(size=dim)
    for t in range(length):
        state = 0.85 * state + 0.5 * rng.normal(size=dim)
        out[t] = state
    return out


_MIX = np.random.default_rng(1234)
MIX = {m: _MIX.normal(size=(4, d)) for m, d in DIMS.items()}


def toy_video(rng: np.random.Generator, length: int, fake: bool) -> tuple[Features, tuple[int, int] | None, str | None]:
    latent = _latent(rng, length)
    streams = {}
    span, modality = None, None
    if fake:
        n = int(rng.integers(length // 5, length // 3))
        start = int(rng.integers(0, length - n))
        span, modality = (start, start + n), str(rng.choice(list(DIMS)))
    for m, d in DIMS.items():
        lat = latent.copy()
        if span is not None and m == modality:
            lat[span[0] : span[1]] = _latent(rng, span[1] - span[0]) + 1.5
        offset = rng.normal(scale=0.3, size=d)
        streams[m] = (lat @ MIX[m] + offset + 0.1 * rng.normal(size=(length, d))).astype(np.float32)
    return Features(streams, rate=RATE), span, modality


def toy_samples(n_real: int, n_fake: int, *, seed: int = 0, length: tuple[int, int] = (60, 120),
                with_truth: bool = False) -> list:
    """Samples (records without annotations) of ``n_real`` real and ``n_fake`` fake videos.

    With ``with_truth``, returns ``(sample, span)`` pairs (span in snippets, or None).
    """
    rng = np.random.default_rng(seed)
    out = []
    labels = [0] * n_real + [1] * n_fake
    for i, label in enumerate(labels):
        features, span, _ = toy_video(rng, int(rng.integers(*length)), bool(label))
        record = VideoRecord(file=f"v{i:03d}.mp4", path=Path(f"/nonexistent/v{i:03d}.mp4"), split="train", label=label)
        sample = Sample(record, features)
        out.append((sample, span) if with_truth else sample)
    return out
