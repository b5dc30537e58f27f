"""One synthetic photograph: lesion geometry, skin, rendering, re-shots, vignette, frame, hairs.

:func:`render_scene` draws skin and lesion once per lesion; :func:`render_view` photographs it
(optionally re-shot with a small warp), adds lens vignetting, the black dermatoscope frame and
hairs, and returns the image with its exact masks. :func:`synthesize_image` is the public door
for a single image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from dermkit.data.synthetic.classes import STYLES, SyntheticArgumentError, check_label
from dermkit.data.synthetic.metadata import sample_metadata
from dermkit.data.synthetic.paint import PAINTERS
from dermkit.data.synthetic.texture import bezier_points, mix, network, noise, smoothstep

HAIR_DENSITIES: tuple[str, ...] = ("sparse", "dense")

#: Dermoscopic skin tones, RGB: light pink to tan (calibrated on HAM10000 backgrounds).
_SKIN_TONES: np.ndarray = np.array(
    [
        [222, 178, 182],
        [210, 160, 168],
        [228, 180, 178],
        [200, 150, 155],
        [215, 165, 166],
        [190, 140, 148],
        [226, 160, 168],
        [196, 146, 150],
    ],
    dtype=np.float32,
)

#: Textures are drawn at most this many pixels on the shorter side, then upsampled (speed).
_WORK_SIDE = 128


@dataclass
class SynthImage:
    """One synthetic dermoscopy image and its exact ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB, the final image (with hairs and frame when requested).
        hair_free: (H, W, 3) uint8, the same image without hairs (frame still in): the
            ground truth for hair removal; equal to ``image`` wherever ``hair_mask`` is 0.
        lesion_mask: (H, W) uint8 {0, 1}; frame pixels are never lesion.
        hair_mask: (H, W) uint8 {0, 1}, exactly the pixels hairs changed (zeros without hair).
        frame_mask: (H, W) uint8 {0, 1}, 1 = black lens-frame pixels (zeros without frame).
        label: one of :data:`~dermkit.data.records.HAM10000_CLASSES`.
        age: years (a multiple of 5) or NaN when unknown.
        sex: one of :data:`~dermkit.data.records.SEXES`.
        site: one of :data:`~dermkit.data.records.SITES`.
    """

    image: np.ndarray
    hair_free: np.ndarray
    lesion_mask: np.ndarray
    hair_mask: np.ndarray
    frame_mask: np.ndarray
    label: str
    age: float
    sex: str
    site: str


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` as ints, refusing sizes below 16 px (too small to draw a lesion in)."""
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SyntheticArgumentError(f"size must be (height, width), got {size!r}") from None
    if h < 16 or w < 16:
        raise SyntheticArgumentError(f"size must be at least (16, 16) pixels, got {(h, w)}")
    return h, w


@dataclass(frozen=True)
class Lesion:
    """Everything that stays the same across views of one lesion."""

    label: str
    skin: np.ndarray  # (3,) base skin colour
    centre: tuple[float, float]  # offset from image centre, fraction of half the shorter side
    radius: float  # mean radius, fraction of half the shorter side
    aspect: float  # minor/major axis ratio
    angle: float  # orientation, radians
    harmonics: np.ndarray  # (K, 3): order, amplitude, phase of the border's Fourier terms
    lobes: np.ndarray  # (L, 3): dx, dy, radius of vascular lobules (empty otherwise)
    softness: float
    gain: np.ndarray  # (3,) camera white balance
    texture_seed: int


def sample_lesion(rng: np.random.Generator, label: str) -> Lesion:
    """Draw a lesion's shape, skin and camera from its class style."""
    style = STYLES[label]
    radius = rng.uniform(*style.radius)
    orders = np.arange(2, 9)
    # Amplitudes fall off with order (smooth border), split at random across orders.
    weights = rng.dirichlet(np.ones(len(orders))) / (orders / 2.0) ** 1.2
    # Cap each term so no single high order dominates (that draws a star, not a lesion).
    amps = np.minimum(weights / weights.sum() * rng.uniform(*style.irregularity), 0.12 / (orders / 2.0) ** 0.5)
    if label == "mel":  # asymmetry: a strong first harmonic pushes the lesion to one side
        orders = np.concatenate([[1], orders])
        amps = np.concatenate([[rng.uniform(0.05, 0.18)], amps])
    harmonics = np.stack([orders, amps, rng.uniform(0, 2 * np.pi, len(orders))], axis=1).astype(np.float32)
    lobes = np.zeros((0, 3), np.float32)
    if label == "vasc":
        k = int(rng.integers(2, 6))
        ang = rng.uniform(0, 2 * np.pi, k)
        dist = rng.uniform(0.0, 0.75, k) * radius
        lobes = np.stack([np.cos(ang) * dist, np.sin(ang) * dist, rng.uniform(0.35, 0.6, k) * radius], 1)
        lobes = lobes.astype(np.float32)
    # Keep the whole lesion inside the image, with a margin for the view shift.
    extent = (
        radius * (1 + amps.sum())
        if label != "vasc"
        else float((np.hypot(lobes[:, 0], lobes[:, 1]) + lobes[:, 2]).max())
    )
    scale = min(1.0, 0.95 / extent)
    room = max(0.0, 1.0 - extent * scale)
    centre = tuple(rng.uniform(-1, 1, 2) * min(room, 0.15))
    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.9, 1.06) + rng.normal(0, 3, 3)
    return Lesion(
        label=label,
        skin=np.clip(skin, 90, 250).astype(np.float32),
        centre=centre,
        radius=radius * scale,
        aspect=rng.uniform(*style.aspect),
        angle=rng.uniform(0, np.pi),
        harmonics=harmonics,
        lobes=lobes * scale,
        softness=rng.uniform(*style.softness),
        gain=(rng.normal(1.0, 0.04) + rng.normal(0.0, 0.015, 3)).astype(np.float32),
        texture_seed=int(rng.integers(2**31)),
    )


def _distance_field(lesion: Lesion, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 normalised distance: 0 at the lesion centre, 1 on its border, >1 outside."""
    h, w = hw
    s = min(h, w) / 2.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = (xx - (w - 1) / 2) / s - lesion.centre[0]
    dy = (yy - (h - 1) / 2) / s - lesion.centre[1]
    if len(lesion.lobes):
        d = np.full((h, w), np.inf, np.float32)
        for lx, ly, lr in lesion.lobes:
            d = np.minimum(d, np.hypot(dx - lx, dy - ly) / lr)
    else:
        ca, sa = math.cos(lesion.angle), math.sin(lesion.angle)
        u = dx * ca + dy * sa
        v = (-dx * sa + dy * ca) / lesion.aspect
        rho = np.hypot(u, v)
        # Border radius as a function of angle, tabulated on 720 bins (cheaper than K cosines per pixel).
        table = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        order, amp, phase = lesion.harmonics[:, 0:1], lesion.harmonics[:, 1:2], lesion.harmonics[:, 2:3]
        border = lesion.radius * (1 + (amp * np.cos(order * table[None] + phase)).sum(0))
        idx = ((np.arctan2(v, u) + np.pi) * (720 / (2 * np.pi))).astype(np.int32) % 720
        d = rho / np.maximum(border[idx], 0.02).astype(np.float32)
    # Fine border wobble, scaled with irregularity so regular classes stay regular.
    wobble = 0.02 + 0.25 * float(lesion.harmonics[:, 1].sum())
    return (d * (1 + wobble * 0.35 * noise(rng, hw, 10))).astype(np.float32)


def render_scene(lesion: Lesion, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Skin + lesion (no vignette, frame or hair): (H, W, 3) float32 and (H, W) uint8 lesion mask.

    Drawn at a working resolution of at most :data:`_WORK_SIDE` px on the shorter side and
    upsampled; the mask is thresholded from the upsampled distance field, so it matches the colours.
    """
    rng = np.random.default_rng(lesion.texture_seed)
    h, w = hw
    f = min(1.0, _WORK_SIDE / min(h, w))
    work = (max(8, int(round(h * f))), max(8, int(round(w * f))))
    # Skin: low-frequency tone variation (mostly brightness), finer mottling, faint skin-line mesh.
    tone = 0.045 * noise(rng, work, 2.5)[..., None] + 0.012 * noise(rng, work, 3, 3)
    tone = tone + 0.03 * noise(rng, work, 6)[..., None]
    skin = lesion.skin[None, None, :] * (1 + tone) + 5.0 * noise(rng, work, min(work) / 6)[..., None]
    skin = mix(skin, np.minimum(lesion.skin * 1.12, 255), network(rng, work, rng.uniform(30, 45), 0.35) * 0.25)

    d = _distance_field(lesion, work, rng)
    colour, opacity = PAINTERS[lesion.label](rng, d, lesion.skin)
    # Border blend: alpha is 0.5 on the mask border, wide for ill-defined classes.
    alpha = opacity * smoothstep((1 - d) / (2 * lesion.softness) + 0.5)
    scene = (skin + (colour - skin) * alpha[..., None]) * lesion.gain
    if work != hw:
        scene = cv2.resize(scene, (w, h), interpolation=cv2.INTER_CUBIC)
        d = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
    scene = scene + 2.0 * rng.standard_normal((h, w, 1), dtype=np.float32)  # sensor grain, full res
    return scene, (d < 1).astype(np.uint8)


def _warp(scene: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Re-photograph the same lesion: small rotation, shift, zoom and exposure change."""
    h, w = mask.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-25, 25), rng.uniform(0.93, 1.07))
    m[:, 2] += rng.uniform(-0.05, 0.05, 2) * min(h, w)
    scene = cv2.warpAffine(scene, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return scene * rng.uniform(0.9, 1.1) * rng.normal(1.0, 0.02, 3).astype(np.float32), mask


def _vignette_and_frame(rng: np.random.Generator, scene: np.ndarray, frame: bool) -> tuple[np.ndarray, np.ndarray]:
    """Lens vignetting, and optionally the black corners of a round dermatoscope (+ its mask)."""
    h, w = scene.shape[:2]
    cy, cx = (h - 1) / 2 + rng.uniform(-0.04, 0.04) * h, (w - 1) / 2 + rng.uniform(-0.04, 0.04) * w
    yy = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
    xx = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
    r = np.sqrt(yy * yy + xx * xx)
    half_diag = math.hypot(h, w) / 2
    shade = 1 - rng.uniform(0.05, 0.25) * (r / half_diag) ** 2
    if not frame:
        return scene * shade[..., None], np.zeros((h, w), np.uint8)
    # Circle radius as a fraction of the diagonal: 0.38-0.48 (>= 0.5 would leave the corners lit).
    radius = rng.uniform(0.38, 0.48) * 2 * half_diag
    band = rng.uniform(0.04, 0.1) * half_diag
    shade = shade * (0.3 + 0.7 * smoothstep((radius - r) / band))  # darkening near the rim
    frame_mask = (r >= radius).astype(np.uint8)
    black = rng.uniform(4, 16) + 3 * rng.standard_normal((h, w), np.float32)
    scene = scene * shade[..., None]
    scene = np.where(frame_mask[..., None] > 0, np.clip(black, 0, 30)[..., None], scene)
    return scene, frame_mask


def _draw_hairs(rng: np.random.Generator, hw: tuple[int, int], density: str) -> np.ndarray:
    """(H, W) uint8: 0 = no hair, else the hair's brightness factor x 255 (1-3 px curves at 256 px)."""
    h, w = hw
    layer = np.zeros(hw, np.uint8)
    count = int(rng.integers(2, 7)) if density == "sparse" else int(rng.integers(12, 26))
    unit = min(h, w) / 256
    for _ in range(count):
        p0 = rng.uniform([-0.1 * w, -0.1 * h], [1.1 * w, 1.1 * h])
        pts = bezier_points(rng, p0, rng.uniform(0.25, 0.8) * max(h, w), 0.35, n=32)
        thickness = max(1, int(round(rng.choice([1, 1, 1.5, 2, 2.5]) * unit)))
        factor = int(rng.uniform(0.12, 0.45) * 255)
        cv2.polylines(layer, [pts], False, factor, thickness, lineType=cv2.LINE_8)
    return layer


def render_view(
    lesion: Lesion,
    hw: tuple[int, int],
    rng: np.random.Generator,
    perturb: bool,
    hair: bool,
    frame: bool,
    hair_density: str,
    scene: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """One photograph of ``lesion``: (image, hair_free, lesion_mask, hair_mask, frame_mask)."""
    colour, lesion_mask = scene if scene is not None else render_scene(lesion, hw)
    if perturb:
        colour, lesion_mask = _warp(colour, lesion_mask, rng)
    colour, frame_mask = _vignette_and_frame(rng, colour, frame)
    lesion_mask = lesion_mask * (1 - frame_mask)
    # Floor of 3: hairs darken multiplicatively, so every hair pixel gets strictly darker.
    hair_free = np.clip(colour + 0.5, 3, 255).astype(np.uint8)
    image = hair_free.copy()
    hair_mask = np.zeros(hw, np.uint8)
    if hair:
        layer = _draw_hairs(rng, hw, hair_density) * (1 - frame_mask)
        hair_mask = (layer > 0).astype(np.uint8)
        tint = np.array([1.0, 0.88, 0.8], np.float32) * rng.uniform(0.8, 1.0)  # dark brown to black
        sel = hair_mask > 0
        image[sel] = (hair_free[sel] * (layer[sel, None] / 255.0) * tint).astype(np.uint8)
    return image, hair_free, lesion_mask, hair_mask, frame_mask


def synthesize_image(
    rng: np.random.Generator,
    label: str,
    size: tuple[int, int] = (256, 256),
    hair: bool = False,
    frame: bool = False,
    hair_density: str = "sparse",
) -> SynthImage:
    """Draw one synthetic dermoscopy image of class ``label`` with its exact masks.

    Args:
        rng: source of randomness; the same generator state gives the same image.
        label: one of :data:`~dermkit.data.records.HAM10000_CLASSES`.
        size: (height, width) in pixels, at least 16 each.
        hair: draw hairs (dark thin curves); ``hair_mask`` holds exactly their pixels.
        frame: add the black corners of a round dermatoscope lens; ``frame_mask`` marks them.
        hair_density: "sparse" (2-6 hairs) or "dense" (12-25 hairs).
    """
    check_label(label)
    hw = check_size(size)
    if hair_density not in HAIR_DENSITIES:
        raise SyntheticArgumentError(f"hair_density must be one of {HAIR_DENSITIES}, got {hair_density!r}")
    lesion = sample_lesion(rng, label)
    age, sex, site = sample_metadata(rng, label)
    image, hair_free, lesion_mask, hair_mask, frame_mask = render_view(
        lesion, hw, rng, perturb=False, hair=hair, frame=frame, hair_density=hair_density
    )
    return SynthImage(image, hair_free, lesion_mask, hair_mask, frame_mask, label, age, sex, site)
