"""Temporal proposals from a score track: multi-threshold grouping, contrast, NMS.

The post-processing of weakly supervised temporal localization: a scorer gives each
snippet a forgery score, and segments are read off that track. One threshold misses
either short or long forgeries, so several are used and their candidates pooled; each
candidate is scored by how much it stands out from its surroundings (outer-inner
contrast), duplicates are suppressed with NMS or soft-NMS, and the best ``top_n`` are
kept. The steps, in order (one function each below):

1. normalise the track (:meth:`ThresholdProposer.normalised`);
2. group consecutive snippets above each threshold, closing gaps of at most
   ``merge_gap`` snippets, dropping groups shorter than ``min_length`` (:func:`runs`);
3. score each distinct group by outer-inner contrast on the *raw* track, so that scores
   are comparable across videos (AP pools every video's proposals in one ranking);
4. snippet grid to seconds (snippet ``i`` covers ``[i / rate, (i + 1) / rate)``), clamp
   to ``[0, duration]``;
5. NMS or soft-NMS (:func:`nms`), keep ``top_n``, sorted by score, descending.

Pure numpy, no compiled extension; the proposer never sees ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from forensicloc.api import Proposer, ScoreTrack, Segment
from forensicloc.errors import BadInputError

__all__ = ["ThresholdProposer", "nms", "runs", "segment_iou"]

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))  # 0.10 ... 0.90


def segment_iou(one: np.ndarray, many: np.ndarray) -> np.ndarray:
    """IoU of segment ``one`` ``[2]`` with each of ``many`` ``[N, 2]`` (float64)."""
    inter = np.clip(np.minimum(one[1], many[:, 1]) - np.maximum(one[0], many[:, 0]), 0.0, None)
    union = (one[1] - one[0]) + (many[:, 1] - many[:, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(
    segments: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = 0.5,
    soft: bool = False,
    sigma: float = 0.5,
    top_n: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-maximum suppression of 1-D ``segments`` ``[N, 2]`` with ``scores`` ``[N]``.

    Returns ``(keep, kept_scores)``: indices into ``segments`` in pick order and their
    scores, non-increasing, at most ``top_n``.

    Hard NMS drops every segment whose IoU with a kept one exceeds ``iou_threshold``.
    Soft-NMS (Bodla et al., Gaussian) keeps them with a lower score: each time a
    segment is picked, every remaining one overlapping it by more than
    ``iou_threshold`` is decayed by ``exp(-IoU^2 / sigma)``. A negative score is
    divided by that factor instead of multiplied, so that decay always lowers it.
    """
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    cur = np.asarray(scores, dtype=np.float64).reshape(-1).copy()
    if seg.shape[0] != cur.shape[0]:
        raise ValueError(f"{seg.shape[0]} segments for {cur.shape[0]} scores")
    n = seg.shape[0]
    limit = n if top_n is None else max(0, min(int(top_n), n))
    keep: list[int] = []
    kept: list[float] = []
    if not soft:
        suppressed = np.zeros(n, dtype=bool)
        for i in np.argsort(-cur, kind="stable"):
            if len(keep) >= limit:
                break
            if suppressed[i]:
                continue
            keep.append(int(i))
            kept.append(float(cur[i]))
            suppressed |= segment_iou(seg[i], seg) > iou_threshold
        return np.array(keep, dtype=np.int64), np.array(kept, dtype=np.float64)
    alive = np.ones(n, dtype=bool)
    while len(keep) < limit:
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        j = int(idx[np.argmax(cur[idx])])
        keep.append(j)
        kept.append(float(cur[j]))
        alive[j] = False
        rest = np.flatnonzero(alive)
        if rest.size == 0:
            break
        iou = segment_iou(seg[j], seg[rest])
        decay = np.where(iou > iou_threshold, np.exp(-(iou**2) / sigma), 1.0)
        s = cur[rest]
        cur[rest] = np.where(s >= 0, s * decay, s / decay)
    return np.array(keep, dtype=np.int64), np.array(kept, dtype=np.float64)


def runs(mask: np.ndarray, merge_gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the runs of true values in ``mask`` (``ends`` exclusive);
    runs separated by at most ``merge_gap`` false values become one."""
    mask = np.asarray(mask, dtype=bool).reshape(-1)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    if merge_gap > 0 and starts.size > 1:
        join = (starts[1:] - ends[:-1]) <= merge_gap
        starts = starts[np.concatenate([[True], ~join])]
        ends = ends[np.concatenate([~join, [True]])]
    return starts, ends


@dataclass
class ThresholdProposer(Proposer):
    """Multi-threshold grouping of the score track, outer-inner contrast, (soft-)NMS.

    The defaults suit a 25 Hz track (higher = forged) with forgeries from a fraction of a
    second to a few seconds, as in LAV-DF. See the module docstring for the steps.
    """

    name: ClassVar[str] = "threshold"
    description: ClassVar[str] = "groups snippets above several thresholds, scores by outer-inner contrast, (soft-)NMS"

    thresholds: list[float] = field(
        default_factory=lambda: list(DEFAULT_THRESHOLDS),
        metadata={"help": "thresholds on the normalised track; every group above any of them is a candidate "
                  "(default 0.10, 0.15, ..., 0.90)"},
    )
    normalize: Literal["auto", "minmax", "none"] = field(
        default="auto",
        metadata={"help": "how the track is normalised before thresholding: minmax (per video, to [0, 1]), "
                  "none (thresholds are absolute), auto (none if the track already lies in [0, 1], e.g. "
                  "probabilities, else minmax)"},
    )
    min_length: int = field(default=2, metadata={"help": "shortest group kept, in snippets"})
    merge_gap: int = field(
        default=0, metadata={"help": "groups separated by at most this many snippets below threshold become one"}
    )
    margin_ratio: float = field(
        default=0.25,
        metadata={"help": "outer region on each side of a group, as a fraction of its length (at least 1 snippet)"},
    )
    outer_weight: float = field(
        default=1.0,
        metadata={"help": "score = mean inside - outer_weight * mean of the outer region (raw track); "
                  "0 scores a group by its mean alone"},
    )
    nms: Literal["hard", "soft"] = field(
        default="soft", metadata={"help": "hard: drop overlapping proposals; soft: decay their scores (Gaussian)"}
    )
    iou_threshold: float = field(
        default=0.5, metadata={"help": "IoU above which a proposal is dropped (hard) or decayed (soft) by a better one"}
    )
    sigma: float = field(default=0.5, metadata={"help": "soft-NMS decay: score * exp(-IoU^2 / sigma)"})
    top_n: int = field(default=100, metadata={"help": "most proposals returned per video"})
    modality_threshold: float = field(
        default=0.5,
        metadata={"help": "with visual and audio tracks: a segment is 'both' when each normalised track's mean over "
                  "it reaches this, else the higher one"},
    )

    def __post_init__(self) -> None:
        self.thresholds = [float(t) for t in self.thresholds]
        problems = []
        if not self.thresholds:
            problems.append("thresholds must not be empty")
        if self.normalize not in ("auto", "minmax", "none"):
            problems.append(f"normalize must be auto, minmax or none, not {self.normalize!r}")
        if self.nms not in ("hard", "soft"):
            problems.append(f"nms must be hard or soft, not {self.nms!r}")
        if self.min_length < 1:
            problems.append("min_length must be at least 1")
        if self.merge_gap < 0:
            problems.append("merge_gap must be >= 0")
        if self.margin_ratio < 0:
            problems.append("margin_ratio must be >= 0")
        if not 0.0 <= self.iou_threshold <= 1.0:
            problems.append("iou_threshold must lie in [0, 1]")
        if not self.sigma > 0:
            problems.append("sigma must be > 0")
        if self.top_n < 1:
            problems.append("top_n must be at least 1")
        if problems:
            raise BadInputError(
                f"bad options for proposer 'threshold': {'; '.join(problems)}",
                hint="see `forensicloc plugins` for each option and its default",
            )

    # ------------------------------------------------------------------ steps

    def normalised(self, scores: np.ndarray) -> np.ndarray:
        """The track thresholds apply to (step 1)."""
        scores = np.asarray(scores, dtype=np.float64)
        mode = self.normalize
        if mode == "auto":
            inside = scores.size == 0 or (scores.min() >= 0.0 and scores.max() <= 1.0)
            mode = "none" if inside else "minmax"
        if mode == "none" or scores.size == 0:
            return scores
        low, high = scores.min(), scores.max()
        if high - low <= 0:
            return np.zeros_like(scores)  # a flat track has no structure to group
        return (scores - low) / (high - low)

    def groups(self, normalised: np.ndarray) -> np.ndarray:
        """Distinct ``[start, end)`` snippet groups over all thresholds (step 2), ``[K, 2]``."""
        found = []
        for t in self.thresholds:
            starts, ends = runs(normalised > t, self.merge_gap)
            long_enough = (ends - starts) >= self.min_length
            found.append(np.stack([starts[long_enough], ends[long_enough]], axis=1))
        if not found:
            return np.zeros((0, 2), dtype=np.int64)
        return np.unique(np.concatenate(found), axis=0).astype(np.int64)

    def contrast(self, raw: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Outer-inner contrast of each group on the raw track (step 3)."""
        T = raw.shape[0]
        csum = np.concatenate([[0.0], np.cumsum(raw)])
        s, e = groups[:, 0], groups[:, 1]
        inner = (csum[e] - csum[s]) / (e - s)
        margin = np.maximum(1, np.round(self.margin_ratio * (e - s)).astype(np.int64))
        left0, right1 = np.maximum(0, s - margin), np.minimum(T, e + margin)
        outer_n = (s - left0) + (right1 - e)
        outer_sum = (csum[s] - csum[left0]) + (csum[right1] - csum[e])
        # a group spanning the whole video has no surroundings: no contrast to show
        outer = np.where(outer_n > 0, outer_sum / np.maximum(outer_n, 1), inner)
        return inner - self.outer_weight * outer

    def propose(self, track: ScoreTrack) -> list[Segment]:
        raw = np.asarray(track.scores, dtype=np.float64)
        if raw.size == 0:
            return []
        duration = float(track.duration if track.duration is not None else raw.size / track.rate)
        groups = self.groups(self.normalised(raw))
        if groups.shape[0] == 0:
            return []
        scores = self.contrast(raw, groups)
        # step 4: grid to seconds, clamped; a group wholly past the end cannot match anything
        seconds = np.clip(groups / float(track.rate), 0.0, duration)
        valid = seconds[:, 1] > seconds[:, 0]
        groups, seconds, scores = groups[valid], seconds[valid], scores[valid]
        # step 5
        keep, kept_scores = nms(seconds, scores, self.iou_threshold, self.nms == "soft", self.sigma, self.top_n)
        order = np.argsort(-kept_scores, kind="stable")
        keep, kept_scores = keep[order], kept_scores[order]
        modalities = self._modalities(track, groups[keep])
        return [
            Segment(float(seconds[k, 0]), float(seconds[k, 1]), float(sc), modality)
            for k, sc, modality in zip(keep, kept_scores, modalities)
        ]

    def _modalities(self, track: ScoreTrack, groups: np.ndarray) -> Sequence[str | None]:
        """Which track looks forged over each group (``None`` without per-modality tracks)."""
        present = [m for m in ("visual", "audio") if m in track.modalities]
        if not present:
            return [None] * len(groups)
        if len(present) == 1:
            return [present[0]] * len(groups)
        means = {}
        for m in present:
            csum = np.concatenate([[0.0], np.cumsum(self.normalised(track.modalities[m]))])
            means[m] = (csum[groups[:, 1]] - csum[groups[:, 0]]) / (groups[:, 1] - groups[:, 0])
        v, a = means["visual"], means["audio"]
        both = (v >= self.modality_threshold) & (a >= self.modality_threshold)
        return [
            "both" if b else ("visual" if vi >= ai else "audio") for b, vi, ai in zip(both, v, a)
        ]
