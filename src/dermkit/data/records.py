"""The one in-memory form of every data set: a table of image records plus its class list.

Every reader (HAM10000, PH2, ISIC, folder-per-class, synthetic) returns a :class:`LesionTable`;
splits, checks, datasets and the trainer only ever see this form. One row is one image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: HAM10000 / ISIC 2018 Task 3 diagnosis codes, in HAM10000 (alphabetical) order.
HAM10000_CLASSES: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")

CLASS_DESCRIPTIONS: dict[str, str] = {
    "akiec": "actinic keratosis / intraepithelial carcinoma",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis-like lesion",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevus",
    "vasc": "vascular lesion",
    "common_nevus": "common nevus (PH2)",
    "atypical_nevus": "atypical nevus (PH2)",
    "melanoma": "melanoma",
    "other": "not melanoma",
    "nevus": "nevus",
    "seborrheic_keratosis": "seborrheic keratosis",
}

#: Sex categories; "unknown" is a category of its own (S4), never dropped.
SEXES: tuple[str, ...] = ("male", "female", "unknown")

#: Anatomical sites as HAM10000 spells them, plus "unknown" (S4 keeps it as a category).
SITES: tuple[str, ...] = (
    "abdomen",
    "acral",
    "back",
    "chest",
    "ear",
    "face",
    "foot",
    "genital",
    "hand",
    "lower extremity",
    "neck",
    "scalp",
    "trunk",
    "upper extremity",
    "unknown",
)

#: Columns of ``LesionTable.records``. ``label`` is the class name (None when unlabelled),
#: ``mask_path`` is None when the image has no mask, ``age`` is NaN when unknown.
RECORD_COLUMNS: tuple[str, ...] = (
    "image_id",
    "image_path",
    "mask_path",
    "label",
    "lesion_id",
    "age",
    "sex",
    "site",
    "source",
)


@dataclass(frozen=True)
class Metadata:
    """Patient and lesion facts that travel with an image."""

    image_id: str
    lesion_id: str
    age: float | None = None
    sex: str = "unknown"
    site: str = "unknown"


@dataclass
class Sample:
    """One decoded image with everything known about it.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 in {0, 1}, or None when the data set has no mask for this image.
        label: class index into the table's ``classes``, or None when unlabelled.
        meta: patient/lesion metadata.
    """

    image: np.ndarray
    mask: np.ndarray | None
    label: int | None
    meta: Metadata


@dataclass
class LesionTable:
    """A data set: one row per image (columns :data:`RECORD_COLUMNS`) and its class names.

    Attributes:
        records: the image table; paths are absolute strings.
        classes: class names; ``records.label`` values are among them (or None).
        root: the folder the data set was read from.
        layout: which reader produced it ("ham10000", "ph2", "isic2018_task1", ...).
        problems: problems found while indexing (e.g. a metadata row whose image file is
            missing); these rows are kept out of ``records`` but never silently: ``data check``
            and the trainer report them.
    """

    records: pd.DataFrame
    classes: tuple[str, ...]
    root: Path
    layout: str
    problems: list = field(default_factory=list)

    def __post_init__(self) -> None:
        missing = [c for c in RECORD_COLUMNS if c not in self.records.columns]
        if missing:
            raise ValueError(f"LesionTable.records lacks columns {missing}; expected {RECORD_COLUMNS}")
        self.records = self.records.loc[:, list(RECORD_COLUMNS)].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def has_masks(self) -> bool:
        return bool(self.records["mask_path"].notna().any())

    @property
    def has_labels(self) -> bool:
        return bool(self.records["label"].notna().any())

    def label_indices(self) -> np.ndarray:
        """Class index per row (-1 where unlabelled)."""
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup.get(lab, -1) for lab in self.records["label"]], dtype=np.int64)

    def class_counts(self) -> dict[str, int]:
        """Images per class, in class order (zero counts included)."""
        counts = self.records["label"].value_counts()
        return {c: int(counts.get(c, 0)) for c in self.classes}

    def lesion_counts(self) -> dict[str, int]:
        """Distinct lesions per class, in class order."""
        per = self.records.groupby("label")["lesion_id"].nunique()
        return {c: int(per.get(c, 0)) for c in self.classes}

    def subset(self, rows: np.ndarray | list[int] | pd.Series) -> LesionTable:
        """A table with the given rows (positional indices or boolean mask), same classes."""
        rows = np.asarray(rows)
        picked = self.records[rows] if rows.dtype == bool else self.records.iloc[rows]
        return LesionTable(picked.copy(), self.classes, self.root, self.layout, [])

    def metadata(self, i: int) -> Metadata:
        row = self.records.iloc[i]
        age = None if pd.isna(row["age"]) else float(row["age"])
        return Metadata(
            image_id=str(row["image_id"]),
            lesion_id=str(row["lesion_id"]),
            age=age,
            sex=str(row["sex"]),
            site=str(row["site"]),
        )


def make_records(rows: list[dict]) -> pd.DataFrame:
    """Build a records frame from dicts, filling absent columns with their "unknown" value."""
    defaults = {"mask_path": None, "label": None, "age": np.nan, "sex": "unknown", "site": "unknown", "source": ""}
    filled = [{**defaults, **r} for r in rows]
    for r in filled:
        r.setdefault("lesion_id", r["image_id"])
        r["sex"] = normalise_sex(r["sex"])
        r["site"] = normalise_site(r["site"])
    frame = pd.DataFrame(filled, columns=list(RECORD_COLUMNS))
    frame["age"] = pd.to_numeric(frame["age"], errors="coerce").astype(float)
    frame["mask_path"] = frame["mask_path"].astype(object).where(frame["mask_path"].notna(), None)
    frame["label"] = frame["label"].astype(object).where(frame["label"].notna(), None)
    return frame


def normalise_sex(value: object) -> str:
    """Map free-text sex to one of :data:`SEXES` ("unknown" for anything else)."""
    text = str(value).strip().lower() if value is not None and not pd.isna(value) else ""
    return {"male": "male", "m": "male", "female": "female", "f": "female"}.get(text, "unknown")


def normalise_site(value: object) -> str:
    """Map an anatomical site to one of :data:`SITES` ("unknown" for anything else)."""
    text = str(value).strip().lower() if value is not None and not pd.isna(value) else ""
    aliases = {
        "lower_extremity": "lower extremity",
        "upper_extremity": "upper extremity",
        "anterior torso": "trunk",
        "posterior torso": "back",
        "lateral torso": "trunk",
        "head/neck": "neck",
        "palms/soles": "acral",
        "oral/genital": "genital",
    }
    text = aliases.get(text, text)
    return text if text in SITES else "unknown"
