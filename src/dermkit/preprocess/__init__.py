"""Artefact removal and image normalisation: pure functions on (H, W, 3) uint8 RGB images.

Steps (S3): black-frame removal (:mod:`.frame`), hair removal (:mod:`.hair`), shades-of-grey colour
constancy (:mod:`.color`), resizing with an invertible transform (:mod:`.resize`), and the
configurable pipeline that chains them (:mod:`.pipeline`). Masks are (H, W) uint8 {0, 1}.
"""

from __future__ import annotations

from dermkit.preprocess._checks import ImageFormatError
from dermkit.preprocess.color import shades_of_grey
from dermkit.preprocess.frame import FrameResult, detect_black_frame, frame_bounding_box, remove_black_frame
from dermkit.preprocess.hair import HairResult, detect_hair, remove_hair
from dermkit.preprocess.pipeline import (
    PreprocessConfig,
    Preprocessed,
    preprocess,
    preprocess_key,
    restore_mask,
)
from dermkit.preprocess.resize import ResizeResult, ResizeTransform, invert_resize, resize

__all__ = [
    "FrameResult",
    "HairResult",
    "ImageFormatError",
    "PreprocessConfig",
    "Preprocessed",
    "ResizeResult",
    "ResizeTransform",
    "detect_black_frame",
    "detect_hair",
    "frame_bounding_box",
    "invert_resize",
    "preprocess",
    "preprocess_key",
    "remove_black_frame",
    "remove_hair",
    "resize",
    "restore_mask",
    "shades_of_grey",
]
