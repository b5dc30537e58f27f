"""HAM10000 as distributed (Tschandl et al., Sci. Data 2018; CC BY-NC 4.0).

Layout (any of the distributed variants)::

    root/HAM10000_metadata.csv            (or HAM10000_metadata without extension; or one level down)
    root/HAM10000_images_part_1/ISIC_0024306.jpg
    root/HAM10000_images_part_2/...       (or HAM10000_images/, or any other sub-folder)
    root/HAM10000_segmentations_lesion_tschandl/ISIC_0024306_segmentation.png   (optional)

Metadata columns: lesion_id, image_id, dx, dx_type, age, sex, localization. One lesion often has
several images (10,015 images of 7,470 lesions), so ``lesion_id`` is kept for leak-free splits.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from dermkit.data.problems import Problem
from dermkit.data.readers._registry import register_reader
from dermkit.data.readers._scan import (
    as_str,
    check_root,
    find_named,
    index_images_and_masks,
    pick_one,
)
from dermkit.data.records import HAM10000_CLASSES, LesionTable, make_records
from dermkit.errors import DataError

METADATA_NAMES: tuple[str, ...] = ("HAM10000_metadata.csv", "HAM10000_metadata", "HAM10000_metadata.tab")
REQUIRED_COLUMNS: tuple[str, ...] = ("lesion_id", "image_id", "dx")
#: When an image id is found in several folders, the official folders win.
PREFERRED_IMAGE_DIRS: tuple[str, ...] = ("HAM10000_images_part_1", "HAM10000_images_part_2", "HAM10000_images")
PREFERRED_MASK_DIRS: tuple[str, ...] = ("HAM10000_segmentations_lesion_tschandl",)


def _detect(root: Path) -> bool:
    return bool(find_named(root, METADATA_NAMES))


def find_metadata(root: Path) -> Path:
    """The metadata file in ``root`` (preferred) or exactly one sub-folder."""
    hits = find_named(root, METADATA_NAMES)
    if not hits:
        raise DataError(
            f"no HAM10000 metadata file in {root} or its sub-folders; expected one of {', '.join(METADATA_NAMES)}"
        )
    top = [p for p in hits if p.parent == root]
    if top:
        return top[0]
    if len({p.parent for p in hits}) > 1:
        listed = ", ".join(str(p) for p in hits)
        raise DataError(f"several HAM10000 metadata files under {root} ({listed}); pass the folder of one of them")
    return hits[0]


def read_metadata(path: Path) -> pd.DataFrame:
    """The metadata table with string ids; comma- or tab-separated (the file may lack an extension)."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    sep = "\t" if first.count("\t") > first.count(",") else ","
    meta = pd.read_csv(path, sep=sep, dtype={"lesion_id": str, "image_id": str, "dx": str}, encoding="utf-8-sig")
    meta.columns = [str(c).strip().strip('"') for c in meta.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in meta.columns]
    if missing:
        raise DataError(
            f"{path} lacks columns {missing}; HAM10000 metadata needs {list(REQUIRED_COLUMNS)} "
            f"(+ dx_type, age, sex, localization); found {list(meta.columns)}"
        )
    _refuse_blank_ids(path, meta)
    return meta


def _refuse_blank_ids(path: Path, meta: pd.DataFrame) -> None:
    """DataError naming the CSV lines whose ``lesion_id`` or ``image_id`` is empty.

    pandas reads an empty cell as NaN, and ``str(NaN)`` would merge every such row into one
    lesion called "nan": a split would then keep unrelated images together (or, worse, the
    user never learns that the grouping is missing).
    """
    for column in ("lesion_id", "image_id"):
        blank = meta[column].isna() | (meta[column].astype(str).str.strip() == "")
        if blank.any():
            lines = [int(i) + 2 for i in meta.index[blank]]  # +1 for the header, +1 for 1-based lines
            shown = ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
            raise DataError(
                f"{path}: {len(lines)} rows have an empty {column} (lines {shown}); every row needs one. "
                + (
                    "Fill in the lesion each image shows (images of one lesion share an id; an image whose "
                    "lesion is unknown gets an id of its own, e.g. its image_id)"
                    if column == "lesion_id"
                    else "Fill in the image file name without extension, or delete the rows"
                )
            )


def _unknown_dx(meta_path: Path, image_id: str, raw: object, dx: str) -> Problem:
    """The ``unknown_label`` problem for a dx outside :data:`HAM10000_CLASSES`, with a did-you-mean."""
    if not dx or dx == "nan":
        reason = "has no dx"
    else:
        close = difflib.get_close_matches(dx, HAM10000_CLASSES, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        reason = f"has dx {raw!r}{hint}, not one of {', '.join(HAM10000_CLASSES)}"
    return Problem(
        "unknown_label",
        "error",
        image_id,
        str(meta_path),
        f"{meta_path.name}: {image_id} {reason}; the row is left out. Correct the dx value",
    )


@register_reader(
    "ham10000",
    detect=_detect,
    expects="HAM10000_metadata.csv (or HAM10000_metadata) + <image_id>.jpg in any sub-folder "
    "(+ optional <image_id>_segmentation.png masks)",
)
def read_ham10000(root: str | Path) -> LesionTable:
    """HAM10000: metadata file + images in any sub-folder (+ optional Tschandl lesion masks).

    Metadata rows whose image file is missing, or whose ``dx`` is not a HAM10000 class, are kept
    out of ``records`` and listed in ``table.problems`` (as errors). Image files listed nowhere in
    the metadata are reported as one warning.
    """
    root = check_root(root)
    meta_path = find_metadata(root)
    meta = read_metadata(meta_path)
    images, masks = index_images_and_masks(root)
    problems: list[Problem] = []
    rows: list[dict] = []
    listed: set[str] = set()
    for rec in meta.to_dict("records"):
        image_id = str(rec["image_id"]).strip()
        lesion_id = str(rec["lesion_id"]).strip()
        dx = str(rec["dx"]).strip().lower()
        listed.add(image_id)
        if image_id not in images:
            problems.append(
                Problem(
                    "missing_file",
                    "error",
                    image_id,
                    str(root / f"{image_id}.jpg"),
                    f"{meta_path.name} lists {image_id} (lesion {lesion_id}, dx {dx}) but no file {image_id}.jpg "
                    f"exists anywhere under {root}; the row is left out. Restore the image or delete the row",
                )
            )
            continue
        if dx not in HAM10000_CLASSES:
            problems.append(_unknown_dx(meta_path, image_id, rec["dx"], dx))
            continue
        image = pick_one(image_id, images[image_id], "image", PREFERRED_IMAGE_DIRS, problems)
        mask = pick_one(image_id, masks[image_id], "mask", PREFERRED_MASK_DIRS, problems) if image_id in masks else None
        rows.append(
            {
                "image_id": image_id,
                "image_path": str(image),
                "mask_path": as_str(mask),
                "label": dx,
                "lesion_id": lesion_id,
                "age": rec.get("age"),
                "sex": rec.get("sex"),
                "site": rec.get("localization"),
                "source": "ham10000",
            }
        )
    unlisted = sorted(set(images) - listed)
    if unlisted:
        shown = ", ".join(str(images[i][0]) for i in unlisted[:5])
        problems.append(
            Problem(
                "unlisted_images",
                "warning",
                "",
                str(root),
                f"{len(unlisted)} image files under {root} are not in {meta_path.name} and were ignored "
                f"(e.g. {shown}); move them elsewhere if they do not belong to this data set",
            )
        )
    return LesionTable(make_records(rows), HAM10000_CLASSES, root, "ham10000", problems)
