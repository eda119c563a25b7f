"""What runs inside a DataLoader worker process, and how its batches travel back.

Batches come back through shared memory: inside a worker, ``default_collate`` stacks large
tensors straight into a file under ``/dev/shm`` (one copy, the stack itself); the pickle that
crosses the queue carries only the file's name, and the main process maps the file and unlinks
it (no second copy; the memory is freed when the tensor dies). Small arrays are pickled inline.
Where ``/dev/shm`` is missing or full, arrays are pickled inline too.

The files live in one folder per iterator. If the main process dies without closing it (SIGKILL,
the out-of-memory killer), the folder and any batch still in flight would outlive it; a watchdog
thread in every worker notices that its parent is gone, removes the folder and ends the worker,
even while the worker's main thread is stuck inside the dataset.
"""

from __future__ import annotations

import mmap
import os
import queue
import random
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._errors import with_hint
from ..._tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info"]

# Arrays smaller than this are cheaper to pickle inline than to give their own file.
SHM_THRESHOLD = 32 * 1024
# How often a waiting worker checks that its parent is still alive.
_POLL_S = 1.0

_worker_info: WorkerInfo | None = None
_shm_dir: str | None = None
_shm_arrays: dict[int, tuple[np.ndarray, str]] = {}
_shm_counter = 0
_DTYPES = {d.name: d for d in D.ALL_DTYPES}


@dataclass(frozen=True)
class WorkerInfo:
    """Describes the current worker: ``id``, ``num_workers``, ``seed`` and its ``dataset`` copy."""

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __repr__(self) -> str:
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its ``WorkerInfo``; in the main process, ``None``.

    Example:
        >>> info = get_worker_info()
        >>> start = 0 if info is None else info.id   # split an IterableDataset per worker
    """
    return _worker_info


# -- shared memory ---------------------------------------------------------------------------

def _shared_empty(shape: tuple, np_dtype) -> np.ndarray | None:
    """An uninitialised array in shared memory (inside a worker), or None to use ordinary memory."""
    global _shm_counter
    if _shm_dir is None:
        return None
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(np_dtype).itemsize
    if nbytes < SHM_THRESHOLD:
        return None
    _shm_counter += 1
    path = os.path.join(_shm_dir, f"w{os.getpid()}-{_shm_counter}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # Reserve the pages now: a full /dev/shm then fails here with ENOSPC (and we fall back to
        # ordinary memory) instead of killing the worker with SIGBUS on first write.
        os.posix_fallocate(fd, 0, nbytes)
        mm = mmap.mmap(fd, nbytes)
    except OSError:
        os.close(fd)
        os.unlink(path)
        return None
    os.close(fd)
    arr = np.frombuffer(mm, np_dtype).reshape(shape)
    _shm_arrays[id(arr)] = (arr, path)
    return arr


def _rebuild_shared(path: str, shape: tuple, np_dtype: str, dtype_name: str,
                    requires_grad: bool) -> Tensor:
    fd = os.open(path, os.O_RDWR)
    try:
        nbytes = os.fstat(fd).st_size
        mm = mmap.mmap(fd, nbytes)
    finally:
        os.close(fd)
    os.unlink(path)  # the mapping stays valid; the pages go when the last tensor using them dies
    arr = np.frombuffer(mm, np.dtype(np_dtype)).reshape(shape)
    return Tensor._make(arr, _DTYPES[dtype_name], requires_grad)


def _rebuild_inline(arr: np.ndarray, dtype_name: str, requires_grad: bool) -> Tensor:
    return Tensor._make(arr, _DTYPES[dtype_name], requires_grad)


def _reduce_tensor(t: Tensor):
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                           "since autograd does not support crossing process boundaries.  If "
                           "you just want to transfer the data, call detach() on the tensor "
                           "before serializing (e.g., putting it on the queue).")
    arr = t._data
    if type(arr) is not np.ndarray:
        arr = np.asarray(arr.get()) if hasattr(arr, "get") else np.asarray(arr)
    entry = _shm_arrays.get(id(arr))
    if (entry is None or entry[0] is not arr) and _shm_dir is not None \
            and arr.nbytes >= SHM_THRESHOLD:
        shared = _shared_empty(arr.shape, arr.dtype)
        if shared is not None:
            np.copyto(shared, arr)
            arr = shared
            entry = _shm_arrays[id(arr)]
    if entry is not None and entry[0] is arr:
        return _rebuild_shared, (entry[1], arr.shape, arr.dtype.str, t.dtype.name,
                                 t.requires_grad)
    return _rebuild_inline, (arr, t.dtype.name, t.requires_grad)


# Tensors crossing a multiprocessing queue, or a spawned worker's arguments, use this reducer.
ForkingPickler.register(Tensor, _reduce_tensor)


def dumps(obj) -> bytes:
    """Pickle ``obj`` for the trip to the main process, then forget the worker's shm arrays."""
    try:
        return bytes(ForkingPickler.dumps(obj))
    finally:
        _shm_arrays.clear()


# -- messages ---------------------------------------------------------------------------------

class ExceptionWrapper:
    """An exception and its traceback text, carried from a worker to the main process."""

    def __init__(self, exc_info=None, where: str = "in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


class KeyErrorMessage(str):
    """A str whose repr is itself, so a KeyError shows its traceback text readably."""

    def __repr__(self):
        return self


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back as an ack."""

    seed: int | None = None


# -- fetching ---------------------------------------------------------------------------------

class MapDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.getitems = getattr(dataset, "__getitems__", None) if auto_collation else None

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        data = self.getitems(index) if self.getitems else [self.dataset[i] for i in index]
        return _collate_naming_indices(self.collate_fn, data, index)


class IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, batch_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in batch_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(batch_index)):
            raise StopIteration
        return self.collate_fn(data)


def _collate_naming_indices(collate_fn, data, index):
    from .collate import COLLATE_SHAPE_MESSAGE

    try:
        return collate_fn(data)
    except RuntimeError as e:
        if str(e).startswith(COLLATE_SHAPE_MESSAGE):  # torch's message stays; a note adds where
            with_hint(e, f"the batch held dataset indices {list(index)}; entry i is dataset "
                         f"index {list(index)}[i]")
        raise


def make_fetcher(is_iterable: bool, dataset, auto_collation, collate_fn, drop_last):
    cls = IterableDatasetFetcher if is_iterable else MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# -- the worker process -----------------------------------------------------------------------

def _seed_everything(seed: int, worker_id: int, base_seed: int) -> None:
    from ... import _random

    random.seed(seed)
    _random.manual_seed(seed)
    # NumPy's legacy RNG takes 32-bit words, hashed from (worker id, base seed) as PyTorch's
    # workers do (so np.random in a Dataset draws what it draws under PyTorch)
    ss = np.random.SeedSequence([worker_id, base_seed & 0xFFFF_FFFF, base_seed >> 32, 0])
    np.random.seed(ss.generate_state(4))


class _ParentWatchdog:
    """Says when the main process has gone (as torch's ManagerWatchdog).

    The worker's parent at start is the main process (fork, spawn) or a forkserver; when the
    parent dies the worker is re-parented and ``os.getppid()`` changes. With a forkserver, or a
    main process that died before the worker started, the main process is also probed by pid.
    """

    def __init__(self, main_pid: int):
        self.main_pid = main_pid
        self.parent_pid = os.getppid()

    def parent_gone(self) -> bool:
        if os.getppid() != self.parent_pid:
            return True
        if self.parent_pid == self.main_pid:
            return False
        try:
            os.kill(self.main_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False


def _remove_shm_dir(shm_dir: str | None) -> None:
    if shm_dir is not None:
        shutil.rmtree(shm_dir, ignore_errors=True)


def _watch_parent(watchdog: _ParentWatchdog, shm_dir: str | None) -> None:
    """Worker thread: once the parent is gone, remove the shared-memory folder and exit.

    The worker's main thread also notices between tasks; this thread covers a worker stuck in
    ``__getitem__`` (it would otherwise keep running, and keep its batches' files, for ever).
    """
    while not watchdog.parent_gone():
        time.sleep(_POLL_S)
    _remove_shm_dir(shm_dir)
    os._exit(0)


def worker_loop(is_iterable: bool, dataset, index_queue, data_queue, done_event,
                auto_collation: bool,
                collate_fn, drop_last: bool, base_seed: int, init_fn, worker_id: int,
                num_workers: int, shm_dir: str | None, parent_pid: int) -> None:
    """The body of one worker: take index batches, fetch and collate, send results back."""
    global _worker_info, _shm_dir
    _shm_dir = shm_dir
    watchdog = _ParentWatchdog(parent_pid)
    threading.Thread(target=_watch_parent, args=(watchdog, shm_dir), daemon=True,
                     name="ember-dataloader-watchdog").start()
    seed = base_seed + worker_id
    _seed_everything(seed, worker_id, base_seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_exception = None
    fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_exception = ExceptionWrapper(where=where)
    iteration_end = False
    orphaned = False
    try:
        while True:
            try:
                r = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if watchdog.parent_gone():  # orphaned: the main process is gone
                    orphaned = True
                    _remove_shm_dir(shm_dir)
                    break
                continue
            if r is None:
                break
            if isinstance(r, ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                try:
                    fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn,
                                           drop_last)
                except Exception:
                    init_exception = ExceptionWrapper(where=where)
                continue
            if iteration_end or done_event.is_set():
                continue
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not is_iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where=where)
            try:
                payload = dumps(data)
            except Exception:
                payload = dumps(ExceptionWrapper(where=f"while sending a batch {where}"))
            del data
            data_queue.put((idx, payload))
    except KeyboardInterrupt:
        pass
    if orphaned or done_event.is_set():
        # Shutting down: unread results are of no use, so do not wait to flush them.
        data_queue.cancel_join_thread()
        data_queue.close()
    else:
        # Stopped alone (its share of an iterable dataset is done) while the others go on:
        # flush what it sent before exiting. Exiting mid-write would cut a message short or
        # leave the queue's shared write lock held, and the other workers would then block
        # on it for ever (a hang seen in about 1 run in 100).
        data_queue.close()
        data_queue.join_thread()
