"""ISIC 2018 Task 3 submission files, in the column order and value range the official scorer reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from dermkit.metrics._inputs import as_proba

#: ISIC 2018 Task 3 CSV columns (after ``image``), in the challenge's order, -> dermkit class
#: names (HAM10000 order is alphabetical: akiec, bcc, bkl, df, mel, nv, vasc).
ISIC_TASK3_COLUMNS: dict[str, str] = {
    "MEL": "mel", "NV": "nv", "BCC": "bcc", "AKIEC": "akiec",
    "BKL": "bkl", "DF": "df", "VASC": "vasc",
}  # fmt: skip


def write_isic_task3_csv(path: str | Path, image_ids: Sequence[str], proba: ArrayLike, classes: Sequence[str]) -> Path:
    """Write an ISIC 2018 Task 3 submission: ``image, MEL, NV, BCC, AKIEC, BKL, DF, VASC``.

    Args:
        path: Output CSV path.
        image_ids: ``N`` ids such as ``ISIC_0034321`` (a ``.jpg`` suffix is dropped).
        proba: ``(N, 7)`` probabilities in ``[0, 1]``, columns in ``classes`` order.
        classes: The 7 dermkit class names of ``proba``'s columns (any order, e.g. HAM10000's
            alphabetical one); they are mapped to the ISIC columns by name.

    Returns:
        ``path``.
    """
    p = as_proba(proba, len(image_ids))
    names = list(classes)
    expected = sorted(ISIC_TASK3_COLUMNS.values())
    if sorted(names) != expected or p.shape[1] != len(names):
        raise ValueError(f"classes must be the 7 Task 3 classes {expected} (any order); got {names}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must be in [0, 1] (the scorer rejects others)")
    ids = [str(i).removesuffix(".jpg") for i in image_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("image ids must be unique")
    frame = pd.DataFrame({"image": ids})
    for column, name in ISIC_TASK3_COLUMNS.items():
        frame[column] = p[:, names.index(name)]
    path = Path(path)
    frame.to_csv(path, index=False)
    return path
