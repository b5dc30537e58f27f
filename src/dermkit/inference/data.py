"""The one builder of a run's data sets: training, validation, test and evaluation all use it,
so preprocessing, normalisation, cache and lesion focus are the same wherever a run sees images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dermkit.config import RunConfig, resolve_cache_dir
from dermkit.data.dataset import LesionDataset
from dermkit.data.records import LesionTable
from dermkit.data.transforms import build_augment
from dermkit.inference.focus import LesionFocus, focus_of

Normalize = tuple[Sequence[float], Sequence[float]]


def run_dataset(
    cfg: RunConfig,
    table: LesionTable,
    indices: np.ndarray,
    normalize: Normalize,
    *,
    augment: bool = False,
    masks: bool = False,
    focus: LesionFocus | None | bool = True,
) -> LesionDataset:
    """A :class:`LesionDataset` of ``table``'s rows ``indices`` as the run ``cfg`` sees them.

    Args:
        cfg: the run's config (preprocessing, cache, augmentation, seed, ``data.focus``).
        normalize: (mean, std) of the model's input.
        augment: the recipe's random augmentation (training side only).
        masks: load lesion masks (segmentation).
        focus: True: the recipe's ``data.focus``; a :class:`LesionFocus` to reuse one; None/False: off.
    """
    if focus is True:
        focus = focus_of(cfg.data.focus)
    return LesionDataset(
        table,
        indices,
        preprocess_config=cfg.data.preprocess,
        transform=build_augment(cfg.augment) if augment else None,
        normalize=(tuple(normalize[0]), tuple(normalize[1])),
        cache_dir=resolve_cache_dir(cfg.data.cache_dir),
        load_masks=masks,
        seed=cfg.train.seed,
        focus=focus or None,
    )
