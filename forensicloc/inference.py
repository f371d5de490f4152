"""Inference: features → score tracks → proposed segments, for a dataset or one video.

Library code: nothing is printed. A video that cannot be decoded or extracted is
skipped and reported (:attr:`ScoredTracks.failed`), so one bad file does not stop a
batch; errors that would hit every video (a model that does not fit the features)
propagate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forensicloc.api import (
    FeatureExtractor,
    Features,
    ProgressCallback,
    Proposer,
    Scorer,
    ScoreTrack,
    Segment,
    VideoRecord,
    no_progress,
)
from forensicloc.errors import ForensiclocError

__all__ = ["ScoredTracks", "predict", "score_records", "score_video"]

#: videos scored per :meth:`Scorer.score_batch` call
BATCH = 16


class ScoredTracks(dict[str, ScoreTrack]):
    """``{record.file: ScoreTrack}``, plus ``failed``: ``[(file, reason)]`` skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: list[tuple[str, str]] = []


def score_records(
    scorer: Scorer,
    records: Sequence[VideoRecord],
    store: Any,
    progress: ProgressCallback = no_progress,
) -> ScoredTracks:
    """Score every record whose features ``store`` can give (cache hit or extraction).

    Keys are ``record.file`` (the predictions-file key). A record whose features cannot
    be had (undecodable video, missing file) is skipped and listed in ``.failed``.
    """
    out = ScoredTracks()
    total = len(records)
    progress(0, total, "scoring")
    for start in range(0, total, BATCH):
        batch: list[tuple[VideoRecord, Features]] = []
        for record in records[start : start + BATCH]:
            try:
                batch.append((record, store.features(record)))
            except ForensiclocError as exc:
                out.failed.append((record.file, exc.message))
        if batch:
            tracks = scorer.score_batch([f for _, f in batch])
            for (record, _), track in zip(batch, tracks):
                out[record.file] = track
        progress(min(total, start + BATCH), total, "scoring")
    return out


def predict(tracks: Mapping[str, ScoreTrack], proposer: Proposer) -> dict[str, list[Segment]]:
    """Proposals of every track: ``{file: [Segment, ...]}`` sorted by score, descending."""
    return {file: _sorted(proposer.propose(track)) for file, track in tracks.items()}


def _sorted(segments: Sequence[Segment]) -> list[Segment]:
    return sorted(segments, key=lambda s: -s.score)


def score_video(
    path: str | os.PathLike[str],
    scorer: Scorer,
    extractor: FeatureExtractor,
    proposer: Proposer,
    *,
    store: Any = None,
) -> tuple[ScoreTrack, list[Segment]]:
    """Decode one video, extract features, score and propose: what ``forensicloc run``
    does per video. Any file PyAV reads works, not only dataset videos.

    ``store`` (a :class:`forensicloc.features.FeatureStore` for ``extractor``) reuses
    cached features; without one the video is extracted now, uncached.
    """
    from forensicloc.features import FeatureStore

    features = (store or FeatureStore(extractor)).features(Path(path))
    track = scorer.score(features)
    return track, _sorted(proposer.propose(track))
