"""Synthetic test images for the quality gate (tiny, drawn in milliseconds)."""

from __future__ import annotations

import numpy as np

from dermkit.data.synthetic import SynthImage, synthesize_image


def lesion(size: tuple[int, int] = (256, 256), seed: int = 0, label: str = "nv", frame: bool = False) -> SynthImage:
    """A sharp synthetic dermoscopy image with its exact lesion mask."""
    return synthesize_image(np.random.default_rng(seed), label, size=size, frame=frame)


def flat(value: tuple[int, int, int], size: tuple[int, int] = (128, 128)) -> np.ndarray:
    """An image of one colour."""
    return np.full((*size, 3), value, np.uint8)


def disc_mask(size: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    """(H, W) uint8 {0, 1} disc."""
    yy, xx = np.mgrid[: size[0], : size[1]]
    return ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2).astype(np.uint8)
