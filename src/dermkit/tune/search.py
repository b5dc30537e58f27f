"""``dermkit tune``'s library entry: check everything, open (or join) the study, run the missing
trials, write the study's outputs.

``trials`` is the study's target, counted over every process: a study stops when it holds that
many finished (completed or pruned) trials, so re-running the same command after an interruption
runs only the missing ones, and two processes started with ``--trials 20`` against one storage run
about ten each (a process that finds the target reached mid-trial finishes that trial, so a shared
study may end a trial or so above the target). Failed trials (a diverged loss, an interruption) do
not count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial

from dermkit.engine.tasks import create_task
from dermkit.errors import ConfigError, DermkitError
from dermkit.files import check_output_dir, claim_output_dir, write_json
from dermkit.tune.objective import Objective
from dermkit.tune.recipe import base_tree, check_space
from dermkit.tune.report import (
    BEST_FILE,
    SUMMARY_FILE,
    summary_frame,
    write_best_recipe,
    write_plots,
    write_text_atomic,
)
from dermkit.tune.space import load_space
from dermkit.tune.study import (
    ATTR_FAILED,
    ATTR_PROCESS,
    FINISHED,
    default_storage,
    finished,
    open_study,
    process_label,
    queue_interrupted,
    retried_from,
    shown_url,
    trial_outcome,
)

TUNE_MARKER = ".dermkit-tune"
TUNE_FILE = "tune.json"  # which study (and storage) this output folder belongs to


@dataclass(frozen=True)
class TuneSettings:
    """Everything ``dermkit tune`` takes.

    Attributes:
        config: the base recipe (a shipped name or a YAML file).
        space: the search-space YAML (or a shipped space's name).
        trials: the study's target of finished (completed or pruned) trials, over all processes.
        out: the output folder (default ``runs/tune-<study>``).
        storage: an Optuna RDB URL (default ``sqlite:///OUT/study.db``).
        study: the study's name (default ``<recipe>-<space file name>``).
        sampler: a name in :data:`dermkit.tune.study.SAMPLERS` (tpe, random).
        pruner: a name in :data:`dermkit.tune.study.PRUNERS` (median, halving, none).
        n_jobs: trials run at once in this process (threads; several processes scale better on CPUs).
        seed: the sampler's seed (trials train with the recipe's own ``train.seed``).
        startup_trials: trials that run to the end before the pruner prunes and TPE models the space.
        warmup_epochs: epochs every trial trains before it can be pruned.
        overrides: KEY=VALUE overrides of the base recipe, as for ``dermkit train``.
    """

    config: str | Path
    space: str | Path
    trials: int
    out: Path | None = None
    storage: str | None = None
    study: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    n_jobs: int = 1
    seed: int = 0
    startup_trials: int = 5
    warmup_epochs: int = 0
    overrides: list[str] = field(default_factory=list)


@dataclass
class TuneResult:
    """What a ``dermkit tune`` call leaves: the study's summary and the files written."""

    study_name: str
    storage: str
    out: Path
    monitor: str
    direction: str
    params: list[str]  # the space's keys (summary columns)
    summary: pd.DataFrame
    best: FrozenTrial | None
    ran: int  # trials this call ran
    requeued: list[int]  # interrupted trials whose parameters this call queued again
    files: list[Path]
    messages: list[str]


def _claim_out(out: Path, study: str, storage: str) -> None:
    """The output folder belongs to one study: refuse one made for another."""
    claim_output_dir(out, TUNE_MARKER, "tuning")
    path = out / TUNE_FILE
    record = {"study": study, "storage": shown_url(storage)}
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            saved = {}
        if saved.get("study") not in (None, study):
            raise ConfigError(
                f"{out} holds the trials of study {saved['study']!r}; give another --out for study {study!r} "
                f"(or --study {saved['study']} to continue that one)"
            )
        if saved == record:
            return
    write_json(path, record)


def _echo_trial(echo: Callable[[str], None], monitor: str):
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        state = trial_outcome(trial)
        if state == "complete":
            what = f"{monitor}={trial.value:.4g}"
        elif state == "pruned":
            last = max(trial.intermediate_values) if trial.intermediate_values else 0
            what = f"after epoch {last}"
        else:
            what = trial.user_attrs.get(ATTR_FAILED, "")
        again = f" (again: trial {retried_from(trial)})" if retried_from(trial) is not None else ""
        echo(f"trial {trial.number}{again}: {state} {what} [{params}] ({finished(study)} finished)")

    return callback


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def tune(settings: TuneSettings, echo: Callable[[str], None] = lambda _: None) -> TuneResult:
    """Run (or resume, or join) a study; see the module doc. Nothing is created before the recipe,
    the space and the output folder are checked.

    Args:
        settings: the command's options.
        echo: called with one line per finished trial and per notice (the CLI prints them).

    Raises:
        ConfigError: a bad recipe, space, override, sampler, pruner or storage, or a study started
            with another space or recipe.
        KeyboardInterrupt: Ctrl-C; the interrupted trial is marked failed and the outputs are
            written for the trials so far before it propagates.
    """
    tree = base_tree(settings.config, settings.overrides)
    space = load_space(settings.space)
    base = check_space(space, tree)
    if base.data.split.val <= 0:
        raise ConfigError(
            f"{settings.config}: tuning selects on the validation metric ({base.monitor}), but data.split.val is "
            f"{base.data.split.val}; set data.split.val > 0"
        )
    direction = "maximize" if create_task(base).monitor_mode(base.monitor) == "max" else "minimize"
    name = settings.study or f"{base.recipe}-{Path(str(settings.space)).stem}"
    out = Path(settings.out or Path("runs") / f"tune-{name}")
    check_output_dir(out, [base.data.path] if base.data.path else [], what="--out")
    url = settings.storage or default_storage(out)
    _claim_out(out, name, url)
    study = open_study(
        url,
        name,
        space,
        base,
        direction,
        settings.sampler,
        settings.pruner,
        settings.seed,
        settings.startup_trials,
        settings.warmup_epochs,
    )
    before = {t.number for t in study.get_trials(deepcopy=False)}
    requeued = queue_interrupted(study)
    if requeued:
        echo(f"interrupted trials {', '.join(map(str, requeued))}: their parameters run again first")
    objective = Objective(tree, space, out.absolute(), base.monitor, {"study": name, "storage": shown_url(url)})
    missing = settings.trials - finished(study)
    messages = []
    try:
        if missing > 0:
            study.optimize(
                objective,
                n_trials=missing,
                n_jobs=settings.n_jobs,
                callbacks=[MaxTrialsCallback(settings.trials, states=FINISHED), _echo_trial(echo, base.monitor)],
            )
        else:
            messages.append(f"study {name!r} already has {finished(study)} finished trials (target {settings.trials})")
    finally:
        me = process_label()  # other processes of a shared study add trials meanwhile: count only ours
        ran = sum(
            t.number not in before and t.user_attrs.get(ATTR_PROCESS) == me for t in study.get_trials(deepcopy=False)
        )
        result = _write_outputs(study, tree, space, out, base.monitor, direction, url, ran, requeued, messages)
    return result


def _write_outputs(study, tree, space, out, monitor, direction, url, ran, requeued, messages) -> TuneResult:
    summary = summary_frame(study, space, monitor)
    write_text_atomic(out / SUMMARY_FILE, summary.to_csv(index=False))
    files = [out / SUMMARY_FILE]
    try:
        best = write_best_recipe(study, tree, space, monitor, out / BEST_FILE)
    except DermkitError as exc:  # the best trial's values no longer make a valid recipe
        best = None
        messages.append(f"{BEST_FILE} not written: {exc}")
    else:
        if best is None:
            messages.append(f"no trial has completed yet: no {BEST_FILE}")
    if best is not None:
        files.append(out / BEST_FILE)
    plots, notes = write_plots(study, out)
    return TuneResult(
        study_name=study.study_name,
        storage=shown_url(url),
        out=out,
        monitor=monitor,
        direction=direction,
        params=list(space.params),
        summary=summary,
        best=best,
        ran=ran,
        requeued=requeued,
        files=files + plots,
        messages=messages + notes,
    )
