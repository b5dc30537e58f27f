"""Resizing to a model's input size, with the transform kept so predictions can be mapped back.

Three fits, always chosen explicitly:
- ``"pad"``: keep the aspect ratio, scale to fit inside ``size``, centre, pad with constant 0
  (black; reflection would duplicate the lesion and confuse segmentation);
- ``"crop"``: keep the aspect ratio, centre-crop the original to the target aspect, then scale;
- ``"stretch"``: scale each axis independently.

Every fit is described by one :class:`ResizeTransform`: the ``source_box`` of the original is
scaled to fill the ``content_box`` of the output. :func:`invert_resize` undoes it for a mask
predicted at model size (pixels outside the crop, unknown to the model, become background 0).
Images use area interpolation when shrinking and bilinear when enlarging; masks use nearest
neighbour with pixel-centre alignment (``cv2.INTER_NEAREST_EXACT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from dermkit.preprocess._checks import ImageFormatError, check_image, check_mask

Fit = Literal["pad", "crop", "stretch"]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ResizeTransform:
    """How an (H, W) original became an (h, w) output; boxes are (y0, y1, x0, x1), exclusive ends.

    Attributes:
        original_size: (H, W) of the input.
        size: (h, w) of the output.
        fit: "pad", "crop" or "stretch".
        source_box: region of the original that is visible in the output.
        content_box: region of the output holding it (the rest is padding).
    """

    original_size: tuple[int, int]
    size: tuple[int, int]
    fit: str
    source_box: Box
    content_box: Box


@dataclass(frozen=True)
class ResizeResult:
    """Output of :func:`resize`: (h, w, 3) uint8 image, optional (h, w) {0, 1} mask, the transform."""

    image: np.ndarray
    mask: np.ndarray | None
    transform: ResizeTransform


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate a target (h, w)."""
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ValueError(f"size must be two positive integers (height, width), got {size!r}")
    return int(size[0]), int(size[1])


def plan_resize(original_size: tuple[int, int], size: tuple[int, int], fit: Fit = "pad") -> ResizeTransform:
    """Compute the :class:`ResizeTransform` for resizing ``original_size`` to ``size`` with ``fit``."""
    H, W = _check_size(original_size)
    h, w = _check_size(size)
    if fit == "stretch":
        return ResizeTransform((H, W), (h, w), fit, (0, H, 0, W), (0, h, 0, w))
    if fit == "pad":
        scale = min(h / H, w / W)
        ch, cw = min(h, max(1, round(H * scale))), min(w, max(1, round(W * scale)))
        oy, ox = (h - ch) // 2, (w - cw) // 2
        return ResizeTransform((H, W), (h, w), fit, (0, H, 0, W), (oy, oy + ch, ox, ox + cw))
    if fit == "crop":
        scale = max(h / H, w / W)
        sh, sw = min(H, max(1, round(h / scale))), min(W, max(1, round(w / scale)))
        oy, ox = (H - sh) // 2, (W - sw) // 2
        return ResizeTransform((H, W), (h, w), fit, (oy, oy + sh, ox, ox + sw), (0, h, 0, w))
    raise ValueError(f"fit must be 'pad', 'crop' or 'stretch', got {fit!r}")


def _scale(array: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    """Resize a 2-D or (H, W, 3) array to (h, w)."""
    h, w = size
    if array.shape[:2] == (h, w):
        return array.copy()
    if nearest:
        interp = cv2.INTER_NEAREST_EXACT  # pixel-centre aligned, unlike INTER_NEAREST
    else:
        interp = cv2.INTER_AREA if h * w < array.shape[0] * array.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(array, (w, h), interpolation=interp)


def apply_resize(array: np.ndarray, transform: ResizeTransform, nearest: bool) -> np.ndarray:
    """Apply ``transform`` to an image or mask of the original size (padding with 0)."""
    if array.shape[:2] != transform.original_size:
        raise ImageFormatError(f"array has size {array.shape[:2]} but the transform expects {transform.original_size}")
    y0, y1, x0, x1 = transform.source_box
    c0, c1, d0, d1 = transform.content_box
    out = np.zeros(transform.size + array.shape[2:], dtype=array.dtype)
    out[c0:c1, d0:d1] = _scale(array[y0:y1, x0:x1], (c1 - c0, d1 - d0), nearest)
    return out


def resize(image: np.ndarray, size: tuple[int, int], fit: Fit = "pad", mask: np.ndarray | None = None) -> ResizeResult:
    """Resize ``image`` (and its mask, identically) to ``size``.

    Args:
        image: (H, W, 3) uint8 RGB.
        size: target (height, width).
        fit: "pad", "crop" or "stretch" (see the module docstring).
        mask: optional (H, W) {0, 1} lesion mask, resized with nearest neighbour.
    """
    check_image(image)
    if mask is not None:
        mask = check_mask(mask, shape=image.shape[:2])
    transform = plan_resize(image.shape[:2], size, fit)
    out_mask = None if mask is None else apply_resize(mask, transform, nearest=True)
    return ResizeResult(apply_resize(image, transform, nearest=False), out_mask, transform)


def invert_resize(mask: np.ndarray, transform: ResizeTransform) -> np.ndarray:
    """Map a mask or probability map at model size back to the original image size.

    Args:
        mask: (h, w) array at ``transform.size``; integer/bool masks are resized with nearest
            neighbour, float maps (probabilities) bilinearly, so threshold them afterwards.
        transform: the :class:`ResizeTransform` returned by :func:`resize`.

    Returns:
        (H, W) array of the same dtype; pixels outside the crop ("crop" fit) are 0.
    """
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.shape != transform.size:
        got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ImageFormatError(f"mask must have the model size {transform.size}, got {got}")
    nearest = not np.issubdtype(mask.dtype, np.floating)
    src = mask.astype(np.uint8) if mask.dtype == bool else mask
    c0, c1, d0, d1 = transform.content_box
    y0, y1, x0, x1 = transform.source_box
    out = np.zeros(transform.original_size, dtype=src.dtype)
    out[y0:y1, x0:x1] = _scale(src[c0:c1, d0:d1], (y1 - y0, x1 - x0), nearest)
    return out.astype(mask.dtype, copy=False)
