"""``dermkit data check``: decode every image and mask once and report what would break training.

:func:`check_table` returns a :class:`CheckReport` of counts (images, lesions, per class), an image
size histogram and a list of :class:`Problem` s. Errors make an image unusable (missing or
undecodable file, mask of the wrong size, duplicate ``image_id``, one lesion under two labels);
warnings deserve a look (grey-level masks, {0, 1} masks, empty masks, the same or a near-identical
image under two *different* lesion ids -- a likely split leak). ``report.bad_image_ids()`` lists the
ids to exclude. A file that cannot be decoded is reported and the check goes on with the rest.

Problem kinds:

========================  ========  =======================================================
kind                      severity  meaning
========================  ========  =======================================================
missing_file              error     image or mask file does not exist
empty_file                error     file has 0 bytes
not_an_image              error     file is not an image (e.g. text named .jpg)
truncated_image           error     image data stops early
unreadable_image          error     PIL cannot decode it
mask_size_mismatch        error     mask and image differ in width/height
duplicate_image_id        error     two rows share an image_id
lesion_label_conflict     error     one lesion_id under two labels
too_large                 error     image above the pixel limit (``dermkit.imageio.max_pixels``)
non_binary_mask           warning   grey levels other than 0/255 (binarised at > 128)
zero_one_masks            warning   one line per data set: masks stored as {0, 1}, read as binary
empty_mask                warning   mask has no lesion pixel after binarisation (counted in
                                    ``CheckReport.empty_mask_ids``)
duplicate_file            warning   byte-identical files under different lesion ids
near_duplicate            warning   near-identical images (perceptual hash + colour thumbnail)
                                    under different lesion ids
(reader kinds)            either    found while indexing, e.g. unknown_label, bad_label
========================  ========  =======================================================
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dermkit.data.hashing import NEAR_DUPLICATE_BITS, near_duplicate_pairs, perceptual_hash, thumbnail
from dermkit.data.problems import SEVERITIES, Problem
from dermkit.data.records import LesionTable
from dermkit.files import write_json
from dermkit.imageio import MASK_THRESHOLD, ImageError, binarise_mask, is_zero_one, read_image, read_mask_raw

__all__ = ["CheckReport", "Problem", "check_table", "plot_class_distribution"]


@dataclass
class _FileResult:
    """What decoding one image (and its mask) found."""

    size: tuple[int, int] | None = None  # (W, H)
    sha1: str | None = None
    phash: int | None = None
    thumb: np.ndarray | None = None  # (THUMB_SIZE, THUMB_SIZE, 3) float32
    mask_empty: bool = False  # the mask decoded and has no lesion pixel
    mask_zero_one: bool = False  # the mask decoded and holds {0, 1} (read as binary)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class CheckReport:
    """Result of :func:`check_table`.

    Attributes:
        root, layout: where the table came from.
        n_images, n_lesions, n_masks: rows, distinct lesion ids, rows with a mask path.
        classes: the table's class names.
        class_counts, lesion_counts: images / distinct lesions per class (class order).
        image_sizes: "WxH" -> number of decoded images with that size, most common first.
        problems: reader problems first, then what decoding and cross-checks found.
        seconds: wall time of the check.
        empty_mask_ids: sorted ids whose mask has no lesion pixel (training segmentation on many
            of them is useless; ``engine.data`` refuses a data set where most masks are empty).
        n_zero_one_masks: masks stored as {0, 1} instead of {0, 255}, read as binary.
    """

    root: str
    layout: str
    n_images: int
    n_lesions: int
    n_masks: int
    classes: tuple[str, ...]
    class_counts: dict[str, int]
    lesion_counts: dict[str, int]
    image_sizes: dict[str, int]
    problems: list[Problem]
    seconds: float = 0.0
    empty_mask_ids: list[str] = field(default_factory=list)
    n_zero_one_masks: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def n_empty_masks(self) -> int:
        """Masks with no lesion pixel."""
        return len(self.empty_mask_ids)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def counts_by_kind(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems).most_common())

    def bad_image_ids(self, include_warnings: bool = False) -> list[str]:
        """Sorted ids of images to exclude: those with an error (or any problem)."""
        keep = SEVERITIES if include_warnings else ("error",)
        return sorted({p.image_id for p in self.problems if p.severity in keep and p.image_id})

    def to_dict(self) -> dict:
        """JSON-ready form (what ``data_check.json`` holds)."""
        return {
            "root": self.root,
            "layout": self.layout,
            "seconds": round(self.seconds, 2),
            "n_images": self.n_images,
            "n_lesions": self.n_lesions,
            "n_masks": self.n_masks,
            "n_empty_masks": self.n_empty_masks,
            "n_zero_one_masks": self.n_zero_one_masks,
            "empty_mask_ids": self.empty_mask_ids,
            "classes": list(self.classes),
            "class_counts": self.class_counts,
            "lesion_counts": self.lesion_counts,
            "image_sizes": self.image_sizes,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "counts_by_kind": self.counts_by_kind(),
            "bad_image_ids": self.bad_image_ids(),
            "problems": [asdict(p) for p in self.problems],
        }

    def to_markdown(self, max_per_kind: int = 20) -> str:
        """Human-readable report (what ``data_check.md`` holds and the CLI prints)."""
        verdict = "OK" if self.ok else "ERRORS"
        lines = [
            f"# Data check: {verdict}",
            "",
            f"- data set: `{self.root}` (layout `{self.layout}`)",
            f"- {self.n_images} images of {self.n_lesions} lesions, {self.n_masks} with masks"
            + (f" ({self.n_empty_masks} empty" if self.n_masks else "")
            + (f", {self.n_zero_one_masks} stored as {{0,1}} and read as binary" if self.n_zero_one_masks else "")
            + (")" if self.n_masks else ""),
            f"- {len(self.errors)} errors, {len(self.warnings)} warnings ({self.seconds:.1f} s)",
            "- image sizes (WxH): " + (", ".join(f"{s} x{n}" for s, n in self.image_sizes.items()) or "none decoded"),
            "",
        ]
        if self.classes:
            lines += ["| class | images | lesions |", "|---|---:|---:|"]
            lines += [f"| {c} | {self.class_counts.get(c, 0)} | {self.lesion_counts.get(c, 0)} |" for c in self.classes]
            lines.append("")
        if self.problems:
            lines += ["## Problems", "", "| kind | severity | count |", "|---|---|---:|"]
            by_kind: dict[str, list[Problem]] = {}
            for p in self.problems:
                by_kind.setdefault(p.kind, []).append(p)
            lines += [f"| {k} | {ps[0].severity} | {len(ps)} |" for k, ps in by_kind.items()]
            for kind, ps in by_kind.items():
                lines += ["", f"### {kind} ({len(ps)})", ""]
                lines += [f"- {p.message}" for p in ps[:max_per_kind]]
                if len(ps) > max_per_kind:
                    lines.append(f"- ... and {len(ps) - max_per_kind} more (all are in data_check.json)")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write ``data_check.json``, ``data_check.md`` and ``class_distribution.png`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": out / "data_check.json",
            "markdown": out / "data_check.md",
            "plot": out / "class_distribution.png",
        }
        write_json(paths["json"], self.to_dict())
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        plot_class_distribution(self, paths["plot"])
        return paths


# ------------------------------------------------------------------------------------ decoding


def _image_problem(err: ImageError, image_id: str, what: str) -> Problem:
    return Problem(err.kind, "error", image_id, err.path, f"{what} {err}")


def _inspect(image_id: str, image_path: str, mask_path: str | None, hashes: bool) -> _FileResult:
    """Decode one image (and its mask) and fingerprint it. Never raises for a bad file."""
    res = _FileResult()
    try:
        image = read_image(image_path)
    except ImageError as err:
        res.problems.append(_image_problem(err, image_id, "image"))
        image = None
    if image is not None:
        h, w = image.shape[:2]
        res.size = (w, h)
        if hashes:
            res.sha1 = hashlib.sha1(Path(image_path).read_bytes()).hexdigest()
            pil = Image.fromarray(image)
            res.phash = perceptual_hash(pil)
            res.thumb = thumbnail(pil)
    if mask_path is None:
        return res
    try:
        grey = read_mask_raw(mask_path)  # (H, W) uint8
    except ImageError as err:
        res.problems.append(_image_problem(err, image_id, "mask"))
        return res
    if res.size is not None and grey.shape != (res.size[1], res.size[0]):
        res.problems.append(
            Problem(
                "mask_size_mismatch",
                "error",
                image_id,
                mask_path,
                f"mask {mask_path} is {grey.shape[1]}x{grey.shape[0]} (WxH) but its image {image_path} is "
                f"{res.size[0]}x{res.size[1]}; fix or regenerate the mask (it may belong to another image), "
                "or exclude the image",
            )
        )
    res.mask_zero_one = is_zero_one(grey)
    lesion = int(np.count_nonzero(binarise_mask(grey)))
    res.mask_empty = lesion == 0
    odd = (grey != 0) & (grey != 255)
    n_odd = 0 if res.mask_zero_one else int(np.count_nonzero(odd))  # {0, 1} masks: one data-set line instead
    if n_odd:
        levels = np.unique(grey[odd])
        shown = ", ".join(str(v) for v in levels[:6]) + (", ..." if len(levels) > 6 else "")
        hint = (
            " Every pixel is <= 128, so the binarised mask is EMPTY: rescale it to 0/255."
            if lesion == 0
            else " Re-save it as 0/255 if the soft edges are not intended."
        )
        res.problems.append(
            Problem(
                "non_binary_mask",
                "warning",
                image_id,
                mask_path,
                f"mask {mask_path} has {n_odd} pixels ({n_odd / grey.size:.1%}) with grey levels other than "
                f"0/255 ({shown}); they are binarised at > {MASK_THRESHOLD} like the ISIC scorer.{hint}",
            )
        )
    if res.mask_empty:
        res.problems.append(
            Problem(
                "empty_mask",
                "warning",
                image_id,
                mask_path,
                f"mask {mask_path} has no lesion pixel; check it belongs to {image_id} or exclude the image "
                "from segmentation training",
            )
        )
    return res


def _zero_one_summary(root: str, jobs: list[tuple], results: list[_FileResult]) -> list[Problem]:
    """One data-set-wide line for {0, 1} masks (a per-mask warning would bury everything else)."""
    paths = [job[2] for job, r in zip(jobs, results, strict=True) if r.mask_zero_one]
    if not paths:
        return []
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return [
        Problem(
            "zero_one_masks",
            "warning",
            "",
            root,
            f"{len(paths)} masks use values {{0,1}} instead of {{0,255}} ({shown}); they are read as binary "
            f"(1 = lesion). Tools that threshold at > {MASK_THRESHOLD} (the ISIC scorer) see them as empty: "
            "re-save them as 0/255 before using them elsewhere",
        )
    ]


# ------------------------------------------------------------------------------------ the check


def check_table(
    table: LesionTable, hashes: bool = True, progress: bool = False, workers: int | None = None
) -> CheckReport:
    """Decode every image and mask of ``table`` once and cross-check the records.

    Args:
        table: a :class:`~dermkit.data.records.LesionTable`.
        hashes: also look for exact (SHA-1) and near (perceptual hash) duplicates across lesions.
        progress: show a tqdm bar while decoding.
        workers: decoding threads (PIL releases the GIL while decoding); default one per core,
            2 to 4. The 8,522-image HAM10000 copy takes ~16 s on 2 cores.

    Returns:
        a :class:`CheckReport`; problems the reader found (``table.problems``) come first.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    rec = table.records
    problems: list[Problem] = list(table.problems)

    # One decode per distinct (image, mask) file pair, even when image ids repeat.
    first_row = rec.drop_duplicates(["image_path", "mask_path"])
    jobs = list(
        zip(first_row["image_id"], first_row["image_path"], first_row["mask_path"], first_row["lesion_id"], strict=True)
    )
    workers = workers or min(4, max(2, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(
            tqdm(
                pool.map(lambda j: _inspect(j[0], j[1], j[2], hashes), jobs),
                total=len(jobs),
                desc="checking images",
                disable=not progress,
                leave=False,
            )
        )
    for res in results:
        problems.extend(res.problems)
    sizes = Counter(f"{r.size[0]}x{r.size[1]}" for r in results if r.size is not None)

    problems += _zero_one_summary(str(table.root), jobs, results)
    problems += _duplicate_ids(rec)
    problems += _label_conflicts(rec)
    if hashes:
        problems += _duplicates_across_lesions(jobs, results)

    return CheckReport(
        root=str(table.root),
        layout=table.layout,
        n_images=len(rec),
        n_lesions=int(rec["lesion_id"].nunique()),
        n_masks=int(rec["mask_path"].notna().sum()),
        classes=tuple(table.classes),
        class_counts=table.class_counts(),
        lesion_counts=table.lesion_counts(),
        image_sizes=dict(sizes.most_common()),
        problems=problems,
        seconds=time.perf_counter() - start,
        empty_mask_ids=sorted({j[0] for j, r in zip(jobs, results, strict=True) if r.mask_empty}),
        n_zero_one_masks=sum(r.mask_zero_one for r in results),
    )


def _duplicate_ids(rec) -> list[Problem]:
    dup = rec[rec["image_id"].duplicated(keep=False)]
    out = []
    for image_id, group in dup.groupby("image_id", sort=True):
        paths = sorted(set(group["image_path"]))
        out.append(
            Problem(
                "duplicate_image_id",
                "error",
                str(image_id),
                paths[0],
                f"image_id {image_id} appears in {len(group)} rows ({', '.join(paths)}); ids must be unique. "
                "Remove the duplicate rows or files",
            )
        )
    return out


def _label_conflicts(rec) -> list[Problem]:
    labelled = rec[rec["label"].notna()]
    n_labels = labelled.groupby("lesion_id")["label"].nunique()
    out = []
    for lesion_id in sorted(n_labels[n_labels > 1].index):
        group = labelled[labelled["lesion_id"] == lesion_id]
        summary = "; ".join(f"{lab}: {', '.join(g['image_id'])}" for lab, g in group.groupby("label"))
        for image_id, path in zip(group["image_id"], group["image_path"], strict=True):
            out.append(
                Problem(
                    "lesion_label_conflict",
                    "error",
                    str(image_id),
                    str(path),
                    f"{path}: lesion {lesion_id} has images under different labels ({summary}); one lesion has "
                    "one diagnosis. Correct the labels or the lesion ids",
                )
            )
    return out


def _duplicates_across_lesions(jobs: list[tuple], results: list[_FileResult]) -> list[Problem]:
    """Exact and near duplicates whose lesion ids differ (same-lesion pairs are expected)."""
    out: list[Problem] = []
    exact_pairs: set[tuple[int, int]] = set()
    by_digest: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        if r.sha1 is not None:
            by_digest.setdefault(r.sha1, []).append(i)
    for idx in by_digest.values():
        for a, i in enumerate(idx):
            for j in idx[a + 1 :]:
                if jobs[i][1] == jobs[j][1]:
                    continue  # one file under two rows: reported as duplicate_image_id
                exact_pairs.add((i, j))
                if jobs[i][3] != jobs[j][3]:
                    out.append(_dup_problem("duplicate_file", jobs[i], jobs[j], "are byte-identical"))

    valid = np.array([r.phash is not None for r in results], dtype=bool)
    phashes = np.array([r.phash or 0 for r in results], dtype=np.uint64)
    blank = np.zeros((16, 16, 3), np.float32)
    thumbs = np.stack([blank if r.thumb is None else r.thumb for r in results]) if results else None
    for i, j, dist in near_duplicate_pairs(phashes, valid, NEAR_DUPLICATE_BITS, thumbs=thumbs):
        if (i, j) in exact_pairs or jobs[i][3] == jobs[j][3] or jobs[i][1] == jobs[j][1]:
            continue
        mad = float(np.abs(results[i].thumb - results[j].thumb).mean())
        out.append(
            _dup_problem(
                "near_duplicate",
                jobs[i],
                jobs[j],
                f"look the same (perceptual hashes differ in {dist} of 64 bits, thumbnails by {mad:.1f} grey levels)",
            )
        )
    return out


def _dup_problem(kind: str, a: tuple, b: tuple, how: str) -> Problem:
    return Problem(
        kind,
        "warning",
        str(b[0]),
        str(b[1]),
        f"{b[1]} (lesion {b[3]}) and {a[1]} (lesion {a[3]}) {how} but have different lesion ids: a possible "
        "split leak. If they show one lesion, give them one lesion_id (or drop one image)",
    )


# ------------------------------------------------------------------------------------ plot


def plot_class_distribution(report_or_table: CheckReport | LesionTable, path: str | Path) -> Path:
    """Bar chart PNG of images and lesions per class, from a :class:`CheckReport` or a LesionTable."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg, no pyplot/global backend

    if isinstance(report_or_table, CheckReport):
        classes = report_or_table.classes
        images, lesions = report_or_table.class_counts, report_or_table.lesion_counts
    else:
        classes = report_or_table.classes
        images, lesions = report_or_table.class_counts(), report_or_table.lesion_counts()
    fig = Figure(figsize=(max(4.0, 0.9 * len(classes) + 2), 3.5), layout="constrained")
    ax = fig.add_subplot()
    if classes:
        x = np.arange(len(classes))
        ax.bar(x - 0.2, [images[c] for c in classes], width=0.4, label="images")
        ax.bar(x + 0.2, [lesions[c] for c in classes], width=0.4, label="lesions")
        ax.set_xticks(x, classes, rotation=30, ha="right")
        ax.set_ylabel("count")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "unlabelled data set", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title("Class distribution")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
