"""The study around the trials, without training: storage, refusals on resume, re-queueing, outputs."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from dermkit.config import load_config
from dermkit.errors import ConfigError, DermkitError
from dermkit.tune.recipe import resolve
from dermkit.tune.report import summary_frame, write_best_recipe, write_plots
from dermkit.tune.space import encode_choice, parse_space
from dermkit.tune.study import (
    ATTR_INTERRUPTED,
    ATTR_RETRY_OF,
    default_storage,
    finished,
    open_storage,
    open_study,
    queue_interrupted,
    shown_url,
)

TREE = {
    "task": "classification",
    "recipe": "tiny",
    "model": {"name": "deepconvnet_s2", "kwargs": {"input_size": [32, 32]}},
    "loss": {"name": "cross_entropy"},
    "data": {"num_workers": 0, "cache_dir": None, "preprocess": {"size": [32, 32]}},
    "train": {"monitor": "val_loss"},
}
SPACE = parse_space(
    {
        "optim.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "model.kwargs.dense_widths": {"type": "categorical", "choices": [[64, 32], [16]]},
    },
    "space.yaml",
)
DISTRIBUTIONS = {
    "optim.lr": FloatDistribution(1e-4, 1e-1, log=True),
    "model.kwargs.dense_widths": CategoricalDistribution([encode_choice([64, 32]), encode_choice([16])]),
}


@pytest.fixture
def base():
    return resolve(TREE, "tiny")


@pytest.fixture
def url(tmp_path):
    return default_storage(tmp_path)


def _open(url, base, space=SPACE, **kw):
    args = dict(sampler="random", pruner="median", seed=0)
    args.update(kw)
    return open_study(url, "s", space, base, "minimize", **args)


def _add(study, value, lr, widths, state=TrialState.COMPLETE, steps=(), **attrs):
    study.add_trial(
        create_trial(
            state=state,
            value=value if state == TrialState.COMPLETE else None,
            params={"optim.lr": lr, "model.kwargs.dense_widths": encode_choice(widths)},
            distributions=DISTRIBUTIONS,
            intermediate_values=dict(enumerate(steps, start=1)),
            user_attrs=attrs,
        )
    )


def test_default_storage_is_an_absolute_sqlite_file_in_the_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_storage("out") == f"sqlite:///{tmp_path}/out/study.db"


def test_storage_urls_hide_passwords_and_bad_ones_are_config_errors(tmp_path):
    assert shown_url("postgresql://me:secret@db.example/optuna") == "postgresql://me:***@db.example/optuna"
    with pytest.raises(ConfigError, match="--storage notaurl: Optuna cannot open it"):
        open_storage("notaurl")
    with pytest.raises(
        ConfigError, match=r"--storage sqlite:///.*/missing/x.db: Optuna cannot open it .*unable to open"
    ):
        open_storage(f"sqlite:///{tmp_path}/missing/x.db")


def test_unknown_sampler_or_pruner_gets_a_did_you_mean(url, base):
    with pytest.raises(ConfigError, match="unknown sampler 'tpee'. Did you mean 'tpe'"):
        _open(url, base, sampler="tpee")
    with pytest.raises(ConfigError, match="unknown pruner 'medain'. Did you mean 'median'"):
        _open(url, base, pruner="medain")


def test_a_study_records_its_space_and_recipe_and_refuses_others(url, base):
    study = _open(url, base)
    assert study.user_attrs["space"] == SPACE.as_json() and study.direction.name == "MINIMIZE"
    _open(url, base)  # the same command again: resumes
    other_machine = load_config(None, ["data.path=/elsewhere/HAM10000", "data.num_workers=4"], base=dict(TREE))
    _open(url, other_machine)  # where the data are and how many workers load it may differ per process
    other_space = parse_space({"optim.lr": {"type": "float", "low": 1e-3, "high": 1e-1}}, "other.yaml")
    with pytest.raises(ConfigError, match="study 's' in sqlite:.* was started with another search space"):
        _open(url, base, space=other_space)
    other_recipe = resolve({**TREE, "optim": {"name": "sgd"}}, "tiny")
    with pytest.raises(ConfigError, match=r"(?s)was started with another base recipe:\n  optim.name: 'adam' -> 'sgd'"):
        _open(url, other_recipe)
    tuned_keys_may_differ = resolve({**TREE, "optim": {"lr": 0.5}}, "tiny")
    _open(url, tuned_keys_may_differ)


def test_a_foreign_study_of_the_same_name_is_refused(url, base):
    foreign = optuna.create_study(storage=open_storage(url), study_name="s")
    foreign.add_trial(create_trial(value=1.0, params={}, distributions={}))
    with pytest.raises(DermkitError, match="was not made by dermkit tune"):
        _open(url, base)


def test_interrupted_trials_are_queued_again_once(url, base):
    study = _open(url, base)
    _add(study, 0.5, 1e-3, [16])
    _add(study, None, 2e-2, [64, 32], state=TrialState.FAIL, **{ATTR_INTERRUPTED: True})
    _add(study, None, 3e-2, [16], state=TrialState.FAIL)  # failed for another reason: not re-run
    assert queue_interrupted(study) == [1]
    assert queue_interrupted(_open(url, base)) == []  # a second process (or call) does not queue it again
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs[ATTR_RETRY_OF] == 1
    assert waiting[0].params == {} and waiting[0].system_attrs["fixed_params"] == study.trials[1].params
    assert finished(study) == 1


def test_summary_names_the_monitor_and_states(url, base):
    study = _open(url, base)
    _add(study, 0.5, 1e-3, [16], steps=[0.7, 0.5])
    _add(study, None, 2e-2, [64, 32], state=TrialState.PRUNED, steps=[0.9])
    _add(study, None, 2e-2, [64, 32], state=TrialState.FAIL, **{ATTR_INTERRUPTED: True})
    frame = summary_frame(study, SPACE, "val_loss")
    assert list(frame.columns[:5]) == ["trial", "state", "val_loss", "epochs", "seconds"]
    assert frame["state"].tolist() == ["complete", "pruned", "interrupted"]
    assert frame["epochs"].tolist()[:2] == [2, 1]
    assert frame["model.kwargs.dense_widths"][0] == "[16]"


def test_best_recipe_is_the_best_completed_trial_with_lists_decoded(url, base, tmp_path):
    study = _open(url, base)
    path = tmp_path / "best.yaml"
    assert write_best_recipe(study, TREE, SPACE, "val_loss", path) is None and not path.exists()
    _add(study, 0.9, 1e-3, [16])
    _add(study, 0.4, 2e-3, [64, 32])  # minimize: the best
    _add(study, None, 5e-2, [16], state=TrialState.PRUNED, steps=[0.1])  # pruned values do not count
    best = write_best_recipe(study, TREE, SPACE, "val_loss", path)
    assert best.number == 1
    text = path.read_text()
    assert text.startswith("# Best trial 1 of study 's': val_loss = 0.4 (minimize)")
    cfg = load_config(path)
    assert cfg.optim.lr == 2e-3 and cfg.model.kwargs["dense_widths"] == [64, 32] and cfg.recipe == "tiny_tuned"


def test_plots_are_written_and_importance_waits_for_two_trials_and_two_params(url, base, tmp_path):
    study = _open(url, base)
    assert write_plots(study, tmp_path) == ([], ["no trial has completed yet: no plots"])
    _add(study, 0.9, 1e-3, [16], steps=[0.9])
    files, notes = write_plots(study, tmp_path)
    assert [f.name for f in files] == ["history.png", "intermediate.png", "parallel_coordinate.png"]
    assert "importance.png left out: parameter importance needs at least 2 completed trials" in notes[0]
    for value, lr, widths in [(0.5, 3e-3, [64, 32]), (0.7, 1e-2, [16]), (0.2, 3e-4, [64, 32])]:
        _add(study, value, lr, widths, steps=[value])
    files, notes = write_plots(study, tmp_path)
    assert [f.name for f in files][-1] == "importance.png" and notes == []
    assert all(f.stat().st_size > 1000 for f in files)


def test_importance_with_one_parameter_is_a_message_not_a_crash(url, tmp_path, base):
    one = parse_space({"optim.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}, "one.yaml")
    study = open_study(url, "one", one, base, "minimize", "random", "none", 0)
    for value, lr in [(0.5, 1e-3), (0.4, 1e-2), (0.3, 1e-1)]:
        study.add_trial(
            create_trial(value=value, params={"optim.lr": lr}, distributions={"optim.lr": DISTRIBUTIONS["optim.lr"]})
        )
    files, notes = write_plots(study, tmp_path)
    assert "importance.png" not in [f.name for f in files]
    assert "(the study has 3 completed, 1 parameter(s))" in notes[0]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::optuna.exceptions.ExperimentalWarning")
def test_a_trial_whose_process_died_is_failed_and_queued_again_by_the_heartbeat(url, base, monkeypatch):
    import time

    import dermkit.tune.study as study_module

    monkeypatch.setattr(study_module, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(study_module, "GRACE_SECONDS", 1)
    study = _open(url, base)
    dead = study.ask()  # a trial taken by a process that then died: no more heartbeats
    dead.suggest_float("optim.lr", 1e-4, 1e-1, log=True)
    study._storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)
    optuna.storages.fail_stale_trials(study)  # what every process does before it starts a trial
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    assert study.trials[1].params == study.trials[0].params and study.trials[1].system_attrs["failed_trial"] == 0


def _draws(studies, rounds=3):
    """Each study in turn asks for a trial and samples SPACE (one process after another); the lr values."""
    lrs = []
    for _ in range(rounds):
        for study in studies:
            trial = study.ask()
            lrs.append(SPACE.suggest(trial)["optim.lr"])
            study.tell(trial, 0.5)
    return lrs


@pytest.mark.filterwarnings("ignore::UserWarning")  # Optuna: heartbeats are meant for optimize(), not ask()
def test_processes_that_open_a_study_together_draw_different_values_and_a_seed_repeats_its_draws(url, base, tmp_path):
    # Two processes started at once both see an empty study; seeded once per process (seed + trials
    # held), they drew the same values trial after trial through TPE's random start-up.
    together = _draws([_open(url, base, sampler="tpe"), _open(url, base, sampler="tpe")])
    assert len(set(together)) == len(together) == 6
    # One process, same seed: the same values under the same trial numbers; another seed: others.
    (tmp_path / "alone").mkdir(), (tmp_path / "other").mkdir()
    alone = _draws([_open(default_storage(tmp_path / "alone"), base, sampler="tpe")], rounds=6)
    assert alone == together
    other = _draws([_open(default_storage(tmp_path / "other"), base, sampler="tpe", seed=1)], rounds=6)
    assert not set(other) & set(together)


def test_a_negative_seed_is_a_config_error(url, base):
    with pytest.raises(ConfigError, match="--seed -1: the sampler's seed must be >= 0"):
        _open(url, base, seed=-1)


def _open_after(barrier, url: str, errors) -> None:
    barrier.wait()  # every process opens the new storage at the same moment
    try:
        open_storage(url)
    except ConfigError as exc:
        errors.put(str(exc))


def test_processes_opening_a_new_sqlite_storage_together_all_get_it(tmp_path):
    # Optuna creates missing tables by check-then-create: without the schema lock, one of four
    # processes opening a new file at once fails with "table ... already exists" (every time here).
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # the children inherit the imports
    url, barrier, errors = default_storage(tmp_path), ctx.Barrier(4), ctx.Queue()
    processes = [ctx.Process(target=_open_after, args=(barrier, url, errors)) for _ in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * 4
    assert errors.empty(), errors.get()
    assert (tmp_path / "study.db.lock").is_file()
