"""ISIC challenge layouts: 2018 Task 1 (segmentation), 2018 Task 3 (7 classes), 2017 Part 3 (melanoma).

Images are ``ISIC_<digits>.jpg`` and masks ``ISIC_<digits>_segmentation.png`` anywhere under the
root (``*_superpixels.png`` and attribute masks are ignored); ground-truth CSVs sit in the root
or one level down and are recognised by their header, not their file name, so training and
validation CSVs found together are read together.

- ``isic2018_task1``: images + masks, no labels (``classes = ()``); images without a mask (the
  test split) are kept with ``mask_path`` None.
- ``isic2018_task3``: CSV ``image, MEL, NV, BCC, AKIEC, BKL, DF, VASC`` (one-hot) -> HAM10000 classes;
  ``ISIC2018_Task3_Training_LesionGroupings.csv`` (``image, lesion_id``) when present.
- ``isic2017``: CSV ``image_id, melanoma[, seborrheic_keratosis]`` (+ metadata CSV ``image_id,
  age_approximate, sex``): classes ("other", "melanoma") or ("nevus", "melanoma",
  "seborrheic_keratosis") when the keratosis column is there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dermkit.data.problems import Problem
from dermkit.data.readers._registry import register_reader
from dermkit.data.readers._scan import (
    ISIC_IMAGE_RE,
    MASK_SUFFIX,
    as_str,
    check_root,
    csv_header,
    files_near_root,
    find_csvs,
    index_images_and_masks,
    pick_one,
)
from dermkit.data.records import HAM10000_CLASSES, LesionTable, make_records
from dermkit.errors import DataError

#: ISIC 2018 Task 3 one-hot columns -> HAM10000 class names.
TASK3_COLUMNS: dict[str, str] = {
    "MEL": "mel",
    "NV": "nv",
    "BCC": "bcc",
    "AKIEC": "akiec",
    "BKL": "bkl",
    "DF": "df",
    "VASC": "vasc",
}
ISIC2017_BINARY_CLASSES: tuple[str, ...] = ("other", "melanoma")
ISIC2017_CLASSES: tuple[str, ...] = ("nevus", "melanoma", "seborrheic_keratosis")


# ------------------------------------------------------------------------------------ detection


def _detect_task3(root: Path) -> bool:
    return bool(find_csvs(root, {"image", *TASK3_COLUMNS}))


def _detect_2017(root: Path) -> bool:
    return bool(find_csvs(root, {"image_id", "melanoma"}))


def _detect_task1(root: Path) -> bool:
    names = [p.name for p in files_near_root(root)]
    return any(n.lower().endswith(MASK_SUFFIX) for n in names) and any(ISIC_IMAGE_RE.match(n) for n in names)


# ------------------------------------------------------------------------------------ helpers


def _read_csvs(paths: list[Path], id_column: str) -> pd.DataFrame:
    frames = []
    for p in paths:
        frame = pd.read_csv(p, dtype={id_column: str}, encoding="utf-8-sig")
        frame.columns = [str(c).strip() for c in frame.columns]
        frame["_csv"] = p.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _flag(value: object) -> float:
    """A ground-truth cell as a number (NaN when empty or not numeric)."""
    try:
        return float(str(value).strip())
    except ValueError:
        return float("nan")


def _labelled_rows(
    root: Path,
    gt: pd.DataFrame,
    id_column: str,
    labels: dict[str, str | None],
    layout: str,
    extra: dict[str, dict] | None = None,
) -> tuple[list[dict], list[Problem]]:
    """Records for ground-truth rows whose image exists; problems for the rest and for stray images.

    Args:
        labels: image id -> class name, or None when the row's label is invalid (already reported).
        extra: image id -> extra record fields (lesion_id, age, sex, ...).
    """
    images, masks = index_images_and_masks(root)
    problems: list[Problem] = []
    rows: list[dict] = []
    for image_id, csv_name in zip(gt[id_column], gt["_csv"], strict=True):
        label = labels.get(image_id)
        if label is None:
            continue
        if image_id not in images:
            problems.append(
                Problem(
                    "missing_file",
                    "error",
                    image_id,
                    str(root / f"{image_id}.jpg"),
                    f"{csv_name} lists {image_id} but no file {image_id}.jpg exists anywhere under {root}; "
                    "the row is left out. Restore the image or delete the row",
                )
            )
            continue
        image = pick_one(image_id, images[image_id], "image", problems=problems)
        mask = pick_one(image_id, masks[image_id], "mask", problems=problems) if image_id in masks else None
        rows.append(
            {
                "image_id": image_id,
                "image_path": str(image),
                "mask_path": as_str(mask),
                "label": label,
                "source": layout,
                **(extra or {}).get(image_id, {}),
            }
        )
    listed = set(gt[id_column])
    stray = sorted(i for i in images if ISIC_IMAGE_RE.match(images[i][0].name) and i not in listed)
    if stray:
        problems.append(
            Problem(
                "unlisted_images",
                "warning",
                "",
                str(root),
                f"{len(stray)} ISIC images under {root} have no ground-truth row and were ignored "
                f"(e.g. {', '.join(stray[:5])}); move them elsewhere if they do not belong to this data set",
            )
        )
    return rows, problems


def _bad_label(image_id: str, csv_name: str, root: Path, reason: str) -> Problem:
    return Problem(
        "bad_label",
        "error",
        image_id,
        str(root / csv_name),
        f"{csv_name}: {image_id} {reason}; the row is left out. Fix the ground-truth row",
    )


# ------------------------------------------------------------------------------------ readers


@register_reader(
    "isic2018_task1",
    detect=_detect_task1,
    expects="ISIC_xxxxxxx.jpg images + ISIC_xxxxxxx_segmentation.png masks (root or its sub-folders), no labels",
)
def read_isic2018_task1(root: str | Path) -> LesionTable:
    """ISIC 2018 Task 1: images and lesion masks matched by id; unlabelled (``classes = ()``)."""
    root = check_root(root)
    images, masks = index_images_and_masks(root)
    images = {k: v for k, v in images.items() if ISIC_IMAGE_RE.match(v[0].name)}
    if not images:
        raise DataError(f"no ISIC_<digits>.jpg images under {root}")
    problems: list[Problem] = []
    rows = []
    for image_id in sorted(images):
        image = pick_one(image_id, images[image_id], "image", problems=problems)
        mask = pick_one(image_id, masks[image_id], "mask", problems=problems) if image_id in masks else None
        rows.append(
            {"image_id": image_id, "image_path": str(image), "mask_path": as_str(mask), "source": "isic2018_task1"}
        )
    orphans = sorted(set(masks) - set(images))
    if orphans:
        problems.append(
            Problem(
                "orphan_masks",
                "warning",
                "",
                str(root),
                f"{len(orphans)} masks under {root} have no image and were ignored "
                f"(e.g. {', '.join(str(masks[o][0]) for o in orphans[:5])}); restore their images or remove them",
            )
        )
    return LesionTable(make_records(rows), (), root, "isic2018_task1", problems)


@register_reader(
    "isic2018_task3",
    detect=_detect_task3,
    expects="CSV with columns image,MEL,NV,BCC,AKIEC,BKL,DF,VASC + ISIC_xxxxxxx.jpg images "
    "(+ optional LesionGroupings CSV image,lesion_id)",
)
def read_isic2018_task3(root: str | Path) -> LesionTable:
    """ISIC 2018 Task 3: one-hot ground truth -> HAM10000 classes, lesion ids from the groupings CSV."""
    root = check_root(root)
    gt_paths = find_csvs(root, {"image", *TASK3_COLUMNS})
    if not gt_paths:
        raise DataError(f"no ground-truth CSV with columns image,{','.join(TASK3_COLUMNS)} in {root} or one level down")
    gt = _read_csvs(gt_paths, "image")
    gt["image"] = gt["image"].str.strip()
    problems: list[Problem] = []
    labels: dict[str, str | None] = {}
    for rec in gt.to_dict("records"):
        flags = {col: _flag(rec[col]) for col in TASK3_COLUMNS}
        hot = [col for col, v in flags.items() if v == 1.0]
        valid = all(v in (0.0, 1.0) for v in flags.values())
        if len(hot) != 1 or not valid:
            problems.append(
                _bad_label(
                    rec["image"], rec["_csv"], root, f"is not one-hot over {','.join(TASK3_COLUMNS)} (values {flags})"
                )
            )
            labels[rec["image"]] = None
        else:
            labels[rec["image"]] = TASK3_COLUMNS[hot[0]]

    extra: dict[str, dict] = {}
    group_paths = find_csvs(root, {"image", "lesion_id"})
    if group_paths:
        groups = _read_csvs(group_paths, "image")
        extra = {
            str(i).strip(): {"lesion_id": str(lesion).strip()}
            for i, lesion in zip(groups["image"], groups["lesion_id"], strict=True)
        }
    else:
        problems.append(
            Problem(
                "no_lesion_ids",
                "warning",
                "",
                str(root),
                f"no lesion-groupings CSV (image, lesion_id; ISIC2018_Task3_Training_LesionGroupings.csv) in {root}: "
                "every image counts as its own lesion, so splits may put images of one lesion on both sides. "
                "Add the groupings file from the ISIC archive",
            )
        )
    rows, more = _labelled_rows(root, gt, "image", labels, "isic2018_task3", extra)
    return LesionTable(make_records(rows), HAM10000_CLASSES, root, "isic2018_task3", problems + more)


@register_reader(
    "isic2017",
    detect=_detect_2017,
    expects="CSV with columns image_id,melanoma[,seborrheic_keratosis] + ISIC_xxxxxxx.jpg images "
    "(+ optional metadata CSV image_id,age_approximate,sex)",
)
def read_isic2017(root: str | Path) -> LesionTable:
    """ISIC 2017 Part 3: melanoma (and seborrheic keratosis) ground truth, optional age/sex metadata."""
    root = check_root(root)
    gt_paths = find_csvs(root, {"image_id", "melanoma"})
    if not gt_paths:
        raise DataError(f"no ground-truth CSV with columns image_id,melanoma in {root} or one level down")
    with_sk = ["seborrheic_keratosis" in csv_header(p) for p in gt_paths]
    if any(with_sk) and not all(with_sk):
        listed = ", ".join(
            f"{p.name} ({'with' if sk else 'without'} seborrheic_keratosis)"
            for p, sk in zip(gt_paths, with_sk, strict=True)
        )
        raise DataError(
            f"ISIC 2017 ground-truth CSVs in {root} disagree on their columns: {listed}; keep only files of one kind"
        )
    three_class = all(with_sk)
    classes = ISIC2017_CLASSES if three_class else ISIC2017_BINARY_CLASSES
    gt = _read_csvs(gt_paths, "image_id")
    gt["image_id"] = gt["image_id"].str.strip()
    problems: list[Problem] = []
    labels: dict[str, str | None] = {}
    for rec in gt.to_dict("records"):
        mel = _flag(rec["melanoma"])
        sk = _flag(rec["seborrheic_keratosis"]) if three_class else 0.0
        if mel not in (0.0, 1.0) or sk not in (0.0, 1.0) or mel + sk > 1:
            what = f"melanoma={rec['melanoma']}"
            if three_class:
                what += f", seborrheic_keratosis={rec['seborrheic_keratosis']}"
            problems.append(_bad_label(rec["image_id"], rec["_csv"], root, f"has an invalid label ({what})"))
            labels[rec["image_id"]] = None
        elif mel == 1.0:
            labels[rec["image_id"]] = "melanoma"
        elif sk == 1.0:
            labels[rec["image_id"]] = "seborrheic_keratosis"
        else:
            labels[rec["image_id"]] = classes[0]

    extra: dict[str, dict] = {}
    meta_paths = [p for p in find_csvs(root, {"image_id"}) if p not in gt_paths]
    meta_paths = [p for p in meta_paths if {"age_approximate", "sex"} & set(csv_header(p))]
    if meta_paths:
        meta = _read_csvs(meta_paths, "image_id")
        for rec in meta.to_dict("records"):
            extra[str(rec["image_id"]).strip()] = {"age": rec.get("age_approximate"), "sex": rec.get("sex")}
    rows, more = _labelled_rows(root, gt, "image_id", labels, "isic2017", extra)
    return LesionTable(make_records(rows), classes, root, "isic2017", problems + more)
