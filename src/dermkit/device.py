"""Where tensors live and how runs are seeded: shared by training and inference."""

from __future__ import annotations

import random

import numpy as np
import torch

from dermkit.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; otherwise the named device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device={name!r} is not a device; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available here; use train.device=auto or cpu")
    return device


def to_device(model: torch.nn.Module, device: torch.device, channels_last: bool) -> torch.nn.Module:
    """``model`` on ``device``, its 4-D weights in channels-last layout when asked (faster convolutions on
    CPUs and tensor cores). ``Module.to(memory_format=...)`` refuses a model with any weight of another
    rank (S4's soft attention has a 5-D kernel), so the weights are converted one by one."""
    model.to(device)
    if channels_last:
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
    return model


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; flush denormals.

    Small networks produce denormal floats that make CPU convolutions ~3x slower; flushing them
    to zero changes nothing measurable and keeps results deterministic.
    """
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
