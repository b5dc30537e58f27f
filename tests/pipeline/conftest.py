"""Tiny trained runs for the pipeline tests: trained once per session on the synthetic data set."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dermkit.config import load_config
from dermkit.engine.trainer import fit

COMMON = [
    "data.num_workers=0",
    "data.cache_dir=null",
    "train.batch_size=16",
    "train.epochs=1",
    "data.preprocess.size=[32, 32]",
]


def _train(data: Path, out: Path, task: str, overrides: list[str]) -> Path:
    cfg = load_config(None, [*COMMON, f"data.path={data}", *overrides], base={"task": task, "recipe": f"tiny-{task}"})
    fit(cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def seg_run(synthetic_root, tmp_path_factory) -> Path:
    """A one-epoch unet_s2 (base_filters 4) segmentation run."""
    overrides = ["model.name=unet_s2", "model.kwargs.base_filters=4", "loss.name=bce_dice"]
    return _train(synthetic_root, tmp_path_factory.mktemp("runs") / "seg", "segmentation", overrides)


@pytest.fixture(scope="session")
def cls_run(synthetic_root, tmp_path_factory) -> Path:
    """A one-epoch deepconvnet_s2 classification run (no attention map)."""
    overrides = ["model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]", "loss.name=cross_entropy"]
    return _train(synthetic_root, tmp_path_factory.mktemp("runs") / "cls", "classification", overrides)


@pytest.fixture(scope="session")
def attention_run(synthetic_root, tmp_path_factory) -> Path:
    """A one-epoch S5 spatial-attention classifier on timm's tiny test backbone (it has an attention map)."""
    overrides = [
        "model.name=hybrid_resnetv2_attention_s5",
        "model.kwargs.backbone=test_efficientnet",
        "model.kwargs.pretrained=false",
        "model.kwargs.metadata_hidden=8",
        "loss.name=cross_entropy",
    ]
    return _train(synthetic_root, tmp_path_factory.mktemp("runs") / "att", "classification", overrides)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(monkeypatch, capsys) -> Callable[..., Result]:
    """``run_cli("predict", ...)`` runs :func:`dermkit.cli.main` as the console script does."""
    from dermkit.cli import main

    def run(*args) -> Result:
        monkeypatch.setattr(sys, "argv", ["dermkit", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main()
        out, err = capsys.readouterr()
        return Result(exc.value.code, out, err)

    return run
