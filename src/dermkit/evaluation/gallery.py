"""Image galleries: predicted vs true lesion outlines drawn over the image."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TRUTH_COLOUR = (0, 255, 0)
PRED_COLOUR = (255, 0, 255)


def draw_outlines(
    image: np.ndarray, truth: np.ndarray | None, pred: np.ndarray | None, thickness: int | None = None
) -> np.ndarray:
    """Image with the true (green) and predicted (magenta) lesion outlines drawn on a copy."""
    out = image.copy()
    thickness = thickness or max(1, round(max(image.shape[:2]) / 150))
    for mask, colour in ((truth, TRUTH_COLOUR), (pred, PRED_COLOUR)):
        if mask is None:
            continue
        contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, colour, thickness)
    return out


def overlay_gallery(
    items: list[tuple[str, np.ndarray, np.ndarray | None, np.ndarray | None]],
    path: Path,
    title: str = "",
    columns: int = 4,
) -> Path:
    """A grid of (caption, image, truth, prediction) overlays saved as PNG."""
    rows = max(1, -(-len(items) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (caption, image, truth, pred) in zip(axes.flat, items, strict=False):
        ax.imshow(draw_outlines(image, truth, pred))
        ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(f"{title}  (green: truth, magenta: prediction)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
