"""The synthetic dermoscopy generator: exact ground truth, HAM10000 layout, determinism."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dermkit.data.records import HAM10000_CLASSES, SEXES, SITES
from dermkit.data.synthetic import (
    LOOKALIKES,
    METADATA_COLUMNS,
    SynthImage,
    bayes_limits,
    class_image_counts,
    synthesize_image,
    write_synthetic_dataset,
)
from dermkit.data.synthetic.plan import plan_lesions

TINY = (40, 48)  # (H, W): big enough for every class to draw its lesion, small enough to be fast


def read_rows(root: Path, name: str = "HAM10000_metadata.csv") -> list[dict[str, str]]:
    with open(root / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- single images


@pytest.mark.parametrize("label", HAM10000_CLASSES)
def test_image_and_masks_agree(label: str) -> None:
    s = synthesize_image(np.random.default_rng(3), label, size=(72, 96), hair=True, frame=True)
    assert isinstance(s, SynthImage) and s.label == label
    assert s.image.shape == s.hair_free.shape == (72, 96, 3)
    assert s.image.dtype == s.hair_free.dtype == np.uint8
    for mask in (s.lesion_mask, s.hair_mask, s.frame_mask):
        assert mask.shape == (72, 96) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1}
    assert s.sex in SEXES and s.site in SITES
    assert math.isnan(s.age) or (s.age % 5 == 0 and 0 < s.age <= 85)


@pytest.mark.parametrize("label", HAM10000_CLASSES)
def test_lesion_mask_is_inside_the_image(label: str) -> None:
    for seed in range(5):
        s = synthesize_image(np.random.default_rng(seed), label, size=(64, 64))
        m = s.lesion_mask
        assert 0.005 < m.mean() < 0.8, f"{label} seed {seed}: lesion covers {m.mean():.3f} of the image"
        border = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
        assert border.mean() < 0.25, f"{label} seed {seed}: lesion touches {border.mean():.2f} of the border"


def test_hair_truth_is_exact() -> None:
    for seed, density in [(0, "sparse"), (1, "dense"), (2, "dense")]:
        s = synthesize_image(
            np.random.default_rng(seed), "mel", size=(96, 128), hair=True, frame=seed == 2, hair_density=density
        )
        hair = s.hair_mask.astype(bool)
        assert hair.any()
        # Outside hairs the two images are identical; on hairs the image is strictly darker.
        assert np.array_equal(s.image[~hair], s.hair_free[~hair])
        lum_img = s.image[hair].astype(int).sum(1)
        lum_free = s.hair_free[hair].astype(int).sum(1)
        assert (lum_img < lum_free).all()
    sparse = synthesize_image(np.random.default_rng(5), "nv", size=(96, 128), hair=True).hair_mask.mean()
    dense = synthesize_image(np.random.default_rng(5), "nv", size=(96, 128), hair=True, hair_density="dense")
    assert dense.hair_mask.mean() > sparse


def test_no_hair_no_frame_means_empty_masks() -> None:
    s = synthesize_image(np.random.default_rng(0), "bkl", size=(48, 64))
    assert not s.hair_mask.any() and not s.frame_mask.any()
    assert np.array_equal(s.image, s.hair_free)


def test_frame_is_dark_and_disjoint_from_lesion_and_hair() -> None:
    for seed in range(4):
        s = synthesize_image(np.random.default_rng(seed), "mel", size=(96, 128), hair=True, frame=True)
        frame = s.frame_mask.astype(bool)
        assert frame.any() and frame[0, 0] and frame[-1, -1]  # the corners are black
        assert s.image[frame].mean() < 30 and s.image[frame].max() < 60
        assert not (frame & s.lesion_mask.astype(bool)).any()
        assert not (frame & s.hair_mask.astype(bool)).any()
        assert s.image[~frame].mean() > 80  # the lit field stays bright


def test_same_rng_state_same_image_and_different_seeds_differ() -> None:
    a = synthesize_image(np.random.default_rng(7), "vasc", size=(32, 32), hair=True, frame=True)
    b = synthesize_image(np.random.default_rng(7), "vasc", size=(32, 32), hair=True, frame=True)
    c = synthesize_image(np.random.default_rng(8), "vasc", size=(32, 32), hair=True, frame=True)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.lesion_mask, b.lesion_mask)
    assert not np.array_equal(a.image, c.image)


def test_colour_alone_does_not_separate_the_classes() -> None:
    """Mean lesion colour carries signal (well above chance) but is not a perfect rule."""
    rng = np.random.default_rng(0)
    feats, labels = [], []
    for k, label in enumerate(HAM10000_CLASSES):
        for _ in range(24):
            s = synthesize_image(rng, label, size=(48, 48))
            feats.append(s.hair_free[s.lesion_mask > 0].mean(0))
            labels.append(k)
    x, y = np.array(feats), np.array(labels)
    train = np.arange(len(y)) % 2 == 0
    centroids = np.stack([x[train & (y == k)].mean(0) for k in range(len(HAM10000_CLASSES))])
    pred = np.argmin(((x[~train, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    accuracy = (pred == y[~train]).mean()
    assert 2 / len(HAM10000_CLASSES) < accuracy < 0.97, accuracy


# ----------------------------------------------------------------------------- invalid arguments


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label="melanoma"), "unknown label 'melanoma'"),
        (dict(label="nv", size=(8, 8)), "size must be at least"),
        (dict(label="nv", hair_density="thick"), "hair_density"),
    ],
)
def test_synthesize_image_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synthesize_image(np.random.default_rng(0), **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must be an integer >= 1"),
        (dict(n=-3), "n must be an integer >= 1"),
        (dict(n=10, balance="uniform"), "unknown balance 'uniform'"),
        (dict(n=10, hair_prob=1.5), "hair_prob"),
        (dict(n=10, lookalike=-0.1), "lookalike"),
        (dict(n=10, images_per_lesion=0.5), "images_per_lesion"),
        (dict(n=10, size=(4, 100)), "size must be at least"),
    ],
)
def test_write_rejects_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_synthetic_dataset(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()  # nothing written before validation


# ----------------------------------------------------------------------------- class mix


def test_balanced_counts_are_equal_to_one() -> None:
    for n in (7, 20, 100, 701):
        counts = class_image_counts(n, "balanced")
        assert sum(counts.values()) == n
        assert max(counts.values()) - min(counts.values()) <= 1


def test_ham10000_counts_follow_prevalence_with_every_class_present() -> None:
    for n in (14, 15, 70, 600, 10015):
        counts = class_image_counts(n, "ham10000")
        assert sum(counts.values()) == n
        assert min(counts.values()) >= 2, counts
        if n > 14:  # at n == 14 every class has exactly its minimum of 2
            assert max(counts, key=counts.get) == "nv" and counts["nv"] > counts["mel"]
    assert class_image_counts(10015, "ham10000")["mel"] == 1113
    assert sum(class_image_counts(3, "ham10000").values()) == 3  # too few for every class: no minimum


def test_balanced_data_set_counts(tmp_path: Path) -> None:
    root = write_synthetic_dataset(tmp_path, n=23, seed=1, size=(24, 24), balance="balanced")
    per_class = {c: 0 for c in HAM10000_CLASSES}
    for row in read_rows(root):
        per_class[row["dx"]] += 1
    assert max(per_class.values()) - min(per_class.values()) <= 1


# ----------------------------------------------------------------------------- data set on disk


def test_layout_and_metadata(synthetic_root: Path) -> None:
    root = synthetic_root
    rows = read_rows(root)
    assert len(rows) == 70
    with open(root / "HAM10000_metadata.csv", encoding="utf-8") as f:
        assert f.readline().strip() == ",".join(METADATA_COLUMNS)
    for row in rows:
        image_id = row["image_id"]
        assert image_id.startswith("SYN_") and len(image_id) == 11
        assert row["lesion_id"].startswith("SYNL_")
        assert row["dx"] in HAM10000_CLASSES and row["dx_type"] == "synthetic"
        assert row["age"] == "" or float(row["age"]) % 5 == 0
        assert row["sex"] in SEXES and row["localization"] in SITES
        assert (root / "HAM10000_images" / f"{image_id}.jpg").is_file()
        assert (root / "HAM10000_segmentations_lesion_tschandl" / f"{image_id}_segmentation.png").is_file()
        assert (root / "synthetic_truth" / f"{image_id}_hair.png").is_file()
        assert (root / "synthetic_truth" / f"{image_id}_frame.png").is_file()
    assert len({r["image_id"] for r in rows}) == 70
    counts = {c: sum(r["dx"] == c for r in rows) for c in HAM10000_CLASSES}
    assert max(counts, key=counts.get) == "nv" and min(counts.values()) >= 2
    assert (root / "synthetic_truth" / "README.txt").read_text().strip()
    args = json.loads((root / "synthetic_truth" / "generator.json").read_text())
    assert args["n"] == 70 and args["seed"] == 0 and args["size"] == [64, 64] and "dermkit_version" in args


def test_files_decode_with_matching_sizes(synthetic_root: Path) -> None:
    from dermkit.imageio import read_image, read_mask, read_mask_raw

    for row in read_rows(synthetic_root)[:10]:
        image_id = row["image_id"]
        image = read_image(synthetic_root / "HAM10000_images" / f"{image_id}.jpg")
        assert image.shape == (64, 64, 3)
        for path in (
            synthetic_root / "HAM10000_segmentations_lesion_tschandl" / f"{image_id}_segmentation.png",
            synthetic_root / "synthetic_truth" / f"{image_id}_hair.png",
            synthetic_root / "synthetic_truth" / f"{image_id}_frame.png",
        ):
            assert set(np.unique(read_mask_raw(path))) <= {0, 255}
            read_mask(path, expected_hw=(64, 64))
        lesion = read_mask(synthetic_root / "HAM10000_segmentations_lesion_tschandl" / f"{image_id}_segmentation.png")
        assert lesion.any()


def test_the_ham10000_reader_loads_it(synthetic_root: Path) -> None:
    from dermkit.data.readers.ham10000 import read_ham10000

    table = read_ham10000(synthetic_root)
    assert len(table) == 70 and table.has_masks and table.has_labels
    assert table.records["mask_path"].notna().all()
    assert sum(table.class_counts().values()) == 70


def test_several_images_per_lesion(tmp_path: Path) -> None:
    root = write_synthetic_dataset(tmp_path / "a", n=60, seed=2, size=(24, 24), images_per_lesion=1.5)
    rows = read_rows(root)
    per_lesion: dict[str, list[dict]] = {}
    for r in rows:
        per_lesion.setdefault(r["lesion_id"], []).append(r)
    assert any(len(v) > 1 for v in per_lesion.values())
    assert 1.2 < len(rows) / len(per_lesion) < 1.8
    for images in per_lesion.values():  # one patient per lesion: same class and metadata
        assert len({(r["dx"], r["age"], r["sex"], r["localization"]) for r in images}) == 1
    single = read_rows(write_synthetic_dataset(tmp_path / "b", n=20, seed=2, size=(24, 24), images_per_lesion=1))
    assert len({r["lesion_id"] for r in single}) == 20


def test_views_of_a_lesion_differ_but_resemble_each_other(tmp_path: Path) -> None:
    from dermkit.imageio import read_image

    root = write_synthetic_dataset(tmp_path, n=40, seed=4, size=(48, 48), images_per_lesion=2, hair_prob=0)
    rows = read_rows(root)
    by_lesion: dict[str, list[str]] = {}
    for r in rows:
        by_lesion.setdefault(r["lesion_id"], []).append(r["image_id"])
    pairs = [v[:2] for v in by_lesion.values() if len(v) > 1]
    img = {i: read_image(root / "HAM10000_images" / f"{i}.jpg").astype(float) for p in pairs for i in p}
    same = np.mean([np.abs(img[a].mean((0, 1)) - img[b].mean((0, 1))).mean() for a, b in pairs])
    assert all(not np.array_equal(img[a], img[b]) for a, b in pairs)
    firsts = [p[0] for p in pairs]
    neighbours = zip(firsts[:-1], firsts[1:], strict=True)
    other = np.mean([np.abs(img[a].mean((0, 1)) - img[b].mean((0, 1))).mean() for a, b in neighbours])
    assert same < other  # views of one lesion are closer in colour than different lesions


def test_metadata_correlates_with_class() -> None:
    # The data set's plan (no images drawn) gives the metadata of 2,800 lesions in milliseconds.
    plan = plan_lesions(2800, seed=0, balance="balanced", images_per_lesion=1.0)
    rows = [
        {"dx": p.label, "age": "" if math.isnan(p.age) else str(p.age), "sex": p.sex, "localization": p.site}
        for p in plan
    ]
    ages = {c: [float(r["age"]) for r in rows if r["dx"] == c and r["age"]] for c in HAM10000_CLASSES}
    assert np.mean(ages["nv"]) + 12 < min(np.mean(ages["bcc"]), np.mean(ages["akiec"]))
    face = {c: np.mean([r["localization"] == "face" for r in rows if r["dx"] == c]) for c in HAM10000_CLASSES}
    assert face["akiec"] > 3 * face["nv"]
    unknown = np.mean([r["sex"] == "unknown" or r["localization"] == "unknown" or not r["age"] for r in rows])
    assert 0.02 < unknown < 0.12  # ~2% each of unknown sex, unknown site, missing age


def test_lookalikes_change_appearance_only() -> None:
    plain = plan_lesions(2800, seed=0, balance="balanced", images_per_lesion=1.0, lookalike=0.0)
    mixed = plan_lesions(2800, seed=0, balance="balanced", images_per_lesion=1.0, lookalike=0.2)
    assert all(p.appearance == p.label for p in plain)
    changed = [m for m in mixed if m.appearance != m.label]
    assert 0.17 < len(changed) / len(mixed) < 0.23
    assert all(m.appearance in LOOKALIKES[m.label] for m in changed)
    # Labels, image counts and metadata come from their own streams: look-alikes leave them alone.
    strip = lambda p: (p.label, p.n_images, p.first_image, str(p.age), p.sex, p.site)  # noqa: E731
    assert [strip(p) for p in plain] == [strip(m) for m in mixed]


def test_bayes_limits_show_what_pixels_and_metadata_can_reach() -> None:
    assert bayes_limits(lookalike=0.0, n=1400)["image"] == 1.0  # every class drawn in its own style
    limits = bayes_limits(n=7000)
    assert 0.6 < limits["image"] < 0.7  # ~0.65 at the default 35% look-alikes
    assert limits["image+metadata"] > limits["image"] + 0.04  # metadata carries what the pixels lack
    assert 1 / 7 + 0.1 < limits["metadata"] < limits["image"]  # informative, but no diagnosis alone


def test_lookalike_images_are_drawn_in_the_other_class_style(tmp_path: Path) -> None:
    kw = dict(n=14, seed=3, size=(48, 48), balance="balanced", hair_prob=0, frame_prob=0, images_per_lesion=1)
    plain = write_synthetic_dataset(tmp_path / "plain", lookalike=0.0, **kw)
    every = write_synthetic_dataset(tmp_path / "every", lookalike=1.0, **kw)
    truth = read_rows(every, "synthetic_truth/appearance.csv")
    assert all(r["appearance"] in LOOKALIKES[r["dx"]] for r in truth)
    assert read_rows(plain) == read_rows(every)  # the labels and metadata do not change
    differ = [
        r["image_id"]
        for r in truth
        if (plain / "HAM10000_images" / f"{r['image_id']}.jpg").read_bytes()
        != (every / "HAM10000_images" / f"{r['image_id']}.jpg").read_bytes()
    ]
    assert len(differ) == len(truth)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_different_seed_different(tmp_path: Path) -> None:
    kw = dict(n=16, size=(32, 40), hair_prob=0.5, frame_prob=0.5)
    a = all_bytes(write_synthetic_dataset(tmp_path / "a", seed=11, **kw))
    b = all_bytes(write_synthetic_dataset(tmp_path / "b", seed=11, **kw))
    c = all_bytes(write_synthetic_dataset(tmp_path / "c", seed=12, **kw))
    assert a == b
    images = [k for k in a if k.endswith(".jpg")]
    assert images and any(a[k] != c.get(k) for k in images)


def test_worker_count_does_not_change_output(tmp_path: Path) -> None:
    kw = dict(n=12, seed=5, size=(24, 24), hair_prob=0.5, frame_prob=0.5)
    one = all_bytes(write_synthetic_dataset(tmp_path / "one", workers=1, **kw))
    two = all_bytes(write_synthetic_dataset(tmp_path / "two", workers=2, **kw))
    assert one == two
