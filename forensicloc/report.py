"""Benchmark reports: comparison tables (Markdown, rows for rich), JSON, and plots.

Everything here works from the JSON-able results dictionary that :mod:`forensicloc.bench`
builds (the content of ``results.json``), so a report can be re-rendered from a results
file alone; the plots additionally take score tracks and predictions, which are too big
for ``results.json``. Figures are drawn on :class:`matplotlib.figure.Figure` objects
with the Agg canvas — no pyplot global state, no display needed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import ScoreTrack, VideoRecord

#: metric columns of the main table, per protocol (evaluation names its metrics so)
SUMMARY_COLUMNS = ("AP@0.5", "AP@0.75", "AR@10", "AUC")


# --------------------------------------------------------------------------- JSON


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (a killed run leaves no half file).

    numpy scalars and arrays are converted; NaN/inf become ``null`` so the file stays
    valid JSON that any reader accepts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(data), indent=2, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- tables


def metric_columns(results: Mapping[str, Any]) -> list[str]:
    """The protocol's metric names, in the order evaluation reported them."""
    for entry in results.get("scorers", {}).values():
        full = entry.get("metrics", {}).get("full")
        if full:
            return list(full)
    return []


def table_rows(results: Mapping[str, Any], subset: str = "full") -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the comparison table, one row per scorer, as text cells.

    Metrics are shown in percent (as papers report them), AUC included; a scorer that
    failed shows its stage and error instead of numbers.
    """
    metrics = metric_columns(results)
    header = ["scorer", "supervision", *metrics, "AUC", "train s", "videos/s", "status"]
    rows = []
    for name, entry in results.get("scorers", {}).items():
        if entry.get("status") != "ok":
            cells = ["-"] * (len(metrics) + 3)
            status = f"failed ({entry.get('stage', '?')}): {entry.get('error', '')}"
            rows.append([name, entry.get("supervision", "?"), *cells, _short(status, 120)])
            continue
        values = entry.get("metrics", {}).get(subset, {})
        rows.append(
            [
                name,
                entry.get("supervision", "?"),
                *[_pct(values.get(m)) for m in metrics],
                _pct(entry.get("auc")),
                _num(entry.get("train_seconds"), 1),
                _num(entry.get("videos_per_second"), 1),
                "ok",
            ]
        )
    return header, rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 2) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped); columns from
    ``numeric_from`` on are right-aligned, except a trailing ``status``."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    numeric = [i for i, h in enumerate(header) if i >= numeric_from and h != "status"]
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    return "\n".join([line(header), "| " + " | ".join(align) + " |", *(line(r) for r in rows)])


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100.0 * float(value):.2f}"


def _num(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    return f"{float(value):.{digits}f}"


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_report(results: Mapping[str, Any], figures: Mapping[str, str] | None = None) -> str:
    """The whole ``report.md``: set-up, the comparison tables, breakdowns, costs, figures."""
    cfg = results.get("config", {})
    ds = results.get("dataset", {})
    out: list[str] = ["# forensicloc benchmark", ""]
    out.append(
        f"Dataset `{ds.get('root', '?')}` ({ds.get('format', '?')}), protocol `{cfg.get('protocol', '?')}`, "
        f"extractor `{cfg.get('extractor', '?')}`, proposer `{cfg.get('proposer', '?')}`, "
        f"seed {cfg.get('seed', '?')}, device `{results.get('environment', {}).get('device', cfg.get('device', '?'))}`."
    )
    used = ds.get("used", {})
    if used:
        parts = [f"{split}: {c.get('real', 0)} real / {c.get('fake', 0)} fake" for split, c in used.items()]
        out.append(f"Videos used — {'; '.join(parts)}.")
    if cfg.get("train_families") or cfg.get("test_families"):
        out.append(
            f"Unseen-family protocol: train/dev fakes from {', '.join(cfg.get('train_families') or ['all'])}; "
            f"test fakes from {', '.join(cfg.get('test_families') or ['all'])}."
        )
    out += ["", "Metrics in percent; AUC is video-level detection (ROC).", ""]
    out += ["## Test split, full set", "", markdown_table(*table_rows(results, "full")), ""]
    if any(e.get("metrics", {}).get("visual") for e in results.get("scorers", {}).values()):
        out += ["## Test split, visual subset (audio-only fakes excluded)", ""]
        out += [markdown_table(*table_rows(results, "visual")), ""]
    breakdown = _breakdown_table(results, "by_modify_type")
    if breakdown:
        out += ["## AP@0.5 by modify type", "", breakdown, ""]
    families = _breakdown_table(results, "family_detection")
    if families:
        out += [
            "## Detection rate by forgery family",
            "",
            "Share of the forged segments of each family found by one of a video's 10 best proposals "
            "at IoU > 0.5.",
            "",
            families,
            "",
        ]
    out += ["## Cost", "", _cost_table(results), ""]
    failed = {n: e for n, e in results.get("scorers", {}).items() if e.get("status") != "ok"}
    if failed:
        out += ["## Failed scorers", ""]
        out += [f"- `{n}` failed in {e.get('stage', '?')}: {_short(e.get('error', ''), 400)}" for n, e in failed.items()]
        out.append("")
    for title, file in (figures or {}).items():
        out += [f"## {title}", "", f"![{title}]({file})", ""]
    versions = results.get("versions", {})
    if versions:
        plugins = ", ".join(f"{d} {v}" for d, v in sorted(versions.get("plugins", {}).items()))
        out += [f"forensicloc {versions.get('forensicloc', '?')}" + (f"; plugins: {plugins}" if plugins else "") + "."]
    if results.get("command"):
        out += ["", "Reproduce with:", "", "```bash", str(results["command"]), "```"]
    return "\n".join(out).rstrip() + "\n"


def _breakdown_table(results: Mapping[str, Any], key: str) -> str:
    """Scorers as rows, categories (modify types, families) as columns."""
    ok = {n: e for n, e in results.get("scorers", {}).items() if e.get("status") == "ok" and e.get(key)}
    if not ok:
        return ""
    categories = sorted({c for e in ok.values() for c in e[key]})
    rows = []
    for name, entry in ok.items():
        cells = []
        for c in categories:
            value = entry[key].get(c)
            if isinstance(value, Mapping):  # per modify type: a metrics dict
                value = value.get("AP@0.5")
            cells.append(_pct(value))
        rows.append([name, *cells])
    return markdown_table(["scorer", *categories], rows, numeric_from=1)


def _cost_table(results: Mapping[str, Any]) -> str:
    header = ["scorer", "train s", "score s", "videos/s", "peak RSS MB", "peak CUDA MB"]
    rows = []
    for name, e in results.get("scorers", {}).items():
        rows.append(
            [
                name,
                _num(e.get("train_seconds"), 2),
                _num(e.get("score_seconds"), 2),
                _num(e.get("videos_per_second"), 1),
                _num(e.get("peak_rss_mb"), 0),
                _num(e.get("peak_cuda_mb"), 0),
            ]
        )
    ext = results.get("extraction", {})
    table = markdown_table(header, rows, numeric_from=1)
    if ext:
        table += (
            f"\n\nFeature extraction: {ext.get('extracted', 0)} extracted, {ext.get('cached', 0)} from the cache, "
            f"{len(ext.get('failed', []))} failed, {_num(ext.get('seconds'), 1)} s. "
            "Scoring speed is measured from cached features (scorer only); peak RSS is the process's "
            "peak so far, scorers running in the order listed."
        )
    return table


# --------------------------------------------------------------------------- PR curve


def pr_curve(
    predictions: Mapping[str, Sequence[Sequence[float]]],
    records: Sequence[VideoRecord],
    iou: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """``(precision, recall)`` of pooled proposals at one IoU threshold.

    Matching follows the official evaluators: within a video, each ground-truth segment
    takes the first unused proposal in list order whose IoU is strictly greater than
    ``iou``; all proposals are then pooled and stably sorted by score. Real videos add
    proposals (false positives) and no ground truth.
    """
    from forensicloc.evaluation import iou_matrix

    scores: list[np.ndarray] = []
    hits: list[np.ndarray] = []
    n_truth = 0
    for record in records:
        props = np.asarray(predictions.get(record.file, []), dtype=np.float64).reshape(-1, 3)
        truth = np.asarray(record.fake_segments or [], dtype=np.float64).reshape(-1, 2)
        n_truth += len(truth)
        tp = np.zeros(len(props), dtype=bool)
        if len(props) and len(truth):
            overlap = iou_matrix(props[:, 1:], truth)  # float32, as the official code
            for j in range(len(truth)):
                candidates = np.flatnonzero((overlap[:, j] > np.float32(iou)) & ~tp)
                if candidates.size:
                    tp[candidates[0]] = True
        scores.append(props[:, 0])
        hits.append(tp)
    if not scores or n_truth == 0:
        return np.zeros(0), np.zeros(0)
    all_scores = np.concatenate(scores).astype(np.float32)
    all_hits = np.concatenate(hits)
    order = np.argsort(-all_scores, kind="stable")
    cum_tp = np.cumsum(all_hits[order])
    precision = cum_tp / np.arange(1, len(order) + 1)
    recall = cum_tp / n_truth
    return precision, recall


# --------------------------------------------------------------------------- plots


def plot_pr_curves(
    path: str | Path,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ap: Mapping[str, float | None] | None = None,
    iou: float = 0.5,
) -> Path:
    """One precision/recall curve per scorer (running-max precision, as AP uses)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5), dpi=110)
    ax = fig.add_subplot()
    for name, (precision, recall) in curves.items():
        if len(precision) == 0:
            continue
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        label = name if not ap or ap.get(name) is None else f"{name} (AP {100 * float(ap[name]):.1f})"
        ax.plot(recall, envelope, label=label, linewidth=1.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"Precision / recall at IoU > {iou:g} (test split)")
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_score_tracks(
    path: str | Path,
    records: Sequence[VideoRecord],
    tracks: Mapping[str, Mapping[str, ScoreTrack]],
) -> Path:
    """Score tracks of a few test videos against their ground-truth segments.

    ``tracks[scorer][file]``. One panel per video; each scorer's track is min-max
    normalised within the video so that scorers with different ranges share an axis
    (a proposer normalises the same way). Forged spans are shaded, coloured by modality
    when the metadata says which track was forged.
    """
    from matplotlib.figure import Figure

    n = max(1, len(records))
    fig = Figure(figsize=(9.0, 2.2 * n + 0.6), dpi=100)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, record in zip(axes, records):
        _shade_truth(ax, record)
        duration = record.duration or 0.0
        for name, by_file in tracks.items():
            track = by_file.get(record.file)
            if track is None or track.length == 0:
                continue
            t = (np.arange(track.length) + 0.5) / track.rate
            s = track.scores
            span = s.max() - s.min()
            s = (s - s.min()) / span if span > 0 else np.zeros_like(s)
            ax.plot(t, s, label=name, linewidth=1.2)
            duration = max(duration, float(track.duration or 0.0))
        kind = record.modify_type or ("fake" if record.label == 1 else "real")
        fams = f" [{', '.join(record.families)}]" if record.families else ""
        ax.set_title(f"{record.file} — {kind}{fams}", fontsize=9, loc="left")
        ax.set_xlim(0, duration if duration > 0 else 1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("score (normalised)", fontsize=8)
        ax.grid(alpha=0.25)
    axes[-1].set_xlabel("time (s)")
    legend: dict[str, Any] = {}  # every label once, whichever panel drew it
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    handles, labels = list(legend.values()), list(legend)
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=min(6, len(labels)))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (2.2 * n + 0.6)))
    return _save(fig, path)


def _shade_truth(ax: Any, record: VideoRecord) -> None:
    """Shade forged spans: by modality when known, else all segments in grey."""
    drawn = False
    for segments, colour, label in (
        (record.visual_segments, "tab:red", "visual forged"),
        (record.audio_segments, "tab:blue", "audio forged"),
    ):
        for i, (start, end) in enumerate(segments or ()):
            ax.axvspan(start, end, color=colour, alpha=0.15, label=label if i == 0 else None)
            drawn = True
    if not drawn:
        for i, (start, end) in enumerate(record.fake_segments or ()):
            ax.axvspan(start, end, color="grey", alpha=0.25, label="forged" if i == 0 else None)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
