"""CIELAB, the perceptual colour space the measurements compare colours in.

Euclidean distance in CIELAB (Delta E 1976) is roughly proportional to perceived colour
difference: about 2.3 is a just-noticeable difference, and 10 a clearly different colour.
"""

from __future__ import annotations

import cv2
import numpy as np


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 sRGB -> (..., 3) float32 CIELAB (D65): L* in [0, 100], a*, b* about [-128, 127]."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    flat = (rgb.reshape(-1, 1, 3).astype(np.float32)) / 255.0  # (N, 1, 3): cv2 wants an image
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def masked_blur(lab: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-blur an (H, W, C) float image using only the pixels where ``mask`` is 1.

    Normalised convolution (``blur(image * mask) / blur(mask)``), so skin around the lesion does
    not bleed into the lesion's border pixels. Pixels outside the mask are returned as 0.
    """
    weights = mask.astype(np.float32)
    if sigma <= 0:
        return lab * weights[..., None]
    num = cv2.GaussianBlur(lab * weights[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weights, (0, 0), sigma)
    out = num / np.maximum(den, 1e-6)[..., None]
    return out * weights[..., None]
