"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic data set in the HAM10000 layout (70 images of 64x64, seed 0).

    Written once per session (about a second); treat it as read-only.
    """
    from dermkit.data.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), n=70, seed=0, size=(64, 64))


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory):
    """Tests that leave ``data.cache_dir`` at ``auto`` cache under a temporary folder, not ``~/.cache``."""
    import os

    before = os.environ.get("DERMKIT_CACHE")
    os.environ["DERMKIT_CACHE"] = str(tmp_path_factory.mktemp("dermkit-cache"))
    yield
    if before is None:
        os.environ.pop("DERMKIT_CACHE", None)
    else:
        os.environ["DERMKIT_CACHE"] = before


#: Overrides that make a training run take a second or two on the synthetic fixture data.
TINY_RUN = [
    "data.num_workers=0",
    "data.cache_dir=null",
    "train.batch_size=16",
    "train.epochs=1",
    "data.preprocess.size=[32, 32]",
]


def train_tiny(data: Path, out: Path, task: str, overrides: list[str]) -> Path:
    """Train a one-epoch run of ``task`` on ``data`` into ``out`` (the engine, for real)."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    cfg = load_config(None, [*TINY_RUN, f"data.path={data}", *overrides], base={"task": task, "recipe": f"tiny-{task}"})
    fit(cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_trainer() -> Callable[[Path, Path, str, list[str]], Path]:
    """:func:`train_tiny`, for test folders that train runs of their own."""
    return train_tiny


@pytest.fixture(scope="session")
def seg_run(synthetic_root, tmp_path_factory) -> Path:
    """A one-epoch unet_s2 (base_filters 4) segmentation run; treat it as read-only."""
    overrides = ["model.name=unet_s2", "model.kwargs.base_filters=4", "loss.name=bce_dice"]
    return train_tiny(synthetic_root, tmp_path_factory.mktemp("runs") / "seg", "segmentation", overrides)


@pytest.fixture(scope="session")
def cls_run(synthetic_root, tmp_path_factory) -> Path:
    """A one-epoch deepconvnet_s2 classification run (no attention map); treat it as read-only."""
    overrides = ["model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]", "loss.name=cross_entropy"]
    return train_tiny(synthetic_root, tmp_path_factory.mktemp("runs") / "cls", "classification", overrides)


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
    return train_tiny(synthetic_root, tmp_path_factory.mktemp("runs") / "att", "classification", overrides)


@pytest.fixture(scope="session")
def package(seg_run, cls_run, tmp_path_factory) -> Path:
    """seg_run + cls_run exported once as a model package (no attention map: occlusion heat map on ONNX
    Runtime); treat it as read-only."""
    from dermkit.package import export_package

    out = tmp_path_factory.mktemp("pkg") / "model.dermkit"
    export_package(seg_run, cls_run, out)
    return out


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(monkeypatch, capsys) -> Callable[..., Result]:
    """``run_cli("segment", RUN, ...)`` runs :func:`dermkit.cli.main` as the console script does and
    returns its exit code (from :class:`SystemExit`) with what it printed."""
    from dermkit.cli import main

    def run(*args) -> Result:
        monkeypatch.setattr(sys, "argv", ["dermkit", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main()
        out, err = capsys.readouterr()
        return Result(exc.value.code, out, err)

    return run
