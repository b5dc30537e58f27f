"""Calibration: top-label ECE by hand, reliability diagram, temperature scaling.

Hand case (n_bins = 10, 2 classes): four images at confidence 0.75 with three correct
(accuracy 3/4 = confidence: gap 0) and two at confidence 0.95, one correct (gap 0.45):

    ECE = 4/6 * 0 + 2/6 * |1/2 - 0.95| = 0.45 / 3 = 0.15
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dermkit.metrics.calibration import (
    apply_temperature,
    calibration_bins,
    expected_calibration_error,
    fit_bias_corrected_temperature,
    fit_logit_fusion,
    fit_temperature,
    negative_log_likelihood,
)
from dermkit.metrics.plots import reliability_diagram

PROBA = np.array(
    [[0.75, 0.25]] * 4 + [[0.05, 0.95]] * 2,
)
Y = np.array([0, 0, 0, 1, 1, 0])  # 3 of the 0.75s right; one of the 0.95s right


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def calibrated_logits(n: int, c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits): calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, c))
    p = softmax(logits)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return logits, y


def test_hand_computed_ece():
    assert expected_calibration_error(PROBA, Y, n_bins=10) == pytest.approx(0.15)
    bins = calibration_bins(PROBA, Y, n_bins=10)
    assert bins["count"].tolist() == [0] * 7 + [4, 0, 2]  # 0.75 in (0.7, 0.8], 0.95 in (0.9, 1]
    assert bins.loc[7, "accuracy"] == pytest.approx(3 / 4)
    assert bins.loc[9, "confidence"] == pytest.approx(0.95)
    assert np.isnan(bins.loc[0, "accuracy"])  # empty bin


def test_perfectly_calibrated_is_zero():
    assert expected_calibration_error(PROBA[:4], Y[:4], n_bins=10) == pytest.approx(0.0, abs=1e-12)
    assert expected_calibration_error(np.eye(3), [0, 1, 2]) == 0.0  # certain and right
    logits, y = calibrated_logits(40_000, 4, 0)
    assert expected_calibration_error(softmax(logits), y) < 0.01  # sampling noise only


def test_bin_edges_are_right_closed():
    # confidence exactly 0.8 sits in (0.7, 0.8], not (0.8, 0.9]
    bins = calibration_bins(np.array([[0.8, 0.2]]), [0], n_bins=10)
    assert bins["count"].tolist()[7] == 1


def test_overconfident_model_and_temperature_scaling():
    logits, y = calibrated_logits(20_000, 5, 1)
    hot = 3.0 * logits  # over-confident: same ranking, sharper probabilities
    ece_hot = expected_calibration_error(softmax(hot), y)
    assert ece_hot > 0.05
    t = fit_temperature(hot, y)
    assert t == pytest.approx(3.0, rel=0.05)  # recovers the scaling
    scaled = apply_temperature(hot, t)
    assert expected_calibration_error(softmax(scaled), y) < ece_hot / 3
    assert negative_log_likelihood(scaled, y) < negative_log_likelihood(hot, y)
    np.testing.assert_array_equal(scaled.argmax(1), hot.argmax(1))  # decisions unchanged
    assert fit_temperature(hot, y) == t  # deterministic


def test_calibrated_logits_keep_temperature_one():
    logits, y = calibrated_logits(20_000, 3, 2)
    assert fit_temperature(logits, y) == pytest.approx(1.0, rel=0.05)


def test_bias_corrected_temperature_undoes_a_prior_shift():
    logits, y = calibrated_logits(20_000, 4, 3)
    shift = np.array([1.5, -0.5, -0.5, -0.5])  # e.g. class-weighted training favouring class 0
    shifted = 2.0 * logits + shift
    t_only = fit_temperature(shifted, y)
    t, b = fit_bias_corrected_temperature(shifted, y)
    assert t == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(b, -shift / 2.0, atol=0.06)  # logits / T + b recovers the truth
    assert abs(b.sum()) < 1e-9
    bcts = softmax(shifted / t + b)
    ts = softmax(shifted / t_only)
    assert negative_log_likelihood(np.log(bcts), y) < negative_log_likelihood(np.log(ts), y)
    freq = np.bincount(y, minlength=4) / len(y)
    assert np.abs(bcts.mean(0) - freq).max() < 0.01  # predicted class shares match the data's
    assert np.abs(ts.mean(0) - freq).max() > 0.03  # a temperature alone keeps the shift


def test_bias_corrected_temperature_is_plain_temperature_without_shift():
    logits, y = calibrated_logits(20_000, 3, 4)
    t, b = fit_bias_corrected_temperature(3.0 * logits, y)
    assert t == pytest.approx(3.0, rel=0.05)
    assert np.abs(b).max() < 0.05


def test_logit_fusion_recovers_temperature_bias_and_expert_weight():
    rng = np.random.default_rng(5)
    n, c = 20_000, 4
    z = rng.normal(size=(n, c)) * 2.0
    prior = np.log(rng.dirichlet(np.ones(c), size=n))  # a second expert's log-probabilities
    truth_b = np.array([0.6, -0.2, -0.2, -0.2])
    s = z / 2.0 + 0.7 * prior + truth_b
    p = np.exp(s - s.max(1, keepdims=True))
    y = np.array([rng.choice(c, p=row / row.sum()) for row in p])
    t, b, w = fit_logit_fusion(z, y, prior)
    assert t == pytest.approx(2.0, rel=0.05) and w == pytest.approx(0.7, abs=0.05)
    np.testing.assert_allclose(b, truth_b, atol=0.06)
    t0, b0, w0 = fit_logit_fusion(z, y, prior, bias=False)
    assert b0 is None and w0 == pytest.approx(0.7, abs=0.1)
    useless = np.log(rng.dirichlet(np.ones(c), size=n))  # unrelated to y: weight stays near 0
    assert fit_logit_fusion(z, y, useless)[2] < 0.05
    assert fit_logit_fusion(z, y)[2] is None
    with pytest.raises(ValueError, match="prior_log_proba"):
        fit_logit_fusion(z, y, prior[:10])


def test_torch_inputs():
    logits, y = calibrated_logits(2_000, 3, 3)
    t_np = fit_temperature(2 * logits, y)
    t_torch = fit_temperature(torch.tensor(2 * logits), torch.tensor(y))
    assert t_torch == pytest.approx(t_np, rel=1e-9)
    scaled = apply_temperature(torch.tensor(logits), 2.0)
    assert isinstance(scaled, torch.Tensor)
    torch.testing.assert_close(scaled, torch.tensor(logits) / 2)


def test_negative_log_likelihood_by_hand():
    # softmax([ln 3, 0]) = [3/4, 1/4]
    logits = np.array([[np.log(3), 0.0], [np.log(3), 0.0]])
    assert negative_log_likelihood(logits, [0, 1]) == pytest.approx((np.log(4 / 3) + np.log(4)) / 2)


def test_reliability_diagram_writes_png(tmp_path):
    path = reliability_diagram(PROBA, Y, tmp_path / "rel.png", n_bins=10)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reliability_points_are_the_non_empty_bins_at_their_mean_confidence():
    from dermkit.metrics.plots import reliability_points

    bins = calibration_bins(PROBA, Y, n_bins=10)
    points = reliability_points(bins)
    kept = bins[bins["count"] > 0]
    assert len(points) == len(kept)
    assert points["confidence"].tolist() == pytest.approx(kept["confidence"].tolist())
    assert points["accuracy"].tolist() == pytest.approx(kept["accuracy"].tolist())
    assert points["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: expected_calibration_error(PROBA[0], Y), r"shape \(N, C\)"),
        (lambda: expected_calibration_error(PROBA, Y[:3]), "y_true must have shape"),
        (lambda: expected_calibration_error(PROBA, Y + 2), "class indices"),
        (lambda: expected_calibration_error(PROBA, Y, n_bins=0), "n_bins"),
        (lambda: apply_temperature(PROBA, 0.0), "temperature"),
        (lambda: fit_temperature(np.full((2, 2), np.nan), [0, 1]), "NaN"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()
