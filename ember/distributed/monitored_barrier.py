"""``monitored_barrier``: a barrier that names the processes that did not reach it in time.

As gloo does it: every other process sends rank 0 a message and waits for its answer; rank 0
waits for each of them (at most ``timeout``), raises a RuntimeError naming a process that did
not arrive, and otherwise answers all of them, so they all leave together or none does. Only
rank 0 enforces ``timeout`` (the others wait up to the process group's timeout), so the error
that names the missing rank comes from rank 0. The messages are MPI point-to-point ones, on
tags above the range user messages may use (0 to 32767), so they never meet a user's.
"""

from __future__ import annotations

import time
import warnings
from datetime import timedelta

import numpy as np

from . import _mpi
from .collectives import _group_for
from .process_group import Backend, _check_timeout, _world

_POLL_S = 0.0005


def _tags(comm) -> tuple[int, int]:
    """Two tags no user message can carry (user tags stop at 32767, see point_to_point)."""
    upper = comm.Get_attr(_mpi.mpi().TAG_UB) or 32767
    upper = int(upper)
    return (upper, upper - 1) if upper > 32769 else (32767, 32766)


def _wait_until(request, deadline: float) -> bool:
    """Test ``request`` until it completes (True) or ``deadline`` passes (False)."""
    while True:
        if request.Test():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def _cancel(request) -> None:
    try:
        request.Cancel()
        request.Wait()
    except Exception:  # noqa: BLE001 (MPI may refuse to cancel; nothing to undo then)
        pass


def _ms(timeout: timedelta) -> int:
    return int(timeout.total_seconds() * 1000)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """Like ``barrier``, but rank 0 raises a RuntimeError naming a process that did not reach
    the barrier within ``timeout`` (with ``wait_all_ranks=True``: every such process).

    A debugging aid (each call costs a message round trip per process through rank 0). PyTorch
    offers it with the gloo backend only; ember runs it on MPI for ``"gloo"`` and ``"mpi"``.

    Example:
        >>> from datetime import timedelta
        >>> dist.monitored_barrier(timeout=timedelta(seconds=30))
        >>> # if rank 1 never gets here, rank 0 raises:
        >>> # RuntimeError: [Rank 0]: Rank 1 failed to pass monitoredBarrier in 30000 ms
    """
    pg = _group_for(group, "monitored_barrier")
    if pg is None:
        return None
    if pg.name() not in (Backend.GLOO, Backend.MPI):
        raise ValueError("monitored_barrier is only implemented for GLOO backend.")
    if timeout is None:
        timeout = _world.timeout
    elif isinstance(timeout, float):
        warnings.warn("Please specify timeout arg as a timedelta. Converting current value of "
                      f"{timeout} assuming it represents seconds", stacklevel=2)
        timeout = timedelta(seconds=timeout)
    timeout = _check_timeout(timeout)
    comm, rank, size = pg._comm, pg.rank(), pg.size()
    if size == 1:
        return None
    arrive, leave = _tags(comm)
    token = np.array([rank], np.int64)
    if rank != 0:
        wait_for = _world.timeout.total_seconds()
        send = comm.Isend(token, dest=0, tag=arrive)
        answer = np.empty(1, np.int64)
        recv = comm.Irecv(answer, source=0, tag=leave)
        deadline = time.monotonic() + wait_for
        if not (_wait_until(send, deadline) and _wait_until(recv, deadline)):
            _cancel(recv)
            raise RuntimeError(
                f"Rank {rank} successfully reached monitoredBarrier, but received errors while "
                "waiting for send/recv from rank 0. Please check rank 0 logs for faulty rank.")
        return None

    limit = timeout.total_seconds()
    start = time.monotonic()
    inbox = [np.empty(1, np.int64) for _ in range(size)]
    receives = {peer: comm.Irecv(inbox[peer], source=peer, tag=arrive)
                for peer in range(1, size)}

    def wait_loop(requests: dict) -> None:
        processed, failed = [], []
        for peer, request in requests.items():
            elapsed = time.monotonic() - start
            if not wait_all_ranks and elapsed >= limit:
                text = f"Rank {rank} timed out in monitoredBarrier after {_ms(timeout)} ms."
                if processed:
                    text += ("\n Successfully processed ranks: "
                             + ", ".join(map(str, processed)))
                else:
                    text += "\n No ranks successfully processed in monitoredBarrier."
                _cancel_all(requests, processed)
                raise RuntimeError(text)
            # wait_all_ranks: each rank gets the whole timeout, as in gloo
            deadline = (time.monotonic() + limit) if wait_all_ranks else start + limit
            if _wait_until(request, deadline):
                processed.append(peer)
                continue
            if not wait_all_ranks:
                _cancel_all(requests, processed)
                raise RuntimeError(f"[Rank 0]: Rank {peer} failed to pass monitoredBarrier in "
                                   f"{_ms(timeout)} ms")
            failed.append(peer)
        if failed:
            _cancel_all(requests, processed)
            raise RuntimeError(f"[Rank 0]: Ranks {', '.join(map(str, failed))} failed to pass "
                               f"monitoredBarrier in {_ms(timeout)} ms")

    wait_loop(receives)
    # everyone arrived: answer them all, so all leave together
    sends = {peer: comm.Isend(token, dest=peer, tag=leave) for peer in range(1, size)}
    wait_loop(sends)
    return None


def _cancel_all(requests: dict, done: list) -> None:
    for peer, request in requests.items():
        if peer not in done:
            _cancel(request)
