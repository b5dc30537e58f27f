"""Data an evaluation is about to score, checked first: a figure never silently leaves images out.

Evaluation scores every image it is given. An image that cannot be decoded, or a row the reader
had to leave out (a label it does not know, a metadata row without its image), would otherwise
stop the run half-way with a traceback or quietly shrink the test set; both are refused here,
before any inference, with the data check's messages.
"""

from __future__ import annotations

import numpy as np

from dermkit.data.check import check_table
from dermkit.data.records import LesionTable
from dermkit.errors import DataProblems

SHOWN = 10


def check_evaluation_data(table: LesionTable, indices: np.ndarray, masks: bool) -> None:
    """Raise DataError listing every error among the rows ``indices`` of ``table`` (their images,
    and their masks when ``masks``) and every row the reader left out of ``table``."""
    sub = table.subset(np.asarray(indices))
    if not masks:
        sub.records["mask_path"] = None
    report = check_table(sub, hashes=False, progress=False)
    problems = [p for p in table.problems if p.severity == "error"] + report.errors
    if not problems:
        return
    shown = "\n".join(f"  - {p.message}" for p in problems[:SHOWN])
    more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    raise DataProblems(
        f"{table.root}: {len(problems)} problem(s) in the data to evaluate:\n{shown}{more}\n"
        "Evaluation scores every image it is given: fix or remove these files (`dermkit data check` lists them all)."
    )
