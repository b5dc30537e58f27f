"""What a `dermkit serve` process may accept, and the checks that keep its defaults safe.

Defaults suit one clinic machine: bound to loopback, no token needed there, a 32 MiB request and
dermkit's pixel limit (:func:`dermkit.imageio.max_pixels`), one inference worker, a short queue,
uploads kept in memory only, CORS off. Binding to any other address requires a bearer token.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from dermkit.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
#: Shortest token accepted: 16 characters (about 96 bits when random, e.g. ``openssl rand -hex 16``).
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ServeConfig:
    """The server's limits and security settings.

    Attributes:
        host, port: where to listen (port 0: any free port; the bound URL is printed).
        token: the bearer token every API call must carry (None: no token, loopback only).
        max_request_bytes: largest request body (413 ``request_too_large`` above it).
        max_pixels: largest decoded image (413 ``too_many_pixels``); None: :func:`dermkit.imageio.max_pixels`.
        workers: inference threads (the analysis runs off the event loop).
        queue_size: requests that may wait for a worker; one more gets 429 ``queue_full``.
        keep_uploads: folder where uploaded files are saved (None, the default: never written to disk).
        report_ttl_s: how long a result's report stays downloadable from memory.
        report_slots: at most this many reports are held (the oldest goes first).
        cors_origins: origins allowed to call the API from another page (empty, the default: CORS off).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_pixels: int | None = None
    workers: int = 1
    queue_size: int = 4
    keep_uploads: Path | None = None
    report_ttl_s: float = 600.0
    report_slots: int = 32
    cors_origins: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_config(self)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost`` (anything else reaches the network)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_config(cfg: ServeConfig) -> None:
    """Refuse settings that are unsafe or cannot work, naming the option to change.

    Raises:
        ConfigError: a non-loopback bind without a token, a short token, or a non-positive limit.
    """
    if not is_loopback(cfg.host) and cfg.token is None:
        raise ConfigError(
            f"--host {cfg.host} accepts connections from the network: give --token-file FILE (a secret of at "
            f"least {MIN_TOKEN_CHARS} characters) so that only holders of the token can use the server, or bind "
            f"to {DEFAULT_HOST}"
        )
    if cfg.token is not None and len(cfg.token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"the token is {len(cfg.token)} characters; use at least {MIN_TOKEN_CHARS} (e.g. openssl rand -hex 16)"
        )
    positive = {"--workers": cfg.workers, "--max-request-mb": cfg.max_request_bytes, "report slots": cfg.report_slots}
    for name, value in positive.items():
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if cfg.queue_size < 0:
        raise ConfigError(f"--queue must be 0 or more, got {cfg.queue_size}")
    if cfg.max_pixels is not None and cfg.max_pixels < 1:
        raise ConfigError(f"--max-pixels must be at least 1, got {cfg.max_pixels}")
    if not 0 <= cfg.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {cfg.port}")


def read_token_file(path: Path) -> str:
    """The bearer token in ``path`` (its first line, stripped).

    Raises:
        ConfigError: the file is missing, unreadable, empty, or readable by other users.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--token-file {path}: cannot read it ({exc}); give a text file holding the token") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--token-file {path}: other users can read it; run chmod 600 {path}")
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if not token:
        raise ConfigError(f"--token-file {path}: the file is empty; write the token on its first line")
    return token
