"""Classification through the shared engine: imbalance handling, metadata, calibration, evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermkit.config import load_config
from dermkit.data.readers import load_table
from dermkit.data.splits import load_split, side_indices
from dermkit.engine.trainer import Trainer, fit
from dermkit.evaluation.classification import evaluate_classification
from dermkit.inference import diagnose, load_run

TINY = ["data.preprocess.size=[32, 32]", "data.num_workers=0", "data.cache_dir=null", "train.batch_size=16",
        "train.epochs=2", "augment.hflip=true", "loss.name=cross_entropy"]


def cls_config(data, *extra):
    return load_config(None, [*TINY, f"data.path={data}", *extra], base={"task": "classification", "recipe": "tiny"})


def test_oversampling_and_weights_use_training_side_only(synthetic_root, tmp_path):
    cfg = cls_config(synthetic_root, "model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]",
                     "imbalance.oversample={df: 5, vasc: 3}", "imbalance.class_weights=balanced")
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    trainer._setup()
    task, data = trainer.task, trainer.data
    train_rows = data.indices("train")
    labels = task.labels[train_rows]
    served = task.labels[trainer.train_set.indices]
    df, vasc = data.table.classes.index("df"), data.table.classes.index("vasc")
    assert (served == df).sum() == 5 * (labels == df).sum()
    assert (served == vasc).sum() == 3 * (labels == vasc).sum()
    assert set(trainer.train_set.indices) <= set(train_rows)  # nothing from val/test is over-sampled
    counts = np.bincount(labels, minlength=len(data.table.classes))
    expected = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0)
    np.testing.assert_allclose(trainer.loss_fn.class_weights.cpu().numpy(), expected, rtol=1e-6)


def test_train_evaluate_and_diagnose_with_metadata(synthetic_root, tmp_path, caplog):
    run_dir = tmp_path / "run"
    final = fit(cls_config(synthetic_root, "model.name=timm_classifier", "model.kwargs.model_name=test_efficientnet",
                           "model.kwargs.pretrained=false", "model.kwargs.use_metadata=true",
                           "imbalance.sampler=weighted", "inference.metadata_prior=true", "inference.tta=true"),
                run_dir, progress=False)
    assert {"accuracy", "bma", "macro_auc"} <= set(final["test"])
    cal = json.loads((run_dir / "calibration.json").read_text())
    assert cal["fitted_on"] == "val" and cal["temperature"] > 0 and len(cal["thresholds"]) == 7
    assert np.array(cal["metadata_prior"]["coef"]).shape[0] == 7 and cal["metadata_weight"] >= 0
    assert final["calibration"]["metadata_weight"] == cal["metadata_weight"]
    # The tiny validation side lacks some classes: the bias would be unbounded, so only T is fitted.
    assert cal["method"] == "temperature" and cal["bias"] is None

    run = load_run(run_dir)
    table = load_table(synthetic_root)
    test = side_indices(table, load_split(run_dir / "split.csv", table), "test")
    out = tmp_path / "eval"
    metrics = evaluate_classification([run], table, out, indices=test, tta=True, n_boot=50, progress=False)
    for name in ("metrics.json", "per_class.csv", "confusion_matrix.csv", "confusion_matrix.png", "roc.png",
                 "reliability.png", "predictions_isic.csv", "predictions.csv"):
        assert (out / name).exists(), name
    assert metrics["images"] == len(test)
    lo, hi = metrics["ci95"]["balanced_accuracy"]
    assert lo <= metrics["balanced_accuracy"] <= hi
    assert 0 <= metrics["ece"] <= 1 and "melanoma_vs_rest" in metrics
    ensemble = evaluate_classification([run, run], table, tmp_path / "ens", indices=test, tta=False, n_boot=20,
                                       progress=False)
    assert ensemble["runs"] == [str(run_dir)] * 2

    from dermkit.evaluation.classification import refit_calibration

    before = json.loads((run_dir / "calibration.json").read_text())
    val = side_indices(table, load_split(run_dir / "split.csv", table), "val")
    train = side_indices(table, load_split(run_dir / "split.csv", table), "train")
    again = refit_calibration(run, table, val, train, progress=False)
    assert again["temperature"] == pytest.approx(before["temperature"], rel=1e-4)  # same model, same side
    assert again["thresholds"] == pytest.approx(before["thresholds"], rel=1e-4)
    assert again["metadata_weight"] == pytest.approx(before["metadata_weight"], rel=1e-4, abs=1e-6)

    from dermkit.imageio import read_image

    image = read_image(table.records["image_path"].iloc[test[0]])
    result = diagnose(run, image, table.metadata(int(test[0])))
    assert result.probabilities.shape == (7,) and abs(result.probabilities.sum() - 1) < 1e-5
    assert result.predicted in run.classes and 0 < result.confidence <= 1
    unknown = diagnose(run, image)  # no metadata: the expert is left out, not fed "unknown"
    assert abs(unknown.probabilities.sum() - 1) < 1e-5

    # The trainer fits the calibration on validation logits made with the recipe's TTA (as above, the
    # refit with the run's setting reproduces it); one fitted the other way is flagged when applied.
    assert before["tta"] is True and final["val"]["tta"] is True and again["tta"] is True
    caplog.clear()
    with caplog.at_level("WARNING", logger="dermkit.inference"):
        matched = evaluate_classification([run], table, tmp_path / "matched", indices=test, n_boot=10, progress=False)
    assert "refit it" not in caplog.text and matched["tta"] == [True]
    assert refit_calibration(run, table, val, train, tta=False, progress=False)["tta"] is False
    with caplog.at_level("WARNING", logger="dermkit.inference"):
        evaluate_classification([run], table, tmp_path / "mismatch", indices=test, n_boot=10, progress=False)
    assert "fitted on validation logits without test-time augmentation, applied to logits with it" in caplog.text


@pytest.mark.parametrize("method", ["temperature", "bias_corrected"])
def test_calibration_method_is_fitted_and_applied(tmp_path, method):
    from dermkit.files import write_json
    from dermkit.inference import calibrated_proba, calibration_of, fit_calibration
    from dermkit.metrics.calibration import negative_log_likelihood

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3)) + 2.5 * np.eye(3)[labels] + np.array([2.0, 0.0, 0.0])  # favours class 0
    write_json(tmp_path / "calibration.json", fit_calibration(logits, labels, ["a", "b", "c"], method))
    cal = json.loads((tmp_path / "calibration.json").read_text())
    assert cal["method"] == method and (cal["bias"] is None) == (method == "temperature")

    class Run:  # calibration_of only needs the run folder
        run_dir = tmp_path
    proba = calibrated_proba(logits, calibration_of(Run()))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-9)
    nll = negative_log_likelihood(np.log(proba), labels)
    assert nll < negative_log_likelihood(logits, labels)  # calibration never worsens validation NLL
    if method == "bias_corrected":
        assert abs(proba[:, 0].mean() - (labels == 0).mean()) < 0.02  # the prior shift is undone


def test_bias_needs_enough_validation_images_of_every_class(tmp_path):
    from dermkit.files import write_json
    from dermkit.inference import MIN_IMAGES_FOR_BIAS, fit_calibration

    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(200, int), np.ones(200, int), np.full(MIN_IMAGES_FOR_BIAS - 1, 2)]
    logits = rng.normal(size=(len(labels), 3)) + 2.0 * np.eye(3)[labels]
    write_json(tmp_path / "calibration.json", fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected"))
    cal = json.loads((tmp_path / "calibration.json").read_text())
    assert cal["method"] == "temperature" and cal["bias"] is None


def test_metadata_model_without_meta_is_an_error(synthetic_root, tmp_path):
    from dermkit.models import create_model

    model = create_model("timm_classifier", model_name="test_efficientnet", pretrained=False, use_metadata=True)
    import torch

    with pytest.raises(ValueError, match="meta"):
        model(torch.zeros(1, 3, 32, 32), None)


def test_metadata_expert_is_weighted_on_validation_and_needed_at_inference(tmp_path):
    """Image logits that cannot tell classes 1 and 2 apart, metadata that can: the fitted fusion
    trusts the metadata expert (weight well above 0) and beats the image model alone."""
    from dermkit.data.metadata import METADATA_DIM
    from dermkit.inference import calibrated_proba, fit_calibration
    from dermkit.metrics.calibration import negative_log_likelihood
    from dermkit.models.classification.metadata_prior import fit_metadata_prior

    rng = np.random.default_rng(2)

    def sample(n):
        labels = rng.integers(0, 3, n)
        meta = np.zeros((n, METADATA_DIM), np.float32)
        meta[:, 0] = np.where(labels == 2, rng.uniform(0.6, 0.9, n), rng.uniform(0.1, 0.5, n))  # age tells 2
        meta[:, 2] = 1.0  # sex: male for all
        logits = rng.normal(size=(n, 3)) + 3.0 * np.eye(3)[np.minimum(labels, 1)]  # 1 and 2 look alike
        return logits, labels, meta

    prior = fit_metadata_prior(*sample(800)[1:][::-1], num_classes=3)
    logits, labels, meta = sample(600)
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected", prior, meta)
    assert cal["metadata_weight"] > 0.5
    fused = calibrated_proba(logits, cal, meta)
    image_only = calibrated_proba(logits, {**cal, "metadata_prior": None})
    assert negative_log_likelihood(np.log(fused), labels) < 0.8 * negative_log_likelihood(np.log(image_only), labels)
    assert (fused.argmax(1) == labels).mean() > (image_only.argmax(1) == labels).mean() + 0.2
    with pytest.raises(ValueError, match="metadata"):
        calibrated_proba(logits, cal)
    with pytest.raises(ValueError, match="1 rows for 600 images"):
        calibrated_proba(logits, cal, meta[:1])


@pytest.mark.parametrize("decision", ["prior", "thresholds", "argmax"])
def test_decision_rule_is_fitted_on_validation(decision):
    """Imbalanced classes (80/15/5): the prior rule divides by the mean calibrated probability and
    lifts balanced accuracy above the argmax, which follows the class prior."""
    from dermkit.inference import calibrated_proba, fit_calibration
    from dermkit.metrics.classification import balanced_accuracy
    from dermkit.metrics.decision import predict_with_thresholds

    rng = np.random.default_rng(3)

    def sample(n):
        labels = rng.choice(3, n, p=[0.8, 0.15, 0.05])
        return rng.normal(size=(n, 3)) + 1.2 * np.eye(3)[labels], labels

    logits, labels = sample(3000)
    cal = fit_calibration(logits, labels, ["a", "b", "c"], "bias_corrected", decision=decision)
    proba = calibrated_proba(logits, cal)
    assert cal["decision"] == decision
    if decision == "prior":
        np.testing.assert_allclose(cal["thresholds"], proba.mean(0))
        np.testing.assert_allclose(cal["thresholds"], np.bincount(labels) / len(labels), atol=0.01)  # BCTS
    if decision == "argmax":
        assert cal["thresholds"] == [1.0, 1.0, 1.0]
    new_logits, new_labels = sample(3000)
    new = calibrated_proba(new_logits, cal)
    bma = balanced_accuracy(new_labels, predict_with_thresholds(new, cal["thresholds"]), 3)
    if decision != "argmax":
        assert bma > balanced_accuracy(new_labels, new.argmax(1), 3) + 0.1
