"""Faithfulness of the heat maps (dermkit.explain) on images with ground-truth lesion masks.

For each classification run (``--cls RUN``, repeatable; without one, a small S4 soft-attention run
is trained first on the shared HAM10000, a few CPU minutes) and each method it has (``gradcam``,
``gradcam++``, ``attention``) plus two reference maps that look at nothing (``random``: uniform
noise; ``centre``: a Gaussian on the image centre, sigma a quarter of each side), on

* HAM10000: ``--ham`` images drawn (seeded) from the run's lesion-grouped TEST side with their
  official lesion masks (every image with a mask when the run's split does not cover the shared
  HAM10000: then training images may be among them, which the output says);
* PH2: the 20 shared cases with their expert masks (another source than the training data);

it reports the mean share of heat-map mass inside the lesion against the lesion's area share (the
chance level), how often the map's peak falls in the lesion, and the deletion / insertion AUC
(Petsiuk et al. 2018) of the explained class's softmax probability, on the network input (after the
run's focus and preprocessing), with a blurred baseline by default. Every map explains the class the
run's decision picks. Only aggregates are printed (the PH2 licence forbids per-image results).
Usage::

    python benchmarks/explain_faithfulness.py                    # train the small run, then measure
    python benchmarks/explain_faithfulness.py --cls RUN --ham 100
    python benchmarks/explain_faithfulness.py train.max_batches_per_epoch=80   # training overrides
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED

HAM = SHARED / "HAM10000"
PH2 = SHARED / "PH2Dataset"

#: The run trained when no --cls is given: S4 (soft attention + metadata) on the offline
#: EfficientNet-Lite0 weights, the backbone frozen but for its last 20 parameter layers, at 96x128,
#: one epoch of 40 batches. A weak classifier (a few CPU minutes), but one whose three methods all apply.
RECIPE = "cls_s4_softattention_mobilenetv3_large"
OVERRIDES = [
    "model.kwargs.backbone=efficientnet_lite0",
    "model.kwargs.metadata_hidden=256",
    "model.kwargs.freeze_first=46",
    "data.preprocess.size=[96, 128]",
    "train.epochs=1",
    "train.max_batches_per_epoch=40",
    "train.channels_last=false",  # S4's Conv3d-shaped attention kernel cannot be channels_last
]
REFERENCES = ("random", "centre")


@dataclass
class Sample:
    """One image with its ground-truth lesion mask."""

    data: str
    path: str
    mask_path: str
    meta: object  # dermkit.data.records.Metadata | None


def reference_map(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A map that looks at nothing: uniform noise, or a Gaussian on the centre (sigma = side / 4)."""
    h, w = shape
    if name == "random":
        return rng.random((h, w)).astype(np.float32)
    y, x = np.mgrid[0:h, 0:w]
    g = np.exp(-(((y - (h - 1) / 2) / (h / 4)) ** 2 + ((x - (w - 1) / 2) / (w / 4)) ** 2) / 2)
    return (g / g.max()).astype(np.float32)


def ham_samples(run_dir: Path, n: int, seed: int) -> tuple[list[Sample], str]:
    """``n`` HAM10000 images with masks from the run's test side (seeded), and where they came from."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.errors import DataError

    table = load_table(HAM)
    try:
        rows = side_indices(table, load_split(run_dir / "split.csv", table), "test")
        origin = "the run's test side"
    except DataError:
        rows = np.arange(len(table.records))
        origin = "all of HAM10000 (the run's split does not cover it: training images may be among them)"
    rows = np.array([r for r in rows if isinstance(table.records["mask_path"].iloc[r], str)])
    rows = np.sort(np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False))
    recs = table.records
    return [
        Sample("HAM10000", recs["image_path"].iloc[r], recs["mask_path"].iloc[r], table.metadata(int(r))) for r in rows
    ], origin


def ph2_samples() -> list[Sample]:
    from dermkit.data.readers import load_table

    recs = load_table(PH2).records
    return [Sample("PH2", r.image_path, r.mask_path, None) for r in recs.itertuples()]


def measure(run, sample: Sample, steps: int, baseline: str, seed: int) -> dict[str, dict[str, float]]:
    """Each method's (and reference map's) faithfulness figures on one image (``seed``: this image's
    random reference map and tie-breaking)."""
    import torch

    from dermkit.explain import (
        available_methods,
        decided_class,
        deletion_insertion,
        explain_input,
        mass_inside,
        model_input,
        to_image,
    )
    from dermkit.imageio import read_image, read_mask
    from dermkit.models.contract import classify

    image = read_image(sample.path)
    mask = read_mask(sample.mask_path, expected_hw=image.shape[:2]) > 0
    inp = model_input(run, image, sample.meta)
    target = decided_class(run, image, sample.meta)

    def score(xs: torch.Tensor) -> torch.Tensor:
        logits = classify(run.model, xs, inp.meta.expand(xs.shape[0], -1)).class_logits
        return torch.softmax(logits, dim=1)[:, target]

    rng = np.random.default_rng(seed)
    maps, seconds = {}, {}
    for name in available_methods(run):
        start = time.perf_counter()
        maps[name] = explain_input(run, inp, name, target)
        seconds[name] = time.perf_counter() - start
    for name in REFERENCES:
        maps[name], seconds[name] = reference_map(name, tuple(inp.x.shape[-2:]), rng), 0.0
    out = {}
    for name, values in maps.items():
        full = to_image(values, inp)
        deletion, insertion = deletion_insertion(score, inp.x[0], values, baseline=baseline, steps=steps, seed=seed)
        out[name] = {
            "mass_inside": mass_inside(full, mask),
            "chance": float(mask.mean()),
            "peak_inside": float(mask.flat[int(np.argmax(full))]),
            "deletion_auc": deletion.auc,
            "insertion_auc": insertion.auc,
            "p_image": float(deletion.scores[0]),
            "p_baseline": float(deletion.scores[-1]),
            "seconds": seconds[name],
        }
    return out


def summarise(per_image: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean (and a normal-approximation 95 % half-width for the mass share) per method."""
    by_method: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for image in per_image:
        for method, figures in image.items():
            for key, value in figures.items():
                by_method[method][key].append(value)
    summary = {}
    for method, figures in by_method.items():
        row = {key: float(np.mean(values)) for key, values in figures.items()}
        mass = np.asarray(figures["mass_inside"])
        row["mass_ci95"] = float(1.96 * mass.std(ddof=1) / np.sqrt(len(mass))) if len(mass) > 1 else float("nan")
        row["above_chance"] = float(np.mean(mass > np.asarray(figures["chance"])))
        row["images"] = len(mass)
        summary[method] = row
    return summary


def table_rows(run_name: str, data: str, summary: dict[str, dict[str, float]]) -> list[str]:
    rows = []
    for method, r in summary.items():
        rows.append(
            f"| {run_name} | {data} | {method} | {r['images']} | {r['mass_inside']:.3f} ± {r['mass_ci95']:.3f} | "
            f"{r['chance']:.3f} | {r['above_chance']:.2f} | {r['peak_inside']:.2f} | {r['deletion_auc']:.3f} | "
            f"{r['insertion_auc']:.3f} | {1000 * r['seconds']:.0f} |"
        )
    return rows


HEADER = (
    "| run | data | method | images | mass in lesion (± 95 %) | lesion area (chance) | mass > chance | "
    "peak in lesion | deletion AUC (lower better) | insertion AUC (higher better) | ms per map |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def train_default(out: Path, overrides: list[str]) -> Path:
    """Train (or reuse, when finished) the default small S4 run into ``out``."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    if (out / "final_metrics.json").exists():
        print(f"reusing the finished run {out}")
        return out
    cfg = load_config(RECIPE, [f"data.path={HAM}", *OVERRIDES, *overrides])
    start = time.perf_counter()
    fit(cfg, out)
    print(f"trained {out} in {(time.perf_counter() - start) / 60:.1f} min")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cls", action="append", default=[], help="classification run folder (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-explain"), help="folder of the trained run")
    parser.add_argument("--ham", type=int, default=60, help="HAM10000 test-side images (default 60)")
    parser.add_argument("--steps", type=int, default=12, help="deletion/insertion steps (default 12)")
    parser.add_argument("--baseline", default="blur", choices=["blur", "mean"], help="deletion/insertion baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="training overrides for the default run, e.g. train.epochs=2")
    args = parser.parse_args()
    if not HAM.exists() or not PH2.exists():
        print(f"skipped: {SHARED} not found (the shared real data lives outside the repository)")
        return
    import torch

    from dermkit.explain import available_methods
    from dermkit.inference import load_run

    torch.manual_seed(args.seed)
    runs = [Path(p) for p in args.cls] or [train_default(Path(args.out), args.overrides)]
    rows, report = [], {}
    for run_dir in runs:
        run = load_run(run_dir, device="cpu", task="classification")
        ham, origin = ham_samples(run_dir, args.ham, args.seed)
        print(f"{run_dir}: {run.cfg.model.name} {run.cfg.model.kwargs}, input {run.cfg.data.preprocess.size}, ")
        print(f"  methods {available_methods(run)}; HAM10000 images from {origin}")
        start = time.perf_counter()
        for data, samples in (("HAM10000", ham), ("PH2", ph2_samples())):
            figures = [
                measure(run, s, args.steps, args.baseline, args.seed * 100_000 + i) for i, s in enumerate(samples)
            ]
            summary = summarise(figures)
            rows += table_rows(run_dir.name, data, summary)
            report[f"{run_dir.name}/{data}"] = summary
        print(f"  measured in {(time.perf_counter() - start) / 60:.1f} min")
        final = json.loads((run_dir / "final_metrics.json").read_text())
        bma = {side: final.get(side, {}).get("bma", float("nan")) for side in ("val", "test")}
        print(f"  the run's balanced multiclass accuracy: validation {bma['val']:.3f}, test {bma['test']:.3f}")
    settings = f"baseline {args.baseline}, {args.steps} steps, seed {args.seed}"
    print(f"\n{settings}\n{HEADER}\n" + "\n".join(rows))
    out = runs[0] / "explain_faithfulness.json"
    out.write_text(json.dumps({"settings": vars(args), "summary": report}, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
