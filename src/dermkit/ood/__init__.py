"""Numpy-only decision support on a classifier's outputs, fitted once and applied everywhere.

* :mod:`dermkit.ood.scores`: out-of-distribution scores on classifier features: k-NN cosine
  distance to a bank of training features, Mahalanobis on PCA-reduced features, energy on logits.
* :mod:`dermkit.ood.detector`: the detector (k-NN primary, the other two secondary) fitted on
  training features, thresholded on validation.
* :mod:`dermkit.ood.storage`: ``RUN/ood.npz`` + ``RUN/ood.json``.
* :mod:`dermkit.ood.operating_point`: the malignant-vs-benign threshold fitted on validation
  with its sensitivity and specificity (stored in ``RUN/calibration.json``).

Importing this package never imports torch (the ONNX package's runtime uses it); fitting a
detector imports scikit-learn.
"""

from dermkit.ood.detector import VAL_QUANTILE, OODDetector, fit_ood
from dermkit.ood.operating_point import (
    MALIGNANT_CLASSES,
    MIN_MALIGNANT_FOR_TARGET,
    TARGET_SENSITIVITY,
    OperatingPoint,
    fit_operating_point,
    malignant_probability,
    wilson_interval,
)
from dermkit.ood.scores import KNN_K, MAX_BANK, MAX_COMPONENTS, KNNCosine, Mahalanobis, energy_score
from dermkit.ood.storage import OOD_ARRAYS, OOD_JSON, load_ood, save_ood

__all__ = [
    "KNN_K",
    "MALIGNANT_CLASSES",
    "MAX_BANK",
    "MAX_COMPONENTS",
    "MIN_MALIGNANT_FOR_TARGET",
    "OOD_ARRAYS",
    "OOD_JSON",
    "TARGET_SENSITIVITY",
    "VAL_QUANTILE",
    "KNNCosine",
    "Mahalanobis",
    "OODDetector",
    "OperatingPoint",
    "energy_score",
    "fit_ood",
    "fit_operating_point",
    "load_ood",
    "malignant_probability",
    "save_ood",
    "wilson_interval",
]
