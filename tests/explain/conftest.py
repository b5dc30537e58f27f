"""The explanation tests' own run: a classifier with an attention map and metadata."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def explain_attention_run(synthetic_root, tmp_path_factory, tiny_trainer) -> Path:
    """A one-epoch S5 spatial-attention classifier with metadata on timm's tiny test backbone, 64x64 padded."""
    overrides = [
        "model.name=hybrid_resnetv2_attention_s5",
        "model.kwargs.backbone=test_efficientnet",
        "model.kwargs.pretrained=false",
        "model.kwargs.metadata_hidden=8",
        "model.kwargs.use_metadata=true",
        "data.preprocess.size=[64, 64]",
        "loss.name=cross_entropy",
        "train.max_batches_per_epoch=1",  # the tests need its wiring, not its accuracy
    ]
    return tiny_trainer(synthetic_root, tmp_path_factory.mktemp("runs") / "explain-att", "classification", overrides)
