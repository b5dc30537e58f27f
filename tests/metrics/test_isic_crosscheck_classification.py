"""Cross-check against the official ISIC scorer (isic-challenge-scoring) on Task 3 CSV files.

Ground truth and predictions are written as ISIC 2018 Task 3 CSVs (``image, MEL, NV, BCC,
AKIEC, BKL, DF, VASC``: one-hot truth, probability predictions) and scored by the scorer's
``ClassificationScore.from_file``. dermkit keeps HAM10000's alphabetical class order
(akiec, bcc, bkl, df, mel, nv, vasc), so every comparison maps columns by name.

The scorer reports BMA (``aggregate``), per-category one-vs-rest AUC and average precision,
and their macro means; it does not report multiclass accuracy (its per-category
``accuracy`` is a binary one at a 0.5 threshold), so accuracy is not compared.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dermkit.metrics.classification import (
    average_precision,
    balanced_accuracy,
    macro_auc,
    per_class_auc,
)
from dermkit.metrics.decision import predict_with_thresholds
from dermkit.metrics.isic_csv import ISIC_TASK3_COLUMNS, write_isic_task3_csv

isic_classification = pytest.importorskip("isic_challenge_scoring.classification")
from isic_challenge_scoring import metrics as isic_metrics  # noqa: E402
from isic_challenge_scoring.load_csv import parse_csv  # noqa: E402

HAM = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
ISIC = tuple(ISIC_TASK3_COLUMNS)  # MEL, NV, BCC, AKIEC, BKL, DF, VASC
HAM_COUNTS = np.array([327, 514, 1099, 115, 1113, 6705, 142])


def make_case(n: int, seed: int, drop: str | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """HAM10000-imbalanced labels (HAM indices) and informative softmax probabilities."""
    rng = np.random.default_rng(seed)
    prior = HAM_COUNTS / HAM_COUNTS.sum()
    y = rng.choice(7, size=n, p=prior)
    if drop is not None:  # a class absent from the truth
        y[y == HAM.index(drop)] = HAM.index("nv")
    logits = rng.normal(size=(n, 7)) + 1.5 * np.eye(7)[y] + np.log(prior)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = [f"ISIC_{24306 + i:07d}" for i in range(n)]
    return ids, y, proba


def write_truth(path: Path, ids: list[str], y: np.ndarray) -> None:
    onehot = np.eye(7)[y]  # HAM column order
    frame = pd.DataFrame({"image": ids})
    for column, name in ISIC_TASK3_COLUMNS.items():
        frame[column] = onehot[:, HAM.index(name)]
    frame.to_csv(path, index=False)


def official_score(tmp_path: Path, ids, y, proba):
    truth_csv, pred_csv = tmp_path / "truth.csv", tmp_path / "pred.csv"
    write_truth(truth_csv, ids, y)
    write_isic_task3_csv(pred_csv, ids, proba, HAM)
    metric = isic_classification.ClassificationMetric.BALANCED_ACCURACY
    with warnings.catch_warnings():
        # pandas' applymap deprecation inside the scorer; sklearn's undefined-AUC warning
        warnings.simplefilter("ignore")
        return isic_classification.ClassificationScore.from_file(truth_csv, pred_csv, metric)


@pytest.mark.parametrize("n, seed", [(400, 0), (257, 1), (1000, 5)])
def test_matches_official_scorer(tmp_path, n, seed):
    ids, y, proba = make_case(n, seed)
    assert set(y) == set(range(7))
    score = official_score(tmp_path, ids, y, proba)

    y_pred = predict_with_thresholds(proba)
    bma = balanced_accuracy(y, y_pred, 7)
    assert bma == pytest.approx(score.aggregate["balanced_accuracy"], abs=1e-6)
    assert bma == pytest.approx(score.overall, abs=1e-6)

    ours_auc = per_class_auc(y, proba)
    for column, name in ISIC_TASK3_COLUMNS.items():
        k = HAM.index(name)
        official_auc = score.per_category.loc[column, "auc"]
        assert ours_auc[k] == pytest.approx(official_auc, abs=1e-6), column
        assert average_precision(y == k, proba[:, k]) == pytest.approx(
            score.per_category.loc[column, "ap"], abs=1e-6
        ), column
    assert macro_auc(y, proba) == pytest.approx(score.macro_average["auc"], abs=1e-6)


def as_isic_frames(ids, y, proba) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Truth one-hot and prediction DataFrames in ISIC column order, unit weights."""
    columns = {column: HAM.index(name) for column, name in ISIC_TASK3_COLUMNS.items()}
    truth = pd.DataFrame({c: (y == k).astype(float) for c, k in columns.items()}, index=ids)
    pred = pd.DataFrame({c: proba[:, k] for c, k in columns.items()}, index=ids)
    return truth, pred, pd.Series(1.0, index=ids)


def test_absent_class_is_skipped_by_both(tmp_path):
    ids, y, proba = make_case(300, 2, drop="df")
    assert HAM.index("df") not in set(y)
    # The scorer's whole pipeline cannot score this truth: its partial-AUC helper
    # (auc_above_sensitivity, "TODO: We must have both some true and false instances")
    # fails on a class without positives. Its metric functions, which we follow, handle it.
    with pytest.raises(ValueError):
        official_score(tmp_path, ids, y, proba)
    truth, pred, weights = as_isic_frames(ids, y, proba)
    official_bma = isic_metrics.balanced_multiclass_accuracy(truth, pred, weights)
    y_pred = predict_with_thresholds(proba)
    # BMA averages 6 recalls, not 7 (a 0 for df would lower it, a 1 would raise it)
    recalls = [np.mean(y_pred[y == k] == k) for k in range(7) if k != HAM.index("df")]
    assert official_bma == pytest.approx(np.mean(recalls), abs=1e-12)
    assert balanced_accuracy(y, y_pred, 7) == pytest.approx(official_bma, abs=1e-12)
    # AUC: sklearn (inside the scorer) gives NaN for df, and pandas' mean skips it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning for df
        official_auc = pd.Series({c: isic_metrics.auc(truth[c], pred[c], weights) for c in ISIC})
    ours_auc = per_class_auc(y, proba)
    assert np.isnan(official_auc["DF"]) and np.isnan(ours_auc[HAM.index("df")])
    for column, name in ISIC_TASK3_COLUMNS.items():
        if name != "df":
            assert ours_auc[HAM.index(name)] == pytest.approx(official_auc[column], abs=1e-6)
    assert macro_auc(y, proba) == pytest.approx(official_auc.mean(), abs=1e-6)


def test_official_loader_accepts_our_csv(tmp_path):
    ids, _, proba = make_case(50, 3)
    path = write_isic_task3_csv(tmp_path / "pred.csv", [f"{i}.jpg" for i in ids], proba, HAM)
    header = path.read_text().splitlines()[0]
    assert header == "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the scorer's DataFrame.applymap
        loaded = parse_csv(io.StringIO(path.read_text()), pd.Index(ISIC))
    assert list(loaded.index) == ids  # ".jpg" was dropped
    for column, name in ISIC_TASK3_COLUMNS.items():
        # written with full precision (pandas' fast float parser may differ in the last bit)
        expected = proba[:, HAM.index(name)]
        np.testing.assert_allclose(loaded[column].to_numpy(), expected, rtol=0, atol=1e-15)


def test_our_column_map_matches_the_data_reader():
    from dermkit.data.readers.isic import TASK3_COLUMNS

    assert ISIC_TASK3_COLUMNS == TASK3_COLUMNS
    assert list(ISIC_TASK3_COLUMNS) == list(TASK3_COLUMNS)  # same order too


def test_write_rejects_bad_input(tmp_path):
    ids, _, proba = make_case(5, 4)
    with pytest.raises(ValueError, match="7 Task 3 classes"):
        write_isic_task3_csv(tmp_path / "x.csv", ids, proba, HAM[:6] + ("melanoma",))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_isic_task3_csv(tmp_path / "x.csv", ids, proba * 2, HAM)
    with pytest.raises(ValueError, match="one row per image"):
        write_isic_task3_csv(tmp_path / "x.csv", ids[:4], proba, HAM)
