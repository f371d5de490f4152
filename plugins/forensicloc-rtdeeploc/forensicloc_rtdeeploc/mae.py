"""The ``mae`` scorer: reconstruction error of a masked audio-visual autoencoder.

Trained on authentic videos only, the autoencoder learns how audio and visual features
evolve and co-vary in real footage; a forged snippet, hidden and reconstructed from its
surroundings and the other modality, comes back badly. Numpy only at the top of this
module: torch is imported when a model is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from forensicloc.api import Features, FitContext, Sample, ScoreTrack
from forensicloc.errors import BadInputError, ModelError
from forensicloc_rtdeeploc.base import ThreadLimitedScorer
from forensicloc_rtdeeploc.tracks import Calibration, Standardizer, smooth, squash, topk_mean

#: bump when the saved state layout changes
STATE_FORMAT = 1
ARCH_KEYS = ("d_model", "layers", "heads", "decoder_layers")


@dataclass(eq=False)
class MAEScorer(ThreadLimitedScorer):
    """Masked audio-visual autoencoder; score = calibrated reconstruction error."""

    name: ClassVar[str] = "mae"
    description: ClassVar[str] = "masked audio-visual autoencoder on authentic videos; score = reconstruction error"
    supervision: ClassVar[str] = "real-only"

    epochs: int = field(default=8, metadata={"help": "training epochs (each sees every snippet about once)"})
    d_model: int = field(default=64, metadata={"help": "token width"})
    layers: int = field(default=2, metadata={"help": "encoder transformer layers"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    decoder_layers: int = field(default=1, metadata={"help": "decoder transformer layers"})
    window: int = field(default=64, metadata={"help": "snippets per training/scoring window"})
    mask_ratio: float = field(default=0.5, metadata={"help": "fraction of tokens hidden by random masking"})
    span_prob: float = field(default=0.4, metadata={"help": "share of training windows with one modality hidden in blocks"})
    cross_prob: float = field(default=0.2, metadata={"help": "share of training windows with one modality hidden entirely"})
    block: int = field(default=8, metadata={"help": "block length (snippets) of block masking, and of the scoring passes"})
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=0.05, metadata={"help": "AdamW weight decay"})
    batch_size: int = field(default=32, metadata={"help": "windows per batch"})
    holdout: float = field(default=0.15, metadata={"help": "fraction of authentic training videos held out to calibrate errors"})
    center: bool = field(default=True, metadata={"help": "centre each video on its own median (model within-video deviations)"})
    whiten: bool = field(default=True, metadata={"help": "weigh each feature dim by 1 / its authentic residual variance"})
    smooth: int = field(default=9, metadata={"help": "moving-average width (snippets) of the error tracks"})
    offset: float = field(default=2.0, metadata={"help": "z-score mapped to 0.5 (robust SDs above authentic error)"})
    combine: Literal["max", "mean"] = field(default="max", metadata={"help": "how per-modality tracks make the score"})
    topk: float = field(default=0.125, metadata={"help": "video score = mean of this top fraction of snippet scores"})

    threads: int = field(default=1, metadata={"help": "torch CPU threads while training/scoring (0 = torch's default)"})

    def __post_init__(self) -> None:
        self._model: Any = None
        self._standardizer: Standardizer | None = None
        self._calibration: Calibration | None = None
        self._weights: list[np.ndarray] | None = None
        self._arch: dict[str, int] = {}
        self._device = "cpu"

    # -- training -------------------------------------------------------------------

    def _fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        """Train on authentic videos; calibrate errors on a held-out part of them."""
        from forensicloc_rtdeeploc import mae_engine

        features = [s.features for s in train]
        if not features:
            raise BadInputError(
                "the mae scorer needs authentic training videos, and the train split has none",
                hint="use a dataset whose train split has real (label 0) videos",
            )
        rng = np.random.default_rng(ctx.seed)
        order = rng.permutation(len(features))
        n_hold = int(round(self.holdout * len(features))) if len(features) >= 4 else 0
        held = [features[i] for i in order[:n_hold]]
        fit_on = [features[i] for i in order[n_hold:]]

        self._device = ctx.device
        self._standardizer = Standardizer.fit(fit_on, center=self.center)
        self._build(seed=ctx.seed)
        videos = [self._standardizer.apply(f) for f in fit_on]
        held_videos = [self._standardizer.apply(f) for f in held]
        summary = mae_engine.train_mae(
            self._model, videos, held_videos, self._train_config(ctx.epochs),
            device=ctx.device, seed=ctx.seed, progress=ctx.progress, log=ctx.log,
        )
        # held-out authentic videos define "normal error"; without any, the fit set does
        reference = held_videos or videos
        self._weights = None
        if self.whiten:
            scale = mae_engine.residual_scale(self._model, reference, window=self.window, block=self.block, device=ctx.device)
            self._weights = [(1.0 / s).astype(np.float32) for s in scale]
        self._calibration = Calibration.fit(self._log_errors(reference))
        summary.update(videos=len(fit_on), calibration_videos=len(held_videos) or len(videos))
        return summary

    def _train_config(self, epochs: int | None) -> Any:
        from forensicloc_rtdeeploc.mae_engine import MAETrainConfig

        return MAETrainConfig(
            epochs=epochs or self.epochs, window=self.window, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, mask_ratio=self.mask_ratio, span_prob=self.span_prob,
            cross_prob=self.cross_prob, block=self.block,
        )

    def _build(self, arch: Mapping[str, int] | None = None, seed: int = 0) -> None:
        import torch

        from forensicloc_rtdeeploc.mae_model import AVMaskedAutoencoder

        assert self._standardizer is not None
        self._arch = {k: int((arch or {}).get(k, getattr(self, k))) for k in ARCH_KEYS}
        with torch.random.fork_rng():  # initial weights from the seed, caller's stream untouched
            torch.manual_seed(seed)
            self._model = AVMaskedAutoencoder(list(self._standardizer.dims.values()), **self._arch)
        self._model.to(self._device)

    # -- scoring --------------------------------------------------------------------

    def _log_errors(self, videos: Sequence[Sequence[np.ndarray]]) -> dict[str, list[np.ndarray]]:
        """Per modality, the smoothed log reconstruction error track of each video."""
        from forensicloc_rtdeeploc.mae_engine import reconstruction_errors

        assert self._standardizer is not None
        out: dict[str, list[np.ndarray]] = {m: [] for m in self._standardizer.modalities}
        for video in videos:
            err = reconstruction_errors(
                self._model, video, window=self.window, block=self.block, weights=self._weights, device=self._device
            )
            for m, row in zip(self._standardizer.modalities, err):
                out[m].append(smooth(np.log(row + 1e-8), self.smooth))
        return out

    def _require_model(self) -> None:
        if self._model is None or self._standardizer is None or self._calibration is None:
            raise ModelError(
                f"scorer {self.name!r} has no trained model",
                hint=f"train one with `forensicloc train --scorer {self.name} --dataset DIR`",
            )

    def z_tracks(self, features: Features) -> dict[str, np.ndarray]:
        """Per modality ``[T]`` calibrated error z-scores (0 = median authentic error).

        The cue the localizer reads: unsquashed, so very large errors stay distinct.
        """
        self._require_model()
        assert self._standardizer is not None and self._calibration is not None
        self._standardizer.check(features, self.name)
        if features.length == 0:
            return {m: np.zeros(0) for m in self._standardizer.modalities}
        logs = self._log_errors([self._standardizer.apply(features)])
        return {m: self._calibration.z(m, tracks[0]) for m, tracks in logs.items()}

    def _score(self, features: Features) -> ScoreTrack:
        z = self.z_tracks(features)
        tracks = {m: squash(v, self.offset) for m, v in z.items()}
        stacked = np.stack(list(tracks.values()))
        scores = stacked.max(axis=0) if self.combine == "max" else stacked.mean(axis=0)
        return ScoreTrack(
            scores, rate=features.rate, duration=features.duration, modalities=tracks,
            video_score=topk_mean(scores, self.topk),
        )

    # -- state ----------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        from forensicloc_rtdeeploc.batching import state_to_numpy

        self._require_model()
        assert self._standardizer is not None and self._calibration is not None
        tensors = {**self._standardizer.tensors(), **state_to_numpy(self._model, "model.")}
        for m, w in zip(self._standardizer.modalities, self._weights or []):
            tensors[f"whiten.{m}"] = w
        meta = {
            "format": STATE_FORMAT,
            "modalities": self._standardizer.modalities,
            "center": self._standardizer.center,
            "dims": self._standardizer.dims,
            "arch": self._arch,
            "calibration": self._calibration.as_meta(),
        }
        return tensors, meta

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        from forensicloc_rtdeeploc.batching import load_numpy_state

        if meta.get("format") != STATE_FORMAT:
            raise ModelError(f"mae model state format {meta.get('format')!r} is not {STATE_FORMAT}",
                             hint="retrain the model with this plugin version")
        self._standardizer = Standardizer.from_tensors(meta["modalities"], tensors, center=bool(meta.get("center", False)))
        self._calibration = Calibration.from_meta(meta["calibration"])
        mods = self._standardizer.modalities
        self._weights = [np.asarray(tensors[f"whiten.{m}"]) for m in mods] if f"whiten.{mods[0]}" in tensors else None
        self._build(meta["arch"])
        load_numpy_state(self._model, dict(tensors), "model.")
        self._model.to(self._device)

    def to(self, device: str) -> MAEScorer:
        self._device = device
        if self._model is not None:
            self._model.to(device)
        return self
