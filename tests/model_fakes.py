"""Small stand-ins for the training, model and run tests: numpy scorers that record
what they are given, an in-memory feature store, an extractor with known dims, and
records with ground truth. No video is decoded unless a test asks for one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import zlib

from forensicloc.api import Features, FeatureExtractor, FitContext, Sample, Scorer, ScoreTrack, VideoRecord
from forensicloc.hookspecs import hookimpl

RATE = 25.0
DIMS = {"visual": 3, "audio": 2}


def make_records(n_real: int, n_fake: int, split: str = "train", seconds: float = 4.0) -> list[VideoRecord]:
    """Records with full annotations: each fake has one forged second at 1–2 s."""
    out = []
    for i in range(n_real + n_fake):
        fake = i >= n_real
        out.append(
            VideoRecord(
                file=f"{split}/{i:03d}.mp4",
                path=Path(f"/nowhere/{split}/{i:03d}.mp4"),
                split=split,
                label=int(fake),
                duration=seconds,
                fake_segments=((1.0, 2.0),) if fake else (),
                visual_segments=((1.0, 2.0),) if fake else (),
                audio_segments=(),
                modify_type="visual_modified" if fake else "real",
                families=("blend",) if fake else (),
            )
        )
    return out


def features_for(record: VideoRecord, dims: Mapping[str, int] = DIMS) -> Features:
    """Deterministic features; channel 0 of ``visual`` rises over each forged segment."""
    seed = zlib.crc32(record.file.encode())
    rng = np.random.default_rng(seed)
    t = int(round((record.duration or 4.0) * RATE))
    streams = {m: (0.05 * rng.normal(size=(t, d))).astype(np.float32) for m, d in dims.items()}
    for start, end in record.fake_segments or ():
        streams["visual"][int(start * RATE) : int(end * RATE), 0] += 1.0
    return Features(streams, rate=RATE)


class MemoryStore:
    """A FeatureStore look-alike: features by file, counting loads; ``bad`` files fail."""

    def __init__(self, records: Sequence[VideoRecord], bad: Sequence[str] = ()):
        from forensicloc.errors import MediaError

        self._features = {r.file: features_for(r) for r in records}
        self._error = MediaError
        self.bad = set(bad)
        self.loads = 0

    def features(self, record: VideoRecord) -> Features:
        self.loads += 1
        if record.file in self.bad:
            raise self._error(f"{record.path}: cannot decode", path=record.path)
        return self._features[record.file]


class TinyExtractor(FeatureExtractor):
    """An extractor that only declares dims (models record them)."""

    name: ClassVar[str] = "tiny-test"
    version: ClassVar[str] = "3"

    def dims(self) -> dict[str, int]:
        return dict(DIMS)

    def extract(self, source: Any, progress: Any = None) -> Features:  # pragma: no cover - never decoded
        raise NotImplementedError


@dataclass(eq=False)
class SpyScorer(Scorer):
    """Scores = visual channel 0; remembers every record ``fit`` received."""

    name: ClassVar[str] = "spy-video"
    supervision: ClassVar[str] = "video-level"
    description: ClassVar[str] = "test spy"

    gain: float = field(default=1.0, metadata={"help": "multiplies the track"})

    def __post_init__(self) -> None:
        self.seen_train: list[VideoRecord] = []
        self.seen_validation: list[VideoRecord] = []
        self.evaluations: list[dict[str, float]] = []
        self.noise: float = 0.0

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        import torch

        self.seen_train = [s.record for s in train]
        self.seen_validation = [s.record for s in ctx.validation]
        self.noise = float(torch.rand(1))  # seeded by the core
        if ctx.evaluate is not None:
            self.evaluations.append(ctx.evaluate(self))
        return {"videos": len(self.seen_train)}

    def score(self, features: Features) -> ScoreTrack:
        track = np.clip(features.streams["visual"][:, 0].astype(np.float64) * self.gain, 0.0, 1.0)
        return ScoreTrack(track, rate=features.rate, duration=features.duration,
                          modalities={"visual": track, "audio": np.zeros_like(track)})

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"noise": np.array([self.noise], dtype=np.float32)}, {"gain": self.gain}

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        self.noise = float(tensors["noise"][0])


class RealOnlySpy(SpyScorer):
    name: ClassVar[str] = "spy-real"
    supervision: ClassVar[str] = "real-only"


class NoTrainingSpy(SpyScorer):
    name: ClassVar[str] = "spy-none"
    supervision: ClassVar[str] = "none"


class SpyPlugin:
    """A plugin object registering the spies (use with the ``forensicloc_plugin`` fixture)."""

    @hookimpl
    def register_scorers(self, register: Any) -> None:
        for cls in (SpyScorer, RealOnlySpy, NoTrainingSpy):
            register(cls)
