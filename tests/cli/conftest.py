"""Fixtures for the command-line tests: run `dermkit` in-process through its real entry point."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from dermkit.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(monkeypatch, capsys) -> Callable[..., Result]:
    """``run_cli("segment", RUN, ...)`` runs :func:`dermkit.cli.main` as the console script does and
    returns its exit code (from :class:`SystemExit`) with what it printed."""

    def run(*args) -> Result:
        monkeypatch.setattr(sys, "argv", ["dermkit", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main()
        out, err = capsys.readouterr()
        return Result(exc.value.code, out, err)

    return run


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
