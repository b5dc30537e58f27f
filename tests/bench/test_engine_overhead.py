"""The engine-overhead benchmark: its table at a tiny size, and what it compares (same weights, same batches)."""

from __future__ import annotations

import math

import pytest
import torch

from dermkit.bench import BENCHMARKS, BenchOptions
from dermkit.bench.engine import (
    BARE,
    BARE_CONTIGUOUS,
    TRAINER,
    TimedTrainer,
    case_config,
    engine_overhead,
    trainer_loop,
)
from dermkit.errors import ConfigError

#: S2's DeepConvNet at 32x32 in place of the default classifier: a second or two per benchmark run.
TINY = ["model.name=deepconvnet_s2", "model.kwargs={input_size: [32, 32]}", "data.preprocess.size=[32, 32]"]


def tiny(root, **extra) -> BenchOptions:
    settings = {"data": str(root), "overrides": [*TINY, "train.batch_size=8"], "batches": 2, "epochs": 2}
    return BenchOptions(quick=True, threads=1, extra={**settings, **extra})


def test_registered_as_a_quick_benchmark():
    assert BENCHMARKS.entry("engine").info["quick"] is True
    assert BENCHMARKS.get("engine") is engine_overhead


def test_table_has_positive_rates_and_the_ratio(synthetic_root):
    table = engine_overhead(tiny(synthetic_root))
    (row,) = table.rows
    assert row["model"] == "deepconvnet_s2" and row["input"] == "32x32" and row["batch"] == 8
    assert row["epochs x images"] == "2 x 16"  # warm-up epoch dropped; 2 batches of 8
    for key in ("Trainer img/s", "bare loop img/s", "bare contiguous img/s"):
        assert row[key] > 0 and math.isfinite(row[key])
    assert 0.05 < row["ratio"] < 20 and 0.05 < row["ratio (CPU time)"] < 20
    low, high = (float(v) for v in row["ratio range"].split("-"))
    assert low <= row["ratio"] <= high
    assert "aim >= 0.95" in table.markdown()


def test_without_channels_last_there_is_one_bare_loop(synthetic_root):
    opts = tiny(synthetic_root, epochs=1, overrides=[*TINY, "train.batch_size=8", "train.channels_last=false"])
    (row,) = engine_overhead(opts).rows
    assert "bare contiguous img/s" not in row and row["bare loop img/s"] > 0


def test_every_variant_trains_its_own_model_every_epoch(synthetic_root, tmp_path):
    cfg = case_config("cls_default", synthetic_root, tiny(synthetic_root))
    trainer = TimedTrainer(cfg, tmp_path / "run")
    seen = []
    trainer.tick = lambda: seen.append(len(trainer.seconds))
    trainer.fit()
    assert set(trainer.seconds) == {TRAINER, BARE, BARE_CONTIGUOUS}
    assert all(len(v) == cfg.train.epochs for v in [*trainer.seconds.values(), *trainer.cpu_seconds.values()])
    assert trainer.images == [16] * cfg.train.epochs and len(seen) == 3 * cfg.train.epochs
    for loop in trainer.loops.values():  # each trained its own copy, away from the start and from the Trainer's
        assert loop.model is not trainer.model
        weight = next(k for k, v in loop.model.state_dict().items() if v.dim() == 4)
        assert not torch.equal(loop.model.state_dict()[weight], trainer.model.state_dict()[weight])
    assert trainer.loops[BARE_CONTIGUOUS].memory_format == torch.contiguous_format


def test_the_copies_start_from_the_trainers_weights(synthetic_root, tmp_path):
    import contextlib

    cfg = case_config("cls_default", synthetic_root, tiny(synthetic_root))
    trainer = TimedTrainer(cfg, tmp_path / "run")
    with contextlib.ExitStack() as stack:
        trainer._begin(stack)
        loop = trainer_loop(trainer, torch.contiguous_format)
        for (name, a), b in zip(trainer.model.state_dict().items(), loop.model.state_dict().values(), strict=True):
            assert torch.equal(a, b), name
        conv = next(p for p in loop.model.parameters() if p.dim() == 4)
        assert conv.is_contiguous()
        assert next(p for p in trainer.model.parameters() if p.dim() == 4).is_contiguous(
            memory_format=torch.channels_last
        )


def test_a_missing_data_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        engine_overhead(tiny(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"batches": 0}, "batches=0"), ({"epochs": "2"}, "epochs='2'"), ({"synthetic_images": 5, "data": None}, ">= 14")],
)
def test_bad_settings_are_config_errors(synthetic_root, setting, message):
    with pytest.raises(ConfigError, match=message):
        engine_overhead(tiny(synthetic_root, **setting))
