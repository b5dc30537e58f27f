"""Test-time augmentation views, and applying them to numpy batches (torch-free).

A view is a flip (of the height and/or width axis of a (B, C, H, W) batch) followed by a number
of quarter turns in the (H, W) plane. :mod:`dermkit.models.tta` applies them to torch tensors;
the ONNX model package's runtime applies them here to numpy arrays, with the same conventions
(``np.rot90(x, k, axes=(2, 3))`` turns as ``torch.rot90(x, k, (2, 3))`` does).
"""

from __future__ import annotations

import numpy as np

#: (flip dims of a (B, C, H, W) tensor, quarter turns in the (H, W) plane)
View = tuple[tuple[int, ...], int]

IDENTITY: tuple[View, ...] = (((), 0),)
FLIP_VIEWS: tuple[View, ...] = (((), 0), ((3,), 0), ((2,), 0), ((2, 3), 0))
DIHEDRAL_VIEWS: tuple[View, ...] = FLIP_VIEWS + (((), 1), ((3,), 1), ((2,), 1), ((2, 3), 1))


def tta_views(height: int, width: int, enabled: bool = True, rotations: bool = True) -> tuple[View, ...]:
    """The views to average: none but the identity when not ``enabled``; the 8 dihedral views for
    square inputs when ``rotations``; else the 4 flips."""
    if not enabled:
        return IDENTITY
    return DIHEDRAL_VIEWS if rotations and height == width else FLIP_VIEWS


def apply_view_np(x: np.ndarray, view: View) -> np.ndarray:
    """(B, C, H, W) -> the batch as seen in ``view`` (flip, then turns)."""
    dims, turns = view
    x = np.flip(x, dims) if dims else x
    return np.ascontiguousarray(np.rot90(x, turns, axes=(2, 3)) if turns else x)


def undo_view_np(y: np.ndarray, view: View) -> np.ndarray:
    """Map a spatial prediction made on ``apply_view_np(x, view)`` back to ``x``'s frame."""
    dims, turns = view
    y = np.rot90(y, -turns, axes=(2, 3)) if turns else y
    return np.ascontiguousarray(np.flip(y, dims) if dims else y)
