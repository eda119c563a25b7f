"""ember's thread pool on a busy machine: a region whose threads lose (the caller waits off its
core for a helper, or a helper wakes too late to help) finishes in the caller alone, and the
regions after it run serially for a while. Every check drives the mechanism directly (fake
clocks, a helper that holds the GIL while it sleeps); none depends on how fast anything ran."""

import ctypes
import itertools
import threading

import numpy as np
import pytest

from ember import _threads

needs_pool = pytest.mark.skipif(_threads.num_threads() < 2, reason="one thread: no pool")


@pytest.fixture
def fresh_backoff(monkeypatch):
    """Start from no backoff; monkeypatch puts the module's state back afterwards."""
    monkeypatch.setattr(_threads, "_serial_until", float("-inf"))
    monkeypatch.setattr(_threads, "_backoff", _threads._BACKOFF_MIN)


def test_stall_rule_compares_the_callers_lost_time_with_the_helpers_work():
    slack = _threads.STALL_SLACK
    # caller on its core the whole time: never a loss, however long
    assert not _threads._stalled(5.0, 5.0, 0.0)
    # off its core 3 ms while helpers computed 4 ms: threads still gained
    assert not _threads._stalled(0.010, 0.007, 0.004)
    # off its core 20 ms for 0.5 ms of helper work (a preempted helper held the GIL)
    assert _threads._stalled(0.0215, 0.0015, 0.0005)
    # the slack: a loss must exceed the helpers' work by more than STALL_SLACK
    assert not _threads._stalled(0.001 + slack / 2, 0.001, 0.0)
    assert _threads._stalled(0.001 + 2 * slack, 0.001, 0.0)


def test_backoff_doubles_on_losses_and_shrinks_on_gains(monkeypatch, fresh_backoff):
    clock = [100.0]
    monkeypatch.setattr(_threads, "_now", lambda: clock[0])
    lo, hi = _threads._BACKOFF_MIN, _threads._BACKOFF_MAX
    _threads._note_region(True)
    assert _threads._serial_until == pytest.approx(100.0 + lo)
    assert _threads._backoff == pytest.approx(2 * lo)
    for _ in range(20):
        _threads._note_region(True)
    assert _threads._backoff == hi  # capped: threads are tried again at least once a second
    assert _threads._serial_until == pytest.approx(100.0 + hi)
    _threads._note_region(False)
    assert _threads._backoff == pytest.approx(0.9 * hi)
    for _ in range(200):
        _threads._note_region(False)
    assert _threads._backoff == lo


@needs_pool
def test_regions_run_serially_while_backing_off(monkeypatch, fresh_backoff):
    clock = [50.0]
    monkeypatch.setattr(_threads, "_now", lambda: clock[0])
    parallel = []
    real = _threads._run_parallel

    def spy(fn, bounds, *args):
        parallel.append(len(bounds))
        real(fn, bounds, *args)

    monkeypatch.setattr(_threads, "_run_parallel", spy)
    monkeypatch.setattr(_threads, "_note_region", lambda lost: None)  # the clock is frozen
    stops = []
    monkeypatch.setattr(_threads, "_blas_shutdown", lambda: stops.append(1))
    caller = threading.get_ident()
    threads, seen, blas_threads = set(), [], set()
    before = None if _threads._blas_get is None else _threads._blas_get()

    def fn(lo, hi):
        threads.add(threading.get_ident())
        seen.append(lo)
        if before is not None:
            blas_threads.add(_threads._blas_get())

    monkeypatch.setattr(_threads, "_serial_until", 50.5)  # as after a loss at t=50
    for blas in (False, True):
        blas_threads.clear()
        _threads.run_chunks(fn, [(i, i + 1) for i in range(16)], blas=blas)
        assert parallel == [] and threads == {caller}
        assert seen == list(range(16))  # in order, in the caller
        seen.clear()
        if before is not None:
            # BLAS chunks run with OpenBLAS at one thread (its threads would lose too);
            # its pool is not stopped, and the count comes back after the region
            assert blas_threads == ({1} if blas else {before})
            assert stops == [] and _threads._blas_get() == before
    clock[0] = 50.6  # the backoff is over: threads are tried again
    _threads.run_chunks(fn, [(i, i + 1) for i in range(16)], blas=False)
    assert parallel == [16] and sorted(seen) == list(range(16))


@needs_pool
def test_caller_stops_the_helpers_once_it_has_lost_more_than_they_gave(monkeypatch,
                                                                        fresh_backoff):
    # Fake clocks: no thread ever gets CPU time and every reading of the wall clock is a
    # second later, so after its first chunk the caller has been off its core for a second
    # while the helpers computed nothing.
    ticks = itertools.count()
    monkeypatch.setattr(_threads, "_now", lambda: float(next(ticks)))
    monkeypatch.setattr(_threads, "_cpu_time", lambda: 0.0)
    lost = []
    monkeypatch.setattr(_threads, "_note_region", lost.append)
    caller = threading.get_ident()
    release = threading.Event()  # set by the caller's second chunk, after its first check
    by_thread: dict = {}
    lock = threading.Lock()
    n = 40

    def fn(lo, hi):
        me = threading.get_ident()
        with lock:
            by_thread.setdefault(me, []).append(lo)
            mine = len(by_thread[me])
        if me != caller:
            release.wait(10)  # a helper's chunk ends only after the caller has stopped it
        elif mine == 2:
            release.set()
        else:
            threading.Event().wait(0.001)  # without the stop, a helper would take chunks now

    _threads.run_chunks(fn, [(i, i + 1) for i in range(n)], blas=False)
    release.set()
    done = sorted(itertools.chain.from_iterable(by_thread.values()))
    assert done == list(range(n))  # every chunk once
    helpers = [v for k, v in by_thread.items() if k != caller]
    # each helper finishes the chunk it had, then takes none: the caller did the rest
    assert all(len(v) <= 1 for v in helpers)
    assert len(by_thread[caller]) >= n - (_threads.num_threads() - 1)
    assert lost == [True]


def _gil_holding_sleep():
    """libc's usleep called with the GIL held (ctypes.PyDLL keeps it), as a helper the OS
    preempts while it holds the GIL; None where libc cannot be loaded that way."""
    try:
        usleep = ctypes.PyDLL(None).usleep
    except (OSError, AttributeError):
        return None
    usleep.argtypes = [ctypes.c_uint]
    return usleep


@needs_pool
def test_a_helper_holding_the_gil_off_its_core_makes_the_next_regions_serial(monkeypatch,
                                                                            fresh_backoff):
    usleep = _gil_holding_sleep()
    if usleep is None:
        pytest.skip("no libc usleep to hold the GIL with")
    lost = []
    real_note = _threads._note_region

    def note(flag):
        lost.append(flag)
        real_note(flag)

    monkeypatch.setattr(_threads, "_note_region", note)
    monkeypatch.setattr(_threads, "_backoff", 3600.0)  # a loss makes the next hour serial
    caller = threading.get_ident()
    slept = []
    out = np.zeros(32)

    def fn(lo, hi):
        if threading.get_ident() != caller and not slept:
            slept.append(True)
            usleep(200_000)  # 0.2 s with the GIL held and no CPU used
        out[lo:hi] += 1

    _threads.run_chunks(fn, [(i, i + 1) for i in range(32)], blas=False)
    np.testing.assert_array_equal(out, 1)
    # whether the helper woke in time to take a chunk (and held the GIL) or too late to
    # take any, the region lost
    assert lost == [True]
    threads = set()

    def where(lo, hi):
        threads.add(threading.get_ident())

    _threads.run_chunks(where, [(i, i + 1) for i in range(32)], blas=False)
    assert threads == {caller} and lost == [True]  # serial: no region was even tried


@needs_pool
@pytest.mark.skipif(_threads._blas_get is None, reason="OpenBLAS not found")
def test_time_spent_stopping_openblas_counts_against_the_region(monkeypatch, fresh_backoff):
    # stopping OpenBLAS's pool joins its threads, which on a busy machine waits for them to
    # be run: a region that waited a second for that (with no CPU used) lost
    clock = [10.0]
    monkeypatch.setattr(_threads, "_now", lambda: clock[0])
    monkeypatch.setattr(_threads, "_cpu_time", lambda: 0.0)
    monkeypatch.setattr(_threads, "_alone", lambda: True)
    monkeypatch.setattr(_threads, "_blas_shutdown", lambda: clock.__setitem__(0, clock[0] + 1))
    lost = []
    monkeypatch.setattr(_threads, "_note_region", lost.append)
    seen = []
    _threads.run_chunks(lambda lo, hi: seen.append(lo), [(i, i + 1) for i in range(4)])
    assert sorted(seen) == [0, 1, 2, 3] and lost == [True]
