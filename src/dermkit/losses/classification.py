"""Multiclass classification losses: a functional core on logits, thin modules holding options.

Task mode: **multiclass** (one label per image). Every loss takes

* ``logits``  ``(B, C)`` float: raw class scores (``ClassificationOutput.class_logits``);
  the softmax is applied here, never in the model;
* ``targets`` ``(B,)`` integer class indices in ``[0, C)``,

and reduces over the batch with ``reduction``: ``"mean"`` (default, a scalar), ``"sum"``
(a scalar) or ``"none"`` (shape ``(B,)``).

Class weights (``w``, shape ``(C,)``, a list or a tensor) follow PyTorch's
``nn.CrossEntropyLoss``: sample ``i`` is weighted by ``w[y_i]`` and ``"mean"`` is the
**weighted mean** ``sum_i w[y_i] l_i / sum_i w[y_i]``. Keras' ``class_weight`` (S4's setting)
divides by ``B`` instead; with S4's weights ``W_c = N / (C N_c)`` the weights of a whole
epoch sum to ``N``, so the two normalisers agree over an epoch and differ only batch by batch.
The weights themselves are computed from the training labels elsewhere
(``dermkit.data.sampling.class_weights``) and passed in.

Conventions (``p = softmax(logits)``, ``p_t = p[i, y_i]``):

* Cross-entropy: ``l_i = -log p_t``; ``label_smoothing = e`` replaces the one-hot target by
  ``(1 - e) onehot + e / C`` (PyTorch's rule).
* Focal loss (Lin et al. 2017, softmax form): ``l_i = -(1 - p_t)^gamma log p_t``, weighted
  by ``alpha[y_i]`` when per-class weights are given. ``"mean"`` is the plain mean without
  weights (the paper) and the weighted mean with them, so ``gamma = 0`` is exactly the
  (weighted) cross-entropy above.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dermkit.losses._functional import check_reduction, reduce
from dermkit.losses.registry import LOSSES

Reduction = Literal["mean", "sum", "none"]
ClassWeights = Sequence[float] | Tensor | None


def _check(logits: Tensor, targets: Tensor, reduction: str) -> None:
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, C); got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor; got dtype {logits.dtype}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(
            f"targets must have shape (B,) = ({logits.shape[0]},); got {tuple(targets.shape)}. "
            "Pass class indices, not one-hot vectors (targets.argmax(1))."
        )
    if targets.is_floating_point() or targets.dtype == torch.bool:
        raise ValueError(f"targets must be integer class indices; got dtype {targets.dtype}")
    num_classes = logits.shape[1]
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ValueError(
            f"targets must be in [0, {num_classes}); got range [{int(targets.min())}, {int(targets.max())}]"
        )
    check_reduction(reduction)


def _as_weights(class_weights: ClassWeights, logits: Tensor) -> Tensor | None:
    """``(C,)`` weights on the logits' device and dtype, validated; None stays None."""
    if class_weights is None:
        return None
    w = torch.as_tensor(class_weights).to(device=logits.device, dtype=logits.dtype)
    if w.shape != (logits.shape[1],):
        raise ValueError(
            f"class_weights must have one value per class, shape ({logits.shape[1]},); got {tuple(w.shape)}"
        )
    if bool((w < 0).any()):
        raise ValueError(f"class_weights must be non-negative; got {w.tolist()}")
    return w


def cross_entropy(
    logits: Tensor,
    targets: Tensor,
    class_weights: ClassWeights = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """(Class-weighted, label-smoothed) softmax cross-entropy.

    Args:
        logits: ``(B, C)`` raw scores.
        targets: ``(B,)`` int class indices.
        class_weights: ``(C,)`` per-class weights (list or tensor), e.g. S4's
            ``N / (C N_c)``. Default None (all 1).
        label_smoothing: ``e`` in ``[0, 1)``; the target becomes ``(1 - e) onehot + e / C``.
            Default 0.
        reduction: ``"mean"`` (weighted mean, see the module docstring), ``"sum"`` or
            ``"none"`` (per image, ``(B,)``, each multiplied by its class weight).

    Returns:
        The loss, as ``torch.nn.functional.cross_entropy`` computes it.
    """
    _check(logits, targets, reduction)
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing}")
    return F.cross_entropy(
        logits,
        targets.long(),
        weight=_as_weights(class_weights, logits),
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def focal_loss(
    logits: Tensor,
    targets: Tensor,
    gamma: float = 2.0,
    alpha: ClassWeights = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Multiclass (softmax) focal loss, Lin et al. 2017: ``-alpha_t (1 - p_t)^gamma log p_t``.

    Args:
        logits: ``(B, C)`` raw scores.
        targets: ``(B,)`` int class indices.
        gamma: Focusing parameter ``>= 0``; 0 gives cross-entropy. Default 2 (the paper).
        alpha: ``(C,)`` per-class weights (list or tensor) or None (no weighting).
        reduction: ``"mean"`` (plain mean without ``alpha``, weighted mean
            ``sum alpha_t l / sum alpha_t`` with it), ``"sum"`` or ``"none"`` (``(B,)``).

    Returns:
        The loss; with ``gamma = 0`` it equals :func:`cross_entropy` with
        ``class_weights=alpha`` for every reduction.
    """
    _check(logits, targets, reduction)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0; got {gamma}")
    t = targets.long()
    log_pt = F.log_softmax(logits, dim=1).gather(1, t[:, None]).squeeze(1)  # (B,)
    # 1 - p_t via expm1 keeps precision when p_t is close to 1 (well-classified images)
    per_image = -((-torch.expm1(log_pt)) ** gamma) * log_pt  # (B,)
    w = _as_weights(alpha, logits)
    if w is None:
        return reduce(per_image, reduction)
    w_t = w[t]  # (B,)
    if reduction == "mean":
        return (w_t * per_image).sum() / w_t.sum()
    return reduce(w_t * per_image, reduction)


# --- thin modules: options only ---------------------------------------------------------------


@LOSSES.register("cross_entropy", task="classification")
class CrossEntropyLoss(nn.Module):
    """Module form of :func:`cross_entropy`; ``class_weights`` is a buffer (moves with ``.to``)."""

    class_weights: Tensor | None

    def __init__(
        self,
        class_weights: ClassWeights = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.register_buffer("class_weights", weights)
        self.label_smoothing = label_smoothing
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return cross_entropy(logits, targets, self.class_weights, self.label_smoothing, self.reduction)


@LOSSES.register("focal", task="classification")
class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`; ``class_weights`` (alpha) is a buffer."""

    class_weights: Tensor | None

    def __init__(
        self,
        gamma: float = 2.0,
        class_weights: ClassWeights = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0; got {gamma}")
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.register_buffer("class_weights", weights)
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return focal_loss(logits, targets, self.gamma, self.class_weights, self.reduction)
