"""Numeric precision of training steps and validation: fp32, or autocast to bfloat16 / float16.

``train.precision`` names it; ``auto`` picks float16 with loss scaling on CUDA (when ``train.amp``) and
fp32 on the CPU. On this project's AVX-512-BF16 CPUs bfloat16 autocast trained the default segmenter
1.16x and the default classifier 1.01x as fast, each ending 0.005 lower on its validation metric
(benchmarks/RESULTS.md, "bf16 autocast on the CPU"): not faster without loss, so it is a recipe
choice (``train.precision=bf16``), not the default. Final metrics, calibration and the OOD fit always
run in fp32. Inference has its own switch (``inference.precision``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from dermkit.errors import ConfigError

#: precision name -> autocast dtype (None: no autocast)
DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """A resolved precision on one device type."""

    name: str  # fp32 | bf16 | fp16
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        return DTYPES[self.name]

    @property
    def loss_scaling(self) -> bool:
        """float16 gradients underflow without a loss scale; bfloat16 has fp32's range and needs none."""
        return self.name == "fp16"

    def autocast(self) -> contextlib.AbstractContextManager:
        """``torch.autocast`` to this precision's dtype (a no-op context for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively here (AVX-512 BF16 or AMX); elsewhere it is emulated and slow."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(train, device: torch.device) -> Precision:
    """The precision ``train.precision`` (and ``train.amp`` for ``auto``) gives on ``device``.

    Raises:
        ConfigError: float16 on the CPU, or bfloat16 on a GPU without it.
    """
    name = train.precision
    if name == "auto":
        name = "fp16" if device.type == "cuda" and train.amp else "fp32"
    if name == "fp16" and device.type != "cuda":
        raise ConfigError(
            "train.precision=fp16 needs CUDA: float16 autocast on the CPU is slow and unsupported by many "
            "operators; use train.precision=bf16 (fast on CPUs with AVX-512 BF16 or AMX) or fp32"
        )
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("train.precision=bf16: this GPU has no bfloat16; use fp16 or fp32")
    return Precision(name, device.type)
