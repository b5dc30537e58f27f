"""Evaluate a segmentation run on a data set, the way the ISIC 2018 Task 1 scorer does.

Masks are predicted at each image's original size and compared with the original masks;
per-image Jaccard, thresholded Jaccard (0 below 0.65), Dice, accuracy, sensitivity,
specificity and precision go to ``per_image.csv``, their means to ``metrics.json`` (with 95 %
bootstrap intervals over lesions for Dice, Jaccard and thresholded Jaccard), and the worst images
to ``worst_cases.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from dermkit.data.records import LesionTable
from dermkit.errors import ConfigError, DataError
from dermkit.evaluation.checks import check_evaluation_data
from dermkit.evaluation.gallery import overlay_gallery
from dermkit.files import EVALUATION_MARKER, claim_output_dir, write_json
from dermkit.imageio import read_image, read_mask
from dermkit.inference import LoadedRun, predict_mask
from dermkit.metrics.bootstrap import bootstrap_ci
from dermkit.metrics.segmentation import score_masks

#: The per-image metrics whose means get a bootstrap interval in ``metrics.json["ci95"]``.
INTERVAL_METRICS = ("dice", "jaccard", "threshold_jaccard")


def evaluate_segmentation(
    run: LoadedRun,
    table: LesionTable,
    out_dir: str | Path,
    indices: np.ndarray | None = None,
    tta: bool | None = None,
    postprocess: bool | None = None,
    gallery_size: int = 8,
    progress: bool = True,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Score ``run`` on the rows ``indices`` of ``table`` (all rows with masks by default).

    Returns:
        the metrics written to ``out_dir/metrics.json``.
    """
    if n_boot < 1:
        raise ConfigError(f"n_boot={n_boot}: the bootstrap needs at least 1 resample (1000 by default)")
    records = table.records
    if indices is None:
        indices = np.flatnonzero(records["mask_path"].notna().to_numpy())
    if len(indices) == 0:
        raise DataError(f"{table.root}: no images with lesion masks to evaluate against")
    check_evaluation_data(table, indices, masks=True)
    out_dir = claim_output_dir(Path(out_dir), EVALUATION_MARKER, "evaluation", legacy=("metrics.json", "per_image.csv"))
    preds, truths, ids, images = [], [], [], []
    for row in tqdm(indices, desc="segmenting", unit="img", disable=not progress):
        rec = records.iloc[int(row)]
        image = read_image(rec["image_path"])
        truth = read_mask(rec["mask_path"], expected_hw=image.shape[:2])
        preds.append(predict_mask(run, image, tta=tta, postprocess=postprocess).astype(bool))
        truths.append(truth.astype(bool))
        ids.append(str(rec["image_id"]))
        images.append(rec["image_path"])
    scores = score_masks(preds, truths, ids)
    per_image = scores.per_image
    per_image.to_csv(out_dir / "per_image.csv")  # index: image_id
    metrics = {
        "images": len(ids),
        "data": str(table.root),
        "run": str(run.run_dir),
        **scores.means(),
        "tta": run.tta(tta),
        "postprocess": run.cfg.inference.postprocess if postprocess is None else postprocess,
        "ci95": mean_intervals(per_image, records["lesion_id"].iloc[indices].astype(str).to_numpy(), n_boot),
    }
    write_json(out_dir / "metrics.json", metrics)
    worst = np.argsort(per_image["jaccard"].to_numpy())[:gallery_size]
    items = [
        (f"{ids[i]}  J={per_image['jaccard'].iloc[i]:.2f}", read_image(images[i]), truths[i], preds[i]) for i in worst
    ]
    overlay_gallery(items, out_dir / "worst_cases.png", title="lowest Jaccard")
    return metrics


def mean_intervals(per_image, lesions: np.ndarray, n_boot: int) -> dict[str, list[float]]:
    """95 % percentile-bootstrap intervals of the :data:`INTERVAL_METRICS` means, resampling ``lesions``
    (one id per row of ``per_image``): images of one lesion are not independent."""
    intervals = {}
    for name in INTERVAL_METRICS:
        values = per_image[name].to_numpy()
        intervals[name] = list(bootstrap_ci(values, values, lesions, lambda t, _p: float(t.mean()), n_boot))
    return intervals
