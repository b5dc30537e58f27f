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
