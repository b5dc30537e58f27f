"""Hand-computable synthetic lesions for the measurement tests: discs, ellipses, L shapes, stars.

Masks are (H, W) uint8 {0, 1}; images are (H, W, 3) uint8 RGB with a flat skin and the lesion
painted in one colour (optionally blurred), so every expected value can be worked out by hand.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from dermkit.measure.colours import PALETTE_RGB, REFERENCE_SKIN_RGB

SKIN = REFERENCE_SKIN_RGB  # no skin-relative shift: the painted palette colours stay exact
LESION = PALETTE_RGB["dark_brown"]


def disc(size: int, radius: float, centre: tuple[float, float] | None = None) -> np.ndarray:
    """Pixels whose centre lies within ``radius`` of ``centre`` (default: the image centre)."""
    cx, cy = centre if centre is not None else (size // 2, size // 2)
    yy, xx = np.mgrid[:size, :size]
    return (((xx - cx) ** 2 + (yy - cy) ** 2) <= radius**2).astype(np.uint8)


def ellipse(size: int, axes: tuple[int, int], angle_deg: float) -> np.ndarray:
    """A filled ellipse with semi-axes ``axes`` turned by ``angle_deg``, centred."""
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, (size // 2, size // 2), axes, angle_deg, 0, 360, 1, -1)
    return mask


def polygon(size: int, points: list[tuple[float, float]]) -> np.ndarray:
    """A filled polygon (x, y points)."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(points)).astype(np.int32)], 1)
    return mask


def rotate(
    points: list[tuple[float, float]], angle_deg: float, centre: tuple[float, float]
) -> list[tuple[float, float]]:
    """Points turned by ``angle_deg`` about ``centre``."""
    t = math.radians(angle_deg)
    cx, cy = centre
    return [
        (cx + (x - cx) * math.cos(t) - (y - cy) * math.sin(t), cy + (x - cx) * math.sin(t) + (y - cy) * math.cos(t))
        for x, y in points
    ]


def lopsided_l(size: int = 128, angle_deg: float = 0.0) -> np.ndarray:
    """An L with arms of different length and width (no mirror symmetry), turned by ``angle_deg``."""
    points = [(30, 20), (54, 20), (54, 84), (100, 84), (100, 100), (30, 100)]
    return polygon(size, rotate(points, angle_deg, (size / 2, size / 2)))


def star(size: int = 128, points: int = 8, outer: float = 50, inner: float = 20) -> np.ndarray:
    """A star with ``points`` spikes."""
    c = size / 2
    vertices = []
    for k in range(2 * points):
        r = outer if k % 2 == 0 else inner
        t = k * math.pi / points
        vertices.append((c + r * math.cos(t), c + r * math.sin(t)))
    return polygon(size, vertices)


def paint(
    mask: np.ndarray,
    lesion: tuple[int, int, int] = LESION,
    skin: tuple[int, int, int] = SKIN,
    blur: float = 0.0,
) -> np.ndarray:
    """Flat skin with the lesion painted in one colour; ``blur`` (Gaussian sigma, px) softens its edge."""
    image = np.empty((*mask.shape, 3), np.uint8)
    image[:] = skin
    image[mask > 0] = lesion
    if blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    return image
