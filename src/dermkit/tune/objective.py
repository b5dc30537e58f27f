"""One trial = one ordinary training run: the base recipe with the trial's values, trained by the
same :class:`~dermkit.engine.trainer.Trainer` as ``dermkit train`` into ``OUT/trials/trial_NNNN``.

The objective is the value the trainer selects its best checkpoint on (the recipe's monitor,
``val_bma`` / ``val_dice`` by default, in its own direction); every epoch's value is reported to
the study so the pruner can stop a trial that trails the others (:class:`optuna.TrialPruned`).
The run folder of every trial, pruned and interrupted ones included, is a normal run folder
(resumable with ``dermkit train ... --resume``), with ``trial.json`` saying which trial it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from dermkit.engine.trainer import Trainer, TrainingDiverged
from dermkit.files import write_json
from dermkit.tune.recipe import resolve, with_params
from dermkit.tune.space import SearchSpace
from dermkit.tune.study import ATTR_FAILED, ATTR_INTERRUPTED, ATTR_PROCESS, ATTR_RUN_DIR, process_label

TRIAL_FILE = "trial.json"


def trial_dir(out: Path, number: int) -> Path:
    """``OUT/trials/trial_0007``: where trial 7 trains."""
    return Path(out) / "trials" / f"trial_{number:04d}"


class EpochReporter:
    """The trainer's ``on_epoch_end`` hook: report the monitor to the trial, raise TrialPruned when told."""

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        self.epochs = 0

    def __call__(self, metrics: dict[str, Any]) -> None:
        self.epochs = int(metrics["epoch"])
        value = metrics.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return  # nothing the pruner can compare; the final value decides
        self.trial.report(float(value), step=self.epochs)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.monitor}={float(value):.4g} at epoch {self.epochs}")


@dataclass(frozen=True)
class Objective:
    """Callable for :meth:`optuna.Study.optimize`: trains one trial and returns its best monitor value.

    Attributes:
        tree: the base recipe (file + overrides) as a YAML mapping.
        space: the parameters the trial samples.
        out: the study's output folder (trials go to ``out/trials``).
        monitor: the metric optimised (the recipe's ``monitor``).
        study_label: what ``trial.json`` names as the study (name and storage, password hidden).
    """

    tree: dict[str, Any]
    space: SearchSpace
    out: Path
    monitor: str
    study_label: dict[str, str]

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        cfg = resolve(with_params(self.tree, params), f"trial {trial.number}")
        run_dir = trial_dir(self.out, trial.number)
        trial.set_user_attr(ATTR_RUN_DIR, str(run_dir))
        trial.set_user_attr(ATTR_PROCESS, process_label())
        reporter = EpochReporter(trial, self.monitor)
        record = {**self.study_label, "trial": trial.number, "params": params, "monitor": self.monitor}
        record["process"] = process_label()
        outcome, value = "failed", None
        try:
            final = Trainer(cfg, run_dir, progress=False, on_epoch_end=reporter).fit()
            value = final["best_value"]
            outcome = "complete"
        except optuna.TrialPruned:
            outcome = "pruned"
            raise
        except TrainingDiverged as exc:
            trial.set_user_attr(ATTR_FAILED, str(exc).split(";")[0])
            return math.nan  # a failed trial (Optuna's state for a NaN value); the study goes on
        except KeyboardInterrupt:
            outcome = "interrupted"
            trial.set_user_attr(ATTR_INTERRUPTED, True)
            raise
        finally:
            if run_dir.is_dir():
                write_json(
                    run_dir / TRIAL_FILE, {**record, "outcome": outcome, "value": value, "epochs": reporter.epochs}
                )
        return float(value)
