"""`dermkit train --resume`: clear messages for folders that cannot be resumed."""

from __future__ import annotations


def test_resume_with_config_is_a_usage_error(run_cli, tmp_path):
    (tmp_path / "run").mkdir()
    res = run_cli("train", "seg", "--resume", tmp_path / "run", "--config", "seg_default")
    assert res.code == 2 and "drop --config" in res.err


def test_resume_of_a_folder_that_is_no_run(run_cli, tmp_path):
    (tmp_path / "run").mkdir()
    res = run_cli("train", "seg", "--resume", tmp_path / "run")
    assert res.code == 2 and "not a dermkit run folder" in res.err and "--config RECIPE" in res.err
    res = run_cli("train", "seg", "--resume", tmp_path / "nowhere")
    assert res.code == 2 and "no such run folder" in res.err
