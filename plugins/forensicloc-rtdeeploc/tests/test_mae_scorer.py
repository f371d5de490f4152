"""The mae scorer on toy feature sequences: trains, localizes, saves, repeats."""

import numpy as np
import pytest
import torch

from forensicloc.api import Features, FitContext
from forensicloc.errors import BadInputError, ModelError
from forensicloc_rtdeeploc.mae import MAEScorer
from forensicloc_rtdeeploc.mae_model import random_token_mask, scoring_masks, training_masks
from rtdeeploc_toy import toy_samples

TINY = dict(d_model=16, layers=1, heads=2, window=32, batch_size=16, block=4)


def snippet_auc(pairs, scorer):
    ys, ss = [], []
    for sample, span in pairs:
        if span is None:
            continue
        track = scorer.score(sample.features)
        y = np.zeros(track.length)
        y[span[0] : span[1]] = 1
        ys.append(y)
        ss.append(track.scores)
    y, s = np.concatenate(ys), np.concatenate(ss)
    rank = np.empty(len(s))
    rank[np.argsort(s, kind="stable")] = np.arange(1, len(s) + 1)
    n1 = y.sum()
    return (rank[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1))


@pytest.fixture(scope="module")
def trained():
    scorer = MAEScorer(epochs=4, **TINY)
    summary = scorer.fit(toy_samples(24, 0, seed=0), FitContext(seed=0))
    return scorer, summary


def test_training_loss_decreases(trained):
    _, summary = trained
    assert summary["losses"][-1] < summary["losses"][0]
    assert 1 <= summary["best_epoch"] <= 4


def test_scores_are_a_unit_track_with_both_modalities(trained):
    scorer, _ = trained
    sample = toy_samples(1, 0, seed=5)[0]
    track = scorer.score(sample.features)
    assert track.length == sample.features.length
    assert set(track.modalities) == {"audio", "visual"}
    assert 0.0 <= track.scores.min() and track.scores.max() <= 1.0
    assert np.allclose(track.scores, np.maximum(track.modalities["audio"], track.modalities["visual"]))
    assert 0.0 <= track.video_level <= 1.0


def test_forged_spans_reconstruct_worse(trained):
    scorer, _ = trained
    assert snippet_auc(toy_samples(0, 12, seed=3, with_truth=True), scorer) > 0.7


def test_saved_state_reloads_to_identical_scores(trained):
    scorer, _ = trained
    tensors, meta = scorer.state()
    again = MAEScorer(**TINY)
    again.load_state(tensors, meta)
    sample = toy_samples(0, 1, seed=9)[0]
    assert np.array_equal(scorer.score(sample.features).scores, again.score(sample.features).scores)


def test_deterministic_for_a_seed():
    samples = toy_samples(6, 0, seed=1, length=(40, 50))

    def fit():
        torch.manual_seed(123)
        scorer = MAEScorer(epochs=1, **TINY)
        scorer.fit(samples, FitContext(seed=7))
        return scorer.state()[0]

    a, b = fit(), fit()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_short_video_scores(trained):
    scorer, _ = trained
    rng = np.random.default_rng(0)
    features = Features({"audio": rng.normal(size=(3, 10)).astype(np.float32),
                         "visual": rng.normal(size=(3, 12)).astype(np.float32)})
    assert scorer.score(features).length == 3


def test_untrained_scorer_says_how_to_train():
    with pytest.raises(ModelError, match="forensicloc train --scorer mae"):
        MAEScorer().score(toy_samples(1, 0)[0].features)


def test_other_feature_dims_are_a_clear_error(trained):
    scorer, _ = trained
    wrong = Features({"audio": np.zeros((10, 3), np.float32), "visual": np.zeros((10, 12), np.float32)})
    with pytest.raises(BadInputError, match="dims"):
        scorer.score(wrong)


def test_no_authentic_video_is_a_clear_error():
    with pytest.raises(BadInputError, match="authentic"):
        MAEScorer(**TINY).fit([], FitContext())


def test_scoring_masks_hide_every_token_once_per_kind():
    masks = scoring_masks(20, 2, block=4)  # per modality: 2 block passes + 1 cross pass
    assert masks.shape == (6, 2, 20)
    assert torch.all(masks.sum(dim=0) == 2)
    assert not torch.any(masks.all(dim=(1, 2)))  # something stays visible in every pass


def test_training_masks_respect_padding_and_ratio():
    gen = torch.Generator().manual_seed(0)
    valid = torch.ones(64, 16, dtype=torch.bool)
    valid[:, 12:] = False
    masks = random_token_mask(valid, 2, 0.5, gen)
    assert not masks[:, :, 12:].any()
    assert torch.all(masks.flatten(1).sum(dim=1) == 12)
    mixed = training_masks(valid, 2, ratio=0.5, block=4, span_prob=0.4, cross_prob=0.3, generator=gen)
    assert not mixed[:, :, 12:].any()
    visible = (~mixed & valid[:, None, :]).flatten(1).any(dim=1)
    assert visible.all()


def test_centred_standardizer_removes_each_videos_own_level():
    from forensicloc_rtdeeploc.tracks import Standardizer

    rng = np.random.default_rng(0)
    base = [rng.normal(size=(50, 3)).astype(np.float32) for _ in range(4)]
    videos = [Features({"audio": b + 10.0 * i, "visual": b}) for i, b in enumerate(base)]
    std = Standardizer.fit(videos, center=True)
    a, b = std.apply(videos[0])[0], std.apply(videos[3])[0]
    assert abs(np.median(a)) < 0.2 and abs(np.median(b)) < 0.2  # the +30 offset is gone
    assert np.allclose(std.apply(videos[3])[0], std.apply(Features({"audio": base[3], "visual": base[3]}))[0], atol=1e-5)
