"""`evaluate --side test|val` scores a run's own split only on the data it was split from."""

from __future__ import annotations

import shutil

from PIL import Image


def test_side_on_changed_data_is_refused(run_cli, synthetic_root, tmp_path):
    run = tmp_path / "run"
    res = run_cli(
        "train",
        "seg",
        "-c",
        "seg_s2_unet",
        "--data",
        synthetic_root,
        "--out",
        run,
        "train.epochs=1",
        "train.max_batches_per_epoch=1",
        "data.num_workers=0",
        "data.preprocess.size=[32,32]",
    )
    assert res.code == 0, res.err
    same = run_cli(
        "evaluate", "seg", "--run", run, "--data", synthetic_root, "--side", "test", "--out", tmp_path / "e1"
    )
    assert same.code == 0, same.err
    changed = tmp_path / "changed"
    shutil.copytree(synthetic_root, changed)
    mask = sorted((changed / "HAM10000_segmentations_lesion_tschandl").glob("*.png"))[0]
    Image.new("L", Image.open(mask).size, 255).save(mask)  # same id, other mask
    res = run_cli("evaluate", "seg", "--run", run, "--data", changed, "--side", "test", "--out", tmp_path / "e2")
    assert res.code == 1 and "not the data" in res.err and "--side all" in res.err
