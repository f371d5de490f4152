"""``forensicloc demo`` end to end at its smallest size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensicloc.cli import build_cli


@pytest.mark.slow
def test_demo_runs_end_to_end_and_reuses_its_dataset(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--videos", "10", "--epochs", "1", "--workers", "1", "--device", "cpu"]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    assert "test split, full set" in stdout  # the comparison table
    assert "ground truth" in stdout and "segments found by" in stdout
    assert "forensicloc run --scorer" in stdout
    assert str(out / "bench" / "report.md") in stdout.replace("\n", "")
    results = json.loads((out / "bench" / "results.json").read_text())
    assert results["dataset"]["splits"]["test"]["videos"] >= 2
    assert {"mil", "pca", "avsync", "random"} <= set(results["scorers"])
    assert (out / "run.png").stat().st_size > 0

    again = CliRunner().invoke(build_cli(), args)
    assert again.exit_code == 0, again.output
    assert "reusing the dataset" in again.stdout
