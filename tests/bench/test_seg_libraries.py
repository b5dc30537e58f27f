"""benchmarks/seg_libraries.py: the MONAI and smp models behind dermkit's contract, the split and the configs.

The script lives in benchmarks/, so it is loaded by path; the models it registers are removed again after
this module, so no other test sees them in the registry.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import torch

from dermkit.errors import ConfigError
from dermkit.models import SegmentationOutput, create_model
from dermkit.models.contract import check_input_size
from dermkit.models.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "seg_libraries.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    added = [name for name in ("monai_attention_unet", "monai_unet", "smp_deeplabv3plus") if name not in MODELS]
    sys.path.insert(0, str(SCRIPT.parent))  # for its `from _common import ...`
    try:
        spec = importlib.util.spec_from_file_location("seg_libraries", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    yield module
    sys.modules.pop("seg_libraries", None)
    for name in added:
        MODELS.remove(name)


@pytest.fixture
def monai(bench: ModuleType) -> ModuleType:
    return pytest.importorskip("monai")


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("monai_attention_unet", {"channels": [4, 8, 16]}),
        ("monai_unet", {"channels": [4, 8, 16], "num_res_units": 1}),
    ],
)
def test_monai_models_give_a_segmentation_output_at_input_size(monai, name: str, kwargs: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, in_channels=3, **kwargs)
    out = model(torch.rand(2, 3, 32, 48))
    assert isinstance(out, SegmentationOutput)
    assert out.mask_logits.shape == (2, 1, 32, 48)
    assert model.input_stride == 4  # two stride-2 levels
    out.mask_logits.mean().backward()  # trainable end to end
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_monai_model_refuses_a_size_its_strides_cannot_take(monai) -> None:
    model = create_model("monai_unet", in_channels=3, channels=[4, 8, 16], num_res_units=1)
    with pytest.raises(ValueError, match="divisible by the model's input_stride 4"):
        model(torch.rand(1, 3, 30, 48))
    with pytest.raises(ConfigError, match="cannot take 30x48"):  # what a recipe gets before any data is read
        check_input_size("monai_unet", {"channels": [4, 8, 16], "num_res_units": 1}, (30, 48))


def test_monai_model_needs_two_levels(monai) -> None:
    with pytest.raises(ConfigError, match="2 or more widths"):
        create_model("monai_unet", channels=[8])


def test_smp_deeplabv3plus_on_a_plain_encoder_is_random_init(bench: ModuleType) -> None:
    model = create_model("smp_deeplabv3plus", encoder="tu-test_resnet", decoder_channels=8)
    assert model.pretrained_cfg is None
    assert model.eval()(torch.rand(1, 3, 64, 64)).mask_logits.shape == (1, 1, 64, 64)


def test_registering_again_changes_nothing(bench: ModuleType) -> None:
    before = {name: MODELS.get(name) for name in bench.LIBRARY_MODELS}
    bench.register_library_models()
    assert {name: MODELS.get(name) for name in bench.LIBRARY_MODELS} == before


def test_a_contestant_replaces_the_protocol_model_and_keeps_the_rest(bench: ModuleType) -> None:
    cfg = bench.run_config("seg_default", "monai_unet", bench.CONTESTANTS["monai_unet"], ["train.epochs=3"])
    assert cfg.model.name == "monai_unet"
    assert cfg.model.kwargs == {"channels": [16, 32, 64, 128, 256], "num_res_units": 2}  # no seg_default kwargs
    assert (cfg.loss.name, cfg.optim.name, cfg.train.epochs) == ("bce_dice", "adamw", 3)
    assert cfg.data.cache_dir is None
    ours = bench.run_config("seg_default", "s2", bench.CONTESTANTS["s2"], [])
    assert ours.model.name == "unet_s2"
    assert tuple(ours.data.preprocess.size) == tuple(cfg.data.preprocess.size)  # the protocol's size for all


def test_thinned_sides_keep_whole_lesions_and_the_training_side(bench: ModuleType) -> None:
    lesions = [f"L{i}" for i in range(12) for _ in range(2)]  # 12 lesions of 2 images
    sides = ["train"] * 8 + ["val"] * 8 + ["test"] * 8
    split = pd.DataFrame({"image_id": [f"I{i}" for i in range(24)], "lesion_id": lesions, "split": sides})
    thin = bench.thin_sides(split, lesions=2)
    assert (thin["split"] == "train").sum() == 8
    for side in ("val", "test"):
        kept = thin[thin["split"] == side]
        assert len(kept) == 4 and kept["lesion_id"].nunique() == 2  # two lesions, both images of each
    assert bench.thin_sides(split, lesions=10).equals(split)  # more lesions asked than a side has: all kept
