"""Evaluation refuses data it cannot score in full, and output folders that are the user's."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from dermkit.data.readers import load_table
from dermkit.errors import ConfigError, DataError, DermkitError
from dermkit.evaluation.classification import evaluate_classification
from dermkit.evaluation.segmentation import evaluate_segmentation
from dermkit.inference import load_run


@pytest.fixture(scope="module")
def runs(cls_run, seg_run):
    """The session's tiny classification and segmentation runs, loaded."""
    return load_run(cls_run), load_run(seg_run)


@pytest.fixture
def broken(synthetic_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    victim = sorted((data / "HAM10000_images").glob("*.jpg"))[2]
    victim.write_bytes(b"")
    return data, victim


def test_classification_evaluation_refuses_an_unreadable_image_before_inference(runs, broken, tmp_path):
    data, victim = broken
    with pytest.raises(DataError, match=rf"(?s)1 problem.*{victim.name}.*file is empty.*scores every image"):
        evaluate_classification([runs[0]], load_table(data), tmp_path / "out", n_boot=10, progress=False)
    assert not (tmp_path / "out").exists()


def test_segmentation_evaluation_refuses_an_unreadable_image(runs, broken, tmp_path):
    data, victim = broken
    with pytest.raises(DataError, match=rf"{victim.name}.*file is empty"):
        evaluate_segmentation(runs[1], load_table(data), tmp_path / "out", progress=False)


def test_a_row_the_reader_left_out_is_not_silently_dropped(runs, synthetic_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    meta = pd.read_csv(data / "HAM10000_metadata.csv")
    meta.loc[1, "dx"] = "melanoma"
    meta.to_csv(data / "HAM10000_metadata.csv", index=False)
    with pytest.raises(DataError, match="did you mean 'mel'"):
        evaluate_classification([runs[0]], load_table(data), tmp_path / "out", n_boot=10, progress=False)


def test_bootstrap_needs_one_resample_before_any_work(runs, synthetic_root, tmp_path):
    with pytest.raises(ConfigError, match="n_boot=0"):
        evaluate_classification([runs[0]], load_table(synthetic_root), tmp_path / "out", n_boot=0, progress=False)


def test_evaluation_into_a_users_folder_is_refused_and_its_own_folder_reused(runs, synthetic_root, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text("precious")
    with pytest.raises(DermkitError, match="not a dermkit evaluation folder"):
        evaluate_segmentation(runs[1], load_table(synthetic_root), mine, progress=False)
    assert (mine / "metrics.json").read_text() == "precious"
    out = tmp_path / "eval"
    evaluate_segmentation(runs[1], load_table(synthetic_root), out, progress=False)
    evaluate_segmentation(runs[1], load_table(synthetic_root), out, progress=False)  # its own: evaluated again


def test_segmentation_metrics_carry_intervals_over_lesions(runs, synthetic_root, tmp_path):
    with pytest.raises(ConfigError, match="n_boot=0"):
        evaluate_segmentation(runs[1], load_table(synthetic_root), tmp_path / "none", n_boot=0, progress=False)
    metrics = evaluate_segmentation(runs[1], load_table(synthetic_root), tmp_path / "eval", progress=False)
    for name in ("dice", "jaccard", "threshold_jaccard"):
        low, high = metrics["ci95"][name]
        assert low <= metrics[name] <= high


def test_mean_intervals_resample_whole_lesions():
    """Lesion a (three images scoring 1) and lesion b (one scoring 0): a quarter of the lesion resamples
    draw b twice (mean 0), so the 2.5 % quantile is 0; resampling images, a mean of 0 needs four draws of
    b (0.4 %) and the 2.5 % quantile would be 0.25."""
    import numpy as np

    from dermkit.evaluation.segmentation import mean_intervals

    per_image = pd.DataFrame({"dice": [1.0, 1.0, 1.0, 0.0], "jaccard": [1.0] * 4, "threshold_jaccard": [0.0] * 4})
    intervals = mean_intervals(per_image, np.array(["a", "a", "a", "b"]), n_boot=2000)
    assert intervals["dice"] == [0.0, 1.0]
    assert intervals["jaccard"] == [1.0, 1.0] and intervals["threshold_jaccard"] == [0.0, 0.0]


def _isic2017_from(synthetic_root, root, n: int = 24):
    """An ISIC 2017 Part 3 folder (melanoma yes/no) holding the first ``n`` synthetic images."""
    meta = pd.read_csv(synthetic_root / "HAM10000_metadata.csv").head(n)
    (root / "ISIC-2017_Training_Data").mkdir(parents=True)
    rows = []
    for k, (image_id, dx) in enumerate(zip(meta["image_id"], meta["dx"], strict=True)):
        name = f"ISIC_{k:07d}"
        shutil.copy(
            synthetic_root / "HAM10000_images" / f"{image_id}.jpg", root / "ISIC-2017_Training_Data" / f"{name}.jpg"
        )
        rows.append({"image_id": name, "melanoma": float(dx == "mel")})
    pd.DataFrame(rows).to_csv(root / "ISIC-2017_Training_Part3_GroundTruth.csv", index=False)
    return root, np.array([r["melanoma"] for r in rows], dtype=bool)


def test_melanoma_only_data_get_the_melanoma_view_with_intervals(runs, synthetic_root, tmp_path):
    """A data set that labels only melanoma (ISIC 2017) is scored on the run's melanoma probability,
    with bootstrap intervals for the AUC and the sensitivity at 90% specificity."""
    from dermkit.metrics.classification import binary_auc

    data, is_mel = _isic2017_from(synthetic_root, tmp_path / "isic2017")
    assert 0 < is_mel.sum() < len(is_mel)
    metrics = evaluate_classification([runs[0]], load_table(data), tmp_path / "out", n_boot=200, progress=False)
    mel = metrics["melanoma_vs_rest"]
    assert mel["n_melanoma"] == is_mel.sum() and mel["n_other"] == (~is_mel).sum()
    assert "balanced_accuracy" not in metrics  # the run's seven classes are not this data set's
    p_mel = pd.read_csv(tmp_path / "out" / "predictions.csv")["mel"].to_numpy()
    assert mel["auc"] == pytest.approx(binary_auc(is_mel, p_mel))
    for key in ("auc", "sensitivity_at_90_specificity"):
        lo, hi = mel["ci95"][key]
        assert 0 <= lo <= hi <= 1, key
    lo, hi = mel["ci95"]["auc"]
    assert lo < hi  # 24 images: the interval is wide, not a point
