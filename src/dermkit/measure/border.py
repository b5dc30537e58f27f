"""B of the ABCD rule: border irregularity (compactness) and the abrupt cut-off by eight sectors.

Stolz et al. (1994) score the border B as the number of the eight pie segments of the lesion
(0..8, weight 0.1 in the total dermoscopy score) in which the pigment pattern ends with an abrupt
cut-off at the periphery, rather than fading gradually into the skin.

Here each sector's cut-off is read from its mean lightness profile across the border: L* (CIELAB)
averaged over the sector's pixels at each signed distance from the outline, over a window of
+-R pixels (R = :data:`WINDOW_FRACTION` of the lesion's equivalent radius). The lesion-to-skin
change is the mean of the outer half of the window minus the mean of the inner half; the
sharpness is the largest part of that change made within any stretch R/4 wide. A step edge
scores about 1, a transition spread evenly over the window 0.25. A sector is abrupt when its
sharpness exceeds :data:`ABRUPT_SHARPNESS` and its change exceeds :data:`MIN_CONTRAST` (a lesion
that hardly differs from the skin has no visible cut-off). Reading the steepest stretch rather
than the stretch centred on the outline tolerates an outline drawn a few pixels off the edge.

Compactness ``perimeter**2 / (4 * pi * area)`` is 1 for a disc and grows with an irregular,
notched or elongated outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from dermkit.measure.geometry import PrincipalAxes
from dermkit.measure.lab import rgb_to_lab

#: The eight pie segments of the ABCD rule, starting at the major axis.
SECTORS = 8

#: Half-width R of the profile window across the border, as a fraction of the equivalent radius
#: ``sqrt(area / pi)``: wide enough to hold a gradual border (which fades over a tenth of the
#: radius or more) and narrow enough to stay off the lesion's centre.
WINDOW_FRACTION = 0.2

#: The window is at least this many pixels wide on each side, so small lesions still get a profile.
MIN_WINDOW_PX = 4

#: Share of the lesion-to-skin change made within the steepest R/4 stretch above which a sector is
#: abrupt: halfway between a transition spread over the whole window (0.25) and a step (1.0).
ABRUPT_SHARPNESS = 0.5

#: Smallest lesion-to-skin lightness change (L* units, 0..100) for a visible cut-off.
MIN_CONTRAST = 5.0

#: Pixels every profile bin needs; a sector with fewer in some bin is not measurable: its window
#: leaves the image (the lesion touches the image border), or a concave outline (an L, a deep
#: notch) passes so close to the centroid there that the sector holds no lesion interior.
MIN_BIN_PIXELS = 3


@dataclass(frozen=True)
class SectorCutoff:
    """The border in one of the eight sectors.

    Attributes:
        contrast: skin minus lesion lightness across the window (L*; positive when the lesion is
            darker), or None when the sector is not measurable.
        sharpness: share of that change within the steepest R/4 stretch (about 0.25 gradual,
            1.0 a step), or None when not measurable or the contrast is below :data:`MIN_CONTRAST`.
        abrupt: whether the sector counts towards B; None when it is not measurable (see
            :data:`MIN_BIN_PIXELS`: the window leaves the image, or a concave outline runs next
            to the centroid there).
    """

    contrast: float | None
    sharpness: float | None
    abrupt: bool | None


@dataclass(frozen=True)
class Border:
    """B: compactness of the outline, the eight sectors and the score (number of abrupt sectors, 0..8)."""

    compactness: float | None
    sectors: tuple[SectorCutoff, ...]
    score: int

    @property
    def measurable_sectors(self) -> int:
        """Sectors whose cut-off could be read (fewer than 8 at the image border or for a deeply concave outline)."""
        return sum(s.abrupt is not None for s in self.sectors)


def compactness(mask: np.ndarray) -> float | None:
    """``perimeter**2 / (4 * pi * area)`` of the outline; None when the outline encloses no area.

    The outline is OpenCV's Teh-Chin contour (``CHAIN_APPROX_TC89_KCOS``) of every component, its
    area the polygons' area: a digitised disc of radius 10 px or more scores within 3 % of 1
    (the raw pixel chain would score about 1.1, since its 45-degree steps overestimate the length).
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_TC89_KCOS)
    perimeter = sum(cv2.arcLength(c, closed=True) for c in contours)
    area = sum(cv2.contourArea(c) for c in contours)
    if area < 1.0:
        return None
    return float(perimeter**2 / (4.0 * math.pi * area))


def window_half_width(area: int) -> int:
    """R in pixels for a lesion of ``area`` pixels (see :data:`WINDOW_FRACTION`)."""
    return max(MIN_WINDOW_PX, round(WINDOW_FRACTION * math.sqrt(area / math.pi)))


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) float: distance to the outline, negative inside the lesion, positive outside.

    The outline runs between pixel centres, so the pixels on either side of it are at -0.5 / +0.5.
    """
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(1 - mask)
    return np.where(mask > 0, 0.5 - inside, outside - 0.5)


def sector_profiles(
    lightness: np.ndarray, mask: np.ndarray, axes: PrincipalAxes, half_width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean lightness per sector and 1-pixel distance bin across the border.

    Returns:
        (profiles, counts), both (SECTORS, 2 * half_width): bin k covers signed distances
        [k - R, k - R + 1), from inside (k = 0) to outside; profiles are NaN where counts are 0.
    """
    dist = signed_distance(mask)
    ys, xs = np.nonzero(np.abs(dist) < half_width)
    bins = np.floor(dist[ys, xs] + half_width).astype(np.int64)
    angle = np.mod(np.arctan2(ys - axes.cy, xs - axes.cx) - axes.angle, 2.0 * math.pi)
    sector = np.minimum((angle / (2.0 * math.pi / SECTORS)).astype(np.int64), SECTORS - 1)
    index = sector * (2 * half_width) + bins
    size = SECTORS * 2 * half_width
    counts = np.bincount(index, minlength=size).reshape(SECTORS, -1)
    sums = np.bincount(index, weights=lightness[ys, xs], minlength=size).reshape(SECTORS, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def read_cutoff(profile: np.ndarray, counts: np.ndarray) -> SectorCutoff:
    """One sector's contrast, sharpness and verdict from its (2R,) profile (see the module docstring)."""
    if counts.min() < MIN_BIN_PIXELS:
        return SectorCutoff(None, None, None)
    half = profile.size // 2
    contrast = float(profile[half:].mean() - profile[:half].mean())
    if abs(contrast) < MIN_CONTRAST:
        return SectorCutoff(contrast, None, False)
    span = max(1, round(half / 4))
    rises = np.sign(contrast) * (profile[span:] - profile[:-span])
    sharpness = float(rises.max() / abs(contrast))
    return SectorCutoff(contrast, sharpness, sharpness > ABRUPT_SHARPNESS)


def measure_border(image: np.ndarray, mask: np.ndarray, axes: PrincipalAxes) -> Border:
    """Compactness and the eight-sector abrupt cut-off score B (0..8).

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 {0, 1}, non-empty.
        axes: the mask's :func:`~dermkit.measure.geometry.principal_axes` (sector 0 starts at
            the major axis, so the sectors turn with the lesion).
    """
    half_width = window_half_width(int(mask.sum()))
    # Crop to the lesion plus the window: the distances within reach are the same, and a small
    # lesion in a large image costs little.
    ys, xs = np.nonzero(mask)
    pad = half_width + 2
    top, left = max(0, ys.min() - pad), max(0, xs.min() - pad)
    bottom, right = min(mask.shape[0], ys.max() + pad + 1), min(mask.shape[1], xs.max() + pad + 1)
    crop = mask[top:bottom, left:right]
    lightness = rgb_to_lab(image[top:bottom, left:right])[..., 0]
    shifted = PrincipalAxes(axes.cx - left, axes.cy - top, axes.angle, axes.major_length, axes.minor_length)
    profiles, counts = sector_profiles(lightness, crop, shifted, half_width)
    sectors = tuple(read_cutoff(profiles[k], counts[k]) for k in range(SECTORS))
    return Border(compactness(mask), sectors, sum(bool(s.abrupt) for s in sectors))
