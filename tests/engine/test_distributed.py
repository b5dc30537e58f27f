"""Several processes under torchrun (gloo on the CPU) train what one process trains.

The model of the end-to-end tests (S2's DeepConvNet) has neither BatchNorm nor dropout and the loss is an
unweighted mean, so two processes with the same global batch must give one process's numbers up to
floating-point summation order: the tolerance is 1e-5 relative. (A BatchNorm model normalises each
process's slice with its own statistics, as DDP does on CPUs without SyncBatchNorm, and agrees less
closely; the docs say so.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dermkit.engine.distributed import DistributedContext, launched_by_torchrun, run_on_main, run_on_main_first
from dermkit.engine.precision import resolve_precision
from dermkit.errors import ConfigError

HERE = Path(__file__).parent

RECIPE = """\
task: classification
recipe: tiny-ddp
data: {num_workers: 0, cache_dir: null, preprocess: {size: [32, 32]}}
model: {name: deepconvnet_s2, kwargs: {input_size: [32, 32]}}
loss: {name: cross_entropy}
imbalance: {class_weights: none}
train: {batch_size: 16, epochs: 2}
"""


# -- the pieces, in one process --------------------------------------------------------------------
def test_each_rank_takes_a_strided_slice_and_the_slices_cover_the_batch():
    batch = list(range(7))
    ranks = [DistributedContext(rank=r, world_size=2) for r in (0, 1)]
    assert [ctx.shard(batch) for ctx in ranks] == [[0, 2, 4, 6], [1, 3, 5]]
    # the weights make DDP's average of slice means the batch mean: (4/7 * 2, 3/7 * 2)
    assert [ctx.loss_weight(len(ctx.shard(batch)), 7) for ctx in ranks] == pytest.approx([8 / 7, 6 / 7])
    single = DistributedContext()
    assert single.shard(batch) == batch and single.loss_weight(7, 7) == 1.0


def test_one_process_needs_no_process_group():
    ctx = DistributedContext()
    assert not ctx.enabled and ctx.is_main
    assert ctx.broadcast(3) == 3 and ctx.gather("x") == ["x"] and ctx.sum(1, 2.5) == (1.0, 2.5)
    assert ctx.any(False) is False and ctx.any(True) is True
    assert run_on_main(ctx, lambda: 5, "x") == 5
    assert run_on_main_first(ctx, lambda: 5, lambda r: r + 1, "x") == 5
    model = torch.nn.Linear(2, 2)
    assert ctx.wrap(model, torch.device("cpu")) is model


def test_torchrun_is_recognised_from_its_environment():
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    assert launched_by_torchrun(env)
    assert not launched_by_torchrun({**env, "WORLD_SIZE": "1"})
    assert not launched_by_torchrun({k: v for k, v in env.items() if k != "MASTER_PORT"})


class _Train:
    def __init__(self, precision: str, amp: bool = True) -> None:
        self.precision, self.amp = precision, amp


def test_precision_resolves_per_device_and_refuses_fp16_on_the_cpu():
    cpu = torch.device("cpu")
    assert resolve_precision(_Train("auto"), cpu).name == "fp32"
    bf16 = resolve_precision(_Train("bf16"), cpu)
    assert not bf16.loss_scaling
    with bf16.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with resolve_precision(_Train("fp32"), cpu).autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        resolve_precision(_Train("fp16"), cpu)


# -- two processes, end to end ---------------------------------------------------------------------
def _torchrun(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    )


def _figures(run: Path) -> tuple[list[tuple[float, float]], dict]:
    history = json.loads((run / "metrics.json").read_text())
    final = json.loads((run / "final_metrics.json").read_text())
    return [(row["train_loss"], row["val_loss"]) for row in history], final["test"]


@pytest.fixture(scope="module")
def ddp_case(synthetic_root, tmp_path_factory):
    """The recipe file, one process's run of it (in this process) and two processes' (under torchrun)."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    root = tmp_path_factory.mktemp("ddp")
    recipe = root / "tiny.yaml"
    recipe.write_text(RECIPE)
    one = root / "one"
    fit(load_config(recipe, [f"data.path={synthetic_root}"]), one, progress=False)
    two = root / "two"
    done = _torchrun("-m", "dermkit", "train", "cls", "--config", str(recipe), "--data", str(synthetic_root),
                     "--out", str(two))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return recipe, one, two, done


@pytest.mark.slow
def test_two_processes_give_one_process_figures(ddp_case):
    _, one, two, done = ddp_case
    (hist1, test1), (hist2, test2) = _figures(one), _figures(two)
    assert len(hist1) == len(hist2) == 2
    assert [v for row in hist2 for v in row] == pytest.approx([v for row in hist1 for v in row], rel=1e-5)
    assert test2["loss"] == pytest.approx(test1["loss"], rel=1e-5)
    assert (test2["accuracy"], test2["bma"]) == (test1["accuracy"], test1["bma"])
    env = json.loads((two / "environment.json").read_text())
    assert env["distributed"] == {"backend": "gloo", "world_size": 2, "global_batch": 16, "batch_per_process": 8}
    assert done.stdout.count("run folder:") == 2  # rank 0 speaks (start and end); rank 1 does not


@pytest.mark.slow
def test_an_interrupt_on_one_rank_stops_both_and_the_run_resumes_exactly(ddp_case, synthetic_root, tmp_path):
    from dermkit.checkpoint import load_checkpoint

    recipe, _, two, _ = ddp_case
    run = tmp_path / "interrupted"
    args = ["train", "cls", "--config", str(recipe), "--data", str(synthetic_root), "--out", str(run)]
    stopped = _torchrun(str(HERE / "_ddp_interrupt.py"), *args, env={"DERMKIT_TEST_STOP_AFTER": "6"})
    assert stopped.returncode != 0
    assert "interrupted: resume with" in stopped.stderr
    state = load_checkpoint(run / "checkpoints" / "last.pt").training
    assert (state.loop["epoch"], state.loop["batch"]) == (1, 2)  # epoch 2, after its second step, on both ranks
    assert state.rank_rngs is not None and len(state.rank_rngs) == 2

    resumed = _torchrun("-m", "dermkit", "train", "cls", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (hist_ref, test_ref), (hist, test) = _figures(two), _figures(run)
    assert hist == hist_ref and test == test_ref  # the same processes, the same order of sums: bit for bit
