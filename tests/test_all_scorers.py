"""Every registered scorer, whoever ships it, passes the same contract test.

fit (with only what its supervision allows) → score → save state as safetensors + JSON
→ load into a fresh instance → identical scores. Parametrised over the scorer registry
at collection time, so installing a plugin adds its scorers here without editing tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forensicloc.api import Features, FitContext, Sample, Scorer, ScoreTrack, VideoRecord, component_config
from forensicloc.plugins import registry

RATE = 25.0


def _scorer_names() -> list[str]:
    try:
        return registry("scorer").names()
    except Exception:  # a broken plugin is reported by the plugin tests, not here
        return []


def _features(seed: int, t: int, forged: bool) -> Features:
    """Two correlated modalities driven by one smooth latent; a forged span breaks it."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(12345)
    wv, wa = mix.normal(size=(4, 24)), mix.normal(size=(4, 20))
    z = np.cumsum(rng.normal(0, 0.3, (t, 4)), axis=0)
    visual = z @ wv + rng.normal(0, 0.1, (t, 24))
    audio = z @ wa + rng.normal(0, 0.1, (t, 20))
    if forged:
        a = t // 3
        visual[a : a + t // 4] += rng.normal(0, 2.0, (t // 4, 24))
    return Features({"visual": visual.astype(np.float32), "audio": audio.astype(np.float32)}, rate=RATE)


def _train_set(supervision: str) -> list[Sample]:
    """What the core hands a scorer of this supervision: no segments, ever."""
    if supervision == "none":
        return []
    samples = []
    for i in range(12):
        fake = i % 2 == 1
        t = 60 + 5 * (i % 4)  # variable lengths
        record = VideoRecord(file=f"train/{i}.mp4", path=Path(f"train/{i}.mp4"), split="train", label=int(fake))
        if supervision == "real-only":
            if fake:
                continue
            record = record.without_label()
        samples.append(Sample(record, _features(i, t, fake)))
    return samples


def _validation() -> list[Sample]:
    return [
        Sample(VideoRecord(file=f"dev/{i}.mp4", path=Path(f"dev/{i}.mp4"), split="dev", label=i % 2), _features(50 + i, 70, bool(i % 2)))
        for i in range(4)
    ]


@pytest.mark.parametrize("name", _scorer_names())
def test_fit_score_and_state_round_trip(name: str, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    cls = registry("scorer").get(name)
    assert issubclass(cls, Scorer)
    scorer = cls()
    summary = scorer.fit(_train_set(cls.supervision), FitContext(seed=0, epochs=1, validation=_validation()))
    json.dumps(summary)  # the summary goes into model configs and reports

    probes = [_features(900, 80, True), _features(901, 50, False)]
    tracks = scorer.score_batch(probes)
    for features, track in zip(probes, tracks):
        assert isinstance(track, ScoreTrack)
        assert track.length == features.length
        assert np.all(np.isfinite(track.scores))
        assert np.isfinite(track.video_level)
        for m, values in track.modalities.items():
            assert values.shape == track.scores.shape, m

    tensors, meta = scorer.state()
    assert all(isinstance(v, np.ndarray) for v in tensors.values())
    if tensors:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp_path / "model.safetensors"))
        loaded = load_file(str(tmp_path / "model.safetensors"))
    else:
        loaded = {}
    meta = json.loads(json.dumps(meta))  # JSON only: no pickle anywhere
    fresh = cls(**component_config(scorer))
    fresh.load_state(loaded, meta)
    for features, before in zip(probes, tracks):
        after = fresh.score(features)
        np.testing.assert_allclose(after.scores, before.scores, rtol=1e-6, atol=1e-7)
        assert after.video_level == pytest.approx(before.video_level, rel=1e-6, abs=1e-7)
        assert set(after.modalities) == set(before.modalities)


def test_every_scorer_is_listed() -> None:
    """Guards the parametrisation: the bundled baselines are always there."""
    names = _scorer_names()
    assert {"mil", "pca", "avsync", "random"} <= set(names)
