"""A predicted lesion mask cleaned up: one lesion per dermoscopic image (torch-free)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """Keep the largest connected lesion and fill its holes (one lesion per dermoscopic image)."""
    labels, n = ndimage.label(mask > 0)
    if n == 0:
        return mask.astype(np.uint8)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    largest = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(largest).astype(np.uint8)
