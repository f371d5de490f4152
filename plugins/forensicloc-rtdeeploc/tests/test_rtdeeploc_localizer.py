"""The rtdeeploc localizer on toy data: selection, training, state, cue models."""

import numpy as np
import pytest
import torch

from forensicloc.api import FitContext
from forensicloc.errors import BadInputError
from forensicloc_rtdeeploc.localizer import RTDeepLocScorer
from forensicloc_rtdeeploc.localizer_engine import select_snippets
from rtdeeploc_toy import toy_samples

MAE_TINY = dict(epochs=2, d_model=16, layers=1, heads=2, window=32, batch_size=16, block=4)
TINY = dict(d_model=16, layers=2, heads=2, batch_size=8, mae_options=MAE_TINY)


@pytest.fixture(scope="module")
def fitted():
    aucs = iter([0.5, 0.9, 0.7])
    seen = []

    def evaluate(scorer):
        seen.append(scorer)
        return {"auc": next(aucs), "AP@0.5": 0.1}

    train = toy_samples(10, 10, seed=0, length=(40, 70))
    dev = toy_samples(3, 3, seed=1, length=(40, 70))
    scorer = RTDeepLocScorer(epochs=3, **TINY)
    summary = scorer.fit(train, FitContext(seed=0, validation=dev, evaluate=evaluate))
    return scorer, summary, seen


def test_model_selected_by_dev_auc(fitted):
    scorer, summary, seen = fitted
    assert len(seen) == 3 and all(s is scorer for s in seen)
    assert summary["localizer"]["best_epoch"] == 2
    assert summary["mae"]["epochs"] == 2


def test_training_loss_decreases():
    train = toy_samples(8, 8, seed=2, length=(40, 60))
    scorer = RTDeepLocScorer(epochs=6, lr=3e-3, **TINY)
    summary = scorer.fit(train, FitContext(seed=0))
    losses = summary["localizer"]["loss"]
    assert losses[-1] < losses[0]
    assert summary["localizer"]["best_epoch"] == 6  # no validation: the last epoch


def test_scores_and_modalities(fitted):
    scorer, _, _ = fitted
    sample = toy_samples(0, 1, seed=4)[0]
    track = scorer.score(sample.features)
    assert track.length == sample.features.length
    assert set(track.modalities) == {"audio", "visual"}
    assert 0.0 <= track.scores.min() and track.scores.max() <= 1.0
    assert 0.0 < track.video_level < 1.0


def test_saved_state_reloads_to_identical_scores(fitted):
    scorer, _, _ = fitted
    tensors, meta = scorer.state()
    again = RTDeepLocScorer(**TINY)
    again.load_state(tensors, meta)
    sample = toy_samples(0, 1, seed=8)[0]
    assert np.array_equal(scorer.score(sample.features).scores, again.score(sample.features).scores)


def test_needs_both_classes():
    with pytest.raises(BadInputError, match="real and fake"):
        RTDeepLocScorer(**TINY).fit(toy_samples(4, 0), FitContext())


def test_anchor_and_forged_selection():
    cue = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]] * 2)
    logits = torch.zeros(2, 10)
    logits[1, 9] = 5.0
    valid = torch.ones(2, 10, dtype=torch.bool)
    valid[:, 8:] = torch.tensor([True, False])  # last snippet is padding in both
    labels = torch.tensor([0, 1])
    authentic, forged = select_snippets(cue, logits, valid, labels, anchor_ratio=0.5, forged_ratio=0.25)
    assert authentic[0, :9].all() and not forged[0].any()  # real video: all authentic
    assert authentic[1].nonzero().flatten().tolist() == [0, 1, 2, 3, 4]  # ceil(0.5 * 9) lowest cues
    assert not (authentic & forged).any()
    assert not forged[:, 9].any()  # padding is never selected
    # the 3 highest cues of the 9 valid snippets, kept where the logit is in the top half
    assert forged[1].nonzero().flatten().tolist() == [6, 7, 8]


def test_uses_a_trained_cue_model(tmp_path):
    from forensicloc.models import save_model
    from forensicloc.plugins import create
    from forensicloc_rtdeeploc.mae import MAEScorer

    mae = MAEScorer(**MAE_TINY)
    mae.fit(toy_samples(8, 0, seed=3, length=(40, 60)), FitContext(seed=0))
    save_model(mae, tmp_path / "mae", extractor=create("extractor", "handcrafted"))
    scorer = RTDeepLocScorer(epochs=1, cue_model=str(tmp_path / "mae"), **TINY)
    summary = scorer.fit(toy_samples(6, 6, seed=4, length=(40, 60)), FitContext(seed=0))
    assert summary["mae"] == {"model": str(tmp_path / "mae")}
    sample = toy_samples(1, 0, seed=6)[0]
    assert np.allclose(scorer.score(sample.features).modalities["audio"], mae.score(sample.features).modalities["audio"])


def test_deterministic_for_a_seed():
    from forensicloc.device import seed_everything

    train = toy_samples(5, 5, seed=7, length=(40, 50))
    probe = toy_samples(0, 1, seed=11)[0].features

    def run():
        seed_everything(3)
        scorer = RTDeepLocScorer(epochs=2, **{**TINY, "mae_options": {**MAE_TINY, "epochs": 1}})
        scorer.fit(train, FitContext(seed=3))
        return scorer.score(probe).scores

    assert np.array_equal(run(), run())
