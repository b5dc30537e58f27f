"""Lesion geometry from the mask: principal axes, maximum Feret diameter, border contact, components.

Coordinates are image coordinates: ``x`` is the column, ``y`` the row (pointing down), angles are
radians from the +x axis towards +y. Masks are (H, W) uint8 {0, 1} (checked by the caller).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PrincipalAxes:
    """The lesion's centroid and principal axes (second-order image moments, i.e. PCA of its pixels).

    Attributes:
        cx, cy: centroid (column, row) in pixels.
        angle: direction of the major axis, radians in (-pi/2, pi/2].
        major_length, minor_length: full lengths of the ellipse with the same second moments
            (``4 * sqrt(eigenvalue)``), in pixels; a disc of radius r gives 2r for both.
    """

    cx: float
    cy: float
    angle: float
    major_length: float
    minor_length: float

    @property
    def major(self) -> tuple[float, float]:
        """Unit vector (dx, dy) along the major axis."""
        return (math.cos(self.angle), math.sin(self.angle))

    @property
    def minor(self) -> tuple[float, float]:
        """Unit vector (dx, dy) along the minor axis (the major axis turned by +90 degrees)."""
        return (-math.sin(self.angle), math.cos(self.angle))


def principal_axes(mask: np.ndarray) -> PrincipalAxes:
    """Centroid and principal axes of a non-empty (H, W) {0, 1} mask.

    The orientation of a disc (equal eigenvalues) is undefined; any pair of perpendicular axes is
    then a pair of principal axes, and OpenCV's moments give angle 0.
    """
    m = cv2.moments(mask, binaryImage=True)
    area = m["m00"]
    # Normalised central moments: the lesion pixels' covariance matrix [[mu20, mu11], [mu11, mu02]].
    mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
    angle = 0.5 * math.atan2(2.0 * mu11, mu20 - mu02)
    spread = math.sqrt(max(0.0, ((mu20 - mu02) / 2.0) ** 2 + mu11**2))
    mean = (mu20 + mu02) / 2.0
    # A pixel has variance 1/12 in each direction: add it so a one-pixel lesion has length 1, not 0.
    major = 4.0 * math.sqrt(mean + spread + 1.0 / 12.0)
    minor = 4.0 * math.sqrt(max(0.0, mean - spread) + 1.0 / 12.0)
    return PrincipalAxes(m["m10"] / area, m["m01"] / area, angle, major, minor)


def feret_diameter(mask: np.ndarray) -> float:
    """Maximum Feret (caliper) diameter of a {0, 1} mask in pixels; 0.0 for an empty mask.

    The largest distance between two lesion pixel centres plus one pixel (each end pixel adds half
    of its width), so a single pixel measures 1 and a disc of radius r measures 2r + 1. Computed on
    the convex hull of the pixel centres, which holds the farthest pair.
    """
    points = cv2.findNonZero(mask)
    if points is None:
        return 0.0
    hull = cv2.convexHull(points).reshape(-1, 2).astype(np.float64)  # (K, 2) x, y
    gaps = hull[:, None, :] - hull[None, :, :]  # (K, K, 2)
    return float(math.sqrt(float((gaps**2).sum(axis=-1).max())) + 1.0)


def touches_border(mask: np.ndarray) -> bool:
    """True when a lesion pixel lies on the image's outermost rows or columns (the lesion may go on)."""
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def component_count(mask: np.ndarray) -> int:
    """Number of 8-connected lesion components (0 for an empty mask)."""
    count, _ = cv2.connectedComponents(mask, connectivity=8)
    return int(count) - 1
