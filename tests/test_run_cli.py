"""``forensicloc train`` and ``forensicloc run`` end to end on tiny videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensicloc.cli import main
from forensicloc.models import save_model, set_default_model
from forensicloc.predictions import load_predictions
from model_fakes import SpyPlugin, SpyScorer


@pytest.fixture
def home(monkeypatch, tmp_path):
    """Default models and the feature cache inside the test's folder."""
    monkeypatch.setenv("FORENSICLOC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FORENSICLOC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "home"


@pytest.fixture
def spies(forensicloc_plugin):
    forensicloc_plugin(SpyPlugin(), name="spies")


@pytest.fixture
def spy_model(spies, tmp_path):
    from forensicloc.plugins import create

    return save_model(SpyScorer(gain=4.0), tmp_path / "spy-model", extractor=create("extractor", "handcrafted"))


def run_cli(*args: str) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_run_without_a_model_says_how_to_train(home, spies, tiny_video, capsys):
    video = tiny_video(seconds=0.4)
    assert run_cli("run", "--scorer", "spy-video", video) == 1
    err = capsys.readouterr().err
    assert "no trained model for scorer 'spy-video'" in err
    assert "forensicloc train --scorer spy-video --dataset DIR" in err


def test_run_writes_official_json_and_a_plot(home, spy_model, tiny_video, tmp_path, capsys):
    videos = [tiny_video(seconds=1.2, name="a.mp4"), tiny_video(seconds=0.8, name="b.mp4", seed=1)]
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    out, plot = tmp_path / "preds.json", tmp_path / "tracks.png"
    code = run_cli("run", "--scorer", "spy-video", "--model", spy_model, "--json", out, "--plot", plot,
                   "--device", "cpu", videos[0], bad, videos[1])
    captured = capsys.readouterr()
    assert code == 1  # the broken video fails, the others are processed
    assert "broken.mp4" in captured.err
    predictions = load_predictions(out)
    assert set(predictions) == {str(v) for v in videos}
    raw = json.loads(out.read_text())
    for rows in raw.values():
        assert rows and all(len(row) == 3 and row[1] <= row[2] for row in rows)
        assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "a.mp4" in captured.out and "video score" in captured.out


def test_run_uses_the_recorded_default_model(home, spy_model, tiny_video, capsys):
    set_default_model("spy-video", spy_model)
    assert run_cli("run", "--scorer", "spy-video", tiny_video(seconds=0.4)) == 0
    assert "start (s)" in capsys.readouterr().out


def test_model_of_other_features_is_refused(home, spy_model, tiny_video, capsys):
    code = run_cli("run", "--scorer", "spy-video", "--model", spy_model, "--extractor", "precomputed",
                   tiny_video(seconds=0.4))
    assert code == 1
    assert "trained on features of extractor 'handcrafted'" in capsys.readouterr().err


def test_scorer_without_training_runs_without_a_model(home, spies, tiny_video, tmp_path):
    out = tmp_path / "none.json"
    assert run_cli("run", "--scorer", "spy-none", "--json", out, tiny_video(seconds=0.4)) == 0
    assert len(load_predictions(out)) == 1


def _lavdf(root: Path, tiny_video) -> Path:
    """A four-split-video LAV-DF-style dataset of tiny clips (labels only matter here)."""
    import shutil

    entries = []
    for split, n in (("train", 4), ("dev", 2)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            fake = i % 2 == 1
            file = f"{split}/{i}.mp4"
            shutil.copy(tiny_video(seconds=0.6, seed=i), root / file)
            entries.append({
                "file": file, "split": split, "n_fakes": int(fake), "fake_periods": [[0.2, 0.4]] if fake else [],
                "duration": 0.6, "original": None, "modify_video": fake, "modify_audio": False,
            })
    (root / "metadata.json").write_text(json.dumps(entries))
    return root


def test_train_saves_a_model_and_records_it_as_default(home, spies, tiny_video, tmp_path, capsys):
    from forensicloc.models import find_default_model, load_model

    dataset = _lavdf(tmp_path / "data", tiny_video)
    out = tmp_path / "trained"
    code = run_cli("train", "--scorer", "spy-video", "--dataset", dataset, "--opt", "gain=3", "--device", "cpu",
                   "--out", out)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert find_default_model("spy-video") == out.resolve()
    scorer, card = load_model(out)
    assert scorer.gain == 3.0
    assert card.train["videos"] == {"videos": 4, "real": 2, "fake": 2}
    assert card.train["dev"]["videos"] == 2
    assert set(card.validation) == {"auc", "AP@0.5"}
    assert "trained spy-video" in captured.out
