"""Training under weak supervision: what a scorer may see, validation, seeding."""

from __future__ import annotations

import pytest

from forensicloc.training import fit_scorer, make_evaluator, samples_for, withhold
from model_fakes import MemoryStore, NoTrainingSpy, RealOnlySpy, SpyPlugin, SpyScorer, make_records


@pytest.fixture
def spies(forensicloc_plugin):
    forensicloc_plugin(SpyPlugin(), name="spies")


def test_withhold_per_supervision():
    records = make_records(3, 2) + [make_records(1, 0)[0].without_label()]
    assert withhold(records, "none") == []

    real = withhold(records, "real-only")
    assert len(real) == 3
    assert all(r.label is None and not r.has_annotations for r in real)

    video = withhold(records, "video-level")
    assert [r.label for r in video] == [0, 0, 0, 1, 1]  # the unlabelled record is dropped
    assert all(not r.has_annotations and r.modify_type is None for r in video)

    with pytest.raises(ValueError, match="supervision"):
        withhold(records, "frame-level")


def test_samples_load_features_lazily():
    records = make_records(2, 2)
    store = MemoryStore(records)
    samples = samples_for(records, store, "video-level")
    assert len(samples) == 4 and store.loads == 0
    assert samples[3].record.label == 1 and store.loads == 1
    assert len(samples[1:3]) == 2 and store.loads == 1
    assert [s.record.file for s in samples] == [r.file for r in records]


def test_fit_never_sees_segments(spies):
    train, dev = make_records(3, 3), make_records(2, 2, split="dev")
    store = MemoryStore(train + dev)
    scorer = SpyScorer()
    result = fit_scorer(scorer, train, dev, store, seed=0)

    assert len(scorer.seen_train) == 6
    for record in scorer.seen_train + scorer.seen_validation:
        assert not record.has_annotations and record.modify_type is None and not record.extra
    assert [r.label for r in scorer.seen_train] == [0, 0, 0, 1, 1, 1]
    assert [r.label for r in scorer.seen_validation] == [0, 0, 1, 1]  # labels kept for selection
    assert result.summary == {"videos": 6}
    assert result.seconds >= 0


def test_real_only_and_none_supervision(spies):
    train, dev = make_records(3, 3), make_records(2, 2, split="dev")
    store = MemoryStore(train + dev)

    real = RealOnlySpy()
    fit_scorer(real, train, dev, store)
    assert len(real.seen_train) == 3 and all(r.label is None for r in real.seen_train)

    none = NoTrainingSpy()
    result = fit_scorer(none, train, dev, store)
    assert none.seen_train == [] and none.seen_validation == [] and none.evaluations == []
    assert "auc" in result.validation  # the core still reports dev metrics


def test_dev_metrics_come_from_the_core(spies):
    train, dev = make_records(2, 2), make_records(3, 4, split="dev")
    store = MemoryStore(train + dev)
    scorer = SpyScorer()
    result = fit_scorer(scorer, train, dev, store)
    # the spy's track rises exactly over the forged second: perfect detection and localization
    assert scorer.evaluations == [result.validation]
    assert result.validation["auc"] == pytest.approx(1.0)
    # perfect ranking of 4 segments: the official AP starts at the first recall step (1/4)
    assert result.validation["AP@0.5"] == pytest.approx(3 / 4)


def test_evaluator_skips_undefined_metrics(spies):
    reals = make_records(3, 0, split="dev")
    evaluate = make_evaluator(reals, MemoryStore(reals))
    assert evaluate(SpyScorer()) == {}  # one class: no AUC; no segment: no AP


def test_no_dev_split(spies):
    train = make_records(2, 2)
    scorer = SpyScorer()
    result = fit_scorer(scorer, train, [], MemoryStore(train))
    assert result.validation == {} and scorer.evaluations == []


def test_seeded_runs_repeat(spies):
    train = make_records(2, 2)
    store = MemoryStore(train)

    def noise(seed: int) -> float:
        scorer = SpyScorer()
        fit_scorer(scorer, train, [], store, seed=seed)
        return scorer.noise

    assert noise(3) == noise(3)
    assert noise(3) != noise(4)
