"""`dermkit serve`: the web app and REST API on one machine (see :mod:`dermkit.serve`).

The model is loaded before the server listens, so a bad package or run is a clean error (exit 2)
and the first request is never slow. The first line printed is ``dermkit serve: listening on URL``
(with ``--port 0`` the port the system picked), for scripts that start the server themselves.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from dermkit.cli._app import app
from dermkit.cli.predict import check_models, load_analyzer

LISTENING = "dermkit serve: listening on "


def serve_logging() -> None:
    """One line per request on standard error (ids, statuses, timings; never file names or metadata)."""
    log = logging.getLogger("dermkit.serve")
    if not any(getattr(h, "dermkit_serve", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.dermkit_serve = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@app.command("serve")
def serve(
    model: Annotated[
        Path | None, typer.Option("--model", help="A model package (dermkit export), run on ONNX Runtime.")
    ] = None,
    seg: Annotated[Path | None, typer.Option("--seg", help="Run folder of a segmentation training.")] = None,
    cls: Annotated[Path | None, typer.Option("--cls", help="Run folder of a classification training.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N] (--seg/--cls only).")] = "auto",
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; any but loopback needs --token-file.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one (the URL is printed).")] = 8000,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the bearer token every API call must send (chmod 600)."),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Inference threads.")] = 1,
    queue: Annotated[int, typer.Option("--queue", help="Requests that may wait for a worker; more get 429.")] = 4,
    max_request_mb: Annotated[float, typer.Option("--max-request-mb", help="Largest request body (MiB).")] = 32.0,
    max_pixels: Annotated[
        int | None,
        typer.Option("--max-pixels", help="Largest decoded image (pixels); default $DERMKIT_MAX_PIXELS or 100 MP."),
    ] = None,
    keep_uploads: Annotated[
        Path | None,
        typer.Option("--keep-uploads", help="Save every uploaded file here (by default uploads never touch the disk)."),
    ] = None,
    report_minutes: Annotated[
        float, typer.Option("--report-minutes", help="How long a report stays downloadable (in memory); 0: never.")
    ] = 10.0,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Allow API calls from this web origin (repeatable); CORS is off by default."
        ),
    ] = None,
) -> None:
    """Serve the web page and REST API: POST /api/v1/analyze, GET /api/v1/model, /healthz, /readyz, /docs.

    Binds to 127.0.0.1 unless --host says otherwise (then --token-file is required). Uploads are
    analysed in memory and never written to disk unless --keep-uploads is given; the log holds
    request ids, statuses and timings only. Stop it with Ctrl-C.
    """
    from dermkit.serve import ServeConfig, create_app, read_token_file, run_server

    check_models(seg, cls, model)
    config = ServeConfig(
        host=host,
        port=port,
        token=read_token_file(token_file) if token_file is not None else None,
        max_request_bytes=int(max_request_mb * 2**20),
        max_pixels=max_pixels,
        workers=workers,
        queue_size=queue,
        keep_uploads=keep_uploads,
        report_ttl_s=60 * report_minutes,
        cors_origins=tuple(cors_origin or ()),
    )
    analyzer = load_analyzer(seg, cls, model, device)
    serve_logging()
    run_server(create_app(analyzer, config), host, port, on_bound=lambda url: print(LISTENING + url, flush=True))
