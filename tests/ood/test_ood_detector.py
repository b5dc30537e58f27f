"""The Mahalanobis-on-PCA detector and the energy score on constructed features with known answers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score

from dermkit.errors import DataError
from dermkit.ood import MAX_COMPONENTS, energy_score, fit_ood
from dermkit.ood.detector import validation_threshold


def clusters(n: int, dim: int = 20, seed: int = 0, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes in a 4-D subspace of ``dim`` dimensions (plus tiny noise elsewhere)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.zeros((3, dim))
    centres[:, :4] = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]]
    x = centres[labels] + rng.normal(size=(n, dim)) * np.r_[np.ones(4), np.full(dim - 4, 0.05)]
    x[:, :4] += shift
    return x, labels


def test_mahalanobis_score_is_the_distance_to_the_nearest_class_mean():
    x, y = clusters(300)
    val, _ = clusters(100, seed=1)
    det = fit_ood(x, y, val, classes=("a", "b", "c"))
    q = clusters(7, seed=2)[0]
    z = (q - det.mean) @ det.components.T
    brute = np.array([min(np.sqrt((zi - m) @ det.precision @ (zi - m)) for m in det.class_means) for zi in z])
    np.testing.assert_allclose(det.score(q), brute, rtol=1e-10)
    assert det.classes == ("a", "b", "c") and det.train_images == 300 and det.val_images == 100
    # the shared covariance is the within-class one: a training point sits about sqrt(k) from its mean
    assert np.median(det.score(x)) < 1.5 * np.sqrt(det.components.shape[0])


def test_unusual_features_score_high_and_are_flagged():
    x, y = clusters(400)
    val, _ = clusters(200, seed=1)
    test_in, _ = clusters(200, seed=2)
    far, _ = clusters(200, seed=3, shift=6.0)  # off every class mean
    det = fit_ood(x, y, val)
    s_in, s_out = det.score(test_in), det.score(far)
    auroc = roc_auc_score(np.r_[np.zeros(200), np.ones(200)], np.r_[s_in, s_out])
    assert auroc > 0.99
    assert det.flag(s_out).mean() > 0.95 and det.flag(s_in).mean() < 0.12


def test_threshold_keeps_the_stated_share_of_validation_images():
    x, y = clusters(300)
    for n_val in (1, 10, 37, 200):
        val, _ = clusters(n_val, seed=n_val)
        det = fit_ood(x, y, val, val_logits=np.random.default_rng(n_val).normal(size=(n_val, 3)))
        s = det.score(val)
        assert det.threshold in s  # a validation score
        assert (s <= det.threshold).mean() >= 0.95  # at least 95 % kept in distribution ...
        assert (s < det.threshold).mean() < 0.95  # ... by the smallest such score
        assert det.val_flagged == pytest.approx((s > det.threshold).mean()) and det.val_flagged <= 0.05
        assert det.val_energy_flagged <= 0.05
    assert validation_threshold(np.arange(1, 21), 0.95) == 19  # 19 of 20 at or below it


def test_energy_is_minus_logsumexp():
    logits = np.random.default_rng(0).normal(size=(5, 7)) * 30
    np.testing.assert_allclose(energy_score(logits), -logsumexp(logits, axis=1), rtol=1e-12)
    # a confident image (large logits) has lower energy than a flat one
    assert energy_score(np.array([[10.0, 0, 0]]))[0] < energy_score(np.array([[0.0, 0, 0]]))[0]


def test_components_are_capped_and_follow_the_rank():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    wide = rng.normal(size=(500, 200))
    assert fit_ood(wide, y, wide[:20]).components.shape == (MAX_COMPONENTS, 200)
    low_rank = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 50))  # rank 5 in 50 dimensions
    det = fit_ood(low_rank, y, low_rank[:20])
    assert det.components.shape == (5, 50) and det.explained_variance == pytest.approx(1.0)
    few = fit_ood(wide[:10], y[:10], wide[:3])  # 10 images: at most 9 directions with variance
    assert few.components.shape[0] <= 9
    np.testing.assert_allclose(few.components @ few.components.T, np.eye(len(few.components)), atol=1e-10)


def test_a_class_without_training_images_has_no_mean():
    x, y = clusters(300)
    det = fit_ood(x[y != 1], y[y != 1], x[:10], classes=("a", "b", "c"))
    assert det.classes == ("a", "c") and det.class_means.shape[0] == 2


def test_bad_inputs_are_clear_errors():
    x, y = clusters(50)
    with pytest.raises(DataError, match="at least 2 training"):
        fit_ood(x[:1], y[:1], x)
    with pytest.raises(DataError, match="non-finite"):
        fit_ood(np.where(np.arange(50)[:, None] == 3, np.nan, x), y, x)
    with pytest.raises(ValueError, match="shapes disagree"):
        fit_ood(x, y, x[:, :5])
    det = fit_ood(x, y, x)
    with pytest.raises(ValueError, match=r"\(N, 20\)"):
        det.score(x[:, :5])
    with pytest.raises(ValueError, match="no energy threshold"):
        det.flag_energy(np.zeros(2))


def test_scoring_imports_no_torch_and_no_sklearn():
    code = (
        "import sys, dermkit.ood, dermkit.calibration; "
        "assert 'torch' not in sys.modules, 'torch'; assert 'sklearn' not in sys.modules, 'sklearn'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
