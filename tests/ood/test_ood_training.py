"""A classification run leaves its OOD detector and malignant operating point; refitting reproduces them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from torch.utils.data import DataLoader

from dermkit.calibration import load_calibration
from dermkit.data.readers import load_table
from dermkit.data.splits import load_split, side_indices
from dermkit.inference import load_run
from dermkit.inference.data import run_dataset
from dermkit.inference.focus import run_focus
from dermkit.models.features import OOD_TRAIN_IMAGES, classification_layer, collect_features
from dermkit.ood import KNN_K, OOD_ARRAYS, OOD_JSON, load_ood


def sides(run_dir, root):
    table = load_table(root)
    split = load_split(run_dir / "split.csv", table)
    return table, side_indices(table, split, "train"), side_indices(table, split, "val")


def test_training_leaves_the_detector_and_the_operating_point(cls_run, synthetic_root):
    table, train, val = sides(cls_run, synthetic_root)
    detector = load_ood(cls_run)
    run = load_run(cls_run)
    assert detector is not None and detector.feature_dim == classification_layer(run.model).in_features
    assert detector.train_images == min(len(train), OOD_TRAIN_IMAGES) and detector.val_images == len(val)
    assert len(detector.knn.bank) == detector.train_images and detector.knn.k == min(KNN_K, len(train))
    final = json.loads((cls_run / "final_metrics.json").read_text())
    assert final["ood"]["threshold"] == detector.threshold and final["ood"]["quantile"] == 0.95

    # the stored threshold flags exactly the share of validation images it says, with the loaded run
    ds = run_dataset(run.cfg, table, val, (run.mean, run.std), focus=run_focus(run))
    logits, features, _ = collect_features(run.model, DataLoader(ds, batch_size=8), run.device)
    assert detector.flag(detector.score(features)).mean() == pytest.approx(detector.val_flagged)
    maha = detector.mahalanobis_score(features)
    assert detector.flag_mahalanobis(maha).mean() == pytest.approx(detector.val_mahalanobis_flagged)
    assert detector.flag_energy(detector.energy(logits)).mean() == pytest.approx(detector.val_energy_flagged)

    labels = table.label_indices()[val]
    malignant = np.isin(labels, [run.classes.index(c) for c in ("mel", "bcc", "akiec")])
    point = load_calibration(cls_run).malignant
    assert malignant.any() and (~malignant).any()  # the fixture's validation side has both
    assert point is not None and (point.positives, point.negatives) == (malignant.sum(), (~malignant).sum())
    assert final["malignant_operating_point"]["threshold"] == point.threshold


def test_refit_calibration_refits_the_detector(cls_run, synthetic_root, tmp_path):
    from dermkit.evaluation.classification import refit_calibration

    run_dir = tmp_path / "run"
    shutil.copytree(cls_run, run_dir)
    trained = load_ood(run_dir)
    (run_dir / OOD_ARRAYS).unlink()
    (run_dir / OOD_JSON).unlink()
    assert load_ood(run_dir) is None  # as a run trained before detectors existed
    table, train, val = sides(run_dir, synthetic_root)
    calibration = refit_calibration(load_run(run_dir), table, val, train, progress=False)
    again = load_ood(run_dir)
    assert again.threshold == pytest.approx(trained.threshold, rel=1e-5)  # same model, same sides
    assert again.energy_threshold == pytest.approx(trained.energy_threshold, rel=1e-5)
    assert again.mahalanobis_threshold == pytest.approx(trained.mahalanobis_threshold, rel=1e-5)
    np.testing.assert_allclose(again.mahalanobis.class_means, trained.mahalanobis.class_means, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(again.knn.bank, trained.knn.bank, atol=2e-3)  # float16 rounding of the same features
    assert calibration.malignant == load_calibration(cls_run).malignant
