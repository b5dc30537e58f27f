"""A minimal hand-written PyTorch training loop: the yardstick the engine and data benchmarks measure against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from dermkit.config import RunConfig
from dermkit.engine.trainer import build_optimizer

#: (model, batch) -> loss: the task's loss of one batch (e.g. ``lambda m, b: task.loss(m, b, loss_fn)``).
BatchLoss = Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor]


@dataclass
class BareLoop:
    """Forward, loss, backward, optimiser step; nothing else (no progress, NaN guard, checkpoints or logging)."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss: BatchLoss
    device: torch.device
    memory_format: torch.memory_format = torch.contiguous_format
    dtype: torch.dtype | None = None  # autocast dtype (None: fp32)
    scaler: torch.amp.GradScaler | None = None  # float16 loss scaling

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        """One optimiser step on one collated batch."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        batch["image"] = batch["image"].contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            loss = self.loss(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def epoch(self, dataset: Dataset, batches: list[list[int]], workers: int) -> None:
        """One pass over ``batches`` (lists of ``dataset`` positions) through a DataLoader with ``workers``."""
        self.model.train()
        for batch in DataLoader(dataset, batch_sampler=batches, num_workers=workers):
            self.step(batch)


def with_memory_format(model: torch.nn.Module, memory_format: torch.memory_format) -> torch.nn.Module:
    """``model`` with its 4-D weights in ``memory_format``, converted one by one as
    :func:`dermkit.device.to_device` does (a model with a 5-D weight refuses ``Module.to(memory_format=)``)."""
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.dim() == 4:
            tensor.data = tensor.data.contiguous(memory_format=memory_format)
    return model


def bare_loop(
    cfg: RunConfig,
    model: torch.nn.Module,
    loss: BatchLoss,
    device: torch.device,
    memory_format: torch.memory_format,
    dtype: torch.dtype | None = None,
) -> BareLoop:
    """A :class:`BareLoop` training ``model`` (converted to ``memory_format``) with ``cfg``'s optimiser, in
    ``dtype`` autocast (float16 with a loss scale, on CUDA)."""
    model = with_memory_format(model.to(device), memory_format)
    params = [p for p in model.parameters() if p.requires_grad]
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    return BareLoop(model, build_optimizer(cfg, params), loss, device, memory_format, dtype, scaler)
