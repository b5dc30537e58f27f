"""Running the app on uvicorn: in the foreground (``dermkit serve``) or in a thread (tests, benchmarks).

The socket is bound before uvicorn starts, so with port 0 the real port is known at once and the
URL can be printed (a benchmark starting ``dermkit serve --port 0`` in a subprocess reads it from
the first line of standard output) or handed back (:func:`serve_in_thread`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from dermkit.errors import ConfigError

#: Seconds :func:`serve_in_thread` waits for the server to start.
START_TIMEOUT_S = 30.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        ConfigError: the address is taken or cannot be used.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --host") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: FastAPI) -> uvicorn.Server:
    """A uvicorn server for ``app`` without uvicorn's access log (dermkit logs ids and timings itself)."""
    config = uvicorn.Config(app, access_log=False, log_config=None, lifespan="on", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def run_server(app: FastAPI, host: str, port: int, on_bound: Callable[[str], None] = print) -> None:
    """Serve ``app`` until interrupted; ``on_bound`` gets the URL as soon as the socket listens."""
    sock = bind(host, port)
    on_bound(url_of(sock))
    make_server(app).run(sockets=[sock])


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` on a background thread while the ``with`` block runs; yields its base URL.

    Example::

        with serve_in_thread(create_app(analyzer)) as url:
            httpx.get(url + "/healthz")
    """
    sock = bind(host, port)
    server = make_server(app)  # uvicorn installs no signal handlers off the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dermkit-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the dermkit server did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        sock.close()
