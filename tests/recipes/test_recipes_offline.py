"""Every shipped recipe runs offline: each is built and trained for ONE batch (forward, backward, an
optimiser step) on tiny synthetic images, with the network cut off.

Recipes whose ImageNet weights only timm's Hub download provides (S4 and S5 as published) cannot:
they are skipped with that reason, and each must have an ``<name>_offline`` variant on a backbone
whose weights ship with dermkit. S1's classifier reads the masks of a trained segmentation run
(the session's ``seg_run``).
"""

from __future__ import annotations

import socket

import pytest
import torch
from torch.utils.data import default_collate

from dermkit.config import load_config
from dermkit.engine.checks import check_recipe
from dermkit.engine.tasks import create_task
from dermkit.engine.trainer import build_optimizer
from dermkit.errors import ConfigError
from dermkit.models.contract import build_without_weights
from dermkit.recipes import list_recipes, read_info, recipe_names, shipped_recipe

NAMES = recipe_names()
TINY = 64  # image side cap; smaller recipe sizes (S2's 28) are kept
BATCH = 2
OFFLINE_SUFFIX = "_offline"
#: the weights of these backbones are the ones dermkit ships (EfficientNet-Lite0/1/2 packages)
OFFLINE_BACKBONES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network at all, and empty Hugging Face / torch.hub caches: only shipped weights can load."""
    import huggingface_hub.constants

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def header(name: str) -> str:
    lines = shipped_recipe(name).read_text().splitlines()
    return " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))


def tiny_overrides(name: str, data, seg_run) -> list[str]:
    cfg = load_config(name)
    kwargs = {"in_channels": 3, **cfg.model.kwargs}
    if cfg.task == "classification":
        kwargs.setdefault("num_classes", 7)
    with torch.device("meta"):
        probe = build_without_weights(cfg.model.name, kwargs)
    floor = getattr(probe, "min_input_size", 1)  # e.g. 75 for inception_resnet_v2
    size = [max(min(side, TINY), floor) for side in (cfg.data.preprocess.size or (TINY, TINY))]
    overrides = [
        f"data.path={data}",
        "data.num_workers=0",
        "data.cache_dir=null",
        f"train.batch_size={BATCH}",
        f"data.preprocess.size=[{size[0]}, {size[1]}]",
    ]
    if getattr(probe, "exact_input_size", None) is not None:  # a flatten layer fixes the size
        overrides.append(f"model.kwargs.input_size=[{size[0]}, {size[1]}]")
    if cfg.data.focus.run is not None:  # S1: classify the lesion masked by a trained segmenter
        overrides.append(f"data.focus.run={seg_run}")
    return overrides


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_trains_one_batch_offline(name, synthetic_root, seg_run, tmp_path):
    cfg = load_config(name, tiny_overrides(name, synthetic_root, seg_run))
    check_recipe(cfg)
    task = create_task(cfg)
    data = task.prepare(tmp_path / "run")
    try:
        model = task.build_model()
    except ConfigError as err:
        if "cannot load ImageNet weights" not in str(err):
            raise
        # allowed only for a recipe that says so and has a variant that runs offline
        assert "needs internet" in header(name), f"{name} needs internet but its header does not say so"
        variant = f"{name}{OFFLINE_SUFFIX}"
        assert variant in NAMES, f"{name} needs internet and has no offline variant {variant}"
        pytest.skip(f"{name}: its ImageNet weights need the internet ({err}); offline variant: {variant}")
    train_set, _ = task.train_dataset(data)
    loss_fn = task.build_loss(data)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(cfg, params)
    batch = default_collate([train_set[i] for i in range(BATCH)])
    assert batch["image"].shape[-2:] == tuple(cfg.data.preprocess.size)

    model.train()
    before = [p.detach().clone() for p in params]
    loss = task.loss(model, batch, loss_fn)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss), f"{name}: loss {loss.item()}"
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in params), f"{name}: no gradient"
    assert any(not torch.equal(b, p.detach()) for b, p in zip(before, params, strict=True)), f"{name}: no update"


def test_offline_variants_say_so_and_use_shipped_weights():
    variants = [n for n in NAMES if n.endswith(OFFLINE_SUFFIX)]
    assert len(variants) == 5 and all(v.startswith(("cls_s4_", "cls_s5_")) for v in variants)
    for variant in variants:
        original = variant.removesuffix(OFFLINE_SUFFIX)
        assert original in NAMES
        ours, theirs = load_config(variant), load_config(original)
        backbone = ours.model.kwargs["backbone"]
        assert backbone in OFFLINE_BACKBONES and ours.model.kwargs["pretrained"] is True
        text = header(variant)
        assert f"Offline variant of {original}" in text and "STAND-IN" in text and "no internet needed" in text
        assert "offline" in read_info(shipped_recipe(variant)).description
        # the paper's protocol is kept: only the backbone (and S5's frozen-layer count) differ
        assert ours.model.name == theirs.model.name
        for section in ("data", "loss", "imbalance", "optim", "schedule", "train", "augment"):
            assert getattr(ours, section) == getattr(theirs, section), f"{variant}: {section} differs"
        different = {k for k in {**ours.model.kwargs, **theirs.model.kwargs} if
                     ours.model.kwargs.get(k) != theirs.model.kwargs.get(k)}  # fmt: skip
        assert different <= {"backbone", "freeze_first"}, different


def test_recipes_command_shows_the_offline_variants(run_cli):
    res = run_cli("recipes")
    assert res.code in (0, None), res.err
    rows = {line.split(" | ")[0].strip(): line for line in res.out.splitlines()[2:]}
    for info in list_recipes():
        if info.name.endswith(OFFLINE_SUFFIX):
            assert info.name in rows and info.description in rows[info.name]


def test_a_trained_s5_run_with_its_cnn_path_option_loads_back(synthetic_root, tiny_trainer, tmp_path):
    """S5's recipes set ``cnn_path`` (an architecture choice, not a file): their runs must load for evaluation."""
    from dermkit.inference import load_run

    overrides = [
        "model.name=hybrid_densenet_s5",
        "model.kwargs={backbone: test_resnet, pretrained: false, cnn_path: pool}",
        "loss.name=cross_entropy",
    ]
    run = load_run(tiny_trainer(synthetic_root, tmp_path / "run", "classification", overrides), device="cpu")
    assert run.model.cnn_path == "pool" and run.model.model_kwargs["cnn_path"] == "pool"
