"""LesionDataset: items, the one normaliser, and a preprocessing cache that never serves stale files."""

from __future__ import annotations

import os
import shutil

import numpy as np
from PIL import Image

from dermkit.data.dataset import LesionDataset
from dermkit.data.readers import load_table
from dermkit.preprocess.normalize import to_model_input
from dermkit.preprocess.pipeline import PreprocessConfig


def _copy(synthetic_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    return load_table(data)


def test_fixed_mask_is_read_again_not_served_from_the_cache(synthetic_root, tmp_path):
    table = _copy(synthetic_root, tmp_path)
    cfg = PreprocessConfig(size=(32, 32))
    ds = LesionDataset(table, [0], preprocess_config=cfg, cache_dir=tmp_path / "cache")
    first = ds[0]["mask"].numpy()
    mask_path = table.records["mask_path"].iloc[0]
    stat = os.stat(mask_path)
    fixed = np.zeros((64, 64), np.uint8)
    fixed[10:20, 10:20] = 255  # the user fixes the mask
    Image.fromarray(fixed).save(mask_path)
    os.utime(mask_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = LesionDataset(table, [0], preprocess_config=cfg, cache_dir=tmp_path / "cache")[0]["mask"].numpy()
    assert not np.array_equal(first, again)
    assert again.sum() == (np.asarray(Image.fromarray(fixed).resize((32, 32), Image.NEAREST)) > 0).sum()


def test_cache_hit_gives_the_same_item(synthetic_root, tmp_path):
    table = load_table(synthetic_root)
    cfg = PreprocessConfig(size=(32, 32))
    cold = LesionDataset(table, [1], preprocess_config=cfg, cache_dir=tmp_path / "cache")[0]
    warm = LesionDataset(table, [1], preprocess_config=cfg, cache_dir=tmp_path / "cache")[0]
    for key in ("image", "mask", "label", "meta"):
        assert np.array_equal(cold[key].numpy(), warm[key].numpy()), key


def test_items_use_the_one_normaliser(synthetic_root):
    table = load_table(synthetic_root)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    ds = LesionDataset(table, [2], preprocess_config=PreprocessConfig(size=(32, 32)), normalize=(mean, std))
    image, _ = ds.load(2)
    np.testing.assert_array_equal(ds[0]["image"].numpy(), to_model_input(image, mean, std))
    grey = LesionDataset(table, [2], preprocess_config=PreprocessConfig(size=(32, 32)), normalize=((0.5,), (0.5,)))
    assert grey[0]["image"].shape == (1, 32, 32)
