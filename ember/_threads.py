"""Run big NumPy work over chunks on a few threads.

NumPy's ufuncs, copies and GEMMs release the GIL, so chunks of one large pass can run on
several cores from plain Python threads. In a parallel region every thread runs its own
chunks start to finish (gather, GEMM, scatter) and OpenBLAS is held at one thread, so the
cores never wait on each other inside a GEMM.

OpenBLAS's idle worker threads spin (yielding) for about 0.1 s after each multi-threaded GEMM
before they sleep; in a training loop they never sleep, and a spinning worker halves the core
that one of our threads runs on. Entering a region therefore stops OpenBLAS's pool
(``blas_thread_shutdown_``, which its own fork handler uses) and leaving it restores the
thread count; the next multi-threaded GEMM starts the pool again (about 0.1 ms in all). On the
CNN step (batch 64, 2 cores) this took the median from 63 ms to 48 ms; holding OpenBLAS at one
thread without stopping its pool made it 76 ms.
``EMBER_NUM_THREADS`` caps the number of threads, OpenBLAS's included (1 turns the pool off).

On a machine whose cores other processes keep busy, a second Python thread can cost far more
than it gains: a thread the OS wakes may wait a whole scheduler time slice for a core, and one
that wants the GIL meanwhile makes CPython hand the GIL over and wait until the sleeper has run
(or the OS preempts a helper while it holds the GIL). At a load of 5-8 on 2 cores, regions whose
chunks make ~28 short ufunc calls each took 6-16 ms in the median against 0.8 ms serially,
often waiting after the caller's chunks were done, for a helper that woke too late to take one.
So a region counts as a loss when its caller was off its core longer than the helpers ran
chunks (time spent stopping OpenBLAS's pool, which waits for its threads to run, included), or
when a helper woke too late to take any chunk. The caller checks the first after each of its
chunks: once it has lost more than the helpers gave, they take no more chunks and it finishes
the region alone. After a loss, regions run serially, BLAS chunks with OpenBLAS at one thread,
for a while (10 ms, doubling on each further loss up to 1 s, shrinking slowly again while threads
gain), then threads are tried again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence

from . import _blas

__all__ = ["elementwise", "num_threads", "set_num_threads", "run_chunks", "split"]

_local = threading.local()
_lock = threading.Lock()
_pool = None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _init():
    global _threads
    n = _cpus() if _blas_get is None else min(_cpus(), max(1, _blas_get()))
    env = os.environ.get("EMBER_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
        if _blas_set is not None and _blas_get() > n:
            _blas_set(n)  # the cap holds for NumPy's OpenBLAS GEMMs too, as set_num_threads
    _threads = max(1, min(n, 8))


_blas_set, _blas_get, _blas_shutdown = (_blas.set_num_threads, _blas.get_num_threads,
                                        _blas.thread_shutdown)
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
    global _pool, _lock, _blas_regions
    _pool = None  # the pool's threads do not exist in a forked child
    _lock = threading.Lock()
    if _blas_regions:  # forked inside a region (from another thread): the child is in none
        _blas_regions = 0
        _blas_set(_blas_saved)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def run_chunks(fn: Callable[[int, int], None], bounds: Sequence[tuple[int, int]],
               blas: bool = True) -> None:
    """Call ``fn(lo, hi)`` for every chunk, on up to ``num_threads()`` threads (the caller's
    included). Chunks are handed out one at a time, so a thread the OS delays takes fewer.
    OpenBLAS is held at one thread while the region runs (see the module note); where it
    cannot be controlled, chunks whose ``fn`` calls BLAS (``blas=True``) run in the caller's
    thread, in order. After a region whose threads lost to a busy machine, regions run in
    the caller for a while (see the module note), BLAS chunks with OpenBLAS at one thread."""
    n = len(bounds)
    workers = min(_threads, n)
    if workers <= 1 or getattr(_local, "inside", False) or (blas and _blas_set is None):
        for lo, hi in bounds:
            fn(lo, hi)
        return
    backing_off = _now() < _serial_until
    if _blas_set is None or (backing_off and not blas):  # no OpenBLAS to hold at one thread
        _run_serial(fn, bounds) if backing_off else _run_parallel(fn, bounds, workers)
        return
    # OpenBLAS's own threads lose to a busy machine as ours do: its 2-thread GEMMs of
    # 16x128x128x128 chunks, run serially at a load of 8 on 2 cores, took up to 1.4 s per
    # region against 21 ms on one thread, so a serial region holds it at one thread too
    # (without stopping its pool: that joins its threads, which waits for them to run; at a
    # load of 8 stopping it took 12 ms in the median, which the region's accounting counts)
    start = _now(), _cpu_time()
    _blas_single(True, stop_pool=not backing_off)
    try:
        _run_serial(fn, bounds) if backing_off else _run_parallel(fn, bounds, workers, *start)
    finally:
        _blas_single(False)


def _run_serial(fn, bounds) -> None:
    for lo, hi in bounds:
        fn(lo, hi)


_blas_regions = 0  # parallel regions now running with OpenBLAS held at one thread
_blas_saved = 1


def _blas_single(enter: bool, stop_pool: bool = True) -> None:
    """Hold OpenBLAS at one thread while any BLAS-calling parallel region runs (each of
    ember's threads then runs its own single-threaded GEMM), and give it back its thread
    count when the last one ends. Setting the count costs about 0.5 µs."""
    global _blas_regions, _blas_saved
    with _lock:
        if enter:
            if _blas_regions == 0:
                _blas_saved = _blas_get()
                _blas_set(1)
                if stop_pool and _blas_shutdown is not None and _alone():
                    _blas_shutdown()
            _blas_regions += 1
        else:
            _blas_regions -= 1
            if _blas_regions == 0:
                _blas_set(_blas_saved)


def _alone() -> bool:
    """True when no Python thread but the caller and ember's pool is alive. OpenBLAS's pool
    is stopped only then: a GEMM that another thread runs on it meanwhile could hang."""
    for t in threading.enumerate():
        if t is not threading.current_thread() and not t.name.startswith("ember"):
            return False
    return True


# Clocks, names of their own so that tests can drive the stall accounting below.
_now = time.perf_counter
_cpu_time = time.thread_time  # CPU time of the calling thread (not counted while it waits)

# A region "stalls" when its caller has been off its core (waiting for the GIL, for a chunk
# or for the OS) for longer than the helpers have computed, plus this slack: the time the
# caller must lose before the threads are judged a loss.
STALL_SLACK = 1e-3
_BACKOFF_MIN, _BACKOFF_MAX = 0.01, 1.0  # seconds regions run serially after a stall
_backoff = _BACKOFF_MIN
_serial_until = 0.0  # _now() before which every region runs in its caller, serially


def _stalled(elapsed: float, caller_cpu: float, helpers_cpu: float) -> bool:
    """Whether a region's threads cost more than they gave: the caller was off its core
    (``elapsed - caller_cpu``) longer than the helpers ran chunks, plus ``STALL_SLACK``."""
    return elapsed - caller_cpu > helpers_cpu + STALL_SLACK


def _note_region(lost: bool) -> None:
    """Back off after a region that lost (serial for ``_backoff`` seconds, doubled for the
    next loss); shrink the backoff by a tenth after one that gained. Shrinking slower than it
    grows keeps a machine where half the regions lose (a load of 5 on 2 cores) at about one
    try a second."""
    global _backoff, _serial_until
    if lost:
        _serial_until = _now() + _backoff
        _backoff = min(2 * _backoff, _BACKOFF_MAX)
    else:
        _backoff = max(0.9 * _backoff, _BACKOFF_MIN)


def _run_parallel(fn, bounds, workers, start=None, start_cpu=None) -> None:
    """Run the chunks on ``workers`` threads, the caller's included; the loss accounting
    counts from ``start`` (``_now()``) and ``start_cpu`` (``_cpu_time()``), by default now."""
    global _pool
    n = len(bounds)
    order = itertools.count()  # next() on a count is atomic under the GIL
    finished = itertools.count(1)
    errors: list = []
    all_done = threading.Event()
    helpers_cpu = [0.0] * workers  # per helper (slot 0 unused), each written by one thread
    helped = [False] * workers  # whether each helper took a chunk
    stop = []  # non-empty once the caller finishes the region alone
    if start is None:
        start, start_cpu = _now(), _cpu_time()

    def chunk(i) -> None:
        try:
            if not errors:
                fn(*bounds[i])
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller below
            errors.append(err)

    def done() -> None:
        if next(finished) == n:
            all_done.set()

    def helper(slot):
        # The region ends when every chunk has finished, not when every helper has: on a
        # busy machine a helper may first run after the caller took all the chunks, and
        # waiting for it to wake only to find nothing left cost a scheduler time slice per
        # region (2 threads ran 1.2x slower than 1 at a load of 1.5). A late helper exits
        # on its own; it never touches a chunk.
        _local.inside = True
        try:
            while not stop:
                i = next(order)
                if i >= n:
                    return
                helped[slot] = True
                begin = _cpu_time()
                chunk(i)
                helpers_cpu[slot] += _cpu_time() - begin
                done()
        finally:
            _local.inside = False

    with _lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max(_threads - 1, 1), thread_name_prefix="ember")
        pool = _pool
    for slot in range(1, workers):
        pool.submit(helper, slot)
    _local.inside = True
    try:
        while True:
            i = next(order)
            if i >= n:
                break
            chunk(i)
            if not stop and _stalled(_now() - start, _cpu_time() - start_cpu,
                                     sum(helpers_cpu)):
                stop.append(True)  # helpers take no more chunks; the caller does the rest
            done()
    finally:
        _local.inside = False
    all_done.wait()
    # a helper that woke after the caller had taken every chunk gave nothing, and it still
    # takes the GIL to exit, however late the OS runs it
    _note_region(bool(stop) or not all(helped[1:])
                 or _stalled(_now() - start, _cpu_time() - start_cpu, sum(helpers_cpu)))
    if errors:
        raise errors[0]


# Elementwise work smaller than this runs as one call: splitting it costs more than it saves.
PARALLEL_MIN_BYTES = 1 << 20


def elementwise(fn: Callable, out, *arrays, min_bytes: int = PARALLEL_MIN_BYTES):
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
