"""DataLoader worker faults with real processes: a worker deaf to SIGTERM, a main process killed.

Each case runs in a fresh Python subprocess, so a regression shows as a subprocess timeout (a
hang) or leftover files, never as a hung test session. Timeouts are wide: they bound a hang,
they do not measure speed.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="needs fork, signals and /dev/shm")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATASETS = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    from ember.utils.data import DataLoader, Dataset

    class Deaf(Dataset):
        '''Samples from `hang_from` on ignore SIGTERM and never return.'''

        def __init__(self, n, hang_from):
            self.n, self.hang_from = n, hang_from

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            if i >= self.hang_from:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                while True:
                    time.sleep(1000)
            return np.full((64, 64), i, np.float32)   # 16 KiB: a batch of 4 goes through shm
""")


def run_script(body, timeout=120):
    """Run ``body`` in a new session; on a hang, kill the whole group (workers included)."""
    code = DATASETS + textwrap.dedent(body)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the DataLoader script hung for {timeout} s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_timeout_with_worker_ignoring_sigterm_raises_and_returns():
    # Before the fix the timeout error was raised only after terminate() + an unbounded join,
    # so the main process hung for ever on a worker that ignores SIGTERM.
    proc = run_script("""
        loader = DataLoader(Deaf(8, hang_from=0), batch_size=2, num_workers=2, timeout=1)
        try:
            next(iter(loader))
        except RuntimeError as e:
            print("ERR", type(e).__name__, e)
        import multiprocessing
        print("CHILDREN", len(multiprocessing.active_children()))
    """)
    assert proc.returncode == 0, proc.stderr
    assert "ERR RuntimeError DataLoader timed out after 1 seconds" in proc.stdout
    assert "CHILDREN 0" in proc.stdout


def test_timeout_message_matches_torch():
    torch = pytest.importorskip("torch")
    del torch
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import time
        import torch
        from torch.utils.data import DataLoader, Dataset
        class Slow(Dataset):
            def __len__(self): return 2
            def __getitem__(self, i):
                time.sleep(30)
                return i
        try:
            next(iter(DataLoader(Slow(), num_workers=1, timeout=1)))
        except RuntimeError as e:
            print("ERR", type(e).__name__, e)
    """)], capture_output=True, text=True, timeout=120)
    assert "ERR RuntimeError DataLoader timed out after 1 seconds" in proc.stdout, proc.stderr


def test_deaf_worker_stopped_when_the_loader_is_dropped():
    # An early `break` (the iterator collected) must not wait for ever on a deaf worker either.
    proc = run_script("""
        import multiprocessing
        it = iter(DataLoader(Deaf(40, hang_from=2), batch_size=1, num_workers=2))
        print(next(it).shape)
        del it
        print("CHILDREN", len(multiprocessing.active_children()))
    """)
    assert proc.returncode == 0, proc.stderr
    assert "CHILDREN 0" in proc.stdout


def _shm_entries(pid):
    return [f for f in os.listdir("/dev/shm") if f.startswith(f"ember-dl-{pid}-")]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] not in "ZX"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_main_process_sigkilled_leaves_no_shared_memory_and_no_workers():
    # Batches 1-3 sit in the results queue (their files in /dev/shm) when the main process is
    # killed; one worker is stuck in __getitem__, deaf to SIGTERM, and can only be cleaned up
    # by its watchdog thread.
    script = DATASETS + textwrap.dedent("""
        it = iter(DataLoader(Deaf(40, hang_from=16), batch_size=4, num_workers=2,
                             prefetch_factor=2))
        next(it)
        time.sleep(0.5)
        print("PIDS", *[w.pid for w in it._pool.workers], flush=True)
        while True:
            time.sleep(1000)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PIDS"), proc.stderr.read() if proc.poll() is not None else line
        workers = [int(p) for p in line.split()[1:]]
        files = [e for d in _shm_entries(proc.pid)
                 for e in os.listdir(os.path.join("/dev/shm", d))]
        assert files, "expected batches in flight through /dev/shm before the kill"
    finally:
        proc.kill()
        proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while (_shm_entries(proc.pid) or any(map(_alive, workers))) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = _shm_entries(proc.pid)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave a failed run's workers behind
        os.kill(pid, signal.SIGKILL)
    for d in leftovers:
        shutil.rmtree(os.path.join("/dev/shm", d), ignore_errors=True)
    assert leftovers == []
    assert survivors == []
