"""Per-image Jaccard and Dice of a torch batch, for training loops (the ISIC conventions of
:mod:`dermkit.metrics.segmentation`, on tensors).

Kept apart from the numpy metrics so that ``dermkit.metrics`` imports without torch (the ONNX
package's runtime scores and calibrates with it on machines that have no PyTorch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class BatchStats:
    """Per-image counts and overlap scores of one batch, each a ``(B,)`` tensor.

    ``jaccard`` and ``dice`` follow the ISIC conventions (1.0 for empty truth and
    prediction), so averaging them over an epoch gives the scorer's macro means.
    """

    tp: Tensor
    fp: Tensor
    fn: Tensor
    tn: Tensor
    jaccard: Tensor
    dice: Tensor


@torch.no_grad()
def batch_stats(logits: Tensor, targets: Tensor, threshold: float = 0.5) -> BatchStats:
    """Per-image Jaccard and Dice of thresholded predictions, for training loops.

    Args:
        logits: ``(B, 1, H, W)`` raw scores; a pixel is lesion when
            ``sigmoid(logit) > threshold``.
        targets: ``(B, 1, H, W)`` in ``{0, 1}`` (values ``> 0.5`` count as lesion).
        threshold: Probability threshold in ``(0, 1)``. Default 0.5.

    Returns:
        :class:`BatchStats` with ``(B,)`` tensors (counts as int64, scores as float64).

    Raises:
        ValueError: Bad shapes or threshold.
    """
    if logits.ndim != 4 or logits.shape[1] != 1:
        raise ValueError(f"logits must have shape (B, 1, H, W); got {tuple(logits.shape)}")
    if targets.shape != logits.shape:
        raise ValueError(f"targets must have the logits' shape {tuple(logits.shape)}; got {tuple(targets.shape)}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1); got {threshold}")
    pred = torch.sigmoid(logits.float()) > threshold  # (B, 1, H, W)
    truth = targets > 0.5  # (B, 1, H, W)
    tp = (pred & truth).flatten(1).sum(1)  # (B,)
    fp = (pred & ~truth).flatten(1).sum(1)
    fn = (~pred & truth).flatten(1).sum(1)
    tn = pred[0].numel() - tp - fp - fn
    errors = (fp + fn).double()
    empty = (tp + fp + fn) == 0  # empty truth predicted empty: perfect, as the scorer says
    jac = torch.where(empty, 1.0, tp.double() / (tp.double() + errors).clamp_min(1))
    dic = torch.where(empty, 1.0, 2 * tp.double() / (2 * tp.double() + errors).clamp_min(1))
    return BatchStats(tp=tp, fp=fp, fn=fn, tn=tn, jaccard=jac, dice=dic)
