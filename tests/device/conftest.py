"""Every test here runs with the ``cuda`` device backed by ``fake_cupy`` (a CuPy stand-in that
refuses implicit host conversions), so GPU-breaking code fails on machines without a GPU."""

import pytest

from ember import _backend, _threads

from . import fake_cupy


@pytest.fixture(autouse=True)
def fake_cuda(monkeypatch):
    """Install the stand-in for the test and put back whatever was there after it. The
    size threshold of the host's threaded paths drops to 0, so the tests' small arrays reach
    them too (they must step aside for device arrays)."""
    monkeypatch.setattr(_threads, "PARALLEL_MIN_BYTES", 0)
    prev = _backend.use_cuda_module(fake_cupy)
    try:
        yield fake_cupy
    finally:
        _backend.use_cuda_module(prev)
