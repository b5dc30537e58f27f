"""Exit codes reach the shell: 0 success, 1 problems found, 2 usage or domain errors, 130 Ctrl-C."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def dermkit_process(*args, cwd=None) -> subprocess.CompletedProcess:
    """The real command, in its own process, so the exit code is the one a shell sees."""
    return subprocess.run(
        [sys.executable, "-m", "dermkit", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def write_image(path, value=120, size=(24, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-command"], "No such command"),
        (["data", "split"], "Missing argument"),
        (["preprocess", "a", "b", "--size"], "requires an argument"),
        (["evaluate", "cls", "--run", "r", "--data", "d", "--n-boot", "many"], "Invalid value for '--n-boot'"),
    ],
)
def test_usage_errors_print_typers_message_and_exit_2(args, message):
    proc = dermkit_process(*args)
    assert proc.returncode == 2, proc.stderr  # a traceback and exit code 1 before
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_problems_found_exit_1_through_the_real_entry_point(tmp_path):
    write_image(tmp_path / "src" / "good.jpg")
    (tmp_path / "src" / "empty.jpg").write_bytes(b"")
    proc = dermkit_process("preprocess", tmp_path / "src", tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # exited 0 before: main() dropped typer.Exit(1)
    assert "1 files could not be read" in proc.stdout and (tmp_path / "out" / "good.png").exists()


def test_success_exits_0(tmp_path):
    write_image(tmp_path / "src" / "good.jpg")
    proc = dermkit_process("preprocess", tmp_path / "src", tmp_path / "out")
    assert proc.returncode == 0 and proc.stderr.count("error") == 0


def test_domain_error_exits_2_with_one_error_line(run_cli, tmp_path):
    res = run_cli("preprocess", tmp_path / "missing", tmp_path / "out")
    assert res.code == 2
    assert res.err.startswith("error:") and str(tmp_path / "missing") in res.err and "Traceback" not in res.err


def test_segment_with_unreadable_images_exits_1(run_cli, fake_segmenter, tmp_path):
    write_image(tmp_path / "img" / "a.jpg")
    (tmp_path / "img" / "b.jpg").write_bytes(b"not an image")
    res = run_cli("segment", tmp_path / "run", tmp_path / "img", "--out", tmp_path / "masks")
    assert res.code == 1
    assert "wrote 1 masks" in res.out and [p.name for p in (tmp_path / "masks").iterdir()] == ["a_segmentation.png"]


def test_ctrl_c_in_training_exits_130_saying_how_to_resume(run_cli, monkeypatch, tmp_path):
    import dermkit.engine.trainer as trainer

    def interrupted_fit(self):
        (self.run_dir / "checkpoints").mkdir(parents=True)
        (self.run_dir / "checkpoints" / "last.pt").write_bytes(b"")  # the trainer saves last.pt, then re-raises
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "fit", interrupted_fit)
    run = tmp_path / "run"
    res = run_cli("train", "seg", "-c", "seg_default", "--out", run, "train.epochs=1")
    assert res.code == 130
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and f"dermkit train seg --resume {run}" in lines[0], res.err


def test_ctrl_c_before_the_first_checkpoint_says_there_is_nothing_to_resume(run_cli, monkeypatch, tmp_path):
    import dermkit.engine.trainer as trainer

    def interrupted_fit(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "fit", interrupted_fit)
    res = run_cli("train", "cls", "-c", "cls_default", "--out", tmp_path / "run")
    assert res.code == 130 and "nothing to resume" in res.err and "--resume" not in res.err


def test_ctrl_c_anywhere_exits_130_with_one_line(run_cli, monkeypatch, tmp_path):
    import dermkit.preprocess.pipeline as pipeline

    def interrupted(image, config):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "preprocess", interrupted)
    write_image(tmp_path / "src" / "a.jpg")
    res = run_cli("preprocess", tmp_path / "src", tmp_path / "out")
    assert res.code == 130
    assert res.err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in res.err
