"""Numpy helpers shared by the baselines: standardisation, calibration, smoothing.

One-class scorers (``pca``, ``avsync``) produce raw per-snippet errors whose scale
depends on the features. To make tracks comparable across modalities and videos they are
*calibrated*: standardised against the errors of authentic snippets the model was not
fitted on (robust location and scale of their log-error), then mapped to ``[0, 1]`` by
a logistic, so 0.5 means "as unusual as a typical authentic snippet's upper tail" and the
ranking of very unusual snippets is kept (a logistic saturates far later than a CDF).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensicloc.api import Features, Sample

#: log-errors are floored here so a perfect reconstruction does not give -inf
_EPS = 1e-8


@dataclass
class Standardizer:
    """Per-dimension mean and std of training snippets (std floored to avoid blow-ups)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """``x``: ``[N, D]`` snippets."""
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std > 1e-6, std, 1.0)
        return cls(mean, std)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std


@dataclass
class Calibration:
    """Robust location and scale of authentic log-errors: ``z = (log e - ref - loc) / scale``.

    ``reference="video"`` measures each error against the median log-error of its own
    video (``ref``), ``"global"`` against nothing (``ref = 0``). Per video is the
    default because unseen speakers, faces and rooms shift a one-class model's error
    of a *whole* video, often by more than a forgery raises it locally; what marks a
    forged span is that it stands out from the rest of its video.
    """

    loc: float
    scale: float
    reference: str = "video"

    @classmethod
    def fit(cls, errors: Sequence[np.ndarray], reference: str = "video") -> Calibration:
        """``errors``: raw per-snippet errors of held-out authentic videos, one array each."""
        parts = [_relative(np.log(np.asarray(e, dtype=np.float64).reshape(-1) + _EPS), reference) for e in errors]
        log_e = np.concatenate(parts) if parts else np.zeros(0)
        if log_e.size == 0:
            return cls(0.0, 1.0, reference)
        loc = float(np.median(log_e))
        scale = float(1.4826 * np.median(np.abs(log_e - loc)))  # MAD, consistent with a std
        if not np.isfinite(scale) or scale < 1e-6:
            scale = float(log_e.std()) if log_e.std() > 1e-6 else 1.0
        return cls(loc, scale, reference)

    def z(self, errors: np.ndarray) -> np.ndarray:
        """Calibrated scores of one video's errors ``[T]``."""
        log_e = _relative(np.log(np.asarray(errors, dtype=np.float64) + _EPS), self.reference)
        return (log_e - self.loc) / self.scale

    def as_list(self) -> list[Any]:
        return [self.loc, self.scale, self.reference]

    @classmethod
    def from_list(cls, values: Sequence[Any]) -> Calibration:
        return cls(float(values[0]), float(values[1]), str(values[2]) if len(values) > 2 else "global")


def _relative(log_e: np.ndarray, reference: str) -> np.ndarray:
    if reference == "video" and log_e.size:
        return log_e - np.median(log_e)
    return log_e


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def smooth(track: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` snippets (edges padded by repetition).

    Per-snippet errors are noisy; forgeries last ≥ 0.2 s (5 snippets at 25 Hz), so a
    short window removes isolated spikes without blurring segment boundaries much.
    """
    track = np.asarray(track, dtype=np.float64)
    if width <= 1 or track.size == 0:
        return track
    left = (width - 1) // 2
    padded = np.pad(track, (left, width - 1 - left), mode="edge")
    kernel = np.full(width, 1.0 / width)
    return np.convolve(padded, kernel, mode="valid")


def topk_mean(track: np.ndarray, divisor: int = 8) -> float:
    """Mean of the ``ceil(T / divisor)`` largest values: the MIL video-level pooling."""
    track = np.asarray(track, dtype=np.float64).reshape(-1)
    if track.size == 0:
        return 0.0
    k = max(1, int(np.ceil(track.size / divisor)))
    return float(np.partition(track, track.size - k)[track.size - k :].mean())


def window(x: np.ndarray, context: int) -> np.ndarray:
    """``[T, D] -> [T, (2 * context + 1) * D]``: each snippet with its neighbours
    (edges repeated), so a regression can use a little temporal context."""
    if context <= 0:
        return x
    t = x.shape[0]
    padded = np.pad(x, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([padded[i : i + t] for i in range(2 * context + 1)], axis=1)


def split_holdout(samples: Sequence[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split videos (not snippets: neighbours are correlated) into fit / calibration.

    With fewer than two videos both parts are the same video, which makes the
    calibration optimistic but keeps tiny experiments running.
    """
    samples = list(samples)
    if len(samples) < 2 or fraction <= 0:
        return samples, samples
    order = np.random.default_rng(seed).permutation(len(samples))
    n_hold = min(len(samples) - 1, max(1, int(round(fraction * len(samples)))))
    hold = [samples[i] for i in order[:n_hold]]
    fit = [samples[i] for i in order[n_hold:]]
    return fit, hold


def authentic(samples: Sequence[Sample]) -> list[Sample]:
    """Samples not known to be fake (a real-only scorer may be handed labels or not)."""
    return [s for s in samples if s.record.label != 1]


def stack(samples: Sequence[Sample], modality: str) -> np.ndarray:
    """All snippets of one modality of ``samples``: ``[sum T, D]`` float64."""
    arrays = [np.asarray(s.features.streams[modality], dtype=np.float64) for s in samples]
    arrays = [a for a in arrays if a.shape[0]]
    if not arrays:
        raise ValueError(f"no {modality} snippets to fit on")
    return np.concatenate(arrays, axis=0)


def check_modalities(features: Features, expected: Mapping[str, int], scorer: str) -> None:
    """Refuse features whose streams or dimensions differ from those fitted on."""
    from forensicloc.errors import ModelError

    dims = {m: features.dims.get(m) for m in expected}
    if dims != dict(expected):
        raise ModelError(
            f"{scorer} was fitted on features {dict(expected)} but got {features.dims}",
            hint="score with the extractor the model was trained with",
        )


def content_seed(features: Features, salt: int = 0) -> int:
    """A seed derived from the feature values, so a score depends on the video only."""
    h = hashlib.sha256(str(int(salt)).encode())
    for name in sorted(features.streams):
        arr = np.ascontiguousarray(features.streams[name], dtype=np.float32)
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return int.from_bytes(h.digest()[:8], "little")
