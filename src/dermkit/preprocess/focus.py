"""The lesion focus of segment-then-classify (S1, S2) as pure array functions (torch-free).

``mask`` blacks out the background (S1); ``crop`` cuts the lesion's bounding box with a margin
(S2). :class:`dermkit.inference.LesionFocus` applies them with a trained segmenter in training and
evaluation; the ONNX model package applies them with its own segmenter graph.
"""

from __future__ import annotations

import numpy as np

from dermkit.preprocess.frame import Box


def lesion_box(mask: np.ndarray, margin: float) -> Box | None:
    """(y0, y1, x0, x1) of the lesion's bounding box grown by ``margin`` of its size; None if empty."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    h, w = mask.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    dy, dx = int(round((y1 - y0) * margin)), int(round((x1 - x0) * margin))
    return int(max(0, y0 - dy)), int(min(h, y1 + dy)), int(max(0, x0 - dx)), int(min(w, x1 + dx))


def focus_region(image: np.ndarray, mask: np.ndarray, mode: str, margin: float) -> tuple[np.ndarray, Box]:
    """The classifier's input and where it sits in ``image``. An empty mask leaves the image
    whole (nothing to focus on)."""
    h, w = image.shape[:2]
    whole: Box = (0, h, 0, w)
    if mode == "mask":
        return (image * (mask[..., None] > 0).astype(image.dtype) if mask.any() else image), whole
    box = lesion_box(mask, margin)
    if box is None:
        return image, whole
    y0, y1, x0, x1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1]), box


def apply_focus(image: np.ndarray, mask: np.ndarray, mode: str, margin: float) -> np.ndarray:
    """The classifier's input of :func:`focus_region`."""
    return focus_region(image, mask, mode, margin)[0]
