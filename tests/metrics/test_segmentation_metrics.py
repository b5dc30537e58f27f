"""Segmentation metrics on hand-computable 4x4 masks, with the ISIC scorer's conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dermkit.metrics import (
    Confusion,
    confusion,
    dice,
    jaccard,
    pixel_accuracy,
    precision,
    score_masks,
    sensitivity,
    specificity,
    threshold_jaccard,
)
from dermkit.metrics.segmentation_batch import batch_stats


def mask(rows: str) -> np.ndarray:
    """'11..' rows -> bool array."""
    return np.array([[c == "1" for c in row] for row in rows.split()], dtype=bool)


TRUTH = mask("1100 1100 0000 0000")
PRED = mask("1110 1000 0000 0000")  # TP 3, FP 1, FN 1, TN 11
EMPTY = np.zeros((4, 4), dtype=bool)
FULL = np.ones((4, 4), dtype=bool)
TWO = mask("0000 0110 0000 0000")

METRICS = (jaccard, dice, pixel_accuracy, sensitivity, specificity, precision)

CASES = [
    # pred, truth, (jaccard, dice, accuracy, sensitivity, specificity, precision)
    pytest.param(PRED, TRUTH, (3 / 5, 6 / 8, 14 / 16, 3 / 4, 11 / 12, 3 / 4), id="overlap"),
    pytest.param(TRUTH, TRUTH, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0), id="perfect"),
    # empty truth and empty prediction: every metric is perfect (ISIC convention)
    pytest.param(EMPTY, EMPTY, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0), id="both-empty"),
    # false alarm on an empty truth: overlap 0, sensitivity is a freebie
    pytest.param(TWO, EMPTY, (0.0, 0.0, 14 / 16, 1.0, 14 / 16, 0 / 2), id="empty-truth"),
    # missed lesion: precision is a freebie (no predicted positives)
    pytest.param(EMPTY, TRUTH, (0.0, 0.0, 12 / 16, 0 / 4, 12 / 12, 1.0), id="empty-pred"),
    # all-lesion truth: specificity is a freebie (no negatives)
    pytest.param(TRUTH, FULL, (4 / 16, 8 / 20, 4 / 16, 4 / 16, 1.0, 4 / 4), id="full-truth"),
]


@pytest.mark.parametrize("pred, truth, expected", CASES)
def test_metrics_on_4x4_masks(pred, truth, expected):
    got = tuple(metric(pred, truth) for metric in METRICS)
    assert got == pytest.approx(expected, abs=1e-12)


def test_confusion_counts():
    assert confusion(PRED, TRUTH) == Confusion(tp=3, fp=1, fn=1, tn=11)
    assert confusion(PRED, TRUTH) == (3, 1, 1, 11)


def test_uint8_masks_are_binarised_above_128():
    truth = TRUTH.astype(np.uint8) * 255
    pred = np.where(PRED, 129, 0).astype(np.uint8)
    pred[3, 3] = 128  # not lesion: > 128 is the rule
    assert confusion(pred, truth) == Confusion(3, 1, 1, 11)


def test_bad_masks_are_rejected():
    with pytest.raises(ValueError, match=r"values in \{0, 1\}; expected 0-255"):
        confusion(PRED.astype(np.uint8), TRUTH)
    with pytest.raises(ValueError, match="must be bool or uint8.*got dtype float64"):
        confusion(PRED.astype(float), TRUTH)
    with pytest.raises(ValueError, match=r"same shape; got \(4, 4\) and \(4, 3\)"):
        confusion(PRED, TRUTH[:, :3])


def test_threshold_jaccard():
    values = threshold_jaccard([0.2, 0.6499, 0.65, 0.9])
    np.testing.assert_array_equal(values, [0.0, 0.0, 0.65, 0.9])
    np.testing.assert_array_equal(threshold_jaccard([0.5, 0.7], threshold=0.5), [0.5, 0.7])


def test_score_masks_macro_averages():
    scores = score_masks([PRED, EMPTY, TRUTH], [TRUTH, TRUTH, TRUTH], ["a", "b", "c"])
    assert list(scores.per_image.index) == ["a", "b", "c"]
    assert scores.per_image.loc["a", ["tp", "fp", "fn", "tn"]].tolist() == [3, 1, 1, 11]
    assert scores.jaccard == pytest.approx((3 / 5 + 0 + 1) / 3)
    assert scores.threshold_jaccard == pytest.approx((0 + 0 + 1) / 3)  # 3/5 < 0.65 -> 0
    assert scores.dice == pytest.approx((6 / 8 + 0 + 1) / 3)
    assert scores.accuracy == pytest.approx((14 / 16 + 12 / 16 + 1) / 3)
    assert scores.sensitivity == pytest.approx((3 / 4 + 0 + 1) / 3)
    assert scores.specificity == pytest.approx((11 / 12 + 1 + 1) / 3)
    assert scores.precision == pytest.approx((3 / 4 + 1 + 1) / 3)
    assert list(scores.means()) == [
        "jaccard",
        "threshold_jaccard",
        "dice",
        "accuracy",
        "sensitivity",
        "specificity",
        "precision",
    ]


def test_score_masks_validation():
    with pytest.raises(ValueError, match="same length; got 1, 2 and 2"):
        score_masks([PRED], [TRUTH, TRUTH], ["a", "b"])
    with pytest.raises(ValueError, match="repeated: a"):
        score_masks([PRED, PRED], [TRUTH, TRUTH], ["a", "a"])
    wrong_shape = r"ISIC_0000001: prediction has shape \(4, 3\); expected \(4, 4\)"
    with pytest.raises(ValueError, match=wrong_shape):
        score_masks([PRED[:, :3]], [TRUTH], ["ISIC_0000001"])
    with pytest.raises(ValueError, match="no images"):
        score_masks([], [], [])


def test_batch_stats_match_numpy_metrics():
    preds = [PRED, EMPTY, EMPTY, TWO]
    truths = [TRUTH, TRUTH, EMPTY, EMPTY]
    logits = torch.tensor(np.stack(preds), dtype=torch.float32)[:, None] * 8 - 4  # (4, 1, 4, 4)
    targets = torch.tensor(np.stack(truths), dtype=torch.float32)[:, None]
    stats = batch_stats(logits, targets)
    assert stats.tp.tolist() == [3, 0, 0, 0] and stats.tn.tolist() == [11, 12, 16, 14]
    assert stats.jaccard.tolist() == pytest.approx([3 / 5, 0.0, 1.0, 0.0])
    assert stats.dice.tolist() == pytest.approx([6 / 8, 0.0, 1.0, 0.0])
    assert stats.jaccard.tolist() == pytest.approx([jaccard(p, t) for p, t in zip(preds, truths, strict=True)])
    # threshold moves the decision: at 0.99 the sigmoid(4) = 0.982 pixels are background
    assert batch_stats(logits, targets, threshold=0.99).tp.tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match=r"targets must have the logits' shape"):
        batch_stats(logits, targets[:, 0])
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        batch_stats(logits, targets, threshold=1.0)


masks_4x4 = arrays(np.bool_, (4, 4))


@settings(max_examples=200, deadline=None)
@given(pred=masks_4x4, truth=masks_4x4)
def test_dice_is_never_below_jaccard(pred, truth):
    j, d = jaccard(pred, truth), dice(pred, truth)
    assert d >= j
    assert d == pytest.approx(2 * j / (1 + j), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(shape=st.tuples(st.integers(1, 12), st.integers(1, 12)), data=st.data())
def test_dice_jaccard_identity_on_any_shape(shape, data):
    pred = data.draw(arrays(np.bool_, shape))
    truth = data.draw(arrays(np.bool_, shape))
    j, d = jaccard(pred, truth), dice(pred, truth)
    assert 0.0 <= j <= d <= 1.0
    assert d == pytest.approx(2 * j / (1 + j), abs=1e-12)
