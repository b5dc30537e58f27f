"""Classification losses pinned on a 2x3 logit tensor computed by hand.

Fixture (C = 3): logits row 0 = [ln 2, 0, 0] -> p = [1/2, 1/4, 1/4], target 0 -> p_t = 1/2;
                 logits row 1 = [0, ln 2, ln 5] -> p = [1/8, 1/4, 5/8], target 1 -> p_t = 1/4.

    CE per image      [ln 2, ln 4] = [1, 2] ln 2        mean 3/2 ln 2
    weights [1, 3, 1] weighted mean (1 * 1 + 3 * 2) / (1 + 3) ln 2 = 7/4 ln 2
    smoothing e = 0.3 l_i = (1 - e)(-log p_t) + e/3 * sum_c(-log p_c)
                      row 0: 0.7 ln 2 + 0.1 (1 + 2 + 2) ln 2 = 1.2 ln 2
                      row 1: 1.4 ln 2 + 0.1 (3 ln 2 + 2 ln 2 + ln 8 - ln 5) = 2.2 ln 2 - 0.1 ln 5
    focal gamma = 2   (1/2)^2 ln 2 = 1/4 ln 2,  (3/4)^2 ln 4 = 9/8 ln 2   mean 11/16 ln 2
    focal gamma = 1   1/2 ln 2, 3/4 * 2 ln 2 = 3/2 ln 2                   mean ln 2
    focal gamma = 2, alpha [1, 3, 1]: (1 * 1/4 + 3 * 9/8) / (1 + 3) ln 2 = 29/32 ln 2
"""

from __future__ import annotations

import math

import pytest
import torch

from dermkit.errors import ConfigError
from dermkit.losses import (
    CrossEntropyLoss,
    FocalLoss,
    create_loss,
    cross_entropy,
    focal_loss,
    list_losses,
)

LN2, LN5 = math.log(2.0), math.log(5.0)
LOGITS = torch.tensor([[LN2, 0.0, 0.0], [0.0, LN2, LN5]], dtype=torch.float64)  # (2, 3)
TARGETS = torch.tensor([0, 1])
WEIGHTS = [1.0, 3.0, 1.0]

CASES = [
    (cross_entropy, {}, 3 / 2 * LN2),
    (cross_entropy, {"reduction": "sum"}, 3 * LN2),
    (cross_entropy, {"class_weights": WEIGHTS}, 7 / 4 * LN2),
    (cross_entropy, {"class_weights": torch.tensor(WEIGHTS)}, 7 / 4 * LN2),
    (cross_entropy, {"class_weights": WEIGHTS, "reduction": "sum"}, 7 * LN2),
    (cross_entropy, {"label_smoothing": 0.3}, (3.4 * LN2 - 0.1 * LN5) / 2),
    (focal_loss, {}, 11 / 16 * LN2),
    (focal_loss, {"gamma": 1.0}, LN2),
    (focal_loss, {"gamma": 0.0}, 3 / 2 * LN2),
    (focal_loss, {"alpha": WEIGHTS}, 29 / 32 * LN2),
    (focal_loss, {"alpha": WEIGHTS, "reduction": "sum"}, 29 / 8 * LN2),
]


@pytest.mark.parametrize("fn, kwargs, expected", CASES)
def test_hand_computed_values(fn, kwargs, expected):
    assert fn(LOGITS, TARGETS, **kwargs).item() == pytest.approx(expected, rel=1e-12)


def test_reduction_none_is_per_image():
    plain = cross_entropy(LOGITS, TARGETS, reduction="none")
    assert plain.tolist() == pytest.approx([LN2, 2 * LN2])
    # "none" multiplies each image by its class weight (PyTorch's rule)
    weighted = cross_entropy(LOGITS, TARGETS, class_weights=WEIGHTS, reduction="none")
    assert weighted.tolist() == pytest.approx([LN2, 6 * LN2])
    focal = focal_loss(LOGITS, TARGETS, alpha=WEIGHTS, reduction="none")
    assert focal.tolist() == pytest.approx([LN2 / 4, 27 / 8 * LN2])


def test_weights_shift_the_loss_towards_the_weighted_class():
    # image 1 (class 1) is the badly classified one: up-weighting class 1 raises the loss,
    # up-weighting class 0 lowers it, scaling all weights changes nothing (weighted mean)
    base = cross_entropy(LOGITS, TARGETS).item()
    assert cross_entropy(LOGITS, TARGETS, class_weights=[1, 3, 1]).item() > base
    assert cross_entropy(LOGITS, TARGETS, class_weights=[3, 1, 1]).item() < base
    assert cross_entropy(LOGITS, TARGETS, class_weights=[5, 5, 5]).item() == pytest.approx(base)
    # a zero weight removes that class's images
    assert cross_entropy(LOGITS, TARGETS, class_weights=[0, 1, 1]).item() == pytest.approx(2 * LN2)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", [None, [0.5, 2.0, 1.0, 4.0]])
def test_focal_with_gamma_zero_is_cross_entropy(reduction, weights):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 4, generator=g, dtype=torch.float64) * 3
    targets = torch.randint(0, 4, (16,), generator=g)
    fl = focal_loss(logits, targets, gamma=0.0, alpha=weights, reduction=reduction)
    ce = cross_entropy(logits, targets, class_weights=weights, reduction=reduction)
    torch.testing.assert_close(fl, ce)


def test_focal_down_weights_easy_images():
    # an easy image (p_t ~ 0.98) loses far more of its loss than a hard one (p_t ~ 0.12)
    logits = torch.tensor([[4.0, 0.0], [-2.0, 0.0]])
    targets = torch.tensor([0, 0])
    ratio = focal_loss(logits, targets, reduction="none") / cross_entropy(logits, targets, reduction="none")
    assert ratio[0] < 1e-3 and ratio[1] > 0.75


def test_modules_match_functions_and_registry():
    assert {"cross_entropy", "focal"} <= set(list_losses())
    assert create_loss("cross_entropy")(LOGITS, TARGETS).item() == pytest.approx(3 / 2 * LN2)
    ce = create_loss("cross_entropy", class_weights=WEIGHTS, label_smoothing=0.0)
    assert isinstance(ce, CrossEntropyLoss)
    assert ce(LOGITS, TARGETS).item() == pytest.approx(7 / 4 * LN2)
    fl = create_loss("focal", gamma=2.0, class_weights=torch.tensor(WEIGHTS))
    assert isinstance(fl, FocalLoss)
    assert fl(LOGITS, TARGETS).item() == pytest.approx(29 / 32 * LN2)
    assert FocalLoss(gamma=1.0)(LOGITS, TARGETS).item() == pytest.approx(LN2)


@pytest.mark.parametrize("cls", [CrossEntropyLoss, FocalLoss])
def test_class_weights_are_a_buffer(cls):
    module = cls(class_weights=[1, 2, 3])
    assert dict(module.named_buffers())["class_weights"].tolist() == [1.0, 2.0, 3.0]
    assert "class_weights" in module.state_dict()
    moved = module.to(torch.float64)  # .to(device) moves buffers the same way
    assert moved.class_weights.dtype == torch.float64
    assert cls()(LOGITS, TARGETS).shape == ()
    assert dict(cls().named_buffers()) == {}  # no weights: no buffer


def test_gradients_are_finite():
    logits = LOGITS.clone().requires_grad_(True)
    loss = focal_loss(logits, TARGETS, alpha=WEIGHTS) + cross_entropy(
        logits, TARGETS, class_weights=WEIGHTS, label_smoothing=0.1
    )
    loss.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    "logits, targets, kwargs, match",
    [
        (LOGITS[0], TARGETS, {}, r"shape \(B, C\)"),
        (LOGITS, torch.tensor([[1, 0, 0], [0, 1, 0]]), {}, "one-hot"),
        (LOGITS, TARGETS.double(), {}, "integer class indices"),
        (LOGITS, torch.tensor([0, 3]), {}, r"\[0, 3\)"),
        (LOGITS, TARGETS, {"class_weights": [1.0, 2.0]}, "one value per class"),
        (LOGITS, TARGETS, {"class_weights": [1.0, -1.0, 1.0]}, "non-negative"),
        (LOGITS, TARGETS, {"label_smoothing": 1.0}, "label_smoothing"),
        (LOGITS, TARGETS, {"reduction": "avg"}, "reduction"),
    ],
)
def test_validation(logits, targets, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cross_entropy(logits, targets, **kwargs)


def test_focal_validation_and_registry_errors():
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(LOGITS, TARGETS, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(gamma=-1.0)
    with pytest.raises(ConfigError, match="Did you mean 'focal'"):
        create_loss("focall")
    with pytest.raises(ConfigError, match="unsupported option"):
        create_loss("focal", alpha=[1.0])
