"""Fixtures of the dermkit serve tests: an app around the shared tiny runs' model package (``package``),
real images from the synthetic data set, and image files made to fail in each way."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_images import BlockingAnalyzer


@pytest.fixture(scope="session")
def analyzer(package):
    """The package on ONNX Runtime, loaded once (ONNX Runtime sessions are safe to share across threads)."""
    from dermkit.package import PackageAnalyzer

    return PackageAnalyzer(package, threads=1)


@pytest.fixture(scope="session")
def lesion_image(synthetic_root) -> Path:
    """A real image file of the synthetic data set (a 64 x 64 JPEG with a painted lesion)."""
    return sorted((synthetic_root / "HAM10000_images").iterdir())[0]


@pytest.fixture
def make_client(analyzer):
    """``make_client(**config)``: a TestClient of an app over the shared analyzer (closed after the test)."""
    from fastapi.testclient import TestClient

    from dermkit.serve import ServeConfig, create_app

    clients = []

    def make(target=None, **config):
        client = TestClient(create_app(target or analyzer, ServeConfig(**config)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def blocking(analyzer) -> BlockingAnalyzer:
    held = BlockingAnalyzer(analyzer)
    yield held
    held.release()
