"""A trained run folder, loaded: the model rebuilt from its checkpoint, with everything needed to apply it.

``load_run`` rebuilds the model from ``RUN/checkpoints/<name>.pt`` (name + kwargs + weights, read
safely by :func:`dermkit.checkpoint.load_checkpoint`) and the preprocessing from the run's
config; it never downloads or loads pretrained weights again (they are in the checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn

from dermkit.calibration import CALIBRATION_FILE, Calibration, load_calibration
from dermkit.checkpoint import CheckpointError, load_checkpoint
from dermkit.config import RunConfig
from dermkit.device import resolve_device, to_device
from dermkit.errors import ConfigError, DermkitError
from dermkit.models.contract import build_without_weights
from dermkit.preprocess.normalize import to_model_input
from dermkit.task import Task

#: The command that trains each task, for messages.
TRAIN_COMMAND: dict[str, str] = {"segmentation": "dermkit train seg", "classification": "dermkit train cls"}


@dataclass(eq=False)  # identity semantics: a loaded run can key caches (its focus)
class LoadedRun:
    """A trained model with everything needed to apply it."""

    run_dir: Path
    cfg: RunConfig
    model: nn.Module
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    device: torch.device

    @property
    def task(self) -> Task:
        return self.cfg.task

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The networks' autocast dtype at inference (``inference.precision``; None: fp32)."""
        return torch.bfloat16 if self.cfg.inference.precision == "bf16" else None

    def tta(self, override: bool | None = None) -> bool:
        """Whether to use test-time augmentation: ``override`` when given, else the recipe's ``inference.tta``."""
        return self.cfg.inference.tta if override is None else override

    _calibrations: dict = field(default_factory=dict, repr=False)

    def calibration(self, tta: bool | None = None) -> Calibration:
        """The run's validation-fitted calibration (identity when it has none); warns (once) when it
        was fitted on logits made with another TTA setting than ``self.tta(tta)``. Read again only
        when ``calibration.json`` changes (a refit)."""
        path = self.run_dir / CALIBRATION_FILE
        key = (self.tta(tta), path.stat().st_mtime_ns if path.exists() else None)
        if key not in self._calibrations:
            calibration = load_calibration(self.run_dir, key[0])
            if calibration.classes and tuple(calibration.classes) != tuple(self.classes):
                raise DermkitError(
                    f"{path}: fitted for classes {list(calibration.classes)}, but the run's model has {self.classes}; "
                    "refit it (dermkit.evaluation.classification.refit_calibration)"
                )
            self._calibrations[key] = calibration
        return self._calibrations[key]

    def to_tensor(self, image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> (1, C, H, W) normalised float tensor on the run's device."""
        return torch.from_numpy(to_model_input(image, self.mean, self.std))[None].to(self.device)


def load_run(
    run_dir: str | Path, checkpoint: str = "best", device: str = "auto", task: Task | None = None
) -> LoadedRun:
    """Rebuild a run's model from ``RUN/checkpoints/<checkpoint>.pt`` (no code edits needed).

    Args:
        run_dir: a run folder written by ``dermkit train``.
        checkpoint: ``best`` or ``last``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
        task: the task the caller needs; a run of the other task is refused with a clear error.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DermkitError(f"{run_dir}: no such run folder; train one with `dermkit train seg|cls`")
    dev = resolve_device(device)
    ckpt = load_checkpoint(run_dir / "checkpoints" / f"{checkpoint}.pt", map_location=dev)
    if task is not None and ckpt.task != task:
        raise DermkitError(
            f"{run_dir} holds a {ckpt.task} run, but a {task} run is needed here "
            f"(one trained with `{TRAIN_COMMAND[task]}`)"
        )
    try:
        cfg = RunConfig.model_validate(ckpt.config)
    except ValidationError as exc:
        raise CheckpointError(
            f"{run_dir}: the checkpoint's config is not valid for this dermkit ({exc.errors()[0]['msg']})"
        ) from None
    model = _rebuild(ckpt.model_name, dict(ckpt.model_kwargs), run_dir)
    try:
        model.load_state_dict(ckpt.weights)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{run_dir}: the checkpoint's weights do not fit model {ckpt.model_name!r} ({str(exc).splitlines()[0]})"
        ) from None
    to_device(model, dev, cfg.train.channels_last).eval()
    return LoadedRun(
        run_dir,
        cfg,
        model,
        list(ckpt.classes),
        np.asarray(ckpt.mean, np.float32),
        np.asarray(ckpt.std, np.float32),
        dev,
    )


#: Model options that name other files or sources to load: a checkpoint handed to a user must not be
#: able to point loading at them (weights come from the checkpoint itself).
_SOURCE_WORDS = ("path", "file", "url", "hub", "cache", "pretrained_cfg")
#: Options whose names hold such a word but only choose an architecture (S5's ``cnn_path``: pool or flatten).
_ARCHITECTURE_OPTIONS = frozenset({"cnn_path"})


def _rebuild(name: str, kwargs: dict, run_dir: Path) -> nn.Module:
    """The checkpoint's model with random weights, never fetching or reading pretrained ones."""
    sources = sorted(
        k for k in kwargs if k not in _ARCHITECTURE_OPTIONS and any(word in k.lower() for word in _SOURCE_WORDS)
    )
    if sources:
        raise CheckpointError(
            f"{run_dir}: the checkpoint's model options {sources} would make loading read other files or "
            "sources; refused (a dermkit checkpoint carries its weights itself)"
        )
    try:
        model = build_without_weights(name, kwargs)
    except (ConfigError, TypeError, ValueError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{run_dir}: cannot rebuild model {name!r} from the checkpoint ({exc})") from None
    model.model_name = name
    model.model_kwargs = {**kwargs, "pretrained": False} if "pretrained" in kwargs else dict(kwargs)
    return model
