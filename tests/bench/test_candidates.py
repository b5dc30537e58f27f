"""benchmarks/seg_candidates.py and cls_candidates.py: every candidate is a recipe that can run.

Each candidate trains for up to an hour on the real data; one whose overrides its model cannot take
(160x208 for a stride-32 encoder) must fail the benchmark's check before the first candidate trains,
not after it. The scripts live in benchmarks/, so they are loaded by path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def load_script(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (with benchmarks/ on the path for its helpers)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # imports its check_recipes from benchmarks/_budget.py
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


@pytest.fixture(scope="module")
def seg() -> ModuleType:
    return load_script("seg_candidates")


@pytest.fixture(scope="module")
def cls() -> ModuleType:
    return load_script("cls_candidates")


def test_every_segmentation_candidate_can_run(seg: ModuleType) -> None:
    seg.check_recipes(seg.BASE, {name: overrides for name, (overrides, _) in seg.CANDIDATES.items()})


def test_every_classification_candidate_can_run(cls: ModuleType, tmp_path: Path) -> None:
    runs = {name: cls.candidate_overrides(name, tmp_path, 0, quick=False) for name in cls.CANDIDATES}
    cls.check_recipes(cls.BASE, runs)


def test_a_candidate_that_cannot_run_stops_the_benchmark_with_its_reason(seg: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"candidate 'odd' cannot run: .*160x208.*\[160, 224\]"):
        seg.check_recipes(seg.BASE, {"default": [], "odd": ["data.preprocess.size=[160, 208]"]})
    with pytest.raises(SystemExit, match=r"(?s)candidate 'typo' cannot run: .*train\.epoch: Extra inputs"):
        seg.check_recipes(seg.BASE, {"typo": ["train.epoch=3"]})


def test_a_segmenter_replaces_the_default_only_when_its_paired_gain_clears_zero(seg: ModuleType) -> None:
    def result(dice: float, low: float | None = None) -> dict:
        return {"val": {"dice": dice}, **({} if low is None else {"val_gain": {"gain": 0.0, "ci": [low, 0.01]}})}

    def dice(r: dict) -> float:
        return r["val"]["dice"]

    noise = {"default": result(0.937), "a": result(0.939, -0.001), "b": result(0.938, -0.0001)}
    assert seg.choose(noise, dice) == "default"  # higher means, but no gain beats chance
    real = {**noise, "c": result(0.9385, 0.0002), "d": result(0.9383, 0.0001)}
    assert seg.choose(real, dice) == "c"  # of those that beat chance, the highest validation Dice


def test_paired_gain_pairs_images_and_resamples_lesions(seg: ModuleType, tmp_path: Path) -> None:
    import pandas as pd

    ids = [f"I{i}" for i in range(6)]
    for name, dice in (("base", [0.90] * 6), ("run", [0.92] * 6)):
        (tmp_path / name / "eval-val").mkdir(parents=True)
        rows = pd.DataFrame({"image_id": ids, "dice": dice}).sample(frac=1.0, random_state=len(name))
        rows.to_csv(tmp_path / name / "eval-val" / "per_image.csv", index=False)  # rows in another order

    class Table:
        records = pd.DataFrame({"image_id": ids, "lesion_id": ["L0", "L0", "L1", "L1", "L2", "L3"]})

    gain = seg.paired_val_gain(tmp_path / "base", tmp_path / "run", Table())
    assert gain["gain"] == pytest.approx(0.02) and gain["ci"] == pytest.approx([0.02, 0.02])
    (tmp_path / "run" / "eval-val" / "per_image.csv").write_text("image_id,dice\nI0,0.9\n")
    with pytest.raises(SystemExit, match="different images"):
        seg.paired_val_gain(tmp_path / "base", tmp_path / "run", Table())


def write_val_predictions(run_dir: Path, labels: list[str], predicted: list[str]) -> None:
    """An ``eval-val/predictions.csv`` as ``evaluate_classification`` writes it (its rows shuffled)."""
    import pandas as pd

    (run_dir / "eval-val").mkdir(parents=True)
    rows = pd.DataFrame({"image_id": [f"I{i}" for i in range(len(labels))], "label": labels, "predicted": predicted})
    rows.sample(frac=1.0, random_state=len(run_dir.name)).to_csv(run_dir / "eval-val" / "predictions.csv", index=False)


def test_classifier_gain_is_the_paired_validation_bma_difference(cls: ModuleType, tmp_path: Path) -> None:
    import pandas as pd

    labels = ["mel", "mel", "nv", "nv", "bkl", "bkl"]
    write_val_predictions(tmp_path / "base", labels, ["nv", "mel", "nv", "nv", "bkl", "nv"])  # BMA (1/2+1+1/2)/3
    write_val_predictions(tmp_path / "run", labels, labels)  # BMA 1

    class Table:
        records = pd.DataFrame(
            {"image_id": [f"I{i}" for i in range(6)], "lesion_id": ["L0", "L1", "L2", "L2", "L3", "L4"]}
        )

    gain = cls.paired_val_gain(tmp_path / "base", tmp_path / "run", Table())
    assert gain["gain"] == pytest.approx(1 - 2 / 3)
    low, high = gain["ci"]
    assert 0 <= low <= gain["gain"] <= high <= 1  # resampled lesions: the errors are drawn 0-2 times

    (tmp_path / "run" / "eval-val" / "predictions.csv").write_text("image_id,label,predicted\nI0,mel,mel\n")
    with pytest.raises(SystemExit, match="different images"):
        cls.paired_val_gain(tmp_path / "base", tmp_path / "run", Table())


def test_a_classifier_replaces_the_default_only_when_its_paired_gain_clears_zero(cls: ModuleType) -> None:
    def result(bma: float, low: float | None = None) -> dict:
        return {"val_bma": bma, **({} if low is None else {"val_gain": {"gain": 0.0, "ci": [low, 0.05]}})}

    results = {"default": result(0.70), "ema": result(0.72, -0.01), "ema_mix": result(0.71, 0.002)}
    assert cls.choose(results, lambda r: r["val_bma"]) == "ema_mix"  # ema is higher, by chance alone
    assert "`ema_mix` (chosen)" in cls.markdown(
        {name: full_result(r) for name, r in results.items()},
        {"fold": 0, "date": "2026-12-03", "machine": "m", "data": "d"},
    )


def full_result(r: dict) -> dict:
    """``r`` with the other figures a candidate's result holds (for its table row)."""
    scores = {key: 0.5 for key in ("bma", "macro_auc", "mel_auc", "mel_sens90")}
    test = {**scores, **{f"{key}_ci": [0.4, 0.6] for key in scores}}
    return {**r, "epochs": 10, "best_epoch": 9, "epoch_minutes": 50.0, "val_macro_auc": 0.9, "test": test}
