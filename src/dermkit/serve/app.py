"""The FastAPI application: the API, the health probes and the web page, around one loaded analyzer.

:func:`create_app` takes an analyzer that is already loaded (the CLI loads it first, so a bad
package or run is a clean command-line error, not a server that answers 500) and a
:class:`~dermkit.serve.config.ServeConfig`. Routes:

- ``POST /api/v1/analyze``: multipart form, file ``image``, optional ``age``, ``sex``, ``site``;
  answers the published result JSON (``result``), the overlay and its layers as PNG data URIs
  (``images``; ``?images=false`` leaves them out) and ``report_url`` for the one-page report.
- ``GET /api/v1/model``; ``GET /api/v1/reports/{id}`` (the report, held in memory for a while).
- ``GET /healthz`` (the process answers), ``GET /readyz`` (the model is loaded and workers run).
- ``GET /`` the page, ``GET /docs`` the API's documentation page, ``GET /openapi.json``.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from dermkit import __version__
from dermkit.pipeline.report import warning_items
from dermkit.serve.analysis import Analysis, Upload, analyze_upload, checked_metadata, image_id_of
from dermkit.serve.config import ServeConfig
from dermkit.serve.describe import describe
from dermkit.serve.edge import EdgeMiddleware
from dermkit.serve.errors import ApiError, error_response, install_handlers, log
from dermkit.serve.multipart import read_form
from dermkit.serve.reports import ReportStore
from dermkit.serve.security import check_bearer
from dermkit.serve.workers import InferencePool

STATIC = Path(__file__).parent / "static"
API = "/api/v1"
#: The report is a self-contained page with its own inline style; it runs no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"

#: Error codes of ``POST /api/v1/analyze`` by status, for the OpenAPI document.
ANALYZE_ERRORS: dict[int, str] = {
    400: "not_an_image, truncated_image, empty_file, unreadable_image, image_too_small, invalid_age, invalid_sex, "
    "invalid_site, bad_multipart",
    401: "unauthorized: missing or wrong bearer token",
    413: "request_too_large (request limit), too_many_pixels (decoded-pixel limit)",
    415: "unsupported_media_type: not multipart/form-data",
    422: "missing_field (no 'image' file), invalid_request (bad query parameter)",
    429: "queue_full: every worker busy and the queue full; retry after Retry-After seconds",
    500: "internal_error: a bug; error_id is in the server's log",
}

ANALYZE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "JPEG, PNG, BMP or TIFF"},
                        "age": {"type": "string", "description": "years, 0..120"},
                        "sex": {"type": "string", "description": "male, female or unknown"},
                        "site": {"type": "string", "description": "anatomical site (HAM10000 names)"},
                    },
                }
            }
        },
    }
}


def _responses(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": text} for status, text in codes.items()}


def analysis_body(request_id: str, analysis: Analysis, report_id: str, wait_s: float, run_s: float) -> dict:
    """The JSON answer of ``POST /api/v1/analyze``."""
    return {
        "request_id": request_id,
        "result": analysis.result.model_dump(mode="json", by_alias=True),
        "warnings": [{"severity": s, "message": m} for s, m in warning_items(analysis.result)],
        "images": analysis.images,
        "report_url": f"{API}/reports/{report_id}" if report_id else None,
        "timing_ms": {"queue": round(1000 * wait_s, 1), "analysis": round(1000 * run_s, 1)},
    }


def keep_upload(folder: Path, request_id: str, image_id: str, filename: str | None, data: bytes) -> None:
    """``--keep-uploads``: the uploaded bytes as they came, named by request id and image id."""
    suffix = Path(filename or "").suffix.lower()
    suffix = suffix if suffix.isascii() and suffix[1:].isalnum() else ""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{request_id}_{image_id}{suffix}").write_bytes(data)


def create_app(analyzer, config: ServeConfig | None = None) -> FastAPI:
    """The web app serving ``analyzer`` (a :class:`dermkit.pipeline.Analyzer` or
    :class:`dermkit.package.PackageAnalyzer`) under ``config``'s limits."""
    cfg = config or ServeConfig()
    pool = InferencePool(cfg.workers, cfg.queue_size)
    reports = ReportStore(cfg.report_ttl_s, cfg.report_slots)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        pool.close()

    app = FastAPI(
        title="dermkit",
        version=__version__,
        description="Dermoscopic lesion analysis: decision support for clinicians, not a diagnosis.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.pool, app.state.reports, app.state.config = pool, reports, cfg
    install_handlers(app)
    if cfg.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cfg.cors_origins), allow_methods=["GET", "POST"], allow_headers=["*"]
        )
    app.add_middleware(EdgeMiddleware, max_request_bytes=cfg.max_request_bytes)

    def authorised(request: Request) -> None:
        check_bearer(request.headers.get("authorization"), cfg.token)

    secured = [Depends(authorised)]

    @app.get("/healthz", tags=["probes"])
    async def healthz() -> dict:
        """Liveness: the process answers (even while every worker is busy)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"], responses=_responses({503: "not_ready"}))
    async def readyz():
        """Readiness: the model is loaded and the workers accept work."""
        if not pool.open:
            return error_response(503, "not_ready", "the server is shutting down")
        return {"status": "ready", "backend": analyzer.models.backend, "busy": pool.admitted, "capacity": pool.capacity}

    @app.get(f"{API}/model", tags=["api"], dependencies=secured, responses=_responses({401: "unauthorized"}))
    async def model() -> dict:
        """Classes, input sizes, validated metrics, model card, versions and checksums of the served models."""
        return describe(analyzer)

    @app.post(
        f"{API}/analyze",
        tags=["api"],
        dependencies=secured,
        openapi_extra=ANALYZE_BODY,
        responses=_responses(ANALYZE_ERRORS),
    )
    async def analyze(request: Request, images: bool = True) -> JSONResponse:
        """Analyse one dermoscopic image: the result (published schema), overlay layers and a report link."""
        form = await read_form(request, cfg.max_request_bytes)
        part = form.files.get("image")
        if part is None:
            raise ApiError(
                422,
                "missing_field",
                "no file in the form field 'image'; send the image as a file (curl -F image=@x.jpg)",
            )
        request_id = request.state.request_id
        image_id, filename = image_id_of(part.filename, request_id), part.filename
        upload = Upload(bytes(part.data), image_id, checked_metadata(image_id, form.fields))
        del form, part  # the upload's only copy is now ``upload``

        def job() -> Analysis:
            if cfg.keep_uploads is not None:
                keep_upload(cfg.keep_uploads, request_id, image_id, filename, upload.data)
            return analyze_upload(analyzer, upload, cfg.max_pixels, images)

        timed = await pool.run(job)
        analysis: Analysis = timed.value  # type: ignore[assignment]
        report_id = reports.put(image_id, analysis.report_html)
        log.info(
            "request=%s analysed: queue_ms=%.0f analysis_ms=%.0f", request_id, 1000 * timed.wait_s, 1000 * timed.run_s
        )
        return JSONResponse(analysis_body(request_id, analysis, report_id, timed.wait_s, timed.run_s))

    @app.get(f"{API}/reports/{{report_id}}", tags=["api"], dependencies=secured, response_class=HTMLResponse)
    async def report(report_id: str, download: bool = True) -> HTMLResponse:
        """The one-page report of a recent analysis (held in memory for a limited time, never on disk)."""
        found = reports.get(report_id)
        if found is None:
            raise ApiError(404, "report_expired", "this report is no longer held; analyse the image again")
        image_id, html = found
        headers = {"Content-Security-Policy": REPORT_CSP}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{image_id}_report.html"'
        return HTMLResponse(html, headers=headers)

    page = functools.partial(FileResponse, media_type="text/html")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return page(STATIC / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return page(STATIC / "docs.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
