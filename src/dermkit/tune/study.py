"""The Optuna study behind ``dermkit tune``: storage, sampler and pruner by name, and what a resumed
or shared study must agree on.

A study lives in an Optuna RDB storage (SQLite by default, any SQLAlchemy URL Optuna accepts), so
several processes, on one machine or many, can work on it at once: each asks the storage for the
next trial, and Optuna numbers trials in the storage, so numbers never collide. The study records
the search space and the base recipe it was started with; a process that brings another space or
recipe is refused instead of mixing two searches in one study.

Interrupted trials are marked failed (Optuna's state) and their parameters run again, from the start,
as a new trial: after Ctrl-C, the next ``dermkit tune`` of the study queues them first; a trial
whose process was killed is found by the storage's heartbeat (no beat for :data:`GRACE_SECONDS`)
and re-queued by Optuna the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dermkit.config import RunConfig
from dermkit.engine.rundir import config_differences
from dermkit.errors import ConfigError, DermkitError
from dermkit.registry import Registry
from dermkit.tune.space import SearchSpace

HEARTBEAT_SECONDS = 60  # a running trial writes a heartbeat this often
GRACE_SECONDS = 180  # ... and is taken as dead (failed, re-queued) after this long without one
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)  # what counts towards --trials

#: Keys whose values may differ between the processes of one study (where each machine keeps its
#: data and cache, how many loader workers it runs), and never change what a trial trains.
MACHINE_KEYS = frozenset(
    {"data.path", "data.cache_dir", "data.num_workers", "data.focus.run", "data.split.file", "train.device"}
)

# User attributes of trials (read by the summary and by resume).
ATTR_INTERRUPTED = "interrupted"  # True: stopped by Ctrl-C, to run again
ATTR_RETRY_OF = "retry_of"  # number of the interrupted trial whose parameters this trial runs again
ATTR_RUN_DIR = "run_dir"
ATTR_FAILED = "failed"  # why a trial failed (a diverged loss)

SAMPLERS: Registry[Callable[..., optuna.samplers.BaseSampler]] = Registry("sampler")
PRUNERS: Registry[Callable[..., optuna.pruners.BasePruner]] = Registry("pruner")


@SAMPLERS.register("tpe")
def _tpe(seed: int, startup_trials: int) -> optuna.samplers.BaseSampler:
    """Tree-structured Parzen estimator; random for the first ``startup_trials`` trials."""
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials)


@SAMPLERS.register("random")
def _random(seed: int, startup_trials: int) -> optuna.samplers.BaseSampler:
    """Independent uniform draws (S1's random search)."""
    return optuna.samplers.RandomSampler(seed=seed)


@PRUNERS.register("median")
def _median(startup_trials: int, warmup_epochs: int) -> optuna.pruners.BasePruner:
    """Stop a trial whose epoch value is worse than the median of earlier trials at that epoch."""
    return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)


@PRUNERS.register("halving")
def _halving(startup_trials: int, warmup_epochs: int) -> optuna.pruners.BasePruner:
    """Asynchronous successive halving: keep the best quarter at each rung of epochs."""
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, warmup_epochs))


@PRUNERS.register("none")
def _no_pruner(startup_trials: int, warmup_epochs: int) -> optuna.pruners.BasePruner:
    """Every trial trains all its epochs."""
    return optuna.pruners.NopPruner()


def default_storage(out: Path) -> str:
    """``sqlite:///OUT/study.db`` (absolute, so every process of the study finds the same file)."""
    return f"sqlite:///{(Path(out) / 'study.db').absolute()}"


def shown_url(url: str) -> str:
    """A storage URL with any password replaced by ``***`` (for messages and files)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):  # not a URL SQLAlchemy can parse: the error that follows says so
        return url


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats (a killed trial is failed and re-queued once, see module doc).

    SQLite waits up to a minute for another process's write instead of failing at once.

    Raises:
        ConfigError: the URL cannot be opened (no driver, bad syntax, unreachable server).
    """
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=retry,
            )
        except (ImportError, ValueError, SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
            reason = " ".join(str(exc).split("(Background on this error")[0].split())[:300] or type(exc).__name__
            raise ConfigError(
                f"--storage {shown_url(url)}: Optuna cannot open it ({reason}); give an SQLAlchemy URL such as "
                "sqlite:///study.db or postgresql://user@host/db (with its driver installed)"
            ) from None


def _study_record(space: SearchSpace, base: RunConfig, direction: str) -> dict[str, Any]:
    return {"space": space.as_json(), "base_config": base.model_dump(mode="json"), "direction": direction}


def check_same_study(study: optuna.Study, space: SearchSpace, base: RunConfig, url: str) -> None:
    """Refuse to add trials to ``study`` when it was started with another space or base recipe."""
    attrs = study.user_attrs
    where = f"study {study.study_name!r} in {shown_url(url)}"
    if "space" not in attrs:
        if study.trials:
            raise DermkitError(f"{where} was not made by dermkit tune; give another --study name")
        return
    if attrs["space"] != space.as_json():
        raise ConfigError(
            f"{where} was started with another search space ({sorted(attrs['space'])}, now {sorted(space.params)} "
            f"from {space.source}); resume it with its own space, or start a new study (--study NAME)"
        )
    saved = RunConfig.model_validate(attrs["base_config"])
    changed = config_differences(saved, base, ignore=MACHINE_KEYS | set(space.params))
    if changed:
        raise ConfigError(
            f"{where} was started with another base recipe:\n"
            + "\n".join(f"  {d}" for d in changed[:10])
            + "\nresume it with the same --config and overrides, or start a new study (--study NAME)"
        )


def open_study(
    url: str,
    name: str,
    space: SearchSpace,
    base: RunConfig,
    direction: str,
    sampler: str,
    pruner: str,
    seed: int,
    startup_trials: int = 5,
    warmup_epochs: int = 0,
) -> optuna.Study:
    """Create the study ``name`` in the storage at ``url``, or load it to resume or share it.

    The sampler is seeded with ``seed`` plus the number of trials the study already holds, so a new
    single-process study is reproducible and a second process (or a resume) does not replay the
    first one's draws.

    Raises:
        ConfigError: unknown sampler or pruner, a storage that cannot be opened, a study started
            with another space or recipe.
    """
    make_sampler, make_pruner = SAMPLERS.get(sampler), PRUNERS.get(pruner)
    storage = open_storage(url)
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        check_same_study(existing, space, base, url)
        if existing.direction.name.lower() != direction:
            raise ConfigError(
                f"study {name!r} is set to {existing.direction.name.lower()}, but this recipe's monitor needs "
                f"{direction}; start a new study (--study NAME)"
            )
    done = len(existing.trials) if existing is not None else 0
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,
        load_if_exists=True,
        sampler=make_sampler(seed + done, startup_trials),
        pruner=make_pruner(startup_trials, warmup_epochs),
    )
    if "space" not in study.user_attrs:
        for key, value in _study_record(space, base, direction).items():
            study.set_user_attr(key, value)
    return study


def finished(study: optuna.Study) -> int:
    """Trials that count towards the target: completed or pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def queue_interrupted(study: optuna.Study) -> list[int]:
    """Queue the parameters of every Ctrl-C-interrupted trial not yet queued again; returns their numbers."""
    trials = study.get_trials(deepcopy=False)
    again = {t.user_attrs.get(ATTR_RETRY_OF) for t in trials}
    todo = [
        t for t in trials if t.state == TrialState.FAIL and t.user_attrs.get(ATTR_INTERRUPTED) and t.number not in again
    ]
    for t in todo:
        study.enqueue_trial(t.params, user_attrs={ATTR_RETRY_OF: t.number})
    return [t.number for t in todo]


def retried_from(trial: FrozenTrial) -> int | None:
    """The number of the interrupted (or dead) trial whose values ``trial`` trains again, else None."""
    number = trial.user_attrs.get(ATTR_RETRY_OF, trial.system_attrs.get("failed_trial"))  # ours, or Optuna's
    return None if number is None else int(number)


def trial_outcome(trial: FrozenTrial) -> str:
    """One word for a trial's state, as the summary shows it."""
    if trial.state == TrialState.FAIL and trial.user_attrs.get(ATTR_INTERRUPTED):
        return "interrupted"
    return trial.state.name.lower()
