"""Pieces every loss shares."""

from __future__ import annotations

from torch import Tensor

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    """ValueError unless ``reduction`` is one of :data:`REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")


def reduce(per_item: Tensor, reduction: str) -> Tensor:
    """Reduce per-image losses (B,) by "mean", "sum" or "none" (returned as is): one rule for all losses."""
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item
