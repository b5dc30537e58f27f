"""bf16 autocast on this CPU: training and inference speed of the default models, and what it costs.

These CPUs have AVX-512 BF16. For ``seg_default`` and ``cls_default`` this trains the same recipe on the
same data, split and seed twice, with ``train.precision=fp32`` and ``bf16`` (channels-last as the
recipes use), through ``dermkit``'s own trainer, and reports:

- training images/s (the optimiser steps only: timed around the epoch's batches);
- the trained model's validation metric evaluated in fp32 (what the training precision did to the
  model) and in bf16 (what bf16 inference does to it), and evaluation images/s in fp32 and bf16.

Usage (alone on the machine; the figures go into benchmarks/RESULTS.md by hand)::

    python benchmarks/bf16_cpu.py                      # shared HAM10000, about 14 minutes on 2 cores
    python benchmarks/bf16_cpu.py --quick              # synthetic data, a few batches: about 2 minutes
    python benchmarks/bf16_cpu.py --epochs 2 --batches 100 --recipes cls_default

Full size: 2 epochs of 100 batches each (seg: 3,200 images, cls: 6,400), the recipe's validation side.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import ROOT, SHARED


def timed_trainer():
    """A Trainer that times its optimiser steps and, at the end, evaluates the best weights in fp32 and bf16."""
    import torch

    from dermkit.engine.precision import Precision
    from dermkit.engine.trainer import Trainer

    class TimedTrainer(Trainer):
        train_seconds = 0.0
        train_images = 0

        def _train_batches(self, batches, bar):
            start = self.state.batch
            t0 = time.perf_counter()
            super()._train_batches(batches, bar)
            self.train_seconds += time.perf_counter() - t0
            self.train_images += sum(len(b) for b in batches[start:])

        def _finish(self):
            from dermkit.checkpoint import load_checkpoint

            best = self.run_dir / "checkpoints" / "best.pt"
            self.model.load_state_dict(load_checkpoint(best, map_location=self.device).weights)
            out = {"train_images_per_s": self.train_images / self.train_seconds, "best_epoch": self.state.best_epoch}
            loader = self._loader(self.val_set, batch_size=self.cfg.train.batch_size)
            for name in ("fp32", "bf16"):
                t0 = time.perf_counter()
                with torch.no_grad(), Precision(name, self.device.type).autocast():
                    metrics = self.task.evaluate(self.model, loader, self.loss_fn, self.device, prefix="")
                seconds = time.perf_counter() - t0
                out[f"eval_{name}"] = {**metrics, "images_per_s": len(self.val_set) / seconds}
            return out

    return TimedTrainer


def run(recipe: str, precision: str, overrides: list[str], out: Path) -> dict:
    from dermkit.config import load_config

    cfg = load_config(recipe, [*overrides, f"train.precision={precision}"])
    trainer = timed_trainer()(cfg, out / f"{recipe}-{precision}", progress=False)
    t0 = time.perf_counter()
    result = trainer.fit()
    result["wall_s"] = time.perf_counter() - t0
    return result


def table(results: dict[str, dict[str, dict]]) -> str:
    metric = {"seg_default": "dice", "cls_default": "bma"}
    lines = [
        "| recipe | precision | train img/s | x fp32 | val metric (fp32 eval) | val metric (bf16 eval) | "
        "val AUC / Jaccard (fp32 eval) | eval img/s fp32 | eval img/s bf16 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for recipe, by_precision in results.items():
        m = metric.get(recipe, "loss")
        second = "macro_auc" if m == "bma" else "jaccard"
        base = by_precision["fp32"]["train_images_per_s"]
        for precision, r in by_precision.items():
            e32, e16 = r["eval_fp32"], r["eval_bf16"]
            lines.append(
                f"| {recipe} | {precision} | {r['train_images_per_s']:.1f} | {r['train_images_per_s'] / base:.2f} | "
                f"{m} {e32[m]:.4f} | {m} {e16[m]:.4f} | {e32[second]:.4f} | {e32['images_per_s']:.1f} | "
                f"{e16['images_per_s']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["seg_default", "cls_default"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", type=int, default=100, help="batches per epoch")
    parser.add_argument("--quick", action="store_true", help="synthetic data, 2 epochs of 4 batches")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-bf16")
    args = parser.parse_args()
    overrides = [f"train.epochs={args.epochs}", f"train.max_batches_per_epoch={args.batches}"]
    if args.quick:
        overrides = ["train.epochs=2", "train.max_batches_per_epoch=4", "data.synthetic.n=160"]
    elif (SHARED / "HAM10000").exists():
        overrides.append(f"data.path={SHARED / 'HAM10000'}")
    else:
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: run with --quick, or beside the shared data")
    import torch

    from dermkit.engine.precision import cpu_has_native_bf16

    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="dermkit-bf16-") as tmp:
        for recipe in args.recipes:
            results[recipe] = {p: run(recipe, p, overrides, Path(tmp)) for p in ("fp32", "bf16")}
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "native_bf16": cpu_has_native_bf16(),
        "overrides": overrides,
    }
    (args.out / ("quick.json" if args.quick else "results.json")).write_text(
        json.dumps({"meta": meta, "results": results}, indent=2)
    )
    print(json.dumps(meta))
    print(table(results))


if __name__ == "__main__":
    main()
