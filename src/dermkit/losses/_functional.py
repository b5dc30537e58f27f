"""Pieces every loss shares."""

from __future__ import annotations

from torch import Tensor

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


def reduce(per_item: Tensor, reduction: str) -> Tensor:
    """Reduce per-image losses (B,) by "mean", "sum" or "none" (returned as is): one rule for all losses."""
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item
