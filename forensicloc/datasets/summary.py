"""A dataset at a glance: videos per split, labels, modify types, forged segments.

Used by ``forensicloc datasets info`` and by reports; a plain JSON-able dict so the
same numbers can be printed as a table or saved next to benchmark results.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from forensicloc.api import Dataset, VideoRecord

#: upper edges (seconds) of the segment-length histogram bins
LENGTH_BINS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, float("inf"))


def _bin_labels() -> list[str]:
    labels, low = [], 0.0
    for high in LENGTH_BINS:
        labels.append(f">= {low:g} s" if high == float("inf") else f"{low:g}-{high:g} s")
        low = high
    return labels


def _group(records: list[VideoRecord]) -> dict[str, Any]:
    labels = Counter({1: "fake", 0: "real"}.get(r.label, "unknown") for r in records)  # type: ignore[arg-type]
    modify = Counter(r.modify_type for r in records if r.modify_type is not None)
    families: Counter[str] = Counter()
    lengths: list[float] = []
    per_video: Counter[int] = Counter()
    annotated = 0
    for r in records:
        if r.fake_segments is None:
            continue
        annotated += 1
        per_video[len(r.fake_segments)] += 1
        lengths += [end - start for start, end in r.fake_segments]
        for family in r.families or ():
            families.update(family.split("+"))
    histogram = dict.fromkeys(_bin_labels(), 0)
    names = list(histogram)
    for length in lengths:
        k = next(i for i, high in enumerate(LENGTH_BINS) if length < high)
        histogram[names[k]] += 1
    durations = [r.duration for r in records if r.duration is not None]
    return {
        "videos": len(records),
        "real": labels.get("real", 0),
        "fake": labels.get("fake", 0),
        "unlabelled": labels.get("unknown", 0),
        "modify_types": dict(sorted(modify.items())),
        "families": dict(sorted(families.items())),
        "annotated_videos": annotated,
        "segments": len(lengths),
        "segments_per_video": {str(k): v for k, v in sorted(per_video.items())},
        "segment_seconds": {
            "min": round(min(lengths), 3) if lengths else None,
            "mean": round(sum(lengths) / len(lengths), 3) if lengths else None,
            "max": round(max(lengths), 3) if lengths else None,
        },
        "segment_length_histogram": histogram,
        "hours": round(sum(durations) / 3600, 3) if durations else None,
    }


_SPLIT_ORDER = ("train", "dev", "val", "test")


def _split_order(name: str) -> tuple[int, str]:
    return (_SPLIT_ORDER.index(name) if name in _SPLIT_ORDER else len(_SPLIT_ORDER), name)


def summarize(dataset: Dataset) -> dict[str, Any]:
    """Totals and per-split numbers of ``dataset`` (split ``None`` shows as ``"-"``)."""
    by_split: dict[str, list[VideoRecord]] = {}
    for r in dataset.records:
        by_split.setdefault(r.split if r.split is not None else "-", []).append(r)
    return {
        "root": str(dataset.root),
        "format": dataset.format,
        "total": _group(dataset.records),
        "splits": {name: _group(by_split[name]) for name in sorted(by_split, key=_split_order)},
    }
