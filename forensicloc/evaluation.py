"""Temporal localization metrics exactly as the official LAV-DF / AV-Deepfake1M code.

Published numbers on LAV-DF and AV-Deepfake1M come from two evaluators that share one
algorithm: ``metrics.py`` of ControlNet/LAV-DF (torch) and ``loc_1d.rs`` of the
``avdeepfake1m`` package (Rust). Comparing with them means reproducing them, quirks
included, so this module follows them step by step:

* **IoU** of two segments is ``max(min(e1, e2) - max(s1, s2), 0) / (max(e1, e2) -
  min(s1, s2))`` computed in float32 (both evaluators parse times into float32), and a
  match needs IoU **strictly greater** than the threshold (also float32). At IoU
  exactly on a threshold this decides the match, so it is not a detail.
* **AP@t** — within one video, each ground-truth segment in turn takes the *first
  unused* proposal *in list order* whose IoU exceeds ``t`` (the list is not sorted
  first). All proposals of all videos are then pooled and sorted by score, descending,
  with a stable sort on float32 scores (ties — including scores that differ only beyond
  float32 precision — keep the video order of the metadata, then list order).
  Precision/recall are cumulated down that ranking, recall over the number of
  ground-truth segments of all videos; precision is made monotone (running maximum
  from the low-score end) and the area is summed over recall steps *starting at the
  first proposal's recall*: the official curve has no ``(0, p)`` point, so the first
  step is never counted (one ground-truth segment found by the top proposal adds
  nothing; perfect predictions give ``1 - 1/n_segments``, not 1).
* **AR@N** — per video, the first N proposals of the list (fewer if the list is
  shorter, as the avdeepfake1m evaluator; LAV-DF's ``metrics.py`` fails on a list
  shorter than N, its post-processing always writing 100); a ground-truth segment is found at ``t`` when its best IoU among them
  exceeds ``t``; found / total is pooled over all videos, then averaged over
  ``t = 0.50, 0.55, ..., 0.95``.
* Authentic videos have no ground truth: their proposals are false positives in AP and
  they add nothing to AR.
* **Subsets** remove whole videos, as LAV-DF's ``evaluate.py`` does: ``visual`` drops the
  audio-only fakes (``modify_video is False and modify_audio is True``), ``audio`` drops
  the visual-only fakes; the kept videos keep *all* their ground-truth segments
  (``fake_periods`` / ``fake_segments``) and the authentic videos stay. The same
  predicates are applied to AV-Deepfake1M through ``modify_type`` (its official code
  defines no subset).
* **Per-modify_type breakdown** (forensicloc's own): for each kind of fake, the metrics
  over the fakes of that kind plus every authentic video, so that each kind still
  competes with the false positives on authentic videos, as in the subsets.

Where the official code has no answer, forensicloc chooses and says so in
``EvaluationResult.warnings``: a video whose predictions are missing (the official code
stops with an error; with ``allow_missing`` it counts as a video with no proposal, its
segments missed) or have an empty list (the official code crashes; same treatment);
no ground-truth segment at all (officially NaN; reported as 0). Proposals outside
``[0, duration]`` are tolerated, as the official code tolerates them (a warning).

The implementation is vectorised numpy: the IoUs of every (segment, proposal) pair of
the same video are computed at once, the ranking is sorted once and shared by every
threshold and breakdown. The sequential "first unused proposal" rule is resolved in
bulk whenever no proposal can match two segments (always the case at IoU > 0.5 with
disjoint segments); only videos where it can are replayed one by one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import MODIFY_TYPES, ProgressCallback, VideoRecord, no_progress
from forensicloc.errors import BadInputError, MetadataError
from forensicloc.predictions import PredictionsError, as_arrays

__all__ = [
    "AR_THRESHOLDS",
    "PROTOCOLS",
    "SUBSETS",
    "EvaluationResult",
    "Protocol",
    "average_precision",
    "average_recall",
    "evaluate",
    "iou_matrix",
    "load_ground_truth",
    "metric_key",
    "modify_type_of_record",
    "video_auc",
]

#: the IoU thresholds AR is averaged over, written as the official code writes them
AR_THRESHOLDS: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class Protocol:
    """A metric set: AP at each IoU threshold, AR at each number of proposals."""

    name: str
    ap_thresholds: tuple[float, ...]
    ar_ns: tuple[int, ...]
    ar_thresholds: tuple[float, ...] = AR_THRESHOLDS

    @property
    def metric_names(self) -> list[str]:
        return [metric_key("AP", t) for t in self.ap_thresholds] + [metric_key("AR", n) for n in self.ar_ns]


#: ``lavdf``: LAV-DF's evaluate.py; ``avdf1m``: AV-Deepfake1M's challenge evaluation
PROTOCOLS: dict[str, Protocol] = {
    "lavdf": Protocol("lavdf", (0.5, 0.75, 0.95), (100, 50, 20, 10)),
    "avdf1m": Protocol("avdf1m", (0.5, 0.75, 0.9, 0.95), (50, 30, 20, 10, 5)),
}

SUBSETS: tuple[str, ...] = ("full", "visual", "audio")
#: the fake videos each subset leaves out (whole videos, as LAV-DF's evaluate.py does)
SUBSET_EXCLUDES: dict[str, tuple[str, ...]] = {
    "full": (),
    "visual": ("audio_modified",),
    "audio": ("visual_modified",),
}


def metric_key(kind: str, value: float) -> str:
    """``"AP@0.5"``, ``"AP@0.75"``, ``"AR@100"``: the keys of every metrics dict."""
    return f"{kind}@{int(value)}" if kind == "AR" else f"{kind}@{float(value):g}"


@dataclass
class EvaluationResult:
    """Metrics of one predictions set on one subset.

    ``metrics`` maps ``"AP@t"`` / ``"AR@N"`` to a value in [0, 1]. ``by_modify_type``
    has the same metrics per kind of fake (``visual_modified``, ...), each computed on
    the videos of that kind plus the authentic videos (whose proposals are the false
    positives every kind competes with). ``auc`` is the video-level ROC AUC, ``None``
    when it was not asked for or cannot be computed. ``warnings`` says where the input
    departs from what the official evaluators expect, and what was done.
    """

    protocol: str
    subset: str
    metrics: dict[str, float]
    n_videos: int
    n_segments: int
    by_modify_type: dict[str, dict[str, float]] = field(default_factory=dict)
    auc: float | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- IoU


def iou_matrix(a: Any, b: Any) -> np.ndarray:
    """IoU of every segment of ``a`` ``[N, 2]`` with every one of ``b`` ``[M, 2]``: ``[N, M]``.

    Computed in float32 with the official formula (union = outer span), so that
    comparisons against a threshold agree with the official evaluators bit for bit.
    Two identical zero-length segments give NaN (0/0), which never exceeds a threshold.
    """
    a = np.asarray(a, dtype=np.float32).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 2)
    return _iou(a[:, None, 0], a[:, None, 1], b[None, :, 0], b[None, :, 1])


def _iou(s1: np.ndarray, e1: np.ndarray, s2: np.ndarray, e2: np.ndarray) -> np.ndarray:
    inter = np.maximum(np.minimum(e1, e2) - np.maximum(s1, s2), np.float32(0.0))
    union = np.maximum(e1, e2) - np.minimum(s1, s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


# --------------------------------------------------------------------------- matching


@dataclass
class _Flat:
    """Proposals and ground truth of all videos, concatenated in video order."""

    n_videos: int
    scores: np.ndarray  # float32 [P]
    pvid: np.ndarray  # video index of each proposal [P]
    poff: np.ndarray  # proposal offsets per video [V + 1]
    gvid: np.ndarray  # video index of each ground-truth segment [G]
    # (segment, proposal) pairs of the same video, grouped by segment, proposals in list order
    pair_g: np.ndarray
    pair_p: np.ndarray
    pair_pos: np.ndarray  # position of the proposal in its video's list
    pair_iou: np.ndarray  # float32
    gpairs: np.ndarray  # number of pairs of each segment [G]
    gstart: np.ndarray  # index of each segment's first pair [G]

    @property
    def n_proposals(self) -> int:
        return int(self.scores.shape[0])

    @property
    def n_segments(self) -> int:
        return int(self.gvid.shape[0])


def _flatten(proposals: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> _Flat:
    """``proposals[v]`` ``[n, 3]`` (score, start, end) and ``truth[v]`` ``[m, 2]``."""
    n_videos = len(proposals)
    pcounts = np.array([p.shape[0] for p in proposals], dtype=np.int64)
    gcounts = np.array([g.shape[0] for g in truth], dtype=np.int64)
    poff = np.concatenate([[0], np.cumsum(pcounts)])
    P, G = int(poff[-1]), int(gcounts.sum())
    prop = np.concatenate(list(proposals)).astype(np.float32) if P else np.zeros((0, 3), np.float32)
    gt = np.concatenate(list(truth)).astype(np.float32) if G else np.zeros((0, 2), np.float32)
    pvid = np.repeat(np.arange(n_videos), pcounts)
    gvid = np.repeat(np.arange(n_videos), gcounts)
    # every ground-truth segment paired with every proposal of its video, in list order
    gpairs = pcounts[gvid]
    n_pairs = int(gpairs.sum())
    pair_g = np.repeat(np.arange(G), gpairs)
    first_pair = np.concatenate([[0], np.cumsum(gpairs)[:-1]]) if G else np.zeros(0, np.int64)
    pair_pos = np.arange(n_pairs) - np.repeat(first_pair, gpairs)
    pair_p = poff[gvid][pair_g] + pair_pos if n_pairs else np.zeros(0, np.int64)
    pair_iou = _iou(prop[pair_p, 1], prop[pair_p, 2], gt[pair_g, 0], gt[pair_g, 1])
    return _Flat(
        n_videos=n_videos,
        scores=prop[:, 0].copy(),
        pvid=pvid,
        poff=poff,
        gvid=gvid,
        pair_g=pair_g,
        pair_p=pair_p,
        pair_pos=pair_pos,
        pair_iou=pair_iou,
        gpairs=gpairs,
        gstart=first_pair,
    )


def _true_positives(flat: _Flat, threshold: float) -> np.ndarray:
    """``is_tp[P]``: each segment takes the first unused proposal, in list order, with
    IoU > threshold (the official greedy rule)."""
    is_tp = np.zeros(flat.n_proposals, dtype=bool)
    cand = flat.pair_iou > np.float32(threshold)
    if not cand.any():
        return is_tp
    # a proposal that could match two segments makes the greedy order matter: replay
    # those videos one segment at a time; elsewhere each segment takes its first candidate
    per_prop = np.bincount(flat.pair_p[cand], minlength=flat.n_proposals)
    contested_videos = np.unique(flat.pvid[per_prop > 1])
    fast = cand
    if contested_videos.size:
        contested = np.zeros(flat.n_videos, dtype=bool)
        contested[contested_videos] = True
        fast = cand & ~contested[flat.gvid[flat.pair_g]]
    idx = np.flatnonzero(fast)
    if idx.size:
        g = flat.pair_g[idx]
        first = np.concatenate([[True], g[1:] != g[:-1]])
        is_tp[flat.pair_p[idx[first]]] = True
    for v in contested_videos:
        _replay_video(flat, int(v), cand, is_tp)
    return is_tp


def _replay_video(flat: _Flat, v: int, cand: np.ndarray, is_tp: np.ndarray) -> None:
    used: set[int] = set()
    for g in np.flatnonzero(flat.gvid == v):
        start = int(flat.gstart[g])
        for k in range(start, start + int(flat.gpairs[g])):
            if cand[k] and int(flat.pair_p[k]) not in used:
                used.add(int(flat.pair_p[k]))
                break
    is_tp[list(used)] = True


def _best_iou(flat: _Flat, n: int) -> np.ndarray:
    """Best IoU of each segment among the first ``n`` proposals of its video (0 if none)."""
    best = np.zeros(flat.n_segments, dtype=np.float32)
    if flat.pair_iou.size == 0:
        return best
    iou = np.where(flat.pair_pos < n, np.nan_to_num(flat.pair_iou, nan=0.0), np.float32(0.0))
    has = flat.gpairs > 0
    best[has] = np.maximum.reduceat(iou, flat.gstart[has])
    return best


def _ap_from_tp_ranks(ranks: np.ndarray, n_labels: int) -> float:
    """Area under the official PR curve, from the ranks (0-based positions in the pooled
    ranking) of the true positives.

    The official sum over the curve reduces to: for each true positive after the first
    position, the running-max precision from it downwards, over ``n_labels``. Between
    true positives precision only falls, so that running max is reached at a true
    positive, and only true positives (tens of thousands, not millions) are visited.
    The true positive at rank 0, if any, adds nothing: the curve has no ``(0, p)`` point.
    """
    if n_labels == 0:
        return float("nan")
    if ranks.size == 0:
        return 0.0
    ranks = np.sort(ranks)
    precision = np.arange(1, ranks.size + 1) / (ranks + 1.0)
    running_max = np.maximum.accumulate(precision[::-1])[::-1]
    return float(running_max[ranks > 0].sum() / n_labels)


@dataclass
class _Matches:
    """Per-proposal and per-segment outcomes, computed once and shared by every subset."""

    flat: _Flat
    order: np.ndarray  # pooled ranking: stable sort by float32 score, descending
    rank: np.ndarray  # position of each proposal in that ranking (inverse of order)
    tp_index: dict[float, np.ndarray]  # AP threshold -> indices of the true positives
    found: dict[int, np.ndarray]  # AR N -> [n_thresholds, G] bool
    ar_thresholds: tuple[float, ...]

    def metrics(self, protocol: Protocol, videos: np.ndarray | None = None) -> dict[str, float]:
        """Metrics over the videos where ``videos`` (``[V]`` bool) is true (all if None)."""
        flat = self.flat
        if videos is None:
            gmask = np.ones(flat.n_segments, bool)
            position = self.rank
        else:
            gmask = videos[flat.gvid]
            # positions in the ranking of this group's proposals alone (same stable order)
            position = np.empty_like(self.rank)
            position[self.order] = np.cumsum(videos[flat.pvid[self.order]]) - 1
        n_labels = int(gmask.sum())
        out: dict[str, float] = {}
        for t in protocol.ap_thresholds:
            tps = self.tp_index[t]
            if videos is not None:
                tps = tps[videos[flat.pvid[tps]]]
            ap = _ap_from_tp_ranks(position[tps], n_labels)
            out[metric_key("AP", t)] = 0.0 if np.isnan(ap) else ap
        for n in protocol.ar_ns:
            found = self.found[n][:, gmask]
            recall = found.sum(axis=1) / n_labels if n_labels else np.zeros(len(self.ar_thresholds))
            out[metric_key("AR", n)] = float(np.mean(recall))
        return out


def _match(
    proposals: Sequence[np.ndarray],
    truth: Sequence[np.ndarray],
    ap_thresholds: Sequence[float],
    ar_ns: Sequence[int],
    ar_thresholds: Sequence[float],
) -> _Matches:
    flat = _flatten(proposals, truth)
    order = np.argsort(-flat.scores, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    tp_index = {t: np.flatnonzero(_true_positives(flat, t)) for t in ap_thresholds}
    thr = np.asarray(ar_thresholds, dtype=np.float32)[:, None]
    found = {n: _best_iou(flat, n)[None, :] > thr for n in ar_ns}
    return _Matches(flat, order, rank, tp_index, found, tuple(ar_thresholds))


# --------------------------------------------------------------------------- plain functions


def _aligned(predictions: Any, truth: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-video arrays from aligned sequences, or from mappings keyed by file (truth order)."""
    if isinstance(truth, Mapping):
        keys = list(truth)
        if not isinstance(predictions, Mapping):
            raise TypeError("predictions must be a mapping when truth is a mapping")
        missing = [k for k in keys if k not in predictions]
        if missing:
            raise PredictionsError(f"{len(missing)} video(s) have no predictions, e.g. {missing[:3]}")
        arrays = as_arrays({k: predictions[k] for k in keys})
        return [arrays[k] for k in keys], [_segments_array(truth[k]) for k in keys]
    preds = list(predictions)
    gts = list(truth)
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} prediction lists for {len(gts)} ground-truth lists")
    arrays = as_arrays({str(i): p for i, p in enumerate(preds)})
    return [arrays[str(i)] for i in range(len(preds))], [_segments_array(g) for g in gts]


def _segments_array(segments: Any) -> np.ndarray:
    arr = np.asarray(segments if segments is not None else [], dtype=np.float64)
    return arr.reshape(-1, 2)


def average_precision(predictions: Any, truth: Any, threshold: float) -> float:
    """Official AP at one IoU threshold.

    ``predictions``: per video, ``[[score, start, end], ...]``; ``truth``: per video,
    ``[[start, end], ...]``. Either two aligned sequences (video order = sequence
    order) or two mappings keyed by file (video order = ``truth`` order). Video order
    only matters for proposals of equal score (stable sort, as the official code).
    NaN when there is no ground-truth segment at all (as the official code).
    """
    proposals, gts = _aligned(predictions, truth)
    m = _match(proposals, gts, [threshold], [], AR_THRESHOLDS)
    return _ap_from_tp_ranks(m.rank[m.tp_index[threshold]], m.flat.n_segments)


def average_recall(predictions: Any, truth: Any, n: int, thresholds: Sequence[float] = AR_THRESHOLDS) -> float:
    """Official AR@n averaged over ``thresholds`` (inputs as :func:`average_precision`).

    0 when there is no ground-truth segment at all (as the avdeepfake1m evaluator).
    """
    proposals, gts = _aligned(predictions, truth)
    m = _match(proposals, gts, [], [n], thresholds)
    total = m.flat.n_segments
    if total == 0:
        return 0.0
    return float(np.mean(m.found[n].sum(axis=1) / total))


# --------------------------------------------------------------------------- AUC


def video_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """ROC AUC of video-level ``scores`` for binary ``labels`` (1 = fake).

    The Mann-Whitney statistic with tied scores given their average rank, which equals
    the area under the ROC curve drawn through tied scores as one step (as
    ``torchmetrics.AUROC``, used by the AV-Deepfake1M evaluator, computes it).
    """
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels for {s.size} scores")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if np.isnan(s).any():
        raise BadInputError("video scores contain NaN", hint="give every video a finite score")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise BadInputError(
            f"AUC needs real and fake videos; got {n_pos} fake and {n_neg} real",
            hint="evaluate a split (or subset) that has both",
        )
    order = np.argsort(s, kind="mergesort")
    ranked = s[order]
    new_group = np.concatenate([[True], ranked[1:] != ranked[:-1]])
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.concatenate([starts[1:], [s.size]])
    avg_rank = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.empty(s.size)
    ranks[order] = avg_rank[group]
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


# --------------------------------------------------------------------------- records


def modify_type_of_record(record: VideoRecord) -> str | None:
    """The record's ``modify_type``, derived from its label and per-modality segments
    when the metadata did not say (``None`` when it cannot be told)."""
    if record.modify_type is not None:
        return record.modify_type
    if record.label == 0:
        return "real"
    if record.visual_segments is not None and record.audio_segments is not None:
        v, a = bool(record.visual_segments), bool(record.audio_segments)
        return {(True, True): "both_modified", (True, False): "visual_modified", (False, True): "audio_modified"}.get(
            (v, a)
        )
    return None


def _ground_truth(records: Sequence[VideoRecord]) -> list[np.ndarray]:
    out, unannotated = [], []
    for r in records:
        if r.fake_segments is not None:
            out.append(_segments_array(r.fake_segments))
        elif r.label == 0:
            out.append(np.zeros((0, 2)))
        else:
            unannotated.append(r.file)
            out.append(np.zeros((0, 2)))
    if unannotated:
        raise MetadataError(
            f"{len(unannotated)} video(s) to evaluate have no ground-truth segments: {_few(unannotated)}",
            hint="evaluate against metadata with fake segments (a labelled split), e.g. --split test on LAV-DF "
            "or val_metadata.json on AV-Deepfake1M",
        )
    return out


def _few(names: Sequence[str], k: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


def select_subset(records: Sequence[VideoRecord], subset: str) -> list[VideoRecord]:
    """The records LAV-DF's subset condition keeps (whole videos; see the module doc)."""
    if subset not in SUBSETS:
        raise BadInputError(f"unknown subset {subset!r}", hint=f"choose one of: {', '.join(SUBSETS)}")
    excluded = SUBSET_EXCLUDES[subset]
    if not excluded:
        return list(records)
    kept, unknown = [], []
    for r in records:
        kind = modify_type_of_record(r)
        if kind is None:
            unknown.append(r.file)
        elif kind not in excluded:
            kept.append(r)
    if unknown:
        raise MetadataError(
            f"the {subset} subset needs to know which track of each fake was modified; "
            f"{len(unknown)} video(s) do not say: {_few(unknown)}",
            hint="use metadata with modify_video/modify_audio (LAV-DF) or modify_type (AV-Deepfake1M), or --subset full",
        )
    return kept


# --------------------------------------------------------------------------- evaluate


def evaluate(
    predictions: Mapping[str, Any],
    records: Sequence[VideoRecord],
    protocol: str | Protocol = "lavdf",
    subset: str = "full",
    allow_missing: bool = False,
    *,
    video_scores: Mapping[str, float] | None = None,
    auc_from_proposals: bool = True,
    breakdown: bool = True,
    duration_tolerance: float = 0.04,
    source: str | Path = "predictions",
    progress: ProgressCallback = no_progress,
) -> EvaluationResult:
    """Score official-format ``predictions`` against the ground truth of ``records``.

    ``predictions`` maps each ``file`` to ``[[score, start, end], ...]`` (lists or
    ``[n, 3]`` arrays). Videos are taken in ``records`` order (which decides ties in
    score, as in the official code). ``allow_missing`` counts a video absent from
    ``predictions`` as one with no proposal instead of raising. The AUC uses
    ``video_scores`` (``{file: score}``) when given, else — if ``auc_from_proposals`` —
    each video's highest proposal score. Proposals further than ``duration_tolerance``
    seconds outside ``[0, duration]`` draw a warning (they are scored as they are, as
    the official code does). ``source`` names the predictions in messages.
    """
    proto = protocol if isinstance(protocol, Protocol) else PROTOCOLS.get(protocol)
    if proto is None:
        raise BadInputError(f"unknown protocol {protocol!r}", hint=f"choose one of: {', '.join(PROTOCOLS)}")
    warnings: list[str] = []
    progress(0, 4, "checking predictions")
    arrays = as_arrays(predictions, source=source)
    all_files = {r.file for r in records}
    chosen = select_subset(records, subset)
    truth = _ground_truth(chosen)

    missing = [r.file for r in chosen if r.file not in arrays]
    if missing and not allow_missing:
        raise PredictionsError(
            f"{source}: {len(missing)} of {len(chosen)} video(s) to evaluate have no predictions: {_few(missing)}",
            hint="predict every video of the split, check that --split matches the predictions, "
            "or pass --allow-missing to count them as videos with no proposal",
            path=source,
        )
    if missing:
        warnings.append(
            f"{len(missing)} video(s) have no predictions ({_few(missing)}): counted as videos with no proposal, "
            "their segments missed (the official evaluators stop with an error on a missing video)"
        )
    empty = np.zeros((0, 3))
    proposals = [arrays.get(r.file, empty) for r in chosen]
    warnings += _check_lists(chosen, proposals, arrays, all_files, missing, duration_tolerance)

    progress(1, 4, "matching proposals")
    matches = _match(proposals, truth, proto.ap_thresholds, proto.ar_ns, proto.ar_thresholds)
    n_segments = matches.flat.n_segments
    if n_segments == 0:
        warnings.append(
            "no ground-truth segment among the evaluated videos: AP and AR are undefined and reported as 0 "
            "(the official code gives NaN for AP, and 0 or NaN for AR)"
        )
    progress(2, 4, "computing metrics")
    metrics = matches.metrics(proto)
    by_type: dict[str, dict[str, float]] = {}
    if breakdown:
        kinds = np.array([modify_type_of_record(r) or "" for r in chosen], dtype=object)
        real = kinds == "real"
        for kind in MODIFY_TYPES:
            if kind == "real":
                continue
            mask = kinds == kind
            if mask.any():
                by_type[kind] = matches.metrics(proto, mask | real)

    progress(3, 4, "video-level AUC")
    auc = _auc(chosen, proposals, video_scores, auc_from_proposals, source, warnings)
    progress(4, 4, "done")
    return EvaluationResult(
        protocol=proto.name,
        subset=subset,
        metrics=metrics,
        n_videos=len(chosen),
        n_segments=n_segments,
        by_modify_type=by_type,
        auc=auc,
        warnings=warnings,
    )


def _check_lists(
    records: Sequence[VideoRecord],
    proposals: Sequence[np.ndarray],
    arrays: Mapping[str, np.ndarray],
    all_files: set[str],
    missing: Sequence[str],
    tolerance: float,
) -> list[str]:
    """Warnings for inputs the official code accepts but that deserve a word."""
    out = []
    extra = [k for k in arrays if k not in all_files]
    if extra:
        out.append(
            f"{len(extra)} video(s) in the predictions are not in the ground truth ({_few(extra)}): ignored, "
            "as the official evaluators ignore them"
        )
    missing_set = set(missing)
    empty = [r.file for r, p in zip(records, proposals) if p.shape[0] == 0 and r.file not in missing_set]
    if empty:
        out.append(
            f"{len(empty)} video(s) have an empty proposal list ({_few(empty)}): counted as no proposal, their "
            "segments missed (the official evaluators crash on an empty list; write_predictions writes a "
            "placeholder instead)"
        )
    counts = np.array([p.shape[0] for p in proposals], dtype=np.int64)
    flat = np.concatenate([p for p in proposals if p.shape[0]]) if counts.sum() else np.zeros((0, 3))
    vid = np.repeat(np.arange(len(records)), counts)
    same_video = vid[1:] == vid[:-1]
    rising = same_video & (flat[1:, 0] > flat[:-1, 0])
    unsorted = [records[v].file for v in np.unique(vid[1:][rising])]
    duration = np.array([np.inf if r.duration is None else r.duration for r in records])
    beyond = (flat[:, 1] < -tolerance) | (flat[:, 2] > duration[vid] + tolerance)
    outside = [records[v].file for v in np.unique(vid[beyond])]
    if unsorted:
        out.append(
            f"{len(unsorted)} video(s) have proposals not sorted by score, descending ({_few(unsorted)}): "
            "ground truth is matched to proposals in list order and AR@N takes the first N of the list, "
            "exactly as the official evaluators do without sorting; sort the lists if that order is not intended"
        )
    if outside:
        out.append(
            f"{len(outside)} video(s) have proposals outside [0, duration] ({_few(outside)}): scored as given, "
            "as the official evaluators do; clamp them to the video"
        )
    return out


def _auc(
    records: Sequence[VideoRecord],
    proposals: Sequence[np.ndarray],
    video_scores: Mapping[str, float] | None,
    from_proposals: bool,
    source: str | Path,
    warnings: list[str],
) -> float | None:
    if video_scores is None and not from_proposals:
        return None
    labels = [r.label if r.label is not None else int(bool(r.fake_segments)) for r in records]
    if video_scores is not None:
        missing = [r.file for r in records if r.file not in video_scores]
        if missing:
            raise BadInputError(
                f"{len(missing)} video(s) have no video-level score: {_few(missing)}",
                hint="give every evaluated video a score in the video scores file",
            )
        scores = np.array([float(video_scores[r.file]) for r in records], dtype=np.float64)
        if not np.all(np.isfinite(scores)):
            bad = [r.file for r, s in zip(records, scores) if not np.isfinite(s)]
            raise BadInputError(f"video scores must be finite numbers; not so for {_few(bad)}")
    else:
        scores = np.full(len(records), -np.inf)
        counts = np.array([p.shape[0] for p in proposals])
        if counts.sum():
            flat = np.concatenate([p[:, 0] for p in proposals if p.shape[0]])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts > 0]
            scores[counts > 0] = np.maximum.reduceat(flat, starts)
    try:
        return video_auc(labels, scores)
    except BadInputError as exc:
        if video_scores is not None:  # asked for explicitly: say why there is none
            warnings.append(f"no AUC: {exc.message}")
        return None


# --------------------------------------------------------------------------- ground truth files


def load_ground_truth(path: str | Path, split: str | None = None) -> list[VideoRecord]:
    """Records (with ground truth) from one metadata file, without looking for videos.

    Evaluation needs the metadata only. ``path`` is a LAV-DF ``metadata.json`` (a list
    of entries with ``fake_periods``) or an AV-Deepfake1M ``{split}_metadata.json``
    (entries with ``fake_segments``); the format is told by the entries' fields, and
    each entry is checked by that format's reader. An AV-Deepfake1M entry's split is
    the file name's prefix (``val_metadata.json`` -> ``val``), else its ``split`` field.
    ``split`` keeps that split's entries only, before they are checked (LAV-DF's file
    lists all 136k videos; the test split is a fifth of them); no entry of that split
    is an error naming the splits present.
    """
    from forensicloc.datasets.avdf1m import SPLITS, AVDeepfake1MFormat
    from forensicloc.datasets.lavdf import LAVDFFormat
    from forensicloc.datasets.validation import DuplicateChecker, Entry, load_entries

    path = Path(path)
    if path.is_dir():
        raise MetadataError(
            f"{path} is a folder", hint="pass the metadata file itself (--metadata), or use --dataset for a folder"
        )
    entries = load_entries(path)
    root = path.parent
    duplicates = DuplicateChecker(path)
    if not entries:
        return []
    first = entries[0]
    prefix = path.name[: -len("_metadata.json")] if path.name.endswith("_metadata.json") else None

    def split_of(data: dict[str, Any]) -> Any:
        if prefix in SPLITS and "fake_periods" not in first:
            return prefix
        return data.get("split")

    chosen = list(enumerate(entries))
    if split is not None:
        # an entry whose split is malformed stays, so that its reader reports it
        chosen = [(i, d) for i, d in chosen if split_of(d) == split or not isinstance(split_of(d), str)]
        if not chosen:
            present = sorted({s for d in entries if isinstance(s := split_of(d), str)})
            raise MetadataError(
                f"{path} has no video of split {split!r}" + (f" (splits present: {', '.join(present)})" if present else ""),
                path=path,
                hint=f"choose the split of the predictions with --split ({', '.join(present + ['all'])})",
            )
    if "fake_periods" in first or "modify_video" in first:
        lavdf = LAVDFFormat(missing="ignore")
        return [lavdf.parse_entry(root, Entry(d, i, path), duplicates)[0] for i, d in chosen]
    if "fake_segments" in first or "modify_type" in first:
        avdf = AVDeepfake1MFormat(missing="ignore")
        records = []
        for i, d in chosen:
            entry_split = split_of(d)
            entry_split = entry_split if isinstance(entry_split, str) else "test"
            records.append(avdf.parse_entry(root, entry_split, Entry(d, i, path), duplicates)[0])
        return records
    raise MetadataError(
        f"{path}: entries have neither fake_periods (LAV-DF) nor fake_segments (AV-Deepfake1M)",
        path=path,
        hint="pass a LAV-DF metadata.json or an AV-Deepfake1M {split}_metadata.json",
    )


def official_evaluator() -> Any | None:
    """The official AV-Deepfake1M evaluator (compiled ``avdeepfake1m._evaluation``) if
    installed, else ``None``; for cross-checks and benchmarks.

    Loaded from its shared library without importing the ``avdeepfake1m`` package, whose
    other modules need its training dependencies (``pip install --no-deps avdeepfake1m``
    is enough).
    """
    import glob
    import importlib.util
    import os

    spec = importlib.util.find_spec("avdeepfake1m")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for lib in glob.glob(os.path.join(folder, "_evaluation*.so")) + glob.glob(os.path.join(folder, "_evaluation*.pyd")):
            ext = importlib.util.spec_from_file_location("avdeepfake1m._evaluation", lib)
            if ext is None or ext.loader is None:
                continue
            module = importlib.util.module_from_spec(ext)
            ext.loader.exec_module(module)
            return module
    return None
