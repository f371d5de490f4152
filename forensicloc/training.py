"""Training a scorer under weak supervision, with validation computed by the core.

Weak supervision is enforced here, not promised by plugins: :func:`samples_for` hands a
scorer only what its declared ``supervision`` allows — no video at all (``"none"``),
authentic videos with their label removed (``"real-only"``), or labelled videos with
every segment-level field removed (``"video-level"``). The dev split reaches the scorer
the same way (labels kept, segments gone); the dev *annotations* stay inside the core,
where :func:`make_evaluator` computes dev metrics from the scorer's outputs.

Model selection uses the dev video-level AUC only — all that weak labels allow. Dev
AP@0.5 is computed for information (logged, recorded) and must not select anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from forensicloc.api import (
    SUPERVISION_LEVELS,
    FitContext,
    ProgressCallback,
    Sample,
    Scorer,
    VideoRecord,
    no_progress,
)

__all__ = ["FitResult", "SampleSequence", "fit_scorer", "make_evaluator", "samples_for", "withhold"]

#: the key of the dev video-level AUC in validation metrics (selects the model)
AUC_KEY = "auc"
#: the key of the dev AP@0.5 (information only)
AP_KEY = "AP@0.5"


def withhold(records: Sequence[VideoRecord], supervision: str) -> list[VideoRecord]:
    """The records a scorer of ``supervision`` may learn from, stripped accordingly.

    ``"none"`` → none; ``"real-only"`` → the authentic ones (label 0), label and
    annotations removed; ``"video-level"`` → every labelled one, annotations removed
    (records whose label is unknown are dropped).
    """
    if supervision == "none":
        return []
    if supervision == "real-only":
        return [r.without_label() for r in records if r.label == 0]
    if supervision == "video-level":
        return [r.without_annotations() for r in records if r.label is not None]
    raise ValueError(f"unknown supervision {supervision!r}; expected one of {SUPERVISION_LEVELS}")


class SampleSequence(Sequence[Sample]):
    """Samples whose features are loaded from the store when indexed.

    Only the (withheld) records live in memory; each access reads that video's features
    from the feature cache, so a large training set does not have to fit in memory.
    Scorers that iterate many times should keep what they need.
    """

    def __init__(self, records: Sequence[VideoRecord], store: Any):
        self.records = list(records)
        self.store = store

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> SampleSequence: ...

    def __getitem__(self, index: int | slice) -> Sample | SampleSequence:
        if isinstance(index, slice):
            return SampleSequence(self.records[index], self.store)
        record = self.records[index]
        return Sample(record, self.store.features(record))

    def __iter__(self) -> Iterator[Sample]:
        for record in self.records:
            yield Sample(record, self.store.features(record))


def samples_for(records: Sequence[VideoRecord], store: Any, supervision: str) -> SampleSequence:
    """Training samples for a scorer of ``supervision`` (see :func:`withhold`), with
    features loaded lazily from ``store`` (a :class:`forensicloc.features.FeatureStore`)."""
    return SampleSequence(withhold(records, supervision), store)


def validation_samples(records: Sequence[VideoRecord], store: Any) -> SampleSequence:
    """Dev samples: labelled records, labels kept, segment annotations removed."""
    return SampleSequence([r.without_annotations() for r in records if r.label is not None], store)


def make_evaluator(
    records: Sequence[VideoRecord],
    store: Any,
    proposer: Any = None,
    protocol: str = "lavdf",
) -> Callable[[Scorer], dict[str, float]]:
    """A callback that scores ``records`` and returns ``{"auc": ..., "AP@0.5": ...}``.

    ``records`` keep their annotations: they never leave the core. The scorer only sees
    features; AP@0.5 is computed here from its proposals (``proposer``, default the
    built-in ``threshold``). A metric that cannot be computed (one class only, no
    segment) is left out rather than reported as a number.
    """
    from forensicloc.evaluation import evaluate, video_auc
    from forensicloc.inference import predict, score_records
    from forensicloc.predictions import to_official

    labelled = [r for r in records if r.label is not None]
    if proposer is None:
        from forensicloc.plugins import create

        proposer = create("proposer", "threshold")
    has_segments = any(r.label == 1 and r.fake_segments for r in labelled)

    def evaluate_scorer(scorer: Scorer) -> dict[str, float]:
        tracks = score_records(scorer, labelled, store)
        scored = [r for r in labelled if r.file in tracks]
        metrics: dict[str, float] = {}
        labels = [int(r.label) for r in scored]  # type: ignore[arg-type]
        if 0 in labels and 1 in labels:
            metrics[AUC_KEY] = video_auc(labels, [tracks[r.file].video_level for r in scored])
        if has_segments and scored:
            segments = predict(tracks, proposer)
            predictions = {r.file: to_official(segments.get(r.file, [])) for r in scored}
            result = evaluate(predictions, scored, protocol, "full", allow_missing=True, breakdown=False,
                              auc_from_proposals=False)
            metrics[AP_KEY] = float(result.metrics[AP_KEY])
        return {k: v for k, v in metrics.items() if math.isfinite(v)}

    return evaluate_scorer


@dataclass
class FitResult:
    """What :func:`fit_scorer` reports: the scorer's own summary, the final dev metrics
    (empty without a dev split) and the wall-clock seconds of training."""

    summary: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def fit_scorer(
    scorer: Scorer,
    train_records: Sequence[VideoRecord],
    val_records: Sequence[VideoRecord],
    store: Any,
    *,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: ProgressCallback = no_progress,
    log: Callable[[str], None] = lambda message: None,
    proposer: Any = None,
) -> FitResult:
    """Train ``scorer`` on what its supervision allows, then validate it on the dev split.

    Seeds python, numpy and torch first (a CPU run repeats exactly for a seed). The
    scorer gets :func:`samples_for` of ``train_records``, and a :class:`FitContext`
    whose ``validation`` holds the dev samples (labels kept, no segments) and whose
    ``evaluate`` callback returns the dev video-level AUC (for model selection) and dev
    AP@0.5 (information). Scorers with ``supervision="none"`` get neither.
    """
    from forensicloc.device import seed_everything

    seed_everything(seed)
    supervision = scorer.supervision
    train = samples_for(train_records, store, supervision)
    evaluator = make_evaluator(val_records, store, proposer) if val_records else None
    learns = supervision != "none"
    ctx = FitContext(
        device=device,
        seed=seed,
        epochs=epochs,
        validation=validation_samples(val_records, store) if learns else (),
        progress=progress,
        log=log,
        evaluate=evaluator if learns else None,
    )
    scorer.to(device)
    started = time.perf_counter()
    summary = scorer.fit(train, ctx) or {}
    seconds = time.perf_counter() - started
    validation = evaluator(scorer) if evaluator is not None else {}
    return FitResult(summary=dict(summary), validation=validation, seconds=seconds)
