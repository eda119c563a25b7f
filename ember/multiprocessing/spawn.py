"""Run a function in several child processes and watch them: ``spawn``, ``start_processes`` and
the ``ProcessContext`` they return (``torch.multiprocessing.spawn``).

Child ``i`` calls ``fn(i, *args)``. When a child fails, the parent stops the others and raises:
``ProcessRaisedException`` (carrying the child's traceback) if the function raised, or
``ProcessExitedException`` if the child exited with a non-zero code or was killed by a signal.
A child reports its traceback by writing it to a per-child file the parent reads afterwards.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import time
import traceback
import warnings

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes"]

_log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal a child gets when its parent dies


# -- exceptions --------------------------------------------------------------------------------
class ProcessException(Exception):
    """Base class of the errors ``ProcessContext.join`` raises for a failed child.

    ``error_index`` is the child's index (the ``i`` passed to ``fn``) and ``error_pid`` its
    process id.

    Example:
        >>> from ember.multiprocessing.spawn import ProcessException
        >>> err = ProcessException("failed", 0, 1234)
        >>> err.error_index, err.error_pid
        (0, 1234)
    """

    __slots__ = ("error_index", "error_pid")

    def __init__(self, msg: str, error_index: int, error_pid: int):
        self.error_index, self.error_pid = error_index, error_pid
        self.msg = msg
        super().__init__(msg)

    def _constructor_args(self) -> tuple:
        return self.msg, self.error_index, self.error_pid

    def __reduce__(self):
        # Exception pickles only ``args``; rebuild from every constructor argument instead
        return type(self), self._constructor_args()


class ProcessRaisedException(ProcessException):
    """A child's function raised; the message holds the child's formatted traceback.

    Example:
        >>> err = ember.multiprocessing.ProcessRaisedException("Traceback ...", 1, 4321)
        >>> err.error_index
        1
    """


class ProcessExitedException(ProcessException):
    """A child exited with a non-zero code or was killed by a signal.

    ``exit_code`` is the process exit code (negative for a signal, as in ``multiprocessing``)
    and ``signal_name`` the signal's name (``"SIGTERM"``) or ``None``.

    Example:
        >>> err = ember.multiprocessing.ProcessExitedException(
        ...     "process 0 terminated with exit code 3", 0, 4321, 3)
        >>> err.exit_code, err.signal_name
        (3, None)
    """

    __slots__ = ("exit_code",)

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def _constructor_args(self) -> tuple:
        return (*super()._constructor_args(), self.exit_code, self.signal_name)


# -- the child side ----------------------------------------------------------------------------
def _die_with_parent() -> None:
    """Ask Linux to send this process SIGINT when its parent dies, so that non-daemonic children
    do not outlive a parent that was killed. Other systems have no such call; do nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _wrap(fn, i, args, error_file):
    """Entry point of child ``i`` (a module-level function, so ``spawn`` can pickle it)."""
    _die_with_parent()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent interrupted us (or died): exit quietly, it does the reporting
    except Exception:
        with open(error_file, "w", encoding="utf-8") as out:
            out.write(traceback.format_exc())
        sys.exit(1)


# -- the parent side ---------------------------------------------------------------------------
class ProcessContext:
    """Handle on the children started by :func:`start_processes` (returned when
    ``join=False``): their ``processes``, ``pids()`` and ``join()``.

    Example:
        >>> mp = ember.multiprocessing
        >>> ctx = mp.start_processes(work, nprocs=2, join=False)  # doctest: +SKIP
        >>> while not ctx.join():  # doctest: +SKIP
        ...     pass
    """

    def __init__(self, processes, error_files):
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {proc.sentinel: index for index, proc in enumerate(processes)}

    def pids(self) -> list:
        """Process ids of the children, in index order.

        Example:
            >>> ctx.pids()  # doctest: +SKIP
            [30412, 30413]
        """
        return [int(proc.pid) for proc in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (forever with ``None``) for children to finish.

        Returns True once every child has exited cleanly, False while some still run. When a
        child failed, the others are stopped (SIGTERM, then SIGKILL after ``grace_period``
        seconds when one is given) and ``ProcessRaisedException`` or
        ``ProcessExitedException`` is raised for the first failure seen.

        Example:
            >>> while not ctx.join(timeout=30):  # doctest: +SKIP
            ...     pass
        """
        if not self.sentinels:
            return True
        finished = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in finished:
            index = self.sentinels.pop(sentinel)
            child = self.processes[index]
            child.join()
            if child.exitcode != 0:
                failed = index
                break
        if failed is None:
            return not self.sentinels
        self._stop_remaining(grace_period)
        raise self._failure(failed)

    def _stop_remaining(self, grace_period: float | None) -> None:
        running = [proc for proc in self.processes if proc.is_alive()]
        for proc in running:
            _log.warning("Terminating process %s via signal SIGTERM", proc.pid)
            proc.terminate()
        if grace_period is not None:
            deadline = time.monotonic() + grace_period
            for proc in running:
                proc.join(max(0.0, deadline - time.monotonic()))
            for proc in running:
                if proc.is_alive():
                    _log.warning("Unable to shutdown process %s via SIGTERM, forcefully exiting "
                                 "via SIGKILL", proc.pid)
                    proc.kill()
        for proc in running:
            proc.join()  # their sentinels stay: a later join() reports how they ended

    def _failure(self, index: int) -> ProcessException:
        """The exception describing child ``index``'s failure (its error file read and removed)."""
        child = self.processes[index]
        report = self.error_files[index]
        if os.path.exists(report):
            with open(report, encoding="utf-8") as source:
                child_traceback = source.read()
            os.unlink(report)
            text = f"\n\n-- Process {index} terminated with the following error:\n"
            return ProcessRaisedException(text + child_traceback, index, child.pid)
        code = child.exitcode
        if code < 0:
            name = signal.Signals(-code).name
            return ProcessExitedException(f"process {index} terminated with signal {name}",
                                          index, child.pid, code, name)
        return ProcessExitedException(f"process {index} terminated with exit code {code}",
                                      index, child.pid, code)


class SpawnContext(ProcessContext):
    """The old name of :class:`ProcessContext`; warns when created.

    Example:
        >>> ctx = ember.multiprocessing.SpawnContext([], [])  # doctest: +SKIP
    """

    def __init__(self, processes, error_files):
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.",
                      stacklevel=2)
        super().__init__(processes, error_files)


def _fresh_error_file() -> str:
    # a unique path that does not exist yet: a child creates it only when its function raised
    handle, path = tempfile.mkstemp(prefix="ember-errorfile-", suffix=".txt")
    os.close(handle)
    os.unlink(path)
    return path


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Start ``nprocs`` processes with the given start method, child ``i`` running
    ``fn(i, *args)``.

    With ``join=True`` wait for all of them (raising if one fails) and return None; otherwise
    return the :class:`ProcessContext`.

    Example:
        >>> ember.multiprocessing.start_processes(train, args=(cfg,), nprocs=2,  # doctest: +SKIP
        ...                                       start_method="forkserver")
    """
    context = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for index in range(nprocs):
        report = _fresh_error_file()
        child = context.Process(target=_wrap, args=(fn, index, args, report), daemon=daemon)
        child.start()
        processes.append(child)
        error_files.append(report)
    watcher = ProcessContext(processes, error_files)
    if not join:
        return watcher
    while not watcher.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Start ``nprocs`` processes with the ``spawn`` method, child ``i`` running
    ``fn(i, *args)``; ``fn`` must be importable by name (defined at a module's top level).

    Waits for them unless ``join=False`` (then returns a :class:`ProcessContext`). If a child
    raises, the others are stopped and ``ProcessRaisedException`` carries its traceback.

    Example:
        >>> def train(rank, world_size):  # doctest: +SKIP
        ...     print(rank, world_size)
        >>> ember.multiprocessing.spawn(train, args=(2,), nprocs=2)  # doctest: +SKIP
    """
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t "
                      "torch.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method)
