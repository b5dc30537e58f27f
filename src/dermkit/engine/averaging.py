"""Weight averaging (``train.ema``): an exponential moving average of the weights over the optimiser steps.

On a short, noisy CPU schedule the average of the last few hundred steps' weights often validates
better than the last step's (``benchmarks/cls_candidates.py`` measures whether it does for the
default). timm's ``ModelEmaV3`` keeps the average (parameters and BatchNorm buffers); its warm-up
(decay ``1 - (1 + t)^(-2/3)`` capped at ``train.ema``) keeps the first, untrained steps from
dominating the average.
"""

from __future__ import annotations

import torch
from timm.utils import ModelEmaV3


def build_ema(model: torch.nn.Module, decay: float | None) -> ModelEmaV3 | None:
    """The averaged copy of ``model`` for ``decay`` (``train.ema``), or None when averaging is off."""
    if decay is None:
        return None
    return ModelEmaV3(model, decay=decay, use_warmup=True)
