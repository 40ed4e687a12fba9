"""The training losses against values computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from bgmatch.training.losses import (
    hardest_negative_ranking_loss,
    masked_mse,
    match_classifier_loss,
    multilabel_bce,
    pick_negatives,
    symmetric_info_nce,
    triplet_text_loss,
)


def test_hardest_negative_ranking_loss_by_hand():
    sim = torch.tensor([[0.9, 0.5], [0.8, 0.3]])
    # video→music: row 0: [0.2 + 0.5 − 0.9]₊ = 0, row 1: [0.2 + 0.8 − 0.3]₊ = 0.7 → mean 0.35
    # music→video: col 0: [0.2 + 0.8 − 0.9]₊ = 0.1, col 1: [0.2 + 0.5 − 0.3]₊ = 0.4 → mean 0.25
    assert hardest_negative_ranking_loss(sim, margin=0.2).item() == pytest.approx(0.6)


def test_ranking_loss_takes_the_hardest_negative_and_skips_other_positives():
    sim = torch.tensor([[1.0, 0.9, 0.1], [0.2, 1.0, 0.3], [0.0, 0.0, 1.0]])
    # Row 0's hardest negative is column 1 (0.1 + 0.9 − 1.0 = 0.0 → [·]₊ with margin 0.1 = 0.0).
    loss = hardest_negative_ranking_loss(sim, margin=0.1)
    v2m = [0.0, max(0.1 + 0.3 - 1.0, 0.1 + 0.2 - 1.0, 0), 0.0]
    m2v = [max(0.1 + 0.2 - 1.0, 0), max(0.1 + 0.9 - 1.0, 0), max(0.1 + 0.3 - 1.0, 0)]
    assert loss.item() == pytest.approx(sum(v2m) / 3 + sum(m2v) / 3)
    # Items 0 and 1 share their music: 0.9 is then a true pair, not a violation.
    same = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    high_margin = hardest_negative_ranking_loss(sim, margin=0.5, positive_mask=same)
    expected_v2m = [0.5 + 0.1 - 1.0, 0.5 + 0.3 - 1.0, 0.5 + 0.0 - 1.0]
    expected_m2v = [0.5 + 0.0 - 1.0, 0.5 + 0.0 - 1.0, 0.5 + 0.3 - 1.0]
    expected = sum(max(x, 0) for x in expected_v2m) / 3 + sum(max(x, 0) for x in expected_m2v) / 3
    assert high_margin.item() == pytest.approx(expected)


def test_symmetric_info_nce_by_hand():
    sim = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    rows = (math.log(1 + math.exp(-2.0)) + math.log(2.0)) / 2  # video→music
    cols = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(-1.0))) / 2  # music→video
    assert symmetric_info_nce(sim, temperature=1.0).item() == pytest.approx(0.5 * (rows + cols))
    assert symmetric_info_nce(sim, temperature=0.5).item() == pytest.approx(
        symmetric_info_nce(sim * 2.0, temperature=1.0).item())


def test_info_nce_leaves_other_true_pairs_out_of_the_denominator():
    sim = torch.tensor([[1.0, 5.0], [5.0, 1.0]])
    both_same_music = torch.ones(2, 2, dtype=torch.bool)
    assert symmetric_info_nce(sim, temperature=1.0, positive_mask=both_same_music).item() == pytest.approx(0.0)


def test_triplet_text_loss_by_hand():
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    prediction = torch.tensor([[1.0, 1.0], [0.0, 2.0]])  # cos: row 0 → (0.7071, 0.7071), row 1 → (0, 1)
    loss = triplet_text_loss(prediction, text, margin=0.2)
    assert loss.item() == pytest.approx((0.2 - 0.70710678 + 0.70710678 + max(0.2 - 1.0 + 0.0, 0)) / 2)
    same = torch.ones(2, 2, dtype=torch.bool)  # identical tag sets: no negatives, no loss
    assert triplet_text_loss(prediction, text, margin=0.2, same_text=same).item() == 0.0


def test_classifier_bce_and_masked_means():
    zero = torch.zeros(3)
    assert match_classifier_loss(zero, zero).item() == pytest.approx(math.log(2))
    only_valid = match_classifier_loss(torch.full((2,), 50.0), torch.tensor([-50.0, 50.0]), torch.tensor([True, False]))
    assert only_valid.item() == pytest.approx(0.0, abs=1e-6)
    logits = torch.zeros(1, 2, 3)
    targets = torch.ones(1, 2, 3)
    targets[0, 1] = 0.0
    mask = torch.tensor([[True, False]])
    assert multilabel_bce(logits, targets, mask).item() == pytest.approx(math.log(2))
    prediction, target = torch.zeros(1, 2, 2), torch.tensor([[[1.0, 1.0], [3.0, 3.0]]])
    assert masked_mse(prediction, target, mask).item() == pytest.approx(1.0)
    assert masked_mse(prediction, target).item() == pytest.approx(5.0)


@pytest.mark.parametrize("mode", ["hardest", "random"])
def test_negatives_are_never_true_pairs(mode):
    """The released code's "negatives" were its positives; ours never are."""
    torch.manual_seed(0)
    keys = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    positives = keys[:, None] == keys[None, :]
    generator = torch.Generator().manual_seed(1)
    for _ in range(20):
        sim = torch.randn(7, 7)
        sim[positives] += 10.0  # make true pairs the most similar: the hardest negative must skip them
        index, valid = pick_negatives(sim, positive_mask=positives, mode=mode, generator=generator)
        assert valid.all()
        assert not positives[torch.arange(7), index].any()
    index, valid = pick_negatives(torch.zeros(2, 2), positive_mask=torch.ones(2, 2, dtype=torch.bool))
    assert not valid.any() and index.tolist() == [0, 1]
