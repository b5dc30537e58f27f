"""Security settings: the bearer token check, the security headers, the request-limit message.

The token is compared in constant time (:func:`hmac.compare_digest`); every response carries a
Content-Security-Policy without inline scripts or styles, ``X-Content-Type-Options: nosniff`` and
no caching of results (:mod:`dermkit.serve.edge` adds them).
"""

from __future__ import annotations

import hmac

from dermkit.serve.errors import ApiError

#: The page's scripts and styles come from the server itself; images may be data: (results) and
#: blob: (the picked file, shown before upload). Nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def check_bearer(authorization: str | None, token: str | None) -> None:
    """Let the request through when no token is set or it carries ``Authorization: Bearer <token>``.

    Raises:
        ApiError: 401 ``unauthorized`` for a missing, malformed or wrong token.
    """
    if token is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        what = "missing" if not authorization else "wrong"
        raise ApiError(
            401,
            "unauthorized",
            f"the API token is {what}: send the header 'Authorization: Bearer <token>' with the server's token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def too_large_message(limit: int) -> str:
    return (
        f"the request is larger than the server's limit of {limit / 2**20:.1f} MiB; send a smaller image "
        "(dermoscopy images need no more than a few MiB) or restart the server with a larger --max-request-mb"
    )
