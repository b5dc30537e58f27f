"""Engine overhead: training images/s of dermkit's Trainer against a minimal hand-written PyTorch loop.

Both train the same model (the same initial weights), on the same training Dataset object the task
built, over the same batches (the Trainer's own shuffle of each epoch, augmentations included), with the
same optimiser, precision and threads, in one process. Each epoch's optimiser steps are timed, the
DataLoader over the epoch's batches included (both pay the same decoding); set-up, checkpoints and the
epoch-end bookkeeping are not. The preprocessing cache is off (a cache filled by whichever variant ran
first would favour the next), and there is no validation side. After one warm-up epoch the variants take
turns, in an order rotated each epoch to cancel drift; images/s is each variant's median epoch, the ratio
the median of the per-epoch ratios.

The bare loop runs in the Trainer's memory format (channels-last by default: the ratio is the engine's
own cost) and, when that is channels-last, also in plain contiguous format (what a naive loop gets).

``BenchOptions.extra`` keys: ``recipes`` (list; quick: cls_default at 64x80, batch 16, no workers; full:
cls_default and seg_default as shipped), ``data`` (a data set folder; default synthetic),
``synthetic_images`` (default 64 quick, 600 full), ``batches`` per epoch (3, 15), measured ``epochs`` (6, 4),
``overrides`` (recipe overrides, e.g. ``["train.precision=bf16"]``).
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dermkit.bench import BenchOptions, BenchTable, register_benchmark
from dermkit.bench._common import as_list, bench_data, check_extra, int_setting, torch_threads
from dermkit.bench.loop import BareLoop, bare_loop
from dermkit.config import RunConfig, load_config
from dermkit.engine.trainer import Trainer

TRAINER = "dermkit Trainer"
BARE = "bare loop"
BARE_CONTIGUOUS = "bare loop, contiguous"

#: Every case: all images train (no validation or test side), no preprocessing cache, no mid-epoch checkpoint.
COMMON_OVERRIDES = ("data.split.val=0", "data.split.test=0", "data.cache_dir=null", "train.checkpoint_every=0")
#: Quick size: the default classifier at a small input, small batches, data in the main process.
QUICK_OVERRIDES = ("data.preprocess.size=[64, 80]", "train.batch_size=16", "data.num_workers=0")
RECIPES = {True: ("cls_default",), False: ("cls_default", "seg_default")}
BATCHES = {True: 3, False: 15}  # batches per epoch
EPOCHS = {True: 6, False: 4}  # measured epochs, after one warm-up epoch: short epochs, more turns
TARGET_RATIO = 0.95
EXTRA_KEYS = ("recipes", "data", "synthetic_images", "batches", "epochs", "overrides")


def trainer_loop(trainer: Trainer, memory_format: torch.memory_format) -> BareLoop:
    """A bare loop on a copy of ``trainer``'s (untrained) model, with its loss, optimiser kind and precision."""
    task, loss_fn = trainer.task, trainer.loss_fn
    return bare_loop(
        trainer.cfg,
        copy.deepcopy(trainer.model),
        lambda model, batch: task.loss(model, batch, loss_fn),
        trainer.device,
        memory_format,
        trainer.precision.dtype,
    )


def cpu_time() -> float:
    """CPU seconds of this process and of its finished children (DataLoader workers are joined after each epoch):
    unlike wall time, hardly changed by other processes on the machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class TimedTrainer(Trainer):
    """The Trainer with each epoch's optimiser steps timed, and bare loops run on the same batches.

    Per epoch and variant, ``seconds[variant]`` gets the time and ``images`` the epoch's image count;
    the final evaluation is skipped (``fit`` returns ``{}``).
    """

    def __init__(self, cfg: RunConfig, run_dir: Path, tick: Callable[[], None] = lambda: None) -> None:
        super().__init__(cfg, run_dir, progress=False)
        self.tick = tick
        self.loops: dict[str, BareLoop] = {}
        self.seconds: dict[str, list[float]] = {}  # wall time
        self.cpu_seconds: dict[str, list[float]] = {}  # this process's and its reaped workers' CPU time
        self.images: list[int] = []

    def _make_loops(self) -> None:
        """The bare loops, from the model before its first step (same initial weights)."""
        own = self.memory_format
        self.loops[BARE] = trainer_loop(self, own)
        if own == torch.channels_last:
            self.loops[BARE_CONTIGUOUS] = trainer_loop(self, torch.contiguous_format)

    def _train_batches(self, batches: list[list[int]], bar) -> None:
        if not self.loops:
            self._make_loops()
        remaining = batches[self.state.batch :]
        trainer_steps = super()._train_batches
        runs: list[tuple[str, Callable[[], None]]] = [(TRAINER, lambda: trainer_steps(batches, bar))]
        data, workers = self.train_set, self.cfg.data.num_workers
        runs += [(name, lambda loop=loop: loop.epoch(data, remaining, workers)) for name, loop in self.loops.items()]
        turn = self.state.epoch % len(runs)
        for name, run in runs[turn:] + runs[:turn]:
            start, cpu = time.perf_counter(), cpu_time()
            run()
            if self.device.type == "cuda":  # the bare loop never waits for the GPU; the Trainer's loss.item() does
                torch.cuda.synchronize(self.device)
            self.seconds.setdefault(name, []).append(time.perf_counter() - start)
            self.cpu_seconds.setdefault(name, []).append(cpu_time() - cpu)
            self.tick()
        self.images.append(sum(len(b) for b in remaining))

    def _finish(self) -> dict[str, Any]:
        return {}


@dataclass
class CaseResult:
    """One recipe's per-epoch timings (the warm-up epoch dropped)."""

    recipe: str
    cfg: RunConfig
    device: str
    precision: str
    images: list[int]
    seconds: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: dict[str, list[float]] = field(default_factory=dict)

    def images_per_s(self, variant: str) -> float:
        """Median over epochs of ``variant``'s images per wall-clock second."""
        return statistics.median(n / s for n, s in zip(self.images, self.seconds[variant], strict=True))

    def ratios(self, variant: str = BARE, cpu: bool = False) -> list[float]:
        """Per epoch: Trainer images/s / ``variant`` images/s (wall clock, or CPU time with ``cpu``)."""
        times = self.cpu_seconds if cpu else self.seconds
        return [b / t for t, b in zip(times[TRAINER], times[variant], strict=True)]

    def row(self) -> dict[str, Any]:
        cfg = self.cfg
        size = "x".join(map(str, cfg.data.preprocess.size)) if cfg.data.preprocess.size else "native"
        row: dict[str, Any] = {
            "recipe": self.recipe,
            "model": cfg.model.name,
            "input": size,
            "batch": cfg.train.batch_size,
            "precision": self.precision,
            "workers": cfg.data.num_workers,
            "epochs x images": f"{len(self.images)} x {self.images[0]}",
            "Trainer img/s": self.images_per_s(TRAINER),
            "bare loop img/s": self.images_per_s(BARE),
        }
        ratios, cpu_ratios = self.ratios(BARE), self.ratios(BARE, cpu=True)
        row["ratio"] = statistics.median(ratios)
        row["ratio range"] = f"{min(ratios):.3f}-{max(ratios):.3f}"
        row["ratio (CPU time)"] = statistics.median(cpu_ratios)
        if BARE_CONTIGUOUS in self.seconds:
            row["bare contiguous img/s"] = self.images_per_s(BARE_CONTIGUOUS)
            row["ratio vs contiguous"] = statistics.median(self.ratios(BARE_CONTIGUOUS))
        return row


def case_config(recipe: str, data: Path, opts: BenchOptions) -> RunConfig:
    """The recipe as the benchmark trains it (see :data:`COMMON_OVERRIDES`, :data:`QUICK_OVERRIDES`)."""
    batches = int_setting(opts, "batches", BATCHES[opts.quick])
    epochs = 1 + int_setting(opts, "epochs", EPOCHS[opts.quick])
    overrides = [
        f"data.path={json.dumps(str(data))}",
        *COMMON_OVERRIDES,
        *(QUICK_OVERRIDES if opts.quick else ()),
        f"train.epochs={epochs}",
        f"train.max_batches_per_epoch={batches}",
        *as_list(opts.extra.get("overrides", ())),
    ]
    return load_config(recipe, overrides)


def measure_case(cfg: RunConfig, run_dir: Path, tick: Callable[[], None] = lambda: None) -> CaseResult:
    """Train ``cfg`` with :class:`TimedTrainer` into ``run_dir``; the timings without the warm-up epoch."""
    trainer = TimedTrainer(cfg, run_dir, tick)
    trainer.fit()
    wall = {name: values[1:] for name, values in trainer.seconds.items()}
    cpu = {name: values[1:] for name, values in trainer.cpu_seconds.items()}
    return CaseResult(cfg.recipe, cfg, str(trainer.device), trainer.precision.name, trainer.images[1:], wall, cpu)


@register_benchmark(
    "engine",
    quick=True,
    summary="training images/s of dermkit's Trainer vs a minimal PyTorch loop (same model, data, batches)",
)
def engine_overhead(opts: BenchOptions) -> BenchTable:
    """One row per recipe (``extra["recipes"]``; quick: cls_default at 64x80, full: cls_default and seg_default)."""
    check_extra(opts, "engine", EXTRA_KEYS)
    recipes = as_list(opts.extra.get("recipes", RECIPES[opts.quick]))
    with tempfile.TemporaryDirectory(prefix="dermkit-bench-engine-") as tmp, torch_threads(opts.threads) as threads:
        data, described = bench_data(opts, Path(tmp))
        cfgs = [case_config(recipe, data, opts) for recipe in recipes]
        results = []
        for cfg in cfgs:
            n_variants = 3 if cfg.train.channels_last else 2
            bar = _bar(opts, cfg.recipe, cfg.train.epochs * n_variants)
            results.append(measure_case(cfg, Path(tmp) / f"run-{cfg.recipe}", bar.update))
            bar.close()
    notes = [
        f"data: {described}; torch threads: {threads}; device: {results[0].device}",
        "ratio = Trainer / bare loop images/s in the same epoch (median over epochs; aim >= "
        f"{TARGET_RATIO}); the bare loop uses the Trainer's memory format; ratio (CPU time): the same from the "
        "process's CPU seconds (its finished DataLoader workers' included), less disturbed by other processes",
        "timed: each epoch's optimiser steps with their DataLoader; not timed: set-up, checkpoints, history; "
        "one warm-up epoch, variants in turns rotated each epoch; preprocessing cache off, no validation side; "
        "the Trainer's progress bar off (on, it adds ~50 us a step)",
    ]
    return BenchTable("Engine overhead: dermkit Trainer vs a bare PyTorch loop", [r.row() for r in results], notes)


def _bar(opts: BenchOptions, desc: str, total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"engine {desc}", disable=not opts.progress, leave=False, dynamic_ncols=True)
