"""Segmentation losses pinned on 2x2 tensors computed by hand (MONAI style).

Fixture: logits +-ln 3, so sigmoid gives p = 3/4 or 1/4 exactly:

    p = [[3/4, 1/4],     y = [[1, 0],
         [3/4, 1/4]]          [0, 0]]

    sum(p*y) = 3/4, sum(p) = 2, sum(y) = 1, sum(p^2) = 5/4, sum(y^2) = 1
    Jaccard (s=1): 1 - (3/4 + 1) / (2 + 1 - 3/4 + 1) = 1 - 7/13 = 6/13
    Dice    (s=1): 1 - (3/2 + 1) / (5/4 + 1 + 1)      = 1 - 10/13 = 3/13
    background (q = 1-p, z = 1-y): sum(qz) = 7/4, sum(q^2) = 5/4, sum(z^2) = 3
                   1 - (7/2 + 1) / (5/4 + 3 + 1)      = 1 - 6/7 = 1/7
    BCE: three pixels cost ln(4/3), the false-positive pixel ln 4 -> mean (3 ln(4/3) + ln 4) / 4
"""

from __future__ import annotations

import math

import pytest
import torch

from dermkit.errors import ConfigError
from dermkit.losses import (
    DiceLoss,
    bce_dice_loss,
    bce_loss,
    create_loss,
    dice_loss,
    jaccard_distance_loss,
    list_losses,
)

LN3 = math.log(3.0)
LOGITS = torch.tensor([[[[LN3, -LN3], [LN3, -LN3]]]], dtype=torch.float64)  # (1, 1, 2, 2)
TARGETS = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64)
BCE = (3 * math.log(4 / 3) + math.log(4)) / 4

CASES = [
    (jaccard_distance_loss, {}, 6 / 13),
    (dice_loss, {}, 3 / 13),
    (dice_loss, {"foreground_weight": 0.7, "background_weight": 0.3}, 0.7 * 3 / 13 + 0.3 / 7),
    (dice_loss, {"foreground_weight": 0.0, "background_weight": 1.0}, 1 / 7),
    (dice_loss, {"smooth": 0.0}, 1 - 1.5 / 2.25),
    (bce_loss, {}, BCE),
    (bce_dice_loss, {}, BCE + 3 / 13),
    (bce_dice_loss, {"bce_weight": 0.5, "dice_weight": 2.0}, 0.5 * BCE + 6 / 13),
]


@pytest.mark.parametrize("fn, kwargs, expected", CASES)
def test_hand_computed_values(fn, kwargs, expected):
    assert fn(LOGITS, TARGETS, **kwargs).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["jaccard", "dice", "weighted_dice", "bce", "bce_dice"])
def test_modules_match_functions(name):
    expected = {
        "jaccard": 6 / 13,
        "dice": 3 / 13,
        "weighted_dice": 0.7 * 3 / 13 + 0.3 / 7,
        "bce": BCE,
        "bce_dice": BCE + 3 / 13,
    }[name]
    assert create_loss(name)(LOGITS, TARGETS).item() == pytest.approx(expected, rel=1e-12)


def test_per_image_reduction():
    logits = torch.cat([LOGITS, torch.full_like(LOGITS, 20.0)])  # image 2: all lesion
    targets = torch.cat([TARGETS, torch.ones_like(TARGETS)])
    per_image = dice_loss(logits, targets, reduction="none")
    assert per_image.shape == (2,)
    assert per_image[0].item() == pytest.approx(3 / 13, rel=1e-12)
    assert per_image[1].item() == pytest.approx(0.0, abs=1e-8)
    assert dice_loss(logits, targets).item() == pytest.approx(per_image.mean().item())
    total = dice_loss(logits, targets, reduction="sum")
    assert total.item() == pytest.approx(per_image.sum().item())


@pytest.mark.parametrize("name", list_losses("segmentation"))
def test_perfect_prediction_is_near_zero(name):
    targets = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])  # 2nd empty
    logits = (targets * 2 - 1) * 30.0  # confident and right
    assert create_loss(name)(logits, targets).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", list_losses("segmentation"))
def test_gradients_flow(name):
    logits = LOGITS.clone().requires_grad_(True)
    create_loss(name)(logits, TARGETS).backward()
    assert logits.grad is not None
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # gradient descent direction: raise the lesion pixel's logit, lower the false positive's
    assert logits.grad[0, 0, 0, 0] < 0 and logits.grad[0, 0, 1, 0] > 0


@pytest.mark.parametrize("fn", [jaccard_distance_loss, dice_loss, bce_loss, bce_dice_loss])
def test_shape_mismatch_raises(fn):
    wrong_targets = r"targets must have the logits' shape \(1, 1, 2, 2\); got \(1, 2, 2\)"
    with pytest.raises(ValueError, match=wrong_targets):
        fn(LOGITS, TARGETS[:, 0])
    wrong_logits = r"logits must have shape \(B, 1, H, W\); got \(1, 2, 2, 2\)"
    with pytest.raises(ValueError, match=wrong_logits):
        fn(LOGITS.expand(1, 2, 2, 2), TARGETS.expand(1, 2, 2, 2))


def test_bad_reduction_and_integer_targets():
    with pytest.raises(ValueError, match="reduction must be one of"):
        dice_loss(LOGITS, TARGETS, reduction="avg")  # type: ignore[arg-type]
    # bool / integer masks are accepted and cast to the logits' dtype
    assert dice_loss(LOGITS, TARGETS.bool()).item() == pytest.approx(3 / 13, rel=1e-12)


def test_create_loss_errors_and_options():
    with pytest.raises(ConfigError, match="Did you mean 'dice'"):
        create_loss("dcie")
    with pytest.raises(ConfigError, match="unsupported option"):
        create_loss("jaccard", alpha=0.5)
    weighted = create_loss("weighted_dice", smooth=0.0)
    assert isinstance(weighted, DiceLoss)
    options = (weighted.foreground_weight, weighted.background_weight, weighted.smooth)
    assert options == (0.7, 0.3, 0.0)
    assert list_losses("segmentation") == ["bce", "bce_dice", "dice", "jaccard", "weighted_dice"]
    assert list_losses("classification") == ["cross_entropy", "focal"]
