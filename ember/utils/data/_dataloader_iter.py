"""The DataLoader's iterators: in the main process, or over a pool of worker processes.

What runs inside a worker (the loop sent to each process) lives in ``_worker``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import sys
import tempfile
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any

from . import _worker
from .sampler import _draw_seed

if TYPE_CHECKING:
    from .dataloader import DataLoader

# While waiting for a batch, how often the main process checks that its workers are alive.
_STATUS_CHECK_S = 0.2
# How long a stopping worker may take before it is terminated.
_JOIN_TIMEOUT_S = 5.0
# How long a terminated (SIGTERM) worker may take to exit before it is killed (SIGKILL): a
# worker stuck in a dataset that ignores SIGTERM must not hang the main process.
_KILL_AFTER_S = 2.0


class _BaseIter:
    def __init__(self, loader: DataLoader):
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._num_yielded = 0
        self._num_workers = loader.num_workers
        self._len_called = loader._IterableDataset_len_called
        # Drawn even without workers, as PyTorch does, so the stream of the default generator
        # (and so a later shuffle) does not depend on num_workers.
        self._base_seed = _draw_seed(loader.generator)
        self._sampler_iter = iter(self._index_sampler)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _count_yielded(self) -> None:
        """Count one more batch; warn when an IterableDataset outruns the len() it reported."""
        self._num_yielded += 1
        if (self._is_iterable and self._len_called is not None
                and self._num_yielded > self._len_called):
            message = (f"Length of IterableDataset {self._dataset} was reported to be "
                       f"{self._len_called}(when accessing len(dataloader)), but "
                       f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not "
                            "properly configuring the IterableDataset replica at each worker. "
                            "Please see https://pytorch.org/docs/stable/data.html#torch.utils"
                            ".data.IterableDataset for examples.")
            warnings.warn(message, stacklevel=3)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._is_iterable, self._dataset,
                                             self._auto_collation, self._collate_fn,
                                             self._drop_last)

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        data = self._fetcher.fetch(index)
        self._count_yielded()
        return data


class _WorkerPool:
    """The processes, queues and shared-memory folder of one iterator; closed exactly once."""

    def __init__(self):
        self.workers: list = []
        self.index_queues: list = []
        self.data_queue = None
        self.shm_dir: str | None = None
        self.stopped: list[bool] = []
        self.done_event = None
        self.closed = False

    def stop_worker(self, worker_id: int) -> None:
        if not self.stopped[worker_id]:
            self.stopped[worker_id] = True
            self.index_queues[worker_id].put(None)

    def close(self, fast: bool = False) -> None:
        """Stop the workers: ask them to exit, wait a moment (none if ``fast``), terminate."""
        if self.closed:
            return
        self.closed = True
        if self.done_event is not None:
            self.done_event.set()  # workers skip the tasks still queued for them
        for wid in range(len(self.workers)):
            try:
                self.stop_worker(wid)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (0.0 if fast else _JOIN_TIMEOUT_S)
        for w in self.workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
        deadline = time.monotonic() + _KILL_AFTER_S
        for w in self.workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.kill()  # ignored SIGTERM (a signal handler, or stuck in C code)
        for w in self.workers:
            w.join()
        for q in self.index_queues:
            q.cancel_join_thread()
            q.close()
        if self.data_queue is not None:
            self.data_queue.cancel_join_thread()
            self.data_queue.close()
        if self.shm_dir is not None:
            shutil.rmtree(self.shm_dir, ignore_errors=True)


def _shm_root() -> str | None:
    root = "/dev/shm"
    return root if os.path.isdir(root) and os.access(root, os.W_OK) else None


def _default_context():
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _MultiProcessingIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._shut = False
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = _default_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        loader.check_worker_number_rationality()
        pool = self._pool = _WorkerPool()
        # Closing the pool must not need `self`: it runs when the iterator is collected.
        self._finalizer = weakref.finalize(self, pool.close)
        root = _shm_root()
        if root is not None:
            pool.shm_dir = tempfile.mkdtemp(prefix=f"ember-dl-{os.getpid()}-", dir=root)
        pool.data_queue = ctx.Queue()
        pool.done_event = ctx.Event()
        for wid in range(self._num_workers):
            iq = ctx.Queue()
            iq.cancel_join_thread()
            w = ctx.Process(
                target=_worker.worker_loop,
                args=(self._is_iterable, self._dataset, iq, pool.data_queue, pool.done_event,
                      self._auto_collation, self._collate_fn, self._drop_last, self._base_seed,
                      loader.worker_init_fn, wid, self._num_workers, pool.shm_dir, os.getpid()),
                daemon=True)
            w.start()
            pool.index_queues.append(iq)
            pool.workers.append(w)
            pool.stopped.append(False)
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_called = loader._IterableDataset_len_called
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info: dict[int, tuple] = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: start a new epoch. Each worker answers once it has finished
            # its old tasks; anything that arrives before the answers is stale and dropped.
            for iq in self._pool.index_queues:
                iq.put(_worker.ResumeIteration())
            remaining = self._num_workers
            while remaining > 0:
                idx, _ = self._get_data()
                if isinstance(idx, _worker.ResumeIteration):
                    remaining -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._worker_cycle)
            if self._workers_status[wid]:
                break
        else:
            return
        self._pool.index_queues[wid].put((self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _check_workers(self) -> None:
        pool = self._pool
        for wid, w in enumerate(pool.workers):
            if not pool.stopped[wid] and w.exitcode is not None:
                code = w.exitcode
                if code < 0:
                    try:
                        name = signal.Signals(-code).name
                    except ValueError:
                        name = f"signal {-code}"
                    how = f"was killed by signal {name} ({-code})"
                    if -code == signal.SIGKILL:
                        how += (" - possibly by the out-of-memory killer; fewer workers or "
                                "smaller batches use less memory")
                else:
                    how = f"exited unexpectedly with exit code {code}"
                self._shutdown(fast=True)
                raise RuntimeError(
                    f"DataLoader worker {wid} (pid {w.pid}) {how}. Run with num_workers=0 to "
                    f"see the failure in the main process.")

    def _get_data(self):
        """The next (index, data) message from any worker, watching for dead workers."""
        start = time.monotonic()
        while True:
            wait = _STATUS_CHECK_S
            if self._timeout > 0:
                left = self._timeout - (time.monotonic() - start)
                if left <= 0:
                    self._shutdown(fast=True)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
                wait = min(wait, left)
            try:
                idx, payload = self._pool.data_queue.get(timeout=wait)
            except queue.Empty:
                self._check_workers()
                continue
            except (OSError, EOFError) as e:
                self._check_workers()
                raise RuntimeError(f"DataLoader lost the connection to its workers: {e}") from e
            return idx, (pickle.loads(payload) if isinstance(payload, bytes) else payload)

    def __next__(self) -> Any:
        if self._shut:
            raise StopIteration
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process(data)
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker.IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                if not self._persistent:
                    self._pool.stop_worker(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        self._count_yielded()
        return data

    def _shutdown(self, fast: bool = False) -> None:
        self._shut = True
        if self._finalizer.alive:
            self._finalizer.detach()
            self._pool.close(fast)

    def __del__(self):
        # Stop the workers as soon as the iterator is dropped (e.g. a `break` out of a loop).
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
