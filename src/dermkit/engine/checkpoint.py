"""Checkpoints: config + model arguments + weights + training state, written atomically.

A checkpoint rebuilds its model with no code edits (``model_name`` and ``model_kwargs`` beside
the weights, as nanoGPT stores ``model_args``), and holds the optimizer, scheduler and loop
state so ``--resume`` continues exactly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from dermkit.errors import DermkitError

#: Bumped when the checkpoint layout changes; :func:`load_checkpoint` migrates older versions.
CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"version": CHECKPOINT_VERSION, **payload}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    if not path.exists():
        raise DermkitError(f"{path}: checkpoint not found; is this a dermkit run folder that finished an epoch?")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # corrupt or foreign file: say so instead of a pickle traceback
        raise DermkitError(f"{path}: cannot read checkpoint ({exc}); it may be truncated or not a dermkit file") from None
    if payload.get("version") != CHECKPOINT_VERSION:
        raise DermkitError(
            f"{path}: checkpoint version {payload.get('version')} is not supported (expected {CHECKPOINT_VERSION})"
        )
    return payload
