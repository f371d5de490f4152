"""Report rendering: tables, JSON, the PR curve behind AP, and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forensicloc import report
from forensicloc.api import ScoreTrack, VideoRecord

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _record(i: int, segments: list[tuple[float, float]] | None, duration: float = 4.0) -> VideoRecord:
    fake = bool(segments)
    return VideoRecord(
        file=f"test/{i:03d}.mp4",
        path=Path(f"/data/test/{i:03d}.mp4"),
        split="test",
        label=int(fake),
        duration=duration,
        fake_segments=tuple(segments or ()),
        visual_segments=tuple(segments or ()),
        audio_segments=(),
        modify_type="visual_modified" if fake else "real",
        families=tuple("blend" for _ in segments) if segments else None,
    )


def _results() -> dict:
    metrics = {"AP@0.5": 0.5, "AP@0.75": 0.25, "AP@0.95": 0.0, "AR@100": 0.61, "AR@50": 0.6, "AR@20": 0.5, "AR@10": 0.4}
    return {
        "config": {"protocol": "lavdf", "extractor": "handcrafted", "proposer": "threshold", "seed": 0},
        "dataset": {"root": "/data", "format": "lavdf", "used": {"train": {"real": 4, "fake": 4}}},
        "scorers": {
            "good": {
                "status": "ok",
                "supervision": "video-level",
                "metrics": {"full": metrics, "visual": {k: v / 2 for k, v in metrics.items()}},
                "auc": 0.875,
                "by_modify_type": {"visual_modified": metrics},
                "family_detection": {"blend": 0.5, "freeze": 1.0},
                "train_seconds": 1.234,
                "score_seconds": 0.5,
                "videos_per_second": 40.0,
                "peak_rss_mb": 300.0,
            },
            "broken": {"status": "failed", "supervision": "none", "stage": "fit", "error": "ValueError: a | b"},
        },
        "versions": {"forensicloc": "0.1.0", "plugins": {"forensicloc-baselines": "0.1.0"}},
        "command": "forensicloc bench --dataset /data",
    }


def test_table_rows_show_percent_and_failures() -> None:
    header, rows = report.table_rows(_results())
    assert header[:4] == ["scorer", "supervision", "AP@0.5", "AP@0.75"]
    assert header[-4:] == ["AUC", "train s", "videos/s", "status"]
    good, broken = rows
    assert good[2] == "50.00" and good[header.index("AUC")] == "87.50" and good[-1] == "ok"
    assert broken[2] == "-" and broken[-1].startswith("failed (fit): ValueError")
    visual = report.table_rows(_results(), "visual")[1][0]
    assert visual[2] == "25.00"


def test_markdown_table_escapes_pipes_and_aligns_numbers() -> None:
    text = report.markdown_table(*report.table_rows(_results()))
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("| --- | --- | ---: |")
    assert "a \\| b" in lines[3]
    assert all(line.count(" | ") + 2 == lines[0].count(" | ") + 2 for line in lines[:3])


def test_markdown_report_has_every_section() -> None:
    text = report.markdown_report(_results(), {"PR": "pr_curves.png"})
    for needle in (
        "# forensicloc benchmark",
        "## Test split, full set",
        "## Test split, visual subset",
        "## AP@0.5 by modify type",
        "## Detection rate by forgery family",
        "## Cost",
        "## Failed scorers",
        "`broken` failed in fit",
        "![PR](pr_curves.png)",
        "forensicloc bench --dataset /data",
        "forensicloc-baselines 0.1.0",
    ):
        assert needle in text, needle


def test_write_json_converts_numpy_and_non_finite(tmp_path: Path) -> None:
    path = report.write_json(
        tmp_path / "sub" / "r.json",
        {"a": np.float32(0.5), "b": np.arange(3), "c": float("nan"), "d": (np.int64(2), Path("x")), "e": np.bool_(True)},
    )
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": None, "d": [2, "x"], "e": True}
    assert not list(path.parent.glob(".*tmp"))


def test_pr_curve_by_hand() -> None:
    records = [_record(0, [(1.0, 2.0)]), _record(1, None)]
    predictions = {
        "test/000.mp4": [[0.9, 1.0, 2.0], [0.8, 1.0, 2.0], [0.3, 3.0, 3.5]],  # TP, duplicate (FP), FP
        "test/001.mp4": [[0.85, 0.0, 1.0]],  # FP on a real video
    }
    precision, recall = report.pr_curve(predictions, records, iou=0.5)
    # ranking: 0.9 TP, 0.85 FP, 0.8 FP, 0.3 FP
    np.testing.assert_allclose(precision, [1.0, 0.5, 1 / 3, 0.25])
    np.testing.assert_allclose(recall, [1.0, 1.0, 1.0, 1.0])


def test_pr_curve_gives_the_official_ap() -> None:
    """Area under the curve, computed the official way, equals evaluation's AP@0.5."""
    from forensicloc.evaluation import evaluate

    rng = np.random.default_rng(0)
    records, predictions = [], {}
    for i in range(30):
        segs = [] if i % 3 == 0 else [(float(s), float(s) + float(rng.uniform(0.3, 1.5))) for s in (0.5, 2.2)[: 1 + i % 2]]
        records.append(_record(i, segs))
        starts = rng.uniform(0, 3.5, 6)
        props = [[float(rng.random()), float(s), float(min(4.0, s + rng.uniform(0.2, 1.5)))] for s in starts]
        predictions[records[-1].file] = sorted(props, key=lambda p: -p[0])
    precision, recall = report.pr_curve(predictions, records, iou=0.5)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    ap = float(np.sum(np.diff(recall) * envelope[1:]))
    expected = evaluate(predictions, records, "lavdf", "full").metrics["AP@0.5"]
    assert ap == pytest.approx(expected, abs=1e-9)


def test_plots_are_written(tmp_path: Path) -> None:
    records = [_record(0, [(1.0, 2.0)]), _record(1, None)]
    rng = np.random.default_rng(0)
    tracks = {
        name: {r.file: ScoreTrack(rng.random(100), rate=25.0, duration=4.0) for r in records}
        for name in ("a", "b")
    }
    tracks["flat"] = {records[0].file: ScoreTrack(np.zeros(100))}  # constant track: no division by zero
    p1 = report.plot_score_tracks(tmp_path / "tracks.png", records, tracks)
    curves = {"a": (np.array([1.0, 0.5]), np.array([0.5, 0.5])), "empty": (np.zeros(0), np.zeros(0))}
    p2 = report.plot_pr_curves(tmp_path / "pr.png", curves, {"a": 0.25, "empty": None})
    for p in (p1, p2):
        assert p.read_bytes()[:8] == PNG_MAGIC
        assert p.stat().st_size > 5000
