"""The data-pipeline benchmark: its table at a tiny size, and the cache it switches on and off."""

from __future__ import annotations

import math

import pytest

from dermkit.bench import BENCHMARKS, BenchOptions
from dermkit.bench.pipeline import CACHE_STATES, data_pipeline, prepare_recipe
from dermkit.errors import ConfigError

TINY = ["model.name=deepconvnet_s2", "model.kwargs={input_size: [32, 32]}", "data.preprocess.size=[32, 32]"]


def tiny(root, **extra) -> BenchOptions:
    settings = {"data": str(root), "overrides": [*TINY, "train.batch_size=8"], "images": 16, "model_steps": 1}
    return BenchOptions(quick=True, threads=1, extra={**settings, **extra})


def test_registered_as_a_quick_benchmark():
    assert BENCHMARKS.entry("pipeline").info["quick"] is True
    assert BENCHMARKS.get("pipeline") is data_pipeline


def test_one_row_per_workers_and_cache_state(synthetic_root):
    table = data_pipeline(tiny(synthetic_root, workers=[0, 1]))
    assert [(r["workers"], r["cache"]) for r in table.rows] == [(w, c) for w in (0, 1) for c in CACHE_STATES]
    model = {r["model img/s"] for r in table.rows}
    assert len(model) == 1 and next(iter(model)) > 0
    for row in table.rows:
        assert row["images"] == 16 and row["loader img/s"] > 0 and math.isfinite(row["loader img/s"])
        assert row["loader / model"] == pytest.approx(row["loader img/s"] / row["model img/s"])
        assert row["epoch img/s (est.)"] <= min(row["loader img/s"], row["model img/s"]) * (1 + 1e-9)
        if row["workers"] == 0:
            assert row["model starves"] == "serial"
        else:
            assert row["model starves"] == ("yes" if row["loader img/s"] < row["model img/s"] else "no")


def test_the_cache_is_where_the_pass_says(synthetic_root, tmp_path):
    recipe = prepare_recipe("cls_default", synthetic_root, tmp_path / "run", tiny(synthetic_root))
    assert recipe.train_set(None).cache is None
    cached = recipe.train_set(tmp_path / "cache")
    cached[0]
    assert list((tmp_path / "cache").rglob("*.png"))  # the first read wrote its preprocessed image
    assert recipe.task.cfg.data.cache_dir is None  # the prepared task itself keeps the cache off
    assert len(cached) == len(recipe.data.indices("train")) == 70  # no validation or test side


@pytest.mark.parametrize(("setting", "message"), [({"workers": [0, -1]}, "workers=-1"), ({"image": 3}, "['image']")])
def test_bad_settings_are_config_errors(synthetic_root, setting, message):
    with pytest.raises(ConfigError, match=message):
        data_pipeline(tiny(synthetic_root, **setting))
