"""Model input from an image: the one normaliser (training, evaluation and inference share it)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def to_model_input(image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (C, H, W) float32 ``(image / 255 - mean) / std``.

    One ``mean``/``std`` entry means the model takes grey images: the image is converted to
    ITU-R 601 luma first (C = 1).
    """
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    if len(mean) == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    x = (image.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1))
