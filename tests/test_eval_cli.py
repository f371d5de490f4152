"""``forensicloc eval`` on tiny metadata files written by the tests (no videos needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensicloc.cli import build_cli, main
from forensicloc.errors import MetadataError
from forensicloc.predictions import PredictionsError


def lavdf_entry(file: str, split: str, periods, video: bool = False, audio: bool = False) -> dict:
    return {
        "file": file, "split": split, "n_fakes": len(periods), "fake_periods": periods, "duration": 4.0,
        "original": None if not periods else "orig.mp4", "modify_video": video, "modify_audio": audio,
        "video_frames": 100, "audio_channels": 1, "audio_frames": 64000,
    }


@pytest.fixture
def lavdf(tmp_path: Path) -> Path:
    root = tmp_path / "lavdf"
    root.mkdir()
    (root / "metadata.json").write_text(json.dumps([
        lavdf_entry("test/a.mp4", "test", [[1.0, 2.0]], video=True),
        lavdf_entry("test/b.mp4", "test", [[0.5, 1.0]], audio=True),
        lavdf_entry("test/c.mp4", "test", []),
        lavdf_entry("train/d.mp4", "train", []),
    ]))
    return root


@pytest.fixture
def preds(tmp_path: Path) -> Path:
    path = tmp_path / "preds.json"
    path.write_text(json.dumps({
        "test/a.mp4": [[0.9, 1.0, 2.0], [0.2, 0.0, 0.5]],
        "test/b.mp4": [[0.8, 3.0, 3.5], [0.3, 0.5, 1.1]],
        "test/c.mp4": [[0.5, 0.0, 1.0]],
    }))
    return path


def invoke(*args: object):
    return CliRunner().invoke(build_cli(), ["eval", *map(str, args)])


def test_table_shows_metrics_times_100(lavdf, preds):
    result = invoke(preds, "--metadata", lavdf / "metadata.json")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # pooled: .9 TP, .8 FP, .5 FP, .3 TP, .2 FP over 2 segments -> (2/4) / 2 = 25.00;
    # AR: a found at every threshold, b (IoU 0.5/0.6) at 0.50 ... 0.80: (10 + 7) / 20 = 85.00
    assert "3 videos (split test), 2 fake segments" in out
    for row in ("AP@0.5", "AP@0.95", "AR@100", "AR@10", "AUC"):
        assert row in out
    assert "25.00" in out and "85.00" in out
    assert "visual" in out and "audio" in out  # the per-modify_type columns


def test_json_output(lavdf, preds):
    result = invoke(preds, "--metadata", lavdf / "metadata.json", "--json", "--protocol", "avdf1m")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["protocol"] == "avdf1m" and data["split"] == "test" and data["n_videos"] == 3
    assert data["metrics"]["AP@0.5"] == pytest.approx(0.25)
    assert data["metrics"]["AR@5"] == pytest.approx(0.85)
    assert set(data["by_modify_type"]) == {"visual_modified", "audio_modified"}
    assert data["auc"] == pytest.approx(1.0)


def test_visual_subset_and_dataset_folder(lavdf, preds):
    result = invoke(preds, "--dataset", lavdf, "--subset", "visual", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the audio-only fake b is left out with its proposals: a + c, one segment
    assert (data["subset"], data["n_videos"], data["n_segments"]) == ("visual", 2, 1)


def test_video_scores_file(lavdf, preds, tmp_path):
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"test/a.mp4": 0.1, "test/b.mp4": 0.9, "test/c.mp4": 0.5}))
    result = invoke(preds, "--metadata", lavdf / "metadata.json", "--video-scores", scores, "--json")
    assert json.loads(result.stdout)["auc"] == pytest.approx(0.5)
    no_auc = invoke(preds, "--metadata", lavdf / "metadata.json", "--no-auc", "--json")
    assert json.loads(no_auc.stdout)["auc"] is None


def test_missing_videos_fail_unless_allowed(lavdf, preds, capsys):
    result = invoke(preds, "--metadata", lavdf / "metadata.json", "--split", "all")
    assert result.exit_code != 0
    assert isinstance(result.exception, PredictionsError)
    assert "1 of 4 video(s)" in str(result.exception) and "train/d.mp4" in str(result.exception)
    allowed = invoke(preds, "--metadata", lavdf / "metadata.json", "--split", "all", "--allow-missing")
    assert allowed.exit_code == 0, allowed.output
    assert "warning" in allowed.stderr and "no predictions" in allowed.stderr
    # through the console script: one message, the fix, no traceback, exit 1
    with pytest.raises(SystemExit) as info:
        main(["eval", str(preds), "--metadata", str(lavdf / "metadata.json"), "--split", "all"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Error:" in err and "--allow-missing" in err and "Traceback" not in err


def test_avdf1m_metadata_and_split_choice(tmp_path):
    meta = tmp_path / "val_metadata.json"
    meta.write_text(json.dumps([
        {"file": "x/real.mp4", "original": None, "split": "val", "modify_type": "real", "audio_model": None,
         "fake_segments": [], "audio_fake_segments": [], "visual_fake_segments": [], "video_frames": 100,
         "audio_frames": 64000},
        {"file": "x/fake.mp4", "original": "x/real.mp4", "split": "val", "modify_type": "both_modified",
         "audio_model": "yourtts", "fake_segments": [[1.0, 1.5], [2.0, 3.0]], "audio_fake_segments": [[1.0, 1.5]],
         "visual_fake_segments": [[2.0, 3.0]], "video_frames": 100, "audio_frames": 64000},
    ]))
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"x/real.mp4": [[0.2, 0.0, 1.0]], "x/fake.mp4": [[0.9, 1.0, 1.5], [0.8, 2.0, 3.0]]}))
    wrong = invoke(preds, "--metadata", meta)  # default --split test
    assert isinstance(wrong.exception, MetadataError)
    assert "splits present: val" in str(wrong.exception)
    result = invoke(preds, "--metadata", meta, "--split", "val", "--protocol", "avdf1m", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # TP, TP, FP over 2 segments: the second TP counts (precision 1): 0.5
    assert data["metrics"]["AP@0.95"] == pytest.approx(0.5)
    assert data["metrics"]["AR@5"] == 1.0


def test_ground_truth_is_required_once(lavdf, preds):
    neither = invoke(preds)
    assert neither.exit_code == 2 and "exactly one of --metadata" in neither.output
    both = invoke(preds, "--metadata", lavdf / "metadata.json", "--dataset", lavdf)
    assert both.exit_code == 2


def test_bad_predictions_file(lavdf, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"test/a.mp4": [[0.9, 2.0, 1.0]]}))
    result = invoke(bad, "--metadata", lavdf / "metadata.json", "--allow-missing")
    assert isinstance(result.exception, PredictionsError)
    assert "bad.json" in str(result.exception) and "'test/a.mp4'" in str(result.exception)
