"""Plain folder-per-class data sets: ``root/<class_name>/*.jpg`` (any image suffix, any depth).

Classes are the sorted folder names. ``image_id`` is the file stem, so the same ISIC image filed
under two classes shows up in ``data check`` as a duplicate id with two labels; ``lesion_id`` is
the image id (the layout carries no lesion grouping).
"""

from __future__ import annotations

import os
from pathlib import Path

from dermkit.data.problems import Problem
from dermkit.data.readers._registry import register_reader
from dermkit.data.readers._scan import MASK_SUFFIX, check_root, is_image_file, walk_files
from dermkit.data.records import LesionTable, make_records
from dermkit.errors import DataError


def _class_dirs(root: Path) -> list[Path]:
    return sorted(Path(e.path) for e in os.scandir(root) if e.is_dir() and not e.name.startswith((".", "_")))


def _has_images(folder: Path) -> bool:
    try:
        return any(e.is_file() and is_image_file(Path(e.name)) for e in os.scandir(folder))
    except OSError:
        return False


def _detect(root: Path) -> bool:
    # Two or more class folders holding images directly: one "images/" folder is not a class layout.
    return sum(_has_images(d) for d in _class_dirs(root)) >= 2


@register_reader(
    "folder",
    detect=_detect,
    expects="one sub-folder per class holding its images: <class_name>/*.jpg|png|bmp|tif",
)
def read_folder(root: str | Path) -> LesionTable:
    """Folder per class: ``root/<class_name>/<image>``; classes are the sorted folder names."""
    root = check_root(root)
    rows: list[dict] = []
    problems: list[Problem] = []
    classes: list[str] = []
    for class_dir in _class_dirs(root):
        files = [p for p in walk_files(class_dir) if is_image_file(p)]
        masks = [p for p in files if p.name.lower().endswith(MASK_SUFFIX)]
        if masks:
            problems.append(
                Problem(
                    "unexpected_masks",
                    "warning",
                    "",
                    str(class_dir),
                    f"{len(masks)} *{MASK_SUFFIX} files in class folder {class_dir} were ignored "
                    "(folder-per-class data sets carry no masks); move them out of the class folder",
                )
            )
        skip = set(masks)
        images = [p for p in files if p not in skip]
        if not images:
            continue
        classes.append(class_dir.name)
        rows.extend(
            {"image_id": p.stem, "image_path": str(p), "label": class_dir.name, "source": "folder"} for p in images
        )
    if not classes:
        raise DataError(f"no class folders with images in {root}; expected {root}/<class_name>/*.jpg")
    return LesionTable(make_records(rows), tuple(classes), root, "folder", problems)
