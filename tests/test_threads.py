"""ember's thread pool: parallel regions, and OpenBLAS held at one thread while they run."""

import threading

import numpy as np
import pytest

from ember import _threads

needs_blas = pytest.mark.skipif(_threads._blas_get is None, reason="OpenBLAS not found")


@pytest.fixture(autouse=True)
def threads_always_tried(monkeypatch):
    """These tests check what a parallel region does: a region that lost on a busy machine
    (tests/test_threads_load.py) must not send the next ones down the serial path."""
    monkeypatch.setattr(_threads, "_serial_until", float("-inf"))
    monkeypatch.setattr(_threads, "_note_region", lambda lost: None)


def test_run_chunks_calls_every_chunk_once():
    seen = []
    lock = threading.Lock()

    def fn(lo, hi):
        with lock:
            seen.append((lo, hi))

    for blas in (True, False):
        seen.clear()
        bounds = _threads.split(100, 1 << 16, target=1 << 18)
        _threads.run_chunks(fn, bounds, blas=blas)
        assert sorted(seen) == bounds


@needs_blas
def test_blas_region_runs_single_threaded_gemms_and_restores_the_count():
    before = _threads._blas_get()
    a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    inside = []
    out = np.empty((8, 256, 256), np.float32)

    def fn(lo, hi):
        inside.append(_threads._blas_get())
        for i in range(lo, hi):
            np.matmul(a, a, out=out[i])

    _threads.run_chunks(fn, [(i, i + 1) for i in range(8)])
    if _threads.num_threads() > 1:
        assert set(inside) == {1}
    assert _threads._blas_get() == before
    np.testing.assert_allclose(out, np.broadcast_to(a @ a, out.shape), rtol=1e-5, atol=1e-4)
    # the BLAS pool comes back after the region: a large GEMM still gives the right answer
    b = np.random.default_rng(1).standard_normal((512, 512)).astype(np.float32)
    np.testing.assert_allclose(b @ b, b.astype(np.float64) @ b, rtol=1e-3, atol=1e-2)


@needs_blas
def test_blas_count_restored_when_a_chunk_raises():
    before = _threads._blas_get()

    def fn(lo, hi):
        if lo == 3:
            raise ValueError("chunk 3 failed")

    with pytest.raises(ValueError, match="chunk 3"):
        _threads.run_chunks(fn, [(i, i + 1) for i in range(6)])
    assert _threads._blas_get() == before


@needs_blas
def test_overlapping_regions_from_two_threads_restore_once_both_end():
    before = _threads._blas_get()
    started = threading.Barrier(2)

    def fn(lo, hi):
        started.wait(timeout=5) if lo == 0 else None

    errors = []

    def region():
        try:
            _threads.run_chunks(fn, [(0, 1), (1, 2)])
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    t = threading.Thread(target=region)
    t.start()
    region()
    t.join()
    assert not errors
    assert _threads._blas_regions == 0
    assert _threads._blas_get() == before


@needs_blas
@pytest.mark.parametrize("alone", [True, False])
def test_openblas_pool_is_stopped_only_when_no_other_thread_could_be_using_it(monkeypatch,
                                                                               alone):
    calls = []
    monkeypatch.setattr(_threads, "_blas_shutdown", lambda: calls.append(1))
    monkeypatch.setattr(_threads, "_alone", lambda: alone)
    monkeypatch.setattr(_threads, "_threads", 2)
    _threads.run_chunks(lambda lo, hi: None, [(0, 1), (1, 2)])
    assert calls == ([1] if alone else [])


def test_alone_sees_other_python_threads():
    release = threading.Event()
    t = threading.Thread(target=release.wait, name="user-thread")
    t.start()
    try:
        assert not _threads._alone()
    finally:
        release.set()
        t.join()


@needs_blas
def test_ember_num_threads_caps_openblas_too():
    # EMBER_NUM_THREADS=1 left NumPy's GEMMs on every core: on a busy machine a small conv's
    # GEMM then waited on OpenBLAS's other thread (30x slower); the cap now holds for both
    import os
    import subprocess
    import sys

    code = ("import ember; from ember import _threads; "
            "print(_threads.num_threads(), _threads._blas_get())")
    env = dict(os.environ, EMBER_NUM_THREADS="1")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    assert out == ["1", "1"]
