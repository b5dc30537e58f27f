"""PH2 (Mendonça et al., IEEE EMBC 2013) in its original layout.

Layout::

    root/PH2 Dataset images/IMD003/IMD003_Dermoscopic_Image/IMD003.bmp
    root/PH2 Dataset images/IMD003/IMD003_lesion/IMD003_lesion.bmp
    root/PH2_dataset.xlsx     original sheet: header row with "Image Name", an "X" under
                              Common Nevus / Atypical Nevus / Melanoma
    root/PH2_dataset.txt      or a tab-separated copy: Name, Clinical Diagnosis (0/1/2), Asymmetry
                              (the original "|| Name || ... ||" table is read too)

One image per lesion, so ``lesion_id = image_id``. Masks are 1-bit BMPs (one is 3-channel);
``dermkit.imageio.read_mask`` handles both.
"""

from __future__ import annotations

import re
from pathlib import Path

from dermkit.data.problems import Problem
from dermkit.data.readers._registry import register_reader
from dermkit.data.readers._scan import as_str, check_root, find_named
from dermkit.data.records import LesionTable, make_records
from dermkit.errors import DataError

PH2_CLASSES: tuple[str, ...] = ("common_nevus", "atypical_nevus", "melanoma")
IMAGES_DIR = "PH2 Dataset images"
LABEL_FILES: tuple[str, ...] = ("PH2_dataset.xlsx", "PH2_dataset.txt")
_CASE_RE = re.compile(r"^IMD\d+$")
#: Sheet column header (first line, lower case) -> class.
_SHEET_CLASS_COLUMNS = {"common nevus": "common_nevus", "atypical nevus": "atypical_nevus", "melanoma": "melanoma"}


def _find_images_dir(root: Path) -> Path | None:
    for cand in [root / IMAGES_DIR, *sorted(root.glob(f"*/{IMAGES_DIR}"))]:
        if cand.is_dir():
            return cand
    return None


def _detect(root: Path) -> bool:
    return _find_images_dir(root) is not None or bool(find_named(root, LABEL_FILES))


def _norm(cell: object) -> str:
    """First line of a cell, stripped and lower-cased ("Asymmetry\n(0/1/2)" -> "asymmetry")."""
    text = "" if cell is None else str(cell).strip()
    return text.splitlines()[0].strip().lower() if text else ""


def read_labels_xlsx(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """Labels from the original PH2 sheet: the row holding "Image Name" is the header."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    header_at = next((i for i, r in enumerate(rows) if any(_norm(c) == "image name" for c in r)), None)
    if header_at is None:
        raise DataError(f"{path}: no header row with an 'Image Name' cell; is this the original PH2_dataset.xlsx?")
    header = [_norm(c) for c in rows[header_at]]
    name_col = header.index("image name")
    class_cols = {i: _SHEET_CLASS_COLUMNS[h] for i, h in enumerate(header) if h in _SHEET_CLASS_COLUMNS}
    if len(class_cols) != len(PH2_CLASSES):
        raise DataError(
            f"{path}: header row {header_at + 1} needs columns Common Nevus, Atypical Nevus and Melanoma; "
            f"found {[h for h in header if h]}"
        )
    labels: dict[str, str] = {}
    problems: list[Problem] = []
    for row in rows[header_at + 1 :]:
        name = _norm(row[name_col] if name_col < len(row) else None).upper()
        if not _CASE_RE.match(name):
            continue  # blank or legend rows
        marked = [cls for i, cls in class_cols.items() if i < len(row) and _norm(row[i]) == "x"]
        if len(marked) != 1:
            problems.append(_bad_label(path, name, f"{len(marked)} diagnosis columns marked with X ({marked})"))
            continue
        labels[name] = marked[0]
    return labels, problems


def read_labels_txt(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """Labels from PH2_dataset.txt: tab-separated (Name, Clinical Diagnosis 0/1/2, ...) or "||" table."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    split = (
        (lambda ln: [c.strip() for c in ln.strip().strip("|").split("||")])
        if any(ln.lstrip().startswith("||") for ln in lines[:5])
        else (lambda ln: [c.strip() for c in ln.split("\t")])
    )
    header_at = next((i for i, ln in enumerate(lines) if "clinical diagnosis" in ln.lower()), None)
    if header_at is None:
        raise DataError(f"{path}: no header line with 'Name' and 'Clinical Diagnosis'")
    header = [c.lower() for c in split(lines[header_at])]
    name_col = header.index("name") if "name" in header else 0
    dx_col = header.index("clinical diagnosis")
    labels: dict[str, str] = {}
    problems: list[Problem] = []
    for line in lines[header_at + 1 :]:
        cells = split(line)
        name = cells[name_col].upper() if name_col < len(cells) else ""
        if not _CASE_RE.match(name):
            continue  # blank or legend lines
        code = cells[dx_col] if dx_col < len(cells) else ""
        if code not in ("0", "1", "2"):
            problems.append(_bad_label(path, name, f"clinical diagnosis {code!r} is not 0, 1 or 2"))
            continue
        labels[name] = PH2_CLASSES[int(code)]
    return labels, problems


def _bad_label(path: Path, name: str, reason: str) -> Problem:
    return Problem(
        "bad_label",
        "error",
        name,
        str(path),
        f"{path.name}: {name} has {reason}; the case is left out. Fix its row in the sheet",
    )


@register_reader(
    "ph2",
    detect=_detect,
    expects=f"'{IMAGES_DIR}/IMDxxx/IMDxxx_Dermoscopic_Image/IMDxxx.bmp' + PH2_dataset.xlsx or PH2_dataset.txt",
)
def read_ph2(root: str | Path) -> LesionTable:
    """PH2: case folders with dermoscopic image + lesion mask, labels from the xlsx (preferred) or txt."""
    root = check_root(root)
    images_dir = _find_images_dir(root)
    if images_dir is None:
        raise DataError(f"no '{IMAGES_DIR}' folder in {root} or its sub-folders; expected {IMAGES_DIR}/IMDxxx/...")
    label_files = find_named(root, LABEL_FILES)
    xlsx = [p for p in label_files if p.suffix.lower() == ".xlsx"]
    label_file = (xlsx or label_files or [None])[0]
    if label_file is None:
        raise DataError(f"no PH2 label file in {root}; expected {' or '.join(LABEL_FILES)}")
    reader = read_labels_xlsx if label_file.suffix.lower() == ".xlsx" else read_labels_txt
    labels, problems = reader(label_file)

    cases = {d.name.upper(): d for d in images_dir.iterdir() if d.is_dir() and _CASE_RE.match(d.name.upper())}
    rows: list[dict] = []
    for name in sorted(labels):
        case_dir = cases.get(name)
        image = None if case_dir is None else case_dir / f"{case_dir.name}_Dermoscopic_Image" / f"{case_dir.name}.bmp"
        if image is None or not image.is_file():
            expected = images_dir / name / f"{name}_Dermoscopic_Image" / f"{name}.bmp"
            problems.append(
                Problem(
                    "missing_file",
                    "error",
                    name,
                    str(expected),
                    f"{label_file.name} lists {name} but its image {expected} does not exist; the case is left out. "
                    "Restore the case folder or delete the row",
                )
            )
            continue
        mask = case_dir / f"{case_dir.name}_lesion" / f"{case_dir.name}_lesion.bmp"
        if not mask.is_file():
            problems.append(
                Problem(
                    "missing_mask",
                    "warning",
                    name,
                    str(mask),
                    f"lesion mask {mask} does not exist; {name} is kept without a mask (no segmentation target)",
                )
            )
            mask = None
        rows.append(
            {
                "image_id": name,
                "image_path": str(image),
                "mask_path": as_str(mask),
                "label": labels[name],
                "lesion_id": name,
                "source": "ph2",
            }
        )
    reported = {p.image_id for p in problems if p.kind == "bad_label"}
    unlabelled = sorted(set(cases) - set(labels) - reported)
    if unlabelled:
        problems.append(
            Problem(
                "unlabelled_images",
                "warning",
                "",
                str(images_dir),
                f"{len(unlabelled)} case folders in {images_dir} have no row in {label_file.name} and were ignored "
                f"({', '.join(unlabelled[:10])}); add their diagnosis to the sheet to use them",
            )
        )
    return LesionTable(make_records(rows), PH2_CLASSES, root, "ph2", problems)
