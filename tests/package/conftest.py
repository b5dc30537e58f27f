"""Model packages exported once per session from the shared tiny runs (treat them as read-only); the
plain one, ``package``, is in tests/conftest.py (the serve tests use it too)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def attention_package(seg_run, attention_run, tmp_path_factory) -> Path:
    """unet_s2 + the S5 spatial-attention hybrid with metadata (its own attention map)."""
    from dermkit.package import export_package

    out = tmp_path_factory.mktemp("pkg") / "attention.dermkit"
    export_package(seg_run, attention_run, out)
    return out


@pytest.fixture(scope="session")
def focus_seg_run(synthetic_root, tmp_path_factory, tiny_trainer) -> Path:
    """A segmenter trained long enough to find lesions smaller than the image (seg_run's one epoch
    marks every pixel, so a crop to its lesion would be the whole image)."""
    overrides = ["model.name=unet_s2", "model.kwargs.base_filters=4", "loss.name=bce_dice"]
    overrides += ["train.epochs=6", "optim.lr=0.01", "data.preprocess.size=[64, 64]"]
    return tiny_trainer(synthetic_root, tmp_path_factory.mktemp("runs") / "focus-seg", "segmentation", overrides)


@pytest.fixture(scope="session")
def focus_run(synthetic_root, focus_seg_run, tmp_path_factory, tiny_trainer) -> Path:
    """A segment-then-classify classifier (S1's masking of all but the lesion that focus_seg_run finds; a
    crop would be the whole 64 x 64 image, the tiny segmenter's lesions reach its edges)."""
    seg_run = focus_seg_run
    overrides = [
        "model.name=deepconvnet_s2",
        "model.kwargs.input_size=[32, 32]",
        "loss.name=cross_entropy",
        f"data.focus.run={seg_run}",
        "data.focus.mode=mask",
    ]
    return tiny_trainer(synthetic_root, tmp_path_factory.mktemp("runs") / "focus", "classification", overrides)


@pytest.fixture(scope="session")
def focus_package(focus_seg_run, focus_run, tmp_path_factory) -> Path:
    """The focus classifier with its own segmenter as the package's (the same run finds its lesion)."""
    from dermkit.package import export_package

    out = tmp_path_factory.mktemp("pkg") / "focus.dermkit"
    export_package(focus_seg_run, focus_run, out)
    return out
