"""`dermkit demo`: the main job on the embedded synthetic data (or a real folder)."""

from __future__ import annotations

from pathlib import Path

import typer

from dermkit.cli import app, console
from dermkit.cli._common import frame_table


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Folder for everything the demo writes."),
    data: Path = typer.Option(None, help="Run on this data set folder instead of synthetic data."),
    n: int = typer.Option(600, help="Synthetic images to generate."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Synthesize (or read), check, split and preprocess a data set, then train and evaluate."""
    import pandas as pd

    from dermkit.demo import run_demo

    result = run_demo(out, data=data, n=n, seed=seed)
    s = result.summary
    console.print(f"[bold]data[/]: {s['data']['images']} images of {s['data']['lesions']} lesions ({s['data']['layout']}) in {s['data']['path']}")
    console.print(f"[bold]data check[/]: {s['data_check']['errors']} errors, {s['data_check']['warnings']} warnings")
    console.print(frame_table(pd.DataFrame.from_dict(s["split"]["counts"], orient="index"), title="lesion-grouped split"))
    console.print(f"lesions on two sides: {s['split']['lesions_on_two_sides']}, "
                  f"near-duplicate images across sides: {s['split']['near_duplicates_across_sides']}")
    console.print(f"artefact removal gallery: {s['preprocess_gallery']}")
    if "segmentation" in s:
        seg = s["segmentation"]
        t = seg["test"]
        console.print(f"[bold]segmentation[/] ({seg['run']}): test Dice {t['dice']:.3f}, Jaccard {t['jaccard']:.3f}, "
                      f"thresholded Jaccard {t['threshold_jaccard']:.3f} on {t['images']} images")
        console.print(f"  curves: {seg['curves']}\n  overlay gallery: {seg['gallery']}")
    if "classification" in s:
        c = s["classification"]
        t = c["test"]
        console.print(f"[bold]classification[/] ({c['run']}): test BMA {t['balanced_accuracy']:.3f}, macro AUC "
                      f"{t['macro_auc']:.3f}, accuracy {t['accuracy']:.3f}, ECE {t['ece']:.3f} on {t['images']} images")
    console.print(f"[bold green]demo finished[/]. Report: {s['report']}")
