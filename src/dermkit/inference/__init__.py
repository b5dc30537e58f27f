"""Applying trained runs: load a run folder, predict lesion masks, focus on the lesion, diagnose.

Evaluation, ``dermkit segment``, the demo and the benchmarks call these; the training engine uses
the data-set builder and the lesion focus, so a run sees images the same way in training and use.
"""

from dermkit.inference.diagnose import Diagnosis, diagnose
from dermkit.inference.focus import LesionFocus, apply_focus, focus_of, lesion_box, run_focus
from dermkit.inference.masks import clean_mask, predict_mask, predict_mask_proba
from dermkit.inference.runs import LoadedRun, load_run

__all__ = [
    "Diagnosis",
    "LesionFocus",
    "LoadedRun",
    "apply_focus",
    "clean_mask",
    "diagnose",
    "focus_of",
    "lesion_box",
    "load_run",
    "predict_mask",
    "predict_mask_proba",
    "run_focus",
]
