"""Hair removal (S3): detect dark thin structures in CIE LUV, then repair them.

Detection ("trough detection"): each of L, U, V is closed with line structuring elements at four
orientations (0, 45, 90, 135 degrees) and the pointwise maximum of the closings is taken, so any
dark structure thinner than the line length is filled whatever its direction; ``closed - original``
(a black-hat) is large on hairs. The three channel responses are summed with weights (the U and V
terms capped by the L term, as hair is always a lightness trough), thin lines
redder than their surroundings (vessels) are subtracted, the result is thresholded,
and connected components that are small, thick or compact (dots, globules) are dropped.

Repair: the mask is dilated by 1 px so hair edges go too, then
- ``"sparse"``: every hair pixel is linearly interpolated between the nearest non-hair pixel and
  the first non-hair pixel on the opposite side of the hair (bilinear along the hair's normal,
  DullRazor-style; our own implementation, :func:`interpolate_fill`);
- ``"dense"``: PDE inpainting with OpenCV's Navier-Stokes method (``cv2.INPAINT_NS``), which
  diffuses the surrounding colour into the wide hair regions;
- ``"auto"``: ``"dense"`` when the number of hair components N exceeds ``dense_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from scipy import ndimage

from dermkit.preprocess._checks import check_image, check_mask

HairMode = Literal["auto", "sparse", "dense"]

#: Default N above which "auto" switches to dense repair. Calibrated on 600x450 HAM10000 images,
#: where a few long hairs already break into ~20-40 components; scale it down for small images.
DEFAULT_DENSE_THRESHOLD = 40
#: Default black-hat threshold on the weighted L + U + V response (0..255 scale).
DEFAULT_HAIR_THRESHOLD = 20.0
#: Weights of the L, U, V black-hat responses: lightness carries most of the hair contrast; the
#: chromatic channels help with brown hair on reddish skin.
CHANNEL_WEIGHTS = (1.0, 0.5, 0.5)
#: Weight of the vessel veto (white top-hat of u*) subtracted from the response.
RED_VETO_WEIGHT = 3.0
#: The detection threshold is at least this multiple of the median response (image texture level).
TEXTURE_FACTOR = 2.5


@dataclass(frozen=True)
class HairResult:
    """Output of :func:`remove_hair`.

    Attributes:
        image: (H, W, 3) uint8 RGB with hair repaired (a copy of the input if no hair was found).
        hair_mask: (H, W) uint8 {0, 1}, the detected hair (before the 1 px dilation used for repair).
        n_components: number N of connected hair components.
        mode_used: "sparse", "dense" or "none" (no hair detected, image unchanged).
    """

    image: np.ndarray
    hair_mask: np.ndarray
    n_components: int
    mode_used: str


def _line_kernels(length: int) -> list[np.ndarray]:
    """Line structuring elements of odd ``length`` at 0, 45, 90 and 135 degrees."""
    horizontal = np.zeros((length, length), np.uint8)
    horizontal[length // 2, :] = 1
    diagonal = np.eye(length, dtype=np.uint8)
    return [horizontal, horizontal.T.copy(), diagonal, np.fliplr(diagonal).copy()]


def default_line_length(shape: tuple[int, ...]) -> int:
    """Odd line length ~3 % of the shorter side (13 px at 450 px), at least 7 px."""
    return max(7, int(round(min(shape[:2]) * 0.03))) | 1


def hair_response(image: np.ndarray, line_length: int | None = None) -> np.ndarray:
    """Weighted black-hat response of the L, U, V channels, (H, W) float32, high on thin dark lines.

    Args:
        image: (H, W, 3) uint8 RGB.
        line_length: length of the line structuring elements; hairs thinner than about half of it
            are detected. Default :func:`default_line_length`.
    """
    check_image(image)
    length = line_length or default_line_length(image.shape)
    luv = cv2.cvtColor(image, cv2.COLOR_RGB2Luv)
    kernels = _line_kernels(length)
    response = np.zeros(image.shape[:2], np.float32)
    blackhat_l = None
    for channel, weight in zip(range(3), CHANNEL_WEIGHTS, strict=True):
        plane = np.ascontiguousarray(luv[..., channel])
        closed = np.max([cv2.morphologyEx(plane, cv2.MORPH_CLOSE, k) for k in kernels], axis=0)
        blackhat = closed.astype(np.float32) - plane
        if blackhat_l is None:
            blackhat_l = blackhat
        else:
            # Hair is always a lightness trough: a chromatic trough only supports it, up to the
            # lightness contrast (else skin between red vessels would look like hair in u*).
            blackhat = np.minimum(blackhat, blackhat_l)
        response += weight * blackhat
    # Vessel veto: thin lines *redder* than their surroundings (white top-hat of u*) are blood
    # vessels (e.g. arborising vessels of BCC), not hair; dark hair has a lower u* than skin.
    u = np.ascontiguousarray(luv[..., 1])
    opened = np.min([cv2.morphologyEx(u, cv2.MORPH_OPEN, k) for k in kernels], axis=0)
    response -= RED_VETO_WEIGHT * (u.astype(np.float32) - opened)
    return response


def _keep_hairlike(mask: np.ndarray, min_area: int, max_mean_dist: float) -> np.ndarray:
    """Keep components that look like hair: big enough, thin, and not compact.

    Thinness is the mean distance-to-background inside the component (1 for a 1-2 px line, about
    width / 4 + 1 / 2 for wider strips, radius / 3 for a disc); compactness is bbox-diagonal^2 / area
    (about length / width for a line, 8 / pi ~ 2.5 for a disc), which drops dots and globules.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return np.zeros_like(mask)
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    mean_dist = ndimage.mean(dist, labels, index=np.arange(n))
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    diag2 = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64) ** 2 + stats[:, cv2.CC_STAT_HEIGHT] ** 2
    keep = (area >= min_area) & (mean_dist <= max_mean_dist) & (diag2 / np.maximum(area, 1) >= 4.0)
    keep[0] = False
    return keep[labels].astype(np.uint8)


def detect_hair(
    image: np.ndarray,
    threshold: float = DEFAULT_HAIR_THRESHOLD,
    line_length: int | None = None,
    min_area: int | None = None,
) -> np.ndarray:
    """Hair mask of a dermoscopic image.

    Args:
        image: (H, W, 3) uint8 RGB.
        threshold: minimum weighted black-hat response of a hair pixel (default 20). The threshold
            actually used is ``max(threshold, 2.5 * median(response))`` so that a strongly textured
            image (or a dense hair mat) does not turn into one big "hair" region.
        line_length: structuring-element length, default ~3 % of the shorter side.
        min_area: smallest kept component in pixels, default ``3 * line_length`` (drops short
            squiggles of pigment network).

    Returns:
        (H, W) uint8 {0, 1}.
    """
    check_image(image)
    length = line_length or default_line_length(image.shape)
    response = hair_response(image, length)
    level = max(threshold, TEXTURE_FACTOR * float(np.median(response)))
    candidates = (response > level).astype(np.uint8)
    # The closing only fills structures thinner than the line, so wider strips (mean distance above
    # 1 + length / 8, i.e. wider than about half the line) cannot be hair.
    return _keep_hairlike(candidates, min_area if min_area is not None else 3 * length, 1 + length / 8)


def count_components(mask: np.ndarray) -> int:
    """Number of 8-connected components of a {0, 1} mask."""
    return int(cv2.connectedComponents(check_mask(mask), connectivity=8)[0] - 1)


def interpolate_fill(image: np.ndarray, mask: np.ndarray, max_span: int = 40) -> np.ndarray:
    """Fill masked pixels by linear interpolation across the masked region (DullRazor-style).

    For each masked pixel x, p1 is its nearest unmasked pixel (Euclidean distance transform);
    walking from x away from p1 gives p2, the first unmasked pixel on the other side of the hair.
    The fill is ``(d2 * I(p1) + d1 * I(p2)) / (d1 + d2)`` with d1, d2 the distances to p1, p2; when
    no p2 is found within ``max_span`` px (or the walk leaves the image) I(p1) is used.

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 {0, 1}, pixels to fill.
        max_span: longest walk in pixels.
    """
    check_image(image)
    mask = check_mask(mask, shape=image.shape[:2])
    out = image.copy()
    if not mask.any():
        return out
    if mask.all():  # nothing to interpolate from
        return out
    h, w = mask.shape
    _, (iy, ix) = ndimage.distance_transform_edt(mask, return_indices=True)
    ys, xs = np.nonzero(mask)
    p1y, p1x = iy[ys, xs], ix[ys, xs]
    dy, dx = (ys - p1y).astype(np.float64), (xs - p1x).astype(np.float64)
    d1 = np.hypot(dy, dx)  # > 0 for masked pixels
    uy, ux = dy / d1, dx / d1
    d2 = np.full(ys.shape, np.inf)
    p2y, p2x = p1y.copy(), p1x.copy()
    pending = np.ones(ys.shape, bool)
    for step in range(1, max_span + 1):
        qy = np.rint(ys + uy * step).astype(np.int64)
        qx = np.rint(xs + ux * step).astype(np.int64)
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        pending &= inside  # walked off the image: fall back to p1 only
        cy, cx = np.clip(qy, 0, h - 1), np.clip(qx, 0, w - 1)
        found = pending & (mask[cy, cx] == 0)
        p2y[found], p2x[found], d2[found] = cy[found], cx[found], step
        pending &= ~found
        if not pending.any():
            break
    v1 = image[p1y, p1x].astype(np.float64)
    v2 = image[p2y, p2x].astype(np.float64)
    t = np.where(np.isfinite(d2), d1 / (d1 + np.where(np.isfinite(d2), d2, 1.0)), 0.0)[:, None]
    out[ys, xs] = np.clip(np.rint((1 - t) * v1 + t * v2), 0, 255).astype(np.uint8)
    return out


def diffusion_fill(image: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """Fill masked pixels by PDE inpainting (OpenCV Navier-Stokes, ``cv2.INPAINT_NS``)."""
    check_image(image)
    mask = check_mask(mask, shape=image.shape[:2])
    if not mask.any():
        return image.copy()
    return cv2.inpaint(image, mask, radius, cv2.INPAINT_NS)


def remove_hair(
    image: np.ndarray,
    mode: HairMode = "auto",
    dense_threshold: int = DEFAULT_DENSE_THRESHOLD,
    threshold: float = DEFAULT_HAIR_THRESHOLD,
    line_length: int | None = None,
) -> HairResult:
    """Detect hair and repair it (see the module docstring for the two repair methods).

    Args:
        image: (H, W, 3) uint8 RGB.
        mode: "auto" (dense if N > dense_threshold, else sparse), "sparse" or "dense".
        dense_threshold: T, the component count above which "auto" chooses dense repair.
        threshold: detection threshold, see :func:`detect_hair`.
        line_length: structuring-element length, see :func:`detect_hair`.

    Returns:
        HairResult with the repaired image, the hair mask, N and the mode used.
    """
    check_image(image)
    if mode not in ("auto", "sparse", "dense"):
        raise ValueError(f"mode must be 'auto', 'sparse' or 'dense', got {mode!r}")
    if dense_threshold < 0:
        raise ValueError(f"dense_threshold must be >= 0, got {dense_threshold}")
    hair = detect_hair(image, threshold=threshold, line_length=line_length)
    n = count_components(hair)
    if n == 0:
        return HairResult(image.copy(), hair, 0, "none")
    used = mode if mode != "auto" else ("dense" if n > dense_threshold else "sparse")
    grown = cv2.dilate(hair, np.ones((3, 3), np.uint8))  # hair edges are half-dark: repair them too
    repaired = diffusion_fill(image, grown) if used == "dense" else interpolate_fill(image, grown)
    return HairResult(repaired, hair, n, used)
