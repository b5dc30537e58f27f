"""The Optuna study behind ``dermkit tune``: storage, sampler and pruner by name, and what a resumed
or shared study must agree on.

A study lives in an Optuna RDB storage (SQLite by default, any SQLAlchemy URL Optuna accepts), so
several processes, on one machine or many, can work on it at once: each asks the storage for the
next trial, and Optuna numbers trials in the storage, so numbers never collide. The study records
the search space and the base recipe it was started with; a process that brings another space or
recipe is refused instead of mixing two searches in one study.

Each trial draws its values with a random state seeded by the study's seed and the trial's number
(:class:`TrialSeededSampler`): numbers are unique over every process of a study, so processes that
start together, and so see the same (empty) history, still try different values, and a study run
again with the same seed tries the same values under the same numbers.

Interrupted trials are marked failed (Optuna's state) and their parameters run again, from the start,
as a new trial: after Ctrl-C, the next ``dermkit tune`` of the study queues them first; a trial
whose process was killed is found by the storage's heartbeat (no beat for :data:`GRACE_SECONDS`)
and re-queued by Optuna the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
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
ATTR_PROCESS = "process"  # host:pid of the process that trained the trial

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


def trial_seed(seed: int, number: int) -> int:
    """The 32-bit seed of trial ``number``'s draws in a study seeded with ``seed`` (both >= 0)."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A registered sampler made afresh for each trial, seeded by :func:`trial_seed` of the trial's number.

    Seeding once per process (the plain Optuna way) makes two processes that join a study at the same
    moment draw the same values, trial after trial, for as long as the sampler draws at random (TPE's
    start-up trials). TPE and random keep no state beyond their random state (they read the history
    from the study at each draw), so one instance per trial changes nothing else.

    Args:
        make: the sampler for a seed (a :data:`SAMPLERS` entry with its other arguments bound).
        seed: the study's seed.
    """

    def __init__(self, make: Callable[[int], optuna.samplers.BaseSampler], seed: int) -> None:
        self._make = make
        self._seed = seed
        self._samplers: dict[int, optuna.samplers.BaseSampler] = {}
        self._lock = threading.Lock()  # --n-jobs: one process's trials sample from several threads

    def _of(self, trial: FrozenTrial) -> optuna.samplers.BaseSampler:
        with self._lock:
            if trial.number not in self._samplers:
                self._samplers[trial.number] = self._make(trial_seed(self._seed, trial.number))
            return self._samplers[trial.number]

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        return self._of(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        return self._of(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution) -> Any:
        return self._of(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._of(trial).before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values) -> None:
        self._of(trial).after_trial(study, trial, state, values)
        with self._lock:
            self._samplers.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Nothing to do: Optuna reseeds for ``n_jobs > 1``, and trial numbers already differ between threads."""


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


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///FILE`` URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``FILE.lock`` beside a SQLite storage's file while it is opened.

    Opening a storage creates Optuna's tables when they are missing, by check-then-create: two
    processes starting a study together on a new SQLite file both find no table, and the second
    fails with "table ... already exists". Under this lock the second waits, then finds the tables.
    Other databases are not locked here (a server-side race remains possible: start one process
    first).
    """
    path, fd = sqlite_file(url), None
    if path is not None:
        try:
            fd = os.open(f"{path.absolute()}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:  # a missing or read-only folder: no lock; the storage's own error names the file
            fd = None
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the process creating the tables has done so
        yield
    finally:
        os.close(fd)  # releases the flock


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats (a killed trial is failed and re-queued once, see module doc).

    SQLite waits up to a minute for another process's write instead of failing at once, and its
    tables are created under :func:`schema_lock`, so processes may start a new study together.

    Raises:
        ConfigError: the URL cannot be opened (no driver, bad syntax, unreachable server).
    """
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        try:
            with schema_lock(url):
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

    Trial N draws with the seed :func:`trial_seed` (``seed``, N) (:class:`TrialSeededSampler`), so a
    study is reproducible and no process of a shared study (or a resume) replays another's draws.

    Raises:
        ConfigError: unknown sampler or pruner, a negative seed, a storage that cannot be opened, a
            study started with another space or recipe.
    """
    make_sampler, make_pruner = SAMPLERS.get(sampler), PRUNERS.get(pruner)
    if seed < 0:
        raise ConfigError(f"--seed {seed}: the sampler's seed must be >= 0")
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
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,
        load_if_exists=True,
        sampler=TrialSeededSampler(lambda s: make_sampler(s, startup_trials), seed),
        pruner=make_pruner(startup_trials, warmup_epochs),
    )
    if "space" not in study.user_attrs:
        for key, value in _study_record(space, base, direction).items():
            study.set_user_attr(key, value)
    return study


def process_label() -> str:
    """``host:pid`` of this process, as a trial's :data:`ATTR_PROCESS` and ``trial.json`` name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
