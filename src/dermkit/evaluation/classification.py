"""Evaluate one or more classification runs on a data set, honestly.

Predictions (optionally with test-time augmentation) are averaged over runs (an ensemble), then
optionally calibrated with the run's validation-fitted temperature, class bias and metadata expert;
the headline decisions are the ones :func:`~dermkit.inference.diagnose` makes (the run's
:meth:`~dermkit.calibration.Calibration.decide` when calibrated; the plain argmax is reported beside them).
Written to the output folder: ``metrics.json`` (with bootstrap 95% intervals that resample
lesions), ``per_class.csv``, ``confusion_matrix.csv/.png``, ``roc.png``, ``reliability.png``,
``predictions_isic.csv`` (ISIC 2018 Task 3 format) and ``predictions.csv``. ``predictions.csv``
holds the calibrated probabilities and the decision; ``predictions_isic.csv`` holds decision-consistent
scores (``p / divisors`` renormalised, :func:`~dermkit.metrics.isic_csv.decision_scores`) whose argmax is
that decision, so the official ISIC scorer reproduces the balanced accuracy reported here. When the
data set only labels melanoma (ISIC 2017), the melanoma-vs-rest view is reported instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from dermkit.calibration import IDENTITY, Calibration, fit_run_calibration
from dermkit.data.metadata import metadata_matrix
from dermkit.data.records import HAM10000_CLASSES, LesionTable
from dermkit.errors import ConfigError, DataError
from dermkit.evaluation.checks import check_evaluation_data
from dermkit.files import EVALUATION_MARKER, claim_output_dir, write_json
from dermkit.inference.data import run_dataset
from dermkit.inference.focus import run_focus
from dermkit.inference.runs import LoadedRun
from dermkit.metrics.bootstrap import bootstrap_ci
from dermkit.metrics.calibration import expected_calibration_error
from dermkit.metrics.classification import (
    balanced_accuracy,
    binary_auc,
    macro_auc,
    melanoma_view,
    sensitivity_at_specificity,
)
from dermkit.metrics.isic_csv import write_isic_task3_csv
from dermkit.metrics.plots import plot_confusion_matrix, plot_roc, reliability_diagram
from dermkit.metrics.report import classification_report
from dermkit.models.features import fit_ood_on_model, ood_training_rows
from dermkit.models.tta import tta_class_logits
from dermkit.ood import OODDetector, save_ood

MELANOMA_NAMES = ("mel", "melanoma")


def predict_logits(
    run: LoadedRun,
    table: LesionTable,
    indices: np.ndarray,
    tta: bool,
    batch_size: int = 32,
    num_workers: int = 2,
    progress: bool = True,
) -> np.ndarray:
    """(N, C) logits of ``run`` for the rows ``indices`` of ``table`` (in that order), with the
    run's preprocessing and lesion focus, as in training."""
    ds = run_dataset(run.cfg, table, indices, (run.mean, run.std), focus=run_focus(run))
    out = []
    for batch in tqdm(
        DataLoader(ds, batch_size=batch_size, num_workers=num_workers),
        desc="classifying",
        disable=not progress,
        leave=False,
    ):
        out.append(
            tta_class_logits(
                run.model, batch["image"].to(run.device), batch["meta"].to(run.device), tta, run.autocast_dtype
            ).cpu()
        )
    return torch.cat(out).numpy()


def ensemble_proba(
    runs: list[LoadedRun],
    table: LesionTable,
    indices: np.ndarray,
    tta: bool | None,
    calibrate: bool,
    progress: bool = True,
) -> np.ndarray:
    """Mean over runs of each run's (validation-calibrated when ``calibrate``) probabilities."""
    probas = []
    meta = metadata_matrix(table, indices) if calibrate else None
    for run in runs:
        run_tta = run.tta(tta)
        logits = predict_logits(run, table, indices, run_tta, progress=progress)
        probas.append((run.calibration(run_tta) if calibrate else IDENTITY).proba(logits, meta))
    return np.mean(probas, axis=0)


def refit_calibration(
    run: LoadedRun,
    table: LesionTable,
    val_indices: np.ndarray,
    train_indices: np.ndarray,
    tta: bool | None = None,
    progress: bool = True,
    ood: bool = True,
) -> Calibration:
    """Fit ``run``'s calibration again on its validation rows (e.g. after changing
    ``inference.calibration``; the metadata expert is refitted on ``train_indices``) and rewrite
    ``RUN/calibration.json`` (with the malignant operating point); returns the new calibration. The
    validation logits are made with ``tta`` (default: the run's ``inference.tta``), as the
    calibrated predictions will be. With ``ood``, the OOD detector is refitted too
    (:func:`refit_ood`), so runs trained before detectors existed get one."""
    if len(val_indices) == 0:
        raise DataError(f"{run.run_dir}: no validation images to fit the calibration on")
    tta = run.tta(tta)
    logits = predict_logits(run, table, val_indices, tta=tta, progress=progress)
    calibration = fit_run_calibration(run.cfg, table, train_indices, val_indices, logits, run.classes, tta)
    calibration.save(run.run_dir)
    if ood:
        refit_ood(run, table, val_indices, train_indices)
    return calibration


def refit_ood(
    run: LoadedRun, table: LesionTable, val_indices: np.ndarray, train_indices: np.ndarray, batch_size: int = 32
) -> OODDetector:
    """Fit ``run``'s OOD detector again, as training does (at most
    :data:`~dermkit.models.features.OOD_TRAIN_IMAGES` of ``train_indices``, seeded; thresholds on
    ``val_indices``), and rewrite ``RUN/ood.npz`` + ``ood.json``; returns it."""
    if len(val_indices) == 0 or len(train_indices) < 2:
        raise DataError(f"{run.run_dir}: the OOD detector needs validation images and at least 2 training images")
    norm, focus = (run.mean, run.std), run_focus(run)
    rows = ood_training_rows(train_indices, seed=run.cfg.train.seed)
    train = DataLoader(run_dataset(run.cfg, table, rows, norm, focus=focus), batch_size=batch_size)
    val = DataLoader(run_dataset(run.cfg, table, val_indices, norm, focus=focus), batch_size=batch_size)
    detector = fit_ood_on_model(run.model, train, val, run.device, run.classes)
    save_ood(detector, run.run_dir)
    return detector


def _check_runs(runs: list[LoadedRun]) -> list[str]:
    classes = runs[0].classes
    for run in runs[1:]:
        if run.classes != classes:
            raise DataError(
                f"runs disagree on classes: {run.run_dir} has {run.classes}, {runs[0].run_dir} has {classes}"
            )
    return classes


def evaluate_classification(
    runs: list[LoadedRun],
    table: LesionTable,
    out_dir: str | Path,
    indices: np.ndarray | None = None,
    tta: bool | None = None,
    calibrate: bool = True,
    n_boot: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """Score ``runs`` (one, or an ensemble) on ``table``; returns what ``metrics.json`` holds."""
    if n_boot < 1:
        raise ConfigError(f"n_boot={n_boot}: the bootstrap needs at least 1 resample (1000 by default)")
    classes = _check_runs(runs)
    records = table.records
    if indices is None:
        indices = np.flatnonzero(records["label"].notna().to_numpy())
    if len(indices) == 0:
        raise DataError(f"{table.root}: no labelled images to evaluate")
    check_evaluation_data(table, indices, masks=False)
    out_dir = claim_output_dir(
        Path(out_dir), EVALUATION_MARKER, "evaluation", legacy=("metrics.json", "predictions.csv")
    )
    proba = ensemble_proba(runs, table, indices, tta, calibrate, progress)
    ids = records["image_id"].iloc[indices].astype(str).tolist()
    groups = records["lesion_id"].iloc[indices].astype(str).to_numpy()
    calibration = runs[0].calibration() if calibrate and len(runs) == 1 else IDENTITY
    if set(classes) == set(HAM10000_CLASSES):  # scored by its argmax: the run's decision (module doc)
        divisors = calibration.divisors or (1.0,) * len(classes)
        write_isic_task3_csv(out_dir / "predictions_isic.csv", ids, proba, classes, divisors=divisors)
    pd.DataFrame(proba, columns=classes).assign(
        image_id=ids,
        label=records["label"].iloc[indices].tolist(),
        predicted=[classes[i] for i in calibration.decide(proba)],
    ).to_csv(out_dir / "predictions.csv", index=False)
    metrics: dict[str, Any] = {
        "images": len(indices),
        "lesions": int(len(set(groups))),
        "data": str(table.root),
        "runs": [str(r.run_dir) for r in runs],
        "tta": [r.tta(tta) for r in runs],
        "calibrated": calibrate,
    }
    if tuple(table.classes) == tuple(classes):
        metrics.update(
            _multiclass(proba, table.label_indices()[indices], groups, classes, calibration, n_boot, out_dir)
        )
    else:
        metrics.update(_melanoma_only(proba, table, indices, groups, classes, n_boot))
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _multiclass(proba, y, groups, classes, calibration: Calibration, n_boot, out_dir) -> dict[str, Any]:
    """Scores of the decisions the run makes in use (:func:`~dermkit.inference.diagnose`):
    ``calibration.decide`` (the identity's is the argmax), the argmax also reported under
    ``"argmax"`` for comparison."""
    thresholds = None if calibration.divisors is None else list(calibration.divisors)
    report = classification_report(y, proba, classes, thresholds=thresholds)
    result: dict[str, Any] = {k: v for k, v in report.items() if k not in ("per_class", "confusion_matrix")}
    result["decision"] = calibration.decision if thresholds is not None else "argmax"
    plain = classification_report(y, proba, classes) if thresholds is not None else report
    result["argmax"] = {k: plain[k] for k in ("accuracy", "balanced_accuracy", "macro_f1")}
    report["per_class"].to_csv(out_dir / "per_class.csv")
    cm = report["confusion_matrix"]
    pd.DataFrame(cm, index=classes, columns=classes).to_csv(out_dir / "confusion_matrix.csv")
    plot_confusion_matrix(cm, classes, out_dir / "confusion_matrix.png")
    plot_roc(y, proba, classes, out_dir / "roc.png")
    reliability_diagram(proba, y, out_dir / "reliability.png")
    result["ece"] = expected_calibration_error(proba, y)
    n = len(classes)
    result["ci95"] = {
        "balanced_accuracy": bootstrap_ci(
            y, proba, groups, lambda t, p: balanced_accuracy(t, calibration.decide(p), n), n_boot
        ),
        "macro_auc": bootstrap_ci(y, proba, groups, macro_auc, n_boot),
    }
    mel = next((c for c in MELANOMA_NAMES if c in classes), None)
    if mel is not None:
        result["melanoma_vs_rest"] = _melanoma_view(
            y == classes.index(mel), proba[:, classes.index(mel)], groups, n_boot
        )
    return result


def _melanoma_view(is_mel: np.ndarray, p_mel: np.ndarray, groups: np.ndarray, n_boot: int) -> dict[str, Any]:
    """:func:`~dermkit.metrics.classification.melanoma_view` with 95% bootstrap intervals over lesions
    for its AUC and its sensitivity at 90% specificity (the figures a clinic compares across sources)."""
    view: dict[str, Any] = melanoma_view(is_mel, p_mel)
    view["ci95"] = {
        "auc": bootstrap_ci(is_mel, p_mel, groups, binary_auc, n_boot),
        "sensitivity_at_90_specificity": bootstrap_ci(
            is_mel, p_mel, groups, lambda t, s: sensitivity_at_specificity(t, s, 0.9), n_boot
        ),
    }
    return view


def _melanoma_only(proba, table, indices, groups, classes, n_boot) -> dict[str, Any]:
    """Data labelled only melanoma / not melanoma: score the run's melanoma probability."""
    mel_run = next((c for c in MELANOMA_NAMES if c in classes), None)
    mel_data = next((c for c in MELANOMA_NAMES if c in table.classes), None)
    if mel_run is None or mel_data is None:
        raise DataError(
            f"{table.root}: its classes {list(table.classes)} differ from the run's {classes}, and one of them has "
            "no melanoma class, so neither the multiclass nor the melanoma-vs-rest view applies"
        )
    y = (table.records["label"].iloc[indices] == mel_data).to_numpy()
    return {"melanoma_vs_rest": _melanoma_view(y, proba[:, classes.index(mel_run)], groups, n_boot)}
