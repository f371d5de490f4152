"""``forensicloc bench`` end to end on a tiny synthetic dataset, and its building blocks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

from forensicloc.api import Features, Scorer, ScoreTrack, VideoRecord
from forensicloc.bench import BenchConfig, family_detection, run_bench, select_by_family
from forensicloc.cli import build_cli, main
from forensicloc.hookspecs import hookimpl

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 videos of about 2 s at 64 px, LAV-DF layout (train / dev / test)."""
    from forensicloc.synth import synthesize

    root = tmp_path_factory.mktemp("bench") / "data"
    synthesize(root, 12, seed=1, min_seconds=2.0, max_seconds=2.4, size=64, max_segment=0.8)
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def bench_run(dataset: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One run over every installed scorer (shared by the checks below: it is the slow part)."""
    out = tmp_path_factory.mktemp("out") / "bench"
    args = ["bench", "--dataset", str(dataset), "--cache", str(cache), "--out", str(out), "--epochs", "1",
            "--device", "cpu"]
    result = CliRunner().invoke(build_cli(), args)
    return result, out


def _finite_unit(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0


def test_bench_runs_every_installed_scorer(bench_run: tuple[Any, Path]) -> None:
    from forensicloc.plugins import registry

    result, out = bench_run
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    installed = registry("scorer").names()
    assert set(results["scorers"]) == set(installed)
    for name in installed:
        assert f" {name} " in result.stdout  # the printed table has a row per scorer


def test_results_json_structure(bench_run: tuple[Any, Path], dataset: Path) -> None:
    _, out = bench_run
    results = json.loads((out / "results.json").read_text())
    for key in ("config", "dataset", "extraction", "proposer", "versions", "seeds", "environment", "command",
                "peak_rss_mb"):
        assert key in results, key
    assert results["config"]["seed"] == 0 and results["config"]["protocol"] == "lavdf"
    assert results["versions"]["forensicloc"]
    assert "forensicloc-baselines" in results["versions"]["plugins"]
    assert results["dataset"]["used"]["test"]["videos"] >= 2
    assert results["extraction"]["failed"] == []
    assert results["extraction"]["extracted"] + results["extraction"]["cached"] == 12
    test_files = {r["file"] for r in json.loads((dataset / "metadata.json").read_text()) if r["split"] == "test"}

    for name, entry in results["scorers"].items():
        assert entry["status"] == "ok", (name, entry.get("error"))
        assert entry["supervision"] in ("none", "real-only", "video-level")
        assert entry["distribution"] and entry["version"]
        assert isinstance(entry["options"], dict)
        full, visual = entry["metrics"]["full"], entry["metrics"]["visual"]
        assert list(full) == ["AP@0.5", "AP@0.75", "AP@0.95", "AR@100", "AR@50", "AR@20", "AR@10"]
        assert all(_finite_unit(v) for v in [*full.values(), *visual.values()]), (name, full, visual)
        assert entry["auc"] is None or _finite_unit(entry["auc"])
        for kind, metrics in entry["by_modify_type"].items():
            assert kind in ("visual_modified", "audio_modified", "both_modified")
            assert all(_finite_unit(v) for v in metrics.values())
        assert all(_finite_unit(v) for v in entry["family_detection"].values())
        assert entry["train_seconds"] >= 0 and entry["videos_per_second"] > 0
        assert entry["peak_rss_mb"] > 0
        predictions = json.loads((out / entry["predictions"]).read_text())
        assert set(predictions) == test_files  # every test video has a key (official format)
        for rows in predictions.values():
            scores = [row[0] for row in rows]
            assert scores == sorted(scores, reverse=True)
        assert (out / entry["model"] / "model.safetensors").exists()


def test_report_and_plots_are_written(bench_run: tuple[Any, Path]) -> None:
    _, out = bench_run
    report = (out / "report.md").read_text()
    assert "| scorer | supervision | AP@0.5 |" in report
    assert "![" in report and "pr_curves.png" in report and "score_tracks.png" in report
    for png in ("pr_curves.png", "score_tracks.png"):
        data = (out / png).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_same_seed_same_numbers(bench_run: tuple[Any, Path], dataset: Path, cache: Path) -> None:
    """A rerun from the cache gives the same metrics (cheap scorers only)."""
    _, out = bench_run
    first = json.loads((out / "results.json").read_text())
    again = run_bench(BenchConfig(dataset, scorers=["pca", "avsync", "random", "mil"], cache_dir=cache, epochs=1,
                                  device="cpu"))
    assert again.results["extraction"]["cached"] == 12
    for name in ("pca", "avsync", "random", "mil"):
        assert again.results["scorers"][name]["metrics"] == first["scorers"][name]["metrics"], name
        assert again.results["scorers"][name]["auc"] == first["scorers"][name]["auc"], name


class _BrokenScorer(Scorer):
    name: ClassVar[str] = "broken"
    description: ClassVar[str] = "fails in fit, on purpose"
    supervision: ClassVar[str] = "real-only"

    def fit(self, train, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("this scorer always fails")

    def score(self, features: Features) -> ScoreTrack:
        return ScoreTrack(np.zeros(features.length))


class _BrokenPlugin:
    @hookimpl
    def register_scorers(self, register):  # type: ignore[no-untyped-def]
        register(_BrokenScorer)


def test_failing_scorer_is_reported_and_others_continue(
    forensicloc_plugin: Any, dataset: Path, cache: Path, tmp_path: Path
) -> None:
    forensicloc_plugin(_BrokenPlugin(), name="broken-plugin")
    out = tmp_path / "out"
    args = ["bench", "--dataset", str(dataset), "--cache", str(cache), "--out", str(out),
            "--scorers", "broken,random", "--device", "cpu"]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 1, result.output  # everything written, but the comparison is incomplete
    assert "broken failed in fit" in result.stderr and "always fails" in result.stderr
    results = json.loads((out / "results.json").read_text())
    broken, random = results["scorers"]["broken"], results["scorers"]["random"]
    assert broken["status"] == "failed" and broken["stage"] == "fit"
    assert "RuntimeError: this scorer always fails" in broken["error"]
    assert broken["plugin"] == "broken-plugin"
    assert random["status"] == "ok" and _finite_unit(random["metrics"]["full"]["AP@0.5"])
    assert not (out / "predictions" / "broken.json").exists()
    assert (out / "predictions" / "random.json").exists()
    report = (out / "report.md").read_text()
    assert "## Failed scorers" in report and "`broken` failed in fit" in report


def test_unknown_scorer_or_family_is_a_clear_error(dataset: Path, tmp_path: Path, capsys: Any) -> None:
    for args, needle in (
        (["--scorers", "nope"], "unknown scorer 'nope'"),
        (["--scorers", "random", "--train-families", "no-such-family"], "no-such-family"),
    ):
        with pytest.raises(SystemExit) as info:
            main(["bench", "--dataset", str(dataset), "--out", str(tmp_path / "o"), *args])
        assert info.value.code != 0
        err = capsys.readouterr().err
        assert "Error:" in err and needle in err and "Traceback" not in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_unseen_family_protocol(dataset: Path, cache: Path) -> None:
    from forensicloc.datasets import open_dataset

    records = open_dataset(dataset).records
    present = sorted({p for r in records for f in (r.families or ()) for p in f.split("+")})
    train_fams, test_fams = present[: len(present) // 2], present[len(present) // 2 :]
    result = run_bench(
        BenchConfig(dataset, scorers=["random"], cache_dir=cache, device="cpu", train_families=train_fams,
                    test_families=test_fams)
    )
    used = result.results["dataset"]["used"]
    dropped = result.results["dataset"]["dropped_by_family"]
    for split, fams, key in (("train", train_fams, "train"), ("test", test_fams, "test")):
        fakes = [r for r in records if r.split == split and r.label == 1]
        kept = [r for r in fakes if {p for f in r.families for p in f.split("+")} <= set(fams)]
        assert used[key]["fake"] == len(kept)
        assert dropped[key] == len(fakes) - len(kept)
        assert used[key]["real"] == sum(1 for r in records if r.split == split and r.label == 0)
    assert {r.file for r in result.test_records if r.label == 1} <= {
        r.file for r in records if r.families and {p for f in r.families for p in f.split("+")} <= set(test_fams)
    }
    assert result.results["config"]["train_families"] == train_fams


def _record(file: str, label: int, segments: tuple = (), families: tuple | None = None) -> VideoRecord:
    return VideoRecord(file=file, path=Path(file), split="test", label=label, duration=4.0,
                       fake_segments=segments, families=families)


def test_select_by_family_keeps_reals_and_splits_two_track_families() -> None:
    records = [
        _record("real", 0),
        _record("a", 1, ((0, 1),), ("blend",)),
        _record("ab", 1, ((0, 1),), ("voice-swap+lip-sync",)),
        _record("two", 1, ((0, 1), (2, 3)), ("blend", "freeze")),
        _record("unknown", 1, ((0, 1),), None),
    ]
    kept, dropped = select_by_family(records, ["blend", "voice-swap", "lip-sync"])
    assert [r.file for r in kept] == ["real", "a", "ab"] and dropped == 2
    assert select_by_family(records, None) == (records, 0)


def test_family_detection_by_hand() -> None:
    records = [
        _record("v1", 1, ((1.0, 2.0), (3.0, 3.5)), ("blend", "freeze")),
        _record("v2", 1, ((0.0, 1.0),), ("voice-swap+lip-sync",)),
        _record("r", 0),
    ]
    predictions = {
        "v1": [[0.9, 1.0, 2.0], [0.1, 3.4, 3.5]],  # blend found; freeze IoU 0.2: missed
        "v2": [[0.5, 0.0, 0.9]],  # IoU 0.9: found, counted for both families
        "r": [[0.4, 0.0, 1.0]],
    }
    assert family_detection(predictions, records) == {"blend": 1.0, "freeze": 0.0, "voice-swap": 1.0, "lip-sync": 1.0}
