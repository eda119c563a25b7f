"""``spawn`` and ``start_processes``: run ``fn(i, *args)`` in ``nprocs`` new processes and
report the first failure in the parent, with the child's traceback text.

Each child writes its traceback to a file of its own (a pickled string) before exiting with
code 1; an empty file means the child died without a Python exception (a signal, ``os._exit``).
A file, not a queue, as in PyTorch: a one-shot message cannot deadlock on a full pipe.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import traceback
import warnings

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes"]


class ProcessException(Exception):
    """A child process of ``spawn`` failed; ``error_index`` and ``error_pid`` name it.

    Example:
        >>> err = ember.multiprocessing.ProcessException("failed", 1, 1234)
        >>> err.error_index, err.error_pid
        (1, 1234)
    """

    __slots__ = ["error_index", "error_pid"]

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A child process raised an exception; the message carries the child's traceback.

    Example:
        >>> issubclass(ember.multiprocessing.ProcessRaisedException, Exception)
        True
    """


class ProcessExitedException(ProcessException):
    """A child process ended with a non-zero exit code or a signal (``exit_code``,
    ``signal_name``) without raising a Python exception.

    Example:
        >>> ember.multiprocessing.ProcessExitedException("exit 3", 0, 1234, 3).exit_code
        3
    """

    __slots__ = ["exit_code"]

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code,
                            self.signal_name)


def _die_with_parent() -> None:
    # Linux's prctl(PR_SET_PDEATHSIG): a non-daemonic child gets SIGINT when its parent dies,
    # instead of running on as an orphan (PyTorch does the same in C++).
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, int(signal.SIGINT))
        except (OSError, AttributeError):
            pass


def _wrap(fn, i, args, error_file):
    _die_with_parent()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # SIGINT: the parent stopped us after another child failed
    except Exception:
        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes started by ``spawn(..., join=False)``: ``join()`` waits for them and
    raises the first failure; ``pids()`` lists their process ids.

    Example:
        >>> ctx = ember.multiprocessing.spawn(work, nprocs=2, join=False)  # doctest: +SKIP
        >>> while not ctx.join():
        ...     pass
    """

    def __init__(self, processes, error_files):
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {process.sentinel: index for index, process in enumerate(processes)}

    def pids(self) -> list:
        """The process ids of the children, in index order."""
        return [int(process.pid) for process in self.processes]

    def _join_all(self, timeout: float) -> None:
        for process in self.processes:
            process.join(timeout)

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until one ends) for the children. Returns True
        once all have ended successfully, False while some still run. When one has failed, the
        others get ``grace_period`` seconds, then SIGTERM, then SIGKILL, and the failure is
        raised: ``ProcessRaisedException`` with the child's traceback, or
        ``ProcessExitedException`` for an exit code or signal."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout)
        error_index = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return not self.sentinels
        self._stop_others(grace_period)
        raise self._failure(error_index)

    def _stop_others(self, grace_period: float | None) -> None:
        if grace_period is not None:
            self._join_all(grace_period)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        self._join_all(30 if grace_period is None else grace_period)
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()

    def _failure(self, index: int) -> ProcessException:
        process = self.processes[index]
        if not os.access(self.error_files[index], os.R_OK):
            code = process.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                return ProcessExitedException(f"process {index:d} terminated with signal {name}",
                                              error_index=index, error_pid=process.pid,
                                              exit_code=code, signal_name=name)
            return ProcessExitedException(f"process {index:d} terminated with exit code "
                                          f"{code:d}", error_index=index, error_pid=process.pid,
                                          exit_code=code)
        with open(self.error_files[index], "rb") as fh:
            original_trace = pickle.load(fh)
        os.unlink(self.error_files[index])
        msg = f"\n\n-- Process {index:d} terminated with the following error:\n{original_trace}"
        return ProcessRaisedException(msg, index, process.pid)


class SpawnContext(ProcessContext):
    """The old name of ``ProcessContext`` (deprecated; warns).

    Example:
        >>> issubclass(ember.multiprocessing.SpawnContext, ember.multiprocessing.ProcessContext)
        True
    """

    def __init__(self, processes, error_files):
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.",
                      stacklevel=2)
        super().__init__(processes, error_files)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``spawn`` with a choice of start method (``"spawn"``, ``"fork"``, ``"forkserver"``).

    Example:
        >>> ember.multiprocessing.start_processes(work, nprocs=2,
        ...                                       start_method="fork")  # doctest: +SKIP
    """
    mp = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        # a fresh name that does not exist yet: the child creates it only when it fails
        with tempfile.NamedTemporaryFile(prefix="ember-errorfile-", suffix=".pickle",
                                         delete=False) as tf:
            pass
        os.unlink(tf.name)
        process = mp.Process(target=_wrap, args=(fn, i, args, tf.name), daemon=daemon)
        process.start()
        processes.append(process)
        error_files.append(tf.name)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Start ``nprocs`` processes that each call ``fn(i, *args)`` (``i``: the process index)
    and, with ``join=True``, wait for all of them. A child's exception is raised in the parent
    as ``ProcessRaisedException`` carrying the child's traceback, after the other children are
    stopped; ``join=False`` returns a ``ProcessContext`` instead. ``fn`` must be importable
    (defined at the top level of a module), as the spawn start method requires.

    Example:
        >>> def work(i, n):  # in an importable module
        ...     print(i, n)
        >>> ember.multiprocessing.spawn(work, args=(10,), nprocs=2)  # doctest: +SKIP
    """
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t"
                      " torch.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
