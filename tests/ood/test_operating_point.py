"""The malignant operating point on constructed probabilities whose answer is known, and in calibration.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermkit.calibration import Calibration, fit_calibration, load_calibration
from dermkit.errors import DermkitError
from dermkit.ood import (
    MALIGNANT_CLASSES,
    MIN_MALIGNANT_FOR_TARGET,
    OperatingPoint,
    fit_operating_point,
    malignant_probability,
    wilson_interval,
)

CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
MEL, BCC, NV = CLASSES.index("mel"), CLASSES.index("bcc"), CLASSES.index("nv")


def proba_with_malignant(scores: np.ndarray) -> np.ndarray:
    """Rows whose p(mel) + p(bcc) + p(akiec) is ``scores`` (split over mel and bcc), the rest on nv."""
    p = np.zeros((len(scores), len(CLASSES)))
    p[:, MEL], p[:, BCC], p[:, NV] = 0.75 * scores, 0.25 * scores, 1 - scores
    return p


def test_malignant_probability_sums_the_present_malignant_classes():
    p = proba_with_malignant(np.array([0.2, 0.7]))
    p[:, CLASSES.index("akiec")] = 0.1
    p[:, NV] -= 0.1
    np.testing.assert_allclose(malignant_probability(CLASSES, p), [0.3, 0.8])
    assert MALIGNANT_CLASSES == ("mel", "bcc", "akiec")
    assert malignant_probability(("nv", "bkl"), p[:, :2]) is None


def test_threshold_is_the_largest_reaching_the_target_sensitivity():
    pos = np.linspace(0.05, 0.95, 40)  # 40 malignant images: 36 must be flagged for 0.90
    neg = np.linspace(0.0, 0.5, 60)
    labels = np.r_[np.full(40, MEL), np.full(60, NV)]
    point = fit_operating_point(CLASSES, labels, proba_with_malignant(np.r_[pos, neg]))
    assert point.rule == "sensitivity_target" and point.target_sensitivity == 0.9
    assert point.threshold == pytest.approx(np.sort(pos)[::-1][35])  # the 36th largest
    assert (point.true_positives, point.positives) == (36, 40) and point.sensitivity == pytest.approx(0.9)
    assert point.true_negatives == int((neg < point.threshold).sum()) and point.negatives == 60
    # any larger threshold misses the target
    assert (pos >= np.nextafter(point.threshold, 1)).mean() < 0.9
    assert point.flag(np.array([point.threshold, point.threshold - 1e-9])).tolist() == [True, False]
    lo, hi = point.sensitivity_ci95
    assert lo < 0.9 < hi and "sensitivity 0.900" in point.describe()


def test_few_malignant_images_fall_back_to_youden():
    pos = np.array([0.3, 0.6, 0.8])  # < MIN_MALIGNANT_FOR_TARGET
    neg = np.array([0.1, 0.2, 0.35, 0.4, 0.5])
    labels = np.r_[np.full(3, BCC), np.full(5, NV)]
    point = fit_operating_point(CLASSES, labels, proba_with_malignant(np.r_[pos, neg]))
    assert len(pos) < MIN_MALIGNANT_FOR_TARGET
    # J over the candidates: t=0.6 flags 2/3 malignant and no benign (J = 0.667), the best
    assert point.rule == "youden" and point.target_sensitivity is None
    assert point.threshold == pytest.approx(0.6)
    assert (point.true_positives, point.true_negatives) == (2, 5)
    assert "Youden" in point.describe()


def test_nothing_to_validate_gives_no_operating_point():
    p = proba_with_malignant(np.array([0.2, 0.4]))
    assert fit_operating_point(CLASSES, np.array([NV, NV]), p) is None  # no malignant image
    assert fit_operating_point(CLASSES, np.array([MEL, MEL]), p) is None  # no benign image
    assert fit_operating_point(("nv", "bkl"), np.array([0, 1]), p[:, :2]) is None  # no malignant class


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_fit_calibration_stores_the_operating_point_in_calibration_json(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(CLASSES), 700)
    logits = rng.normal(size=(700, len(CLASSES))) + 2.0 * np.eye(len(CLASSES))[labels]
    calibration = fit_calibration(logits, labels, CLASSES, "temperature")
    point = calibration.malignant
    # fitted on the *calibrated* probabilities
    expected = fit_operating_point(CLASSES, labels, calibration.proba(logits))
    assert point == expected and point.rule == "sensitivity_target" and point.sensitivity >= 0.9
    calibration.save(tmp_path)
    stored = json.loads((tmp_path / "calibration.json").read_text())["malignant_operating_point"]
    assert stored["positives"] == int(np.isin(labels, [0, 1, 4]).sum()) and stored["fitted_on"] == "val"
    assert load_calibration(tmp_path).malignant == point


def test_calibration_files_without_an_operating_point_still_load(tmp_path):
    old = Calibration(temperature=1.5, classes=CLASSES, images=10).to_json()
    del old["malignant_operating_point"]
    (tmp_path / "calibration.json").write_text(json.dumps(old))
    assert load_calibration(tmp_path).malignant is None


GOOD = OperatingPoint(0.3, "youden", None, ("mel",), 3, 4, 1, 2).to_json()


@pytest.mark.parametrize(
    "bad",
    [{"threshold": 0.3}, {**GOOD, "true_positives": 5}, {**GOOD, "rule": "guess"}, {**GOOD, "negatives": 0}, "text"],
    ids=["fields-missing", "counts", "rule", "no-benign", "not-an-object"],
)
def test_a_bad_operating_point_is_a_clear_error(tmp_path, bad):
    payload = Calibration(classes=CLASSES, images=10).to_json()
    assert OperatingPoint.from_json(GOOD).to_json() == GOOD
    payload["malignant_operating_point"] = bad
    (tmp_path / "calibration.json").write_text(json.dumps(payload))
    with pytest.raises(DermkitError, match="calibration.json: not a valid calibration"):
        load_calibration(tmp_path)
