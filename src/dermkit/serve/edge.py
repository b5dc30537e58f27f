"""The ASGI layer every request passes first: request id and log line, size limit, headers, 500s.

- Each request gets an id (``X-Request-ID``); one log line per request gives the id, the route
  template (never the raw path, which may hold a report's id), the status and the milliseconds —
  no file names, no metadata, no client address.
- A ``Content-Length`` above the limit is refused before the body is read; a body that grows past
  it while streaming is cut off and answered 413 ``request_too_large``.
- Every response gets :data:`~dermkit.serve.security.SECURITY_HEADERS` (a route may set its own
  Content-Security-Policy, which is then kept).
- An unexpected exception becomes a 500 ``internal_error`` whose ``error_id`` is in the log with
  the traceback; nothing of the exception reaches the client.
"""

from __future__ import annotations

import json
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dermkit.serve.errors import error_body, internal_error_body, log, new_error_id
from dermkit.serve.security import SECURITY_HEADERS, too_large_message


class BodyTooLarge(Exception):
    """Raised from ``receive`` once more bytes arrived than the limit allows."""


def _route(scope: Scope) -> str:
    """The route's template (``/api/v1/reports/{report_id}``), the path of a static file, or ``(no route)``."""
    route = getattr(scope.get("route"), "path", None)
    if route and route != "/static":
        return route
    return scope["path"] if scope["path"].startswith("/static/") else "(no route)"


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, max_request_bytes: int) -> None:
        self.app = app
        self.limit = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(6)
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                extra.append((b"x-request-id", request_id.encode()))
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        async def answer(code: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
            raw += [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            await send_with_headers({"type": "http.response.start", "status": code, "headers": raw})
            await send_with_headers({"type": "http.response.body", "body": data})

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        declared = dict(scope.get("headers", [])).get(b"content-length")
        try:
            if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
                raise BodyTooLarge
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not status:
                too_large = error_body(413, "request_too_large", too_large_message(self.limit))
                await answer(413, too_large, {"Connection": "close"})
        except Exception as exc:  # noqa: BLE001 - the one place an unexpected failure becomes a 500
            error_id = new_error_id()
            log.error("request=%s error_id=%s %s failed", request_id, error_id, _route(scope), exc_info=exc)
            if not status:
                await answer(500, internal_error_body(error_id))
        finally:
            ms = 1000 * (time.perf_counter() - start)
            log.info("request=%s %s %s status=%s ms=%.0f", request_id, scope["method"], _route(scope), status, ms)
