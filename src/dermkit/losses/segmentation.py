"""Binary segmentation losses: a functional core on logits, thin modules holding options.

Task mode: **binary** only. Every loss takes

* ``logits``  ``(B, 1, H, W)`` float: raw model output (``SegmentationOutput.mask_logits``);
  the sigmoid is applied here, never in the model;
* ``targets`` ``(B, 1, H, W)``: lesion mask in ``{0, 1}`` (bool, int or float; soft labels
  in ``[0, 1]`` also work),

computes one value per image, and reduces over the batch with ``reduction``:
``"mean"`` (default, a scalar), ``"sum"`` (a scalar) or ``"none"`` (shape ``(B,)``).
Per-image values keep a large lesion from drowning a small one in the same batch.

Conventions (``p = sigmoid(logits)``, sums over the pixels of one image, ``s`` = smoothing):

* Jaccard distance (S2): ``1 - (sum(p*y) + s) / (sum(p) + sum(y) - sum(p*y) + s)``.
  keras-contrib's ``jaccard_distance`` (s = 100, result multiplied by s) only rescales this.
* Dice (S3): ``1 - (2 sum(p*y) + s) / (sum(p^2) + sum(y^2) + s)`` (squared denominators,
  s = 1). The weighted form adds the same loss on the background (``1 - p`` vs ``1 - y``):
  ``w_fg * dice(p, y) + w_bg * dice(1 - p, 1 - y)``; S3 uses 0.7 and 0.3.
* Empty ground truth: both overlap losses tend to 0 as ``p -> 0`` thanks to ``s``
  (a perfect empty prediction is not punished).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dermkit.losses._functional import check_reduction, reduce
from dermkit.losses.registry import LOSSES

Reduction = Literal["mean", "sum", "none"]


def _prepare(logits: Tensor, targets: Tensor, reduction: str) -> Tensor:
    """Validate shapes/reduction; return targets as logits' float dtype."""
    if logits.ndim != 4 or logits.shape[1] != 1:
        raise ValueError(f"logits must have shape (B, 1, H, W); got {tuple(logits.shape)}")
    if targets.shape != logits.shape:
        raise ValueError(
            f"targets must have the logits' shape {tuple(logits.shape)}; got "
            f"{tuple(targets.shape)}. Add the channel dimension with targets.unsqueeze(1)."
        )
    if not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor; got dtype {logits.dtype}")
    check_reduction(reduction)
    return targets.to(dtype=logits.dtype)


def _soft_dice(p: Tensor, y: Tensor, smooth: float) -> Tensor:
    """Per-image soft Dice loss with squared denominators; p, y (B, 1, H, W) -> (B,)."""
    intersection = (p * y).flatten(1).sum(1)  # (B,)
    denominator = (p * p).flatten(1).sum(1) + (y * y).flatten(1).sum(1)  # (B,)
    return 1.0 - (2.0 * intersection + smooth) / (denominator + smooth)


def jaccard_distance_loss(
    logits: Tensor, targets: Tensor, smooth: float = 1.0, reduction: Reduction = "mean"
) -> Tensor:
    """Soft Jaccard distance (S2's loss), per image.

    Args:
        logits: ``(B, 1, H, W)`` raw scores.
        targets: ``(B, 1, H, W)`` in ``{0, 1}``.
        smooth: Added to numerator and denominator. Default 1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per image, ``(B,)``).

    Returns:
        ``1 - (|P∩Y| + s) / (|P∪Y| + s)`` with soft ``P = sigmoid(logits)``.
    """
    y = _prepare(logits, targets, reduction)
    p = torch.sigmoid(logits)
    intersection = (p * y).flatten(1).sum(1)  # (B,)
    union = p.flatten(1).sum(1) + y.flatten(1).sum(1) - intersection  # (B,)
    return reduce(1.0 - (intersection + smooth) / (union + smooth), reduction)


def dice_loss(
    logits: Tensor,
    targets: Tensor,
    smooth: float = 1.0,
    foreground_weight: float = 1.0,
    background_weight: float = 0.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """Soft Dice loss with squared denominators, optionally weighted with the background term.

    Args:
        logits: ``(B, 1, H, W)`` raw scores.
        targets: ``(B, 1, H, W)`` in ``{0, 1}``.
        smooth: Added to numerator and denominator. Default 1 (S3).
        foreground_weight: Weight of the lesion Dice loss. Default 1 (S3: 0.7).
        background_weight: Weight of the background Dice loss on ``1 - p`` vs ``1 - y``.
            Default 0 (S3: 0.3).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per image, ``(B,)``).

    Returns:
        ``w_fg * dice(p, y) + w_bg * dice(1 - p, 1 - y)``, ``dice(a, b) =
        1 - (2 sum(ab) + s) / (sum(a^2) + sum(b^2) + s)``.
    """
    y = _prepare(logits, targets, reduction)
    p = torch.sigmoid(logits)
    loss = foreground_weight * _soft_dice(p, y, smooth)
    if background_weight:
        loss = loss + background_weight * _soft_dice(1.0 - p, 1.0 - y, smooth)
    return reduce(loss, reduction)


def bce_loss(logits: Tensor, targets: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Binary cross-entropy on logits, averaged over each image's pixels.

    Args:
        logits: ``(B, 1, H, W)`` raw scores.
        targets: ``(B, 1, H, W)`` in ``{0, 1}``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per image, ``(B,)``).
    """
    y = _prepare(logits, targets, reduction)
    per_pixel = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return reduce(per_pixel.flatten(1).mean(1), reduction)


def bce_dice_loss(
    logits: Tensor,
    targets: Tensor,
    bce_weight: float = 1.0,
    dice_weight: float = 1.0,
    smooth: float = 1.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """``bce_weight * bce_loss + dice_weight * dice_loss`` (foreground Dice only).

    Args:
        logits: ``(B, 1, H, W)`` raw scores.
        targets: ``(B, 1, H, W)`` in ``{0, 1}``.
        bce_weight: Weight of the cross-entropy term. Default 1.
        dice_weight: Weight of the Dice term. Default 1.
        smooth: Dice smoothing. Default 1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per image, ``(B,)``).
    """
    bce = bce_loss(logits, targets, reduction="none")
    dice = dice_loss(logits, targets, smooth=smooth, reduction="none")
    return reduce(bce_weight * bce + dice_weight * dice, reduction)


# --- thin modules: options only ---------------------------------------------------------------


@LOSSES.register("jaccard", task="segmentation")
class JaccardDistanceLoss(nn.Module):
    """Module form of :func:`jaccard_distance_loss`."""

    def __init__(self, smooth: float = 1.0, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.smooth = smooth
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return jaccard_distance_loss(logits, targets, self.smooth, self.reduction)


@LOSSES.register("dice", task="segmentation")
class DiceLoss(nn.Module):
    """Module form of :func:`dice_loss` (``DiceLoss(0.7, 0.3)`` is S3's weighted Dice)."""

    def __init__(
        self,
        foreground_weight: float = 1.0,
        background_weight: float = 0.0,
        smooth: float = 1.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        self.foreground_weight = foreground_weight
        self.background_weight = background_weight
        self.smooth = smooth
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return dice_loss(
            logits,
            targets,
            smooth=self.smooth,
            foreground_weight=self.foreground_weight,
            background_weight=self.background_weight,
            reduction=self.reduction,
        )


@LOSSES.register("bce", task="segmentation")
class BinaryCrossEntropyLoss(nn.Module):
    """Module form of :func:`bce_loss` (takes logits)."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return bce_loss(logits, targets, self.reduction)


@LOSSES.register("bce_dice", task="segmentation")
class BCEDiceLoss(nn.Module):
    """Module form of :func:`bce_dice_loss`."""

    def __init__(
        self,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        smooth: float = 1.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        self.bce_weight = bce_weight
        self.dice_weight = dice_weight
        self.smooth = smooth
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return bce_dice_loss(logits, targets, self.bce_weight, self.dice_weight, self.smooth, self.reduction)


@LOSSES.register("weighted_dice", task="segmentation")
def weighted_dice(**kwargs: float | str) -> DiceLoss:
    """S3's preset: :class:`DiceLoss` with lesion weight 0.7 and background weight 0.3."""
    options: dict = {"foreground_weight": 0.7, "background_weight": 0.3, **kwargs}
    return DiceLoss(**options)
