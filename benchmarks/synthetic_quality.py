"""Quality on the embedded synthetic data: the default segmenter's Dice, and whether metadata helps
the default classifier. Short CPU runs (a few minutes each). Usage::

    python benchmarks/synthetic_quality.py [--n 1200] [--out runs/bench-synthetic]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from dermkit.config import load_config
    from dermkit.data.synthetic import write_synthetic_dataset
    from dermkit.engine.trainer import fit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-synthetic"))
    parser.add_argument("--skip-seg", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    data = out / "data"
    if not (data / ".complete").exists():
        write_synthetic_dataset(data, n=args.n, seed=0, progress=True)
        (data / ".complete").touch()
    rows = []
    if not args.skip_seg:
        seg = fit(load_config(ROOT / "configs" / "seg_default.yaml", [f"data.path={data}"]), out / "seg")
        rows.append(f"| segmentation | seg_default | val Dice {seg['val']['dice']:.4f} | test Dice {seg['test']['dice']:.4f} "
                    f"| test Jaccard {seg['test']['jaccard']:.4f} |")
    for meta in (True, False):
        cls = fit(load_config(ROOT / "configs" / "cls_default.yaml",
                              [f"data.path={data}", f"model.kwargs.use_metadata={str(meta).lower()}"]),
                  out / f"cls-meta{int(meta)}")
        rows.append(f"| classification | cls_default, metadata {'on' if meta else 'off'} | test BMA "
                    f"{cls['test']['bma']:.4f} | test macro AUC {cls['test']['macro_auc']:.4f} | "
                    f"test accuracy {cls['test']['accuracy']:.4f} |")
    print("\n".join(rows))
    (out / "rows.md").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
