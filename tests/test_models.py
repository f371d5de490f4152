"""Model directories: what is written, what reloads, and every way loading can fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensicloc.errors import ModelError
from forensicloc.models import (
    CONFIG_FILE,
    MODEL_FILE,
    default_model_dir,
    find_default_model,
    load_model,
    save_model,
    set_default_model,
)
from model_fakes import DIMS, SpyPlugin, SpyScorer, TinyExtractor, features_for, make_records


@pytest.fixture
def spies(forensicloc_plugin):
    forensicloc_plugin(SpyPlugin(), name="spies")


@pytest.fixture
def saved(spies, tmp_path):
    scorer = SpyScorer(gain=2.0)
    scorer.noise = 0.25
    directory = save_model(
        scorer, tmp_path / "model", extractor=TinyExtractor(),
        train_summary={"videos": np.int64(4), "losses": np.array([1.0, 0.5])}, validation={"auc": 0.9},
    )
    return scorer, directory


def test_directory_holds_tensors_and_a_complete_card(saved):
    _, directory = saved
    assert (directory / MODEL_FILE).is_file()
    card = json.loads((directory / CONFIG_FILE).read_text())
    assert card["scorer"] == "spy-video"
    assert card["scorer_options"] == {"gain": 2.0}
    assert card["extractor"] == {"name": "tiny-test", "config": {}, "version": "3"}
    assert card["dims"] == DIMS and card["rate"] == 25.0
    assert card["plugin"]["name"] == "spies"
    assert card["forensicloc_version"]
    assert card["train"] == {"videos": 4, "losses": [1.0, 0.5]}
    assert card["validation"] == {"auc": 0.9}
    assert card["meta"] == {"gain": 2.0}


def test_reloads_to_identical_scores(saved):
    scorer, directory = saved
    loaded, card = load_model(directory, features_dims=DIMS, extractor_name="tiny-test", scorer="spy-video")
    assert isinstance(loaded, SpyScorer) and loaded.gain == 2.0 and loaded.noise == 0.25
    assert card.directory == directory and card.scorer == "spy-video"
    features = features_for(make_records(0, 1)[0])
    assert np.array_equal(loaded.score(features).scores, scorer.score(features).scores)


def test_missing_directory(spies, tmp_path):
    with pytest.raises(ModelError, match="does not exist") as info:
        load_model(tmp_path / "nope", scorer="spy-video")
    assert "forensicloc train --scorer spy-video" in info.value.hint


def test_not_a_model_directory(spies, tmp_path):
    with pytest.raises(ModelError, match="config.json is missing"):
        load_model(tmp_path)


def test_corrupt_json(saved):
    _, directory = saved
    (directory / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON") as info:
        load_model(directory)
    assert str(directory / CONFIG_FILE) in info.value.render()


def test_card_missing_fields(saved):
    _, directory = saved
    (directory / CONFIG_FILE).write_text(json.dumps({"scorer": "spy-video"}))
    with pytest.raises(ModelError, match="lacks"):
        load_model(directory)


def test_mismatched_dims(saved):
    _, directory = saved
    with pytest.raises(ModelError, match="feature dims") as info:
        load_model(directory, features_dims={"visual": 134, "audio": 47})
    assert "tiny-test" in info.value.hint


def test_other_extractor(saved):
    _, directory = saved
    with pytest.raises(ModelError, match="extractor 'tiny-test', not 'handcrafted'") as info:
        load_model(directory, extractor_name="handcrafted")
    assert "--extractor tiny-test" in info.value.hint


def test_unknown_scorer(saved):
    _, directory = saved
    card = json.loads((directory / CONFIG_FILE).read_text())
    card["scorer"] = "not-installed"
    card["plugin"]["distribution"] = "forensicloc-elsewhere"
    (directory / CONFIG_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="no installed plugin provides") as info:
        load_model(directory)
    assert "forensicloc-elsewhere" in info.value.hint


def test_model_of_another_scorer(saved):
    _, directory = saved
    with pytest.raises(ModelError, match="not 'spy-real'"):
        load_model(directory, scorer="spy-real")


def test_missing_or_corrupt_tensors(saved):
    _, directory = saved
    (directory / MODEL_FILE).write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a valid safetensors"):
        load_model(directory)
    (directory / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match="model.safetensors is missing"):
        load_model(directory)


def test_state_that_does_not_fit(saved):
    from safetensors.numpy import save_file

    _, directory = saved
    save_file({"other": np.zeros(2, np.float32)}, str(directory / MODEL_FILE))
    with pytest.raises(ModelError, match="does not fit scorer 'spy-video'"):
        load_model(directory)


def test_default_location_follows_forensicloc_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FORENSICLOC_HOME", str(tmp_path / "home"))
    assert default_model_dir("mae") == tmp_path / "home" / "models" / "mae"
    assert find_default_model("mae") == default_model_dir("mae")  # nothing recorded yet
    set_default_model("mae", tmp_path / "elsewhere")
    assert find_default_model("mae") == (tmp_path / "elsewhere").resolve()
    assert find_default_model("rtdeeploc") == default_model_dir("rtdeeploc")
