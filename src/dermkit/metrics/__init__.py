"""Evaluation metrics (binary segmentation for now), matching the official ISIC scorer."""

from dermkit.metrics.segmentation import (
    BatchStats,
    Confusion,
    SegmentationScores,
    batch_stats,
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
    "BatchStats",
    "Confusion",
    "SegmentationScores",
    "batch_stats",
    "confusion",
    "dice",
    "jaccard",
    "pixel_accuracy",
    "precision",
    "score_masks",
    "sensitivity",
    "specificity",
    "threshold_jaccard",
]
