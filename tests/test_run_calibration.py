"""The run's calibration: fitted on validation, frozen, applied and decided in one place."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from dermkit.calibration import (
    IDENTITY,
    MIN_IMAGES_FOR_BIAS,
    Calibration,
    fit_calibration,
    load_calibration,
)
from dermkit.metrics.calibration import negative_log_likelihood


@pytest.mark.parametrize("method", ["temperature", "bias_corrected"])
def test_calibration_method_is_fitted_and_applied(tmp_path, method):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3)) + 2.5 * np.eye(3)[labels] + np.array([2.0, 0.0, 0.0])  # favours class 0
    fit_calibration(logits, labels, ["a", "b", "c"], method).save(tmp_path)
    cal = json.loads((tmp_path / "calibration.json").read_text())
    assert cal["method"] == method and (cal["bias"] is None) == (method == "temperature")
    proba = load_calibration(tmp_path).proba(logits)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-9)
    nll = negative_log_likelihood(np.log(proba), labels)
    assert nll < negative_log_likelihood(logits, labels)  # calibration never worsens validation NLL
    if method == "bias_corrected":
        assert abs(proba[:, 0].mean() - (labels == 0).mean()) < 0.02  # the prior shift is undone


def test_bias_needs_enough_validation_images_of_every_class(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(200, int), np.ones(200, int), np.full(MIN_IMAGES_FOR_BIAS - 1, 2)]
    logits = rng.normal(size=(len(labels), 3)) + 2.0 * np.eye(3)[labels]
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected")
    assert cal.method == "temperature" and cal.bias is None


def test_metadata_expert_is_weighted_on_validation_and_needed_at_inference(tmp_path):
    """Image logits that cannot tell classes 1 and 2 apart, metadata that can: the fitted fusion
    trusts the metadata expert (weight well above 0) and beats the image model alone."""
    from dermkit.data.metadata import METADATA_DIM
    from dermkit.data.metadata_prior import fit_metadata_prior

    rng = np.random.default_rng(2)

    def sample(n):
        labels = rng.integers(0, 3, n)
        meta = np.zeros((n, METADATA_DIM), np.float32)
        meta[:, 0] = np.where(labels == 2, rng.uniform(0.6, 0.9, n), rng.uniform(0.1, 0.5, n))  # age tells 2
        meta[:, 2] = 1.0  # sex: male for all
        logits = rng.normal(size=(n, 3)) + 3.0 * np.eye(3)[np.minimum(labels, 1)]  # 1 and 2 look alike
        return logits, labels, meta

    prior = fit_metadata_prior(*sample(800)[1:][::-1], num_classes=3)
    logits, labels, meta = sample(600)
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected", prior, meta)
    assert cal.metadata_weight > 0.5
    fused = cal.proba(logits, meta)
    image_only = cal.without_metadata().proba(logits)
    assert negative_log_likelihood(np.log(fused), labels) < 0.8 * negative_log_likelihood(np.log(image_only), labels)
    assert (fused.argmax(1) == labels).mean() > (image_only.argmax(1) == labels).mean() + 0.2
    with pytest.raises(ValueError, match="metadata"):
        cal.proba(logits)
    with pytest.raises(ValueError, match="1 rows for 600 images"):
        cal.proba(logits, meta[:1])


@pytest.mark.parametrize("decision", ["prior", "thresholds", "argmax"])
def test_decision_rule_is_fitted_on_validation(decision):
    """Imbalanced classes (80/15/5): the prior rule divides by the mean calibrated probability and
    lifts balanced accuracy above the argmax, which follows the class prior."""
    from dermkit.metrics.classification import balanced_accuracy

    rng = np.random.default_rng(3)

    def sample(n):
        labels = rng.choice(3, n, p=[0.8, 0.15, 0.05])
        return rng.normal(size=(n, 3)) + 1.2 * np.eye(3)[labels], labels

    logits, labels = sample(3000)
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected", decision=decision)
    proba = cal.proba(logits)
    assert cal.decision == decision
    if decision == "prior":
        np.testing.assert_allclose(cal.divisors, proba.mean(0))
        np.testing.assert_allclose(cal.divisors, np.bincount(labels) / len(labels), atol=0.01)  # BCTS
    if decision == "argmax":
        assert cal.divisors == (1.0, 1.0, 1.0)
    new_logits, new_labels = sample(3000)
    new = cal.proba(new_logits)
    bma = balanced_accuracy(new_labels, cal.decide(new), 3)
    if decision != "argmax":
        assert bma > balanced_accuracy(new_labels, new.argmax(1), 3) + 0.1


def test_calibration_is_frozen_and_round_trips_through_json(tmp_path):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[labels]
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected", tta=True)
    with pytest.raises(AttributeError):
        cal.temperature = 2.0  # frozen: variants are made with dataclasses.replace
    cal.save(tmp_path)
    again = load_calibration(tmp_path)
    assert again == cal
    np.testing.assert_allclose(again.proba(logits), cal.proba(logits))
    assert replace(cal, temperature=2.0).temperature == 2.0 and cal.temperature != 2.0


def test_identity_calibration_is_softmax_and_argmax(tmp_path):
    logits = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 0.0]])
    p = IDENTITY.proba(logits)
    np.testing.assert_allclose(p, np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    assert IDENTITY.decide(p).tolist() == [2, 0]
    assert load_calibration(tmp_path) is IDENTITY  # no calibration.json


def test_decide_divides_by_the_divisors():
    cal = Calibration(divisors=(0.8, 0.1, 0.1), decision="prior")
    # argmax would say class 0; divided by the prior, class 1 is more likely than its base rate
    assert cal.decide(np.array([[0.6, 0.3, 0.1]])).tolist() == [1]


def test_calibration_fitted_with_other_tta_warns(tmp_path, caplog):
    replace(IDENTITY, temperature=1.5, tta=False, images=10).save(tmp_path)
    with caplog.at_level("WARNING", logger="dermkit.calibration"):
        load_calibration(tmp_path, tta=True)
    assert "without test-time augmentation, applied to logits with it" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="dermkit.calibration"):
        load_calibration(tmp_path, tta=False)
    assert caplog.text == ""


def test_broken_calibration_file_is_a_clear_error(tmp_path):
    from dermkit.errors import DermkitError

    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(DermkitError, match="cannot read the calibration"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text(json.dumps({"temperature": "hot"}))
    with pytest.raises(DermkitError, match="not a valid calibration"):
        load_calibration(tmp_path)
