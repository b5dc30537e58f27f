"""Batch mixing for classification training: mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019).

A mixed batch pairs each image with another of the same batch (a random permutation): mixup blends
the two whole images with weight ``lam ~ Beta(alpha, alpha)``; CutMix pastes a box of the partner
covering a ``1 - lam`` share of the area (``lam`` then recomputed from the clipped box). The patient
metadata are blended with the same ``lam``, since the target is. The loss is
``lam * L(logits, y) + (1 - lam) * L(logits, y_partner)``, the decomposition both papers use, so
every classification loss (class weights and focal included) takes mixed batches unchanged.

Random draws come from torch's global generator, which the trainer seeds and saves in checkpoints:
a resumed run mixes its batches as an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mixed:
    """A mixed batch: inputs, each row's partner in the original batch, and the weight of the row's own label."""

    image: torch.Tensor
    meta: torch.Tensor
    partner: torch.Tensor
    lam: float


def _beta(alpha: float) -> float:
    return float(torch.distributions.Beta(alpha, alpha).sample())


def mixup(image: torch.Tensor, meta: torch.Tensor, alpha: float) -> Mixed:
    """Blend every row with a random partner: ``lam * x + (1 - lam) * x[partner]``."""
    lam = _beta(alpha)
    partner = torch.randperm(len(image), device=image.device)
    return Mixed(lam * image + (1 - lam) * image[partner], lam * meta + (1 - lam) * meta[partner], partner, lam)


def cut_box(height: int, width: int, lam: float) -> tuple[int, int, int, int]:
    """CutMix's box (top, bottom, left, right) covering about ``1 - lam`` of the image, centred at
    a uniform random point and clipped at the borders."""
    ratio = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = (int(torch.randint(n, (1,))) for n in (height, width))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return top, bottom, left, right


def cutmix(image: torch.Tensor, meta: torch.Tensor, alpha: float) -> Mixed:
    """Paste a box of each row's partner into it; ``lam`` is the share of the row's own pixels left."""
    height, width = image.shape[-2:]
    top, bottom, left, right = cut_box(height, width, _beta(alpha))
    partner = torch.randperm(len(image), device=image.device)
    mixed = image.clone()
    mixed[..., top:bottom, left:right] = image[partner][..., top:bottom, left:right]
    lam = 1.0 - (bottom - top) * (right - left) / (height * width)
    return Mixed(mixed, lam * meta + (1 - lam) * meta[partner], partner, lam)


def mix_batch(
    image: torch.Tensor, meta: torch.Tensor, mixup_alpha: float, cutmix_alpha: float, prob: float
) -> Mixed | None:
    """A :class:`Mixed` batch, or None when this batch stays as it is (mixing off, the ``1 - prob``
    draw, or a batch of one). With both alphas set, each mixed batch is mixup or CutMix at even odds."""
    methods: list[tuple[Callable[..., Mixed], float]] = [
        (fn, alpha) for fn, alpha in ((mixup, mixup_alpha), (cutmix, cutmix_alpha)) if alpha > 0
    ]
    if not methods or len(image) < 2 or float(torch.rand(())) >= prob:
        return None
    fn, alpha = methods[int(torch.randint(len(methods), (1,)))] if len(methods) > 1 else methods[0]
    return fn(image, meta, alpha)


def mixed_loss(loss_fn: Callable, logits: torch.Tensor, labels: torch.Tensor, mixed: Mixed) -> torch.Tensor:
    """``lam * L(y) + (1 - lam) * L(y[partner])``."""
    return mixed.lam * loss_fn(logits, labels) + (1 - mixed.lam) * loss_fn(logits, labels[mixed.partner])
