"""Images and analyzers the serve tests build: PNG bytes, incompressible noise, a held-up analyzer."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def noise_png(height: int, width: int, seed: int = 0) -> bytes:
    """An incompressible RGB PNG (random noise): about 3 bytes a pixel."""
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


class BlockingAnalyzer:
    """The real analyzer, held at the start of each ``analyze`` until :meth:`release` (a busy server)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.models = inner.models
        self.manifest = inner.manifest
        self.path = inner.path
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()

    def analyze(self, *args, **kwargs):
        self.started.release()
        if not self.gate.wait(timeout=60):
            raise TimeoutError("BlockingAnalyzer was never released")
        return self.inner.analyze(*args, **kwargs)

    def release(self) -> None:
        self.gate.set()
