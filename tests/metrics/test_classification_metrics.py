"""Classification metrics: hand-computed cases, degenerate conventions, sklearn cross-checks.

Hand case (3 classes a, b, c; 6 images):

    y_true = [0, 0, 0, 1, 1, 2]        confusion (rows = truth)   [[2, 1, 0],
    y_pred = [0, 0, 1, 1, 2, 2]                                    [0, 1, 1],
                                                                   [0, 0, 1]]
    TP [2, 1, 1]  FP [0, 1, 1]  FN [1, 1, 0]  TN [3, 3, 4]  support [3, 2, 1]
    precision [1, 1/2, 1/2]   recall [2/3, 1/2, 1]   specificity [3/3, 3/4, 4/5]
    F1 = 2TP / (2TP + FP + FN) = [4/5, 2/4, 2/3]
    accuracy 4/6, BMA (2/3 + 1/2 + 1) / 3 = 13/18

AUC (one-vs-rest, ties count 1/2) from PROBA below (its argmax is y_pred):
    a: positives 0.8, 0.6, 0.3 vs negatives 0.3, 0.1, 0.2 -> (3 + 3 + 2.5) / 9 = 17/18
    b: positives 0.6, 0.3 vs negatives 0.1, 0.3, 0.5, 0.1 -> (4 + 2.5) / 8     = 13/16
    c: positive 0.7 vs negatives 0.1, 0.1, 0.2, 0.1, 0.6   -> 5 / 5            = 1
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn import metrics as skm

from dermkit.metrics.bootstrap import bootstrap_ci
from dermkit.metrics.classification import (
    accuracy,
    average_precision,
    balanced_accuracy,
    binary_auc,
    confusion_matrix,
    macro_auc,
    melanoma_view,
    per_class_auc,
    per_class_table,
    roc_points,
    sensitivity_at_specificity,
)
from dermkit.metrics.decision import fit_thresholds_for_bma, predict_with_thresholds
from dermkit.metrics.plots import plot_confusion_matrix, plot_roc, roc_curves
from dermkit.metrics.report import classification_report

CLASSES = ("a", "b", "c")
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])
PROBA = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.6, 0.3, 0.1],
        [0.3, 0.5, 0.2],
        [0.3, 0.6, 0.1],
        [0.1, 0.3, 0.6],
        [0.2, 0.1, 0.7],
    ]
)
AUC = [17 / 18, 13 / 16, 1.0]


# --- hand-computed ------------------------------------------------------------------------


def test_confusion_matrix():
    expected = [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), expected)
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 4)[:3, :3], expected)
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_predictions_follow_argmax():
    np.testing.assert_array_equal(predict_with_thresholds(PROBA), Y_PRED)


def test_accuracy_and_bma():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx(13 / 18)
    assert balanced_accuracy(Y_TRUE, Y_PRED, 3) == pytest.approx(13 / 18)


def test_per_class_table():
    table = per_class_table(Y_TRUE, Y_PRED, PROBA, CLASSES)
    assert list(table.index) == ["a", "b", "c", "macro avg", "weighted avg"]
    rows = table.loc[list(CLASSES)]
    assert rows["TP"].tolist() == [2, 1, 1]
    assert rows["FP"].tolist() == [0, 1, 1]
    assert rows["FN"].tolist() == [1, 1, 0]
    assert rows["TN"].tolist() == [3, 3, 4]
    assert rows["support"].tolist() == [3, 2, 1]
    assert rows["precision"].tolist() == pytest.approx([1, 1 / 2, 1 / 2])
    assert rows["recall"].tolist() == pytest.approx([2 / 3, 1 / 2, 1])
    assert rows["specificity"].tolist() == pytest.approx([1, 3 / 4, 4 / 5])
    assert rows["F1"].tolist() == pytest.approx([4 / 5, 1 / 2, 2 / 3])
    assert rows["AUC"].tolist() == pytest.approx(AUC)

    macro = table.loc["macro avg"]
    assert macro["precision"] == pytest.approx(2 / 3)
    assert macro["recall"] == pytest.approx(13 / 18)  # macro recall is BMA
    assert macro["specificity"] == pytest.approx(17 / 20)
    assert macro["F1"] == pytest.approx(59 / 90)
    assert macro["AUC"] == pytest.approx(sum(AUC) / 3)
    weighted = table.loc["weighted avg"]
    assert weighted["precision"] == pytest.approx((3 * 1 + 2 / 2 + 1 / 2) / 6)  # 3/4
    assert weighted["recall"] == pytest.approx(4 / 6)  # weighted recall is accuracy
    assert weighted["F1"] == pytest.approx(61 / 90)
    assert weighted["AUC"] == pytest.approx((3 * 17 / 18 + 2 * 13 / 16 + 1) / 6)
    # the average rows carry totals in the count columns
    assert macro[["TP", "FP", "FN", "TN", "support"]].tolist() == [4, 2, 2, 10, 6]
    assert table["TP"].dtype == np.int64


def test_auc_and_macro_auc():
    assert per_class_auc(Y_TRUE, PROBA).tolist() == pytest.approx(AUC)
    assert macro_auc(Y_TRUE, PROBA) == pytest.approx(sum(AUC) / 3)
    assert binary_auc([1, 0], [0.5, 0.5]) == 0.5  # a tie counts 1/2


def test_classification_report():
    report = classification_report(Y_TRUE, PROBA, CLASSES)
    assert set(report) == {
        "accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
        "weighted_precision", "weighted_recall", "weighted_f1", "macro_auc",
        "per_class", "confusion_matrix",
    }  # fmt: skip
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["balanced_accuracy"] == pytest.approx(13 / 18)
    assert report["macro_recall"] == pytest.approx(13 / 18)
    assert report["macro_precision"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx(59 / 90)
    assert report["weighted_recall"] == pytest.approx(2 / 3)
    assert report["weighted_f1"] == pytest.approx(61 / 90)
    assert report["macro_auc"] == pytest.approx(sum(AUC) / 3)
    assert report["confusion_matrix"].tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    for key, value in report.items():
        if key not in ("per_class", "confusion_matrix"):
            assert type(value) is float, key
    # dividing b's probability by 0.4 moves images 1 (0.75 > 0.6) and 4 (0.75 > 0.6) to b
    shifted = classification_report(Y_TRUE, PROBA, CLASSES, thresholds=[1.0, 0.4, 1.0])
    assert shifted["confusion_matrix"].tolist() == [[1, 2, 0], [0, 2, 0], [0, 0, 1]]
    assert shifted["macro_auc"] == report["macro_auc"]  # thresholds never change AUC


def test_predict_with_thresholds_rule():
    proba = np.array([[0.6, 0.3, 0.1], [0.4, 0.4, 0.2]])
    assert predict_with_thresholds(proba, [1.0, 0.4, 1.0]).tolist() == [1, 1]  # 0.75 > 0.6
    assert predict_with_thresholds(proba, [2.0, 2.0, 2.0]).tolist() == [0, 0]  # only ratios matter
    assert predict_with_thresholds(proba).tolist() == [0, 0]  # tie -> lowest index
    with pytest.raises(ValueError, match="positive"):
        predict_with_thresholds(proba, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        predict_with_thresholds(proba, [1.0, 1.0])


# --- degenerate cases ---------------------------------------------------------------------


def test_class_absent_from_truth():
    # class 2 never occurs in y_true but is predicted once
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    proba = np.eye(3)[y_pred] * 0.8 + 0.2 / 3
    table = per_class_table(y_true, y_pred, proba, CLASSES)
    c = table.loc["c"]
    assert np.isnan(c["recall"])  # 0 / 0: undefined
    assert c["precision"] == 0.0 and c["F1"] == 0.0  # its one prediction is wrong
    assert c["specificity"] == pytest.approx(3 / 4)
    assert np.isnan(c["AUC"])  # no positive
    # BMA over the two present classes: (1/2 + 1) / 2, not (1/2 + 1 + 0) / 3
    assert balanced_accuracy(y_true, y_pred, 3) == pytest.approx(3 / 4)
    assert table.loc["macro avg", "recall"] == pytest.approx(3 / 4)
    assert macro_auc(y_true, proba) == pytest.approx(np.nanmean(table.loc[["a", "b"], "AUC"]))


def test_class_absent_and_never_predicted_is_perfect():
    table = per_class_table([0, 1], [0, 1], None, CLASSES)
    c = table.loc["c"]
    assert c["precision"] == 1.0 and c["F1"] == 1.0 and c["specificity"] == 1.0
    assert np.isnan(c["recall"]) and np.isnan(c["AUC"])  # proba None: no AUC at all


def test_class_never_predicted():
    # the scorer's binary_ppv: nothing predicted -> precision 1.0; F1 still 0
    table = per_class_table([0, 1, 1], [0, 0, 0], None, ("a", "b"))
    assert table.loc["b", "precision"] == 1.0
    assert table.loc["b", "recall"] == 0.0
    assert table.loc["b", "F1"] == 0.0


def test_single_class_input():
    y_true, y_pred = np.array([0, 0, 0]), np.array([0, 1, 0])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    assert balanced_accuracy(y_true, y_pred, 2) == pytest.approx(2 / 3)
    assert np.isnan(per_class_auc(y_true, proba)).all()
    assert np.isnan(macro_auc(y_true, proba))  # no class has positives and negatives
    table = per_class_table(y_true, y_pred, proba, ("a", "b"))
    assert table.loc["a", "specificity"] == 1.0  # no negative image: the scorer's freebie
    assert roc_curves(y_true, proba, ("a", "b")) == {}


def test_empty_input():
    assert np.isnan(balanced_accuracy([], []))
    assert np.isnan(accuracy([], []))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: confusion_matrix([0, 3], [0, 1], 3), r"\[0, 3\)"),
        (lambda: confusion_matrix([0, 1], [0], 3), "same length"),
        (lambda: confusion_matrix([0.5, 1], [0, 1], 3), "integer"),
        (lambda: per_class_table(Y_TRUE, Y_PRED, PROBA[:, :2], CLASSES), "3 columns"),
        (lambda: classification_report(Y_TRUE, PROBA, ("a", "b")), "2 classes"),
        (lambda: macro_auc(Y_TRUE, PROBA[:4]), "one row per image"),
        (lambda: melanoma_view([0, 2], [0.1, 0.2]), "0/1"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- melanoma view ----------------------------------------------------------------------

# 4 melanomas, 10 others. Ranked: M .95, O .9, O .8, M .7, O .6, M .5, O .4, O .35, O .3, M .2, ...
MEL_Y = np.array([1, 1, 1, 1] + [0] * 10)
MEL_P = np.array([0.95, 0.7, 0.5, 0.2, 0.9, 0.8, 0.6, 0.4, 0.35, 0.3, 0.15, 0.1, 0.05, 0.01])


def test_melanoma_view_hand_computed():
    view = melanoma_view(MEL_Y, MEL_P)
    # negatives below each melanoma: 10, 8, 7, 4
    assert view["auc"] == pytest.approx(29 / 40)
    # specificity >= 0.9 allows 1 false positive (exactly on the boundary) -> 1 of 4 found
    assert view["sensitivity_at_90_specificity"] == pytest.approx(1 / 4)
    # >= 0.8 allows 2 -> 2 of 4
    assert view["sensitivity_at_80_specificity"] == pytest.approx(2 / 4)
    # precision at each melanoma: 1/1, 2/4, 3/6, 4/10
    assert view["average_precision"] == pytest.approx((1 + 1 / 2 + 1 / 2 + 2 / 5) / 4)
    assert (view["n_melanoma"], view["n_other"]) == (4.0, 10.0)
    assert sensitivity_at_specificity(MEL_Y, MEL_P, 0.0) == 1.0
    assert sensitivity_at_specificity(MEL_Y, MEL_P, 1.0) == pytest.approx(1 / 4)


def test_melanoma_view_degenerate():
    view = melanoma_view([0, 0, 0], [0.1, 0.5, 0.2])  # no melanoma at all
    assert np.isnan(view["auc"]) and np.isnan(view["average_precision"])
    assert np.isnan(view["sensitivity_at_80_specificity"])


# --- sklearn cross-checks -------------------------------------------------------------------


def random_case(n: int, c: int, seed: int, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.choice(c, size=n, p=np.r_[0.5, np.full(c - 1, 0.5 / (c - 1))])
    logits = rng.normal(size=(n, c)) + 1.2 * np.eye(c)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if ties:
        proba = np.round(proba, 1)  # many tied scores
    return y, proba


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn(seed):
    y, proba = random_case(300, 5, seed)
    y_pred = proba.argmax(1)
    assert balanced_accuracy(y, y_pred) == pytest.approx(skm.balanced_accuracy_score(y, y_pred))
    assert accuracy(y, y_pred) == pytest.approx(skm.accuracy_score(y, y_pred))
    np.testing.assert_array_equal(confusion_matrix(y, y_pred, 5), skm.confusion_matrix(y, y_pred))
    assert macro_auc(y, proba) == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    report = classification_report(y, proba, list("abcde"))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, y_pred, average=average)
        assert report[f"{average}_precision"] == pytest.approx(p)
        assert report[f"{average}_recall"] == pytest.approx(r)
        assert report[f"{average}_f1"] == pytest.approx(f)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_scores_match_sklearn(seed, ties):
    y, proba = random_case(200, 4, seed, ties=ties)
    for k in range(4):
        positive, score = y == k, proba[:, k]
        assert binary_auc(positive, score) == pytest.approx(skm.roc_auc_score(positive, score))
        assert average_precision(positive, score) == pytest.approx(skm.average_precision_score(positive, score))
        fpr, tpr, thr = skm.roc_curve(positive, score, drop_intermediate=False)
        roc = roc_points(positive, score)
        np.testing.assert_allclose(roc["fpr"], fpr)
        np.testing.assert_allclose(roc["tpr"], tpr)
        np.testing.assert_allclose(roc["threshold"][1:], thr[1:])


def test_roc_curves_keys():
    y = np.array([0, 0, 1, 1])  # class c absent
    proba = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1]])
    curves = roc_curves(y, proba, CLASSES)
    assert list(curves) == ["a", "b"]
    assert list(curves["a"].columns) == ["threshold", "fpr", "tpr"]
    assert curves["a"]["tpr"].iloc[-1] == 1.0 and curves["a"]["fpr"].iloc[0] == 0.0


# --- bootstrap ----------------------------------------------------------------------------


def acc_fn(t: np.ndarray, p: np.ndarray) -> float:
    return accuracy(t, p.argmax(1))


def test_bootstrap_contains_estimate_and_is_deterministic():
    y, proba = random_case(300, 4, 0)
    point = acc_fn(y, proba)
    low, high = bootstrap_ci(y, proba, None, acc_fn, n_boot=300, seed=0)
    assert low < point < high
    assert bootstrap_ci(y, proba, None, acc_fn, n_boot=300, seed=0) == (low, high)
    assert bootstrap_ci(y, proba, None, acc_fn, n_boot=300, seed=1) != (low, high)


def test_bootstrap_narrows_with_more_data():
    y_small, p_small = random_case(100, 4, 0)
    y_big, p_big = random_case(2000, 4, 0)
    low_s, high_s = bootstrap_ci(y_small, p_small, None, acc_fn, n_boot=200)
    low_b, high_b = bootstrap_ci(y_big, p_big, None, acc_fn, n_boot=200)
    assert high_b - low_b < 0.5 * (high_s - low_s)  # ~ 1/sqrt(20) in theory


def test_bootstrap_resamples_groups():
    # 60 lesions, each photographed 5 times identically: resampling lesions gives exactly the
    # interval of the 60 unique images; resampling images pretends there are 300 independent
    # samples and gives an interval about sqrt(5) times too narrow.
    y, proba = random_case(60, 3, 4)
    y5, proba5 = np.repeat(y, 5), np.repeat(proba, 5, axis=0)
    lesion = np.repeat([f"L{i:03d}" for i in range(60)], 5)
    unique = bootstrap_ci(y, proba, None, acc_fn, n_boot=400, seed=3)
    grouped = bootstrap_ci(y5, proba5, lesion, acc_fn, n_boot=400, seed=3)
    by_image = bootstrap_ci(y5, proba5, None, acc_fn, n_boot=400, seed=3)
    assert grouped == pytest.approx(unique)
    assert by_image[1] - by_image[0] < 0.6 * (grouped[1] - grouped[0])


def test_bootstrap_with_bma_and_undefined_metric():
    y, proba = random_case(200, 4, 1)
    bma = lambda t, p: balanced_accuracy(t, p.argmax(1), 4)  # noqa: E731
    low, high = bootstrap_ci(y, proba, np.arange(200) // 2, bma, n_boot=200)
    assert low < bma(y, proba) < high
    nan_fn = lambda t, p: float("nan")  # noqa: E731
    assert all(np.isnan(bootstrap_ci(y, proba, None, nan_fn, n_boot=5)))
    with pytest.raises(ValueError, match="groups"):
        bootstrap_ci(y, proba, np.arange(10), acc_fn)


# --- thresholds ----------------------------------------------------------------------------


def imbalanced_case(n: int, seed: int):
    """3 classes 80/15/5%, probabilities skewed towards the majority (prior-shifted)."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.8, 0.15, 0.05])
    y = rng.choice(3, size=n, p=prior)
    logits = rng.normal(size=(n, 3)) + 1.0 * np.eye(3)[y] + 1.5 * np.log(prior)
    return y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def test_threshold_fitting_improves_bma():
    y, proba = imbalanced_case(3000, 0)
    before = balanced_accuracy(y, predict_with_thresholds(proba), 3)
    thresholds = fit_thresholds_for_bma(y, proba)
    after = balanced_accuracy(y, predict_with_thresholds(proba, thresholds), 3)
    assert after > before + 0.1
    assert thresholds[2] < thresholds[0]  # the rare class gets the lower bar
    np.testing.assert_array_equal(fit_thresholds_for_bma(y, proba), thresholds)  # deterministic
    # and it carries over to fresh data from the same distribution
    y_new, proba_new = imbalanced_case(3000, 1)
    assert balanced_accuracy(y_new, predict_with_thresholds(proba_new, thresholds), 3) > (
        balanced_accuracy(y_new, predict_with_thresholds(proba_new), 3) + 0.05
    )


@pytest.mark.parametrize("seed", range(4))
def test_threshold_fitting_never_lowers_bma(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=80)
    proba = rng.dirichlet(np.ones(4), size=80)  # uninformative
    before = balanced_accuracy(y, predict_with_thresholds(proba), 4)
    thresholds = fit_thresholds_for_bma(y, proba)
    after = balanced_accuracy(y, predict_with_thresholds(proba, thresholds), 4)
    assert after >= before


# --- plots ------------------------------------------------------------------------------------


def test_plots_write_png_without_touching_pyplot(tmp_path):
    had_pyplot = "matplotlib.pyplot" in sys.modules
    cm = confusion_matrix(Y_TRUE, Y_PRED, 3)
    cm_path = plot_confusion_matrix(cm, CLASSES, tmp_path / "cm.png")
    raw_path = plot_confusion_matrix(cm, CLASSES, tmp_path / "raw.png", normalize=False)
    roc_path = plot_roc(Y_TRUE, PROBA, CLASSES, tmp_path / "roc.png")
    for path in (cm_path, raw_path, roc_path):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot
