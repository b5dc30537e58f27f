"""`dermkit export`: a segmentation run and a classification run -> one portable model package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import app, console
from dermkit.cli._common import OverwriteOption


@app.command("export")
def export(
    seg: Annotated[Path, typer.Option("--seg", help="Segmentation run folder (dermkit train seg).")],
    cls: Annotated[Path, typer.Option("--cls", help="Classification run folder (dermkit train cls).")],
    out: Annotated[Path, typer.Option("--out", help="The package file to write, e.g. model.dermkit.")],
    overwrite: OverwriteOption = False,
) -> None:
    """Write one portable model package: ONNX graphs of both models, preprocessing, calibration, decision rule,
    validated metrics and a model card. `dermkit predict --model FILE` runs it on ONNX Runtime, without PyTorch."""
    from dermkit.files import check_no_overwrite, prepare_output_dir
    from dermkit.package import SUFFIX, export_package
    from dermkit.package.format import sha256_bytes

    if out.suffix != SUFFIX:
        raise typer.BadParameter(f"the package file must end in {SUFFIX}, e.g. model{SUFFIX}", param_hint="--out")
    check_no_overwrite([out], overwrite)
    prepare_output_dir(out.parent if str(out.parent) else Path("."), [seg, cls])
    console.print(f"exporting {seg} and {cls} (ONNX, checked against PyTorch)...")
    manifest = export_package(seg, cls, out)
    digest = sha256_bytes(out.read_bytes())
    graphs = ", ".join(f"{name} ({entry.bytes / 1e6:.1f} MB)" for name, entry in manifest.files.items())
    console.print(f"wrote {out}: {graphs}", highlight=False, soft_wrap=True)
    console.print(f"sha256 {digest}  (publish it beside the file: users compare it before use)", highlight=False)
    console.print(f"run it without PyTorch: dermkit predict --model {out} IMAGES --out DIR", highlight=False)
