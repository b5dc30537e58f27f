"""The OOD detector (k-NN cosine primary; Mahalanobis on PCA, energy) on constructed features with known answers."""

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
from dermkit.ood.scores import KNNCosine, fit_knn


def clusters(n: int, dim: int = 20, seed: int = 0, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes in a 4-D subspace of ``dim`` dimensions (plus tiny noise elsewhere);
    ``shift`` is added in the next 4 dimensions, which the classes do not use (features pointing elsewhere)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.zeros((3, dim))
    centres[:, :4] = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]]
    x = centres[labels] + rng.normal(size=(n, dim)) * np.r_[np.ones(4), np.full(dim - 4, 0.05)]
    x[:, 4:8] += shift
    return x, labels


def brute_knn(bank: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The k-th smallest 1 - cos(query, bank row), one pair at a time."""
    out = []
    for q in queries:
        d = sorted(1 - float(q @ b) / (np.linalg.norm(q) * np.linalg.norm(b)) for b in bank)
        out.append(d[k - 1])
    return np.array(out)


def test_knn_score_is_the_kth_nearest_cosine_distance():
    x, y = clusters(300)
    val, _ = clusters(100, seed=1)
    q = clusters(9, seed=2)[0]
    for k in (1, 3, 10):
        det = fit_ood(x, y, val, k=k)
        assert det.knn.k == k and det.method == f"knn-cosine (k={k}) on the classifier's features"
        np.testing.assert_allclose(det.score(q), brute_knn(det.knn.bank, q, k), rtol=1e-9, atol=1e-12)
        # the stored (half-precision) bank moves the score by ~1e-3 at most from the exact features'
        np.testing.assert_allclose(det.score(q), brute_knn(x, q, k), atol=2e-3)
    # cosine: the length of a feature vector does not matter, its direction does
    np.testing.assert_allclose(det.score(q * 7.5), det.score(q), rtol=1e-9, atol=1e-12)
    assert det.score(x[:1])[0] < det.score(-x[:1])[0]


def test_knn_bank_is_unit_half_precision_and_capped():
    x, _ = clusters(500)
    knn = fit_knn(x, k=50, max_bank=120, seed=3)
    assert knn.bank.shape == (120, 20) and knn.k == 50
    np.testing.assert_array_equal(knn.bank, knn.bank.astype(np.float16).astype(np.float64))  # float16 values
    np.testing.assert_allclose(np.linalg.norm(knn.bank, axis=1), 1.0, atol=2e-3)
    again = fit_knn(x, k=50, max_bank=120, seed=3)
    np.testing.assert_array_equal(knn.bank, again.bank)  # seeded sample
    assert not np.array_equal(knn.bank, fit_knn(x, max_bank=120, seed=4).bank)
    assert fit_knn(x[:6], k=10).k == 6  # k capped at the bank's size
    with pytest.raises(ValueError, match="k"):
        KNNCosine(bank=knn.bank, k=121)
    with pytest.raises(ValueError, match="at least 1"):
        fit_knn(x, k=0)


def test_mahalanobis_score_is_the_distance_to_the_nearest_class_mean():
    x, y = clusters(300)
    val, _ = clusters(100, seed=1)
    det = fit_ood(x, y, val, classes=("a", "b", "c"))
    m = det.mahalanobis
    q = clusters(7, seed=2)[0]
    z = (q - m.mean) @ m.components.T
    brute = np.array([min(np.sqrt((zi - c) @ m.precision @ (zi - c)) for c in m.class_means) for zi in z])
    np.testing.assert_allclose(det.mahalanobis_score(q), brute, rtol=1e-10)
    assert det.classes == ("a", "b", "c") and det.train_images == 300 and det.val_images == 100
    # the shared covariance is the within-class one: a training point sits about sqrt(c) from its mean
    assert np.median(det.mahalanobis_score(x)) < 1.5 * np.sqrt(m.components.shape[0])


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    return roc_auc_score(np.r_[np.zeros(len(inside)), np.ones(len(outside))], np.r_[inside, outside])


def test_unusual_features_score_high_and_are_flagged():
    x, y = clusters(400)
    val, _ = clusters(200, seed=1)
    test_in, _ = clusters(200, seed=2)
    far, _ = clusters(200, seed=3, shift=3.0)  # off every class mean, pointing elsewhere
    det = fit_ood(x, y, val)
    s_in, s_out = det.score(test_in), det.score(far)
    assert auroc(s_in, s_out) > 0.99
    assert det.flag(s_out).mean() > 0.95 and det.flag(s_in).mean() < 0.12
    m_in, m_out = det.mahalanobis_score(test_in), det.mahalanobis_score(far)
    assert auroc(m_in, m_out) > 0.99 and det.flag_mahalanobis(m_out).mean() > 0.95


def test_features_off_the_leading_directions_are_caught_by_knn_not_by_mahalanobis():
    """The failure seen on photographs: features whose projection on the kept principal components
    lands on a class mean, while the whole vector points elsewhere."""
    rng = np.random.default_rng(0)
    dim = 40
    centres = np.zeros((3, dim))
    centres[:, :3] = 5 * np.eye(3)
    spread = np.r_[np.ones(3), np.full(dim - 3, 0.1)]

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, n)
        return centres[y] + rng.normal(size=(n, dim)) * spread, y

    x, y = sample(600)
    det = fit_ood(x, y, sample(200)[0], max_components=3)
    test_in = sample(300)[0]
    odd = centres[rng.integers(0, 3, 200)]  # on a class mean in the 3 kept directions ...
    odd[np.arange(200), 3 + rng.integers(0, dim - 3, 200)] = 3.0  # ... plus one direction no class uses
    assert auroc(det.score(test_in), det.score(odd)) > 0.99 and det.flag(det.score(odd)).all()
    assert auroc(det.mahalanobis_score(test_in), det.mahalanobis_score(odd)) < 0.5


def test_threshold_keeps_the_stated_share_of_validation_images():
    x, y = clusters(300)
    for n_val in (1, 10, 37, 200):
        val, _ = clusters(n_val, seed=n_val)
        det = fit_ood(x, y, val, val_logits=np.random.default_rng(n_val).normal(size=(n_val, 3)))
        for s, threshold, flagged in (
            (det.score(val), det.threshold, det.val_flagged),
            (det.mahalanobis_score(val), det.mahalanobis_threshold, det.val_mahalanobis_flagged),
        ):
            assert threshold in s  # a validation score
            assert (s <= threshold).mean() >= 0.95  # at least 95 % kept in distribution ...
            assert (s < threshold).mean() < 0.95  # ... by the smallest such score
            assert flagged == pytest.approx((s > threshold).mean()) and flagged <= 0.05
        assert det.flag(det.score(val)).mean() == pytest.approx(det.val_flagged)
        assert det.val_energy_flagged <= 0.05
    assert validation_threshold(np.arange(1, 21), 0.95) == 19  # 19 of 20 at or below it
    det = fit_ood(x, y, x[:100], quantile=0.8)
    assert (det.score(x[:100]) <= det.threshold).mean() >= 0.8 and det.val_flagged <= 0.2


def test_energy_is_minus_logsumexp():
    logits = np.random.default_rng(0).normal(size=(5, 7)) * 30
    np.testing.assert_allclose(energy_score(logits), -logsumexp(logits, axis=1), rtol=1e-12)
    # a confident image (large logits) has lower energy than a flat one
    assert energy_score(np.array([[10.0, 0, 0]]))[0] < energy_score(np.array([[0.0, 0, 0]]))[0]


def test_components_are_capped_and_follow_the_rank():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    wide = rng.normal(size=(500, 200))
    assert fit_ood(wide, y, wide[:20]).mahalanobis.components.shape == (MAX_COMPONENTS, 200)
    low_rank = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 50))  # rank 5 in 50 dimensions
    det = fit_ood(low_rank, y, low_rank[:20]).mahalanobis
    assert det.components.shape == (5, 50) and det.explained_variance == pytest.approx(1.0)
    few = fit_ood(wide[:10], y[:10], wide[:3]).mahalanobis  # 10 images: at most 9 directions with variance
    assert few.components.shape[0] <= 9
    np.testing.assert_allclose(few.components @ few.components.T, np.eye(len(few.components)), atol=1e-10)


def test_a_class_without_training_images_has_no_mean():
    x, y = clusters(300)
    det = fit_ood(x[y != 1], y[y != 1], x[:10], classes=("a", "b", "c"))
    assert det.classes == ("a", "c") and det.mahalanobis.class_means.shape[0] == 2
    assert len(det.knn.bank) == (y != 1).sum()  # the bank has every training image, whatever its class


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
    with pytest.raises(ValueError, match=r"\(N, 20\)"):
        det.mahalanobis_score(x[:, :5])
    with pytest.raises(ValueError, match="no energy threshold"):
        det.flag_energy(np.zeros(2))


def test_scoring_imports_no_torch_and_no_sklearn():
    code = (
        "import sys, dermkit.ood, dermkit.calibration; "
        "assert 'torch' not in sys.modules, 'torch'; assert 'sklearn' not in sys.modules, 'sklearn'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
