"""Test-time augmentation: one set of views and one averaging rule for every task.

A view is a flip (of the height and/or width axis) followed by a number of quarter turns. For a
segmenter the prediction of each view is mapped back (turns undone, then the flip) before
averaging; a classifier's logits need no mapping. Which views a recipe uses:

- segmentation: the 4 flips (lesion probabilities averaged);
- classification: the 8 dihedral views for square inputs, the 4 flips otherwise (a quarter
  turn would change the size); logits averaged, so that temperature scaling applies afterwards
  and the calibration fitted on validation logits made the same way matches.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from dermkit.models.contract import classify
from dermkit.preprocess.views import DIHEDRAL_VIEWS, FLIP_VIEWS, IDENTITY, View, tta_views

__all__ = [
    "DIHEDRAL_VIEWS",
    "FLIP_VIEWS",
    "IDENTITY",
    "View",
    "apply_view",
    "average_views",
    "tta_class_logits",
    "tta_mask_proba",
    "tta_views",
    "undo_view",
]


def apply_view(x: Tensor, view: View) -> Tensor:
    """(B, C, H, W) -> the batch as seen in ``view`` (flip, then turns)."""
    dims, turns = view
    x = torch.flip(x, dims) if dims else x
    return torch.rot90(x, turns, (2, 3)) if turns else x


def undo_view(y: Tensor, view: View) -> Tensor:
    """Map a spatial prediction made on ``apply_view(x, view)`` back to ``x``'s frame."""
    dims, turns = view
    y = torch.rot90(y, -turns, (2, 3)) if turns else y
    return torch.flip(y, dims) if dims else y


def average_views(
    fn: Callable[[Tensor], Tensor], x: Tensor, views: tuple[View, ...], spatial: bool, batched: bool = False
) -> Tensor:
    """Mean of ``fn`` over ``views`` of ``x``.

    Args:
        fn: batch -> prediction, (B, ...) for a batch of B.
        x: (B, C, H, W) input batch.
        views: from :func:`tta_views`.
        spatial: the prediction is a map to be mapped back with :func:`undo_view`.
        batched: run all views as one batch (one forward pass; needs ``len(views)`` times the
            memory, fine for single images), else one pass per view.
    """
    if batched:
        out = fn(torch.cat([apply_view(x, v) for v in views]))
        parts = out.split(len(x))
    else:
        parts = [fn(apply_view(x, v)) for v in views]
    if spatial:
        parts = [undo_view(p, v) for p, v in zip(parts, views, strict=True)]
    return torch.stack(list(parts)).mean(0)


def _autocast(images: Tensor, dtype: torch.dtype | None):
    """Autocast the forward passes to ``dtype`` (None: full precision); outputs are made float32 again."""
    return torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None)


@torch.no_grad()
def tta_mask_proba(model: nn.Module, images: Tensor, enabled: bool, dtype: torch.dtype | None = None) -> Tensor:
    """(B, 1, H, W) lesion probabilities of a segmenter, averaged over the 4 flips when ``enabled``;
    the network runs in ``dtype`` when given (``inference.precision``), the averaging in float32."""
    views = tta_views(*images.shape[-2:], enabled=enabled, rotations=False)

    def forward(v: Tensor) -> Tensor:
        with _autocast(images, dtype):
            logits = model(v).mask_logits
        return torch.sigmoid(logits.float())

    return average_views(forward, images, views, spatial=True, batched=True)


@torch.no_grad()
def tta_class_logits(
    model: nn.Module, images: Tensor, meta: Tensor | None, enabled: bool, dtype: torch.dtype | None = None
) -> Tensor:
    """(B, C) logits of a classifier for a normalised batch, averaged over views when ``enabled``.

    ``meta`` reaches the model only when it uses metadata (:func:`~dermkit.models.classify`); the network
    runs in ``dtype`` when given (``inference.precision``).
    """
    views = tta_views(*images.shape[-2:], enabled=enabled)

    def forward(v: Tensor) -> Tensor:
        with _autocast(images, dtype):
            logits = classify(model, v, meta).class_logits
        return logits.float()

    return average_views(forward, images, views, spatial=False)
