"""Inference off the event loop: a fixed number of worker threads behind a bounded queue.

The event loop only parses requests and sends answers, so ``/healthz`` answers at once however
busy the workers are. At most ``workers + queue_size`` analyses are admitted at a time (running or
waiting); the next request is refused with 429 ``queue_full`` instead of piling up memory. A
slot is freed when its analysis ends, not when its client goes away, so a client that disconnects
cannot make the server accept more work than it can hold.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from dermkit.serve.errors import ApiError

T = TypeVar("T")


@dataclass(frozen=True)
class Timed:
    """A worker's return value with the seconds it waited for a worker and ran."""

    value: object
    wait_s: float
    run_s: float


class InferencePool:
    """``workers`` threads and room for ``queue_size`` waiting jobs."""

    def __init__(self, workers: int, queue_size: int) -> None:
        self.workers = workers
        self.capacity = workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dermkit-infer")
        self._lock = threading.Lock()
        self._admitted = 0
        self._closed = False

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        with self._lock:
            return self._admitted

    @property
    def open(self) -> bool:
        return not self._closed

    def _release(self, _: Future) -> None:
        with self._lock:
            self._admitted -= 1

    def submit(self, fn: Callable[[], T]) -> Future:
        """Start ``fn`` on a worker, or refuse it when the queue is full.

        Raises:
            ApiError: 429 ``queue_full`` (with ``Retry-After``), 503 ``shutting_down`` after :meth:`close`.
        """
        queued = time.perf_counter()

        def timed() -> Timed:
            start = time.perf_counter()
            value = fn()
            return Timed(value, start - queued, time.perf_counter() - start)

        with self._lock:
            if self._closed:
                raise ApiError(503, "shutting_down", "the server is shutting down; try again in a moment")
            if self._admitted >= self.capacity:
                raise ApiError(
                    429,
                    "queue_full",
                    f"the server is busy ({self._admitted} analyses running or waiting); try again in a few seconds",
                    headers={"Retry-After": "2"},
                )
            self._admitted += 1
        try:
            future = self._executor.submit(timed)
        except RuntimeError:  # the executor shut down between the check and the submit
            self._release(None)  # type: ignore[arg-type]
            raise ApiError(503, "shutting_down", "the server is shutting down; try again in a moment") from None
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[[], T]) -> Timed:
        """Run ``fn`` on a worker and wait for it without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn))

    def close(self) -> None:
        """Refuse new jobs and let the running ones finish."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
