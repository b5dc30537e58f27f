"""Reader registry, layout detection and the file-scanning helpers every reader shares.

Each data-set layout has one ``read_<layout>(root) -> LesionTable`` function, registered with
:func:`register_reader` together with a cheap ``detect(root) -> bool`` test (directory listings of
the root and its children and CSV headers only; no image is opened). :func:`load_table` is the one
public door::

    table = load_table("../shared/data/HAM10000")            # layout detected
    table = load_table("data/ph2", layout="ph2")              # layout forced

Readers index files lazily: they check that files exist and scan folders, but never decode an
image (``dermkit.data.check.check_table`` does that, once, for every image and mask).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dermkit.data.check import Problem
from dermkit.data.records import LesionTable
from dermkit.errors import DataError
from dermkit.imageio import IMAGE_SUFFIXES

ReaderFn = Callable[..., LesionTable]
DetectFn = Callable[[Path], bool]

#: layout name -> reader function, filled by :func:`register_reader`.
READERS: dict[str, ReaderFn] = {}


@dataclass(frozen=True)
class _Detector:
    detect: DetectFn
    expects: str  # what files the layout needs, shown when no layout fits


_DETECTORS: dict[str, _Detector] = {}

#: Detection tries layouts in this order (most specific first: a HAM10000 folder also holds
#: ``_segmentation.png`` masks, so it must win over ISIC Task 1; folder-per-class is the fallback).
#: Layouts registered by users and not named here are tried after these, in registration order.
DETECTION_ORDER: tuple[str, ...] = (
    "ham10000", "ph2", "isic2018_task3", "isic2017", "isic2018_task1", "folder",
)

#: Folders that never hold data: macOS zip debris (``__MACOSX/._ISIC_0000000.jpg`` is not an image).
#: ``synthetic_truth`` holds the synthetic generator's hair/frame masks, which are not data-set images.
_SKIP_DIRS = {"__MACOSX", "__pycache__", "synthetic_truth"}

#: ``ISIC_0024306.jpg`` but not ``ISIC_0000000_superpixels.png`` or ``..._segmentation.png``.
ISIC_IMAGE_RE = re.compile(r"^ISIC_\d+\.(jpe?g|png)$", re.IGNORECASE)
MASK_SUFFIX = "_segmentation.png"


def register_reader(name: str, detect: DetectFn, expects: str = "") -> Callable[[ReaderFn], ReaderFn]:
    """Register ``read_<layout>`` under ``name``.

    Args:
        name: layout name used by :func:`load_table` (``layout=name``) and in error messages.
        detect: ``detect(root) -> bool``; must be cheap (listings and CSV headers only).
        expects: one line describing the files the layout needs, shown when detection fails.

    Raises:
        ValueError: ``name`` is already registered (silently replacing a reader hides bugs).
    """

    def decorator(fn: ReaderFn) -> ReaderFn:
        if name in READERS:
            raise ValueError(f"a reader named {name!r} is already registered ({READERS[name].__module__})")
        READERS[name] = fn
        _DETECTORS[name] = _Detector(detect, expects or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return decorator


def available_layouts() -> list[str]:
    """Registered layouts in detection order."""
    known = [n for n in DETECTION_ORDER if n in READERS]
    return known + [n for n in READERS if n not in known]


def check_root(root: str | Path) -> Path:
    """``root`` as an absolute Path; DataError naming it if it is not an existing folder."""
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DataError(f"data folder {path} does not exist; check the path (it is resolved from {Path.cwd()})")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder; pass the data set's root folder")
    return path


def detect_layout(root: str | Path) -> str:
    """Name of the first layout (in :data:`DETECTION_ORDER`) whose files are found under ``root``.

    Raises:
        DataError: ``root`` is missing, or no layout fits; the message lists every layout with
            the files it expects.
    """
    path = check_root(root)
    for name in available_layouts():
        if _DETECTORS[name].detect(path):
            return name
    lines = "\n".join(f"  - {n}: {_DETECTORS[n].expects}" for n in available_layouts())
    raise DataError(
        f"cannot tell which data-set layout {path} holds; none of the known layouts fits:\n{lines}\n"
        "Rearrange the files into one of these layouts, or pass layout=... explicitly."
    )


def load_table(root: str | Path, layout: str = "auto", **kwargs) -> LesionTable:
    """Read a data set into a :class:`LesionTable`.

    Args:
        root: the data set's root folder.
        layout: a registered layout name (see :func:`available_layouts`) or "auto" to detect it.
        **kwargs: passed to the layout's reader.

    Raises:
        DataError: missing root, unknown layout (with a "did you mean" hint) or unusable files.
    """
    path = check_root(root)
    if layout == "auto":
        layout = detect_layout(path)
    if layout not in READERS:
        close = difflib.get_close_matches(layout, list(READERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(
            f"unknown data-set layout {layout!r}{hint}; known layouts: {', '.join(available_layouts())}, or 'auto'"
        )
    return READERS[layout](path, **kwargs)


# ----------------------------------------------------------------------------------------------
# Scanning helpers shared by the readers. They only list folders; no file is opened.


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
    key: str, paths: list[Path], what: str, prefer: tuple[str, ...] = (), problems: list | None = None
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
        problems.append(Problem(
            f"duplicate_{what}_file", "warning", key, str(chosen),
            f"{len(paths)} {what} files for {key}: using {chosen}, ignoring {others}; "
            "delete the extra copies if they are the same image, or rename them if they are not",
        ))
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
                out.extend(Path(e.path) for e in sorted(os.scandir(entry.path), key=lambda e: e.name)
                           if e.is_file() and not e.name.startswith("."))
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
    return [p for p in files_near_root(root)
            if p.suffix.lower() == ".csv" and need <= set(csv_header(p))]


def as_str(path: Path | None) -> str | None:
    return None if path is None else str(path)


# Importing the layout modules registers the built-in readers (they import this module, which is
# complete by now).
from dermkit.data import folder, ham10000, isic, ph2  # noqa: E402,F401
