"""One BMA, whoever scores it: the ISIC Task 3 file's argmax is the run's decision, so the official
scorer (isic-challenge-scoring) reproduces the balanced accuracy dermkit reports, also where the
decision divisors change the argmax of the calibrated probabilities."""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dermkit.metrics.classification import balanced_accuracy
from dermkit.metrics.decision import predict_with_thresholds
from dermkit.metrics.isic_csv import ISIC_TASK3_COLUMNS, decision_scores, write_isic_task3_csv

isic_classification = pytest.importorskip("isic_challenge_scoring.classification")
from isic_challenge_scoring import metrics as isic_metrics  # noqa: E402
from isic_challenge_scoring.load_csv import parse_csv, parse_truth_csv  # noqa: E402

HAM = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
HAM_COUNTS = np.array([327, 514, 1099, 115, 1113, 6705, 142])
PRIOR = HAM_COUNTS / HAM_COUNTS.sum()


def write_truth(path: Path, ids: list[str], labels: list[str]) -> Path:
    frame = pd.DataFrame({"image": ids})
    for column, name in ISIC_TASK3_COLUMNS.items():
        frame[column] = [float(label == name) for label in labels]
    frame.to_csv(path, index=False)
    return path


def official_bma(truth_csv: Path, pred_csv: Path) -> float:
    """The scorer's own loaders and balanced accuracy on the two files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' applymap deprecation inside the scorer
        with open(truth_csv) as f:
            truth, weights = parse_truth_csv(f)
        with open(pred_csv) as f:
            pred = parse_csv(f, truth.columns)
        pred = pred.reindex(truth.index)
        return float(isic_metrics.balanced_multiclass_accuracy(truth, pred, weights["score_weight"]))


def prior_case(n: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Calibrated-looking probabilities that follow HAM10000's priors, as a run's do."""
    rng = np.random.default_rng(seed)
    y = rng.choice(7, size=n, p=PRIOR)
    logits = rng.normal(size=(n, 7)) + 1.2 * np.eye(7)[y] + np.log(PRIOR)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [f"ISIC_{24306 + i:07d}" for i in range(n)], y, proba


@pytest.mark.parametrize("n, seed", [(500, 0), (800, 3)])
def test_official_bma_of_the_file_is_the_reported_bma_under_the_prior_rule(tmp_path, n, seed):
    ids, y, proba = prior_case(n, seed)
    divisors = proba.mean(axis=0)  # the prior rule: argmax p / pi
    decided = predict_with_thresholds(proba, divisors)
    assert (decided != proba.argmax(1)).mean() > 0.1  # the divisors change many decisions
    reported = balanced_accuracy(y, decided, 7)
    truth = write_truth(tmp_path / "truth.csv", ids, [HAM[k] for k in y])

    pred = write_isic_task3_csv(tmp_path / "pred.csv", ids, proba, HAM, divisors=divisors)
    assert abs(official_bma(truth, pred) - reported) < 1e-9
    metric = isic_classification.ClassificationMetric.BALANCED_ACCURACY
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = isic_classification.ClassificationScore.from_file(truth, pred, metric)
    assert abs(score.overall - reported) < 1e-9

    # the calibrated probabilities themselves are scored on their argmax: a lower figure
    raw = write_isic_task3_csv(tmp_path / "raw.csv", ids, proba, HAM)
    assert official_bma(truth, raw) < reported - 0.05


def test_scores_are_renormalised_and_their_argmax_is_the_decision():
    _, _, proba = prior_case(300, 1)
    divisors = np.array([0.04, 0.06, 0.11, 0.02, 0.11, 0.64, 0.02])
    scores = decision_scores(proba, divisors)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert scores.min() >= 0 and scores.max() <= 1
    np.testing.assert_array_equal(scores.argmax(1), predict_with_thresholds(proba, divisors))
    expected = proba / divisors
    np.testing.assert_allclose(scores, expected / expected.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(decision_scores(proba).argmax(1), proba.argmax(1))


def test_ties_go_to_the_class_dermkit_decides_not_to_undecided(tmp_path):
    """The scorer counts a shared maximum as 'undecided' (wrong); dermkit takes the lowest index."""
    divisors = np.array([0.1, 0.2, 0.1, 0.1, 0.1, 0.3, 0.1])
    proba = np.array(
        [
            [0.1, 0.2, 0.1, 0.1, 0.1, 0.3, 0.1],  # p / d ties across all seven classes: akiec
            [0.0, 0.4, 0.0, 0.0, 0.0, 0.6, 0.0],  # bcc and nv tie at 2.0: bcc
            [0.0, 0.0, 0.0, 0.0, 0.2, 0.6, 0.2],  # mel, nv and vasc tie: mel
            [0.05, 0.05, 0.05, 0.05, 0.05, 0.7, 0.05],  # nv, no tie
        ]
    )
    decided = predict_with_thresholds(proba, divisors)
    assert [HAM[k] for k in decided] == ["akiec", "bcc", "mel", "nv"]
    scores = decision_scores(proba, divisors)
    for row, k in zip(scores, decided, strict=True):
        assert row[k] > np.delete(row, k).max()  # strictly highest: no tie left
    ids = [f"ISIC_{i:07d}" for i in range(4)]
    labels = ["akiec", "bcc", "mel", "nv"]
    truth = write_truth(tmp_path / "truth.csv", ids, labels)
    pred = write_isic_task3_csv(tmp_path / "pred.csv", ids, proba, HAM, divisors=divisors)
    assert official_bma(truth, pred) == pytest.approx(1.0, abs=1e-12)  # 4 classes present, all right


def test_bad_divisors_and_rows_are_refused():
    proba = np.full((2, 7), 1 / 7)
    with pytest.raises(ValueError, match="positive"):
        decision_scores(proba, [1, 1, 1, 0, 1, 1, 1])
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        decision_scores(proba, [1, 1])
    with pytest.raises(ValueError, match="positive probability"):
        decision_scores(np.zeros((1, 7)), np.ones(7))


def test_evaluate_cls_writes_a_file_the_official_scorer_scores_as_dermkit_does(cls_run, synthetic_root, tmp_path):
    """End to end: a run whose decision divisors change the argmax, evaluated by dermkit, scored officially."""
    from dermkit.calibration import load_calibration
    from dermkit.data.readers import load_table
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run

    run_dir = tmp_path / "run"
    shutil.copytree(cls_run, run_dir)
    calibration = load_calibration(run_dir)
    # HAM10000's priors as divisors: rare classes win far more often than on the plain argmax
    replace(calibration, decision="thresholds", divisors=tuple(float(d) for d in PRIOR)).save(run_dir)
    out = tmp_path / "eval"
    metrics = evaluate_classification([load_run(run_dir)], load_table(synthetic_root), out, n_boot=5, progress=False)

    predictions = pd.read_csv(out / "predictions.csv")
    proba = predictions[list(HAM)].to_numpy()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-9)  # calibrated probabilities kept here
    argmax = [HAM[k] for k in proba.argmax(1)]
    assert (predictions["predicted"] != argmax).any(), "the divisors must change some decisions"
    isic = pd.read_csv(out / "predictions_isic.csv").set_index("image").loc[predictions["image_id"].astype(str)]
    file_argmax = [ISIC_TASK3_COLUMNS[c] for c in isic[list(ISIC_TASK3_COLUMNS)].idxmax(axis=1)]
    assert file_argmax == predictions["predicted"].tolist()

    truth = write_truth(tmp_path / "truth.csv", predictions["image_id"].astype(str).tolist(), predictions["label"])
    reported = json.loads((out / "metrics.json").read_text())["balanced_accuracy"]
    assert reported == metrics["balanced_accuracy"]
    assert abs(official_bma(truth, out / "predictions_isic.csv") - reported) < 1e-9
    # the argmax figure dermkit reports beside it is what a file of the probabilities would score
    raw = write_isic_task3_csv(tmp_path / "raw.csv", predictions["image_id"].astype(str), proba, HAM)
    assert abs(official_bma(truth, raw) - metrics["argmax"]["balanced_accuracy"]) < 1e-9
