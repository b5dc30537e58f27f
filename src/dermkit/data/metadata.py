"""Patient metadata as a fixed-length vector (S4): age, sex one-hot, anatomical site one-hot.

"unknown" is a category of its own for sex and site; a missing age is 0 with a missing flag,
so the network can tell "unknown" from "age 0".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dermkit.data.records import SEXES, SITES, Metadata

if TYPE_CHECKING:
    from dermkit.data.records import LesionTable

#: Age is scaled by this so typical ages fall in [0, 1].
AGE_SCALE = 100.0

#: Length of :func:`encode_metadata`'s output: age, age-missing flag, sex one-hot, site one-hot.
METADATA_DIM = 2 + len(SEXES) + len(SITES)


def encode_metadata(meta: Metadata) -> np.ndarray:
    """(METADATA_DIM,) float32 vector: [age/100, age missing, sex one-hot, site one-hot]."""
    vec = np.zeros(METADATA_DIM, dtype=np.float32)
    if meta.age is None or not np.isfinite(meta.age):
        vec[1] = 1.0
    else:
        vec[0] = float(meta.age) / AGE_SCALE
    vec[2 + SEXES.index(meta.sex if meta.sex in SEXES else "unknown")] = 1.0
    vec[2 + len(SEXES) + SITES.index(meta.site if meta.site in SITES else "unknown")] = 1.0
    return vec


def metadata_matrix(table: LesionTable, rows: np.ndarray) -> np.ndarray:
    """(N, METADATA_DIM) float32: :func:`encode_metadata` of the table rows ``rows``, in order."""
    if len(rows) == 0:
        return np.zeros((0, METADATA_DIM), dtype=np.float32)
    return np.stack([encode_metadata(table.metadata(int(i))) for i in rows])
