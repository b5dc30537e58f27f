"""The overlay image ``dermkit predict`` writes: the lesion outline, and the attention map when there is one."""

from __future__ import annotations

import cv2
import numpy as np

from dermkit.pipeline.result import AnalysisResult, decode_rle

OUTLINE_RGB = (0, 255, 0)
#: Weight of the attention colour map where attention is 1 (it fades to 0 where attention is 0).
ATTENTION_ALPHA = 0.5


def outline_thickness(shape: tuple[int, ...]) -> int:
    """An outline visible at any size: about 1/300 of the shorter side, at least 1 px."""
    return max(1, round(min(shape[:2]) / 300))


def draw_overlay(image: np.ndarray, mask: np.ndarray, attention: np.ndarray | None = None) -> np.ndarray:
    """A new (H, W, 3) uint8 image: ``image`` with the attention map blended (JET colours, weighted by
    attention) and the outline of ``mask`` drawn on top; ``image`` itself is left as it was."""
    out = image.astype(np.float32)
    if attention is not None:
        heat = cv2.applyColorMap((np.clip(attention, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        weight = (ATTENTION_ALPHA * np.clip(attention, 0, 1))[..., None]
        out = out * (1 - weight) + heat.astype(np.float32) * weight
    out = np.ascontiguousarray(out.round().clip(0, 255).astype(np.uint8))
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, OUTLINE_RGB, outline_thickness(out.shape))
    return out


def result_overlay(image: np.ndarray, result: AnalysisResult) -> np.ndarray:
    """The overlay of an analysis: its lesion mask outlined, its attention grid (if any) up-sampled
    bilinearly to the image's size and blended."""
    h, w = image.shape[:2]
    attention = None
    if result.attention is not None:
        grid = np.asarray(result.attention.values, np.float32)
        attention = cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)
    return draw_overlay(image, decode_rle(result.lesion.mask), attention)
