"""Synthetic dermoscopy images: the embedded default data set, with exact ground truth.

Every image is skin (tone, low-frequency texture, vignetting) with one lesion whose colour,
texture, border and size follow its class, plus optional hairs and a black lens frame. Because
the generator draws them, the lesion, hair and frame masks are exact, and the hair-free image is
known, which makes the data set a test bed for segmentation, classification *and* hair removal.

:func:`write_synthetic_dataset` writes the HAM10000 distribution layout (so the HAM10000 reader
loads it unchanged), with several views of some lesions so that lesion-grouped splitting matters
and metadata (age, sex, site) that correlates with the class the way the real data roughly does.
As in real dermoscopy, some lesions look like another class (a nevus drawn like a melanoma, a
keratosis like a carcinoma, ...: ``lookalike``), so the image alone cannot name every lesion and
the patient metadata (drawn from the true class) carries information the pixels lack.

Everything is drawn from ``numpy.random.Generator`` streams derived from one seed per lesion and
per view, so the files are byte-identical for the same arguments whatever the worker count.
Textures are drawn at low resolution and upsampled with OpenCV, so generation is fast (well over
50 images/s at 256x256 on one core, JPEG writing included; see ``benchmarks/bench_synthetic.py``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dermkit.data.records import HAM10000_CLASSES, SEXES, SITES
from dermkit.errors import ConfigError
from dermkit.imageio import write_image, write_mask

#: Images per class in HAM10000 (10,015 images), the "ham10000" class mix.
HAM10000_COUNTS: dict[str, int] = {
    "akiec": 327, "bcc": 514, "bkl": 1099, "df": 115, "mel": 1113, "nv": 6705, "vasc": 142,
}
BALANCES: tuple[str, ...] = ("ham10000", "balanced")
HAIR_DENSITIES: tuple[str, ...] = ("sparse", "dense")
METADATA_COLUMNS: tuple[str, ...] = ("lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization")
IMAGE_DIR = "HAM10000_images"
MASK_DIR = "HAM10000_segmentations_lesion_tschandl"
TRUTH_DIR = "synthetic_truth"

RGB = tuple[float, float, float]


class SyntheticArgumentError(ConfigError, ValueError):
    """An invalid generator argument (a ValueError too, for plain-Python callers)."""


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


# ----------------------------------------------------------------------------- class styles


@dataclass(frozen=True)
class _Style:
    """How one class looks and who has it. Ranges are (low, high) for uniform draws.

    ``radius`` is the mean lesion radius as a fraction of half the shorter image side,
    ``irregularity`` the total amplitude of the border's Fourier harmonics, ``softness`` the
    width of the border blend as a fraction of the radius (large = ill-defined border).
    """

    radius: tuple[float, float]
    irregularity: tuple[float, float]
    softness: tuple[float, float]
    aspect: tuple[float, float]
    age_mean: float
    male_prob: float
    sites: dict[str, float]


# Ages and sites from HAM10000 (mean age: akiec 67, bcc 66, bkl 65, mel 61, df 55, vasc 52, nv 46
# there; the spread below keeps every class overlapping every other, so metadata helps, not decides).
_STYLES: dict[str, _Style] = {
    "akiec": _Style((0.5, 0.85), (0.08, 0.18), (0.25, 0.45), (0.7, 1.0), 67, 0.62,
                    {"face": 5, "upper extremity": 2.5, "neck": 1.2, "scalp": 1, "hand": 1, "back": 1,
                     "chest": 0.6, "lower extremity": 0.8, "ear": 0.5, "trunk": 0.4}),
    "bcc": _Style((0.45, 0.8), (0.06, 0.16), (0.12, 0.25), (0.7, 1.0), 66, 0.6,
                  {"face": 3, "back": 3, "neck": 1, "upper extremity": 1.5, "chest": 1.2, "trunk": 1,
                   "lower extremity": 1, "scalp": 0.5, "ear": 0.4, "abdomen": 0.5}),
    "bkl": _Style((0.5, 0.85), (0.06, 0.16), (0.06, 0.14), (0.65, 1.0), 64, 0.53,
                  {"face": 2.5, "back": 2.5, "trunk": 1.5, "upper extremity": 1.5, "lower extremity": 1.5,
                   "chest": 1, "abdomen": 0.8, "neck": 0.6, "scalp": 0.5, "hand": 0.3}),
    "df": _Style((0.32, 0.55), (0.02, 0.07), (0.15, 0.28), (0.7, 1.0), 52, 0.45,
                 {"lower extremity": 7, "upper extremity": 1.5, "trunk": 0.8, "back": 0.5, "abdomen": 0.3}),
    "mel": _Style((0.6, 0.95), (0.1, 0.28), (0.06, 0.14), (0.6, 1.0), 60, 0.6,
                  {"back": 3.5, "upper extremity": 2, "trunk": 1.5, "lower extremity": 2, "face": 1.5,
                   "chest": 0.8, "abdomen": 0.8, "neck": 0.4, "scalp": 0.3, "foot": 0.3, "acral": 0.1}),
    "nv": _Style((0.38, 0.72), (0.02, 0.1), (0.08, 0.16), (0.65, 1.0), 42, 0.5,
                 {"trunk": 2.5, "back": 3, "lower extremity": 3, "abdomen": 2, "upper extremity": 1.2,
                  "chest": 0.6, "foot": 0.6, "face": 0.3, "genital": 0.1, "neck": 0.2, "hand": 0.1,
                  "scalp": 0.1}),
    "vasc": _Style((0.3, 0.55), (0.02, 0.06), (0.03, 0.07), (0.7, 1.0), 50, 0.48,
                   {"lower extremity": 2.5, "trunk": 2, "abdomen": 1.2, "upper extremity": 1.5, "back": 1,
                    "face": 1, "genital": 0.4, "hand": 0.3}),
}

#: Dermoscopic skin tones, RGB: light pink to tan (calibrated on HAM10000 backgrounds).
_SKIN_TONES: np.ndarray = np.array([
    [222, 178, 182], [210, 160, 168], [228, 180, 178], [200, 150, 155],
    [215, 165, 166], [190, 140, 148], [226, 160, 168], [196, 146, 150],
], dtype=np.float32)

_AGE_SD = 14.0  # years, every class
_MISSING_PROB = 0.02  # fraction of unknown sex / unknown site / missing age, each

#: Fraction of lesions drawn like another class by default: the pixels alone then allow a balanced
#: accuracy of about 0.65 and pixels + metadata about 0.72 (see :func:`bayes_limits`).
DEFAULT_LOOKALIKE = 0.35

#: Classes a lesion of each class can be mistaken for (dermoscopic look-alikes, one drawn at random).
LOOKALIKES: dict[str, tuple[str, ...]] = {
    "akiec": ("bkl", "bcc"), "bcc": ("akiec", "bkl"), "bkl": ("mel", "akiec"), "df": ("nv",),
    "mel": ("nv", "bkl"), "nv": ("mel", "df"), "vasc": ("bcc",),
}


# ----------------------------------------------------------------------------- small helpers


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SyntheticArgumentError(f"size must be (height, width), got {size!r}") from None
    if h < 16 or w < 16:
        raise SyntheticArgumentError(f"size must be at least (16, 16) pixels, got {(h, w)}")
    return h, w


def _check_label(label: str) -> None:
    if label not in HAM10000_CLASSES:
        raise SyntheticArgumentError(f"unknown label {label!r}; expected one of {', '.join(HAM10000_CLASSES)}")


def _noise(rng: np.random.Generator, hw: tuple[int, int], cells: float, channels: int = 1) -> np.ndarray:
    """Smooth noise, unit std: a coarse Gaussian grid (``cells`` across the shorter side) upsampled.

    Returns (H, W) float32 or (H, W, channels) when ``channels`` > 1.
    """
    h, w = hw
    short = min(h, w)
    gh = max(2, int(round(cells * h / short)) + 1)
    gw = max(2, int(round(cells * w / short)) + 1)
    grid = rng.standard_normal((gh, gw, channels) if channels > 1 else (gh, gw)).astype(np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    # Upsampled noise loses variance; renormalise so amplitudes mean the same at every size.
    return out / max(float(out.std()), 1e-6)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _mix(base: np.ndarray, colour: RGB | np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blend (H, W, 3) ``base`` toward ``colour`` by (H, W) ``weight`` in [0, 1]."""
    col = np.asarray(colour, dtype=np.float32)
    return base + (col - base) * weight[..., None]


def _jitter(rng: np.random.Generator, rgb: RGB, sd: float) -> np.ndarray:
    """``rgb`` with a random brightness change (~sd) and a smaller hue change (independent
    per-channel jitter of the full size would turn browns olive or grey)."""
    col = np.asarray(rgb, np.float32) * (1 + rng.normal(0.0, sd / 160)) + rng.normal(0.0, sd / 3, 3)
    return np.clip(col, 0, 255).astype(np.float32)


def _between(rng: np.random.Generator, a: RGB, b: RGB, sd: float = 8.0) -> np.ndarray:
    """A colour on the segment a-b (random position) plus jitter."""
    t = rng.random()
    return _jitter(rng, tuple(np.asarray(a) * (1 - t) + np.asarray(b) * t), sd)


def _bezier_points(rng: np.random.Generator, p0: np.ndarray, length: float, bend: float, n: int = 24) -> np.ndarray:
    """(n, 2) int32 points of a random quadratic Bézier curve starting at ``p0``."""
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    p2 = p0 + direction * length
    p1 = (p0 + p2) / 2 + np.array([-direction[1], direction[0]]) * length * bend * rng.uniform(-1, 1)
    t = np.linspace(0, 1, n)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
    return np.round(pts).astype(np.int32)


# ----------------------------------------------------------------------------- lesion geometry


@dataclass(frozen=True)
class _Lesion:
    """Everything that stays the same across views of one lesion."""

    label: str
    skin: np.ndarray              # (3,) base skin colour
    centre: tuple[float, float]   # offset from image centre, fraction of half the shorter side
    radius: float                 # mean radius, fraction of half the shorter side
    aspect: float                 # minor/major axis ratio
    angle: float                  # orientation, radians
    harmonics: np.ndarray         # (K, 3): order, amplitude, phase of the border's Fourier terms
    lobes: np.ndarray             # (L, 3): dx, dy, radius of vascular lobules (empty otherwise)
    softness: float
    gain: np.ndarray              # (3,) camera white balance
    texture_seed: int


def _sample_lesion(rng: np.random.Generator, label: str) -> _Lesion:
    """Draw a lesion's shape, skin and camera from its class style."""
    style = _STYLES[label]
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
    extent = radius * (1 + amps.sum()) if label != "vasc" else float(
        (np.hypot(lobes[:, 0], lobes[:, 1]) + lobes[:, 2]).max())
    scale = min(1.0, 0.95 / extent)
    room = max(0.0, 1.0 - extent * scale)
    centre = tuple(rng.uniform(-1, 1, 2) * min(room, 0.15))
    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.9, 1.06) + rng.normal(0, 3, 3)
    return _Lesion(
        label=label, skin=np.clip(skin, 90, 250).astype(np.float32), centre=centre,
        radius=radius * scale, aspect=rng.uniform(*style.aspect), angle=rng.uniform(0, np.pi),
        harmonics=harmonics, lobes=lobes * scale, softness=rng.uniform(*style.softness),
        gain=(rng.normal(1.0, 0.04) + rng.normal(0.0, 0.015, 3)).astype(np.float32),
        texture_seed=int(rng.integers(2**31)),
    )


def _distance_field(lesion: _Lesion, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
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
    return (d * (1 + wobble * 0.35 * _noise(rng, hw, 10))).astype(np.float32)


# ----------------------------------------------------------------------------- class painters
# A painter gets the distance field and a texture generator and returns the lesion colour
# (H, W, 3) float32 and its opacity (H, W) float32 in [0, 1]; the border blend comes after.

Painter = Callable[[np.random.Generator, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _network(rng: np.random.Generator, hw: tuple[int, int], cells: float, width: float) -> np.ndarray:
    """(H, W) in [0, 1]: a labyrinth of thin lines (zero crossings of smooth noise), a pigment network."""
    return _smoothstep(1 - np.abs(_noise(rng, hw, cells)) / width)


def _dots(rng: np.random.Generator, hw: tuple[int, int], d: np.ndarray, count: int, radius: float,
          where: tuple[float, float]) -> np.ndarray:
    """(H, W) float32 {0, 1}: ``count`` filled circles (radius in px) at lesion depths ``where``."""
    layer = np.zeros(hw, np.uint8)
    ys, xs = np.nonzero((d > where[0]) & (d < where[1]))
    if len(ys) == 0:
        return layer.astype(np.float32)
    for i in rng.integers(0, len(ys), count):
        r = max(1, int(round(radius * rng.uniform(0.6, 1.4))))
        cv2.circle(layer, (int(xs[i]), int(ys[i])), r, 1, -1)
    return cv2.GaussianBlur(layer.astype(np.float32), (3, 3), 0.7)  # no square 1-px dots


def _paint_nv(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = _between(rng, (190, 125, 105), (120, 68, 58), 10)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32)
    col = col * (1 - 0.14 * _smoothstep(1 - d))[..., None]            # darker centre
    col = col * (1 + 0.04 * _noise(rng, hw, 6))[..., None]
    net = _network(rng, hw, rng.uniform(28, 40), 0.45) * rng.uniform(0.0, 0.3)
    col = _mix(col, base * 0.62, net)
    if rng.random() < 0.25:  # globules / a few dots
        col = _mix(col, base * 0.6, _dots(rng, hw, d, int(rng.integers(3, 12)), min(hw) / 90, (0.0, 0.8)))
    opacity = np.full(hw, rng.uniform(0.75, 0.95), np.float32) * (1 - 0.3 * _smoothstep((d - 0.6) / 0.4))
    return col, opacity


def _paint_mel(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = _between(rng, (165, 100, 90), (105, 58, 52), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.08 * _noise(rng, hw, 5))[..., None]
    patches = [((55, 32, 38), 0.9), ((112, 110, 138), 0.75), ((190, 95, 100), 0.6), ((190, 180, 195), 0.35)]
    for colour, prob in patches:  # dark, blue-grey, red, regression-white, each maybe present
        if rng.random() < prob:
            field = _noise(rng, hw, rng.uniform(3, 7))
            level = rng.uniform(0.4, 1.4)
            col = _mix(col, _jitter(rng, colour, 10), _smoothstep((field - level) / 1.0) * 0.85)
    col = col * (1 + 0.06 * _noise(rng, hw, rng.uniform(20, 30)))[..., None]  # granular texture
    net = _network(rng, hw, rng.uniform(22, 34), 0.5) * rng.uniform(0.2, 0.55)
    col = _mix(col, base * 0.45, net * _smoothstep((_noise(rng, hw, 4) + 0.5) / 1.0))  # atypical network
    if rng.random() < 0.6:  # irregular dots and globules toward the periphery
        dots = _dots(rng, hw, d, int(rng.integers(4, 20)), min(hw) / 110, (0.5, 1.0))
        col = _mix(col, (50, 30, 35), dots * 0.8)
    opacity = np.full(hw, rng.uniform(0.85, 1.0), np.float32)
    return col, opacity


def _paint_bkl(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = _between(rng, (195, 145, 120), (140, 95, 80), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32)
    mottle = _noise(rng, hw, rng.uniform(6, 10)) * 0.1 + _noise(rng, hw, rng.uniform(18, 28)) * 0.07
    col = col * (1 + mottle)[..., None]
    ridges = _network(rng, hw, rng.uniform(12, 20), 0.6)  # cerebriform fissures and ridges
    col = _mix(col, base * 0.75, ridges * rng.uniform(0.1, 0.35))
    if rng.random() < 0.6:  # milia-like cysts: small whitish dots
        col = _mix(col, (235, 220, 205), _dots(rng, hw, d, int(rng.integers(2, 10)), min(hw) / 110, (0, 0.9)))
    if rng.random() < 0.3:  # comedo-like openings: dark brown plugs
        col = _mix(col, (90, 60, 50), _dots(rng, hw, d, int(rng.integers(2, 8)), min(hw) / 110, (0, 0.9)))
    opacity = np.clip(rng.uniform(0.6, 0.9) + 0.08 * _noise(rng, hw, 6), 0, 1)
    return col, opacity


def _paint_bcc(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    h, w = hw
    base = _between(rng, (235, 195, 198), (212, 150, 158), 9)  # pearly, translucent pink-white
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.05 * _noise(rng, hw, 8))[..., None]
    # Arborizing vessels: thin red branching curves from inside the lesion.
    vessels = np.zeros(hw, np.uint8)
    ys, xs = np.nonzero(d < 0.8)
    if len(ys):
        for i in rng.integers(0, len(ys), int(rng.integers(2, 8))):
            p0 = np.array([xs[i], ys[i]], np.float64)
            for _ in range(int(rng.integers(2, 5))):  # a trunk and branches from the same root
                pts = _bezier_points(rng, p0, rng.uniform(0.04, 0.16) * min(h, w), 0.9)
                cv2.polylines(vessels, [pts], False, 1, max(1, round(min(h, w) / 256)))
    col = _mix(col, _jitter(rng, (180, 55, 70), 12), vessels.astype(np.float32) * (d < 1.05) * rng.uniform(0.45, 0.8))
    if rng.random() < 0.55:  # blue-grey ovoid nests
        nests = _dots(rng, hw, d, int(rng.integers(1, 7)), min(hw) / 40, (0, 0.8))
        nests = cv2.GaussianBlur(nests, (0, 0), min(hw) / 120)
        col = _mix(col, _jitter(rng, (105, 105, 130), 8), nests * 0.85)
    if rng.random() < 0.2:  # ulceration: a dark red-brown crust
        col = _mix(col, (120, 50, 45), _smoothstep((_noise(rng, hw, 5) - 1.2) / 0.4) * (d < 0.8))
    opacity = np.full(hw, rng.uniform(0.55, 0.85), np.float32) + 0.25 * vessels
    return col, np.clip(opacity, 0, 1)


def _paint_akiec(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = _between(rng, (222, 130, 128), (190, 105, 105), 10)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.07 * _noise(rng, hw, 7))[..., None]
    # Scale: whitish flakes, from thresholded fine noise.
    scale = _smoothstep((_noise(rng, hw, rng.uniform(30, 45)) - rng.uniform(0.9, 1.5)) / 0.5)
    col = _mix(col, (232, 215, 210), scale * rng.uniform(0.4, 0.75))
    # "Strawberry" pattern: red pseudo-network around whitish follicle openings.
    red = _jitter(rng, (195, 75, 85), 10)
    col = _mix(col, red, _network(rng, hw, rng.uniform(24, 34), 0.45) * rng.uniform(0.2, 0.5))
    follicles = _dots(rng, hw, d, int(rng.integers(3, 20)), min(hw) / 140, (0, 0.9))
    col = _mix(col, (236, 222, 215), follicles * 0.6)
    opacity = np.clip(rng.uniform(0.5, 0.75) + 0.15 * _noise(rng, hw, 5), 0, 1)
    return col, opacity


def _paint_df(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    ring = _between(rng, (185, 125, 105), (150, 98, 85), 10)
    centre = _jitter(rng, (232, 210, 205), 8)
    col = np.broadcast_to(ring, (*hw, 3)).astype(np.float32)
    net = _network(rng, hw, rng.uniform(28, 40), 0.45)
    col = _mix(col, ring * 0.75, net * 0.4)  # delicate peripheral network
    edge = rng.uniform(0.35, 0.6)
    patch = _smoothstep((edge - d + 0.12 * _noise(rng, hw, 8)) / 0.2)  # central white scar-like patch
    col = _mix(col, centre, patch * rng.uniform(0.6, 0.95))
    opacity = np.full(hw, rng.uniform(0.7, 0.9), np.float32)
    return col, opacity


def _paint_vasc(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = _between(rng, (195, 50, 75), (115, 35, 85), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.1 * _noise(rng, hw, 9))[..., None]
    col = col * (1 - 0.2 * _smoothstep(1 - d))[..., None]  # lacunae darker in the middle
    septa = _network(rng, hw, rng.uniform(7, 11), 0.2) * rng.uniform(0.0, 0.3)
    col = _mix(col, (215, 175, 185), septa)  # whitish septa between lacunae
    opacity = np.full(hw, rng.uniform(0.85, 1.0), np.float32)
    return col, opacity


_PAINTERS: dict[str, Painter] = {
    "akiec": _paint_akiec, "bcc": _paint_bcc, "bkl": _paint_bkl, "df": _paint_df,
    "mel": _paint_mel, "nv": _paint_nv, "vasc": _paint_vasc,
}


# ----------------------------------------------------------------------------- rendering


#: Textures are drawn at most this many pixels on the shorter side, then upsampled (speed).
_WORK_SIDE = 128


def _render_scene(lesion: _Lesion, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Skin + lesion (no vignette, frame or hair): (H, W, 3) float32 and (H, W) uint8 lesion mask.

    Drawn at a working resolution of at most :data:`_WORK_SIDE` px on the shorter side and
    upsampled; the mask is thresholded from the upsampled distance field, so it matches the colours.
    """
    rng = np.random.default_rng(lesion.texture_seed)
    h, w = hw
    f = min(1.0, _WORK_SIDE / min(h, w))
    work = (max(8, int(round(h * f))), max(8, int(round(w * f))))
    # Skin: low-frequency tone variation (mostly brightness), finer mottling, faint skin-line mesh.
    tone = 0.045 * _noise(rng, work, 2.5)[..., None] + 0.012 * _noise(rng, work, 3, 3)
    tone = tone + 0.03 * _noise(rng, work, 6)[..., None]
    skin = lesion.skin[None, None, :] * (1 + tone) + 5.0 * _noise(rng, work, min(work) / 6)[..., None]
    skin = _mix(skin, np.minimum(lesion.skin * 1.12, 255), _network(rng, work, rng.uniform(30, 45), 0.35) * 0.25)

    d = _distance_field(lesion, work, rng)
    colour, opacity = _PAINTERS[lesion.label](rng, d, lesion.skin)
    # Border blend: alpha is 0.5 on the mask border, wide for ill-defined classes.
    alpha = opacity * _smoothstep((1 - d) / (2 * lesion.softness) + 0.5)
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
    shade = shade * (0.3 + 0.7 * _smoothstep((radius - r) / band))  # darkening near the rim
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
        pts = _bezier_points(rng, p0, rng.uniform(0.25, 0.8) * max(h, w), 0.35, n=32)
        thickness = max(1, int(round(rng.choice([1, 1, 1.5, 2, 2.5]) * unit)))
        factor = int(rng.uniform(0.12, 0.45) * 255)
        cv2.polylines(layer, [pts], False, factor, thickness, lineType=cv2.LINE_8)
    return layer


def _render_view(lesion: _Lesion, hw: tuple[int, int], rng: np.random.Generator, perturb: bool,
                 hair: bool, frame: bool, hair_density: str,
                 scene: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """One photograph of ``lesion``: (image, hair_free, lesion_mask, hair_mask, frame_mask)."""
    colour, lesion_mask = scene if scene is not None else _render_scene(lesion, hw)
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


# ----------------------------------------------------------------------------- metadata


def _sample_metadata(rng: np.random.Generator, label: str) -> tuple[float, str, str]:
    """(age, sex, site) drawn from the class's distributions; ~2% of each unknown/missing."""
    style = _STYLES[label]
    age = float(np.clip(np.round(rng.normal(style.age_mean, _AGE_SD) / 5) * 5, 5, 85))
    sex = "male" if rng.random() < style.male_prob else "female"
    names = list(style.sites)
    p = np.array([style.sites[k] for k in names], np.float64)
    site = names[int(rng.choice(len(names), p=p / p.sum()))]
    missing = rng.random(3) < _MISSING_PROB
    return (math.nan if missing[0] else age), ("unknown" if missing[1] else sex), ("unknown" if missing[2] else site)


def _log_metadata_likelihood(label: str, age: float, sex: str, site: str) -> float:
    """log P(age, sex, site | label) under :func:`_sample_metadata` (unknown fields ignored)."""
    style = _STYLES[label]
    out = 0.0
    if not math.isnan(age):
        out -= (age - style.age_mean) ** 2 / (2 * _AGE_SD**2)
    if sex != "unknown":
        out += math.log(style.male_prob if sex == "male" else 1 - style.male_prob)
    if site != "unknown":
        out += math.log(max(style.sites.get(site, 0.0) / sum(style.sites.values()), 1e-9))
    return out


def bayes_limits(lookalike: float = DEFAULT_LOOKALIKE, n: int = 14000, seed: int = 0) -> dict[str, float]:
    """Balanced accuracy of the (approximately) Bayes-optimal classifier on balanced synthetic data.

    The classifier knows the generator: from the image it sees only which class's style drew the
    lesion ("image"), optionally also the patient metadata ("image+metadata"), or only the
    metadata ("metadata"). No trained model can beat these figures on average, so they put a
    model's synthetic scores in scale. Computed on the plan of ``n`` lesions (no image is drawn).
    """
    k = len(HAM10000_CLASSES)
    confusion = np.zeros((k, k))  # P(appearance | label)
    for i, c in enumerate(HAM10000_CLASSES):
        confusion[i, i] = 1.0 - lookalike
        for other in LOOKALIKES[c]:
            confusion[i, HAM10000_CLASSES.index(other)] += lookalike / len(LOOKALIKES[c])
    plan = _plan(n, seed, "balanced", 1.0, lookalike)
    y = np.array([HAM10000_CLASSES.index(p.label) for p in plan])
    log_image = np.log(confusion[:, [HAM10000_CLASSES.index(p.appearance) for p in plan]].T + 1e-12)
    log_meta = np.array([[_log_metadata_likelihood(c, p.age, p.sex, p.site) for c in HAM10000_CLASSES] for p in plan])

    def bma(scores: np.ndarray) -> float:
        pred = scores.argmax(1)
        return float(np.mean([np.mean(pred[y == i] == i) for i in range(k)]))

    return {"image": bma(log_image), "image+metadata": bma(log_image + log_meta), "metadata": bma(log_meta)}


# ----------------------------------------------------------------------------- public API


def synthesize_image(rng: np.random.Generator, label: str, size: tuple[int, int] = (256, 256),
                     hair: bool = False, frame: bool = False, hair_density: str = "sparse") -> SynthImage:
    """Draw one synthetic dermoscopy image of class ``label`` with its exact masks.

    Args:
        rng: source of randomness; the same generator state gives the same image.
        label: one of :data:`~dermkit.data.records.HAM10000_CLASSES`.
        size: (height, width) in pixels, at least 16 each.
        hair: draw hairs (dark thin curves); ``hair_mask`` holds exactly their pixels.
        frame: add the black corners of a round dermatoscope lens; ``frame_mask`` marks them.
        hair_density: "sparse" (2-6 hairs) or "dense" (12-25 hairs).
    """
    _check_label(label)
    hw = _check_size(size)
    if hair_density not in HAIR_DENSITIES:
        raise SyntheticArgumentError(f"hair_density must be one of {HAIR_DENSITIES}, got {hair_density!r}")
    lesion = _sample_lesion(rng, label)
    age, sex, site = _sample_metadata(rng, label)
    image, hair_free, lesion_mask, hair_mask, frame_mask = _render_view(
        lesion, hw, rng, perturb=False, hair=hair, frame=frame, hair_density=hair_density)
    return SynthImage(image, hair_free, lesion_mask, hair_mask, frame_mask, label, age, sex, site)


@dataclass(frozen=True)
class _PlannedLesion:
    index: int          # 0-based, also the seed stream of the lesion
    label: str
    appearance: str     # the class whose style draws it: ``label`` unless it is a look-alike
    n_images: int
    first_image: int    # 1-based number of its first image
    age: float
    sex: str
    site: str

    @property
    def lesion_id(self) -> str:
        return f"SYNL_{self.index + 1:07d}"

    def image_ids(self) -> list[str]:
        return [f"SYN_{self.first_image + k:07d}" for k in range(self.n_images)]


def class_image_counts(n: int, balance: str) -> dict[str, int]:
    """Images per class for ``n`` images under ``balance`` ("ham10000" or "balanced").

    "balanced" splits ``n`` equally (counts differ by at most 1). "ham10000" follows the real
    prevalence (largest remainders), but every class gets at least 2 images when ``n >= 14``
    (taken from the largest class) so that every class can be split and evaluated.
    """
    if balance not in BALANCES:
        raise SyntheticArgumentError(f"unknown balance {balance!r}; expected one of {', '.join(BALANCES)}")
    k = len(HAM10000_CLASSES)
    if balance == "balanced":
        return {c: n // k + (1 if i < n % k else 0) for i, c in enumerate(HAM10000_CLASSES)}
    prior = np.array([HAM10000_COUNTS[c] for c in HAM10000_CLASSES], np.float64)
    exact = prior / prior.sum() * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    if n >= 2 * k:
        for i in range(k):
            short = 2 - counts[i]
            if short > 0:
                counts[i] += short
                counts[int(np.argmax(counts))] -= short
    return dict(zip(HAM10000_CLASSES, (int(c) for c in counts)))


def _appearance(rng: np.random.Generator, label: str, lookalike: float) -> str:
    """The class whose style draws a lesion of class ``label``: a look-alike with prob. ``lookalike``."""
    if rng.random() < lookalike:
        options = LOOKALIKES[label]
        return options[int(rng.integers(len(options)))]
    return label


def _plan(n: int, seed: int, balance: str, images_per_lesion: float,
          lookalike: float = 0.0) -> list[_PlannedLesion]:
    """Classes, lesions, images per lesion, appearance and patient metadata for the whole data set."""
    rng = np.random.default_rng([seed, 0])
    groups: list[tuple[str, int]] = []
    for label, count in class_image_counts(n, balance).items():
        if count == 0:
            continue
        lesions = int(np.clip(round(count / images_per_lesion), min(count, 2), count))
        sizes = np.ones(lesions, int) + np.bincount(rng.integers(0, lesions, count - lesions), minlength=lesions)
        groups += [(label, int(s)) for s in sizes]
    order = rng.permutation(len(groups))
    plan, first = [], 1
    for index, g in enumerate(order):
        label, n_images = groups[g]
        age, sex, site = _sample_metadata(np.random.default_rng([seed, 1, index]), label)
        looks = _appearance(np.random.default_rng([seed, 4, index]), label, lookalike)
        plan.append(_PlannedLesion(index, label, looks, n_images, first, age, sex, site))
        first += n_images
    return plan


def _views(lesion: _PlannedLesion, seed: int, hw: tuple[int, int], hair_prob: float,
           frame_prob: float) -> Iterator[tuple[str, tuple[np.ndarray, ...]]]:
    """(image_id, rendered view) for every image of a planned lesion."""
    spec = _sample_lesion(np.random.default_rng([seed, 2, lesion.index]), lesion.appearance)
    scene = _render_scene(spec, hw)
    for k, image_id in enumerate(lesion.image_ids()):
        rng = np.random.default_rng([seed, 3, lesion.index, k])
        hair = bool(rng.random() < hair_prob)
        density = "dense" if rng.random() < 0.25 else "sparse"
        frame = bool(rng.random() < frame_prob)
        yield image_id, _render_view(spec, hw, rng, perturb=k > 0, hair=hair, frame=frame,
                                     hair_density=density, scene=scene)


def _write_lesion(job: tuple[_PlannedLesion, int, tuple[int, int], float, float, str]) -> int:
    """Render and write every image of one lesion (a top-level function so processes can run it)."""
    lesion, seed, hw, hair_prob, frame_prob, out = job
    root = Path(out)
    for image_id, (image, _, lesion_mask, hair_mask, frame_mask) in _views(lesion, seed, hw, hair_prob, frame_prob):
        write_image(root / IMAGE_DIR / f"{image_id}.jpg", image, quality=95)
        write_mask(root / MASK_DIR / f"{image_id}_segmentation.png", lesion_mask)
        write_mask(root / TRUTH_DIR / f"{image_id}_hair.png", hair_mask)
        write_mask(root / TRUTH_DIR / f"{image_id}_frame.png", frame_mask)
    return lesion.n_images


def _format_age(age: float) -> str:
    return "" if math.isnan(age) else f"{age:.1f}"


def write_synthetic_dataset(out: str | Path, n: int, seed: int = 0, size: tuple[int, int] = (150, 200),
                            balance: str = "ham10000", hair_prob: float = 0.3, frame_prob: float = 0.2,
                            images_per_lesion: float = 1.35, lookalike: float = DEFAULT_LOOKALIKE,
                            progress: bool = False, workers: int = 1) -> Path:
    """Write a synthetic dermoscopy data set in the HAM10000 layout and return ``out``.

    Layout: ``HAM10000_metadata.csv``, ``HAM10000_images/SYN_*.jpg`` (JPEG q95),
    ``HAM10000_segmentations_lesion_tschandl/*_segmentation.png`` and, beyond HAM10000,
    ``synthetic_truth/*_hair.png`` / ``*_frame.png`` masks, ``appearance.csv`` (the class whose
    style drew each image) and ``generator.json`` (the arguments).

    Args:
        out: folder to write (created; existing files of the same names are overwritten).
        n: number of images, at least 1.
        seed: master seed; the same arguments give byte-identical files.
        size: (height, width) of every image.
        balance: "ham10000" (real class prevalence, every class >= 2 images when n >= 14) or
            "balanced" (equal images per class, +-1).
        hair_prob: fraction of images with hairs (a quarter of those dense).
        frame_prob: fraction of images with the black lens frame.
        images_per_lesion: mean images per lesion (>= 1); extra images of a lesion are re-shot
            with a small shift, rotation, zoom and exposure change and different hairs.
        lookalike: fraction of lesions drawn in the style of a look-alike class (:data:`LOOKALIKES`)
            while keeping their true label and metadata; 0 makes every class visually distinct.
        progress: show a tqdm progress bar.
        workers: processes to render with; the output does not depend on it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SyntheticArgumentError(f"n must be an integer >= 1, got {n!r}")
    hw = _check_size(size)
    if balance not in BALANCES:
        raise SyntheticArgumentError(f"unknown balance {balance!r}; expected one of {', '.join(BALANCES)}")
    for name, p in (("hair_prob", hair_prob), ("frame_prob", frame_prob), ("lookalike", lookalike)):
        if not 0.0 <= p <= 1.0:
            raise SyntheticArgumentError(f"{name} must be in [0, 1], got {p!r}")
    if not images_per_lesion >= 1.0:
        raise SyntheticArgumentError(f"images_per_lesion must be >= 1, got {images_per_lesion!r}")
    if workers < 1:
        raise SyntheticArgumentError(f"workers must be >= 1, got {workers!r}")

    root = Path(out)
    for sub in (IMAGE_DIR, MASK_DIR, TRUTH_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    plan = _plan(int(n), seed, balance, images_per_lesion, lookalike)
    _write_metadata(root / "HAM10000_metadata.csv", plan)
    _write_truth_notes(root / TRUTH_DIR, plan, dict(
        n=int(n), seed=seed, size=list(hw), balance=balance, hair_prob=hair_prob, frame_prob=frame_prob,
        images_per_lesion=images_per_lesion, lookalike=lookalike))

    jobs = [(lesion, seed, hw, hair_prob, frame_prob, str(root)) for lesion in plan]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=int(n), desc="synthetic images", unit="img")
    if workers == 1:
        done = map(_write_lesion, jobs)
        _consume(done, bar)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            _consume(pool.map(_write_lesion, jobs, chunksize=8), bar)
    if bar is not None:
        bar.close()
    return root


def _consume(counts: Iterator[int], bar: object | None) -> None:
    for c in counts:
        if bar is not None:
            bar.update(c)  # type: ignore[attr-defined]


def _write_metadata(path: Path, plan: list[_PlannedLesion]) -> None:
    """HAM10000_metadata.csv: one row per image, lesions' rows adjacent as in the real file."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(METADATA_COLUMNS)
        for lesion in plan:
            for image_id in lesion.image_ids():
                writer.writerow([lesion.lesion_id, image_id, lesion.label, "synthetic",
                                 _format_age(lesion.age), lesion.sex, lesion.site])


def _write_truth_notes(folder: Path, plan: list[_PlannedLesion], args: dict) -> None:
    from dermkit import __version__

    (folder / "README.txt").write_text(
        "Exact ground truth of the synthetic generator: <image_id>_hair.png marks hair pixels and "
        "<image_id>_frame.png the black lens-frame pixels (0/255); lesion masks are in "
        f"../{MASK_DIR}; appearance.csv names the class whose style drew each image (it differs "
        "from dx for look-alike lesions).\n", encoding="utf-8")
    with open(folder / "appearance.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("image_id", "dx", "appearance"))
        for lesion in plan:
            writer.writerows((image_id, lesion.label, lesion.appearance) for image_id in lesion.image_ids())
    meta = {"generator": "dermkit.data.synthetic.write_synthetic_dataset", "dermkit_version": __version__, **args}
    (folder / "generator.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")

