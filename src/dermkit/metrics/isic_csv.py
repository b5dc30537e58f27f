"""ISIC 2018 Task 3 submission files, in the column order and value range the official scorer reads.

One BMA, whoever scores it: the official scorer (``isic-challenge-scoring``) decides each image by
the argmax of the file's seven scores, but a dermkit run decides by its calibration's rule,
``argmax p / divisors`` (:meth:`~dermkit.calibration.Calibration.decide`; the ``prior`` rule's
divisors are the validation class priors). A file of calibrated probabilities ``p`` would be
scored on the plain argmax, i.e. on the data's priors, and get a lower balanced accuracy than
dermkit reports for the same predictions. So :func:`write_isic_task3_csv` with ``divisors`` writes
*decision-consistent scores* (:func:`decision_scores`): ``p / divisors`` renormalised to sum 1 per
image, whose argmax is the run's decision (ties included), so the scorer's balanced accuracy is
the one ``dermkit evaluate cls`` reports. They are scores in [0, 1], not calibrated probabilities
(those stay in ``predictions.csv``). Per-class AUCs computed from the file can differ slightly
from dermkit's, which use the calibrated probabilities: dividing by a class's divisor keeps that
class's ranking of the images, the per-image renormalisation does not quite. (The scorer also
gives image ``ISIC_0035068``, a known HAM10000 duplicate, weight 0: on a set holding it, its
figures leave that image out.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from dermkit.metrics._inputs import as_proba
from dermkit.metrics.decision import predict_with_thresholds

#: ISIC 2018 Task 3 CSV columns (after ``image``), in the challenge's order, -> dermkit class
#: names (HAM10000 order is alphabetical: akiec, bcc, bkl, df, mel, nv, vasc).
ISIC_TASK3_COLUMNS: dict[str, str] = {
    "MEL": "mel", "NV": "nv", "BCC": "bcc", "AKIEC": "akiec",
    "BKL": "bkl", "DF": "df", "VASC": "vasc",
}  # fmt: skip

#: Relative lead the decided class keeps over the runner-up in :func:`decision_scores`.
TIE_MARGIN = 1e-9


def decision_scores(proba: ArrayLike, divisors: ArrayLike | None = None) -> NDArray[np.float64]:
    """``(N, C)`` scores whose argmax is the decision ``argmax proba / divisors``, each row summing to 1.

    The scores are ``proba / divisors`` renormalised per row. The official scorer counts an image
    whose highest score is shared by two classes as undecided (always wrong), whereas dermkit's
    decision takes the lowest class index of a tie; and the scorer's CSV parser (pandas' default)
    may move a value by a unit in the last place. So where the decided class does not lead the
    runner-up by a relative :data:`TIE_MARGIN`, its score is raised to that lead: the file's argmax
    is then exactly dermkit's decision, at the cost of a row sum above 1 by at most ~1e-9.

    Args:
        proba: ``(N, C)`` probabilities.
        divisors: ``(C,)`` positive per-class divisors (a calibration's ``divisors``); ``None``
            means plain argmax decisions (the scores are then ``proba`` renormalised).

    Raises:
        ValueError: Bad shapes, non-positive divisors, or a row with no positive score.
    """
    p = as_proba(proba)
    if np.any(p < 0):
        raise ValueError("proba must be non-negative")
    decided = predict_with_thresholds(p, divisors)  # validates the divisors
    scaled = p if divisors is None else p / np.asarray(divisors, dtype=np.float64)
    totals = scaled.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("every row of proba needs a positive probability")
    scores = scaled / totals
    rows = np.arange(len(scores))
    others = scores.copy()
    others[rows, decided] = -np.inf
    lead = others.max(axis=1) * (1 + TIE_MARGIN)  # the runner-up, raised by the margin
    close = scores[rows, decided] < lead  # ties (p / d equal) and leads a CSV round trip could undo
    scores[rows[close], decided[close]] = lead[close]
    return scores


def write_isic_task3_csv(
    path: str | Path,
    image_ids: Sequence[str],
    proba: ArrayLike,
    classes: Sequence[str],
    divisors: ArrayLike | None = None,
) -> Path:
    """Write an ISIC 2018 Task 3 submission: ``image, MEL, NV, BCC, AKIEC, BKL, DF, VASC``.

    Args:
        path: Output CSV path.
        image_ids: ``N`` ids such as ``ISIC_0034321`` (a ``.jpg`` suffix is dropped).
        proba: ``(N, 7)`` probabilities in ``[0, 1]``, columns in ``classes`` order.
        classes: The 7 dermkit class names of ``proba``'s columns (any order, e.g. HAM10000's
            alphabetical one); they are mapped to the ISIC columns by name.
        divisors: The run's decision divisors (``(7,)``, ``classes`` order): the file then holds
            :func:`decision_scores`, whose argmax is the run's decision, so the official scorer
            reproduces dermkit's balanced accuracy (module doc). ``None`` writes ``proba`` as given.

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
    if divisors is not None:
        p = decision_scores(p, divisors)
    ids = [str(i).removesuffix(".jpg") for i in image_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("image ids must be unique")
    frame = pd.DataFrame({"image": ids})
    for column, name in ISIC_TASK3_COLUMNS.items():
        frame[column] = p[:, names.index(name)]
    path = Path(path)
    frame.to_csv(path, index=False)
    return path
