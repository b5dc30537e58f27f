"""Checking what a user hands ``dermkit predict``: age, sex and site, and a CSV of images with metadata.

Unknown values are errors with a did-you-mean, never silently turned into "unknown" (a typo such
as "femal" would otherwise drop the metadata the classifier uses without a word).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dermkit.data.records import SEXES, SITES, Metadata, normalise_sex, normalise_site
from dermkit.errors import DataError

MIN_AGE, MAX_AGE = 0, 120
#: Columns of a ``predict --csv`` file: ``image`` is required, the rest optional.
CSV_COLUMNS: tuple[str, ...] = ("image", "age", "sex", "site")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def parse_age(value: object) -> float | None:
    """An age in years (0..120) from text or a number; blank -> None (unknown).

    Raises:
        DataError: not a number, or outside 0..120.
    """
    if _blank(value):
        return None
    try:
        age = float(str(value).strip())
    except ValueError:
        raise DataError(f"age {value!r} is not a number; give the age in years ({MIN_AGE}..{MAX_AGE})") from None
    if not math.isfinite(age) or not MIN_AGE <= age <= MAX_AGE:
        raise DataError(f"age {value!r} is outside {MIN_AGE}..{MAX_AGE}; give the age in years")
    return age


def _known(value: object, what: str, allowed: Sequence[str], normalise) -> str:
    """``value`` normalised to one of ``allowed``; an unknown spelling is an error with a suggestion."""
    if _blank(value):
        return "unknown"
    text = str(value).strip().lower()
    found = normalise(text)
    if found != "unknown" or text == "unknown":
        return found
    close = difflib.get_close_matches(text, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise DataError(f"{what} {value!r} is not known; {hint}known values: {', '.join(allowed)}")


def parse_sex(value: object) -> str:
    """One of :data:`SEXES` ("m"/"f" accepted); blank -> "unknown". Raises DataError otherwise."""
    return _known(value, "sex", SEXES, normalise_sex)


def parse_site(value: object) -> str:
    """One of :data:`SITES` (HAM10000/ISIC aliases accepted); blank -> "unknown". Raises DataError otherwise."""
    return _known(value, "site", SITES, normalise_site)


def make_metadata(image_id: str, age: object = None, sex: object = None, site: object = None) -> Metadata | None:
    """Checked metadata for one image; None when nothing was given (the classifier then sees none)."""
    if all(_blank(v) for v in (age, sex, site)):
        return None
    return Metadata(
        image_id=image_id, lesion_id=image_id, age=parse_age(age), sex=parse_sex(sex), site=parse_site(site)
    )


@dataclass(frozen=True)
class ImageRequest:
    """One image to analyse and its raw metadata (checked when it is analysed): a row of a ``--csv``
    file (the path resolved against the CSV's folder) or an image named on the command line."""

    path: Path
    age: object = None
    sex: object = None
    site: object = None

    @property
    def id(self) -> str:
        return self.path.stem


def read_image_csv(path: Path) -> list[ImageRequest]:
    """The rows of a CSV with columns ``image[,age,sex,site]``; metadata is checked per image later.

    Raises:
        DataError: the file cannot be read, lacks an ``image`` column, or has no rows.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the CSV ({exc}); give columns {', '.join(CSV_COLUMNS)}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "image" not in frame.columns:
        raise DataError(
            f"{path}: no 'image' column (found {list(frame.columns)}); give columns {', '.join(CSV_COLUMNS)}"
        )
    if frame.empty:
        raise DataError(f"{path}: has no rows; list one image per row")
    base = path.parent
    rows = []
    for record in frame.to_dict("records"):
        image = Path(str(record["image"]).strip()).expanduser()
        rows.append(
            ImageRequest(image if image.is_absolute() else base / image, *(record.get(c) for c in CSV_COLUMNS[1:]))
        )
    return rows
