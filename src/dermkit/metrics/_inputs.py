"""Validation of metric inputs shared by the classification metric modules.

``as_labels`` (``(N,)`` integer class indices, optionally in ``[0, C)``), ``as_proba`` (``(N, C)``
finite scores) and ``as_binary`` (``(N,)`` bool or 0/1) return clean numpy arrays or raise
``ValueError`` naming the argument, what was expected and what was got.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_labels(y: ArrayLike, role: str, num_classes: int | None = None) -> NDArray[np.int64]:
    """``y`` as ``(N,)`` int64 class indices (integral floats accepted), in ``[0, num_classes)`` if given."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{role} must have shape (N,); got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{role} must hold integer class indices; got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{role} must be in [0, {num_classes}); got range [{arr.min()}, {arr.max()}]")
    return arr


def as_proba(proba: ArrayLike, n: int | None = None) -> NDArray[np.float64]:
    """``proba`` as finite ``(N, C)`` float64 scores, with ``n`` rows if given."""
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"proba must have shape (N, C); got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"proba must have one row per image ({n}); got {arr.shape[0]} rows")
    if not np.all(np.isfinite(arr)):
        raise ValueError("proba contains NaN or infinite values")
    return arr


def as_binary(y: ArrayLike, role: str) -> NDArray[np.bool_]:
    """``y`` as an ``(N,)`` bool array (bool or 0/1 input)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{role} must have shape (N,); got {arr.shape}")
    if arr.dtype != np.bool_:
        if not np.all(np.isin(arr, (0, 1))):
            raise ValueError(f"{role} must be boolean or 0/1; got values {np.unique(arr)[:5]}")
        arr = arr.astype(bool)
    return arr
