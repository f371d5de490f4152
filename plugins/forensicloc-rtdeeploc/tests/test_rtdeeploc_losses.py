"""AICL and MIL: the asymmetry and the pooling, on hand-made embeddings."""

import torch

from forensicloc_rtdeeploc.losses import aicl_loss, masked_reconstruction_loss, mil_loss, topk_pool


def _setup(points, auth, forged):
    emb = torch.tensor(points, dtype=torch.float32)[None].requires_grad_(True)  # [1, T, D]
    return emb, torch.tensor(auth)[None], torch.tensor(forged)[None]


def test_authentic_snippets_are_pulled_to_their_centre():
    emb, auth, forged = _setup([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0]], [True, True, False], [False, False, False])
    terms = aicl_loss(emb, auth, forged, margin=1.0)
    assert torch.isclose(terms.pull, torch.tensor(1.0))  # both at distance 1 from (0, 0)
    terms.loss.backward()
    grad = emb.grad[0]
    # descending the gradient moves each authentic point toward the centre
    assert grad[0, 0] > 0 and grad[1, 0] < 0
    assert torch.all(grad[2] == 0)  # a snippet in neither set is untouched


def test_forged_far_beyond_margin_costs_nothing():
    centre = torch.zeros(2)
    emb, auth, forged = _setup([[0.1, 0.0], [5.0, 0.0], [0.0, -5.0]], [True, False, False], [False, True, True])
    terms = aicl_loss(emb, auth, forged, margin=1.0, centre=centre)
    assert terms.push.item() == 0.0
    terms.loss.backward()
    assert torch.all(emb.grad[0, 1:] == 0)


def test_forged_inside_margin_is_only_pushed_away_from_the_centre():
    centre = torch.zeros(2)
    emb, auth, forged = _setup([[0.0, 0.0], [0.3, 0.0], [0.0, 0.2]], [True, False, False], [False, True, True])
    terms = aicl_loss(emb, auth, forged, margin=1.0, centre=centre)
    assert terms.push > 0
    terms.loss.backward()
    for j in (1, 2):
        away = emb[0, j].detach() - centre
        step = -emb.grad[0, j]
        # the descent step points straight away from the centre: no sideways pull
        cos = torch.dot(step, away) / (step.norm() * away.norm())
        assert cos > 0.999


def test_no_force_between_forged_snippets():
    """Moving one forged snippet changes nothing for another: no compactness among them."""
    centre = torch.zeros(2)

    def grad_of_first(other):
        emb, auth, forged = _setup([[0.0, 0.0], [0.3, 0.1], other], [True, False, False], [False, True, True])
        aicl_loss(emb, auth, forged, margin=1.0, centre=centre).loss.backward()
        return emb.grad[0, 1] * 2  # undo the mean over 2 forged snippets

    near, far = grad_of_first([0.31, 0.1]), grad_of_first([0.0, -0.4])
    assert torch.allclose(near, far)


def test_intra_video_centre_counts():
    """A forged snippet close to its own video's authentic snippets is pushed even when
    far from the global centre."""
    emb = torch.tensor([[[4.0, 0.0], [4.2, 0.0]], [[0.0, 0.0], [0.1, 0.0]]], requires_grad=True)
    auth = torch.tensor([[True, False], [True, True]])
    forged = torch.tensor([[False, True], [False, False]])
    terms = aicl_loss(emb, auth, forged, margin=1.0, centre=torch.zeros(2))
    assert terms.push > 0


def test_no_anchor_gives_zero_loss_with_a_graph():
    emb = torch.randn(2, 5, 3, requires_grad=True)
    none = torch.zeros(2, 5, dtype=torch.bool)
    terms = aicl_loss(emb, none, none)
    assert terms.loss.item() == 0.0
    terms.loss.backward()


def test_topk_pool_ignores_padding():
    logits = torch.tensor([[1.0, 3.0, 2.0, 100.0], [5.0, -1.0, 0.0, 0.0]])
    valid = torch.tensor([[True, True, True, False], [True, True, True, True]])
    pooled = topk_pool(logits, valid, k_ratio=0.5)
    assert torch.allclose(pooled, torch.tensor([2.5, 2.5]))  # k = ceil(1.5)=2 of 3; k = 2 of 4


def test_mil_loss_prefers_correct_labels():
    valid = torch.ones(2, 8, dtype=torch.bool)
    logits = torch.full((2, 8), -3.0)
    logits[1, 2:4] = 4.0  # the fake video has a few high snippets
    labels = torch.tensor([0, 1])
    assert mil_loss(logits, valid, labels) < mil_loss(logits, valid, 1 - labels)


def test_reconstruction_loss_counts_masked_tokens_only():
    errors = torch.tensor([[[1.0, 9.0], [3.0, 9.0]]])
    masked = torch.tensor([[[True, False], [True, False]]])
    assert masked_reconstruction_loss(errors, masked).item() == 2.0


def test_snippet_bce_balances_the_two_sides():
    from forensicloc_rtdeeploc.losses import snippet_bce

    logits = torch.tensor([[4.0, -4.0, -4.0, -4.0, -4.0, -4.0]])
    pos = torch.tensor([[True, False, False, False, False, False]])
    neg = ~pos
    right = snippet_bce(logits, pos, neg)
    wrong = snippet_bce(-logits, pos, neg)
    assert right < 0.05 < wrong
    # one positive weighs as much as the five negatives together
    one_bad_pos = snippet_bce(torch.tensor([[-4.0, -4.0, -4.0, -4.0, -4.0, -4.0]]), pos, neg)
    assert one_bad_pos > 4.0
