"""The model-cost benchmark: hand-counted MACs and parameters, a measured row, settings and errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from dermkit.bench import BENCHMARKS, BenchOptions
from dermkit.bench.latency import (
    QUICK,
    LatencySettings,
    build_case,
    count_macs,
    count_params,
    example_inputs,
    latency_table,
    measure_case,
    peak_memory_mb,
    recipe_cases,
    settings_from,
    weights_source,
)
from dermkit.errors import ConfigError

#: S2's DeepConvNet at its 28x28 recipe size: the smallest registered model
TINY = LatencySettings(batches=(1, 2), repeats=1, batch_repeats=1, warmup=0, memory=False, bf16=True)


@pytest.fixture(scope="module")
def tiny_case():
    return recipe_cases(["cls_s2_deepconvnet"])[0]


@pytest.mark.parametrize(
    ("conv", "side", "macs"),
    [
        (nn.Conv2d(3, 8, 3, padding=1), 16, 16 * 16 * 8 * (3 * 3 * 3)),  # out pixels x out ch x kernel volume
        (nn.Conv2d(3, 8, 3, stride=2, padding=1), 16, 8 * 8 * 8 * (3 * 3 * 3)),
        (nn.Conv2d(4, 4, 1, groups=4, bias=False), 10, 10 * 10 * 4 * 1),  # depthwise 1x1: one MAC per output
    ],
)
def test_macs_of_a_convolution_equal_the_hand_count(conv: nn.Conv2d, side: int, macs: int) -> None:
    assert count_macs(conv, (torch.rand(1, conv.in_channels, side, side),)) == macs


def test_macs_of_a_linear_layer_and_a_batch() -> None:
    assert count_macs(nn.Linear(10, 4), (torch.rand(3, 10),)) == 3 * 10 * 4


def test_params_are_the_sum_of_the_tensor_sizes(tiny_case) -> None:
    assert count_params(nn.Conv2d(3, 8, 3)) == 8 * 3 * 3 * 3 + 8
    model = build_case(tiny_case)
    assert count_params(model) == sum(p.numel() for p in model.parameters())


def test_a_measured_row_has_positive_figures(tiny_case) -> None:
    row = measure_case(tiny_case, TINY, threads=1)
    assert row["case"] == "cls_s2_deepconvnet" and row["size"] == "28x28" and row["weights"] == "none"
    for key in ("params_M", "GMACs", "ms_b1", "ms_b2", "bf16_ms_b2"):
        assert row[key] > 0, key
    model = build_case(tiny_case)
    assert row["params_M"] == count_params(model) / 1e6
    assert row["GMACs"] == count_macs(model, example_inputs(model, 1, (28, 28))) / 1e9
    assert "paper" not in row


def test_peak_memory_of_a_fresh_interpreter(tiny_case) -> None:
    """One subprocess (about 5 s: it imports dermkit's models): batch 16 needs at least batch 1's memory,
    and both at least the input batch itself."""
    peaks = peak_memory_mb(tiny_case, [1, 16], threads=1)
    assert set(peaks) == {1, 16}
    assert 0 < peaks[1] <= peaks[16]
    assert peaks[16] >= 16 * 3 * 28 * 28 * 4 / 2**20


def test_s5_rows_carry_the_papers_figures() -> None:
    case = replace(recipe_cases(["cls_s5_hybrid_densenet_offline"])[0], size=(64, 64))
    row = measure_case(case, replace(TINY, batches=(1,), bf16=False), threads=1)
    assert row["paper_params_M"] == 12.5 and row["paper_ms"] == 32.0
    assert "swapped" in row["paper"] and row["weights"] == "offline"


def test_weights_source_of_recipes() -> None:
    cases = {c.label: c for c in recipe_cases(["seg_default", "cls_s4_softattention_densenet201", "seg_s2_unet"])}
    assert weights_source(cases["seg_default"]) == "offline"
    assert weights_source(cases["cls_s4_softattention_densenet201"]) == "hub"
    assert weights_source(cases["seg_s2_unet"]) == "none"


def test_settings_from_options() -> None:
    assert settings_from(BenchOptions(quick=True)) == QUICK
    full = settings_from(BenchOptions(quick=False, extra={"batch": 8, "memory": False, "models": ["seg_default"]}))
    assert full.batches == (1, 8) and not full.memory and full.only == ("seg_default",)


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"batchsize": 8}, "unknown option"), ({"batch": 1}, "batch must be"), ({"repeats": 0}, "repeats must be")],
)
def test_bad_settings_are_config_errors(extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from(BenchOptions(extra=extra))


def test_an_unknown_model_is_named(tiny_case) -> None:
    with pytest.raises(ConfigError, match="unknown model.*no_such_model"):
        latency_table("t", [tiny_case], replace(TINY, only=("no_such_model",)))


def test_both_benchmarks_are_registered() -> None:
    assert BENCHMARKS.entry("latency").info["quick"] is True
    assert BENCHMARKS.entry("models").info["quick"] is False
