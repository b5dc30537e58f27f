"""The pipeline tests' own run: a classifier with an attention map (seg_run, cls_run and run_cli are in
tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def attention_run(synthetic_root, tmp_path_factory, tiny_trainer) -> Path:
    """A one-epoch S5 spatial-attention classifier on timm's tiny test backbone (it has an attention map)."""
    overrides = [
        "model.name=hybrid_resnetv2_attention_s5",
        "model.kwargs.backbone=test_efficientnet",
        "model.kwargs.pretrained=false",
        "model.kwargs.metadata_hidden=8",
        "loss.name=cross_entropy",
    ]
    return tiny_trainer(synthetic_root, tmp_path_factory.mktemp("runs") / "att", "classification", overrides)
