"""Writing a synthetic data set in the HAM10000 layout: images, masks, metadata CSV, truth notes.

Lesions are rendered independently (one process per chunk when ``workers > 1``); the files are
byte-identical for the same arguments whatever the worker count.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dermkit import __version__
from dermkit.data.synthetic.classes import DEFAULT_LOOKALIKE, SyntheticArgumentError
from dermkit.data.synthetic.plan import BALANCES, PlannedLesion, plan_lesions
from dermkit.data.synthetic.scene import check_size, render_scene, render_view, sample_lesion
from dermkit.imageio import write_image, write_mask

METADATA_COLUMNS: tuple[str, ...] = ("lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization")

IMAGE_DIR = "HAM10000_images"

MASK_DIR = "HAM10000_segmentations_lesion_tschandl"

TRUTH_DIR = "synthetic_truth"


def write_synthetic_dataset(
    out: str | Path,
    n: int,
    seed: int = 0,
    size: tuple[int, int] = (150, 200),
    balance: str = "ham10000",
    hair_prob: float = 0.3,
    frame_prob: float = 0.2,
    images_per_lesion: float = 1.35,
    lookalike: float = DEFAULT_LOOKALIKE,
    progress: bool = False,
    workers: int = 1,
) -> Path:
    """Write a synthetic dermoscopy data set in the HAM10000 layout and return ``out``.

    Layout: ``HAM10000_metadata.csv``, ``HAM10000_images/SYN_*.jpg`` (JPEG q95),
    ``HAM10000_segmentations_lesion_tschandl/*_segmentation.png`` and, beyond HAM10000,
    ``synthetic_truth/*_hair.png`` / ``*_frame.png`` masks, ``appearance.csv`` (the class whose
    style drew each image) and ``generator.json`` (the arguments).

    Args:
        out: folder to write (created; existing files of the same names are overwritten).
        n: number of images, at least 1.
        seed: master seed; the same arguments give byte-identical files.
        size: (height, width) of every image.
        balance: "ham10000" (real class prevalence, every class >= 2 images when n >= 14) or
            "balanced" (equal images per class, +-1).
        hair_prob: fraction of images with hairs (a quarter of those dense).
        frame_prob: fraction of images with the black lens frame.
        images_per_lesion: mean images per lesion (>= 1); extra images of a lesion are re-shot
            with a small shift, rotation, zoom and exposure change and different hairs.
        lookalike: fraction of lesions drawn in the style of a look-alike class (:data:`LOOKALIKES`)
            while keeping their true label and metadata; 0 makes every class visually distinct.
        progress: show a tqdm progress bar.
        workers: processes to render with; the output does not depend on it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SyntheticArgumentError(f"n must be an integer >= 1, got {n!r}")
    hw = check_size(size)
    if balance not in BALANCES:
        raise SyntheticArgumentError(f"unknown balance {balance!r}; expected one of {', '.join(BALANCES)}")
    for name, p in (("hair_prob", hair_prob), ("frame_prob", frame_prob), ("lookalike", lookalike)):
        if not 0.0 <= p <= 1.0:
            raise SyntheticArgumentError(f"{name} must be in [0, 1], got {p!r}")
    if not images_per_lesion >= 1.0:
        raise SyntheticArgumentError(f"images_per_lesion must be >= 1, got {images_per_lesion!r}")
    if workers < 1:
        raise SyntheticArgumentError(f"workers must be >= 1, got {workers!r}")

    root = Path(out)
    for sub in (IMAGE_DIR, MASK_DIR, TRUTH_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    plan = plan_lesions(int(n), seed, balance, images_per_lesion, lookalike)
    _write_metadata(root / "HAM10000_metadata.csv", plan)
    _write_truth_notes(
        root / TRUTH_DIR,
        plan,
        dict(
            n=int(n),
            seed=seed,
            size=list(hw),
            balance=balance,
            hair_prob=hair_prob,
            frame_prob=frame_prob,
            images_per_lesion=images_per_lesion,
            lookalike=lookalike,
        ),
    )

    jobs = [(lesion, seed, hw, hair_prob, frame_prob, str(root)) for lesion in plan]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=int(n), desc="synthetic images", unit="img")
    if workers == 1:
        done = map(_write_lesion, jobs)
        _consume(done, bar)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            _consume(pool.map(_write_lesion, jobs, chunksize=8), bar)
    if bar is not None:
        bar.close()
    return root


def _views(
    lesion: PlannedLesion, seed: int, hw: tuple[int, int], hair_prob: float, frame_prob: float
) -> Iterator[tuple[str, tuple[np.ndarray, ...]]]:
    """(image_id, rendered view) for every image of a planned lesion."""
    spec = sample_lesion(np.random.default_rng([seed, 2, lesion.index]), lesion.appearance)
    scene = render_scene(spec, hw)
    for k, image_id in enumerate(lesion.image_ids()):
        rng = np.random.default_rng([seed, 3, lesion.index, k])
        hair = bool(rng.random() < hair_prob)
        density = "dense" if rng.random() < 0.25 else "sparse"
        frame = bool(rng.random() < frame_prob)
        yield (
            image_id,
            render_view(spec, hw, rng, perturb=k > 0, hair=hair, frame=frame, hair_density=density, scene=scene),
        )


def _write_lesion(job: tuple[PlannedLesion, int, tuple[int, int], float, float, str]) -> int:
    """Render and write every image of one lesion (a top-level function so processes can run it)."""
    lesion, seed, hw, hair_prob, frame_prob, out = job
    root = Path(out)
    for image_id, (image, _, lesion_mask, hair_mask, frame_mask) in _views(lesion, seed, hw, hair_prob, frame_prob):
        write_image(root / IMAGE_DIR / f"{image_id}.jpg", image, quality=95)
        write_mask(root / MASK_DIR / f"{image_id}_segmentation.png", lesion_mask)
        write_mask(root / TRUTH_DIR / f"{image_id}_hair.png", hair_mask)
        write_mask(root / TRUTH_DIR / f"{image_id}_frame.png", frame_mask)
    return lesion.n_images


def _format_age(age: float) -> str:
    return "" if math.isnan(age) else f"{age:.1f}"


def _consume(counts: Iterator[int], bar: object | None) -> None:
    for c in counts:
        if bar is not None:
            bar.update(c)  # type: ignore[attr-defined]


def _write_metadata(path: Path, plan: list[PlannedLesion]) -> None:
    """HAM10000_metadata.csv: one row per image, lesions' rows adjacent as in the real file."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(METADATA_COLUMNS)
        for lesion in plan:
            for image_id in lesion.image_ids():
                writer.writerow(
                    [
                        lesion.lesion_id,
                        image_id,
                        lesion.label,
                        "synthetic",
                        _format_age(lesion.age),
                        lesion.sex,
                        lesion.site,
                    ]
                )


def _write_truth_notes(folder: Path, plan: list[PlannedLesion], args: dict) -> None:
    (folder / "README.txt").write_text(
        "Exact ground truth of the synthetic generator: <image_id>_hair.png marks hair pixels and "
        "<image_id>_frame.png the black lens-frame pixels (0/255); lesion masks are in "
        f"../{MASK_DIR}; appearance.csv names the class whose style drew each image (it differs "
        "from dx for look-alike lesions).\n",
        encoding="utf-8",
    )
    with open(folder / "appearance.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("image_id", "dx", "appearance"))
        for lesion in plan:
            writer.writerows((image_id, lesion.label, lesion.appearance) for image_id in lesion.image_ids())
    meta = {"generator": "dermkit.data.synthetic.write_synthetic_dataset", "dermkit_version": __version__, **args}
    (folder / "generator.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
