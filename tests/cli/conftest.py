"""Fixtures for the command-line tests (``run_cli`` itself is in tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def fake_segmenter(monkeypatch) -> list:
    """`segment` with a stand-in model (no lesion anywhere): the command's file handling, no training.

    Returns the run folders ``load_run`` was called with (empty: refused before loading a model).
    """
    # Modules that bind these names when first imported must see the real ones, not the stand-ins.
    import dermkit.evaluation.classification  # noqa: F401
    import dermkit.evaluation.segmentation  # noqa: F401
    import dermkit.inference as inference

    calls: list = []
    monkeypatch.setattr(inference, "load_run", lambda run, **kw: calls.append(run) or object())
    monkeypatch.setattr(inference, "predict_mask", lambda run, image, **kw: np.zeros(image.shape[:2], bool))
    return calls
