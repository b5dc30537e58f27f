"""Input validation shared by the preprocessing functions (one message style everywhere)."""

from __future__ import annotations

import numpy as np

from dermkit.errors import DataError


class ImageFormatError(DataError, ValueError):
    """An array is not the (H, W, 3) uint8 RGB image or (H, W) {0, 1} mask a function expects.

    Subclasses ``ValueError`` too, so callers that only know numpy conventions can catch it.
    """


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` unchanged if it is an (H, W, 3) uint8 RGB array, else raise.

    Raises:
        ImageFormatError: naming the shape/dtype received and how to convert it.
    """
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(
            f"{name} must be a numpy array of shape (H, W, 3) and dtype uint8, got {type(image).__name__}; "
            "convert it with np.asarray(...)"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageFormatError(
            f"{name} must have shape (H, W, 3) (RGB), got {image.shape}; "
            "convert grey or RGBA images to RGB first (e.g. dermkit.imageio.read_image)"
        )
    if image.dtype != np.uint8:
        raise ImageFormatError(
            f"{name} must have dtype uint8 (0..255), got {image.dtype}; "
            "scale floats in [0, 1] with (image * 255).round().astype(np.uint8)"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageFormatError(f"{name} must not be empty, got {image.shape[:2]}")
    return image


def check_mask(mask: np.ndarray, shape: tuple[int, int] | None = None, name: str = "mask") -> np.ndarray:
    """Return ``mask`` as (H, W) uint8 {0, 1}; bool masks are accepted and converted.

    Args:
        mask: (H, W) bool or integer array with values in {0, 1}.
        shape: if given, the (H, W) the mask must have (that of its image).

    Raises:
        ImageFormatError: wrong type, shape or values, with the fix in the message.
    """
    if not isinstance(mask, np.ndarray):
        raise ImageFormatError(f"{name} must be a numpy array of shape (H, W), got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ImageFormatError(f"{name} must have shape (H, W), got {mask.shape}; drop channel axes first")
    if shape is not None and mask.shape != tuple(shape):
        raise ImageFormatError(
            f"{name} has shape {mask.shape} but its image is {tuple(shape)}; masks must match their image"
        )
    if mask.dtype == bool:
        return mask.astype(np.uint8)
    if not np.issubdtype(mask.dtype, np.integer):
        raise ImageFormatError(
            f"{name} must be bool or integer with values in {{0, 1}}, got dtype {mask.dtype}; "
            "threshold it first, e.g. (mask > 0.5).astype(np.uint8)"
        )
    if mask.size and mask.max() > 1:
        raise ImageFormatError(
            f"{name} must have values in {{0, 1}}, got max {mask.max()}; "
            "binarise 0/255 masks the ISIC way with (mask > 128).astype(np.uint8)"
        )
    return mask.astype(np.uint8, copy=False)
