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

TINY = [
    "data.preprocess.size=[32, 32]",
    "data.num_workers=0",
    "data.cache_dir=null",
    "train.batch_size=16",
    "train.epochs=2",
    "augment.hflip=true",
    "loss.name=cross_entropy",
]


def cls_config(data, *extra):
    return load_config(None, [*TINY, f"data.path={data}", *extra], base={"task": "classification", "recipe": "tiny"})


def test_oversampling_and_weights_use_training_side_only(synthetic_root, tmp_path):
    cfg = cls_config(
        synthetic_root,
        "model.name=deepconvnet_s2",
        "model.kwargs.input_size=[32, 32]",
        "imbalance.oversample={df: 5, vasc: 3}",
        "imbalance.class_weights=balanced",
    )
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
    final = fit(
        cls_config(
            synthetic_root,
            "model.name=timm_classifier",
            "model.kwargs.model_name=test_efficientnet",
            "model.kwargs.pretrained=false",
            "model.kwargs.use_metadata=true",
            "imbalance.sampler=weighted",
            "inference.metadata_prior=true",
            "inference.tta=true",
        ),
        run_dir,
        progress=False,
    )
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
    for name in (
        "metrics.json",
        "per_class.csv",
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "roc.png",
        "reliability.png",
        "predictions_isic.csv",
        "predictions.csv",
    ):
        assert (out / name).exists(), name
    assert metrics["images"] == len(test)
    lo, hi = metrics["ci95"]["balanced_accuracy"]
    assert lo <= metrics["balanced_accuracy"] <= hi
    assert 0 <= metrics["ece"] <= 1
    lo, hi = metrics["melanoma_vs_rest"]["ci95"]["auc"]
    assert 0 <= lo <= hi <= 1
    ensemble = evaluate_classification(
        [run, run], table, tmp_path / "ens", indices=test, tta=False, n_boot=20, progress=False
    )
    assert ensemble["runs"] == [str(run_dir)] * 2

    from dermkit.evaluation.classification import refit_calibration

    before = json.loads((run_dir / "calibration.json").read_text())
    val = side_indices(table, load_split(run_dir / "split.csv", table), "val")
    train = side_indices(table, load_split(run_dir / "split.csv", table), "train")
    again = refit_calibration(run, table, val, train, progress=False)
    assert again.temperature == pytest.approx(before["temperature"], rel=1e-4)  # same model, same side
    assert list(again.divisors) == pytest.approx(before["thresholds"], rel=1e-4)
    assert again.metadata_weight == pytest.approx(before["metadata_weight"], rel=1e-4, abs=1e-6)

    from dermkit.imageio import read_image

    image = read_image(table.records["image_path"].iloc[test[0]])
    result = diagnose(run, image, table.metadata(int(test[0])))
    assert result.probabilities.shape == (7,) and abs(result.probabilities.sum() - 1) < 1e-5
    assert result.predicted in run.classes and 0 < result.confidence <= 1
    unknown = diagnose(run, image)  # no metadata: the expert is left out, not fed "unknown"
    assert abs(unknown.probabilities.sum() - 1) < 1e-5

    # The trainer fits the calibration on validation logits made with the recipe's TTA (as above, the
    # refit with the run's setting reproduces it); one fitted the other way is flagged when applied.
    assert before["tta"] is True and final["val"]["tta"] is True and again.tta is True
    caplog.clear()
    with caplog.at_level("WARNING", logger="dermkit.calibration"):
        matched = evaluate_classification([run], table, tmp_path / "matched", indices=test, n_boot=10, progress=False)
    assert "refit it" not in caplog.text and matched["tta"] == [True]
    assert refit_calibration(run, table, val, train, tta=False, progress=False).tta is False
    with caplog.at_level("WARNING", logger="dermkit.calibration"):
        evaluate_classification([run], table, tmp_path / "mismatch", indices=test, n_boot=10, progress=False)
    assert "fitted on validation logits without test-time augmentation, applied to logits with it" in caplog.text


def test_metadata_model_without_meta_is_an_error(synthetic_root, tmp_path):
    from dermkit.models import create_model

    model = create_model("timm_classifier", model_name="test_efficientnet", pretrained=False, use_metadata=True)
    import torch

    with pytest.raises(ValueError, match="meta"):
        model(torch.zeros(1, 3, 32, 32), None)


def test_training_loss_mixes_batches_when_asked(synthetic_root, tmp_path):
    import torch

    from dermkit.data.mixing import mix_batch, mixed_loss
    from dermkit.models.contract import classify

    losses = {}
    for name, extra in {"plain": [], "mixed": ["augment.mixup=0.4", "augment.cutmix=1.0"]}.items():
        cfg = cls_config(synthetic_root, "model.name=deepconvnet_s2", "model.kwargs.input_size=[32, 32]", *extra)
        trainer = Trainer(cfg, tmp_path / name, progress=False)
        trainer._setup()
        batch = next(iter(trainer._loader(trainer.train_set, batch_size=8)))
        model = trainer.model.eval()  # no dropout: the two computations below see the same network
        torch.manual_seed(5)
        losses[name] = trainer.task.loss(model, batch, trainer.loss_fn)
    torch.manual_seed(5)
    mixed = mix_batch(batch["image"], batch["meta"], 0.4, 1.0, 1.0)
    logits = classify(model, mixed.image, mixed.meta).class_logits
    torch.testing.assert_close(losses["mixed"], mixed_loss(trainer.loss_fn, logits, batch["label"], mixed))
    assert not torch.isclose(losses["mixed"], losses["plain"])
