"""OOD benchmark: how well a classification run's OOD scores separate HAM10000 test images from other images.

In-distribution: the run's own HAM10000 test side (shared 200x150 images). Out-of-distribution:
(a) non-dermoscopic photographs: the sample images shipped with scikit-learn
(``load_sample_images``) and, when scikit-image is installed, with ``skimage.data``, each taken
whole, as its central 60 % crop and as its top-left quarter; (b) the 20 shared PH2 BMP images
(another dermoscopy source); (c) the 40 shared ISIC 2017 images (see ../shared/data/README.md).
Every image goes through the same single-image path as ``predict`` (the run's lesion focus and
preprocessing; "unknown" metadata for a model that uses metadata), and is scored by the run's
``RUN/ood.npz`` (Mahalanobis) and energy. Reported per set: AUROC against the HAM test images
(with a 95 % bootstrap interval, 1000 resamples within each group) and the share flagged at the
validation thresholds. Usage::

    python benchmarks/ood_auroc.py --cls RUN          # an existing classification run
    python benchmarks/ood_auroc.py [--out DIR]        # trains a small one on HAM10000 first (a few CPU minutes)

The small run: the ``cls_default`` recipe (ImageNet EfficientNet-Lite0) without metadata (so that
no score can tell the sets apart by their missing metadata), at 64x96, one epoch of 60 batches of
32, without TTA (a few minutes on two idle cores); its ``ood.npz`` is fitted by training itself.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED

SMALL_RUN = [
    "data.preprocess.size=[64, 96]",
    "model.kwargs.use_metadata=false",
    "inference.metadata_prior=false",
    "inference.tta=false",
    "train.epochs=1",
    "train.max_batches_per_epoch=60",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cls", type=Path, default=None, help="classification run folder (default: train one)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-ood", help="where the small run goes")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of each AUROC")
    parser.add_argument("overrides", nargs="*", help="config overrides of the small run, e.g. train.epochs=1")
    return parser.parse_args()


def train_small_run(out: Path, overrides: list[str]) -> Path:
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    cfg = load_config("cls_default", [f"data.path={SHARED / 'HAM10000'}", *SMALL_RUN, *overrides])
    fit(cfg, out)
    return out


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 from a grey, boolean, RGB or RGBA sample array."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def photographs() -> dict[str, np.ndarray]:
    """Non-dermoscopic sample photographs, each whole, as its central 60 % and as its top-left quarter."""
    from sklearn.datasets import load_sample_images

    sklearn_images = load_sample_images()
    base = {
        f"sklearn-{Path(name).stem}": img
        for name, img in zip(sklearn_images.filenames, sklearn_images.images, strict=True)
    }
    try:
        import skimage.data as sk
    except ImportError:
        print("scikit-image is not installed: the photographs are scikit-learn's two sample images only")
    else:
        for name in (
            "astronaut", "camera", "cat", "coffee", "rocket", "coins", "moon", "page", "text", "clock",
            "hubble_deep_field", "immunohistochemistry", "retina", "logo", "colorwheel", "brick", "grass", "gravel",
        ):  # fmt: skip
            base[f"skimage-{name}"] = getattr(sk, name)()
    out = {}
    for name, img in base.items():
        img = as_rgb(img)
        h, w = img.shape[:2]
        dh, dw = int(h * 0.2), int(w * 0.2)
        out[name] = img
        out[f"{name}-centre"] = img[dh : h - dh, dw : w - dw]
        out[f"{name}-quarter"] = img[: h // 2, : w // 2]
    return out


def files_of(paths: list[Path]) -> dict[str, np.ndarray]:
    from dermkit.imageio import read_image

    return {p.stem: read_image(p) for p in sorted(paths)}


def scores(run, detector, images: dict[str, np.ndarray], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(Mahalanobis, energy) of images through the single-image path of ``predict``."""
    import torch

    from dermkit.data.metadata import encode_metadata
    from dermkit.data.records import Metadata
    from dermkit.inference.focus import run_focus
    from dermkit.models.features import logits_and_features
    from dermkit.preprocess.pipeline import preprocess

    focus = run_focus(run)
    maha, energy = [], []
    items = list(images.items())
    for start in range(0, len(items), batch):
        xs, ms = [], []
        for name, image in items[start : start + batch]:
            focused = focus.region(image)[0] if focus is not None else image
            xs.append(run.to_tensor(preprocess(focused, run.cfg.data.preprocess).image))
            ms.append(torch.from_numpy(encode_metadata(Metadata(image_id=name, lesion_id=name)))[None])
        with torch.no_grad():
            logits, features = logits_and_features(run.model, torch.cat(xs), torch.cat(ms).to(run.device))
        maha.append(detector.score(features.cpu().numpy()))
        energy.append(detector.energy(logits.cpu().numpy()))
    return np.concatenate(maha), np.concatenate(energy)


def auroc_ci(inside: np.ndarray, outside: np.ndarray, n_boot: int, seed: int = 0) -> tuple[float, float, float]:
    """AUROC (outside = positive, higher score = more unusual) and its 95 % bootstrap interval."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    auc = float(roc_auc_score(y, np.r_[inside, outside]))
    rng = np.random.default_rng(seed)
    boots = [
        roc_auc_score(y, np.r_[rng.choice(inside, len(inside)), rng.choice(outside, len(outside))])
        for _ in range(n_boot)
    ]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return auc, float(lo), float(hi)


def main() -> None:
    args = parse_args()
    if not (SHARED / "HAM10000").exists():
        raise SystemExit(f"{SHARED / 'HAM10000'} not found: this benchmark needs the shared real data")
    from dermkit.data.readers import load_table
    from dermkit.data.splits import load_split, side_indices
    from dermkit.inference import load_run
    from dermkit.ood import load_ood

    t0 = time.perf_counter()
    run_dir = args.cls if args.cls is not None else train_small_run(args.out, args.overrides)
    train_minutes = (time.perf_counter() - t0) / 60
    run = load_run(run_dir, task="classification")
    detector = load_ood(run_dir)
    if detector is None:
        raise SystemExit(f"{run_dir}: no ood.npz; refit it with dermkit.evaluation.classification.refit_calibration")
    table = load_table(SHARED / "HAM10000")
    test = side_indices(table, load_split(Path(run_dir) / "split.csv", table), "test")
    ham = files_of([Path(p) for p in table.records["image_path"].iloc[test]])
    sets = {
        "non-dermoscopic photographs (skimage + sklearn samples, whole/centre/quarter)": photographs(),
        "PH2 (BMP, ~765x575)": files_of(list((SHARED / "PH2Dataset").rglob("*_Dermoscopic_Image/*.bmp"))),
        "ISIC 2017 sample (256x256)": files_of(list((SHARED / "ISIC2017_sample").rglob("*.jpg"))),
    }
    ham_maha, ham_energy = scores(run, detector, ham)
    rows = [
        f"| HAM10000 test side (in distribution) | {len(ham)} | - | - | "
        f"{detector.flag(ham_maha).mean():.3f} | {detector.flag_energy(ham_energy).mean():.3f} |"
    ]
    results: dict[str, dict] = {}
    for name, images in sets.items():
        maha, energy = scores(run, detector, images)
        m, e = auroc_ci(ham_maha, maha, args.boot), auroc_ci(ham_energy, energy, args.boot)
        flagged, energy_flagged = float(detector.flag(maha).mean()), float(detector.flag_energy(energy).mean())
        results[name] = {"images": len(images), "mahalanobis": m, "energy": e, "flagged": flagged}
        results[name]["energy_flagged"] = energy_flagged
        rows.append(
            f"| {name} | {len(images)} | {m[0]:.3f} [{m[1]:.3f}, {m[2]:.3f}] | {e[0]:.3f} [{e[1]:.3f}, {e[2]:.3f}] | "
            f"{flagged:.3f} | {energy_flagged:.3f} |"
        )
    header = (
        "| images | n | AUROC Mahalanobis [95% CI] | AUROC energy [95% CI] | flagged (Mahalanobis) "
        "| flagged (energy) |\n"
        "|---|---|---|---|---|---|"
    )
    final = json.loads((Path(run_dir) / "final_metrics.json").read_text())
    info = (
        f"run {run_dir}: {run.cfg.model.name}, {run.cfg.data.preprocess.size}, test BMA "
        f"{final['test']['bma']:.4f}, macro AUC {final['test']['macro_auc']:.4f}; detector: "
        f"{detector.components.shape[0]} of {detector.feature_dim} dims ({detector.explained_variance:.3f} of the "
        f"variance), {detector.train_images} training images, thresholds at the {detector.quantile:g} validation "
        f"quantile ({detector.val_images} images); train+fit {train_minutes:.1f} min, total "
        f"{(time.perf_counter() - t0) / 60:.1f} min"
    )
    table_md = "\n".join([header, *rows])
    print(info)
    print(table_md)
    (Path(run_dir) / "ood_auroc.md").write_text(info + "\n\n" + table_md + "\n")
    (Path(run_dir) / "ood_auroc.json").write_text(json.dumps({"info": info, "sets": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
