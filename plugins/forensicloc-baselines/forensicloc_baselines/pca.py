"""``pca``: one-class reconstruction error of a PCA model of authentic snippets.

The classic linear anomaly detector (PCA subspace / "reconstruction error" method): the
features of authentic snippets lie near a low-dimensional subspace; a forged snippet's
features leave it, so the residual of the projection onto that subspace is large.

Per modality ``m`` (features standardised on authentic training snippets, ``x̃``):

    P_m  = top-k principal directions (k explains ``variance`` of the variance)
    e_m(t) = ‖x̃_t − P_m P_mᵀ x̃_t‖² / D_m
    r_m(t) = log e_m(t) − median_t log e_m(t)   (``reference="video"``; ``"global"``: no median)
    z_m(t) = (r_m(t) − loc_m) / scale_m         (robust statistics of held-out authentic videos)
    s_m(t) = sigmoid(z_m(t)),   s(t) = sigmoid(max_m z_m(t))

Errors are taken relative to the video's own median by default: an unseen speaker's
face and voice lie off a subspace fitted on a few training speakers, which raises the
error of the *whole* video (by more than a forgery raises it locally, on the synthetic
data) and would saturate the track; a forged span still stands out from the rest of its
video. The overall track takes the most unusual modality: a forgery usually touches one of the
two. Each snippet is judged on its own, so there is no cue of audio-visual agreement: that
is what ``avsync`` (and the RT-DeepLoc MAE, which reconstructs one modality from the
other) add.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack, Supervision
from forensicloc_baselines.common import (
    Calibration,
    Standardizer,
    authentic,
    check_modalities,
    sigmoid,
    smooth,
    split_holdout,
    stack,
    topk_mean,
)


@dataclass
class PCAScorer(Scorer):
    """Per-modality PCA reconstruction error of authentic snippets, calibrated to [0, 1]."""

    name: ClassVar[str] = "pca"
    description: ClassVar[str] = "one-class PCA reconstruction error of authentic snippets (per modality)"
    supervision: ClassVar[Supervision] = "real-only"

    variance: float = field(
        default=0.9, metadata={"help": "fraction of the authentic variance the subspace keeps (0-1)"}
    )
    max_components: int = field(default=64, metadata={"help": "upper bound on the subspace dimension per modality"})
    holdout: float = field(
        default=0.2, metadata={"help": "fraction of training videos held out to calibrate the error scale"}
    )
    smoothing: int = field(default=5, metadata={"help": "moving-average width of the score track, in snippets"})
    reference: Literal["video", "global"] = field(
        default="video",
        metadata={"help": "video: errors relative to the video's median error (robust to unseen speakers); "
                  "global: absolute errors"},
    )
    max_snippets: int = field(
        default=200_000, metadata={"help": "fit on at most this many snippets per modality (random subset)"}
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.variance <= 1.0:
            raise ValueError(f"variance must be in (0, 1], got {self.variance}")
        if self.reference not in ("video", "global"):
            raise ValueError(f"reference must be 'video' or 'global', got {self.reference!r}")
        self._models: dict[str, dict[str, np.ndarray]] = {}
        self._calibration: dict[str, Calibration] = {}
        self._dims: dict[str, int] = {}

    # -- fitting -----------------------------------------------------------------

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        samples = authentic(train)
        if not samples:
            raise ValueError("pca needs authentic training videos")
        fit_set, hold_set = split_holdout(samples, self.holdout, ctx.seed)
        rng = np.random.default_rng(ctx.seed)
        modalities = sorted(samples[0].features.streams)
        summary: dict[str, Any] = {"videos": len(samples), "calibration_videos": len(hold_set), "components": {}}
        for i, m in enumerate(modalities):
            ctx.progress(i, len(modalities), f"pca: {m}")
            x = stack(fit_set, m)
            if x.shape[0] > self.max_snippets:
                x = x[rng.choice(x.shape[0], self.max_snippets, replace=False)]
            std = Standardizer.fit(x)
            xs = std(x)
            # principal directions from the covariance (D is small: eigh beats an SVD of N x D)
            cov = xs.T @ xs / max(1, xs.shape[0] - 1)
            eigval, eigvec = np.linalg.eigh(cov)
            order = np.argsort(eigval)[::-1]
            eigval, eigvec = np.clip(eigval[order], 0, None), eigvec[:, order]
            total = eigval.sum()
            ratio = np.cumsum(eigval) / total if total > 0 else np.ones_like(eigval)
            k = int(np.searchsorted(ratio, self.variance - 1e-12) + 1)
            k = max(1, min(k, self.max_components, x.shape[1] - 1 if x.shape[1] > 1 else 1))
            self._models[m] = {"mean": std.mean, "std": std.std, "components": eigvec[:, :k].copy()}
            self._dims[m] = int(x.shape[1])
            errors = [self._errors(m, s.features.streams[m]) for s in hold_set]
            self._calibration[m] = Calibration.fit(errors, self.reference)
            summary["components"][m] = k
        ctx.progress(len(modalities), len(modalities), "pca: done")
        return summary

    def _errors(self, modality: str, x: np.ndarray) -> np.ndarray:
        """Raw reconstruction error per snippet, ``[T]``."""
        model = self._models[modality]
        xs = (np.asarray(x, dtype=np.float64) - model["mean"]) / model["std"]
        p = model["components"]
        residual = xs - (xs @ p) @ p.T
        return (residual**2).mean(axis=1)

    # -- scoring -----------------------------------------------------------------

    def score(self, features: Features) -> ScoreTrack:
        if not self._models:
            raise RuntimeError("pca scorer is not fitted: call fit() or load a model")
        check_modalities(features, self._dims, self.name)
        z = {m: smooth(self._calibration[m].z(self._errors(m, features.streams[m])), self.smoothing) for m in self._models}
        combined = np.max(np.stack(list(z.values())), axis=0) if features.length else np.zeros(0)
        scores = sigmoid(combined)
        return ScoreTrack(
            scores,
            rate=features.rate,
            duration=features.duration,
            modalities={m: sigmoid(v) for m, v in z.items()},
            video_score=float(sigmoid(np.array([topk_mean(combined)]))[0]),
        )

    # -- state -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors = {f"{m}.{k}": v.astype(np.float64) for m, model in self._models.items() for k, v in model.items()}
        meta = {
            "dims": self._dims,
            "calibration": {m: c.as_list() for m, c in self._calibration.items()},
        }
        return tensors, meta

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        self._dims = {m: int(d) for m, d in meta["dims"].items()}
        self._models = {
            m: {k: np.asarray(tensors[f"{m}.{k}"], dtype=np.float64) for k in ("mean", "std", "components")}
            for m in self._dims
        }
        self._calibration = {m: Calibration.from_list(v) for m, v in meta["calibration"].items()}
