"""Faithfulness measures on toy cases whose answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dermkit.errors import ConfigError
from dermkit.explain import (
    area_share,
    auc,
    blur_baseline,
    deletion_insertion,
    mass_inside,
    mean_baseline,
    perturbation_curve,
)

A = 0.25  # the evidence's share of the image


def region(side: int = 32) -> np.ndarray:
    mask = np.zeros((side, side), bool)
    mask[: int(side * A)] = True  # the top quarter
    return mask


def mean_score(images: torch.Tensor) -> torch.Tensor:
    """A 'model' whose score is the mean of channel 0: each evidence pixel counts 1 / (H W)."""
    return images[:, 0].mean(dim=(1, 2))


def curves(saliency: np.ndarray, steps: int = 8, **kwargs):
    x = torch.from_numpy(region().astype(np.float32))[None].repeat(3, 1, 1)  # evidence = 1, elsewhere 0
    base = torch.zeros_like(x)
    deletion = perturbation_curve(mean_score, x, saliency, base, "deletion", steps, **kwargs)
    insertion = perturbation_curve(mean_score, x, saliency, base, "insertion", steps, **kwargs)
    return deletion, insertion


def test_a_perfect_map_deletes_the_evidence_first_and_inserts_it_first():
    deletion, insertion = curves(region().astype(np.float32))
    # deletion: score = max(A - f, 0) -> A^2 / 2; insertion: min(f, A) -> A - A^2 / 2 (exact on this grid)
    np.testing.assert_allclose(deletion.scores, np.maximum(A - deletion.fractions, 0), atol=1e-6)
    assert deletion.auc == pytest.approx(A**2 / 2) and insertion.auc == pytest.approx(A - A**2 / 2)
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == 1 and len(deletion.fractions) == 9


def test_the_reversed_map_is_the_worst_case():
    deletion, insertion = curves(1.0 - region().astype(np.float32))
    assert deletion.auc == pytest.approx(A * (1 - A) + A**2 / 2) and insertion.auc == pytest.approx(A**2 / 2)


def test_a_constant_map_is_a_random_order_not_a_raster_scan():
    # a raster scan would delete the top quarter (all the evidence) first: AUC A^2 / 2 = 0.031
    deletion, insertion = curves(np.zeros((32, 32), np.float32), steps=32)
    assert deletion.auc == pytest.approx(A / 2, abs=0.01) and insertion.auc == pytest.approx(A / 2, abs=0.01)


def test_the_curve_does_not_depend_on_the_batch_size():
    saliency = np.random.default_rng(1).random((32, 32)).astype(np.float32)
    one, _ = curves(saliency, steps=20, batch_size=1)
    many, _ = curves(saliency, steps=20, batch_size=17)
    np.testing.assert_allclose(one.scores, many.scores, atol=1e-7)


def test_deletion_insertion_start_and_end_at_the_image_and_the_baseline():
    x = torch.rand(3, 24, 24)
    saliency = np.random.default_rng(0).random((24, 24))
    for kind, make in (("blur", blur_baseline), ("mean", mean_baseline)):
        deletion, insertion = deletion_insertion(mean_score, x, saliency, baseline=kind, steps=4)
        assert deletion.scores[0] == pytest.approx(float(x[0].mean()), abs=1e-6)
        assert deletion.scores[-1] == pytest.approx(float(make(x)[0].mean()), abs=1e-6)
        assert insertion.scores[0] == pytest.approx(deletion.scores[-1], abs=1e-6)
        assert insertion.scores[-1] == pytest.approx(deletion.scores[0], abs=1e-6)
    with pytest.raises(ConfigError, match="unknown deletion/insertion baseline 'zero'"):
        deletion_insertion(mean_score, x, saliency, baseline="zero")


def test_baselines():
    x = torch.rand(3, 40, 56)
    blurred = blur_baseline(x)
    assert blurred.shape == x.shape and blurred.std() < 0.5 * x.std()
    flat = torch.full((3, 40, 56), 0.3)
    torch.testing.assert_close(blur_baseline(flat), flat)
    mean = mean_baseline(x)
    torch.testing.assert_close(mean[:, 0, 0], x.mean(dim=(1, 2)))
    assert float(mean.std(dim=(1, 2)).max()) == 0.0


def test_bad_curve_inputs_are_refused():
    x = torch.zeros(3, 8, 8)
    with pytest.raises(ValueError, match="mode must be"):
        perturbation_curve(mean_score, x, np.zeros((8, 8)), x, "delete")
    with pytest.raises(ValueError, match="saliency must be"):
        perturbation_curve(mean_score, x, np.zeros((8, 9)), x, "deletion")


def test_mass_inside_and_its_chance_level():
    mask = region()
    assert area_share(mask) == pytest.approx(A)
    assert mass_inside(np.ones((32, 32)), mask) == pytest.approx(A)  # uniform = chance
    assert mass_inside(np.zeros((32, 32)), mask) == pytest.approx(A)  # no mass: counted as uniform
    assert mass_inside(mask * 0.7, mask) == pytest.approx(1.0)
    heat = np.where(mask, 3.0, 1.0)  # 3 x denser inside: 3A / (3A + (1 - A))
    assert mass_inside(heat, mask) == pytest.approx(3 * A / (3 * A + 1 - A))
    with pytest.raises(ValueError, match="one shape"):
        mass_inside(np.ones((32, 31)), mask)
    with pytest.raises(ValueError, match="finite and >= 0"):
        mass_inside(-np.ones((32, 32)), mask)


def test_auc_is_the_trapezoid():
    assert auc(np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.0, 0.0])) == pytest.approx(0.75)
