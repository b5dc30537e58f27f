"""Evaluation metrics (segmentation, classification, calibration), matching the official ISIC scorer.

One concept per module: ``segmentation`` and ``classification`` (metrics), ``calibration`` (ECE,
temperature scaling), ``decision`` (per-class thresholds), ``report`` (every metric of one
evaluation), ``bootstrap`` (lesion-grouped intervals), ``isic_csv`` (submission files) and
``plots`` (PNG figures).
"""

from dermkit.metrics.bootstrap import bootstrap_ci
from dermkit.metrics.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from dermkit.metrics.classification import (
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    macro_auc,
    melanoma_view,
    per_class_table,
)
from dermkit.metrics.decision import fit_thresholds_for_bma, predict_with_thresholds
from dermkit.metrics.isic_csv import write_isic_task3_csv
from dermkit.metrics.plots import plot_confusion_matrix, plot_roc, reliability_diagram, roc_curves
from dermkit.metrics.report import classification_report
from dermkit.metrics.segmentation import (
    Confusion,
    SegmentationScores,
    confusion,
    dice,
    jaccard,
    pixel_accuracy,
    precision,
    score_masks,
    sensitivity,
    specificity,
    threshold_jaccard,
)

__all__ = [
    "Confusion",
    "SegmentationScores",
    "accuracy",
    "apply_temperature",
    "balanced_accuracy",
    "bootstrap_ci",
    "classification_report",
    "confusion",
    "confusion_matrix",
    "dice",
    "expected_calibration_error",
    "fit_temperature",
    "fit_thresholds_for_bma",
    "jaccard",
    "macro_auc",
    "melanoma_view",
    "per_class_table",
    "pixel_accuracy",
    "plot_confusion_matrix",
    "plot_roc",
    "precision",
    "predict_with_thresholds",
    "reliability_diagram",
    "roc_curves",
    "score_masks",
    "sensitivity",
    "specificity",
    "threshold_jaccard",
    "write_isic_task3_csv",
]
