"""The bare training loop the benchmarks measure against: it trains, in the memory format it is given."""

from __future__ import annotations

import torch
from torch import nn

from dermkit.bench.loop import bare_loop, with_memory_format
from dermkit.config import load_config


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def batches(n: int = 3) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [{"image": torch.rand(4, 3, 8, 8, generator=gen), "label": torch.tensor([0, 1, 0, 1])} for _ in range(n)]


def test_memory_format_changes_only_4d_weights():
    net = with_memory_format(small_net(), torch.channels_last)
    conv, linear = net[0].weight, net[4].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert linear.is_contiguous()
    assert with_memory_format(net, torch.contiguous_format)[0].weight.is_contiguous()


def test_steps_lower_the_loss_with_the_configs_optimiser():
    cfg = load_config(
        None,
        ["optim.name=sgd", "optim.lr=0.5"],
        base={"task": "classification", "model": {"name": "x"}, "loss": {"name": "x"}},
    )
    data = batches()
    loss = lambda model, batch: nn.functional.cross_entropy(model(batch["image"]), batch["label"])  # noqa: E731
    loop = bare_loop(cfg, small_net(), loss, torch.device("cpu"), torch.channels_last)
    assert isinstance(loop.optimizer, torch.optim.SGD) and loop.scaler is None
    with torch.no_grad():
        before = sum(loss(loop.model.eval(), b).item() for b in data)
    loop.model.train()
    for _ in range(20):
        for batch in data:
            loop.step(batch)
    with torch.no_grad():
        after = sum(loss(loop.model.eval(), b).item() for b in data)
    assert after < before
    assert loop.model[0].weight.is_contiguous(memory_format=torch.channels_last)
