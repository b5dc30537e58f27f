"""The preprocessing pipeline: frame -> hair -> colour -> resize, image and lesion mask together.

:class:`PreprocessConfig` is the only switchboard; :func:`preprocess_key` hashes it (plus
:data:`PREPROCESS_VERSION`) into the cache key the datasets use, and :func:`restore_mask` maps a
mask predicted on the preprocessed image back to the original image (for ISIC-format output).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dermkit.preprocess._checks import ImageFormatError, check_image, check_mask
from dermkit.preprocess.color import shades_of_grey
from dermkit.preprocess.frame import Box, remove_black_frame
from dermkit.preprocess.hair import DEFAULT_DENSE_THRESHOLD, remove_hair
from dermkit.preprocess.resize import ResizeTransform, invert_resize, resize

#: Bump when an algorithm's output changes, so cached preprocessed images are rebuilt.
PREPROCESS_VERSION = 1


class PreprocessConfig(BaseModel):
    """Which preprocessing steps run, in the fixed order frame -> hair -> colour -> resize."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frame: Literal["off", "crop", "inpaint"] = "off"
    hair: Literal["off", "auto", "sparse", "dense"] = "off"
    hair_dense_threshold: int = Field(default=DEFAULT_DENSE_THRESHOLD, ge=0)
    color_constancy: bool = False
    size: tuple[int, int] | None = None
    fit: Literal["pad", "crop", "stretch"] = "pad"

    @field_validator("size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        """Sizes are (height, width) of at least 1 pixel."""
        if value is not None and min(value) < 1:
            raise ValueError(f"size must be (height, width) with both >= 1, got {value}")
        return value


@dataclass(frozen=True)
class Preprocessed:
    """Output of :func:`preprocess`.

    Attributes:
        image: (h, w, 3) uint8 RGB after all steps.
        mask: (h, w) uint8 {0, 1} lesion mask aligned with ``image``, or None if none was given.
        frame_mask: (H, W) frame mask in *input* coordinates, or None when the frame step is off.
        hair_mask: hair mask in the coordinates the hair step saw (after a frame crop), or None.
        box: (y0, y1, x0, x1) frame crop in input coordinates (the whole image if no crop).
        original_size: (H, W) of the input image.
        transform: the resize transform, or None when ``size`` is None.
        info: per-step details (hair component count and mode used, frame fraction, ...).
    """

    image: np.ndarray
    mask: np.ndarray | None
    frame_mask: np.ndarray | None
    hair_mask: np.ndarray | None
    box: Box
    original_size: tuple[int, int]
    transform: ResizeTransform | None = None
    info: dict[str, Any] = field(default_factory=dict)


def preprocess(image: np.ndarray, config: PreprocessConfig, mask: np.ndarray | None = None) -> Preprocessed:
    """Apply the configured steps to ``image`` and every geometric step to ``mask`` too.

    Args:
        image: (H, W, 3) uint8 RGB.
        config: the steps to run.
        mask: optional (H, W) {0, 1} (or bool) lesion mask.
    """
    check_image(image)
    if mask is not None:
        mask = check_mask(mask, shape=image.shape[:2])
    h, w = image.shape[:2]
    info: dict[str, Any] = {"config_key": preprocess_key(config)}
    box: Box = (0, h, 0, w)
    frame_mask = hair_mask = transform = None

    if config.frame != "off":
        framed = remove_black_frame(image, mode=config.frame)
        image, frame_mask, box = framed.image, framed.frame_mask, framed.box
        y0, y1, x0, x1 = box
        mask = None if mask is None else mask[y0:y1, x0:x1].copy()
        info["frame_fraction"] = float(frame_mask.mean())
    if config.hair != "off":
        haired = remove_hair(image, mode=config.hair, dense_threshold=config.hair_dense_threshold)
        image, hair_mask = haired.image, haired.hair_mask
        info["hair_components"] = haired.n_components
        info["hair_mode_used"] = haired.mode_used
    if config.color_constancy:
        image = shades_of_grey(image)
    if config.size is not None:
        resized = resize(image, config.size, fit=config.fit, mask=mask)
        image, mask, transform = resized.image, resized.mask, resized.transform
    return Preprocessed(image, mask, frame_mask, hair_mask, box, (h, w), transform, info)


def restore_mask(mask: np.ndarray, result: Preprocessed) -> np.ndarray:
    """Map a mask predicted on ``result.image`` back to the original image size.

    Undoes the resize (:func:`~dermkit.preprocess.resize.invert_resize`), then pastes into the
    frame-crop box; pixels outside the box (the frame) are background 0.

    Args:
        mask: (h, w) mask or float probability map at ``result.image``'s size.
        result: the :class:`Preprocessed` the prediction was made on.

    Returns:
        (H, W) array, same dtype as ``mask``.
    """
    if not isinstance(mask, np.ndarray) or mask.shape != result.image.shape[:2]:
        got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ImageFormatError(f"mask must have the preprocessed image size {result.image.shape[:2]}, got {got}")
    inner = mask if result.transform is None else invert_resize(mask, result.transform)
    y0, y1, x0, x1 = result.box
    out = np.zeros(result.original_size, dtype=inner.dtype)
    out[y0:y1, x0:x1] = inner
    return out


def preprocess_key(config: PreprocessConfig) -> str:
    """Short stable hash (12 hex chars) of ``config`` and :data:`PREPROCESS_VERSION`, for caches."""
    payload = f"v{PREPROCESS_VERSION}:{config.model_dump_json()}"
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
