"""Training a recipe within a wall-clock budget: a timed probe of a few steps and one validation pass
tells what an epoch costs, then the recipe trains for the whole epochs that fit (at most its own
count) or, when one does not fit, for one epoch of the batches that fit. The benchmarks that compare
recipes "at one CPU budget" (cls_seeds, seg_candidates) train through :func:`trained_run`."""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

WARMUP_STEPS = 2
PROBE_STEPS = {False: 8, True: 3}  # timed steps after the warm-up (full, quick)


def check_recipes(recipe: str, runs: dict[str, list[str]]) -> None:
    """Exit with the reason before anything trains when one of ``runs`` (name -> overrides of
    ``recipe``) cannot run (an unknown option, an input size its model cannot take): a benchmark
    of several hour-long runs should not stop at its second."""
    from dermkit.config import load_config
    from dermkit.engine.checks import check_recipe
    from dermkit.errors import DermkitError

    for name, overrides in runs.items():
        try:
            check_recipe(load_config(recipe, overrides))
        except DermkitError as err:
            raise SystemExit(f"candidate {name!r} cannot run: {err}") from None


def make_probe_trainer():
    """The Trainer timing each optimiser step (data loading included) and each validation pass,
    skipping the final evaluation: one short epoch tells what a full one costs."""
    from dermkit.engine.trainer import Trainer

    class ProbeTrainer(Trainer):
        step_ends: list[float]
        validation_seconds: list[float]

        def _step(self, batch, batches, bar) -> None:
            super()._step(batch, batches, bar)
            self.step_ends.append(time.perf_counter())

        def _validate(self) -> dict[str, float]:
            start = time.perf_counter()
            result = super()._validate()
            self.validation_seconds.append(time.perf_counter() - start)
            return result

        def _finish(self) -> dict[str, Any]:
            return {}

    return ProbeTrainer


def probe(recipe: str, base: list[str], run_dir: Path, steps: int) -> dict[str, float]:
    """Seconds per optimiser step (median after the warm-up), per validation pass, and batches per epoch."""
    from dermkit.config import load_config

    cfg = load_config(recipe, base)
    probe_cfg = load_config(
        recipe, [*base, "train.epochs=1", f"train.max_batches_per_epoch={WARMUP_STEPS + 1 + steps}"]
    )
    trainer = make_probe_trainer()(probe_cfg, run_dir, progress=False)
    trainer.step_ends, trainer.validation_seconds = [], []
    trainer.fit()
    deltas = np.diff(trainer.step_ends)[WARMUP_STEPS:]
    return {
        "step_seconds": float(statistics.median(deltas)),
        "validation_seconds": float(trainer.validation_seconds[0]),
        "batches_per_epoch": math.ceil(len(trainer.train_set) / cfg.train.batch_size),
    }


def budget_overrides(cfg, speed: dict[str, float], minutes: float) -> tuple[list[str], float]:
    """The ``train.*`` overrides that fit ``minutes``, and the training seconds they are expected to take."""
    budget = minutes * 60
    epoch = speed["batches_per_epoch"] * speed["step_seconds"] + speed["validation_seconds"]
    epochs = min(cfg.train.epochs, int(budget // epoch))
    if epochs >= 1:
        return [f"train.epochs={epochs}"], epochs * epoch
    batches = max(1, int((budget - speed["validation_seconds"]) // speed["step_seconds"]))
    return ["train.epochs=1", f"train.max_batches_per_epoch={batches}"], batches * speed["step_seconds"] + speed[
        "validation_seconds"
    ]


def trained_run(
    name: str, recipe: str, base: list[str], out: Path, minutes: float, steps: int, like: dict | None = None
) -> dict[str, Any]:
    """Probe ``recipe`` with ``base`` overrides, then train it within the budget into ``out/name``;
    ``like`` (an earlier result) reuses that run's probe and epochs, so an ablation trains as its recipe did."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    plan_file = out / "probes" / f"{name}.json"  # a resumed run keeps its plan; a finished one, its fit time
    if plan_file.exists():
        plan = json.loads(plan_file.read_text())
    elif like is not None:
        plan = {key: like[key] for key in ("speed", "budget_overrides", "expected_seconds")}
    else:
        speed = probe(recipe, base, out / "probes" / name, steps)
        budget, expected = budget_overrides(load_config(recipe, base), speed, minutes)
        plan = {"speed": speed, "budget_overrides": budget, "expected_seconds": expected}
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    if "train_seconds" not in plan:  # not trained to the end before
        plan_file.write_text(json.dumps(plan, indent=2) + "\n")  # before training: an interrupted run resumes on it
        run_dir = out / name
        t0 = time.perf_counter()
        cfg = load_config(recipe, [*base, *plan["budget_overrides"]])
        fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists())
        plan["train_seconds"] = time.perf_counter() - t0
        plan_file.write_text(json.dumps(plan, indent=2) + "\n")
    return plan
