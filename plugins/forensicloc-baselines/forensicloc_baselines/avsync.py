"""``avsync``: audio-visual consistency — regress each modality from the other.

In authentic speech video the mouth moves with the sound: part of each modality is
predictable from the other over a short time window. A forgery that replaces one
modality (a swapped voice, a re-rendered mouth) breaks that relation, so the residual of
a cross-modal regression fitted on authentic video rises over the forged span. This is
the linear core of the audio-visual synchrony / consistency detectors (e.g. SyncNet-style
"modality dissonance" scores), with ridge regression standing in for a learned network.

For target modality ``m`` and source modality ``o`` (the other one):

    u_o(t)  = whitened top-``components`` PCA projection of standardised x_o(t)
    v_m(t)  = whitened top-``components`` PCA projection of standardised x_m(t)
    W_m     = ridge regression of v_m(t) on [u_o(t - c), …, u_o(t + c), 1]   (authentic only)
    r_m(t)  = mean_j ((v_m(t) − ŵ)_j / σ_mj)²        σ_mj: residual std of dim j on the fit set
    z_m(t)  = (log r_m(t) − loc_m) / scale_m           robust statistics of held-out authentic r_m
              (``reference="video"``: log r_m(t) taken relative to the video's median first)
    s_m(t)  = sigmoid(z_m(t)),  s(t) = sigmoid(mean_m z_m(t))

Dividing by each dimension's residual std lets a well-predicted dimension (mouth opening
from loudness) count as much as a poorly predicted one (head motion). A swap in either
modality raises both residuals, so the per-modality tracks say which direction of
prediction failed more, not for certain which stream was forged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack, Supervision
from forensicloc_baselines.common import (
    Calibration,
    authentic,
    check_modalities,
    sigmoid,
    smooth,
    split_holdout,
    stack,
    topk_mean,
    window,
)

MODALITIES = ("audio", "visual")


@dataclass
class AVSyncScorer(Scorer):
    """Residual of ridge regressions between the audio and visual streams."""

    name: ClassVar[str] = "avsync"
    description: ClassVar[str] = "audio-visual consistency: residual of cross-modal ridge regression"
    supervision: ClassVar[Supervision] = "real-only"

    components: int = field(default=16, metadata={"help": "PCA dimensions kept per modality before regression"})
    context: int = field(
        default=2, metadata={"help": "snippets of the source modality used on each side of the target snippet"}
    )
    alpha: float = field(default=1e-2, metadata={"help": "ridge penalty, relative to the number of snippets"})
    holdout: float = field(
        default=0.2, metadata={"help": "fraction of training videos held out to calibrate the residual scale"}
    )
    smoothing: int = field(default=5, metadata={"help": "moving-average width of the score track, in snippets"})
    reference: Literal["video", "global"] = field(
        default="global",
        metadata={"help": "global: absolute residuals; video: residuals relative to the video's median "
                  "(cross-modal residuals depend little on the speaker, so global is the default)"},
    )
    combine: Literal["mean", "max"] = field(
        default="mean", metadata={"help": "how the two residual tracks make the overall track"}
    )

    def __post_init__(self) -> None:
        if self.combine not in ("mean", "max"):
            raise ValueError(f"combine must be 'mean' or 'max', got {self.combine!r}")
        if self.reference not in ("video", "global"):
            raise ValueError(f"reference must be 'video' or 'global', got {self.reference!r}")
        self._proj: dict[str, dict[str, np.ndarray]] = {}
        self._reg: dict[str, dict[str, np.ndarray]] = {}
        self._calibration: dict[str, Calibration] = {}
        self._dims: dict[str, int] = {}

    # -- fitting -----------------------------------------------------------------

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        samples = authentic(train)
        if not samples:
            raise ValueError("avsync needs authentic training videos")
        missing = [m for m in MODALITIES if m not in samples[0].features.streams]
        if missing:
            raise ValueError(f"avsync needs audio and visual features; missing {missing}")
        fit_set, hold_set = split_holdout(samples, self.holdout, ctx.seed)
        ctx.progress(0, 3, "avsync: projections")
        for m in MODALITIES:
            x = stack(fit_set, m)
            self._dims[m] = int(x.shape[1])
            mean = x.mean(axis=0)
            std = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0)
            xs = (x - mean) / std
            eigval, eigvec = np.linalg.eigh(xs.T @ xs / max(1, xs.shape[0] - 1))
            order = np.argsort(eigval)[::-1][: max(1, min(self.components, x.shape[1]))]
            scale = np.sqrt(np.clip(eigval[order], 1e-6, None))
            self._proj[m] = {"mean": mean, "std": std, "basis": eigvec[:, order] / scale}
        ctx.progress(1, 3, "avsync: regressions")
        for m in MODALITIES:
            other = _other(m)
            inputs = np.concatenate([self._inputs(other, s.features) for s in fit_set])
            target = np.concatenate([self._project(m, s.features.streams[m]) for s in fit_set])
            n, p = inputs.shape
            gram = inputs.T @ inputs
            penalty = self.alpha * n * np.eye(p)
            penalty[-1, -1] = 0.0  # never shrink the bias
            weights = np.linalg.solve(gram + penalty, inputs.T @ target)
            resid = target - inputs @ weights
            sigma = np.sqrt(np.clip((resid**2).mean(axis=0), 1e-8, None))
            self._reg[m] = {"weights": weights, "sigma": sigma}
        ctx.progress(2, 3, "avsync: calibration")
        summary: dict[str, Any] = {"videos": len(samples), "calibration_videos": len(hold_set), "explained": {}}
        for m in MODALITIES:
            errors = [self._residual(m, s.features) for s in hold_set]
            self._calibration[m] = Calibration.fit(errors, self.reference)
            # share of target variance (whitened: 1 per dim) the other modality explains
            summary["explained"][m] = float(1.0 - np.mean(self._reg[m]["sigma"] ** 2))
        ctx.progress(3, 3, "avsync: done")
        return summary

    def _project(self, modality: str, x: np.ndarray) -> np.ndarray:
        p = self._proj[modality]
        return ((np.asarray(x, dtype=np.float64) - p["mean"]) / p["std"]) @ p["basis"]

    def _inputs(self, source: str, features: Features) -> np.ndarray:
        u = window(self._project(source, features.streams[source]), self.context)
        return np.concatenate([u, np.ones((u.shape[0], 1))], axis=1)

    def _residual(self, modality: str, features: Features) -> np.ndarray:
        """Raw per-snippet residual of predicting ``modality`` from the other, ``[T]``."""
        reg = self._reg[modality]
        pred = self._inputs(_other(modality), features) @ reg["weights"]
        target = self._project(modality, features.streams[modality])
        return (((target - pred) / reg["sigma"]) ** 2).mean(axis=1)

    # -- scoring -----------------------------------------------------------------

    def score(self, features: Features) -> ScoreTrack:
        if not self._reg:
            raise RuntimeError("avsync scorer is not fitted: call fit() or load a model")
        check_modalities(features, self._dims, self.name)
        z = {m: smooth(self._calibration[m].z(self._residual(m, features)), self.smoothing) for m in MODALITIES}
        stacked = np.stack([z[m] for m in MODALITIES])
        combined = stacked.mean(axis=0) if self.combine == "mean" else stacked.max(axis=0)
        return ScoreTrack(
            sigmoid(combined),
            rate=features.rate,
            duration=features.duration,
            modalities={m: sigmoid(v) for m, v in z.items()},
            video_score=float(sigmoid(np.array([topk_mean(combined)]))[0]),
        )

    # -- state -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors = {}
        for m in MODALITIES:
            tensors.update({f"proj.{m}.{k}": v for k, v in self._proj[m].items()})
            tensors.update({f"reg.{m}.{k}": v for k, v in self._reg[m].items()})
        meta = {"dims": self._dims, "calibration": {m: c.as_list() for m, c in self._calibration.items()}}
        return tensors, meta

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        self._dims = {m: int(d) for m, d in meta["dims"].items()}
        self._proj = {m: {k: np.asarray(tensors[f"proj.{m}.{k}"]) for k in ("mean", "std", "basis")} for m in MODALITIES}
        self._reg = {m: {k: np.asarray(tensors[f"reg.{m}.{k}"]) for k in ("weights", "sigma")} for m in MODALITIES}
        self._calibration = {m: Calibration.from_list(v) for m, v in meta["calibration"].items()}


def _other(modality: str) -> str:
    return "visual" if modality == "audio" else "audio"
