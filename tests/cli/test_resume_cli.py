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


def test_a_training_refused_by_its_data_check_exits_1(run_cli, synthetic_root, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    sorted((data / "HAM10000_images").glob("*.jpg"))[0].write_bytes(b"")
    res = run_cli(
        "train",
        "seg",
        "-c",
        "seg_s2_unet",
        "--data",
        data,
        "--out",
        tmp_path / "run",
        "train.epochs=1",
        "data.num_workers=0",
        "data.preprocess.size=[32,32]",
    )
    assert res.code == 1 and "data check found 1 problem" in res.err
