"""Run big NumPy work over chunks on a few threads.

NumPy's ufuncs and copies release the GIL, so chunks of one large elementwise pass can run on
several cores from plain Python threads. Chunks that call BLAS run one after another in the
caller's thread instead, with OpenBLAS using its own threads inside each GEMM: switching
OpenBLAS to one thread per call for the length of a parallel region (so that two Python
threads could each run a GEMM) was measured slower on the CNN step (median 85-87 ms against
73-75 ms), as re-raising OpenBLAS's thread count afterwards costs more than it saves.
``EMBER_NUM_THREADS`` caps the number of threads (1 turns the pool off).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import threading
from collections.abc import Callable, Sequence

__all__ = ["elementwise", "num_threads", "set_num_threads", "run_chunks", "split"]

_local = threading.local()
_lock = threading.Lock()
_pool = None


def _find_blas():
    """(set, get) thread-count functions of the OpenBLAS that NumPy loaded, or (None, None)."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.\-]*)", f.read())))
    except OSError:
        return None, None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                               ("openblas_", "64_"), ("openblas_", "")):
            setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                setter.argtypes = [ctypes.c_int]
                setter.restype = None
                getter.restype = ctypes.c_int
                return setter, getter
    return None, None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _init():
    global _blas_set, _blas_get, _threads
    import numpy  # noqa: F401  (the BLAS must be loaded before it can be found)

    _blas_set, _blas_get = _find_blas()
    n = _cpus() if _blas_get is None else min(_cpus(), max(1, _blas_get()))
    env = os.environ.get("EMBER_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    _threads = max(1, min(n, 8))


_blas_set = _blas_get = None
_threads = 1
_init()


def num_threads() -> int:
    """Threads a parallel region uses (1: everything runs in the caller's thread)."""
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads: for ember's own parallel regions and for NumPy's OpenBLAS GEMMs."""
    global _threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _threads = min(n, 8)
    if _blas_set is not None:
        _blas_set(n)


def split(n: int, per_item: int, target: int = 1 << 21, min_chunks: int | None = None):
    """Chunk bounds ``[(lo, hi), ...]`` over ``n`` items of ``per_item`` bytes of work each:
    chunks of about ``target`` bytes (cache-sized), and at least one per thread when there
    is more than ``target`` in all."""
    if n <= 0:
        return []
    size = max(1, target // max(per_item, 1))
    if min_chunks is None:
        min_chunks = _threads if n * per_item > target else 1
    size = min(size, -(-n // max(min_chunks, 1)))
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def _reset_after_fork():
    global _pool, _lock
    _pool = None  # the pool's threads do not exist in a forked child
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def run_chunks(fn: Callable[[int, int], None], bounds: Sequence[tuple[int, int]],
               blas: bool = True) -> None:
    """Call ``fn(lo, hi)`` for every chunk, on up to ``num_threads()`` threads (the caller's
    included). Chunks are handed out one at a time, so a thread the OS delays takes fewer.
    Chunks whose ``fn`` calls BLAS (``blas=True``) run in the caller's thread, in order
    (see the module note)."""
    global _pool
    n = len(bounds)
    workers = min(_threads, n)
    if workers <= 1 or blas or getattr(_local, "inside", False):
        for lo, hi in bounds:
            fn(lo, hi)
        return
    order = itertools.count()  # next() on a count is atomic under the GIL
    errors: list = []

    def work():
        _local.inside = True
        try:
            while not errors:
                i = next(order)
                if i >= n:
                    return
                fn(*bounds[i])
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller below
            errors.append(err)
        finally:
            _local.inside = False

    with _lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max(_threads - 1, 1), thread_name_prefix="ember")
        pool = _pool
    futures = [pool.submit(work) for _ in range(workers - 1)]
    work()
    for f in futures:
        f.result()
    if errors:
        raise errors[0]


def elementwise(fn: Callable, out, *arrays, min_bytes: int = 1 << 20):
    """``fn(out_chunk, *array_chunks)`` over flat chunks of same-shape C-contiguous arrays,
    on several threads when ``out`` is at least ``min_bytes``; one call otherwise. Returns
    ``out``.

    Example:
        >>> y = np.empty_like(x); elementwise(lambda o, a: np.maximum(a, 0, out=o), y, x)
    """
    size = out.size
    if (_threads <= 1 or out.nbytes < min_bytes or not out.flags.c_contiguous
            or any(a.shape != out.shape or not a.flags.c_contiguous for a in arrays)):
        fn(out, *arrays)
        return out
    flat_out = out.reshape(-1)
    flat = [a.reshape(-1) for a in arrays]
    chunks = min(4 * _threads, max(_threads, out.nbytes >> 20))
    step = -(-size // chunks)

    def run(lo, hi):
        fn(flat_out[lo:hi], *(a[lo:hi] for a in flat))

    run_chunks(run, [(lo, min(lo + step, size)) for lo in range(0, size, step)], blas=False)
    return out
