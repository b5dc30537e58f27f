"""`dermkit tune` end to end on tiny synthetic runs: pruning, the best recipe, a second process on the
same storage, resume after Ctrl-C, refusals before any trial, and the trainer's epoch hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState

from dermkit.config import load_config

RECIPE = """\
task: classification
model: {name: deepconvnet_s2, kwargs: {input_size: [32, 32]}}
loss: {name: cross_entropy}
data: {num_workers: 0, cache_dir: null, preprocess: {size: [32, 32]}}
train: {epochs: 2, batch_size: 16, monitor: val_loss}
"""
# A wide learning-rate range makes the validation loss differ clearly between trials after one
# epoch, so the median pruner (after 2 completed trials) stops the trailing ones.
SPACE = """\
optim.lr: {type: float, low: 1.0e-5, high: 3.0e-2, log: true}
optim.weight_decay: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}
"""
STUDY = "tiny-space"  # <recipe file name>-<space file name>


@pytest.fixture
def tune_args(tmp_path, synthetic_root) -> list:
    (tmp_path / "tiny.yaml").write_text(RECIPE)
    (tmp_path / "space.yaml").write_text(SPACE)
    return [
        "tune",
        "--config",
        tmp_path / "tiny.yaml",
        "--space",
        tmp_path / "space.yaml",
        "--data",
        synthetic_root,
        "--out",
        tmp_path / "out",
        "--sampler",
        "random",
        "--startup-trials",
        "2",
    ]


def _study(out: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{out}/study.db")


def _trial_record(out: Path, number: int) -> dict:
    return json.loads((out / "trials" / f"trial_{number:04d}" / "trial.json").read_text())


@pytest.mark.slow
def test_ten_trials_prune_write_the_best_recipe_and_a_second_process_shares_the_study(run_cli, tune_args, tmp_path):
    out = tmp_path / "out"
    res = run_cli(*tune_args, "--trials", 10)
    assert res.code == 0, res.err
    study = _study(out)
    states = [t.state for t in study.trials]
    assert len(states) == 10 and TrialState.PRUNED in states and states.count(TrialState.COMPLETE) >= 2
    for t in study.trials:  # each trial is an ordinary run folder trained with the trial's values
        run = out / "trials" / f"trial_{t.number:04d}"
        assert _trial_record(out, t.number)["params"] == t.params
        assert load_config(run / "config.yaml").optim.lr == t.params["optim.lr"]
        if t.state == TrialState.PRUNED:  # stopped after its first epoch, resumable like any run
            assert list(t.intermediate_values) == [1] and (run / "checkpoints" / "last.pt").is_file()
            assert not (run / "final_metrics.json").exists()
        else:
            assert list(t.intermediate_values) == [1, 2]
            assert json.loads((run / "final_metrics.json").read_text())["best_value"] == t.value
    best = study.best_trial
    recipe = load_config(out / "best_recipe.yaml")
    assert recipe.optim.lr == best.params["optim.lr"] and recipe.optim.weight_decay == best.params["optim.weight_decay"]
    assert recipe.model.name == "deepconvnet_s2" and recipe.train.epochs == 2
    assert f"best: trial {best.number}, val_loss = " in res.out
    summary = pd.read_csv(out / "summary.csv")
    assert summary["trial"].tolist() == list(range(10)) and "pruned" in set(summary["state"])
    for name in ("history.png", "intermediate.png", "parallel_coordinate.png", "importance.png"):
        assert (out / name).stat().st_size > 1000

    # A second PROCESS joins the study (target 14) while this one runs too: they share the storage.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    second = subprocess.Popen(
        [sys.executable, "-m", "dermkit", *map(str, tune_args), "--trials", "14"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while len(_study(out).trials) == 10 and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.3)  # until the second process has taken its first trial
    res = run_cli(*tune_args, "--trials", 14)
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0 and res.code == 0, stderr + res.err
    trials = _study(out).trials
    assert [t.number for t in trials] == list(range(len(trials)))  # numbered by the storage: no collisions
    assert 14 <= len(trials) <= 15 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    pids = [_trial_record(out, t.number)["process"].split(":")[1] for t in trials[10:]]
    assert str(second.pid) in pids and str(os.getpid()) in pids
    # each process counts the trials it trained itself, not those the other added meanwhile
    assert f"({pids.count(str(second.pid))} trials run by this process)" in stdout
    assert f"({pids.count(str(os.getpid()))} trials run by this process)" in res.out
    assert "best: trial" in stdout


def test_resume_after_ctrl_c_runs_the_interrupted_trials_values_again(run_cli, tune_args, tmp_path, monkeypatch):
    from dermkit.engine.trainer import Trainer

    out = tmp_path / "out"
    args = [*tune_args, "--trials", 2, "--pruner", "none", "train.epochs=1"]
    real_step = Trainer._step

    def interrupted_in_trial_1(self, *a, **k):
        if self.run_dir.name == "trial_0001":
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(Trainer, "_step", interrupted_in_trial_1)
    res = run_cli(*args)
    assert res.code == 130 and "run the same command again to resume the study" in res.err
    first = _study(out).trials
    assert [t.state for t in first] == [TrialState.COMPLETE, TrialState.FAIL]
    assert first[1].user_attrs["interrupted"] is True
    assert (out / "trials" / "trial_0001" / "checkpoints" / "last.pt").is_file()  # saved by the trainer
    assert _trial_record(out, 1)["outcome"] == "interrupted"
    assert pd.read_csv(out / "summary.csv")["state"].tolist() == ["complete", "interrupted"]

    monkeypatch.setattr(Trainer, "_step", real_step)
    res = run_cli(*args)
    assert res.code == 0, res.err
    assert "interrupted trials 1: their parameters run again first" in res.out
    trials = _study(out).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert trials[2].user_attrs["retry_of"] == 1 and trials[2].params == trials[1].params
    assert (out / "trials" / "trial_0002" / "final_metrics.json").is_file()

    res = run_cli(*args)  # the target is reached: nothing more runs
    assert res.code == 0 and f"study '{STUDY}' already has 2 finished trials (target 2)" in res.out
    assert len(_study(out).trials) == 3


def test_n_jobs_runs_trials_side_by_side_in_one_process(run_cli, tune_args, tmp_path):
    out = tmp_path / "out"
    res = run_cli(*tune_args, "--trials", 2, "--n-jobs", 2, "--pruner", "none", "train.epochs=1")
    assert res.code == 0, res.err
    trials = _study(out).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all((out / "trials" / f"trial_{t.number:04d}" / "final_metrics.json").is_file() for t in trials)


@pytest.mark.parametrize(
    ("space", "extra", "expected"),
    [
        (
            "train.lr: {type: float, low: 1.0e-4, high: 1.0e-2}\n",
            [],
            "train.lr is not a recipe key. Did you mean optim.lr?",
        ),
        ("optim.lr: {type: float, low: 0.1, high: 0.01}\n", [], "optim.lr: low (0.1) must be below high (0.01)"),
        ("optim.lr: {type: loguniform, low: 0.1, high: 1}\n", [], "optim.lr: give a mapping with type float, int"),
        ("model.kwargs.widths: {type: categorical, choices: [[4]]}\n", [], "unexpected keyword argument 'widths'"),
        ("[optim.lr]\n", [], "a search space is a non-empty mapping"),
        (SPACE, ["--sampler", "grid"], "unknown sampler 'grid'"),
        (SPACE, ["--storage", "notaurl"], "--storage notaurl: Optuna cannot open it"),
        (SPACE, ["data.split.val=0"], "tuning selects on the validation metric (val_loss)"),
    ],
)
def test_bad_input_exits_2_with_a_specific_message_before_any_trial(
    run_cli, tune_args, tmp_path, space, extra, expected
):
    (tmp_path / "space.yaml").write_text(space)
    res = run_cli(*tune_args, "--trials", 2, *extra)
    assert res.code == 2 and expected in res.err, res.err
    assert "Traceback" not in res.err
    assert not (tmp_path / "out" / "trials").exists()


def test_an_output_folder_belongs_to_one_study(run_cli, tune_args, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".dermkit-tune").touch()
    (out / "tune.json").write_text(json.dumps({"study": "another"}))
    res = run_cli(*tune_args, "--trials", 1)
    assert res.code == 2 and f"{out} holds the trials of study 'another'" in res.err


def test_the_trainer_calls_its_epoch_hook_after_saving_and_an_exception_stops_it(synthetic_root, tmp_path):
    from dermkit.engine.trainer import Trainer

    cfg = load_config(None, [f"data.path={synthetic_root}"], base=yaml.safe_load(RECIPE))
    run = tmp_path / "run"
    seen = []

    class Stop(Exception):
        pass

    def hook(metrics):
        seen.append(metrics)
        assert (run / "checkpoints" / "last.pt").is_file() and len(json.loads((run / "metrics.json").read_text())) == 1
        raise Stop

    with pytest.raises(Stop):
        Trainer(cfg, run, progress=False, on_epoch_end=hook).fit()
    assert [m["epoch"] for m in seen] == [1] and "val_loss" in seen[0]
    assert not (run / "final_metrics.json").exists()
    final = Trainer(cfg, run, resume=True, progress=False).fit()  # the stopped run resumes like any other
    assert final["epochs_run"] == 2
