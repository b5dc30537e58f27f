"""Model packages exported once per session from the shared tiny runs (treat them as read-only)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def package(seg_run, cls_run, tmp_path_factory) -> Path:
    """unet_s2 + deepconvnet_s2 (no attention map: occlusion heat map on ONNX Runtime)."""
    from dermkit.package import export_package

    out = tmp_path_factory.mktemp("pkg") / "model.dermkit"
    export_package(seg_run, cls_run, out)
    return out


@pytest.fixture(scope="session")
def attention_package(seg_run, attention_run, tmp_path_factory) -> Path:
    """unet_s2 + the S5 spatial-attention hybrid with metadata (its own attention map)."""
    from dermkit.package import export_package

    out = tmp_path_factory.mktemp("pkg") / "attention.dermkit"
    export_package(seg_run, attention_run, out)
    return out
