"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic data set in the HAM10000 layout (70 images of 64x64, seed 0).

    Written once per session (about a second); treat it as read-only.
    """
    from dermkit.data.synthetic import write_synthetic_dataset

    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), n=70, seed=0, size=(64, 64))
