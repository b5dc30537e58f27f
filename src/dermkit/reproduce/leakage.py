"""S2's protocol against a lesion-grouped one: how much of a published figure is leakage?

S2 (Elgohary et al. 2024) duplicated minority-class images (df x52, vasc x45, ...) and then split
the images 80/20, so copies of one image, and other images of the same lesion, sit on both sides;
its 97.2% test accuracy measures memorisation. This study trains the S2 recipe twice on the same
data: once with the paper's protocol (duplicate, then split by image) and once with dermkit's
(split by lesion, then over-sample the training side only), and tabulates both beside the claim.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from dermkit.data.readers import load_table
from dermkit.data.records import LesionTable
from dermkit.data.sampling import S2_OVERSAMPLING
from dermkit.evaluation.report import markdown_table
from dermkit.files import claim_output_dir
from dermkit.recipes import shipped_recipe

PAPER_CLAIM = {"protocol": "paper (S2, as published)", "test_accuracy": 0.972, "test_bma": None}


def claim_study_dir(out: Path) -> Path:
    """The study's output folder: new, empty, or one this study wrote before (never a user's folder)."""
    return claim_output_dir(out, ".dermkit-leakage-study", "leakage study", legacy=("leaky", "lesion_grouped"))


def write_leaky_copy(table: LesionTable, out: Path, factors: dict[str, int]) -> Path:
    """S2's data: every image repeated ``factors[class]`` times, BEFORE any split.

    Writes a HAM10000-layout folder whose metadata lists each copy as its own image and its own
    lesion (the files are symbolic links to the originals), so a split of this folder, like the
    paper's image-level split, cannot know that copies belong together.
    """
    images = out / "HAM10000_images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec in table.records.itertuples():
        for k in range(int(factors.get(rec.label, 1))):
            copy_id = f"{rec.image_id}__copy{k}"
            link = images / f"{copy_id}{Path(rec.image_path).suffix}"
            if not link.exists():
                os.symlink(os.path.abspath(rec.image_path), link)
            rows.append(
                {
                    "lesion_id": copy_id,
                    "image_id": copy_id,
                    "dx": rec.label,
                    "dx_type": "copy",
                    "age": rec.age,
                    "sex": rec.sex,
                    "localization": rec.site,
                }
            )
    pd.DataFrame(rows).to_csv(out / "HAM10000_metadata.csv", index=False)
    return out


def run_leakage_study(data: Path, out: Path, overrides: list[str] | None = None, progress: bool = True) -> pd.DataFrame:
    """Train S2 both ways on ``data``; returns (and writes ``leakage.csv`` / ``leakage.md``) the table."""
    from dermkit.config import load_config
    from dermkit.engine.trainer import fit

    claim_study_dir(out)
    table = load_table(data)
    recipe = shipped_recipe("cls_s2_deepconvnet")
    leaky_root = write_leaky_copy(table, out / "leaky_data", S2_OVERSAMPLING)
    # Image-level 80/20 split of the duplicated data (a small validation side picks the epoch).
    leaky = load_config(
        recipe,
        [
            f"data.path={leaky_root}",
            "imbalance.oversample=null",
            "data.split.val=0.1",
            "data.split.test=0.2",
            *(overrides or []),
        ],
    )
    honest = load_config(recipe, [f"data.path={data}", *(overrides or [])])
    rows: list[dict[str, Any]] = [PAPER_CLAIM]
    for name, cfg in (
        ("paper protocol: duplicate, then split by image", leaky),
        ("dermkit: split by lesion, then over-sample train", honest),
    ):
        run_dir = out / ("leaky" if cfg is leaky else "lesion_grouped")
        final = fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists(), progress=progress)
        rows.append(
            {
                "protocol": name,
                "test_accuracy": final["test"]["accuracy"],
                "test_bma": final["test"]["bma"],
                "test_images": final["test"]["images"],
                "run": str(run_dir),
            }
        )
    frame = pd.DataFrame(rows).astype({"test_images": "Int64"})  # a count, blank for the paper's row
    frame.to_csv(out / "leakage.csv", index=False)
    (out / "leakage.md").write_text(markdown_table(frame.drop(columns=["run"], errors="ignore")))
    return frame
