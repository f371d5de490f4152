"""``random``: seeded random scores, the floor every method must beat.

Scores are drawn uniformly from a generator seeded by the feature values (and the
``seed`` option), so the same video always gets the same track, in any order and in any
process, and a benchmark that reruns gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack, Supervision
from forensicloc_baselines.common import content_seed


@dataclass
class RandomScorer(Scorer):
    """Uniform random per-snippet scores (learns nothing)."""

    name: ClassVar[str] = "random"
    description: ClassVar[str] = "seeded random scores: the floor every method must beat"
    supervision: ClassVar[Supervision] = "none"

    seed: int = field(default=0, metadata={"help": "mixed with a hash of the features to seed each video's scores"})

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        return {"videos": len(train)}

    def score(self, features: Features) -> ScoreTrack:
        rng = np.random.default_rng(content_seed(features, self.seed))
        scores = rng.random(features.length)
        return ScoreTrack(scores, rate=features.rate, duration=features.duration, video_score=float(rng.random()))

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"seed": self.seed}

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        self.seed = int(meta.get("seed", self.seed))
