"""A run folder survives careless use: Ctrl-C, two trainings at once, resumes with other settings or data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from test_trainer import assert_same_run, tiny_config

from dermkit.checkpoint import load_checkpoint
from dermkit.engine import trainer as trainer_module
from dermkit.engine.rundir import LOCK_FILE, RunLock, RunLocked
from dermkit.engine.trainer import fit
from dermkit.errors import ConfigError, DataError, DermkitError


def _interrupt_after(monkeypatch, steps: int) -> None:
    """Deliver a Ctrl-C (SIGINT to this process) right after the ``steps``-th optimiser step."""
    real_step = trainer_module.Trainer._step
    calls = {"n": 0}

    def step(self, *args):
        out = real_step(self, *args)
        calls["n"] += 1
        if calls["n"] == steps:
            os.kill(os.getpid(), __import__("signal").SIGINT)
        return out

    monkeypatch.setattr(trainer_module.Trainer, "_step", step)


def test_ctrl_c_saves_the_last_finished_step_and_resume_is_exact(synthetic_root, tmp_path, monkeypatch):
    full = tmp_path / "full"
    fit(tiny_config(synthetic_root), full, progress=False)
    stopped = tmp_path / "stopped"
    with monkeypatch.context() as m:
        _interrupt_after(m, steps=8)  # part-way through epoch 2
        with pytest.raises(KeyboardInterrupt):
            fit(tiny_config(synthetic_root), stopped, progress=False)
    loop = load_checkpoint(stopped / "checkpoints" / "last.pt").training.loop
    assert loop["step"] == 8 and loop["epoch"] == 1 and loop["batch"] > 0  # saved mid-epoch, after step 8
    assert not (stopped / LOCK_FILE).exists()  # the lock is released on the way out
    fit(tiny_config(synthetic_root), stopped, resume=True, progress=False)
    assert_same_run(
        load_checkpoint(full / "checkpoints" / "last.pt"), load_checkpoint(stopped / "checkpoints" / "last.pt")
    )


def test_a_second_training_into_a_locked_run_folder_is_refused(synthetic_root, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with RunLock(run):
        with pytest.raises(RunLocked, match=rf"in use by process {os.getpid()}.*choose another --out"):
            fit(tiny_config(synthetic_root, "train.epochs=1"), run, progress=False)
    assert not (run / "train.log").exists() and not (run / "config.yaml").exists()  # nothing of it was touched


def test_a_stale_lock_of_a_dead_process_is_named_and_taken_over(synthetic_root, tmp_path, caplog):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": os.uname().nodename, "started": "earlier"}))
    with caplog.at_level("WARNING", logger="dermkit.engine"):
        fit(tiny_config(synthetic_root, "train.epochs=1"), run, progress=False)
    assert f"stale lock of process {pid}" in caplog.text
    assert (run / "checkpoints" / "best.pt").exists() and not (run / LOCK_FILE).exists()


@pytest.fixture()
def finished_run(synthetic_root, tmp_path):
    run = tmp_path / "run"
    fit(tiny_config(synthetic_root, "train.epochs=1"), run, progress=False)
    return run


def _record(run):
    return {
        name: (run / name).read_bytes()
        for name in ("config.yaml", "split.csv", "data_fingerprint.json", "environment.json", "checkpoints/last.pt")
    }


def test_resume_with_another_model_setting_is_refused_before_anything_is_written(synthetic_root, finished_run):
    before = _record(finished_run)
    with pytest.raises(ConfigError, match=r"(?s)model.kwargs.base_filters: 4 -> 8.*Drop those overrides"):
        fit(
            tiny_config(synthetic_root, "train.epochs=1", "model.kwargs.base_filters=8"),
            finished_run,
            resume=True,
            progress=False,
        )
    assert _record(finished_run) == before
    # still resumable as it was (one more epoch is not a change of what was trained: the epochs differ, refused too)
    with pytest.raises(ConfigError, match="train.epochs: 1 -> 2"):
        fit(tiny_config(synthetic_root, "train.epochs=2"), finished_run, resume=True, progress=False)
    fit(tiny_config(synthetic_root, "train.epochs=1", "data.num_workers=0"), finished_run, resume=True, progress=False)


def test_resume_on_other_data_is_refused_naming_the_difference(synthetic_root, finished_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(synthetic_root, other)
    with pytest.raises(ConfigError, match="data.path"):  # `--data OTHER` changes a config key
        fit(tiny_config(other, "train.epochs=1"), finished_run, resume=True, progress=False)


def test_resume_on_changed_files_is_refused_before_anything_is_written(synthetic_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    run = tmp_path / "run"
    fit(tiny_config(data, "train.epochs=1"), run, progress=False)
    victim = sorted((data / "HAM10000_images").glob("*.jpg"))[0]
    victim.unlink()
    before = _record(run)
    with pytest.raises(DataError, match=rf"(?s)not the data this run was trained on.*1 images are gone.*{victim.stem}"):
        fit(tiny_config(data, "train.epochs=1"), run, resume=True, progress=False)
    assert _record(run) == before


def test_recipe_errors_come_before_any_run_folder(synthetic_root, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match="unknown model 'unet_s3'.*Did you mean 'unet_s2'"):
        fit(tiny_config(synthetic_root, "model.name=unet_s3"), run, progress=False)
    with pytest.raises(ConfigError, match="unknown loss 'dcie'.*Did you mean 'dice'"):
        fit(tiny_config(synthetic_root, "loss.name=dcie"), run, progress=False)
    with pytest.raises(ConfigError, match="cross_entropy.*classification loss"):
        fit(tiny_config(synthetic_root, "loss.name=cross_entropy"), run, progress=False)
    with pytest.raises(ConfigError, match="unet_s2"):  # stride 16: 36x36 cannot go through the encoder
        fit(tiny_config(synthetic_root, "data.preprocess.size=[36, 36]"), run, progress=False)
    assert not run.exists()


def test_resume_refuses_a_checkpoint_of_another_run(synthetic_root, tmp_path):
    seg = tmp_path / "seg"
    fit(tiny_config(synthetic_root, "train.epochs=1"), seg, progress=False)
    other = tmp_path / "other"
    fit(tiny_config(synthetic_root, "train.epochs=1", "train.seed=5"), other, progress=False)
    shutil.copy(other / "checkpoints" / "last.pt", seg / "checkpoints" / "last.pt")
    before = _record(seg)
    with pytest.raises(DermkitError, match=r"(?s)configured otherwise than config.yaml.*train.seed: 5 -> 0"):
        fit(tiny_config(synthetic_root, "train.epochs=1"), seg, resume=True, progress=False)
    assert _record(seg) == before


def test_resume_keeps_the_first_environment_and_appends_each_resume(synthetic_root, finished_run):
    first = json.loads((finished_run / "environment.json").read_text())
    fit(tiny_config(synthetic_root, "train.epochs=1"), finished_run, resume=True, progress=False)
    env = json.loads((finished_run / "environment.json").read_text())
    assert env["started"] == first["started"] and env["argv"] == first["argv"] and len(env["resumes"]) == 1


def test_training_into_a_users_non_empty_folder_is_refused(synthetic_root, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("precious")
    with pytest.raises(DermkitError, match=r"is not empty \(config.yaml\) and is not a dermkit run folder"):
        fit(tiny_config(synthetic_root, "train.epochs=1"), mine, progress=False)
    assert (mine / "config.yaml").read_text() == "precious" and sorted(os.listdir(mine)) == ["config.yaml"]


def test_a_focus_run_that_is_not_a_segmentation_run_fails_before_any_data(synthetic_root, finished_run, tmp_path):
    from test_classification_training import cls_config

    cls = tmp_path / "cls"
    fit(
        cls_config(synthetic_root, "model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]", "train.epochs=1"),
        cls,
        progress=False,
    )
    run = tmp_path / "focus"
    for bad, reason in ((cls, "holds a classification run"), (tmp_path / "nowhere", "no .*best.pt")):
        with pytest.raises(ConfigError, match=reason):
            fit(
                cls_config(
                    synthetic_root,
                    "model.name=deepconvnet_s2",
                    "model.kwargs.input_size=[32, 32]",
                    f"data.focus.run={bad}",
                ),
                run,
                progress=False,
            )
    assert not run.exists()


def test_run_config_records_absolute_data_paths(synthetic_root, tmp_path, monkeypatch):
    monkeypatch.chdir(synthetic_root.parent)
    cfg = tiny_config(synthetic_root.name, "train.epochs=1")
    assert cfg.data.path == str(synthetic_root)
    run = tmp_path / "run"
    fit(cfg, run, progress=False)
    monkeypatch.chdir(tmp_path)  # resume from another folder: the recorded path still holds
    from dermkit.config import load_config

    assert load_config(run / "config.yaml").data.path == str(synthetic_root)
    fit(load_config(run / "config.yaml"), run, resume=True, progress=False)


def test_a_run_that_cannot_start_leaves_no_folder_behind(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(DataError, match="does not exist"):
        fit(tiny_config(tmp_path / "no-such-data", "train.epochs=1"), run, progress=False)
    assert not run.exists()


def test_a_failed_data_check_keeps_its_report_in_the_run_folder(synthetic_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    sorted((data / "HAM10000_images").glob("*.jpg"))[0].write_bytes(b"")
    with pytest.raises(DataError, match="data check found 1 problem"):
        fit(tiny_config(data, "train.epochs=1"), tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "data_check.md").exists()


def test_fit_over_a_finished_run_is_refused_without_resume(synthetic_root, finished_run):
    before = _record(finished_run)
    with pytest.raises(DermkitError, match="already holds a run; resume it"):
        fit(tiny_config(synthetic_root, "train.epochs=1"), finished_run, progress=False)
    assert _record(finished_run) == before


def test_resume_refuses_a_different_split(synthetic_root, finished_run):
    split = (finished_run / "split.csv").read_text().splitlines()
    first = split[1].split(",")
    first[-1] = "test" if first[-1] != "test" else "train"  # one image moved to another side
    (finished_run / "split.csv").write_text("\n".join([split[0], ",".join(first), *split[2:]]) + "\n")
    with pytest.raises(DataError, match=rf"other sides than the run was trained with \(e.g. {first[0]}"):
        fit(tiny_config(synthetic_root, "train.epochs=1"), finished_run, resume=True, progress=False)


def test_a_second_ctrl_c_saves_nothing_half_done(synthetic_root, tmp_path, monkeypatch):
    real_step = trainer_module.Trainer._step
    calls = {"n": 0}

    def step(self, *args):
        calls["n"] += 1
        if calls["n"] == 8:  # a hard interrupt in the middle of epoch 2's steps
            raise trainer_module.HardInterrupt
        return real_step(self, *args)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_config(synthetic_root), run, progress=False)
    loop = load_checkpoint(run / "checkpoints" / "last.pt").training.loop
    assert (loop["epoch"], loop["batch"]) == (1, 0)  # the end of epoch 1, saved before: nothing half-done


def test_loss_options_are_checked_before_any_data(synthetic_root, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match="bce_dice.*unsupported option"):
        fit(tiny_config(synthetic_root, "loss.kwargs.no_such_option=1"), run, progress=False)
    with pytest.raises(ConfigError, match="unsupported argument"):
        fit(tiny_config(synthetic_root, "data.preprocess.size=null", "model.kwargs.no_such=1"), run, progress=False)
    assert not run.exists()


def test_a_users_folder_with_a_stray_lock_file_is_still_refused(synthetic_root, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text("precious")
    (mine / LOCK_FILE).write_text("{}")  # left by a killed process, or anyone
    with pytest.raises(DermkitError):
        fit(tiny_config(synthetic_root, "train.epochs=1"), mine, progress=False)
    assert (mine / "metrics.json").read_text() == "precious"


def test_the_lock_of_a_killed_process_is_taken_over_and_a_live_one_refused(tmp_path, caplog):
    import signal
    import time

    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from dermkit.engine.rundir import RunLock;"
            f"RunLock(Path({str(run)!r})).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=f"in use by process {holder.pid}"):
            RunLock(run).acquire()
        holder.send_signal(signal.SIGKILL)  # dies without releasing: the lock file stays
        holder.wait(timeout=10)
        time.sleep(0.1)
        assert (run / LOCK_FILE).exists()
        with caplog.at_level("WARNING", logger="dermkit.engine"), RunLock(run):
            pass
        assert f"stale lock of process {holder.pid}" in caplog.text
    finally:
        holder.kill()
