"""Small helpers shared by CLI commands: parsing sizes, listing input images, printing tables."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from dermkit.errors import ConfigError, DataError

# Files that are masks, not images, by the end of their stem: ISIC/HAM10000 ground truth, PH2 lesion
# masks and `dermkit preprocess --save-masks` output. A folder walk never treats them as images.
MASK_STEM_ENDINGS: tuple[str, ...] = ("_segmentation", "_lesion", "_hair", "_frame")

CACHE_DIR_HELP = (
    "Preprocessed-image cache folder, or 'off'; overrides data.cache_dir, whose default 'auto' is "
    "$DERMKIT_CACHE, else $XDG_CACHE_HOME/dermkit, else ~/.cache/dermkit."
)
OVERWRITE_HELP = "Replace output files that already exist (by default the command refuses before doing any work)."


# Options shared by several commands (typer reads them from the Annotated type).
CacheDirOption = Annotated[str | None, typer.Option("--cache-dir", help=CACHE_DIR_HELP)]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]


def parse_size(text: str | None) -> tuple[int, int] | None:
    """ "150x200" -> (150, 200) as (height, width); None stays None."""
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"size {text!r} is not HEIGHTxWIDTH, e.g. 150x200") from None
    if h < 8 or w < 8:
        raise ConfigError(f"size {text!r} is too small; both sides must be >= 8 pixels")
    return h, w


def is_mask_name(path: Path) -> bool:
    """Whether ``path`` is named like a mask (``x_segmentation.png``, ``x_lesion.bmp``, ``x_hair.png``)."""
    return path.stem.lower().endswith(MASK_STEM_ENDINGS)


def folder_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, sorted (recursive; hidden files and folders skipped), masks left out."""
    from dermkit.imageio import IMAGE_SUFFIXES

    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        found += [
            Path(dirpath) / f
            for f in sorted(filenames)
            if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES and not is_mask_name(Path(f))
        ]
    return found


def collect_images(items: Iterable[Path]) -> list[Path]:
    """The image files named by ``items`` (files as given, folders searched), each file once.

    Raises:
        DataError: an item does not exist, or nothing was found.
    """
    items = list(items)
    files: list[Path] = []
    seen: set[Path] = set()
    for item in items:
        if not item.exists():
            raise DataError(f"{item}: no such file or folder")
        for path in folder_images(item) if item.is_dir() else [item]:
            if path.resolve() not in seen:  # a file given twice, or inside a folder also given
                seen.add(path.resolve())
                files.append(path)
    if not files:
        raise DataError("no image files found in " + ", ".join(map(str, items)))
    return files


def frame_table(frame: pd.DataFrame, title: str | None = None, index_name: str = "") -> Table:
    """A rich Table of a small DataFrame (index as first column)."""
    table = Table(title=title, show_lines=False)
    table.add_column(index_name)
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for idx, row in frame.iterrows():
        table.add_row(str(idx), *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    return table
