"""`dermkit demo`: the main job on the embedded synthetic data (or a real folder), into ``runs/demo``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import app, console
from dermkit.cli._common import CacheDirOption, frame_table


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes, outside DATA.")] = Path(
        "runs/demo"
    ),
    data: Annotated[
        Path | None, typer.Option("--data", help="Run on this data set folder instead of synthetic data.")
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Synthetic images to generate, class-balanced.", show_default="3000"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    cache_dir: CacheDirOption = None,
) -> None:
    """Synthesize (or read), check, split and preprocess a data set, then train and evaluate."""
    import pandas as pd

    from dermkit.files import prepare_output_dir

    prepare_output_dir(out, [data] if data is not None else [])
    from dermkit.demo import DEMO_IMAGES, run_demo  # the engine and torch: imported once the arguments are known good

    overrides = [] if cache_dir is None else [f"data.cache_dir={json.dumps(cache_dir)}"]
    result = run_demo(
        out, data=data, n=DEMO_IMAGES if n is None else n, seed=seed, seg_overrides=overrides, cls_overrides=overrides
    )
    s = result.summary
    console.print(
        f"[bold]data[/]: {s['data']['images']} images of {s['data']['lesions']} lesions "
        f"({s['data']['layout']}) in {s['data']['path']}"
    )
    console.print(f"[bold]data check[/]: {s['data_check']['errors']} errors, {s['data_check']['warnings']} warnings")
    console.print(
        frame_table(pd.DataFrame.from_dict(s["split"]["counts"], orient="index"), title="lesion-grouped split")
    )
    console.print(
        f"lesions on two sides: {s['split']['lesions_on_two_sides']}, "
        f"near-duplicate images across sides: {s['split']['near_duplicates_across_sides']}"
    )
    console.print(f"artefact removal gallery: {s['preprocess_gallery']}")
    if "segmentation" in s:
        seg = s["segmentation"]
        t = seg["test"]
        console.print(
            f"[bold]segmentation[/] ({seg['run']}): test Dice {t['dice']:.3f} "
            f"[{seg['ci95']['dice'][0]:.3f}, {seg['ci95']['dice'][1]:.3f}], Jaccard {t['jaccard']:.3f}, "
            f"thresholded Jaccard {t['threshold_jaccard']:.3f} on {t['images']} images"
        )
        console.print(f"  curves: {seg['curves']}\n  overlay gallery: {seg['gallery']}")
    if "classification" in s:
        c = s["classification"]
        t = c["test"]
        low, high = c["ci95"]["balanced_accuracy"]
        console.print(
            f"[bold]classification[/] ({c['run']}): test BMA {t['balanced_accuracy']:.3f} [{low:.3f}, {high:.3f}], "
            f"macro AUC {t['macro_auc']:.3f}, accuracy {t['accuracy']:.3f}, ECE {t['ece']:.3f} on {t['images']} images"
        )
        if "bayes_limit" in c:
            console.print(
                f"  the generator's Bayes limit (no classifier beats it on average): BMA "
                f"{c['bayes_limit']['image+metadata']:.3f} from image + metadata, {c['bayes_limit']['image']:.3f} "
                "from the image alone"
            )
    if "package" in s:
        p = s["package"]
        console.print(
            f"[bold]model package[/]: {p['package']} (sha256 {p['sha256'][:16]}...); {p['analysed']} held-back "
            f"images analysed on ONNX Runtime into {p['index']}",
            highlight=False,
        )
        console.print(f"  analyse more images without PyTorch: {p['predict_command']}", highlight=False)
        console.print(f"  serve them in a web page and API: dermkit serve --model {p['package']}", highlight=False)
    console.print(f"[bold green]demo finished[/]. Report: {s['report']}")
