"""Several training processes, one run: PyTorch DistributedDataParallel under ``torchrun``.

``torchrun --nproc_per_node N -m dermkit train cls --config R --out RUN`` starts N copies of the
command; each finds its rank in the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) and :func:`current` joins the process group (gloo on
the CPU, NCCL on CUDA, one GPU per process at ``cuda:LOCAL_RANK``). Without those variables it is a
single process and nothing here does anything.

How the work is split keeps one process's numbers: ``train.batch_size`` is the **global** batch and
``optim.lr`` is used as given (no scaling by the number of processes). Every process draws the same
epoch of global batches (the same shuffle or weighted draw, the same over-sampled rows) and trains on
its own slice of each (:meth:`DistributedContext.shard`), so an epoch sees the same multiset of samples
as one process would; DDP averages the gradients, and the loss of each slice is re-weighted by its
share of the batch so that the average is the global batch's mean. Only rank 0 writes the run folder
(config, logs, metrics, checkpoints) and evaluates; the others wait for it and follow its decisions
(best epoch, learning-rate plateau, early stop).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from dermkit.errors import ConfigError, DermkitError

log = logging.getLogger("dermkit.engine")

#: How long a process waits for the others (rank 0 evaluating, fitting calibration and OOD at the end).
TIMEOUT = _dt.timedelta(hours=2)

#: The variables ``torchrun`` (``python -m torch.distributed.run``) sets for every process it starts.
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class RankFailed(DermkitError):
    """Another process of a distributed run stopped (its own error is in its output)."""


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the run; the single-process context is ``DistributedContext()``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes the run folder."""
        return self.rank == 0

    def shard(self, batch: list[int]) -> list[int]:
        """This rank's slice of a global batch (strided, so slices differ in size by one at most)."""
        return batch[self.rank :: self.world_size]

    def loss_weight(self, local: int, total: int) -> float:
        """The factor that makes DDP's gradient average equal the global batch's mean: a slice's mean
        loss times ``world_size * local / total`` (1 when the batch splits evenly)."""
        return self.world_size * local / total if self.enabled else 1.0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable value; only our own processes send it)."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.enabled:
            return [value]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def sum(self, *values: float) -> tuple[float, ...]:
        """Each value summed over the ranks (one small all-reduce for all of them, in float64)."""
        if not self.enabled:
            return tuple(float(v) for v in values)
        device = f"cuda:{self.local_rank}" if self.backend == "nccl" else "cpu"
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return tuple(t.tolist())

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any rank."""
        return self.sum(float(flag))[0] > 0

    def wrap(self, model: torch.nn.Module, device: torch.device, sync_batchnorm: bool = True) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (the model itself for one process). On CUDA, BatchNorm
        layers become SyncBatchNorm when asked (statistics over the global batch, as one process has);
        the CPU has no SyncBatchNorm, so there each process normalises its slice with its own statistics.
        The wrapper's ``module`` holds the same parameter objects as ``model``."""
        if not self.enabled:
            return model
        if sync_batchnorm and device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [device.index] if device.type == "cuda" else None
        # Buffers (BatchNorm's running statistics) come from rank 0 at every forward, so the
        # checkpoint rank 0 writes holds the statistics every rank used.
        return DataParallelModel(model, device_ids=ids, forward_sync_buffers=True)


class DataParallelModel(torch.nn.parallel.DistributedDataParallel):
    """DDP that also answers for its module's own attributes (``num_classes``, ``use_metadata``...), so
    code that asks a model what it is (:func:`dermkit.models.contract.classify`) works on the wrapper."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("module"), name)


def launched_by_torchrun(environ: os._Environ | dict[str, str] = os.environ) -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return all(k in environ for k in ENV_KEYS) and int(environ.get("WORLD_SIZE", "1")) > 1


def backend_for(device: torch.device) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


def current(device: torch.device) -> tuple[DistributedContext, torch.device]:
    """This process's context and device, joining the process group when ``torchrun`` started it.

    On CUDA each process takes ``cuda:LOCAL_RANK``. Called once per training run; a process group
    that is already up (a second run in the same processes) is reused.
    """
    if not launched_by_torchrun():
        return DistributedContext(), device
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"process {rank} has LOCAL_RANK {local} but this machine has {torch.cuda.device_count()} GPU(s); "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    backend = backend_for(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=TIMEOUT)
        atexit.register(leave)
    if dist.get_world_size() != world:
        raise ConfigError(f"WORLD_SIZE={world} but the process group has {dist.get_world_size()} processes")
    return DistributedContext(rank, world, local, backend), device


def leave() -> None:
    """Take this process out of the process group (registered to run at exit by :func:`current`).

    A process that exits with the group still up leaves gloo's worker threads to the C++ runtime's
    teardown, which can abort it (``terminate called without an active exception``, exit code -6)
    after the run has finished; torchrun then reports the whole run as failed."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def quiet_other_ranks(ctx: DistributedContext) -> None:
    """Rank 0 logs; the others keep only errors (warnings would print once per process)."""
    if not ctx.is_main:
        logging.getLogger("dermkit").setLevel(logging.ERROR)


def run_on_main(ctx: DistributedContext, fn: Callable[[], Any], what: str) -> Any:
    """``fn()`` run on rank 0 only, its result sent to every rank. When it raises, rank 0 re-raises and
    the others raise :class:`RankFailed` naming ``what`` (instead of waiting for a result that never comes)."""
    if not ctx.enabled:
        return fn()
    if ctx.is_main:
        try:
            result = fn()
        except BaseException as exc:
            ctx.broadcast(("error", f"{type(exc).__name__}: {exc}"))
            raise
        ctx.broadcast(("ok", result))
        return result
    status, value = ctx.broadcast(None)
    if status == "error":
        first = value.splitlines()[0] if value else ""
        raise RankFailed(f"rank 0 stopped in {what} ({first}); its message says why")
    return value


def run_on_main_first(ctx: DistributedContext, main: Callable[[], Any], others: Callable[[Any], Any], what: str) -> Any:
    """``main()`` on rank 0, then ``others(result)`` with its result on the other ranks: set-up that reads
    and checks the data (and may write caches) runs once, and an error on rank 0 stops every rank."""
    result = run_on_main(ctx, main, what)
    return result if ctx.is_main else others(result)
