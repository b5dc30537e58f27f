"""Reports held in memory for a short while, so the page can offer "download the report".

Nothing is written to disk: a report lives under an unguessable id for ``ttl_s`` seconds, and at
most ``slots`` are held (the oldest is dropped first), so memory stays bounded under any load.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict


class ReportStore:
    """``put`` a rendered report, ``get`` it back by its id until it expires."""

    def __init__(self, ttl_s: float, slots: int, clock=time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.slots = slots
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._items and (len(self._items) > self.slots or next(iter(self._items.values()))[0] <= now):
            self._items.popitem(last=False)

    def put(self, image_id: str, html: str) -> str:
        """Keep ``html`` and return its id (or "" when reports are not kept: ``ttl_s`` 0)."""
        if self.ttl_s <= 0:
            return ""
        key = secrets.token_urlsafe(18)
        with self._lock:
            now = self._clock()
            self._items[key] = (now + self.ttl_s, image_id, html)
            self._expire(now)
        return key

    def get(self, key: str) -> tuple[str, str] | None:
        """(image id, html) of a report still held, else None."""
        with self._lock:
            self._expire(self._clock())
            item = self._items.get(key)
        return None if item is None else (item[1], item[2])

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)
