"""Cross-check against the official ISIC scorer (isic-challenge-scoring) on PNG folders.

Truth and prediction masks are written as ISIC submissions (``ISIC_xxxxxxx_segmentation.png``,
8-bit greyscale) and scored by the scorer's own ``SegmentationScore.from_dir``; per-image
values are recomputed with its confusion and metric functions. Ours must agree to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermkit.metrics import score_masks

isic_segmentation = pytest.importorskip("isic_challenge_scoring.segmentation")
from isic_challenge_scoring import metrics as isic_metrics  # noqa: E402
from isic_challenge_scoring.confusion import create_binary_confusion_matrix  # noqa: E402
from isic_challenge_scoring.load_image import iter_image_pairs  # noqa: E402


def ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def make_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """~12 (truth, prediction) uint8 pairs covering blobs, empties, fulls, odd grey values."""
    rng = np.random.default_rng(2018)
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    to_u8 = lambda m: (m * 255).astype(np.uint8)  # noqa: E731
    for i, shift in enumerate([0, 2, 4, 6, 9, 14]):  # from perfect to poor overlap
        shape = (48 + 4 * i, 64)
        truth = ellipse(shape, 24, 30, 14, 18)
        pred = ellipse(shape, 24 + shift / 2, 30 + shift, 13, 17 + i)
        pairs[f"ISIC_00000{10 + i:02d}"] = (to_u8(truth), to_u8(pred))
    shape = (40, 40)
    blob = ellipse(shape, 20, 20, 10, 12)
    empty = np.zeros(shape, bool)
    full = np.ones(shape, bool)
    pairs["ISIC_0000020"] = (to_u8(empty), to_u8(empty))  # empty truth, empty prediction
    pairs["ISIC_0000021"] = (to_u8(empty), to_u8(blob))  # false alarm
    pairs["ISIC_0000022"] = (to_u8(blob), to_u8(empty))  # missed lesion
    pairs["ISIC_0000023"] = (to_u8(full), to_u8(blob))  # all-lesion truth
    pairs["ISIC_0000024"] = (to_u8(full), to_u8(full))
    # soft prediction: grey levels straddling the > 128 rule, plus random speckle
    soft = np.where(blob, 129, 128).astype(np.uint8)
    soft[rng.random(shape) < 0.1] = 200
    pairs["ISIC_0000025"] = (to_u8(blob), soft)
    speckle = (rng.random(shape) < 0.5).astype(np.uint8) * 255
    pairs["ISIC_0000026"] = (to_u8(blob), speckle)
    return pairs


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    root = tmp_path_factory.mktemp("isic")
    truth_dir, pred_dir = root / "truth", root / "pred"
    truth_dir.mkdir()
    pred_dir.mkdir()
    pairs = make_pairs()
    for image_id, (truth, pred) in pairs.items():
        Image.fromarray(truth, mode="L").save(truth_dir / f"{image_id}_segmentation.png")
        Image.fromarray(pred, mode="L").save(pred_dir / f"{image_id}_segmentation.png")
    return truth_dir, pred_dir, pairs


def load_ours(folders) -> object:
    truth_dir, pred_dir, pairs = folders
    ids = sorted(pairs)
    truths = [np.asarray(Image.open(truth_dir / f"{i}_segmentation.png")) for i in ids]
    preds = [np.asarray(Image.open(pred_dir / f"{i}_segmentation.png")) for i in ids]
    return score_masks(preds, truths, ids)


def test_pairs_cover_the_threshold():
    pairs = make_pairs()
    preds = [pred for _, pred in pairs.values()]
    truths = [truth for truth, _ in pairs.values()]
    jaccards = score_masks(preds, truths, list(pairs)).per_image["jaccard"]
    assert (jaccards >= 0.65).sum() >= 3 and ((jaccards > 0) & (jaccards < 0.65)).sum() >= 3


def test_aggregate_matches_official_scorer(folders):
    truth_dir, pred_dir, _ = folders
    official = isic_segmentation.SegmentationScore.from_dir(truth_dir, pred_dir)
    ours = load_ours(folders)
    for name in ["accuracy", "sensitivity", "specificity", "jaccard", "threshold_jaccard", "dice"]:
        assert getattr(ours, name) == pytest.approx(official.macro_average[name], abs=1e-6), name
    assert ours.threshold_jaccard == pytest.approx(official.overall, abs=1e-6)


def test_per_image_matches_official_scorer(folders):
    truth_dir, pred_dir, pairs = folders
    ours = load_ours(folders).per_image
    checked = 0
    for pair in iter_image_pairs(truth_dir, pred_dir):
        cm = create_binary_confusion_matrix(
            truth_binary_values=pair.truth_image > 128,
            prediction_binary_values=pair.prediction_image > 128,
            name=pair.image_id,
        )
        row = ours.loc[pair.image_id]
        assert [row.tp, row.fp, row.fn, row.tn] == [cm["TP"], cm["FP"], cm["FN"], cm["TN"]]
        expected = {
            "accuracy": isic_metrics.binary_accuracy(cm),
            "sensitivity": isic_metrics.binary_sensitivity(cm),
            "specificity": isic_metrics.binary_specificity(cm),
            "jaccard": isic_metrics.binary_jaccard(cm),
            "threshold_jaccard": isic_metrics.binary_threshold_jaccard(cm, threshold=0.65),
            "dice": isic_metrics.binary_dice(cm),
            "precision": isic_metrics.binary_ppv(cm),
        }
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, abs=1e-6), (pair.image_id, name)
        checked += 1
    assert checked == len(pairs)
