"""Segment-then-classify (S1, S2): classify the lesion a trained segmentation run finds.

``mask`` blacks out the background (S1); ``crop`` cuts the lesion's bounding box with a margin
(S2). Training, ``evaluate cls`` and diagnosis all apply the same :class:`LesionFocus`, built
from a recipe's ``data.focus`` by :func:`focus_of`.
"""

from __future__ import annotations

import weakref
from pathlib import Path

import numpy as np

from dermkit.config import FocusConfig, stable_hash
from dermkit.errors import DermkitError
from dermkit.inference.masks import predict_mask
from dermkit.inference.runs import LoadedRun, load_run
from dermkit.preprocess.focus import Box, apply_focus, focus_region, lesion_box

__all__ = ["Box", "LesionFocus", "apply_focus", "focus_of", "focus_region", "lesion_box", "run_focus"]


class LesionFocus:
    """Callable image -> focused image, loading the segmentation run on first use (per worker)."""

    def __init__(self, run_dir: str | Path, mode: str, margin: float) -> None:
        self.run_dir, self.mode, self.margin = Path(run_dir), mode, margin
        ckpt = self.run_dir / "checkpoints" / "best.pt"
        if not ckpt.exists():
            raise DermkitError(f"{ckpt}: data.focus.run must be a finished segmentation run folder")
        #: part of the preprocessing cache key: another segmenter (or a retrained one) is another input
        self.key = stable_hash([str(self.run_dir.resolve()), ckpt.stat().st_mtime_ns, mode, margin])
        self._run: LoadedRun | None = None

    @property
    def run(self) -> LoadedRun:
        if self._run is None:
            self._run = load_run(self.run_dir, device="cpu", task="segmentation")
        return self._run

    def region(self, image: np.ndarray) -> tuple[np.ndarray, Box, np.ndarray]:
        """(focused image, its box in ``image``, the predicted lesion mask)."""
        mask = predict_mask(self.run, image)
        focused, box = focus_region(image, mask, self.mode, self.margin)
        return focused, box, mask

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.region(image)[0]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_run": None}  # workers load their own copy


def focus_of(cfg: FocusConfig) -> LesionFocus | None:
    """The segment-then-classify step of a recipe's ``data.focus`` (None when off)."""
    return None if cfg.run is None else LesionFocus(cfg.run, cfg.mode, cfg.margin)


#: The focus of each loaded classification run, built once per run (it loads a segmenter).
_RUN_FOCUS: weakref.WeakKeyDictionary[LoadedRun, LesionFocus | None] = weakref.WeakKeyDictionary()


def run_focus(run: LoadedRun) -> LesionFocus | None:
    """The ``data.focus`` step of a loaded run, as it was applied in training (None when off)."""
    if run not in _RUN_FOCUS:
        _RUN_FOCUS[run] = focus_of(run.cfg.data.focus)
    return _RUN_FOCUS[run]
