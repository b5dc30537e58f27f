"""OOD benchmark: how well a classification run's OOD scores separate HAM10000 test images from other images.

In-distribution: the run's own HAM10000 test side (shared 200x150 images). Out-of-distribution:
(a) non-dermoscopic photographs: the sample images shipped with scikit-learn
(``load_sample_images``) and, when scikit-image is installed (the ``dev`` extra), with
``skimage.data``, each taken whole, as its central 60 % crop and as its top-left quarter; (b) the
20 shared PH2 BMP images (another dermoscopy source); (c) the 40 shared ISIC 2017 images (see
../shared/data/README.md). Every image goes through the same single-image path as ``predict``
(the run's lesion focus and preprocessing; "unknown" metadata for a model that uses metadata),
and is scored by the run's ``RUN/ood.npz``: the primary k-NN cosine score and the secondary
Mahalanobis and energy scores. Reported per set: AUROC against the HAM test images (with a 95 %
bootstrap interval, 1000 resamples within each group) and the share flagged at the validation
thresholds; and, for information only (k is fixed from the paper, not chosen here), the k-NN
AUROC at other k on the same bank. Usage::

    python benchmarks/ood_auroc.py --cls RUN [--refit]  # an existing run (--refit: its detector
                                                        # fitted again by this dermkit first)
    python benchmarks/ood_auroc.py [--out DIR]          # trains a small one on HAM10000 first

The small run: the ``cls_default`` recipe (ImageNet EfficientNet-Lite0) without metadata (so that
no score can tell the sets apart by their missing metadata), at 64x96, three epochs of 60 batches
of 32, without TTA (about 5 minutes on two cores); its ``ood.npz`` is fitted by training itself.
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
    "train.epochs=3",
    "train.max_batches_per_epoch=60",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cls", type=Path, default=None, help="classification run folder (default: train one)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-ood", help="where the small run goes")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of each AUROC")
    parser.add_argument("--refit", action="store_true", help="fit the run's OOD detector again before scoring")
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


#: Other k of the k-NN score reported for information (the detector's own k is fixed from the paper).
OTHER_K = (1, 5, 20, 50)


def features_of(run, images: dict[str, np.ndarray], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D), logits (N, C)) of images through the single-image path of ``predict``."""
    import torch

    from dermkit.data.metadata import encode_metadata
    from dermkit.data.records import Metadata
    from dermkit.inference.focus import run_focus
    from dermkit.models.features import logits_and_features
    from dermkit.preprocess.pipeline import preprocess

    focus = run_focus(run)
    features, logits = [], []
    items = list(images.items())
    for start in range(0, len(items), batch):
        xs, ms = [], []
        for name, image in items[start : start + batch]:
            focused = focus.region(image)[0] if focus is not None else image
            xs.append(run.to_tensor(preprocess(focused, run.cfg.data.preprocess).image))
            ms.append(torch.from_numpy(encode_metadata(Metadata(image_id=name, lesion_id=name)))[None])
        with torch.no_grad():
            z, f = logits_and_features(run.model, torch.cat(xs), torch.cat(ms).to(run.device))
        features.append(f.cpu().numpy())
        logits.append(z.cpu().numpy())
    return np.concatenate(features), np.concatenate(logits)


def scores(detector, features: np.ndarray, logits: np.ndarray) -> dict[str, np.ndarray]:
    """Every score of the detector (primary first), and the k-NN score at :data:`OTHER_K`."""
    from dermkit.ood import KNNCosine

    out = {
        "knn": detector.score(features),
        "mahalanobis": detector.mahalanobis_score(features),
        "energy": detector.energy(logits),
    }
    bank = detector.knn.bank
    for k in OTHER_K:
        if k != detector.knn.k and k <= len(bank):
            out[f"knn_k{k}"] = KNNCosine(bank=bank, k=k).score(features)
    return out


def flagged(detector, s: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of images above each score's validation threshold."""
    return {
        "knn": float(detector.flag(s["knn"]).mean()),
        "mahalanobis": float(detector.flag_mahalanobis(s["mahalanobis"]).mean()),
        "energy": float(detector.flag_energy(s["energy"]).mean()),
    }


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
    from dermkit.evaluation.classification import refit_ood
    from dermkit.inference import load_run
    from dermkit.ood import OOD_ARRAYS, load_ood

    t0 = time.perf_counter()
    run_dir = Path(args.cls if args.cls is not None else train_small_run(args.out, args.overrides))
    train_minutes = (time.perf_counter() - t0) / 60
    run = load_run(run_dir, task="classification")
    table = load_table(SHARED / "HAM10000")
    split = load_split(run_dir / "split.csv", table)
    if args.refit:
        refit_ood(run, table, side_indices(table, split, "val"), side_indices(table, split, "train"))
    detector = load_ood(run_dir)
    if detector is None:
        raise SystemExit(f"{run_dir}: no ood.npz; run again with --refit")
    test = side_indices(table, split, "test")
    ham = files_of([Path(p) for p in table.records["image_path"].iloc[test]])
    sets = {
        "non-dermoscopic photographs (skimage + sklearn samples, whole/centre/quarter)": photographs(),
        "PH2 (BMP, ~765x575)": files_of(list((SHARED / "PH2Dataset").rglob("*_Dermoscopic_Image/*.bmp"))),
        "ISIC 2017 sample (256x256)": files_of(list((SHARED / "ISIC2017_sample").rglob("*.jpg"))),
    }
    ham_scores = scores(detector, *features_of(run, ham))
    ham_flagged = flagged(detector, ham_scores)
    rows = [
        f"| HAM10000 test side (in distribution) | {len(ham)} | - | - | - | "
        f"{ham_flagged['knn']:.3f} | {ham_flagged['mahalanobis']:.3f} | {ham_flagged['energy']:.3f} |"
    ]
    other_k = [name for name in ham_scores if name.startswith("knn_k")]
    k_rows = []
    results: dict[str, dict] = {}
    for name, images in sets.items():
        s = scores(detector, *features_of(run, images))
        auc = {score: auroc_ci(ham_scores[score], s[score], args.boot) for score in s}
        results[name] = {"images": len(images), "auroc": auc, "flagged": flagged(detector, s)}
        cells = " | ".join(
            f"{a[0]:.3f} [{a[1]:.3f}, {a[2]:.3f}]" for a in (auc[n] for n in ("knn", "mahalanobis", "energy"))
        )
        f = results[name]["flagged"]
        rows.append(
            f"| {name} | {len(images)} | {cells} | {f['knn']:.3f} | {f['mahalanobis']:.3f} | {f['energy']:.3f} |"
        )
        k_rows.append(f"| {name} | " + " | ".join(f"{auc[n][0]:.3f}" for n in other_k) + f" | {auc['knn'][0]:.3f} |")
    k = detector.knn.k
    header = (
        f"| images | n | AUROC k-NN cosine, k={k} (primary) [95% CI] | AUROC Mahalanobis [95% CI] "
        "| AUROC energy [95% CI] | flagged (k-NN) | flagged (Mahalanobis) | flagged (energy) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    k_header = (
        "| images (k-NN AUROC at other k, same bank; not used to choose k) | "
        + " | ".join(f"k={n.removeprefix('knn_k')}" for n in other_k)
        + f" | k={k} (the detector's) |\n|---|"
        + "---|" * (len(other_k) + 1)
    )
    final = json.loads((run_dir / "final_metrics.json").read_text())
    m = detector.mahalanobis
    info = (
        f"run {run_dir}: {run.cfg.model.name}, {run.cfg.data.preprocess.size}, {run.cfg.train.epochs} epochs, "
        f"test BMA {final['test']['bma']:.4f}, macro AUC {final['test']['macro_auc']:.4f}; detector "
        f"({'refitted here' if args.refit else 'as stored'}): {detector.method}, bank of {len(detector.knn.bank)} "
        f"training images x {detector.feature_dim} features ({detector.summary()['bank_dtype']}; ood.npz "
        f"{(run_dir / OOD_ARRAYS).stat().st_size / 1e6:.2f} MB); Mahalanobis on {m.components.shape[0]} "
        f"components ({m.explained_variance:.3f} of the variance); thresholds at the {detector.quantile:g} "
        f"validation quantile ({detector.val_images} images); train+fit {train_minutes:.1f} min, total "
        f"{(time.perf_counter() - t0) / 60:.1f} min"
    )
    table_md = "\n".join([header, *rows]) + "\n\n" + "\n".join([k_header, *k_rows])
    print(info)
    print(table_md)
    (run_dir / "ood_auroc.md").write_text(info + "\n\n" + table_md + "\n")
    (run_dir / "ood_auroc.json").write_text(json.dumps({"info": info, "sets": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
