"""`dermkit preprocess`: artefact removal and resizing over image files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError
from tqdm.auto import tqdm

from dermkit.cli._app import app, console
from dermkit.cli._common import OverwriteOption, collect_images, parse_size

MASK_KINDS = ("hair", "frame")  # the masks --save-masks writes, as <image>_<kind>.png beside the image


def output_paths(src: Path, files: list[Path], out: Path, mask_kinds: tuple[str, ...]) -> list[list[Path]]:
    """For each file: its output image (relative path under SRC kept, as .png), then its masks."""
    paths = []
    for path in files:
        target = (out / (path.name if src.is_file() else path.relative_to(src))).with_suffix(".png")
        paths.append([target, *(target.with_name(f"{target.stem}_{kind}.png") for kind in mask_kinds)])
    return paths


def config_from_options(config_type: type[BaseModel], **options: object) -> BaseModel:
    """The preprocessing config from the command's options; a bad value is a usage error naming its option.

    The allowed values come from the config's own validation (e.g. ``--fit``: 'pad', 'crop' or 'stretch'),
    so the message never disagrees with what the library accepts.
    """
    try:
        return config_type(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "an option"
        expected = err.get("ctx", {}).get("expected")
        allowed = f"; expected {expected}" if expected else f": {err['msg']}"
        raise typer.BadParameter(f"{err.get('input')!r} is not allowed{allowed}", param_hint=option) from None


@app.command("preprocess")
def preprocess_cmd(
    src: Annotated[Path, typer.Argument(help="An image file or a folder (searched recursively; masks are skipped).")],
    out: Annotated[Path, typer.Argument(help="Output folder, outside SRC; relative paths under SRC are kept.")],
    frame: Annotated[str, typer.Option(help="Black lens frame: off, crop or inpaint.")] = "off",
    hair: Annotated[str, typer.Option(help="Hair removal: off, auto, sparse or dense.")] = "off",
    color_constancy: Annotated[bool, typer.Option(help="Shades-of-grey colour constancy.")] = False,
    size: Annotated[str | None, typer.Option(help="Resize to HEIGHTxWIDTH.")] = None,
    fit: Annotated[str, typer.Option(help="How to keep the aspect ratio when resizing: pad, crop or stretch.")] = "pad",
    save_masks: Annotated[bool, typer.Option(help="Also write the detected hair and frame masks.")] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Remove black frames and hairs, correct colour and resize; unreadable files are listed (exit code 1).

    Masks in SRC (*_segmentation, *_lesion, *_hair, *_frame) are left out. Checked before any work:

    OUT is outside SRC; no two inputs write the same file (x.jpg, x.png); existing files need --overwrite.
    """
    from dermkit.files import check_no_overwrite, prepare_output_dir, unique_output_names
    from dermkit.imageio import ImageError, read_image, write_image, write_mask
    from dermkit.preprocess.pipeline import PreprocessConfig, preprocess

    config = config_from_options(
        PreprocessConfig, frame=frame, hair=hair, color_constancy=color_constancy, size=parse_size(size), fit=fit
    )
    files = collect_images([src])
    kinds = tuple(k for k in MASK_KINDS if save_masks and {"hair": hair, "frame": frame}[k] != "off")
    targets = output_paths(src, files, out, kinds)
    unique_output_names(
        [f for f, group in zip(files, targets, strict=True) for _ in group], [t for group in targets for t in group]
    )
    check_no_overwrite([t for group in targets for t in group], overwrite)
    prepare_output_dir(out, [src], what="OUT")
    failed: list[str] = []
    for path, (target, *mask_targets) in tqdm(
        zip(files, targets, strict=True), total=len(files), desc="preprocessing", unit="img"
    ):
        try:
            result = preprocess(read_image(path), config)
        except ImageError as exc:
            failed.append(str(exc))
            continue
        write_image(target, result.image)
        for kind, mask_target in zip(kinds, mask_targets, strict=True):
            write_mask(mask_target, getattr(result, f"{kind}_mask"))
    console.print(f"wrote {len(files) - len(failed)} images to {out}")
    if failed:
        console.print(f"[red]{len(failed)} files could not be read:[/]")
        for line in failed:
            console.print(f"  {line}", highlight=False)
        raise typer.Exit(1)
