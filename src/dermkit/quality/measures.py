"""What the quality checks read from an image and its lesion mask: pure functions, nothing altered.

All image statistics except sharpness are taken over the *field of view*: the image minus the
black lens frame found by :func:`dermkit.preprocess.frame.detect_black_frame` (dark pixels
connected to the image edge), so a dermatoscope's black corners neither make an image look
underexposed nor hide a lesion that reaches the lens edge. A "frame" covering more than
:data:`~dermkit.quality.thresholds.MAX_FRAME_FRACTION` of the image is a dark image, not a lens
border, and is not excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dermkit.preprocess.frame import detect_black_frame
from dermkit.quality.thresholds import (
    BLUR_WORKING_SIDE,
    BORDER_MARGIN_FRACTION,
    BRIGHT_LEVEL,
    DARK_LEVEL,
    FRAME_WORKING_SIDE,
    MAX_FRAME_FRACTION,
    NEUTRAL_SATURATION,
    SKIN_HUE_MAX_DEG,
    SKIN_HUE_MIN_DEG,
)


@dataclass(frozen=True)
class ImageMeasures:
    """The image statistics the checks compare with their thresholds.

    Attributes:
        short_side_px: the shorter side of the image.
        frame_fraction: share of the image taken by the black frame excluded (0.0 when none).
        laplacian_variance: variance of the 3x3 Laplacian of the grey image at the working size.
        dark_fraction, bright_fraction: shares of the field of view at most ``DARK_LEVEL`` /
            at least ``BRIGHT_LEVEL`` in luminance.
        mean_luminance, luminance_std: of the field of view (BT.601 Y, 0..255).
        skin_fraction: share of the field of view with a skin-like hue or near-neutral colour.
    """

    short_side_px: int
    frame_fraction: float
    laplacian_variance: float
    dark_fraction: float
    bright_fraction: float
    mean_luminance: float
    luminance_std: float
    skin_fraction: float


@dataclass(frozen=True)
class MaskMeasures:
    """The lesion-mask statistics the checks read.

    Attributes:
        lesion_px: lesion pixels.
        lesion_fraction: lesion pixels inside the field of view / field-of-view pixels.
        border_contact: share of the field of view's edge ring (see :func:`edge_ring`) covered by
            the lesion.
    """

    lesion_px: int
    lesion_fraction: float
    border_contact: float


def field_of_view(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: True where the image shows skin, False on a detected black lens frame.

    Large images are searched for the frame on a copy with a ``FRAME_WORKING_SIDE`` shorter side
    (the frame is a large, smooth shape; full-resolution morphology took seconds at 12 MP), and the
    frame is scaled back to the image.
    """
    h, w = image.shape[:2]
    scale = FRAME_WORKING_SIDE / min(h, w)
    if scale < 1:
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        frame = cv2.resize(detect_black_frame(small), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    else:
        frame = detect_black_frame(image).astype(bool)
    if frame.mean() > MAX_FRAME_FRACTION:  # a dark image, not a lens border: keep every pixel
        return np.ones(image.shape[:2], bool)
    return ~frame


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (OpenCV's grey)."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def laplacian_variance(grey: np.ndarray, fov: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian over the field of view, at a shorter side of ``BLUR_WORKING_SIDE``.

    The grey image is resized (area averaging down, bilinear up) so the value does not depend on
    resolution; a band around the frame is left out, since the frame's sharp edge would make any
    image look in focus.
    """
    h, w = grey.shape
    scale = BLUR_WORKING_SIDE / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(grey, size, interpolation=interpolation).astype(np.float32)
    lap = cv2.Laplacian(small, cv2.CV_32F, ksize=3)
    keep = cv2.resize(fov.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    keep = cv2.erode(keep, np.ones((7, 7), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(bool)
    return float(lap[keep].var() if keep.any() else lap.var())


def skin_fraction(image: np.ndarray, fov: np.ndarray) -> float:
    """Share of field-of-view pixels whose hue is skin-like (0-60 or above 240 degrees) or that are near-neutral."""
    hsv = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)[fov]  # hue in degrees, S in [0, 1]
    hue, sat = hsv[:, 0], hsv[:, 1]
    skin = (hue <= SKIN_HUE_MAX_DEG) | (hue > SKIN_HUE_MIN_DEG) | (sat < NEUTRAL_SATURATION)
    return float(skin.mean())


def measure_image(image: np.ndarray, fov: np.ndarray) -> ImageMeasures:
    """All image statistics of an (H, W, 3) uint8 RGB image over its (H, W) bool field of view."""
    grey = luminance(image)
    lum = grey[fov].astype(np.float32)
    return ImageMeasures(
        short_side_px=int(min(image.shape[:2])),
        frame_fraction=float(1.0 - fov.mean()),
        laplacian_variance=laplacian_variance(grey, fov),
        dark_fraction=float((lum <= DARK_LEVEL).mean()),
        bright_fraction=float((lum >= BRIGHT_LEVEL).mean()),
        mean_luminance=float(lum.mean()),
        luminance_std=float(lum.std()),
        skin_fraction=skin_fraction(image, fov),
    )


def edge_ring(fov: np.ndarray) -> np.ndarray:
    """(H, W) bool: field-of-view pixels within the border margin of its edge.

    The edge is the image's own edge and, when a black frame was found, the frame's inner edge:
    the field of view is eroded with the image surround counted as outside, and the ring is what
    the erosion removed. Its width is ``BORDER_MARGIN_FRACTION`` of the shorter side, at least 1 px.
    """
    margin = max(1, round(BORDER_MARGIN_FRACTION * min(fov.shape)))
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    inner = cv2.erode(fov.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return fov & ~inner.astype(bool)


def measure_mask(mask: np.ndarray, fov: np.ndarray) -> MaskMeasures:
    """Lesion statistics of an (H, W) {0, 1} mask over the (H, W) bool field of view of its image."""
    lesion = mask.astype(bool)
    ring = edge_ring(fov)
    contact = float(lesion[ring].mean()) if ring.any() else 0.0
    return MaskMeasures(
        lesion_px=int(lesion.sum()),
        lesion_fraction=float(lesion[fov].mean()),
        border_contact=contact,
    )
