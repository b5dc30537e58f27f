"""Checks of a recipe that need no data: run before a run folder or any data is touched.

A recipe naming an unknown model or loss, a model of the other task, or an input size the model
cannot take fails here with a :class:`~dermkit.errors.ConfigError`, not after minutes of data
preparation or at the first forward pass.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dermkit.checkpoint import CheckpointError, load_checkpoint
from dermkit.config import RunConfig
from dermkit.errors import ConfigError
from dermkit.losses import LOSSES, create_loss
from dermkit.models import check_input_size, model_info
from dermkit.models.contract import build_without_weights

#: Stand-in class count for the size check of classifiers (the data set decides the real one).
_CHECK_CLASSES = 7


def check_recipe(cfg: RunConfig) -> None:
    """Raise ConfigError when ``cfg``'s model, loss, input size or lesion-focus run cannot work together."""
    check_focus_run(cfg)
    info = model_info(cfg.model.name)
    if info.task != cfg.task:
        raise ConfigError(
            f"model {cfg.model.name!r} is a {info.task} model, but the recipe trains {cfg.task}; "
            "pick a model of that task (`dermkit.models.list_models`)"
        )
    loss = LOSSES.entry(cfg.loss.name)
    if loss.info.get("task") not in (None, cfg.task):
        raise ConfigError(
            f"loss {cfg.loss.name!r} is a {loss.info['task']} loss, but the recipe trains {cfg.task}; "
            f"use one of {', '.join(LOSSES.names(task=cfg.task))}"
        )
    create_loss(cfg.loss.name, **cfg.loss.kwargs)  # options it does not take fail here, not after the data
    kwargs = {"in_channels": 3, **cfg.model.kwargs}
    if cfg.task == "classification":
        kwargs.setdefault("num_classes", _CHECK_CLASSES)
    size = cfg.data.preprocess.size
    if size is None:  # images keep their own size (checked per batch); the options are checked here
        with torch.device("meta"):
            build_without_weights(cfg.model.name, kwargs)
        return
    check_input_size(cfg.model.name, kwargs, tuple(size))


def check_focus_run(cfg: RunConfig) -> None:
    """``data.focus.run`` must be a finished segmentation run (its checkpoint read safely)."""
    run = cfg.data.focus.run
    if run is None:
        return
    path = Path(run) / "checkpoints" / "best.pt"
    if not path.is_file():
        raise ConfigError(f"data.focus.run={run}: no {path}; it must be a finished segmentation run folder")
    try:
        task = load_checkpoint(path).task
    except CheckpointError as exc:
        raise ConfigError(f"data.focus.run={run}: {exc}") from None
    if task != "segmentation":
        raise ConfigError(
            f"data.focus.run={run} holds a {task} run; segment-then-classify needs a segmentation run "
            "(one trained with `dermkit train seg`)"
        )
