"""Checkpoints: config + model arguments + weights (+ training state), typed and loaded safely.

A checkpoint rebuilds its model with no code edits (``model_name`` and ``model_kwargs`` beside
the weights, as nanoGPT stores ``model_args``), and holds the optimizer, scheduler and loop
state so ``--resume`` continues exactly.

Safety: a ``.pt`` file is a pickle, and unpickling runs code. Checkpoints are therefore read
with ``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers, and
the payload is then checked against :data:`SCHEMA` before anything uses it. A file that is not a
dermkit checkpoint (another tool's, a tampered one, a bare tensor) gets a clear
:class:`CheckpointError`, never a traceback and never execution.

On disk (version 1)::

    {"version": 1, "task": "segmentation", "config": {...resolved RunConfig...},
     "model_name": "unet_s2", "model_kwargs": {...}, "classes": [...],
     "normalize": {"mean": [...], "std": [...]}, "model": {name: tensor},
     # training state, absent from weights-only exports:
     "optimizer": {...}, "scheduler": {...} | None, "scaler": {...}, "loop": {...}, "torch_rng": ByteTensor,
     # written by runs of several processes (torchrun): every rank's RNG state, in rank order
     "rank_rngs": [ByteTensor, ...],
     # written by runs that average their weights (train.ema): "model" holds the average, this the live weights
     "train_weights": {name: tensor}}
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dermkit.errors import DermkitError

#: Bumped when the layout changes; :func:`load_checkpoint` migrates or refuses older versions.
CHECKPOINT_VERSION = 1

#: Required keys and their types; the training-state keys are optional (``TRAINING_KEYS``).
SCHEMA: dict[str, type | tuple[type, ...]] = {
    "version": int,
    "task": str,
    "config": dict,
    "model_name": str,
    "model_kwargs": dict,
    "classes": (list, tuple),
    "normalize": dict,
    "model": dict,
}
TRAINING_KEYS: dict[str, type | tuple[type, ...]] = {
    "optimizer": dict,
    "scheduler": (dict, type(None)),
    "scaler": dict,
    "loop": dict,
    "torch_rng": torch.Tensor,
}


class CheckpointError(DermkitError):
    """A file that is missing, unreadable, or not a dermkit checkpoint."""


@dataclass(frozen=True)
class TrainingState:
    """What ``--resume`` needs besides the weights."""

    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    scaler: dict[str, Any]
    loop: dict[str, Any]
    torch_rng: torch.Tensor
    rank_rngs: list[torch.Tensor] | None = None  # each process's RNG under torchrun (rank 0's is torch_rng)
    train_weights: dict[str, torch.Tensor] | None = None  # the live weights when ``weights`` is their average


@dataclass(frozen=True)
class Checkpoint:
    """A validated checkpoint.

    Attributes:
        task: ``"segmentation"`` or ``"classification"``.
        config: the resolved run config as a JSON-able dict.
        model_name, model_kwargs: ``create_model(model_name, **model_kwargs)`` rebuilds the network.
        classes: the data set's class names (a segmenter ignores them).
        mean, std: input normalisation per channel on the [0, 1] scale the weights were trained with.
        weights: the model's state dict.
        training: optimizer/scheduler/loop state, or None in a weights-only file.
    """

    task: str
    config: dict[str, Any]
    model_name: str
    model_kwargs: dict[str, Any]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    weights: dict[str, torch.Tensor] = field(repr=False)
    training: TrainingState | None = field(default=None, repr=False)

    def to_payload(self) -> dict[str, Any]:
        """The on-disk dict (see the module docstring)."""
        payload: dict[str, Any] = {
            "version": CHECKPOINT_VERSION,
            "task": self.task,
            "config": self.config,
            "model_name": self.model_name,
            "model_kwargs": self.model_kwargs,
            "classes": list(self.classes),
            "normalize": {"mean": list(self.mean), "std": list(self.std)},
            "model": self.weights,
        }
        if self.training is not None:
            t = self.training
            payload.update(
                optimizer=t.optimizer, scheduler=t.scheduler, scaler=t.scaler, loop=t.loop, torch_rng=t.torch_rng
            )
            if t.rank_rngs is not None:
                payload["rank_rngs"] = list(t.rank_rngs)
            if t.train_weights is not None:
                payload["train_weights"] = t.train_weights
        return payload


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint.to_payload(), tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: missing or unreadable file, a pickle holding anything but tensors and
            plain data (refused, not run), or a payload that does not match :data:`SCHEMA`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; is this a dermkit run folder that finished an epoch?")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols while refusing such a file
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message advises loading with weights_only=False, which is exactly the unsafe step;
        # only the object it refused is worth quoting.
        found = re.search(
            r"(Unsupported global: GLOBAL [\w.]+|unsupported GLOBAL [\w.]+|Unsupported operand \d+)", str(exc)
        )
        first = found.group(1) if found else "not a plain torch file"
        raise CheckpointError(
            f"{path}: not a dermkit checkpoint: it holds objects other than tensors and plain data ({first}). "
            "It was not loaded, because unpickling such a file can run code; use a checkpoint written by "
            "`dermkit train`."
        ) from None
    except Exception as exc:  # truncated, not a torch file, zip errors ...
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc}); it may be truncated or not a dermkit file"
        ) from None
    return checkpoint_from_payload(payload, path)


def checkpoint_from_payload(payload: Any, source: str | Path = "checkpoint") -> Checkpoint:
    """Validate a loaded payload against :data:`SCHEMA` and type it."""
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{source}: not a dermkit checkpoint (it holds a {type(payload).__name__}, "
            "not a dict of config and weights)"
        )
    if "version" in payload and payload["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{source}: checkpoint version {payload['version']!r} is not supported "
            f"(this dermkit reads version {CHECKPOINT_VERSION})"
        )
    problems = _schema_problems(payload, SCHEMA)
    if problems:
        raise CheckpointError(f"{source}: not a dermkit checkpoint ({'; '.join(problems)})")
    norm = payload["normalize"]
    weights = payload["model"]
    if not _is_state_dict(weights):
        raise CheckpointError(f"{source}: not a dermkit checkpoint ('model' is not a state dict of tensors)")
    try:
        mean = tuple(float(v) for v in norm["mean"])
        std = tuple(float(v) for v in norm["std"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{source}: not a dermkit checkpoint ('normalize' needs mean and std lists)") from None
    training = None
    if all(k in payload for k in TRAINING_KEYS):
        problems = _schema_problems(payload, TRAINING_KEYS)
        if problems:
            raise CheckpointError(f"{source}: damaged training state ({'; '.join(problems)})")
        rank_rngs = payload.get("rank_rngs")
        if rank_rngs is not None and not (
            isinstance(rank_rngs, list | tuple) and all(isinstance(r, torch.Tensor) for r in rank_rngs)
        ):
            raise CheckpointError(f"{source}: damaged training state ('rank_rngs' is not a list of tensors)")
        train_weights = payload.get("train_weights")
        if train_weights is not None and not _is_state_dict(train_weights):
            raise CheckpointError(f"{source}: damaged training state ('train_weights' is not a state dict of tensors)")
        training = TrainingState(*(payload[k] for k in TRAINING_KEYS), rank_rngs=rank_rngs, train_weights=train_weights)
    return Checkpoint(
        payload["task"],
        payload["config"],
        payload["model_name"],
        payload["model_kwargs"],
        tuple(str(c) for c in payload["classes"]),
        mean,
        std,
        weights,
        training,
    )


def _is_state_dict(value: Any) -> bool:
    """Whether ``value`` is a dict of tensors keyed by parameter names."""
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _schema_problems(payload: dict, schema: dict[str, type | tuple[type, ...]]) -> list[str]:
    problems = []
    for key, kind in schema.items():
        if key not in payload:
            problems.append(f"no {key!r} entry")
        elif not isinstance(payload[key], kind):
            problems.append(f"{key!r} is a {type(payload[key]).__name__}")
    return problems
