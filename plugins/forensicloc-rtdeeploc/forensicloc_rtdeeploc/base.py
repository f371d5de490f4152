"""What both scorers share: ``fit`` and ``score`` run under a torch CPU thread limit.

Numpy only at import; subclasses implement ``_fit`` and ``_score`` and have a
``threads`` option and a ``_device`` attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack


class ThreadLimitedScorer(Scorer):
    """``fit`` / ``score_batch`` / ``score`` wrapped in :func:`forensicloc.device.cpu_threads`."""

    threads: int
    _device: str

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        from forensicloc.device import cpu_threads

        with cpu_threads(self.threads, ctx.device):
            return self._fit(train, ctx)

    def score_batch(self, batch: Sequence[Features]) -> list[ScoreTrack]:
        from forensicloc.device import cpu_threads

        with cpu_threads(self.threads, self._device):
            return [self._score(f) for f in batch]

    def score(self, features: Features) -> ScoreTrack:
        return self.score_batch([features])[0]

    def _fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        raise NotImplementedError

    def _score(self, features: Features) -> ScoreTrack:
        raise NotImplementedError
