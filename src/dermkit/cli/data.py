"""`dermkit data ...`: synthesize, check and split data sets."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import typer
from rich.markdown import Markdown

from dermkit.cli._app import app, console
from dermkit.cli._common import OverwriteOption, frame_table, parse_size

data_app = typer.Typer(help="Synthesize, check and split data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Folder to write (HAM10000 layout); new or empty."),
    n: int = typer.Option(700, "--n", help="Number of images."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same files."),
    size: str = typer.Option("150x200", help="Image size HEIGHTxWIDTH."),
    balance: str = typer.Option("ham10000", help="Class mix: 'ham10000' (real prevalence) or 'balanced'."),
    hair_prob: float = typer.Option(0.3, help="Fraction of images with hairs."),
    frame_prob: float = typer.Option(0.2, help="Fraction of images with a black lens frame."),
    lookalike: float = typer.Option(0.35, help="Fraction of lesions drawn like another class (0: none)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a synthetic data set already in OUT (any other folder is refused)."
    ),
) -> None:
    """Write a synthetic dermoscopy data set in the HAM10000 layout.

    OUT must be new or empty; with --overwrite it may hold a data set this command wrote, which is
    replaced (its files that the new set does not rewrite are removed, nothing else is touched).
    """
    from dermkit.data.synthetic import write_synthetic_dataset
    from dermkit.files import check_output_dir

    replacing = check_synth_target(out, overwrite)
    check_output_dir(out, what="OUT")  # unwritable: refused here, leaving no folder (the generator makes it)
    old = synthetic_files(out) if replacing else {}
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
    with open(root / "HAM10000_metadata.csv", newline="", encoding="utf-8") as f:
        new_ids = {row["image_id"] for row in csv.DictReader(f)}  # their files were just (re)written
    stale = [path for path, image_id in old.items() if image_id not in new_ids]
    for path in stale:
        path.unlink(missing_ok=True)
    note = f" (replaced the synthetic data set there, {len(stale)} files of the old one removed)" if replacing else ""
    console.print(f"wrote {n} synthetic images to {root}{note}")


# The generator's per-image files (see dermkit.data.synthetic.write); nothing else is ever removed.
_SYNTHETIC_FILE = re.compile(r"(SYN_\d+)(_segmentation|_hair|_frame)?\.(jpg|png)")


def is_synthetic_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a data set `dermkit data synth` wrote (its synthetic_truth/generator.json)."""
    from dermkit.data.synthetic.write import TRUTH_DIR

    try:
        note = json.loads((folder / TRUTH_DIR / "generator.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(note, dict) and str(note.get("generator", "")).startswith("dermkit.data.synthetic")


def synthetic_files(folder: Path) -> dict[Path, str]:
    """The generator's image and mask files under ``folder`` -> their image id."""
    from dermkit.data.synthetic.write import IMAGE_DIR, MASK_DIR, TRUTH_DIR

    found = {}
    for sub in (IMAGE_DIR, MASK_DIR, TRUTH_DIR):
        for path in sorted((folder / sub).glob("SYN_*")):
            match = _SYNTHETIC_FILE.fullmatch(path.name)
            if match and path.is_file():
                found[path] = match.group(1)
    return found


def check_synth_target(out: Path, overwrite: bool) -> bool:
    """Refuse to write a synthetic set into a non-empty folder, unless it replaces one (``--overwrite``).

    Returns:
        Whether ``out`` holds a synthetic data set that will be replaced.

    Raises:
        DermkitError: ``out`` is a file, is not empty (without ``--overwrite``), or is not a
            synthetic data set (with it).
    """
    from dermkit.errors import DermkitError

    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise DermkitError(f"OUT {out}: is an existing file, not a folder; give a new or empty folder")
    if not out.is_dir() or next(out.iterdir(), None) is None:
        return False
    if not is_synthetic_dataset(out):
        raise DermkitError(
            f"OUT {out}: is not empty and is not a synthetic data set written by `dermkit data synth` "
            "(it has no synthetic_truth/generator.json), so nothing there is replaced, even with --overwrite; "
            "choose a new or empty folder"
        )
    if not overwrite:
        raise DermkitError(
            f"OUT {out}: already holds a synthetic data set; pass --overwrite to replace it, or choose a new folder"
        )
    return True


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
    out: Path = typer.Option(
        ..., help="CSV file to write (image_id, lesion_id, label, split); outside the data folder."
    ),
    layout: str = typer.Option("auto", help="Reader to use; 'auto' detects it."),
    val: float = typer.Option(0.15, help="Validation fraction (by images, grouped by lesion)."),
    test: float = typer.Option(0.15, help="Test fraction."),
    kfold: int = typer.Option(0, help="Make K lesion-grouped folds instead of train/val/test."),
    seed: int = typer.Option(0, help="Random seed."),
    test_fold: int = typer.Option(
        0, help="Which of the seed's disjoint test sides to hold out (0 ... round(1/test)-1)."
    ),
    hashes: bool = typer.Option(True, help="Also verify that no near-duplicate image crosses sides."),
    overwrite: OverwriteOption = False,
) -> None:
    """Lesion-grouped, stratified split; prints per-class counts and verifies nothing leaks.

    Exit code 1, and nothing written, when the reader left rows out (unknown labels, missing
    files: fix them first) or something crosses sides. --out is never inside the data folder and
    an existing file is only replaced with --overwrite.
    """
    from dermkit.data.readers import load_table
    from dermkit.data.splits import kfold_table, save_split, split_summary, split_table, verify_split
    from dermkit.files import check_output_file

    if kfold and test_fold:
        raise typer.BadParameter(
            "--test-fold picks a test side of a train/val/test split; --kfold makes folds instead: use one of them",
            param_hint="--test-fold",
        )
    table = load_table(path, layout=layout)
    check_output_file(out, [table.root], overwrite=overwrite)  # refused before any work
    if print_reader_problems(table.problems, path):
        raise typer.Exit(1)
    frame = (
        kfold_table(table, k=kfold, seed=seed)
        if kfold
        else split_table(table, val=val, test=test, seed=seed, test_fold=test_fold)
    )
    console.print(frame_table(split_summary(frame, table.classes), title=f"split of {len(table)} images"))
    leaks = verify_split(table, frame, hashes=hashes)
    if not leaks.ok:
        console.print(f"[red]leak:[/] {leaks.describe()} No split was written.", highlight=False)
        raise typer.Exit(1)
    save_split(frame, out)
    checked = "lesions and near-duplicate images" if hashes else "lesions"
    console.print(f"no {checked} cross sides; split written to {out}")


SHOWN_PROBLEMS = 10  # reader problems printed per severity; `data check` lists them all


def print_reader_problems(problems: list, path: Path) -> int:
    """Print what the reader found (errors, then warnings) and return the number of errors.

    An error means the reader left a row out (unknown label, missing file): a split made anyway
    would silently drop those images, so the caller stops.
    """
    errors = [p for p in problems if p.severity == "error"]
    for severity, found in (("error", errors), ("warning", [p for p in problems if p.severity != "error"])):
        for problem in found[:SHOWN_PROBLEMS]:
            colour = "red" if severity == "error" else "yellow"
            console.print(f"[{colour}]{severity}:[/] {problem.message}", highlight=False, soft_wrap=True)
        if len(found) > SHOWN_PROBLEMS:
            console.print(f"... and {len(found) - SHOWN_PROBLEMS} more {severity}s", highlight=False)
    if errors:
        console.print(
            f"[red]{len(errors)} {'row' if len(errors) == 1 else 'rows'} of {path} left out by the reader;[/] "
            "no split was written. "
            f"Fix each as its line says (`dermkit data check {path}` reports everything), then split again.",
            highlight=False,
            soft_wrap=True,
        )
    return len(errors)
