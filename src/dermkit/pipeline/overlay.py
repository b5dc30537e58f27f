"""The overlay image ``dermkit predict`` writes: the lesion outline, and the heat map when there is one."""

from __future__ import annotations

import cv2
import numpy as np

from dermkit.pipeline.result import AnalysisResult, decode_rle

OUTLINE_RGB = (0, 255, 0)
#: Weight of the heat map's colours where the map is 1 (it fades to 0 where the map is 0).
HEATMAP_ALPHA = 0.5


def outline_thickness(shape: tuple[int, ...]) -> int:
    """An outline visible at any size: about 1/300 of the shorter side, at least 1 px."""
    return max(1, round(min(shape[:2]) / 300))


def draw_overlay(image: np.ndarray, mask: np.ndarray, heatmap: np.ndarray | None = None) -> np.ndarray:
    """A new (H, W, 3) uint8 image: ``image`` with the heat map blended (JET colours, weighted by the
    map) and the outline of ``mask`` drawn on top; ``image`` itself is left as it was."""
    out = image.astype(np.float32)
    if heatmap is not None:
        heat = cv2.applyColorMap((np.clip(heatmap, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        weight = (HEATMAP_ALPHA * np.clip(heatmap, 0, 1))[..., None]
        out = out * (1 - weight) + heat.astype(np.float32) * weight
    out = np.ascontiguousarray(out.round().clip(0, 255).astype(np.uint8))
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, OUTLINE_RGB, outline_thickness(out.shape))
    return out


def result_heatmap(result: AnalysisResult, height: int, width: int) -> np.ndarray | None:
    """The result's heat-map grid up-sampled bilinearly to (height, width); None without one."""
    if result.heatmap is None:
        return None
    grid = np.asarray(result.heatmap.values, np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def result_overlay(image: np.ndarray, result: AnalysisResult) -> np.ndarray:
    """The overlay of an analysis: its lesion mask outlined, its heat map (if any) blended."""
    h, w = image.shape[:2]
    return draw_overlay(image, decode_rle(result.lesion.mask), result_heatmap(result, h, w))
