"""``dermkit serve``: the pipeline as a web app and REST API for one clinic machine.

:func:`create_app` wraps a loaded analyzer (:class:`dermkit.pipeline.Analyzer` or
:class:`dermkit.package.PackageAnalyzer`; no second inference path) in a FastAPI app; the page is
plain HTML/JS/CSS in ``static/``. :func:`run_server` serves it in the foreground and
:func:`serve_in_thread` in a background thread (tests, benchmarks). Safe defaults live in
:class:`ServeConfig`: loopback only, a token for any other address, request and pixel limits,
uploads in memory, no patient data in logs, CORS off, a strict Content-Security-Policy.
"""

from dermkit.serve.app import create_app
from dermkit.serve.config import ServeConfig, is_loopback, read_token_file
from dermkit.serve.server import run_server, serve_in_thread

__all__ = ["ServeConfig", "create_app", "is_loopback", "read_token_file", "run_server", "serve_in_thread"]
