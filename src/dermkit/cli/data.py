"""`dermkit data ...`: synthesize, check and split data sets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markdown import Markdown

from dermkit.cli._app import app, console
from dermkit.cli._common import frame_table, parse_size

data_app = typer.Typer(help="Synthesize, check and split data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Folder to write (HAM10000 layout)."),
    n: int = typer.Option(700, "--n", help="Number of images."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same files."),
    size: str = typer.Option("150x200", help="Image size HEIGHTxWIDTH."),
    balance: str = typer.Option("ham10000", help="Class mix: 'ham10000' (real prevalence) or 'balanced'."),
    hair_prob: float = typer.Option(0.3, help="Fraction of images with hairs."),
    frame_prob: float = typer.Option(0.2, help="Fraction of images with a black lens frame."),
    lookalike: float = typer.Option(0.35, help="Fraction of lesions drawn like another class (0: none)."),
) -> None:
    """Write a synthetic dermoscopy data set in the HAM10000 layout."""
    from dermkit.data.synthetic import write_synthetic_dataset

    root = write_synthetic_dataset(
        out,
        n=n,
        seed=seed,
        size=parse_size(size),
        balance=balance,
        hair_prob=hair_prob,
        frame_prob=frame_prob,
        lookalike=lookalike,
        progress=True,
    )
    console.print(f"wrote {n} synthetic images to {root}")


def default_check_dir(data: Path) -> Path:
    """``runs/data-check-<data folder name>`` in the current folder: never inside the data set.

    Writing into the data folder broke read-only mounts and, on a folder-per-class data set,
    made the report folder a new class at the next check.
    """
    return Path("runs") / f"data-check-{Path(data).expanduser().absolute().name}"


@data_app.command("check")
def check(
    path: Path = typer.Argument(..., help="Data set folder (HAM10000, PH2, ISIC or folder-per-class)."),
    layout: str = typer.Option("auto", help="Reader to use; 'auto' detects it."),
    out: Path = typer.Option(
        None,
        help="Folder for data_check.json/.md and class_distribution.png "
        "[default: runs/data-check-<data folder name> in the current folder]; never inside the data.",
    ),
    hashes: bool = typer.Option(True, help="Look for exact and near-duplicate images."),
) -> None:
    """Report counts, sizes and every problem file; exit code 1 when errors are found.

    A file that cannot be decoded (truncated, too large, not an image, ...) is listed and the
    check goes on with the rest; the data folder itself is only read.
    """
    from dermkit.data.check import check_table
    from dermkit.data.readers import load_table
    from dermkit.files import prepare_output_dir

    table = load_table(path, layout=layout)
    target = out if out is not None else default_check_dir(path)
    prepare_output_dir(target, inputs=[table.root], what="--out")  # refused before the slow part
    report = check_table(table, hashes=hashes, progress=True)
    console.print(Markdown(report.to_markdown()))
    report.write(target)
    console.print(f"report written to {target}")
    if report.errors:
        raise typer.Exit(1)


@data_app.command("split")
def split(
    path: Path = typer.Argument(..., help="Data set folder."),
    out: Path = typer.Option(..., help="CSV file to write (image_id, lesion_id, label, split)."),
    layout: str = typer.Option("auto", help="Reader to use; 'auto' detects it."),
    val: float = typer.Option(0.15, help="Validation fraction (by images, grouped by lesion)."),
    test: float = typer.Option(0.15, help="Test fraction."),
    kfold: int = typer.Option(0, help="Make K lesion-grouped folds instead of train/val/test."),
    seed: int = typer.Option(0, help="Random seed."),
    test_fold: int = typer.Option(
        0, help="Which of the seed's disjoint test sides to hold out (0 ... round(1/test)-1)."
    ),
    hashes: bool = typer.Option(True, help="Also verify that no near-duplicate image crosses sides."),
) -> None:
    """Lesion-grouped, stratified split; prints per-class counts and verifies nothing leaks."""
    from dermkit.data.readers import load_table
    from dermkit.data.splits import kfold_table, save_split, split_summary, split_table, verify_split

    if kfold and test_fold:
        raise typer.BadParameter(
            "--test-fold picks a test side of a train/val/test split; --kfold makes folds instead: use one of them",
            param_hint="--test-fold",
        )
    table = load_table(path, layout=layout)
    frame = (
        kfold_table(table, k=kfold, seed=seed)
        if kfold
        else split_table(table, val=val, test=test, seed=seed, test_fold=test_fold)
    )
    console.print(frame_table(split_summary(frame, table.classes), title=f"split of {len(table)} images"))
    leaks = verify_split(table, frame, hashes=hashes)
    if not leaks.ok:
        console.print(
            f"[red]leak:[/] {len(leaks.shared_lesions)} lesions and {len(leaks.cross_side_duplicates)} "
            f"near-duplicate pairs cross sides, e.g. {leaks.shared_lesions[:3]} {leaks.cross_side_duplicates[:3]}"
        )
        raise typer.Exit(1)
    save_split(frame, out)
    checked = "lesions and near-duplicate images" if hashes else "lesions"
    console.print(f"no {checked} cross sides; split written to {out}")
