"""The server for real: uvicorn in a thread and ``dermkit serve`` in a subprocess; responsiveness
while busy; and no uploaded byte left on disk unless --keep-uploads asks for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_images import noise_png

from dermkit.serve import ServeConfig, create_app, serve_in_thread


def test_healthz_answers_at_once_while_every_worker_is_busy(blocking):
    app = create_app(blocking, ServeConfig(workers=1, queue_size=2))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        image = noise_png(64, 64)
        done = []
        jobs = [
            threading.Thread(
                target=lambda: done.append(client.post("/api/v1/analyze", files={"image": ("x.png", image)}))
            )
            for _ in range(3)
        ]
        for job in jobs:
            job.start()
        assert blocking.started.acquire(timeout=30)
        while app.state.pool.admitted < 3:
            time.sleep(0.02)
        start = time.perf_counter()
        health = client.get("/healthz")
        elapsed = time.perf_counter() - start
        ready = client.get("/readyz").json()
        assert health.status_code == 200 and elapsed < 1.0
        assert ready["busy"] == 3 and ready["capacity"] == 3
        assert client.post("/api/v1/analyze", files={"image": ("x.png", image)}).status_code == 429
        blocking.release()
        for job in jobs:
            job.join(timeout=60)
        assert [r.status_code for r in done] == [200, 200, 200]


class WriteWatch:
    """Every file Python opens for writing while ``active`` (an audit hook; it stays installed, idle)."""

    def __init__(self) -> None:
        self.active = False
        self.opened: list[str] = []
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active or event != "open":
            return
        path, mode, flags = (list(args) + [None, None])[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writes:
            self.opened.append(str(path))


def files_holding(marker: bytes, folders: list[Path], since: float) -> list[Path]:
    """Files under ``folders`` changed since ``since`` whose bytes contain ``marker``."""
    found = []
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules")]
            for name in names:
                path = Path(root) / name
                try:
                    info = path.stat()
                    if info.st_mtime < since or not 0 < info.st_size < 64 << 20 or not path.is_file():
                        continue
                    if marker in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


WATCH = WriteWatch()


def test_uploads_never_reach_the_disk_unless_kept(analyzer, tmp_path):
    # 1.5 MB of noise: above the 1 MiB at which Starlette's own form parser would spool to a temp file
    image = noise_png(700, 700, seed=7)
    marker = image[len(image) // 2 : len(image) // 2 + 64]
    folders = [Path(tempfile.gettempdir()), Path.cwd(), Path("/dev/shm")]
    since = time.time() - 1
    app = create_app(analyzer, ServeConfig())
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        WATCH.active = True
        try:
            for name in ("lesion.png", "again.png"):
                response = client.post("/api/v1/analyze?images=false", files={"image": (name, image, "image/png")})
                assert response.status_code == 200, response.text
            assert client.post("/api/v1/analyze", files={"image": ("bad.png", image[:-5000])}).status_code == 400
        finally:
            WATCH.active = False
    assert WATCH.opened == []
    assert files_holding(marker, [p for p in folders if p.is_dir()], since) == []

    kept = tmp_path / "kept"  # the same check finds the bytes where --keep-uploads puts them
    app = create_app(analyzer, ServeConfig(keep_uploads=kept))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        WATCH.active = True
        try:
            response = client.post("/api/v1/analyze?images=false", files={"image": ("lesion.PNG", image, "image/png")})
        finally:
            WATCH.active = False
    path = kept / f"{response.json()['request_id']}_lesion.png"
    assert files_holding(marker, [kept], since) == [path] and WATCH.opened == [str(path)]


def test_dermkit_serve_starts_on_a_free_port_and_stops_on_ctrl_c(package, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "dermkit", "serve", "--model", str(package), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("dermkit serve: listening on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split(" on ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            assert client.get("/api/v1/model").json()["backend"] == "onnxruntime"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, 130)
    assert "GET /api/v1/model status=200" in err  # the request log: route, status, time
    assert str(package.parent) not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "--token-file"),
        (["--seg", "x"], "not both"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_unsafe_or_contradictory_options_exit_2(run_cli, package, args, message):
    result = run_cli("serve", "--model", package, *args)
    assert result.code == 2 and message in result.err


def test_a_readable_token_file_is_refused(run_cli, package, tmp_path):
    token = tmp_path / "token"
    token.write_text("a-long-enough-token-123\n")
    token.chmod(0o644)
    result = run_cli("serve", "--model", package, "--host", "0.0.0.0", "--token-file", token)
    assert result.code == 2 and "chmod 600" in result.err
