"""One by-name factory for every loss, tagged by task."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from torch import nn

from dermkit.errors import ConfigError
from dermkit.losses.classification import CLASSIFICATION_LOSSES
from dermkit.losses.segmentation import SEGMENTATION_LOSSES


def _merge(*tables: tuple[str, dict[str, Callable[..., nn.Module]]]) -> dict[str, tuple[str, Callable[..., nn.Module]]]:
    merged: dict[str, tuple[str, Callable[..., nn.Module]]] = {}
    for task, table in tables:
        for name, factory in table.items():
            if name in merged:
                raise RuntimeError(f"loss name {name!r} is registered twice")
            merged[name] = (task, factory)
    return merged


#: name -> (task, factory)
LOSSES = _merge(("segmentation", SEGMENTATION_LOSSES), ("classification", CLASSIFICATION_LOSSES))


def list_losses(task: str | None = None) -> list[str]:
    """Names accepted by :func:`create_loss`, optionally only those of one task."""
    return sorted(n for n, (t, _) in LOSSES.items() if task is None or t == task)


def create_loss(name: str, **kwargs: object) -> nn.Module:
    """Build a loss module by name.

    Args:
        name: segmentation: "jaccard", "dice", "weighted_dice", "bce", "bce_dice";
            classification: "cross_entropy", "focal".
        **kwargs: options of the module (e.g. ``smooth=1.0``, ``class_weights=[...]``).

    Raises:
        ConfigError: unknown name (with a suggestion) or unsupported option.
    """
    if name not in LOSSES:
        close = difflib.get_close_matches(name, list(LOSSES), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown loss {name!r}.{hint} Available: {', '.join(list_losses())}.")
    try:
        return LOSSES[name][1](**kwargs)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise ConfigError(f"loss {name!r} got an unsupported option: {err}") from err
