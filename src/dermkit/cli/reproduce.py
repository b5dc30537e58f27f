"""`dermkit reproduce ...`: published protocols re-run beside honest ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import app, console

reproduce_app = typer.Typer(help="Reproduction studies of the published systems.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


@reproduce_app.command("leakage")
def leakage(
    data: Annotated[
        Path | None, typer.Option("--data", help="HAM10000-layout data set (default: synthetic data, 600 images).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder, outside DATA.")] = Path("runs/reproduce-leakage"),
    overrides: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE overrides of the S2 recipe, e.g. train.epochs=5")
    ] = None,
) -> None:
    """Train S2 with the paper's protocol (duplicate, then split) and lesion-grouped; compare."""
    from dermkit.data.synthetic import write_synthetic_dataset
    from dermkit.files import prepare_output_dir
    from dermkit.reproduce.leakage import claim_study_dir, run_leakage_study

    prepare_output_dir(out, [data] if data is not None else [])
    claim_study_dir(out)  # before the synthetic data are written into it
    if data is None:
        data = out / "synthetic_data"
        if not (data / ".complete").exists():
            write_synthetic_dataset(data, n=600, seed=0, progress=True)
            (data / ".complete").touch()
    run_leakage_study(data, out, overrides or [])
    console.print((out / "leakage.md").read_text())
    console.print(f"table written to {out / 'leakage.md'}")
