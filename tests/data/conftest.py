"""Tiny fake data sets, one per real layout, built in tmp dirs from generated images.

Every image is smooth random colour noise from its own seed, so no two fixture images are
near-duplicates unless a test makes one on purpose. Sizes are small (96x72) to keep tests fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from PIL import Image

from dermkit.data.records import HAM10000_CLASSES, LesionTable, make_records

SIZE = (96, 72)  # (W, H)


def fake_image(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """Smooth random RGB image: 6x5 noise upsampled, distinct per seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    return Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)


def fake_mask(size: tuple[int, int] = SIZE) -> Image.Image:
    """0/255 ellipse-ish lesion mask, mode "L"."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((xx - w / 2) / (w / 3)) ** 2 + ((yy - h / 2) / (h / 3)) ** 2 <= 1
    return Image.fromarray((inside * 255).astype(np.uint8), "L")


def save(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """``write_image(path, seed, size=SIZE)`` writes a fake image (format from the suffix)."""
    return lambda path, seed, size=SIZE: save(fake_image(seed, size), Path(path))


@pytest.fixture
def write_mask() -> Callable[..., Path]:
    """``write_mask(path, size=SIZE)`` writes a 0/255 mask."""
    return lambda path, size=SIZE: save(fake_mask(size), Path(path))


# ---------------------------------------------------------------------------- HAM10000

HAM_ROWS = [  # lesion_id, image_id, dx, dx_type, age, sex, localization
    ("HAM_0000001", "ISIC_0000001", "nv", "follow_up", 45.0, "male", "back"),
    ("HAM_0000001", "ISIC_0000002", "nv", "follow_up", 45.0, "male", "back"),
    ("HAM_0000002", "ISIC_0000003", "mel", "histo", 70.0, "female", "face"),
    ("HAM_0000003", "ISIC_0000004", "bkl", "histo", None, "unknown", "unknown"),
    ("HAM_0000004", "ISIC_0000005", "vasc", "consensus", 30.0, "female", "lower extremity"),
]


@pytest.fixture
def ham_root(tmp_path: Path) -> Path:
    """HAM10000 as distributed: metadata without extension, images over part_1/part_2, masks
    (one a palette PNG) for all but the last image."""
    root = tmp_path / "ham"
    lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization"]
    lines += [",".join("" if v is None else str(v) for v in row) for row in HAM_ROWS]
    root.mkdir()
    (root / "HAM10000_metadata").write_text("\n".join(lines) + "\n")
    for k, row in enumerate(HAM_ROWS):
        part = "HAM10000_images_part_1" if k < 3 else "HAM10000_images_part_2"
        save(fake_image(k), root / part / f"{row[1]}.jpg")
    masks = root / "HAM10000_segmentations_lesion_tschandl"
    for row in HAM_ROWS[:-1]:
        save(fake_mask(), masks / f"{row[1]}_segmentation.png")
    # Official masks are sometimes palette PNGs: index 1 -> white.
    palette = Image.fromarray((np.asarray(fake_mask()) > 0).astype(np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    save(palette, masks / f"{HAM_ROWS[0][1]}_segmentation.png")
    return root


# ---------------------------------------------------------------------------- PH2

PH2_CASES = [("IMD003", "common_nevus"), ("IMD030", "atypical_nevus"), ("IMD058", "melanoma")]


def _ph2_images(root: Path, size: tuple[int, int] = (60, 45)) -> None:
    for k, (name, _) in enumerate(PH2_CASES):
        case = root / "PH2 Dataset images" / name
        save(fake_image(100 + k, size), case / f"{name}_Dermoscopic_Image" / f"{name}.bmp")
        save(fake_mask(size).convert("1"), case / f"{name}_lesion" / f"{name}_lesion.bmp")  # 1-bit like PH2


@pytest.fixture
def ph2_xlsx_root(tmp_path: Path) -> Path:
    """PH2 with a tiny copy of the original sheet's structure: legend block, a merged
    "Clinical Diagnosis" group row, then the "Image Name" header row and X marks."""
    root = tmp_path / "ph2x"
    _ph2_images(root)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Folha1"
    ws["F2"] = "Legends"
    ws.merge_cells("F2:K2")
    ws["F3"], ws["G3"], ws["H3"] = "Asymmetry", 0, "Fully Simmetric"
    ws["G4"], ws["H4"] = 1, "Symmetric in 1 axes"
    ws["C12"] = "Clinical Diagnosis"
    ws.merge_cells("C12:E12")
    ws["L12"] = "Colors"
    header = [
        "Image Name",
        "Histological Diagnosis",
        "Common Nevus",
        "Atypical Nevus",
        "Melanoma",
        "Asymmetry\n(0/1/2)",
        "Pigment Network\n(AT/T)",
        "Dots/Globules\n(A/AT/T)",
        "Streaks\n(A/P)",
        "Regression Areas\n(A/P)",
        "Blue-Whitish Veil\n(A/P)",
        "White",
        "Red",
    ]
    for col, text in enumerate(header, start=1):
        ws.cell(row=13, column=col, value=text)
    for r, (name, label) in enumerate(PH2_CASES, start=14):
        ws.cell(row=r, column=1, value=name)
        ws.cell(row=r, column=3 + ("common_nevus", "atypical_nevus", "melanoma").index(label), value="X")
        ws.cell(row=r, column=6, value=0)
        if label == "melanoma":
            ws.cell(row=r, column=2, value="Melanoma")
    book.save(root / "PH2_dataset.xlsx")
    return root


@pytest.fixture
def ph2_txt_root(tmp_path: Path) -> Path:
    """PH2 with the simplified tab-separated label file (and its legend debris at the end)."""
    root = tmp_path / "ph2t"
    _ph2_images(root)
    lines = ["Name\tClinical Diagnosis\tAsymmetry"]
    lines += [f"{n}\t{('common_nevus', 'atypical_nevus', 'melanoma').index(lab)}\t0" for n, lab in PH2_CASES]
    lines += ["\t\t", "gends f\t\t", "0 - Co\t\t"]
    (root / "PH2_dataset.txt").write_text("\n".join(lines) + "\n")
    return root


# ---------------------------------------------------------------------------- ISIC


@pytest.fixture
def isic_task1_root(tmp_path: Path) -> Path:
    """ISIC 2018 Task 1: input and ground-truth folders; a superpixels file to ignore; the last
    image has no mask."""
    root = tmp_path / "task1"
    for k in range(4):
        save(fake_image(200 + k), root / "ISIC2018_Task1-2_Training_Input" / f"ISIC_00000{k:02d}.jpg")
        if k < 3:
            save(fake_mask(), root / "ISIC2018_Task1_Training_GroundTruth" / f"ISIC_00000{k:02d}_segmentation.png")
    save(fake_image(299), root / "ISIC2018_Task1-2_Training_Input" / "ISIC_0000000_superpixels.png")
    return root


TASK3 = [
    ("ISIC_0024306", "NV", "HAM_0000550"),
    ("ISIC_0024307", "NV", "HAM_0000550"),
    ("ISIC_0024308", "MEL", "HAM_0002730"),
    ("ISIC_0024309", "BCC", "HAM_0001234"),
    ("ISIC_0024310", "AKIEC", "HAM_0004321"),
]


@pytest.fixture
def isic_task3_root(tmp_path: Path) -> Path:
    """ISIC 2018 Task 3: one-hot ground truth, images, lesion groupings."""
    root = tmp_path / "task3"
    cols = ["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]
    gt = ["image," + ",".join(cols)]
    gt += [img + "," + ",".join("1.0" if c == dx else "0.0" for c in cols) for img, dx, _ in TASK3]
    save_text(root / "ISIC2018_Task3_Training_GroundTruth" / "ISIC2018_Task3_Training_GroundTruth.csv", gt)
    groups = ["image,lesion_id,diagnosis_confirm_type"] + [f"{img},{les},histopathology" for img, _, les in TASK3]
    save_text(root / "ISIC2018_Task3_Training_LesionGroupings.csv", groups)
    for k, (img, _, _) in enumerate(TASK3):
        save(fake_image(300 + k), root / "ISIC2018_Task3_Training_Input" / f"{img}.jpg")
    return root


def save_text(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _isic2017(root: Path, with_sk: bool) -> Path:
    cases = [("ISIC_0000000", 0, 0), ("ISIC_0000001", 1, 0), ("ISIC_0000002", 0, 1), ("ISIC_0000003", 0, 0)]
    if with_sk:
        gt = ["image_id,melanoma,seborrheic_keratosis"] + [f"{i},{m:.1f},{s:.1f}" for i, m, s in cases]
    else:
        gt = ["image_id,melanoma"] + [f"{i},{m:.1f}" for i, m, _ in cases]
    save_text(root / "ISIC-2017_Training_Part3_GroundTruth.csv", gt)
    save_text(
        root / "ISIC-2017_Training_Data_metadata.csv",
        [
            "image_id,age_approximate,sex",
            "ISIC_0000000,55,female",
            "ISIC_0000001,unknown,unknown",
            "ISIC_0000002,30,male",
            "ISIC_0000003,40,female",
        ],
    )
    for k, (img, _, _) in enumerate(cases):
        save(fake_image(400 + k), root / "ISIC-2017_Training_Data" / f"{img}.jpg")
    return root


@pytest.fixture
def isic2017_root(tmp_path: Path) -> Path:
    """ISIC 2017 Part 3 with only the melanoma column (like the shared sample)."""
    return _isic2017(tmp_path / "isic2017", with_sk=False)


@pytest.fixture
def isic2017_sk_root(tmp_path: Path) -> Path:
    """ISIC 2017 Part 3 with melanoma and seborrheic_keratosis columns."""
    return _isic2017(tmp_path / "isic2017sk", with_sk=True)


# ---------------------------------------------------------------------------- folder per class


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    root = tmp_path / "folders"
    for k, (cls, name) in enumerate(
        [("nevus", "a.jpg"), ("nevus", "b.png"), ("melanoma", "c.jpg"), ("keratosis", "d.bmp")]
    ):
        save(fake_image(500 + k), root / cls / name)
    (root / "notes.txt").write_text("not a class")
    return root


# ---------------------------------------------------------------------------- a clean table to corrupt


@pytest.fixture
def clean_table(tmp_path: Path) -> LesionTable:
    """Six JPEGs with 0/255 masks, lesion L0 holding two images; no problems at all.

    Tests corrupt one file (or one record) and assert that exactly that is reported.
    """
    root = tmp_path / "clean"
    labels = ["nv", "nv", "mel", "bkl", "bcc", "df"]
    lesions = ["L0", "L0", "L1", "L2", "L3", "L4"]
    rows = []
    for k, (label, lesion) in enumerate(zip(labels, lesions, strict=True)):
        image = save(fake_image(600 + k), root / "images" / f"IMG{k}.jpg")
        mask = save(fake_mask(), root / "masks" / f"IMG{k}_segmentation.png")
        rows.append(
            {
                "image_id": f"IMG{k}",
                "image_path": str(image),
                "mask_path": str(mask),
                "label": label,
                "lesion_id": lesion,
                "source": "test",
            }
        )
    return LesionTable(make_records(rows), HAM10000_CLASSES, root, "test", [])
