"""A of the ABCD rule: asymmetry of shape and colour about the lesion's two principal axes.

The lesion is folded about each principal axis through its centroid (each pixel is mirrored
across the axis line). An axis is asymmetric when the folded shape does not cover itself
(:data:`SHAPE_THRESHOLD`) or, optionally, when mirrored pixels differ in colour
(:data:`COLOUR_THRESHOLD`). The score counts the asymmetric axes, as PH2's experts scored
asymmetry: 0 symmetric about both axes, 1 about one axis only, 2 about neither (Stolz et al. 1994
give A 0..2, weight 1.3 in the total dermoscopy score).

The ABCD rule places the two axes where asymmetry is lowest; the principal axes are the usual
automatic stand-in (the lesion's own axes, so the score does not depend on how the image was
turned).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from dermkit.measure.geometry import PrincipalAxes
from dermkit.measure.lab import masked_blur, rgb_to_lab

#: Fraction of the lesion that falls outside its mirror image above which the shape is asymmetric
#: about an axis. A digitised disc or ellipse scores below 0.02 at any angle, a half-disc 0.18
#: about the axis parallel to its flat side, a lopsided L 0.3-0.6. Outlines traced by hand score
#: more than their lesion deserves: 0.05-0.13 on PH2 lesions the experts call symmetric, so 0.10
#: is a compromise (not fitted; see benchmarks/RESULTS.md).
SHAPE_THRESHOLD = 0.10

#: Mean CIELAB difference (Delta E) between mirrored lesion pixels, after blurring away texture,
#: above which the colour is asymmetric about an axis. 10 is a clearly visible colour difference
#: (a light-brown half against a dark-brown one is about 30).
COLOUR_THRESHOLD = 10.0

#: The blur before the colour comparison, as a fraction of the lesion's major-axis length: it
#: removes the network and dots (a few per cent of the lesion) and keeps regional colour.
COLOUR_BLUR_FRACTION = 0.05

#: Colours are compared on a copy scaled so the major axis is at most this many pixels: regional
#: colour needs no more, and a blur of a twentieth of a 2,400-px lesion would take seconds.
COLOUR_WORKING_SIZE = 256


@dataclass(frozen=True)
class AxisAsymmetry:
    """Asymmetry about one principal axis.

    Attributes:
        shape: fraction of the lesion's area not covered by its mirror image, in [0, 1].
        colour: mean Delta E between mirrored lesion pixels (blurred), or None when colour was not
            compared (or no mirrored pixel falls inside the lesion).
        asymmetric: whether this axis counts towards the score.
    """

    shape: float
    colour: float | None
    asymmetric: bool


@dataclass(frozen=True)
class Asymmetry:
    """A: the fold about the major and the minor axis, and the score (number of asymmetric axes, 0..2)."""

    major: AxisAsymmetry
    minor: AxisAsymmetry
    score: int


def mirror(xs: np.ndarray, ys: np.ndarray, axes: PrincipalAxes, direction: tuple[float, float]) -> np.ndarray:
    """Mirror points (xs, ys) across the line through the centroid along unit ``direction``.

    Returns:
        (2, N) float64: the mirrored rows and columns, in the order ``map_coordinates`` wants.
    """
    dx, dy = direction
    px, py = xs - axes.cx, ys - axes.cy
    along = px * dx + py * dy
    # Reflection across a line: keep the component along it, negate the one across it.
    mx, my = 2.0 * along * dx - px, 2.0 * along * dy - py
    return np.stack([my + axes.cy, mx + axes.cx])


def shape_non_overlap(mask: np.ndarray, axes: PrincipalAxes, direction: tuple[float, float]) -> float:
    """Fraction of lesion pixels whose mirror image across the axis falls outside the lesion.

    The mask is sampled bilinearly at the mirrored (sub-pixel) positions, so a digitised
    symmetric shape scores near 0 rather than paying for rounding; outside the image counts as
    outside the lesion.
    """
    ys, xs = np.nonzero(mask)
    covered = ndimage.map_coordinates(mask.astype(np.float32), mirror(xs, ys, axes, direction), order=1, cval=0.0)
    return float(1.0 - covered.mean())


def colour_difference(
    lab: np.ndarray, mask: np.ndarray, axes: PrincipalAxes, direction: tuple[float, float]
) -> float | None:
    """Mean Delta E between each lesion pixel and its mirror image, over pairs that both lie in the lesion.

    Args:
        lab: (H, W, 3) float CIELAB image, already blurred within the lesion.
        mask: (H, W) {0, 1} lesion mask.
    """
    ys, xs = np.nonzero(mask)
    coords = mirror(xs, ys, axes, direction)
    inside = ndimage.map_coordinates(mask.astype(np.float32), coords, order=1, cval=0.0) >= 0.5
    if not inside.any():
        return None
    coords = coords[:, inside]
    mirrored = np.stack([ndimage.map_coordinates(lab[..., c], coords, order=1) for c in range(3)], axis=-1)
    own = lab[ys[inside], xs[inside]]
    return float(np.linalg.norm(own - mirrored, axis=-1).mean())


def is_asymmetric(
    shape: float,
    colour: float | None,
    shape_threshold: float = SHAPE_THRESHOLD,
    colour_threshold: float = COLOUR_THRESHOLD,
) -> bool:
    """The per-axis rule: asymmetric in shape, or (when compared) in colour."""
    return shape > shape_threshold or (colour is not None and colour > colour_threshold)


def score_asymmetry(
    major: tuple[float, float | None],
    minor: tuple[float, float | None],
    shape_threshold: float = SHAPE_THRESHOLD,
    colour_threshold: float = COLOUR_THRESHOLD,
) -> Asymmetry:
    """Apply the per-axis rule to (shape, colour) measured about each axis; see :func:`is_asymmetric`."""
    folds = [
        AxisAsymmetry(shape, colour, is_asymmetric(shape, colour, shape_threshold, colour_threshold))
        for shape, colour in (major, minor)
    ]
    return Asymmetry(folds[0], folds[1], sum(f.asymmetric for f in folds))


def downscale(
    image: np.ndarray, mask: np.ndarray, axes: PrincipalAxes, longest: float
) -> tuple[np.ndarray, np.ndarray, PrincipalAxes]:
    """(image, mask, axes) scaled so the major axis is at most ``longest`` px (unchanged if it already is).

    Area averaging for the image and the mask (a mask pixel stays lesion when at least half of it
    was); the axes follow the pixel centres, ``x' = (x + 0.5) * s - 0.5``.
    """
    scale = longest / axes.major_length
    if scale >= 1.0:
        return image, mask, axes
    size = (max(1, round(mask.shape[1] * scale)), max(1, round(mask.shape[0] * scale)))  # (W, H)
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = (cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)
    sx, sy = size[0] / mask.shape[1], size[1] / mask.shape[0]
    small_axes = PrincipalAxes(
        (axes.cx + 0.5) * sx - 0.5,
        (axes.cy + 0.5) * sy - 0.5,
        axes.angle,
        axes.major_length * scale,
        axes.minor_length * scale,
    )
    return small_image, small_mask, small_axes


def measure_asymmetry(image: np.ndarray, mask: np.ndarray, axes: PrincipalAxes, use_colour: bool = True) -> Asymmetry:
    """Fold the lesion about its principal axes and score A (0..2).

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 {0, 1}, non-empty.
        axes: the mask's :func:`~dermkit.measure.geometry.principal_axes`.
        use_colour: also compare colours across each axis (shape only when False).
    """
    shapes = [shape_non_overlap(mask, axes, direction) for direction in (axes.major, axes.minor)]
    colours: list[float | None] = [None, None]
    if use_colour:
        small_image, small_mask, small_axes = downscale(image, mask, axes, COLOUR_WORKING_SIZE)
        sigma = COLOUR_BLUR_FRACTION * small_axes.major_length
        lab = masked_blur(rgb_to_lab(small_image), small_mask, sigma)
        # colour_difference gives None when the scaled mask kept no mirrored pair (a hair-thin lesion).
        colours = [colour_difference(lab, small_mask, small_axes, d) for d in (small_axes.major, small_axes.minor)]
    return score_asymmetry((shapes[0], colours[0]), (shapes[1], colours[1]))
