"""How faithful a heat map is: lesion mass share, and deletion / insertion (Petsiuk et al. 2018, RISE).

Pure numpy / torch functions, no run or file involved.

* :func:`mass_inside`: the share of the map's total mass that falls inside the ground-truth lesion
  mask; :func:`area_share` (the lesion's share of the image) is what a map spreading its mass
  uniformly gets, the chance level to compare with.
* :func:`perturbation_curve`: order the pixels by the map, most relevant first (ties broken at
  random with a fixed seed, so a constant map is a random order, not a raster scan), and
  ``deletion`` replaces the first k % of them with a baseline image, ``insertion`` starts from the
  baseline and puts the first k % of the real pixels back; ``score`` (e.g. the target class's
  probability) is read at ``steps + 1`` evenly spaced fractions. :func:`auc` is the trapezoidal
  area under it over the fraction axis [0, 1]. A faithful map gives a LOW deletion AUC (the
  probability collapses once the relevant pixels are gone) and a HIGH insertion AUC.
* Baselines: :func:`blur_baseline` (Gaussian blur, RISE's insertion baseline, sigma 5 px per 224 px
  of the image side) or :func:`mean_baseline` (each channel's mean). Blur removes detail without
  adding the strong black-square edges a zero baseline would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.functional import gaussian_blur

from dermkit.registry import Registry

Mode = Literal["deletion", "insertion"]


def _check_pair(heat: np.ndarray, mask: np.ndarray) -> None:
    if heat.shape != mask.shape or heat.ndim != 2:
        raise ValueError(f"heat map and mask must be (H, W) arrays of one shape; got {heat.shape} and {mask.shape}")


def area_share(mask: np.ndarray) -> float:
    """The lesion's share of the image: the ``mass_inside`` of a uniform map (chance level)."""
    return float((np.asarray(mask) > 0).mean())


def mass_inside(heat: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heat map's mass inside ``mask`` (> 0), in [0, 1].

    A map with no mass (all zero: no evidence anywhere) counts as uniform and gets :func:`area_share`.

    Raises:
        ValueError: shapes differ, or the map has negative or non-finite values.
    """
    heat = np.asarray(heat, np.float64)
    _check_pair(heat, np.asarray(mask))
    if not np.isfinite(heat).all() or (heat < 0).any():
        raise ValueError("heat map values must be finite and >= 0")
    total = heat.sum()
    if total <= 0:
        return area_share(mask)
    return float(heat[np.asarray(mask) > 0].sum() / total)


def blur_baseline(x: Tensor, sigma: float | None = None) -> Tensor:
    """``x`` (C, H, W) Gaussian-blurred; ``sigma`` default 5 px per 224 px of the shorter side."""
    side = min(x.shape[-2:])
    sigma = float(sigma if sigma is not None else max(1.0, 5.0 * side / 224.0))
    kernel = min(2 * int(round(2 * sigma)) + 1, 2 * ((side - 1) // 2) + 1)  # odd, at most the image side
    return gaussian_blur(x[None], [kernel, kernel], [sigma, sigma])[0]


def mean_baseline(x: Tensor) -> Tensor:
    """``x`` (C, H, W) with every pixel set to its channel's mean."""
    return x.mean(dim=(-2, -1), keepdim=True).expand_as(x).clone()


#: baseline name -> (C, H, W) image -> (C, H, W) baseline
BASELINES: Registry[Callable[[Tensor], Tensor]] = Registry("deletion/insertion baseline")
BASELINES.add("blur", blur_baseline)
BASELINES.add("mean", mean_baseline)


def relevance_order(saliency: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices, most relevant first; equal values in a seeded random order."""
    flat = np.asarray(saliency, np.float64).ravel()
    tie = np.random.default_rng(seed).random(flat.size)
    return np.lexsort((tie, -flat))


@dataclass(frozen=True)
class Curve:
    """A deletion or insertion curve.

    Attributes:
        fractions: (steps + 1,) share of pixels perturbed, 0 to 1.
        scores: (steps + 1,) the score at each fraction.
        auc: trapezoidal area under ``scores`` over ``fractions``.
    """

    fractions: np.ndarray
    scores: np.ndarray
    auc: float


def auc(fractions: np.ndarray, scores: np.ndarray) -> float:
    """Trapezoidal area under ``scores`` over ``fractions``."""
    f, s = np.asarray(fractions, np.float64), np.asarray(scores, np.float64)
    return float(np.sum((f[1:] - f[:-1]) * (s[1:] + s[:-1]) / 2))


@torch.no_grad()
def perturbation_curve(
    score: Callable[[Tensor], Tensor],
    x: Tensor,
    saliency: np.ndarray,
    baseline: Tensor,
    mode: Mode,
    steps: int = 32,
    batch_size: int = 17,
    seed: int = 0,
) -> Curve:
    """The deletion or insertion curve of ``saliency`` (module doc).

    Args:
        score: (B, C, H, W) -> (B,) e.g. the target class's probability.
        x: (C, H, W) the image as the model takes it.
        saliency: (H, W) map, higher = more relevant.
        baseline: (C, H, W) what deleted pixels become / insertion starts from.
        mode: ``deletion`` or ``insertion``.
        steps: number of equal steps from 0 % to 100 % of the pixels.
        batch_size: perturbed images scored per call.
        seed: tie-breaking of equal saliency values.
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion'; got {mode!r}")
    channels, height, width = x.shape
    if saliency.shape != (height, width) or baseline.shape != x.shape:
        raise ValueError(
            f"saliency must be {(height, width)} and baseline {tuple(x.shape)}; "
            f"got {saliency.shape} and {tuple(baseline.shape)}"
        )
    n = height * width
    rank = torch.empty(n, dtype=torch.long)
    rank[torch.from_numpy(relevance_order(saliency, seed))] = torch.arange(n)
    rank = rank.view(height, width).to(x.device)
    counts = np.round(np.linspace(0, n, steps + 1)).astype(int)
    start, end = (x, baseline) if mode == "deletion" else (baseline, x)
    scores: list[Tensor] = []
    for i in range(0, len(counts), batch_size):
        chunk = torch.as_tensor(counts[i : i + batch_size], device=x.device)
        changed = (rank[None] < chunk[:, None, None])[:, None]  # (b, 1, H, W): the first k pixels
        images = torch.where(changed, end[None], start[None])
        scores.append(score(images).float().cpu())
    values = torch.cat(scores).numpy()
    fractions = counts / n
    return Curve(fractions, values, auc(fractions, values))


def deletion_insertion(
    score: Callable[[Tensor], Tensor],
    x: Tensor,
    saliency: np.ndarray,
    baseline: str = "blur",
    steps: int = 32,
    seed: int = 0,
) -> tuple[Curve, Curve]:
    """(deletion curve, insertion curve) of ``saliency`` against a :data:`BASELINES` baseline."""
    base = BASELINES.get(baseline)(x)
    return (
        perturbation_curve(score, x, saliency, base, "deletion", steps, seed=seed),
        perturbation_curve(score, x, saliency, base, "insertion", steps, seed=seed),
    )
