"""The baseline scorers on small synthetic feature arrays with planted forgeries.

Authentic videos are made from one smooth latent that drives both modalities (so audio
and visual agree, as speech and mouth do); a planted span breaks that in a controlled
way: off-subspace noise (what ``pca`` must see), audio from another latent (what
``avsync`` must see), or a shifted visual span (what ``mil`` can learn from labels).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from forensicloc.api import Features, FitContext, Sample, ScoreTrack, VideoRecord
from forensicloc.plugins import get_component, registry

RATE = 25.0
LATENT = 4


def _latent(rng: np.random.Generator, t: int) -> np.ndarray:
    """A smooth AR(1) latent trajectory ``[T, LATENT]``."""
    z = np.zeros((t, LATENT))
    for i in range(1, t):
        z[i] = 0.9 * z[i - 1] + rng.normal(0, 0.45, LATENT)
    return z


class World:
    """Fixed mixing matrices: a 'speaker population' shared by every video."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.wv = rng.normal(size=(LATENT, 24))
        self.wa = rng.normal(size=(LATENT, 20))

    def video(self, seed: int, t: int = 100, plant: str | None = None, span: tuple[int, int] = (40, 60)) -> Features:
        rng = np.random.default_rng(seed)
        z = _latent(rng, t)
        visual = z @ self.wv + rng.normal(0, 0.1, (t, 24))
        audio = z @ self.wa + rng.normal(0, 0.1, (t, 20))
        a, b = span
        if plant == "noise":  # leaves the authentic subspace
            visual[a:b] += rng.normal(0, 2.0, (b - a, 24))
        elif plant == "swap":  # plausible audio, but from another latent
            audio[a:b] = _latent(rng, b - a) @ self.wa + rng.normal(0, 0.1, (b - a, 20))
        elif plant == "shift":  # a visual artefact a video-level learner can find
            visual[a:b, :6] += 3.0
        return Features({"visual": visual.astype(np.float32), "audio": audio.astype(np.float32)}, rate=RATE)


def _sample(i: int, features: Features, label: int | None) -> Sample:
    return Sample(VideoRecord(file=f"v{i}.mp4", path=Path(f"v{i}.mp4"), split="train", label=label), features)


@pytest.fixture(scope="module")
def world() -> World:
    return World(0)


def _span_contrast(track: np.ndarray, span: tuple[int, int]) -> float:
    a, b = span
    inside = track[a:b].mean()
    outside = np.concatenate([track[:a], track[b:]]).mean()
    return float(inside - outside)


def test_registered_through_entry_point() -> None:
    reg = registry("scorer")
    for name, supervision in (("mil", "video-level"), ("pca", "real-only"), ("avsync", "real-only"), ("random", "none")):
        assert name in reg
        assert reg.owner(name) == "baselines"
        assert get_component("scorer", name).supervision == supervision


def test_scorer_modules_do_not_import_torch_at_top() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import forensicloc_baselines.plugin, forensicloc_baselines.mil, "
        "forensicloc_baselines.pca, forensicloc_baselines.avsync, forensicloc_baselines.floor; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("plant, name", [("noise", "pca"), ("swap", "avsync")])
def test_one_class_scorers_find_planted_span(world: World, plant: str, name: str) -> None:
    train = [_sample(i, world.video(i), None) for i in range(20)]
    scorer = get_component("scorer", name)()
    summary = scorer.fit(train, FitContext(seed=0))
    assert summary["videos"] == 20
    span = (40, 60)
    for seed in range(100, 104):
        track = scorer.score(world.video(seed, plant=plant, span=span))
        assert isinstance(track, ScoreTrack)
        assert track.length == 100
        assert np.all((track.scores >= 0) & (track.scores <= 1))
        assert _span_contrast(track.scores, span) > 0.25, f"{name} missed the planted span (seed {seed})"
        assert set(track.modalities) == {"visual", "audio"}
    # a forged video looks more unusual than an authentic one
    fake = scorer.score(world.video(200, plant=plant)).video_level
    real = scorer.score(world.video(201)).video_level
    assert fake > real


def test_pca_attributes_the_modality(world: World) -> None:
    scorer = get_component("scorer", "pca")()
    scorer.fit([_sample(i, world.video(i), None) for i in range(20)], FitContext(seed=0))
    track = scorer.score(world.video(300, plant="noise"))  # noise planted in the visual stream
    assert _span_contrast(track.modalities["visual"], (40, 60)) > _span_contrast(track.modalities["audio"], (40, 60))


def test_authentic_scores_are_calibrated(world: World) -> None:
    """On unseen authentic video the calibrated scores sit around 0.5, not at an extreme."""
    for name in ("pca", "avsync"):
        scorer = get_component("scorer", name)()
        scorer.fit([_sample(i, world.video(i), None) for i in range(20)], FitContext(seed=0))
        medians = [np.median(scorer.score(world.video(400 + s)).scores) for s in range(5)]
        assert 0.2 < float(np.mean(medians)) < 0.8, name


def test_mil_learns_from_video_labels(world: World) -> None:
    span = (30, 50)
    train = []
    for i in range(32):
        fake = i % 2 == 1
        train.append(_sample(i, world.video(i, plant="shift" if fake else None, span=span), int(fake)))
    scorer = get_component("scorer", "mil")(hidden=16, epochs=25)
    calls: list[int] = []

    def evaluate(s: object) -> dict[str, float]:
        calls.append(1)
        return {"auc": 0.5 + 0.01 * len(calls)}

    summary = scorer.fit(train, FitContext(seed=0, evaluate=evaluate))
    assert summary["history"][-1]["loss"] < summary["history"][0]["loss"]
    assert len(calls) == 25 and summary["selected_epoch"] == 25
    fake = scorer.score(world.video(500, plant="shift", span=span))
    real = scorer.score(world.video(501))
    assert fake.video_level > real.video_level
    assert _span_contrast(fake.scores, span) > 0.2
    assert fake.modalities == {}


def test_mil_refuses_one_class_data(world: World) -> None:
    scorer = get_component("scorer", "mil")(hidden=8, epochs=1)
    with pytest.raises(ValueError, match="real and fake"):
        scorer.fit([_sample(i, world.video(i), 0) for i in range(4)], FitContext())


def test_random_is_deterministic_and_content_seeded(world: World) -> None:
    cls = get_component("scorer", "random")
    a, b = cls(), cls()
    f1, f2 = world.video(1), world.video(2)
    a.fit([], FitContext())
    t1 = a.score(f1)
    np.testing.assert_array_equal(t1.scores, b.score(f1).scores)
    np.testing.assert_array_equal(t1.scores, a.score(dataclasses.replace(f1)).scores)
    assert not np.array_equal(t1.scores, a.score(f2).scores)
    assert not np.array_equal(t1.scores, cls(seed=1).score(f1).scores)
    assert np.all((t1.scores >= 0) & (t1.scores < 1))


@pytest.mark.parametrize("name", ["mil", "pca", "avsync", "random"])
def test_state_round_trips_through_safetensors(world: World, tmp_path: Path, name: str) -> None:
    from safetensors.numpy import load_file, save_file

    train = [_sample(i, world.video(i, plant="shift" if i % 2 else None), i % 2) for i in range(12)]
    cls = get_component("scorer", name)
    options = {"hidden": 8, "epochs": 2} if name == "mil" else {}
    scorer = cls(**options)
    scorer.fit(train if name == "mil" else [s for s in train if s.record.label == 0], FitContext(seed=3))
    tensors, meta = scorer.state()
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp_path / "m.safetensors"))
    import json

    meta = json.loads(json.dumps(meta))  # what a model directory keeps
    fresh = cls(**options)
    fresh.load_state(load_file(str(tmp_path / "m.safetensors")), meta)
    probe = world.video(77, plant="swap")
    before, after = scorer.score(probe), fresh.score(probe)
    np.testing.assert_array_equal(before.scores, after.scores)
    assert before.video_level == after.video_level
    for m in before.modalities:
        np.testing.assert_array_equal(before.modalities[m], after.modalities[m])


def test_scoring_other_features_is_a_clear_error(world: World) -> None:
    from forensicloc.errors import ModelError

    scorer = get_component("scorer", "pca")()
    scorer.fit([_sample(i, world.video(i), None) for i in range(6)], FitContext())
    odd = Features({"visual": np.zeros((10, 5), np.float32), "audio": np.zeros((10, 20), np.float32)})
    with pytest.raises(ModelError, match="extractor"):
        scorer.score(odd)


def test_pca_video_reference_survives_an_unseen_speaker(world: World) -> None:
    """A new 'speaker' (off-subspace offset on the whole video) raises every error; taken
    relative to the video, the planted span still stands out and the track is not flat."""
    train = [_sample(i, world.video(i), None) for i in range(20)]
    rng = np.random.default_rng(9)
    offset = rng.normal(0, 1.5, 24).astype(np.float32)
    probe = world.video(600, plant="noise", span=(40, 60))
    shifted = Features({"visual": probe.streams["visual"] + offset, "audio": probe.streams["audio"]}, rate=RATE)
    spreads = {}
    for reference in ("video", "global"):
        scorer = get_component("scorer", "pca")(reference=reference)
        scorer.fit(train, FitContext(seed=0))
        track = scorer.score(shifted).modalities["visual"]
        spreads[reference] = float(np.percentile(track, 95) - np.percentile(track, 5))
        if reference == "video":
            assert _span_contrast(track, (40, 60)) > 0.25
            assert 0.2 < float(np.median(track)) < 0.8
    assert spreads["video"] > spreads["global"]  # the global track is pinned near 1


def test_mil_thread_limit_is_scoped(world: World) -> None:
    import torch

    before = torch.get_num_threads()
    seen: list[int] = []
    scorer = get_component("scorer", "mil")(hidden=8, epochs=1, threads=1)
    train = [_sample(i, world.video(i, plant="shift" if i % 2 else None), i % 2) for i in range(6)]
    scorer.fit(train, FitContext(evaluate=lambda s: seen.append(torch.get_num_threads()) or {}))
    assert seen == [1]
    assert torch.get_num_threads() == before
