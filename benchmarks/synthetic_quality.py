"""Quality on the embedded synthetic data: the default segmenter's Dice, and whether patient
metadata helps the default classifier. Usage::

    python benchmarks/synthetic_quality.py [--n 4000] [--epochs 4] [--skip-seg] [--out runs/bench-synthetic-n4000]

The data set has equal images per class (so every class has enough test images for a balanced
accuracy that is not noise) and the generator's default look-alikes: 35% of lesions are drawn in
another class's style, keeping their true label and metadata. The split is 50/20/30 (train/val/test)
so that the paired gains are measured on about 1,300 test images. The two classifier runs share the data,
split, seed and schedule and differ only in the metadata switches (``model.kwargs.use_metadata``
and the metadata expert, ``inference.metadata_prior``); besides the usual
test figures the table gives the accuracy on the look-alike images, where the pixels point to the
wrong class and only the metadata can help, the paired bootstrap interval of the BMA gain
(resampling lesions), and the generator's Bayes limits (the best BMA any model can reach).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from dermkit.config import load_config
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.data.synthetic import TRUTH_DIR, bayes_limits, write_synthetic_dataset
    from dermkit.engine.trainer import fit
    from dermkit.evaluation.classification import evaluate_classification
    from dermkit.inference import load_run
    from dermkit.metrics.bootstrap import bootstrap_ci
    from dermkit.metrics.classification import balanced_accuracy, macro_auc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=4, help="classifier epochs (the recipe's schedule, shortened)")
    parser.add_argument("--out", default=None, help="default runs/bench-synthetic-n<N>")
    parser.add_argument("--skip-seg", action="store_true")
    args = parser.parse_args()
    out = Path(args.out or ROOT / "runs" / f"bench-synthetic-n{args.n}")
    data = out / "data"
    if not (data / ".complete").exists():
        write_synthetic_dataset(data, n=args.n, seed=0, balance="balanced", progress=True)
        (data / ".complete").touch()
    rows = []
    if not args.skip_seg:
        seg = fit(load_config("seg_default", [f"data.path={data}"]), out / "seg")
        rows.append(
            f"| segmentation | seg_default | val Dice {seg['val']['dice']:.4f} | test Dice {seg['test']['dice']:.4f} "
            f"| test Jaccard {seg['test']['jaccard']:.4f} | | |"
        )
    table = load_table(data)
    looks = pd.read_csv(data / TRUTH_DIR / "appearance.csv", dtype=str).set_index("image_id")["appearance"]
    predictions, probas, image_ids = {}, {}, {}
    for meta in (True, False):
        run_dir = out / f"cls-meta{int(meta)}"
        cfg = load_config(
            "cls_default",
            [
                f"data.path={data}",
                f"model.kwargs.use_metadata={str(meta).lower()}",
                f"inference.metadata_prior={str(meta).lower()}",
                f"train.epochs={args.epochs}",
                "data.split.val=0.2",
                "data.split.test=0.3",
            ],
        )
        fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists())
        test = side_indices(table, load_split(run_dir / "split.csv", table), "test")
        m = evaluate_classification([load_run(run_dir)], table, run_dir / "eval-test", indices=test, n_boot=200)
        pred = pd.read_csv(run_dir / "eval-test" / "predictions.csv")
        classes = [c for c in pred.columns if c not in ("image_id", "label", "predicted")]
        labels = np.array([classes.index(c) for c in pred["label"]])
        predictions[meta] = np.array([classes.index(c) for c in pred["predicted"]])  # the run's decisions
        probas[meta] = pred[classes].to_numpy()
        image_ids[meta] = pred["image_id"].tolist()
        disguised = looks.loc[pred["image_id"]].to_numpy() != pred["label"].to_numpy()
        lookalike_acc = float((predictions[meta] == labels)[disguised].mean())
        lo, hi = m["ci95"]["balanced_accuracy"]
        rows.append(
            f"| classification | cls_default, {args.epochs} epochs, metadata {'on' if meta else 'off'} | "
            f"test BMA {m['balanced_accuracy']:.4f} [{lo:.3f}, {hi:.3f}] | test macro AUC {m['macro_auc']:.4f} | "
            f"test accuracy {m['accuracy']:.4f} | look-alike accuracy {lookalike_acc:.4f} "
            f"({int(disguised.sum())} images) | test images {m['images']} |"
        )
    if image_ids[True] != image_ids[False]:
        raise SystemExit(f"{out}: the two runs were tested on different images (an old run folder?); use a new --out")
    lesions = table.records.set_index("image_id").loc[pred["image_id"], "lesion_id"].to_numpy()
    n = len(classes)
    scores = {  # name: (score of one run's (decisions, probabilities) on images t, higher is better)
        "BMA": lambda t, d, p: balanced_accuracy(t, d, n),
        "macro AUC": lambda t, d, p: macro_auc(t, p),
        "log-likelihood per image": lambda t, d, p: float(np.mean(np.log(np.clip(p[np.arange(len(t)), t], 1e-12, 1)))),
    }
    both = np.concatenate([predictions[True][:, None], predictions[False][:, None], probas[True], probas[False]], 1)
    for name, score in scores.items():

        def gain(t, x, score=score):
            return score(t, x[:, 0].astype(int), x[:, 2 : 2 + n]) - score(t, x[:, 1].astype(int), x[:, 2 + n :])

        lo, hi = bootstrap_ci(labels, both, lesions, gain, n_boot=2000)
        rows.append(
            f"| classification | metadata gain (on - off) | test {name} {gain(labels, both):+.4f} "
            f"[{lo:+.3f}, {hi:+.3f}] (paired bootstrap over lesions) | | | | |"
        )
    limits = bayes_limits()
    rows.append(
        f"| classification | Bayes limits of the generator | image {limits['image']:.4f} | "
        f"image+metadata {limits['image+metadata']:.4f} | metadata {limits['metadata']:.4f} | | |"
    )
    print("\n".join(rows))
    (out / "rows.md").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
