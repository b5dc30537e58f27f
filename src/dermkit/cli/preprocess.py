"""`dermkit preprocess`: artefact removal and resizing over image files."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm.auto import tqdm

from dermkit.cli import app, console
from dermkit.cli._common import parse_size


@app.command("preprocess")
def preprocess_cmd(
    src: Path = typer.Argument(..., help="An image file or a folder (searched recursively)."),
    out: Path = typer.Argument(..., help="Output folder; relative paths under SRC are kept."),
    frame: str = typer.Option("off", help="Black lens frame: off, crop or inpaint."),
    hair: str = typer.Option("off", help="Hair removal: off, auto, sparse or dense."),
    color_constancy: bool = typer.Option(False, help="Shades-of-grey colour constancy."),
    size: str = typer.Option(None, help="Resize to HEIGHTxWIDTH."),
    fit: str = typer.Option("pad", help="How to keep the aspect ratio when resizing: pad, crop or stretch."),
    save_masks: bool = typer.Option(False, help="Also write the detected hair and frame masks."),
) -> None:
    """Remove black frames and hairs, correct colour and resize; bad files are listed, not fatal."""
    from dermkit.errors import DataError
    from dermkit.imageio import IMAGE_SUFFIXES, ImageError, read_image, write_image, write_mask
    from dermkit.preprocess.pipeline import PreprocessConfig, preprocess

    config = PreprocessConfig(
        frame=frame, hair=hair, color_constancy=color_constancy, size=parse_size(size), fit=fit
    )
    if not src.exists():
        raise DataError(f"{src}: no such file or folder")
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{src}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    failed: list[str] = []
    for path in tqdm(files, desc="preprocessing", unit="img"):
        rel = path.name if src.is_file() else path.relative_to(src)
        try:
            result = preprocess(read_image(path), config)
        except ImageError as exc:
            failed.append(str(exc))
            continue
        target = (out / rel).with_suffix(".png")
        write_image(target, result.image)
        if save_masks:  # a mask is None when its step is off
            for kind, mask in (("hair", result.hair_mask), ("frame", result.frame_mask)):
                if mask is not None:
                    write_mask(target.with_name(f"{target.stem}_{kind}.png"), mask)
    console.print(f"wrote {len(files) - len(failed)} images to {out}")
    if failed:
        console.print(f"[red]{len(failed)} files could not be read:[/]")
        for line in failed:
            console.print(f"  {line}", highlight=False)
        raise typer.Exit(1)
