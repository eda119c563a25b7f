"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Example:
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, num_workers=2)
    >>> for xb, yb in loader: ...
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
from collections.abc import Callable, Iterable
from typing import Any

from . import _worker
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _draw_seed

__all__ = ["DataLoader"]

# While waiting for a batch, how often the main process checks that its workers are alive.
_STATUS_CHECK_S = 0.2
# How long a stopping worker may take before it is terminated.
_JOIN_TIMEOUT_S = 5.0


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides the order)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches, optionally shuffled and loaded by worker processes.

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch (``None`` turns batching off). Default 1.
        shuffle: reshuffle every epoch (draws from ``generator`` or ember's default generator).
        sampler, batch_sampler: custom index orders (exclusive with shuffle / batch_size).
        num_workers: worker processes (0 loads in the main process).
        collate_fn: merges a list of samples into a batch (``default_collate``).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers (0 waits forever).
        worker_init_fn: called as ``fn(worker_id)`` in each worker after seeding.
        generator: draws the shuffle order and the workers' base seed.
        prefetch_factor: batches each worker loads ahead (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.

    Example:
        >>> loader = DataLoader(TensorDataset(ember.arange(10)), batch_size=4)
        >>> [b[0].tolist() for b in loader]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)

        if self._is_iterable:
            if isinstance(shuffle, bool) and shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        """An iterator over batches (persistent workers are reused across epochs)."""
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None or self._iterator._shut:
                self._iterator = _MultiProcessingIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _MultiProcessingIter(self)

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                from math import ceil

                length = length // self.batch_size if self.drop_last else ceil(
                    length / self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Warn when more workers are asked for than this machine has CPUs."""
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if cpus and self.num_workers > cpus:
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                          f"total. Our suggested max number of worker in current system is "
                          f"{cpus}, which is smaller than what this DataLoader is going to "
                          f"create. Please be aware that excessive worker creation might get "
                          f"DataLoader running slow or even freeze, lower the worker number to "
                          f"avoid potential slowness/freeze if necessary.", stacklevel=3)


class _BaseIter:
    def __init__(self, loader: DataLoader):
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._num_yielded = 0
        # Drawn even without workers, as PyTorch does, so the stream of the default generator
        # (and so a later shuffle) does not depend on num_workers.
        self._base_seed = _draw_seed(loader.generator)
        self._sampler_iter = iter(self._index_sampler)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._is_iterable, self._dataset,
                                             self._auto_collation, self._collate_fn,
                                             self._drop_last)

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        data = self._fetcher.fetch(index)
        self._num_yielded += 1
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
        self._num_yielded += 1
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
