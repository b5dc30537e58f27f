"""Data-set readers: one module per layout, a registry, and :func:`load_table`, the one public door::

    table = load_table("../shared/data/HAM10000")            # layout detected
    table = load_table("data/ph2", layout="ph2")              # layout forced

Layouts: ``ham10000``, ``ph2``, ``isic2018_task1``, ``isic2018_task3``, ``isic2017`` and
``folder`` (one sub-folder per class). Readers index files lazily: they check that files exist
and scan folders, but never decode an image (``dermkit.data.check.check_table`` does that, once,
for every image and mask).

Layout modules import only ``_registry`` and ``_scan``, never this package, so importing them
here (which registers them) closes no import circle.
"""

from __future__ import annotations

from pathlib import Path

from dermkit.data.readers import folder, ham10000, isic, ph2  # noqa: F401  (registers the layouts)
from dermkit.data.readers._registry import (
    DETECTION_ORDER,
    READERS,
    available_layouts,
    detect_layout,
    get_reader,
    register_reader,
)
from dermkit.data.readers._scan import check_root
from dermkit.data.records import LesionTable

__all__ = [
    "DETECTION_ORDER",
    "READERS",
    "available_layouts",
    "detect_layout",
    "load_table",
    "register_reader",
]


def load_table(root: str | Path, layout: str = "auto", **kwargs) -> LesionTable:
    """Read a data set into a :class:`~dermkit.data.records.LesionTable`.

    Args:
        root: the data set's root folder.
        layout: a registered layout name (see :func:`available_layouts`) or "auto" to detect it.
        **kwargs: passed to the layout's reader.

    Raises:
        DataError: missing root, unknown layout (with a "did you mean" hint) or unusable files.
    """
    path = check_root(root)
    reader = get_reader(detect_layout(path) if layout == "auto" else layout)
    return reader(path, **kwargs)
