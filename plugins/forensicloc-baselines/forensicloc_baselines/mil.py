"""``mil``: multiple-instance learning from video-level labels.

The standard weakly supervised temporal localization baseline (W-TALC's k-max MIL loss;
Sultani et al.'s MIL for anomaly detection in the same spirit): a video is a bag of
snippets, labelled fake if *any* snippet is forged. A small temporal conv net gives a
logit per snippet; the video logit is the mean of the top ``ceil(T / topk)`` snippet
logits; binary cross-entropy against the video label trains it:

    l_t = f_θ(x̃)_t                          x̃: concatenated, standardised features
    L   = BCE(mean(top-k_t l_t), y),         k = ceil(T / topk)

It sees no reconstruction cue: whatever it localizes comes from what separates fake from
real videos, which is exactly what RT-DeepLoc's MAE cue adds to. The score track is
``sigmoid(l_t)``; the video score ``sigmoid`` of the pooled logit. When the core gives a
validation ``evaluate`` callback, the epoch with the best dev video-level AUC is kept.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack, Supervision
from forensicloc_baselines.common import Standardizer, check_modalities, sigmoid

#: keys of ctx.evaluate's result tried, in order, to select the best epoch
SELECTION_KEYS = ("auc", "video_auc", "AUC")


@dataclass
class MILScorer(Scorer):
    """Temporal conv net trained with top-k MIL pooling and BCE on video labels."""

    name: ClassVar[str] = "mil"
    description: ClassVar[str] = "multiple-instance learning (top-k pooling, BCE) on video-level labels"
    supervision: ClassVar[Supervision] = "video-level"

    hidden: int = field(default=64, metadata={"help": "channels of the temporal conv layers"})
    layers: int = field(default=2, metadata={"help": "number of temporal conv layers"})
    kernel: int = field(default=3, metadata={"help": "temporal kernel size, in snippets (odd)"})
    dropout: float = field(default=0.2, metadata={"help": "dropout after each conv layer"})
    topk: int = field(default=8, metadata={"help": "pool the top ceil(T / topk) snippet logits of a video"})
    epochs: int = field(default=30, metadata={"help": "training epochs (overridden by --epochs)"})
    batch_size: int = field(default=16, metadata={"help": "videos per batch"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    weight_decay: float = field(default=1e-4, metadata={"help": "Adam weight decay"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads while training/scoring (0 = torch's default)"})
    center: bool = field(
        default=False,
        metadata={"help": "subtract each video's mean feature first (removes speaker and recording identity)"},
    )

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd number, got {self.kernel}")
        self._net: Any = None
        self._std: Standardizer | None = None
        self._modalities: list[str] = []
        self._dims: dict[str, int] = {}
        self._device = "cpu"

    # -- fitting -----------------------------------------------------------------

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        from forensicloc.device import cpu_threads

        with cpu_threads(self.threads, ctx.device):
            return self._fit(train, ctx)

    def _fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        import torch

        from forensicloc_baselines.mil_net import TemporalMILNet, topk_pool

        labelled = [s for s in train if s.record.label in (0, 1) and s.features.length > 0]
        labels = [int(s.record.label) for s in labelled]  # type: ignore[arg-type]
        if not labelled or len(set(labels)) < 2:
            raise ValueError("mil needs real and fake training videos with video-level labels")
        torch.manual_seed(ctx.seed)
        rng = np.random.default_rng(ctx.seed)
        self._device = ctx.device
        self._modalities = sorted(labelled[0].features.streams)
        self._dims = labelled[0].features.dims
        raw = [self._input(s.features) for s in labelled]
        self._std = Standardizer.fit(np.concatenate(raw))
        xs = [self._std(x).astype(np.float32) for x in raw]
        y = np.asarray(labels, dtype=np.float32)

        self._net = TemporalMILNet(xs[0].shape[1], self.hidden, self.layers, self.kernel, self.dropout).to(ctx.device)
        opt = torch.optim.Adam(self._net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        # balance real and fake bags so a skewed split does not bias the threshold
        pos_weight = torch.tensor((y == 0).sum() / max(1.0, (y == 1).sum()), device=ctx.device)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)

        epochs = ctx.epochs if ctx.epochs is not None else self.epochs
        batches = math.ceil(len(xs) / self.batch_size)
        history: list[dict[str, float]] = []
        best: tuple[float, int, dict[str, Any]] | None = None
        for epoch in range(epochs):
            self._net.train()
            order = rng.permutation(len(xs))
            total = 0.0
            for b in range(batches):
                idx = order[b * self.batch_size : (b + 1) * self.batch_size]
                x, mask = self._pad([xs[i] for i in idx])
                target = torch.from_numpy(y[idx]).to(ctx.device)
                logits = self._net(x)
                loss = loss_fn(topk_pool(logits, mask, self.topk), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                ctx.progress(epoch * batches + b + 1, epochs * batches, f"mil: epoch {epoch + 1}/{epochs}")
            entry = {"epoch": epoch + 1, "loss": total / len(xs)}
            if ctx.evaluate is not None:
                metrics = ctx.evaluate(self)
                key = next((k for k in SELECTION_KEYS if k in metrics), None)
                if key is not None:
                    value = float(metrics[key])
                    entry[key] = value
                    if best is None or value > best[0]:
                        best = (value, epoch + 1, copy.deepcopy(self._net.state_dict()))
            history.append(entry)
            ctx.log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()))
        if best is not None:
            self._net.load_state_dict(best[2])
        self._net.eval()
        return {
            "videos": len(xs),
            "fake_videos": int(y.sum()),
            "epochs": epochs,
            "final_loss": history[-1]["loss"] if history else None,
            "selected_epoch": best[1] if best is not None else epochs,
            "history": history,
        }

    def _input(self, features: Features) -> np.ndarray:
        """Concatenated features ``[T, D]``, centred per video if ``center``."""
        x = features.concatenated(self._modalities).astype(np.float64)
        return x - x.mean(axis=0, keepdims=True) if self.center and len(x) else x

    def _pad(self, arrays: Sequence[np.ndarray]) -> tuple[Any, Any]:
        """``[B, D, T_max]`` batch and ``[B, T_max]`` mask from ``[T_i, D]`` arrays."""
        import torch

        length = max(a.shape[0] for a in arrays)
        x = np.zeros((len(arrays), arrays[0].shape[1], length), dtype=np.float32)
        mask = np.zeros((len(arrays), length), dtype=bool)
        for i, a in enumerate(arrays):
            x[i, :, : a.shape[0]] = a.T
            mask[i, : a.shape[0]] = True
        return torch.from_numpy(x).to(self._device), torch.from_numpy(mask).to(self._device)

    # -- scoring -----------------------------------------------------------------

    def _logits(self, features: Features) -> np.ndarray:
        import torch

        if self._net is None or self._std is None:
            raise RuntimeError("mil scorer is not fitted: call fit() or load a model")
        check_modalities(features, self._dims, self.name)
        from forensicloc.device import cpu_threads

        x = self._std(self._input(features)).astype(np.float32)
        was_training = self._net.training
        self._net.eval()
        with torch.no_grad(), cpu_threads(self.threads, self._device):
            t = torch.from_numpy(x.T[None].copy()).to(self._device)
            logits = self._net(t)[0].float().cpu().numpy().astype(np.float64)
        self._net.train(was_training)
        return logits

    def score(self, features: Features) -> ScoreTrack:
        if features.length == 0:
            return ScoreTrack(np.zeros(0), rate=features.rate, duration=features.duration, video_score=0.0)
        logits = self._logits(features)
        k = max(1, math.ceil(logits.size / self.topk))
        pooled = float(np.sort(logits)[-k:].mean())
        return ScoreTrack(
            sigmoid(logits),
            rate=features.rate,
            duration=features.duration,
            video_score=float(sigmoid(np.array([pooled]))[0]),
        )

    def to(self, device: str) -> MILScorer:
        self._device = device
        if self._net is not None:
            self._net.to(device)
        return self

    # -- state -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if self._net is None or self._std is None:
            raise RuntimeError("mil scorer is not fitted")
        tensors = {f"net.{k}": v.detach().cpu().numpy() for k, v in self._net.state_dict().items()}
        tensors["standardizer.mean"] = self._std.mean
        tensors["standardizer.std"] = self._std.std
        meta = {
            "modalities": self._modalities,
            "dims": self._dims,
            "architecture": {"hidden": self.hidden, "layers": self.layers, "kernel": self.kernel},
            "center": self.center,
        }
        return tensors, meta

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        import torch

        from forensicloc_baselines.mil_net import TemporalMILNet

        arch = meta["architecture"]
        self.hidden, self.layers, self.kernel = int(arch["hidden"]), int(arch["layers"]), int(arch["kernel"])
        self._modalities = list(meta["modalities"])
        self.center = bool(meta.get("center", self.center))
        self._dims = {m: int(d) for m, d in meta["dims"].items()}
        self._std = Standardizer(np.asarray(tensors["standardizer.mean"]), np.asarray(tensors["standardizer.std"]))
        self._net = TemporalMILNet(sum(self._dims.values()), self.hidden, self.layers, self.kernel, self.dropout)
        self._net.load_state_dict({k[4:]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("net.")})
        self._net.to(self._device).eval()
