"""File-scanning helpers every layout reader shares: they list folders and read CSV headers only.

No image is opened here (``dermkit.data.check`` decodes every image once); what a reader finds
odd while scanning (several files for one id) becomes a :class:`~dermkit.data.problems.Problem`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from dermkit.data.problems import Problem
from dermkit.errors import DataError
from dermkit.imageio import IMAGE_SUFFIXES

#: Folders that never hold data: macOS zip debris (``__MACOSX/._ISIC_0000000.jpg`` is not an image).
#: ``synthetic_truth`` holds the synthetic generator's hair/frame masks, which are not data-set images.
_SKIP_DIRS = {"__MACOSX", "__pycache__", "synthetic_truth"}

#: ``ISIC_0024306.jpg`` but not ``ISIC_0000000_superpixels.png`` or ``..._segmentation.png``.
ISIC_IMAGE_RE = re.compile(r"^ISIC_\d+\.(jpe?g|png)$", re.IGNORECASE)
MASK_SUFFIX = "_segmentation.png"


def check_root(root: str | Path) -> Path:
    """``root`` as an absolute Path; DataError naming it if it is not an existing folder."""
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DataError(f"data folder {path} does not exist; check the path (it is resolved from {Path.cwd()})")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder; pass the data set's root folder")
    return path


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in _SKIP_DIRS


def walk_files(root: Path) -> Iterable[Path]:
    """Every non-hidden file under ``root`` (one ``os.walk``; hidden and ``__MACOSX`` folders skipped)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if _visible(d))
        base = Path(dirpath)
        for f in sorted(filenames):
            if not f.startswith("."):
                yield base / f


def is_image_file(path: Path) -> bool:
    """True for a file whose suffix is one of :data:`~dermkit.imageio.IMAGE_SUFFIXES`."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def index_images_and_masks(root: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """One walk of ``root``: image files by stem, and ``<id>_segmentation.png`` masks by ``<id>``."""
    images: dict[str, list[Path]] = {}
    masks: dict[str, list[Path]] = {}
    for path in walk_files(root):
        name = path.name
        if name.lower().endswith(MASK_SUFFIX):
            masks.setdefault(name[: -len(MASK_SUFFIX)], []).append(path)
        elif is_image_file(path):
            images.setdefault(path.stem, []).append(path)
    return images, masks


def pick_one(
    key: str, paths: list[Path], what: str, prefer: tuple[str, ...] = (), problems: list[Problem] | None = None
) -> Path:
    """Choose one of several files found for ``key``; record a warning when there are several.

    The choice is deterministic: a file in a folder named in ``prefer`` (earlier wins), then the
    shortest path, then alphabetical.
    """
    if len(paths) == 1:
        return paths[0]

    def rank(p: Path) -> tuple[int, int, str]:
        parents = [q.name.lower() for q in p.parents]
        pref = next((i for i, d in enumerate(prefer) if d.lower() in parents), len(prefer))
        return pref, len(str(p)), str(p)

    chosen = min(paths, key=rank)
    if problems is not None:
        others = ", ".join(str(p) for p in paths if p != chosen)
        problems.append(
            Problem(
                f"duplicate_{what}_file",
                "warning",
                key,
                str(chosen),
                f"{len(paths)} {what} files for {key}: using {chosen}, ignoring {others}; "
                "delete the extra copies if they are the same image, or rename them if they are not",
            )
        )
    return chosen


def files_near_root(root: Path) -> list[Path]:
    """Files directly in ``root`` and in its immediate (visible) sub-folders."""
    out: list[Path] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        if not _visible(entry.name):
            continue
        if entry.is_file():
            out.append(Path(entry.path))
        elif entry.is_dir():
            try:
                out.extend(
                    Path(e.path)
                    for e in sorted(os.scandir(entry.path), key=lambda e: e.name)
                    if e.is_file() and not e.name.startswith(".")
                )
            except OSError:
                continue
    return out


def find_named(root: Path, names: Iterable[str]) -> list[Path]:
    """Files called one of ``names`` in ``root`` or one level down (root first, then alphabetical)."""
    wanted = {n.lower() for n in names}
    hits = [p for p in files_near_root(root) if p.name.lower() in wanted]
    return sorted(hits, key=lambda p: (p.parent != root, str(p)))


def csv_header(path: Path) -> list[str]:
    """Column names from the first line of a comma- or tab-separated file ([] if unreadable)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            line = fh.readline().strip()
    except OSError:
        return []
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return [c.strip().strip('"') for c in line.split(sep)]


def find_csvs(root: Path, required: Iterable[str]) -> list[Path]:
    """CSV files in ``root`` or one level down whose header holds all ``required`` columns."""
    need = set(required)
    return [p for p in files_near_root(root) if p.suffix.lower() == ".csv" and need <= set(csv_header(p))]


def as_str(path: Path | None) -> str | None:
    """A path as the string records hold, None staying None."""
    return None if path is None else str(path)
