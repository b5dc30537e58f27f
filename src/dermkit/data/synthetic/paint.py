"""Per-class lesion painters: dermoscopic colours and structures of each HAM10000 class.

A painter gets the distance field and a texture generator and returns the lesion colour
(H, W, 3) float32 and its opacity (H, W) float32 in [0, 1]; the border blend comes after
(``scene.render_scene``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from dermkit.data.synthetic.texture import between, bezier_points, dot_layer, jitter, mix, network, noise, smoothstep

Painter = Callable[[np.random.Generator, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _paint_nv(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = between(rng, (190, 125, 105), (120, 68, 58), 10)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32)
    col = col * (1 - 0.14 * smoothstep(1 - d))[..., None]  # darker centre
    col = col * (1 + 0.04 * noise(rng, hw, 6))[..., None]
    net = network(rng, hw, rng.uniform(28, 40), 0.45) * rng.uniform(0.0, 0.3)
    col = mix(col, base * 0.62, net)
    if rng.random() < 0.25:  # globules / a few dots
        col = mix(col, base * 0.6, dot_layer(rng, hw, d, int(rng.integers(3, 12)), min(hw) / 90, (0.0, 0.8)))
    opacity = np.full(hw, rng.uniform(0.75, 0.95), np.float32) * (1 - 0.3 * smoothstep((d - 0.6) / 0.4))
    return col, opacity


def _paint_mel(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = between(rng, (165, 100, 90), (105, 58, 52), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.08 * noise(rng, hw, 5))[..., None]
    patches = [((55, 32, 38), 0.9), ((112, 110, 138), 0.75), ((190, 95, 100), 0.6), ((190, 180, 195), 0.35)]
    for colour, prob in patches:  # dark, blue-grey, red, regression-white, each maybe present
        if rng.random() < prob:
            field = noise(rng, hw, rng.uniform(3, 7))
            level = rng.uniform(0.4, 1.4)
            col = mix(col, jitter(rng, colour, 10), smoothstep((field - level) / 1.0) * 0.85)
    col = col * (1 + 0.06 * noise(rng, hw, rng.uniform(20, 30)))[..., None]  # granular texture
    net = network(rng, hw, rng.uniform(22, 34), 0.5) * rng.uniform(0.2, 0.55)
    col = mix(col, base * 0.45, net * smoothstep((noise(rng, hw, 4) + 0.5) / 1.0))  # atypical network
    if rng.random() < 0.6:  # irregular dots and globules toward the periphery
        dots = dot_layer(rng, hw, d, int(rng.integers(4, 20)), min(hw) / 110, (0.5, 1.0))
        col = mix(col, (50, 30, 35), dots * 0.8)
    opacity = np.full(hw, rng.uniform(0.85, 1.0), np.float32)
    return col, opacity


def _paint_bkl(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = between(rng, (195, 145, 120), (140, 95, 80), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32)
    mottle = noise(rng, hw, rng.uniform(6, 10)) * 0.1 + noise(rng, hw, rng.uniform(18, 28)) * 0.07
    col = col * (1 + mottle)[..., None]
    ridges = network(rng, hw, rng.uniform(12, 20), 0.6)  # cerebriform fissures and ridges
    col = mix(col, base * 0.75, ridges * rng.uniform(0.1, 0.35))
    if rng.random() < 0.6:  # milia-like cysts: small whitish dots
        col = mix(col, (235, 220, 205), dot_layer(rng, hw, d, int(rng.integers(2, 10)), min(hw) / 110, (0, 0.9)))
    if rng.random() < 0.3:  # comedo-like openings: dark brown plugs
        col = mix(col, (90, 60, 50), dot_layer(rng, hw, d, int(rng.integers(2, 8)), min(hw) / 110, (0, 0.9)))
    opacity = np.clip(rng.uniform(0.6, 0.9) + 0.08 * noise(rng, hw, 6), 0, 1)
    return col, opacity


def _paint_bcc(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    h, w = hw
    base = between(rng, (235, 195, 198), (212, 150, 158), 9)  # pearly, translucent pink-white
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.05 * noise(rng, hw, 8))[..., None]
    # Arborizing vessels: thin red branching curves from inside the lesion.
    vessels = np.zeros(hw, np.uint8)
    ys, xs = np.nonzero(d < 0.8)
    if len(ys):
        for i in rng.integers(0, len(ys), int(rng.integers(2, 8))):
            p0 = np.array([xs[i], ys[i]], np.float64)
            for _ in range(int(rng.integers(2, 5))):  # a trunk and branches from the same root
                pts = bezier_points(rng, p0, rng.uniform(0.04, 0.16) * min(h, w), 0.9)
                cv2.polylines(vessels, [pts], False, 1, max(1, round(min(h, w) / 256)))
    col = mix(col, jitter(rng, (180, 55, 70), 12), vessels.astype(np.float32) * (d < 1.05) * rng.uniform(0.45, 0.8))
    if rng.random() < 0.55:  # blue-grey ovoid nests
        nests = dot_layer(rng, hw, d, int(rng.integers(1, 7)), min(hw) / 40, (0, 0.8))
        nests = cv2.GaussianBlur(nests, (0, 0), min(hw) / 120)
        col = mix(col, jitter(rng, (105, 105, 130), 8), nests * 0.85)
    if rng.random() < 0.2:  # ulceration: a dark red-brown crust
        col = mix(col, (120, 50, 45), smoothstep((noise(rng, hw, 5) - 1.2) / 0.4) * (d < 0.8))
    opacity = np.full(hw, rng.uniform(0.55, 0.85), np.float32) + 0.25 * vessels
    return col, np.clip(opacity, 0, 1)


def _paint_akiec(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = between(rng, (222, 130, 128), (190, 105, 105), 10)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.07 * noise(rng, hw, 7))[..., None]
    # Scale: whitish flakes, from thresholded fine noise.
    scale = smoothstep((noise(rng, hw, rng.uniform(30, 45)) - rng.uniform(0.9, 1.5)) / 0.5)
    col = mix(col, (232, 215, 210), scale * rng.uniform(0.4, 0.75))
    # "Strawberry" pattern: red pseudo-network around whitish follicle openings.
    red = jitter(rng, (195, 75, 85), 10)
    col = mix(col, red, network(rng, hw, rng.uniform(24, 34), 0.45) * rng.uniform(0.2, 0.5))
    follicles = dot_layer(rng, hw, d, int(rng.integers(3, 20)), min(hw) / 140, (0, 0.9))
    col = mix(col, (236, 222, 215), follicles * 0.6)
    opacity = np.clip(rng.uniform(0.5, 0.75) + 0.15 * noise(rng, hw, 5), 0, 1)
    return col, opacity


def _paint_df(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    ring = between(rng, (185, 125, 105), (150, 98, 85), 10)
    centre = jitter(rng, (232, 210, 205), 8)
    col = np.broadcast_to(ring, (*hw, 3)).astype(np.float32)
    net = network(rng, hw, rng.uniform(28, 40), 0.45)
    col = mix(col, ring * 0.75, net * 0.4)  # delicate peripheral network
    edge = rng.uniform(0.35, 0.6)
    patch = smoothstep((edge - d + 0.12 * noise(rng, hw, 8)) / 0.2)  # central white scar-like patch
    col = mix(col, centre, patch * rng.uniform(0.6, 0.95))
    opacity = np.full(hw, rng.uniform(0.7, 0.9), np.float32)
    return col, opacity


def _paint_vasc(rng: np.random.Generator, d: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw = d.shape
    base = between(rng, (195, 50, 75), (115, 35, 85), 12)
    col = np.broadcast_to(base, (*hw, 3)).astype(np.float32) * (1 + 0.1 * noise(rng, hw, 9))[..., None]
    col = col * (1 - 0.2 * smoothstep(1 - d))[..., None]  # lacunae darker in the middle
    septa = network(rng, hw, rng.uniform(7, 11), 0.2) * rng.uniform(0.0, 0.3)
    col = mix(col, (215, 175, 185), septa)  # whitish septa between lacunae
    opacity = np.full(hw, rng.uniform(0.85, 1.0), np.float32)
    return col, opacity


PAINTERS: dict[str, Painter] = {
    "akiec": _paint_akiec,
    "bcc": _paint_bcc,
    "bkl": _paint_bkl,
    "df": _paint_df,
    "mel": _paint_mel,
    "nv": _paint_nv,
    "vasc": _paint_vasc,
}
