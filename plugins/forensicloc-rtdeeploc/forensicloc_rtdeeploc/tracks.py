"""Numpy helpers shared by the scorers: standardisation, smoothing, calibration, pooling.

Numpy only, so the scorer modules that use it stay light for plugin discovery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forensicloc.api import Features
from forensicloc.errors import BadInputError

#: MAD → standard deviation of a normal distribution
MAD_TO_STD = 1.4826


@dataclass
class Standardizer:
    """Per-modality feature mean/std of the training videos (stored with the model),
    so features of any extractor scale reach the network at unit variance.

    With ``center``, each video is first centred on its own per-dim median: what is left
    is how a snippet deviates from the rest of its video — where a few-word forgery shows
    (a noise floor, a colour balance, a voice) — not who is speaking in which room.
    """

    modalities: list[str]
    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]
    center: bool = False

    @classmethod
    def fit(cls, features: Sequence[Features], center: bool = False) -> Standardizer:
        if not features:
            raise BadInputError("no training video to learn feature statistics from",
                                hint="check that the dataset's train split has authentic videos")
        modalities = sorted(features[0].streams)
        mean, std = {}, {}
        for m in modalities:
            stacked = np.concatenate([_centred(f.streams[m], center) for f in features], axis=0).astype(np.float64)
            mean[m] = stacked.mean(axis=0).astype(np.float32)
            # floor: a constant feature column must not blow up to inf
            std[m] = np.maximum(stacked.std(axis=0), 1e-3 * max(1.0, float(np.abs(stacked).mean()))).astype(np.float32)
        return cls(modalities, mean, std, center)

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(self.mean[m].shape[0]) for m in self.modalities}

    def check(self, features: Features, scorer: str) -> None:
        """Features of another extractor (other modalities or dims) are a user error."""
        if features.dims != self.dims:
            raise BadInputError(
                f"scorer {scorer!r} was trained on features with dims {self.dims}, got {features.dims}",
                hint="use the extractor the model was trained with (see its config.json), or retrain",
            )

    def apply(self, features: Features) -> list[np.ndarray]:
        """Per modality ``[T, D_m]`` float32, standardised and clipped to ``[-10, 10]``."""
        return [
            np.clip((_centred(features.streams[m], self.center) - self.mean[m]) / self.std[m], -10.0, 10.0).astype(np.float32)
            for m in self.modalities
        ]

    def tensors(self, prefix: str = "") -> dict[str, np.ndarray]:
        out = {}
        for m in self.modalities:
            out[f"{prefix}mean.{m}"] = self.mean[m]
            out[f"{prefix}std.{m}"] = self.std[m]
        return out

    @classmethod
    def from_tensors(
        cls, modalities: Sequence[str], tensors: Mapping[str, np.ndarray], prefix: str = "", center: bool = False
    ) -> Standardizer:
        mods = list(modalities)
        return cls(
            mods,
            {m: np.asarray(tensors[f"{prefix}mean.{m}"], dtype=np.float32) for m in mods},
            {m: np.asarray(tensors[f"{prefix}std.{m}"], dtype=np.float32) for m in mods},
            center,
        )


def _centred(x: np.ndarray, center: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if not center or x.shape[0] == 0:
        return x
    return x - np.median(x, axis=0, keepdims=True)


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` snippets (edges padded with edge values):
    a forgery lasts many snippets, single-snippet spikes are noise."""
    x = np.asarray(x, dtype=np.float64)
    if width <= 1 or x.size == 0:
        return x
    left = (width - 1) // 2
    padded = np.pad(x, (left, width - 1 - left), mode="edge")
    kernel = np.full(width, 1.0 / width)
    return np.convolve(padded, kernel, mode="valid")


def topk_mean(x: np.ndarray, ratio: float) -> float:
    """Mean of the ``ceil(ratio * T)`` largest values: a video-level score that a short
    forgery can raise without one noisy snippet deciding it."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0:
        return 0.0
    k = max(1, int(np.ceil(ratio * x.size)))
    return float(np.sort(x)[-k:].mean())


@dataclass
class Calibration:
    """Robust statistics of (smoothed, log) reconstruction errors on held-out authentic
    videos, one pair per modality: ``z = (log e - median) / (1.4826 * MAD)``."""

    median: dict[str, float]
    scale: dict[str, float]

    @classmethod
    def fit(cls, log_errors: Mapping[str, Sequence[np.ndarray]]) -> Calibration:
        median, scale = {}, {}
        for m, tracks in log_errors.items():
            values = np.concatenate([np.asarray(t, dtype=np.float64) for t in tracks]) if tracks else np.zeros(1)
            med = float(np.median(values))
            mad = float(np.median(np.abs(values - med))) * MAD_TO_STD
            median[m] = med
            scale[m] = max(mad, float(values.std()) * 0.1, 1e-6)
        return cls(median, scale)

    def z(self, modality: str, log_error: np.ndarray) -> np.ndarray:
        return (np.asarray(log_error, dtype=np.float64) - self.median[modality]) / self.scale[modality]

    def as_meta(self) -> dict[str, dict[str, float]]:
        return {"median": dict(self.median), "scale": dict(self.scale)}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Mapping[str, float]]) -> Calibration:
        return cls({k: float(v) for k, v in meta["median"].items()}, {k: float(v) for k, v in meta["scale"].items()})


def squash(z: np.ndarray, offset: float) -> np.ndarray:
    """Map a calibrated z-score to ``[0, 1]``: ``sigmoid(z - offset)``. Monotone and
    unsaturated over the useful range, so proposals keep their ranking across videos;
    0.5 sits ``offset`` robust standard deviations above authentic median error."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(z, dtype=np.float64) - offset)))


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start of each window covering ``[0, length)``; the last one ends at ``length``,
    so every window is full length when the video is at least one window long."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, max(1, stride)))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts
