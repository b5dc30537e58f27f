"""Drawing primitives of the synthetic generator: smooth noise, blends, colours, curves, dots.

All are pure functions of a ``numpy.random.Generator`` and array sizes, shared by the class
painters (``paint``) and the scene (``scene``: skin mesh, hairs).
"""

from __future__ import annotations

import cv2
import numpy as np

RGB = tuple[float, float, float]


def noise(rng: np.random.Generator, hw: tuple[int, int], cells: float, channels: int = 1) -> np.ndarray:
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


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def mix(base: np.ndarray, colour: RGB | np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blend (H, W, 3) ``base`` toward ``colour`` by (H, W) ``weight`` in [0, 1]."""
    col = np.asarray(colour, dtype=np.float32)
    return base + (col - base) * weight[..., None]


def jitter(rng: np.random.Generator, rgb: RGB, sd: float) -> np.ndarray:
    """``rgb`` with a random brightness change (~sd) and a smaller hue change (independent
    per-channel jitter of the full size would turn browns olive or grey)."""
    col = np.asarray(rgb, np.float32) * (1 + rng.normal(0.0, sd / 160)) + rng.normal(0.0, sd / 3, 3)
    return np.clip(col, 0, 255).astype(np.float32)


def between(rng: np.random.Generator, a: RGB, b: RGB, sd: float = 8.0) -> np.ndarray:
    """A colour on the segment a-b (random position) plus jitter."""
    t = rng.random()
    return jitter(rng, tuple(np.asarray(a) * (1 - t) + np.asarray(b) * t), sd)


def bezier_points(rng: np.random.Generator, p0: np.ndarray, length: float, bend: float, n: int = 24) -> np.ndarray:
    """(n, 2) int32 points of a random quadratic Bézier curve starting at ``p0``."""
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    p2 = p0 + direction * length
    p1 = (p0 + p2) / 2 + np.array([-direction[1], direction[0]]) * length * bend * rng.uniform(-1, 1)
    t = np.linspace(0, 1, n)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    return np.round(pts).astype(np.int32)


def network(rng: np.random.Generator, hw: tuple[int, int], cells: float, width: float) -> np.ndarray:
    """(H, W) in [0, 1]: a labyrinth of thin lines (zero crossings of smooth noise), a pigment network."""
    return smoothstep(1 - np.abs(noise(rng, hw, cells)) / width)


def dot_layer(
    rng: np.random.Generator, hw: tuple[int, int], d: np.ndarray, count: int, radius: float, where: tuple[float, float]
) -> np.ndarray:
    """(H, W) float32 {0, 1}: ``count`` filled circles (radius in px) at lesion depths ``where``."""
    layer = np.zeros(hw, np.uint8)
    ys, xs = np.nonzero((d > where[0]) & (d < where[1]))
    if len(ys) == 0:
        return layer.astype(np.float32)
    for i in rng.integers(0, len(ys), count):
        r = max(1, int(round(radius * rng.uniform(0.6, 1.4))))
        cv2.circle(layer, (int(xs[i]), int(ys[i])), r, 1, -1)
    return cv2.GaussianBlur(layer.astype(np.float32), (3, 3), 0.7)  # no square 1-px dots
