"""Data pipeline: decode + augment images/s with and without the preprocessing cache, against the model.

The training Dataset the task builds for the recipe (decoding, preprocessing, the recipe's random
augmentation, normalisation) is read through a DataLoader over one epoch's batches (the Trainer's shuffle)
with 0, 1 and 2 worker processes, in three cache states: off (every image decoded and preprocessed), cold
(a first epoch with the cache: decoded, preprocessed and written as PNG) and warm (read back from the
cache). Worker start-up is timed too, as every epoch pays it; the files are read once before (every pass
finds them in the OS page cache). The model's training images/s is timed apart,
on batches already in memory (forward, loss, backward, optimiser step: the bare loop of
:mod:`dermkit.bench.loop`, in the recipe's memory format and precision).

The model starves when the loader delivers fewer images/s than it trains on. With 0 workers loading and
training alternate, so an epoch runs at about 1 / (1/loader + 1/model); with workers they overlap, at about
min(loader, model) when the cores are not shared (here they are: workers and the model's threads compete).

``BenchOptions.extra`` keys: ``recipes`` (list; quick: cls_default, full: cls_default and seg_default),
``data`` (a data set folder; default synthetic), ``synthetic_images`` (default 128 quick, 1024 full),
``images`` read per pass (128, 1024), ``model_steps`` (3, 10), ``workers`` (list, default [0, 1, 2]),
``overrides`` (recipe overrides).
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from dermkit.bench import BenchOptions, BenchTable, register_benchmark
from dermkit.bench._common import as_list, bench_data, check_extra, int_setting, torch_threads, whole_number
from dermkit.bench.loop import bare_loop
from dermkit.config import RunConfig, load_config
from dermkit.device import resolve_device, seed_everything
from dermkit.engine.data import PreparedData
from dermkit.engine.precision import resolve_precision
from dermkit.engine.tasks import BaseTask, create_task
from dermkit.engine.trainer import epoch_batches

CACHE_STATES = ("off", "cold", "warm")
WORKERS = (0, 1, 2)
RECIPES = {True: ("cls_default",), False: ("cls_default", "seg_default")}
IMAGES = {True: 128, False: 1024}  # images read per pass (at most the training side's)
MODEL_STEPS = {True: 3, False: 10}  # timed optimiser steps of the model, after one warm-up step
EXTRA_KEYS = ("recipes", "data", "synthetic_images", "images", "model_steps", "workers", "overrides")
#: Every image on the training side; the cache is set per pass.
OVERRIDES = ("data.split.val=0", "data.split.test=0", "data.cache_dir=null")


@dataclass
class Recipe:
    """A recipe's checked data, task and model, prepared once for every pass."""

    cfg: RunConfig
    task: BaseTask
    data: PreparedData
    model: torch.nn.Module

    def train_set(self, cache_dir: Path | None) -> Dataset:
        """The task's training Dataset with the preprocessing cache in ``cache_dir`` (None: off)."""
        data_cfg = self.cfg.data.model_copy(update={"cache_dir": None if cache_dir is None else str(cache_dir)})
        task = copy.copy(self.task)  # the prepared task (classes, labels), with another cache
        task.cfg = self.cfg.model_copy(update={"data": data_cfg})
        dataset, _ = task.train_dataset(self.data)
        dataset.set_epoch(0)
        return dataset


def prepare_recipe(recipe: str, data: Path, run_dir: Path, opts: BenchOptions) -> Recipe:
    """Load, check and split ``data`` for ``recipe``, and build its model (as a training run's set-up does)."""
    overrides = [f"data.path={json.dumps(str(data))}", *OVERRIDES, *as_list(opts.extra.get("overrides", ()))]
    cfg = load_config(recipe, overrides)
    seed_everything(cfg.train.seed)
    task = create_task(cfg)
    prepared = task.prepare(run_dir)
    return Recipe(cfg, task, prepared, task.build_model())


def read_files(dataset: Dataset, batches: list[list[int]]) -> None:
    """Read the image and mask files of ``batches`` once, so that every pass finds them in the OS page cache
    (the first pass would otherwise also measure the disk)."""
    records = dataset.table.records
    for position in {p for batch in batches for p in batch}:
        rec = records.iloc[int(dataset.indices[position])]
        for path in (rec["image_path"], rec["mask_path"]):
            if isinstance(path, str):
                Path(path).read_bytes()


def loader_images_per_s(dataset: Dataset, batches: list[list[int]], workers: int) -> float:
    """Images/s of one DataLoader pass over ``batches`` with ``workers`` processes (their start-up included)."""
    start = time.perf_counter()
    for _ in DataLoader(dataset, batch_sampler=batches, num_workers=workers):
        pass
    return sum(map(len, batches)) / (time.perf_counter() - start)


def model_images_per_s(recipe: Recipe, dataset: Dataset, steps: int) -> float:
    """Training images/s of the recipe's model on batches already in memory (one untimed warm-up step)."""
    cfg, task = recipe.cfg, recipe.task
    device = resolve_device(cfg.train.device)
    loader = DataLoader(dataset, batch_size=cfg.train.batch_size, shuffle=False)
    batches = [b for b, _ in zip(loader, range(min(steps, len(loader))), strict=False)]
    loss_fn = task.build_loss(recipe.data).to(device)
    loop = bare_loop(
        cfg,
        copy.deepcopy(recipe.model),
        lambda model, batch: task.loss(model, batch, loss_fn),
        device,
        torch.channels_last if cfg.train.channels_last else torch.contiguous_format,
        resolve_precision(cfg.train, device).dtype,
    )
    loop.model.train()
    loop.step(batches[0])
    start = time.perf_counter()
    for i in range(steps):
        loop.step(batches[i % len(batches)])
    return steps * sum(len(b["index"]) for b in batches) / len(batches) / (time.perf_counter() - start)


def recipe_rows(recipe: Recipe, images: int, steps: int, scratch: Path, workers: tuple[int, ...]) -> list[dict]:
    """One row per (workers, cache state) for ``recipe``: loader images/s against the model's."""
    cfg = recipe.cfg
    plain = recipe.train_set(None)
    n_batches = math.ceil(min(images, len(plain)) / cfg.train.batch_size)
    batches = epoch_batches(len(plain), cfg.train.batch_size, cfg.train.seed, 0)[:n_batches]
    model = model_images_per_s(recipe, plain, steps)
    read_files(plain, batches)
    rows = []
    for w in workers:
        cache = scratch / f"cache-{cfg.recipe}-{w}"
        cached = recipe.train_set(cache)  # cold first, then warm: the same folder
        for state, dataset in zip(CACHE_STATES, (plain, cached, cached), strict=True):
            rows.append(_row(cfg, state, w, loader_images_per_s(dataset, batches, w), model, batches))
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def _row(cfg: RunConfig, state: str, workers: int, loader: float, model: float, batches: list) -> dict[str, Any]:
    epoch = 1 / (1 / loader + 1 / model) if workers == 0 else min(loader, model)
    return {
        "recipe": cfg.recipe,
        "input": "x".join(map(str, cfg.data.preprocess.size)) if cfg.data.preprocess.size else "native",
        "images": sum(map(len, batches)),
        "cache": state,
        "workers": workers,
        "loader img/s": loader,
        "model img/s": model,
        "loader / model": loader / model,
        "epoch img/s (est.)": epoch,
        "model starves": "serial" if workers == 0 else ("yes" if loader < model else "no"),
    }


@register_benchmark(
    "pipeline",
    quick=True,
    summary="decode + augment images/s with and without the preprocessing cache, 0/1/2 workers, vs the model",
)
def data_pipeline(opts: BenchOptions) -> BenchTable:
    """Rows per recipe (``extra["recipes"]``; quick: cls_default, full: cls_default and seg_default)."""
    check_extra(opts, "pipeline", EXTRA_KEYS)
    recipes = as_list(opts.extra.get("recipes", RECIPES[opts.quick]))
    images = int_setting(opts, "images", IMAGES[opts.quick])
    steps = int_setting(opts, "model_steps", MODEL_STEPS[opts.quick])
    workers = tuple(whole_number("workers", w, low=0) for w in as_items(opts.extra.get("workers", WORKERS)))
    with tempfile.TemporaryDirectory(prefix="dermkit-bench-pipeline-") as tmp, torch_threads(opts.threads) as threads:
        scratch = Path(tmp)
        data, described = bench_data(opts, scratch, images=(IMAGES[True], IMAGES[False]))
        rows: list[dict] = []
        for name in _progress(opts, recipes):
            recipe = prepare_recipe(name, data, scratch / f"run-{name}", opts)
            rows += recipe_rows(recipe, images, steps, scratch, workers)
    notes = [
        f"data: {described}; torch threads: {threads} (each loader worker: 1)",
        "loader: the task's training Dataset (decode, preprocess, the recipe's augmentation, normalise) through a "
        "DataLoader over one epoch's batches, worker start-up included; cache off / cold (first epoch, writing) / "
        "warm (read back)",
        f"model: training images/s on batches in memory (bare loop; timed steps: {steps}, after a warm-up step)",
        "epoch img/s (est.): 1/(1/loader + 1/model) with 0 workers (serial), min(loader, model) with workers "
        "(ignores that workers and the model share the cores)",
    ]
    return BenchTable("Data pipeline: loader images/s with and without the cache, vs the model", rows, notes)


def as_items(value: Any) -> list:
    """One value or a list of them, as a list."""
    return list(value) if isinstance(value, list | tuple) else [value]


def _progress(opts: BenchOptions, items: list[str]):
    from tqdm.auto import tqdm

    return tqdm(items, desc="pipeline", disable=not opts.progress, leave=False, dynamic_ncols=True)
