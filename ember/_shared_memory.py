"""Shared-memory storages: what ``Tensor.share_memory_()`` and ``Module.share_memory()`` do.

A shared storage is a file under ``/dev/shm`` mapped ``MAP_SHARED``; the tensor's root array
(the storage, see ``_storage.py``) is rebuilt over that mapping with the same shape and strides,
and every tensor and storage object viewing the old root is rebound to the same offsets in the
new one, so views stay views. Children started with ``fork`` inherit the mapping; children
started with ``spawn``/``forkserver`` receive a shared tensor by name (PyTorch's ``file_system``
strategy) through the reduction registered here with ``multiprocessing``'s ``ForkingPickler``,
and unshared tensors keep travelling as copies.

Lifetime: the creating process owns the file. It unlinks it when the storage dies (a weakref
finalizer on the mapping) or at exit; a process that opened it keeps its mapping after the
unlink. The name is also registered with ``multiprocessing``'s resource tracker, which removes
the file if the creator is killed before it could. A process that receives a tensor by name
after its creator dropped the storage cannot open it (PyTorch's refcounting manager would keep
it): keep the shared tensors alive in the parent while children start, as Hogwild programs do.
"""

from __future__ import annotations

import gc
import itertools
import mmap
import os
import secrets
import sys
import tempfile
import weakref

import numpy as np

from ._backend import MetaArray
from ._storage import UntypedStorage, _root
from ._tensor import Tensor

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_counter = itertools.count()
# name -> root array, so that several tensors received by one process from the same segment
# are views of one storage there, as they were in the sender.
_opened: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class _Segment(mmap.mmap):
    """A mapping of one shared file; the ``base`` of a shared root array (through a
    memoryview) is one of these, which is how ``is_shared()`` recognises shared storage."""

    name: str


def segment_of(root):
    """The ``_Segment`` under a root array, or None when the root is ordinary memory."""
    base = getattr(root, "base", None)
    if isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, _Segment) else None


def _unlink(path: str, name: str, owner: int) -> None:
    # A forked child inherits this finalizer: only the creating process removes the file.
    if os.getpid() != owner:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    if _SHM_DIR == "/dev/shm":
        try:
            from multiprocessing import resource_tracker

            resource_tracker.unregister("/" + name, "shared_memory")
        except Exception:  # the tracker is a safety net for crashes, not needed for correctness
            pass


def _map(path: str, nbytes: int) -> _Segment:
    fd = os.open(path, os.O_RDWR)
    try:
        return _Segment(fd, nbytes)
    finally:
        os.close(fd)  # the mapping stays valid without the descriptor


def _create(nbytes: int) -> _Segment:
    name = f"ember_{os.getpid()}_{next(_counter)}_{secrets.token_hex(4)}"
    path = os.path.join(_SHM_DIR, name)
    size = max(nbytes, 1)  # mmap refuses length 0; an empty tensor still gets a segment
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    if _SHM_DIR == "/dev/shm":
        from multiprocessing import resource_tracker

        resource_tracker.register("/" + name, "shared_memory")
    seg = _map(path, size)
    seg.name = name
    weakref.finalize(seg, _unlink, path, name, os.getpid())
    return seg


def _rebind(arr, old, new):
    """``arr`` (a view of root ``old``) as the same view of root ``new``."""
    if arr is old:
        return new
    offset = arr.__array_interface__["data"][0] - old.__array_interface__["data"][0]
    return np.ndarray(arr.shape, arr.dtype, buffer=new, offset=offset, strides=arr.strides)


def _move(root):
    """A copy of root array ``root`` in a new shared segment, with its shape and strides."""
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise RuntimeError("share_memory_: this storage is not one contiguous buffer")
    seg = _create(root.nbytes)
    new = np.ndarray(root.shape, root.dtype, buffer=seg, strides=root.strides)
    new[...] = root
    return new


def _check_device(data) -> bool:
    """True for CPU data to move; False for CUDA (shared by IPC already, as in PyTorch)."""
    if isinstance(data, MetaArray):
        raise RuntimeError("_share_fd_: only available on CPU")
    return isinstance(data, np.ndarray)


def share(objs) -> None:
    """Move the storages under ``objs`` (tensors and storages) into shared memory, rebinding
    every tensor and storage object that views them."""
    moving = {}
    for obj in objs:
        data = obj._root if isinstance(obj, UntypedStorage) else obj._data
        if not _check_device(data):
            continue
        root = _root(data)
        if segment_of(root) is None:
            moving[id(root)] = root
    if not moving:
        return
    del root, data  # the refcount test below counts references to the roots
    new = {key: _move(r) for key, r in moving.items()}
    # Tensors and storages we were not given may view these roots too (t[1:] made before
    # t.share_memory_()); each such view holds a reference to its root, so a root referenced
    # by more than `moving`, the getrefcount argument and the given objects sends us through
    # the heap once to find them. A fresh parameter never takes that slow path.
    objs = list(objs)
    arrays, holders = {}, {}
    for obj in objs:
        d = obj._root if isinstance(obj, UntypedStorage) else obj._data
        if isinstance(d, np.ndarray) and id(_root(d)) in moving:
            arrays[id(d)] = d
            holders[id(d)] = holders.get(id(d), 0) + 1
    del d
    extra = 0
    for key in moving:  # refs: `moving`, getrefcount's argument, the given arrays over it
        expected = 2 + sum(1 for k in arrays if k != key and arrays[k].base is moving[key])
        if key in arrays:
            expected += 1 + holders[key]
        extra += sys.getrefcount(moving[key]) - expected
    for key in arrays:
        if key not in moving:
            extra += sys.getrefcount(arrays[key]) - 2 - holders[key]
    candidates = gc.get_objects() if extra > 0 else objs
    for obj in candidates:
        if isinstance(obj, Tensor):
            data = getattr(obj, "_data", None)
            if isinstance(data, np.ndarray):
                key = id(_root(data))
                if key in moving:
                    obj._data = _rebind(data, moving[key], new[key])
        elif isinstance(obj, UntypedStorage):
            data = obj._root
            if isinstance(data, np.ndarray):
                key = id(_root(data))
                if key in moving:
                    obj._root = _rebind(data, moving[key], new[key])


def is_shared_data(data) -> bool:
    if isinstance(data, MetaArray):
        return False
    if not isinstance(data, np.ndarray):
        return True  # CUDA memory is shared through IPC handles, as PyTorch reports
    return segment_of(_root(data)) is not None


# -- sending shared tensors to spawned processes ---------------------------------------------

_NON_LEAF = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
             "autograd does not support crossing process boundaries.  If you just want to "
             "transfer the data, call detach() on the tensor before serializing (e.g., putting "
             "it on the queue).")


def _reduce(t: Tensor):
    data = t._data
    root = _root(data) if isinstance(data, np.ndarray) else None
    seg = segment_of(root) if root is not None else None
    if seg is None:
        return t.__reduce_ex__(4)  # unshared: a copy, as before
    if t._requires_grad and not t.is_leaf:
        raise RuntimeError(_NON_LEAF)
    offset = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return (_rebuild, (seg.name, len(seg), root.dtype.str, root.shape, root.strides, offset,
                       data.shape, data.strides, t._dtype, t._requires_grad))


def _rebuild(name, nbytes, np_dtype, root_shape, root_strides, offset, shape, strides, dtype,
             requires_grad):
    root = _opened.get(name)
    if root is None:
        seg = _map(os.path.join(_SHM_DIR, name), nbytes)
        seg.name = name
        root = np.ndarray(root_shape, np.dtype(np_dtype), buffer=seg, strides=root_strides)
        _opened[name] = root
    data = np.ndarray(shape, root.dtype, buffer=root, offset=offset, strides=strides)
    return Tensor._make(data, dtype, requires_grad)


def _register() -> None:
    from multiprocessing.reduction import ForkingPickler

    # By exact type: Parameter reduces to (Parameter, its detach()), whose Tensor lands here.
    ForkingPickler.register(Tensor, _reduce)


_register()
