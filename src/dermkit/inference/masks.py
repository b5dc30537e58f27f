"""Lesion masks from a segmentation run, at each image's original size."""

from __future__ import annotations

import numpy as np

from dermkit.inference.runs import LoadedRun
from dermkit.models.tta import tta_mask_proba
from dermkit.preprocess.mask_cleanup import clean_mask
from dermkit.preprocess.pipeline import preprocess, restore_mask

__all__ = ["clean_mask", "predict_mask", "predict_mask_proba"]


def predict_mask_proba(run: LoadedRun, image: np.ndarray, tta: bool | None = None) -> np.ndarray:
    """(H, W) lesion probability for an (H, W, 3) uint8 image, at the image's own size."""
    pre = preprocess(image, run.cfg.data.preprocess)
    proba = tta_mask_proba(run.model, run.to_tensor(pre.image), run.tta(tta), run.autocast_dtype)[0, 0].cpu().numpy()
    return restore_mask(proba.astype(np.float32), pre)


def predict_mask(
    run: LoadedRun, image: np.ndarray, tta: bool | None = None, postprocess: bool | None = None
) -> np.ndarray:
    """(H, W) uint8 {0, 1} lesion mask at the image's size, with the run's inference settings."""
    inf = run.cfg.inference
    mask = (predict_mask_proba(run, image, tta) > inf.threshold).astype(np.uint8)
    if inf.postprocess if postprocess is None else postprocess:
        mask = clean_mask(mask)
    return mask
