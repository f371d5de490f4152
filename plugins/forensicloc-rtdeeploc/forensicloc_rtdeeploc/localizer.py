"""The ``rtdeeploc`` scorer: the AICL localizer guided by MAE reconstruction cues.

Video-level labels say *whether* a video is forged; the MAE's reconstruction error says
roughly *where* something looks unlike authentic footage. The localizer learns from
both: a multiple-instance loss ties its snippet scores to the labels, and AICL shapes its
snippet embeddings so that authentic snippets form one compact cluster that forged ones
are pushed out of. Numpy only at the top of this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from forensicloc.api import Features, FitContext, Sample, ScoreTrack
from forensicloc.errors import BadInputError, ModelError
from forensicloc_rtdeeploc.base import ThreadLimitedScorer
from forensicloc_rtdeeploc.mae import MAEScorer
from forensicloc_rtdeeploc.tracks import Standardizer, smooth, squash

STATE_FORMAT = 1
ARCH_KEYS = ("d_model", "layers", "kernel", "attention_layers", "heads")
#: ``inputs`` option -> whether each input copy of the features is video-centred
INPUT_COPIES = {"centred": (True,), "absolute": (False,), "both": (False, True)}
#: calibrated z-scores are clipped then scaled to about unit range before the network
CUE_CLIP = (-4.0, 16.0)
CUE_SCALE = 4.0


@dataclass(eq=False)
class RTDeepLocScorer(ThreadLimitedScorer):
    """Temporal localizer over features ‖ MAE cues, trained with MIL + AICL."""

    name: ClassVar[str] = "rtdeeploc"
    description: ClassVar[str] = "RT-DeepLoc: localizer on MAE reconstruction cues, MIL + asymmetric contrastive loss"
    supervision: ClassVar[str] = "video-level"

    epochs: int = field(default=20, metadata={"help": "localizer training epochs (best dev AUC kept)"})
    d_model: int = field(default=64, metadata={"help": "localizer width"})
    layers: int = field(default=3, metadata={"help": "dilated temporal conv blocks (dilation 1, 2, 4, ...)"})
    kernel: int = field(default=3, metadata={"help": "temporal conv kernel size"})
    attention_layers: int = field(default=1, metadata={"help": "self-attention layers over the whole video"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    dropout: float = field(default=0.1, metadata={"help": "dropout in the localizer"})
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    batch_size: int = field(default=16, metadata={"help": "videos per batch"})
    topk: float = field(default=0.125, metadata={"help": "MIL pooling: mean of this top fraction of snippet logits"})
    aicl_weight: float = field(default=0.5, metadata={"help": "weight of AICL next to the MIL loss (0 = MIL only)"})
    margin: float = field(default=1.0, metadata={"help": "AICL margin on the unit sphere (distance, at most 2)"})
    push_weight: float = field(default=1.0, metadata={"help": "weight of AICL's push term next to its pull term"})
    anchor_ratio: float = field(default=0.5, metadata={"help": "lowest-cue fraction of a fake video's snippets used as authentic anchors"})
    forged_ratio: float = field(default=0.15, metadata={"help": "highest-cue fraction of a fake video's snippets that may be pushed as forged"})
    cue_weight: float = field(default=0.5, metadata={"help": "weight of the snippet BCE on cue pseudo-labels (real-video snippets authentic, AICL's sets in fakes)"})
    centre_momentum: float = field(default=0.9, metadata={"help": "EMA momentum of the authentic centre"})
    inputs: Literal["centred", "both", "absolute"] = field(default="both", metadata={"help": "features fed to the network: centred on each video's median, absolute, or both"})
    smooth: int = field(default=9, metadata={"help": "moving-average width (snippets) of the output track"})
    fuse: float = field(default=0.0, metadata={"help": "weight of the MAE score in the output score (0 = localizer only)"})
    cue_model: str | None = field(default=None, metadata={"help": "trained mae model directory to use as cue (default: train one on the real videos)"})
    mae_options: dict = field(default_factory=dict, metadata={"help": "options of the internal mae cue model, as JSON"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads while training/scoring (0 = torch's default)"})

    def __post_init__(self) -> None:
        self._mae: MAEScorer | None = None
        self._standardizers: list[Standardizer] = []
        self._model: Any = None
        self._arch: dict[str, int] = {}
        self._in_dim = 0
        self._device = "cpu"
        self._cue_cache: dict[str, dict[str, np.ndarray]] | None = None

    # -- cues -----------------------------------------------------------------------

    def _cues(self, features: Features) -> dict[str, np.ndarray]:
        """The MAE's per-modality z tracks, memoised while fitting (validation videos
        are scored every epoch, the MAE is fixed by then)."""
        assert self._mae is not None
        if self._cue_cache is None:
            return self._mae.z_tracks(features)
        digest = hashlib.sha1()
        for m in sorted(features.streams):
            digest.update(m.encode())
            digest.update(np.ascontiguousarray(features.streams[m]).tobytes())
        key = digest.hexdigest()
        if key not in self._cue_cache:
            self._cue_cache[key] = self._mae.z_tracks(features)
        return self._cue_cache[key]

    def _inputs(self, features: Features, z: Mapping[str, np.ndarray]) -> np.ndarray:
        """``[T, F]``: standardised features (‖ video-centred copies) ‖ scaled cue z-scores."""
        parts = [p for std in self._standardizers for p in std.apply(features)]
        cues = [np.clip(z[m], *CUE_CLIP)[:, None] / CUE_SCALE for m in sorted(z)]
        return np.concatenate([*parts, *cues], axis=1).astype(np.float32)

    # -- training -------------------------------------------------------------------

    def _fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        from forensicloc_rtdeeploc import localizer_engine

        samples = list(train)  # loads each video's features once
        labels = [s.record.label for s in samples]
        if not samples or any(label not in (0, 1) for label in labels) or len(set(labels)) < 2:
            raise BadInputError(
                "the rtdeeploc scorer needs real and fake training videos with video-level labels",
                hint="use a dataset whose train split has both real (label 0) and fake (label 1) videos",
            )
        self._device = ctx.device
        summary: dict[str, Any] = {}
        if self.cue_model:
            self._mae = _load_cue_model(self.cue_model, ctx.device)
            summary["mae"] = {"model": str(self.cue_model)}
        else:
            # the real videos are a subset of the video-level information this scorer gets
            ctx.log("training the mae cue model on the real training videos")
            self._mae = MAEScorer(**self.mae_options)
            mae_ctx = FitContext(device=ctx.device, seed=ctx.seed, progress=ctx.progress, log=ctx.log)
            summary["mae"] = self._mae.fit([s for s in samples if s.record.label == 0], mae_ctx)

        features = [s.features for s in samples]
        self._standardizers = [Standardizer.fit(features, center=c) for c in INPUT_COPIES[self.inputs]]
        self._cue_cache = {}
        try:
            videos = []
            for i, (feats, label) in enumerate(zip(features, labels)):
                z = self._cues(feats)
                cue = np.max(np.stack(list(z.values())), axis=0)
                videos.append(localizer_engine.TrainVideo(self._inputs(feats, z), cue, int(label)))
                ctx.progress(i + 1, len(samples), "computing reconstruction cues")
            self._build(videos[0].x.shape[1], seed=ctx.seed)
            evaluate = (lambda: ctx.evaluate(self)) if ctx.evaluate is not None and ctx.validation else None
            summary["localizer"] = localizer_engine.train_localizer(
                self._model, videos, self._train_config(ctx.epochs),
                device=ctx.device, seed=ctx.seed, evaluate=evaluate, progress=ctx.progress, log=ctx.log,
            )
        finally:
            self._cue_cache = None
        summary["videos"] = {"real": labels.count(0), "fake": labels.count(1)}
        return summary

    def _train_config(self, epochs: int | None) -> Any:
        from forensicloc_rtdeeploc.localizer_engine import LocalizerTrainConfig

        return LocalizerTrainConfig(
            epochs=epochs or self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
            topk=self.topk, anchor_ratio=self.anchor_ratio, forged_ratio=self.forged_ratio, margin=self.margin,
            aicl_weight=self.aicl_weight, push_weight=self.push_weight, centre_momentum=self.centre_momentum,
            cue_weight=self.cue_weight,
        )

    def _build(self, in_dim: int, arch: Mapping[str, int] | None = None, seed: int = 0) -> None:
        import torch

        from forensicloc_rtdeeploc.localizer_model import TemporalLocalizer

        self._in_dim = int(in_dim)
        self._arch = {k: int((arch or {}).get(k, getattr(self, k))) for k in ARCH_KEYS}
        with torch.random.fork_rng():  # initial weights from the seed, caller's stream untouched
            torch.manual_seed(seed)
            self._model = TemporalLocalizer(self._in_dim, dropout=self.dropout, **self._arch)
        self._model.to(self._device)

    # -- scoring --------------------------------------------------------------------

    def _score(self, features: Features) -> ScoreTrack:
        import torch

        if self._model is None or self._mae is None:
            raise ModelError(
                f"scorer {self.name!r} has no trained model",
                hint=f"train one with `forensicloc train --scorer {self.name} --dataset DIR`",
            )
        self._standardizers[0].check(features, self.name)
        z = self._cues(features)
        cue_tracks = {m: squash(v, self._mae.offset) for m, v in z.items()}
        if features.length == 0:
            return ScoreTrack(np.zeros(0), rate=features.rate, duration=features.duration, modalities=cue_tracks, video_score=0.0)
        x = torch.from_numpy(self._inputs(features, z))[None].to(self._device)
        valid = torch.ones(x.shape[:2], dtype=torch.bool, device=self._device)
        self._model.eval()
        with torch.inference_mode():
            logits = self._model(x, valid)[0][0].float().cpu().numpy().astype(np.float64)
        # snippet decisions are noisy, forgeries last many snippets
        probs = smooth(1.0 / (1.0 + np.exp(-logits)), self.smooth)
        if self.fuse > 0:
            mae_score = np.max(np.stack(list(cue_tracks.values())), axis=0)
            probs = (1.0 - self.fuse) * probs + self.fuse * mae_score
        # video score exactly as trained: sigmoid of the top-k mean logit
        k = max(1, int(np.ceil(self.topk * logits.size)))
        video = float(1.0 / (1.0 + np.exp(-np.sort(logits)[-k:].mean())))
        return ScoreTrack(probs, rate=features.rate, duration=features.duration, modalities=cue_tracks, video_score=video)

    # -- state ----------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        from forensicloc_rtdeeploc.batching import state_to_numpy

        if self._model is None or self._mae is None:
            raise ModelError(f"scorer {self.name!r} has no trained model to save",
                             hint=f"train one with `forensicloc train --scorer {self.name} --dataset DIR`")
        mae_tensors, mae_meta = self._mae.state()
        tensors = {**{f"mae.{k}": v for k, v in mae_tensors.items()}, **state_to_numpy(self._model, "localizer.")}
        for i, std in enumerate(self._standardizers):
            tensors.update(std.tensors(prefix=f"input{i}."))
        meta = {
            "format": STATE_FORMAT,
            "modalities": self._standardizers[0].modalities,
            "input_centred": [std.center for std in self._standardizers],
            "in_dim": self._in_dim,
            "arch": self._arch,
            "mae": mae_meta,
            "mae_options": self._mae.config,
        }
        return tensors, meta

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        from forensicloc_rtdeeploc.batching import load_numpy_state

        if meta.get("format") != STATE_FORMAT:
            raise ModelError(f"rtdeeploc model state format {meta.get('format')!r} is not {STATE_FORMAT}",
                             hint="retrain the model with this plugin version")
        self._mae = MAEScorer(**meta["mae_options"]).to(self._device)
        self._mae.load_state({k[4:]: v for k, v in tensors.items() if k.startswith("mae.")}, meta["mae"])
        self._standardizers = [
            Standardizer.from_tensors(meta["modalities"], tensors, prefix=f"input{i}.", center=bool(c))
            for i, c in enumerate(meta["input_centred"])
        ]
        self._build(meta["in_dim"], meta["arch"])
        load_numpy_state(self._model, dict(tensors), "localizer.")
        self._model.to(self._device)

    def to(self, device: str) -> RTDeepLocScorer:
        self._device = device
        if self._model is not None:
            self._model.to(device)
        if self._mae is not None:
            self._mae.to(device)
        return self


def _load_cue_model(directory: str, device: str) -> MAEScorer:
    """A trained ``mae`` model directory, loaded through the core's model loader."""
    from pathlib import Path

    from forensicloc.models import load_model

    scorer, _ = load_model(Path(directory).expanduser())
    if not isinstance(scorer, MAEScorer):
        raise ModelError(
            f"cue_model {directory} holds a {scorer.name!r} model, not an mae one",
            hint="train one with `forensicloc train --scorer mae --dataset DIR --out DIR`",
            path=directory,
        )
    return scorer.to(device)
