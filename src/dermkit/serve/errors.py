"""The API's errors: JSON ``{"error": {"code", "message", "status"}}`` with a stable ``code``.

Every error a client can cause maps to a 4xx with its own code (the tables below); anything else is
a 500 ``internal_error`` whose ``error_id`` is logged with the traceback, so a bug report can name
the log line without the response showing internals. Messages never repeat a patient's metadata.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dermkit.registry import Registry

log = logging.getLogger("dermkit.serve")


class ApiError(Exception):
    """An error answered as JSON: HTTP ``status``, stable ``code``, a message saying what to do."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


#: :class:`dermkit.imageio.ImageError` kinds -> (HTTP status, API code).
IMAGE_ERRORS: Registry[tuple[int, str]] = Registry("image error kind", error=KeyError)
IMAGE_ERRORS.add("empty_file", (400, "empty_file"))
IMAGE_ERRORS.add("not_an_image", (400, "not_an_image"))
IMAGE_ERRORS.add("truncated_image", (400, "truncated_image"))
IMAGE_ERRORS.add("unreadable_image", (400, "unreadable_image"))
IMAGE_ERRORS.add("too_large", (413, "too_many_pixels"))

#: Starlette's own HTTP errors (routing, methods) -> API code.
HTTP_CODES: dict[int, str] = {404: "not_found", 405: "method_not_allowed"}


def error_body(status: int, code: str, message: str, **extra: object) -> dict:
    return {"error": {"status": status, "code": code, "message": message, **extra}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, **extra), status_code=status, headers=headers)


def image_error(kind: str, message: str) -> ApiError:
    """The API error of an image the decoder refused (an unknown kind is still the client's: 400)."""
    status, code = IMAGE_ERRORS.get(kind) if kind in IMAGE_ERRORS else (400, "unreadable_image")
    return ApiError(status, code, message)


def new_error_id() -> str:
    return secrets.token_hex(6)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [".".join(str(p) for p in e.get("loc", ())[1:]) or "request" for e in exc.errors()]
    return error_response(422, "invalid_request", f"invalid request fields: {', '.join(fields)}", fields=fields)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


def internal_error_body(error_id: str) -> dict:
    """The body of a 500: the id only (the log line with the same id has the traceback)."""
    message = f"internal error {error_id}: the server failed; the log has this id"
    return error_body(500, "internal_error", message, error_id=error_id)


def install_handlers(app: FastAPI) -> None:
    """Answer every client error as JSON with a code (500s: :class:`dermkit.serve.edge.EdgeMiddleware`)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
