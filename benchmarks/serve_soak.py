"""Load and soak benchmark of ``dermkit serve``: concurrent clients on loopback, latency, memory, bad input.

Starts ``dermkit serve --model PKG --host 127.0.0.1 --port 0 --workers W --queue Q`` as a subprocess
(loopback only: the URL it prints must be a loopback address), waits for ``/readyz``, then runs:

1. **Load**: ``--clients`` threads, each with its own keep-alive connection, POST real images to
   ``/api/v1/analyze`` one after another for ``--seconds``. Reported: requests, errors, p50/p95/p99
   latency (client side, the whole HTTP round trip), throughput, and the server's resident memory
   sampled every second (psutil if installed, else ``/proc/PID/status`` VmRSS) with its growth
   after the warm-up (the first ``--warmup`` seconds): ``growth`` compares the median of the last
   5 samples with the median of the first 3 after warm-up; the peak and the slope are shown too.
2. **Bad input**: the same, with ``--bad-share`` of the requests replaced by hostile ones (zero
   bytes, text, a truncated JPEG, a 1x1 image, a PNG declaring 40000x40000 pixels, age "abc",
   an unknown sex, an unknown site, a JSON body, no image field). Good requests must keep
   succeeding; each bad one must get its expected status and code; no 500 at all.

How 429s count: every client has at most one request in flight, so with ``workers + queue >=
clients`` (the default queue is ``--clients``) a 429 ``queue_full`` cannot happen and any 429 is an
error. Only when ``--queue`` is set below that are 429s expected: they are then tallied apart as
``shed`` (the client waits the Retry-After, at most 1 s, and goes on), not as errors.

Bounded: each phase stops issuing requests after ``--seconds`` or ``--max-requests`` and is cut
off at ``--seconds + 30``; the server is stopped at the end, also on Ctrl-C or an error. Writes
``soak.json``, ``soak.md`` and the server's log (request ids and timings only) to ``--out`` and
prints the table. Exit status 1 when a criterion fails. Usage::

    python benchmarks/serve_soak.py --model runs/demo/model.dermkit --clients 8 --seconds 60
    python benchmarks/serve_soak.py --model PKG --seconds 5 --clients 2      # a quick check

Images: ``--images DIR``, else the shared full-resolution HAM10000 samples (600 x 450), else the
shared 200 x 150 ones, else synthetic 600 x 450 JPEGs; the HAM10000 age, sex and site go with them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import queue
import random
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from _common import ROOT, SHARED

LISTENING = "dermkit serve: listening on "
ANALYZE = "/api/v1/analyze"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
#: At most this many images are held in memory and cycled through.
MAX_IMAGES = 64
#: Seconds a phase may run past ``--seconds`` before it is cut off (the brief's hard stop).
GRACE_S = 30.0
MEMORY_GROWTH_LIMIT = 0.10


# ---------------------------------------------------------------- images


@dataclass(frozen=True)
class Sample:
    """One good upload: the file's bytes, its name and content type, and the form's metadata."""

    name: str
    data: bytes
    content_type: str
    fields: dict[str, str]


def ham_metadata(folder: Path) -> dict[str, dict[str, str]]:
    """image_id -> age, sex, site from a HAM10000_metadata.csv beside the images' folder (if any)."""
    csv_path = folder.parent / "HAM10000_metadata.csv"
    if not csv_path.exists():
        return {}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {
            r["image_id"]: {"age": r.get("age", ""), "sex": r.get("sex", ""), "site": r.get("localization", "")}
            for r in rows
        }


def folder_samples(folder: Path) -> list[Sample]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:MAX_IMAGES]
    meta = ham_metadata(folder)
    kinds = {".png": "image/png", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}
    return [
        Sample(p.name, p.read_bytes(), kinds.get(p.suffix.lower(), "image/jpeg"), meta.get(p.stem, {})) for p in files
    ]


def synthetic_jpeg(seed: int, height: int = 450, width: int = 600) -> bytes:
    """A skin-toned image with a dark, irregular blob in the middle, as JPEG."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    radius = min(height, width) * (0.25 + 0.1 * rng.random())
    angle = np.arctan2(yy - height / 2, xx - width / 2)
    wobble = 1 + 0.15 * np.sin(3 * angle + rng.random() * 6)
    inside = np.hypot(yy - height / 2, xx - width / 2) < radius * wobble
    image = np.empty((height, width, 3), np.float32)
    image[:] = (215, 170, 145)
    image[inside] = (95, 60, 45)
    image += rng.normal(0, 8, image.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def load_samples(images: Path | None) -> tuple[list[Sample], str]:
    """The good uploads and where they came from."""
    candidates = [images] if images else [SHARED / f / "HAM10000_images" for f in ("HAM10000_fullres", "HAM10000")]
    for folder in candidates:
        if folder is not None and folder.is_dir():
            samples = folder_samples(folder)
            if samples:
                return samples, str(folder)
        elif images is not None:
            raise SystemExit(f"--images {images}: not a folder; give a folder of JPEG/PNG images")
    if images is not None:
        raise SystemExit(f"--images {images}: no .jpg/.png/.bmp/.tif files in it")
    synthetic = [Sample(f"synthetic_{i}.jpg", synthetic_jpeg(i), "image/jpeg", {}) for i in range(8)]
    return synthetic, "synthetic 600x450 JPEGs (no shared data found)"


# ---------------------------------------------------------------- bad requests


@dataclass(frozen=True)
class BadKind:
    """A hostile request: how to build it from a good sample, and the answer it must get."""

    name: str
    status: int
    code: str
    build: Callable[[Sample], dict]


def upload(data: bytes, content_type: str, name: str = "x.jpg", fields: dict | None = None) -> dict:
    return {"files": {"image": (name, data, content_type)}, "data": fields or {}}


def png_declaring(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def one_pixel_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (120, 80, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def with_field(name: str, value: str) -> Callable[[Sample], dict]:
    return lambda s: upload(s.data, s.content_type, s.name, {**s.fields, name: value})


#: The hostile requests of phase 2 and the answers dermkit serve documents for them.
BAD_KINDS: list[BadKind] = [
    BadKind("zero_bytes", 400, "empty_file", lambda s: upload(b"", "image/jpeg")),
    BadKind("text", 400, "not_an_image", lambda s: upload(b"this is not an image\n" * 20, "image/jpeg", "x.txt")),
    BadKind("truncated_jpeg", 400, "truncated_image", lambda s: upload(s.data[: len(s.data) // 2], s.content_type)),
    BadKind("one_pixel", 400, "image_too_small", lambda s: upload(one_pixel_png(), "image/png", "x.png")),
    BadKind("huge_declared", 413, "too_many_pixels", lambda s: upload(png_declaring(40000, 40000), "image/png")),
    BadKind("bad_age", 400, "invalid_age", with_field("age", "abc")),
    BadKind("bad_sex", 400, "invalid_sex", with_field("sex", "robot")),
    BadKind("bad_site", 400, "invalid_site", with_field("site", "elbowpit")),
    BadKind(
        "wrong_content_type",
        415,
        "unsupported_media_type",
        lambda s: {"content": b'{"image": "x"}', "headers": {"content-type": "application/json"}},
    ),
    BadKind("missing_field", 422, "missing_field", lambda s: {"files": {"photo": (s.name, s.data, s.content_type)}}),
]


class BadTurns:
    """The bad kinds in turn, shared by all clients, so that even a short run meets every kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turn = 0

    def next(self) -> BadKind:
        with self._lock:
            self._turn += 1
            return BAD_KINDS[(self._turn - 1) % len(BAD_KINDS)]


# ---------------------------------------------------------------- the server


def rss_reader(pid: int) -> Callable[[], float | None]:
    """A function giving the process's resident memory in MiB (None once it is gone)."""
    try:
        import psutil

        proc = psutil.Process(pid)

        def by_psutil() -> float | None:
            try:
                return proc.memory_info().rss / 2**20
            except psutil.Error:
                return None

        return by_psutil
    except ImportError:
        status = Path(f"/proc/{pid}/status")

        def by_proc() -> float | None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            except OSError:
                return None
            return None

        return by_proc


class Server:
    """``dermkit serve`` in a subprocess on loopback; :meth:`stop` ends it (also on Ctrl-C)."""

    def __init__(self, model: Path, workers: int, queue_size: int, threads: int, log_path: Path) -> None:
        cmd = [sys.executable, "-m", "dermkit", "serve", "--model", str(model), "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--workers", str(workers), "--queue", str(queue_size)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.log = log_path.open("w", encoding="utf-8")
        # Own session: a Ctrl-C in the terminal reaches this script only, which then stops the server.
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True, start_new_session=True
        )
        self.url = ""

    def wait_listening(self, timeout_s: float) -> str:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise SystemExit(f"dermkit serve exited with {self.proc.returncode}; see {self.log.name}") from None
                continue
            if line.startswith(LISTENING):
                self.url = line[len(LISTENING) :].strip()
                host = httpx.URL(self.url).host
                if host not in {"127.0.0.1", "::1", "localhost"}:
                    raise SystemExit(f"dermkit serve listens on {self.url}, not loopback; refusing to load it")
                return self.url
        raise SystemExit(f"dermkit serve printed no URL within {timeout_s:.0f} s; see {self.log.name}")

    def wait_ready(self, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    answer = client.get("/readyz")
                    if answer.status_code == 200:
                        return answer.json()
                except httpx.HTTPError:
                    pass
                if self.proc.poll() is not None:
                    raise SystemExit(f"dermkit serve exited with {self.proc.returncode}; see {self.log.name}")
                time.sleep(0.2)
        raise SystemExit(f"dermkit serve was not ready within {timeout_s:.0f} s; see {self.log.name}")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode


class MemorySampler:
    """The server's resident memory once a second, in a background thread: (seconds since start, MiB)."""

    def __init__(self, read: Callable[[], float | None], interval_s: float = 1.0) -> None:
        self.read, self.interval = read, interval_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            rss = self.read()
            if rss is not None:
                self.samples.append((round(time.monotonic() - start, 2), round(rss, 1)))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# ---------------------------------------------------------------- clients


@dataclass
class Outcome:
    """One request's answer: good or which bad kind, HTTP status (0: no answer), API code, seconds."""

    kind: str
    status: int
    code: str
    seconds: float
    expected: bool


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    cut_off: bool = False
    memory: list[tuple[float, float]] = field(default_factory=list)


def error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def good_request(sample: Sample) -> dict:
    return upload(sample.data, sample.content_type, sample.name, sample.fields)


def client_loop(
    url: str,
    samples: list[Sample],
    bad_share: float,
    seed: int,
    bad_turns: BadTurns,
    stop_at: float,
    budget: threading.Semaphore,
    expect_429: bool,
    out: list[Outcome],
    layers: bool,
) -> None:
    """One client: requests one after another until ``stop_at`` or the shared request budget runs out."""
    rng = random.Random(seed)
    params = {} if layers else {"images": "false"}
    with httpx.Client(base_url=url, timeout=GRACE_S) as client:
        while time.monotonic() < stop_at and budget.acquire(blocking=False):
            sample = samples[rng.randrange(len(samples))]
            bad = bad_turns.next() if rng.random() < bad_share else None
            kwargs = bad.build(sample) if bad else good_request(sample)
            start = time.perf_counter()
            try:
                response = client.post(ANALYZE, params=params, **kwargs)
                status, code = response.status_code, "" if response.status_code == 200 else error_code(response)
            except httpx.HTTPError as exc:
                status, code = 0, type(exc).__name__
            elapsed = time.perf_counter() - start
            if bad:
                expected = (status, code) == (bad.status, bad.code)
            else:
                expected = status == 200 or (expect_429 and status == 429)
            out.append(Outcome(bad.name if bad else "good", status, code, elapsed, expected))
            if status == 429 and expect_429:
                time.sleep(min(1.0, float(response.headers.get("retry-after", "1"))))


def run_phase(
    name: str, server: Server, samples: list[Sample], args: argparse.Namespace, bad_share: float, expect_429: bool
) -> Phase:
    """``args.clients`` clients for ``args.seconds``, memory sampled; cut off at seconds + GRACE_S."""
    phase = Phase(name)
    bad_turns = BadTurns()
    budget = threading.Semaphore(args.max_requests)
    start = time.monotonic()
    stop_at = start + args.seconds
    results: list[list[Outcome]] = [[] for _ in range(args.clients)]
    with MemorySampler(rss_reader(server.proc.pid)) as sampler:
        threads = [
            threading.Thread(
                target=client_loop,
                args=(
                    server.url,
                    samples,
                    bad_share,
                    args.seed + i,
                    bad_turns,
                    stop_at,
                    budget,
                    expect_429,
                    results[i],
                ),
                kwargs={"layers": not args.no_layers},
                daemon=True,
                name=f"soak-client-{i}",
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, stop_at + GRACE_S - time.monotonic()))
        phase.cut_off = any(t.is_alive() for t in threads)
        phase.seconds = time.monotonic() - start
    phase.memory = list(sampler.samples)
    phase.outcomes = [o for r in results for o in list(r)]
    return phase


# ---------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def latency_ms(outcomes: list[Outcome]) -> dict:
    seconds = [o.seconds for o in outcomes]
    return {f"p{q}": None if not seconds else round(1000 * percentile(seconds, q), 1) for q in (50, 95, 99)} | {
        "max": round(1000 * max(seconds), 1) if seconds else None
    }


def memory_figures(samples: list[tuple[float, float]], warmup_s: float) -> dict:
    """Growth after warm-up: the median of the last 5 samples over the median of the first 3 after it
    (fewer in a short run: at most half the samples after warm-up each)."""
    after = [(t, m) for t, m in samples if t >= warmup_s]
    if len(after) < 2:
        return {"samples": len(samples), "warmup_s": warmup_s, "growth": None, "note": "too few samples after warm-up"}
    half = len(after) // 2
    base = statistics.median(m for _, m in after[: min(3, half)])
    end = statistics.median(m for _, m in after[-min(5, half) :])
    peak = max(m for _, m in after)
    times, values = np.array([t for t, _ in after]), np.array([m for _, m in after])
    slope = float(np.polyfit(times, values, 1)[0]) * 60 if np.ptp(times) > 0 else 0.0
    return {
        "samples": len(samples),
        "warmup_s": warmup_s,
        "start_mib": samples[0][1],
        "baseline_mib": round(base, 1),
        "end_mib": round(end, 1),
        "peak_mib": round(peak, 1),
        "growth": round((end - base) / base, 4),
        "peak_growth": round((peak - base) / base, 4),
        "slope_mib_per_min": round(slope, 2),
    }


def phase_figures(phase: Phase, warmup_s: float) -> dict:
    good = [o for o in phase.outcomes if o.kind == "good"]
    good_ok = [o for o in good if o.status == 200]
    bad = [o for o in phase.outcomes if o.kind != "good"]
    by_kind: dict[str, Counter] = {}
    for o in bad:
        by_kind.setdefault(o.kind, Counter())[f"{o.status} {o.code}"] += 1
    expected = {k.name: f"{k.status} {k.code}" for k in BAD_KINDS}
    return {
        "name": phase.name,
        "seconds": round(phase.seconds, 1),
        "cut_off": phase.cut_off,
        "requests": len(phase.outcomes),
        "good": {
            "requests": len(good),
            "ok": len(good_ok),
            "errors": sum(not o.expected for o in good),
            "shed_429": sum(o.status == 429 and o.expected for o in good),
            "error_statuses": dict(Counter(f"{o.status} {o.code}".strip() for o in good if not o.expected)),
            "latency_ms": latency_ms(good_ok),
            "throughput_per_s": round(len(good_ok) / phase.seconds, 2) if phase.seconds else None,
        },
        "bad": {
            "requests": len(bad),
            "unexpected": sum(not o.expected for o in bad),
            "by_kind": {k: {"expected": expected[k], "got": dict(c)} for k, c in sorted(by_kind.items())},
            "latency_ms": latency_ms(bad),
        },
        "status_500": sum(o.status >= 500 for o in phase.outcomes),
        "memory": memory_figures(phase.memory, warmup_s),
        "rss_samples": [{"t_s": t, "mib": m} for t, m in phase.memory],
    }


def verdicts(figures: dict) -> dict[str, bool]:
    """The acceptance criteria of one phase."""
    growth = figures["memory"]["growth"]
    checks = {
        "no errors on good requests": figures["good"]["errors"] == 0 and figures["good"]["ok"] > 0,
        "no 500s": figures["status_500"] == 0,
        f"memory growth < {MEMORY_GROWTH_LIMIT:.0%} after warm-up": growth is not None and growth < MEMORY_GROWTH_LIMIT,
        "not cut off": not figures["cut_off"],
    }
    if figures["bad"]["requests"]:
        checks["every bad request got its expected code"] = figures["bad"]["unexpected"] == 0
    return checks


def fmt(value, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def markdown(report: dict) -> str:
    """The summary table, a row per phase, then the bad requests by kind."""
    head = report["setup"]
    lines = [
        f"dermkit serve soak, {head['date']}, commit {head['commit']}, {head['machine']}",
        f"model {head['model']}; {head['clients']} clients, {head['workers']} workers, queue {head['queue']}, "
        f"{head['threads']} ORT threads each; {head['seconds']} s a phase; images: {head['images']}",
        "",
        "| phase | good requests | errors | p50 ms | p95 ms | p99 ms | req/s | bad requests (unexpected) | 500s "
        "| RSS after warm-up -> end (MiB) | growth | peak growth |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in report["phases"]:
        g, m, lat = p["good"], p["memory"], p["good"]["latency_ms"]
        growth = None if m["growth"] is None else f"{100 * m['growth']:+.1f} %"
        peak = None if m.get("peak_growth") is None else f"{100 * m['peak_growth']:+.1f} %"
        lines.append(
            f"| {p['name']} | {g['requests']} | {g['errors']} | {fmt(lat['p50'])} | {fmt(lat['p95'])} "
            f"| {fmt(lat['p99'])} | {fmt(g['throughput_per_s'])} | {p['bad']['requests']} ({p['bad']['unexpected']}) "
            f"| {p['status_500']} | {fmt(m.get('baseline_mib'))} -> {fmt(m.get('end_mib'))} | {fmt(growth)} "
            f"| {fmt(peak)} |"
        )
    for p in report["phases"]:
        if p["bad"]["requests"]:
            lines += ["", f"Bad requests in {p['name']}:", "", "| kind | expected | got |", "|---|---|---|"]
            for kind, row in p["bad"]["by_kind"].items():
                got = ", ".join(f"{k} x{n}" for k, n in row["got"].items())
                lines.append(f"| {kind} | {row['expected']} | {got} |")
    lines.append("")
    for p in report["phases"]:
        failed = [name for name, ok in p["verdict"].items() if not ok]
        lines.append(f"{p['name']}: {'PASS' if not failed else 'FAIL: ' + '; '.join(failed)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [
            ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln
        ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} logical CPUs, {system}"


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return head.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model package (dermkit export)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--images", type=Path, default=None, help="folder of images (default: shared HAM10000)")
    parser.add_argument("--bad-share", type=float, default=0.3, help="share of bad requests in phase 2 (0: skip it)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-soak", help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="dermkit serve --workers")
    parser.add_argument("--queue", type=int, default=None, help="dermkit serve --queue (default: --clients)")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads a worker (default: cores/W)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of warm-up before memory is compared")
    parser.add_argument("--max-requests", type=int, default=100_000, help="at most this many requests a phase")
    parser.add_argument("--no-layers", action="store_true", help="ask for no overlay PNGs (?images=false)")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds to wait for /readyz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"--model {args.model}: no such file; export one with dermkit export --seg RUN --cls RUN --out F")
    if args.clients < 1 or args.seconds <= 0 or args.workers < 1 or not 0 <= args.bad_share <= 1:
        parser.error("--clients and --workers must be >= 1, --seconds > 0 and --bad-share in 0..1")
    args.queue = args.clients if args.queue is None else args.queue
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    samples, source = load_samples(args.images)
    args.out.mkdir(parents=True, exist_ok=True)
    expect_429 = args.workers + args.queue < args.clients
    warmup = min(args.warmup, args.seconds / 2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SystemExit: the finally below stops the server
    server = Server(args.model, args.workers, args.queue, args.threads, args.out / "server.log")
    phases: list[dict] = []
    try:
        url = server.wait_listening(args.start_timeout)
        ready = server.wait_ready(args.start_timeout)
        print(f"serving on {url} ({ready.get('backend')}), {len(samples)} images from {source}", flush=True)
        plan = [("load", 0.0)] + ([("bad input", args.bad_share)] if args.bad_share > 0 else [])
        for name, share in plan:
            print(f"phase {name}: {args.clients} clients for {args.seconds:g} s ...", flush=True)
            figures = phase_figures(run_phase(name, server, samples, args, share, expect_429), warmup)
            figures["verdict"] = verdicts(figures)
            phases.append(figures)
    finally:
        code = server.stop()
        print(f"server stopped (exit {code})", flush=True)
    report = {
        "setup": {
            "date": date.today().isoformat(),
            "commit": commit(),
            "machine": machine(),
            "model": str(args.model),
            "images": f"{len(samples)} from {source}",
            "clients": args.clients,
            "workers": args.workers,
            "queue": args.queue,
            "threads": args.threads,
            "seconds": args.seconds,
            "bad_share": args.bad_share,
            "layers": not args.no_layers,
            "count_429": "shed (expected)" if expect_429 else "error (workers + queue >= clients)",
        },
        "phases": phases,
    }
    table = markdown(report)
    (args.out / "soak.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / "soak.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {args.out / 'soak.json'} and {args.out / 'soak.md'}")
    return 0 if all(all(p["verdict"].values()) for p in phases) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: the server is stopped; no figures written", file=sys.stderr)
        sys.exit(130)
