"""Minimal storages: what ``Tensor.untyped_storage()`` and ``Tensor.storage()`` return.

ember keeps data in NumPy (or CuPy) arrays; a storage here is the root array under a tensor's
views, seen as a flat buffer. Enough for the common uses: comparing ``data_ptr()`` to see
whether two tensors share memory, ``size()``/``nbytes()``, ``tolist()``.
"""

from __future__ import annotations

import numpy as np


def _root(arr):
    while isinstance(getattr(arr, "base", None), np.ndarray):
        arr = arr.base
    return arr


class UntypedStorage:
    """The bytes under a tensor (``torch.UntypedStorage``-like)."""

    def __init__(self, root, device):
        self._root = root
        self.device = device

    def data_ptr(self) -> int:
        r = self._root
        return r.__array_interface__["data"][0] if isinstance(r, np.ndarray) else int(r.data.ptr)

    def nbytes(self) -> int:
        return int(self._root.nbytes)

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def tolist(self) -> list:
        return np.frombuffer(np.ascontiguousarray(self._root).tobytes(), np.uint8).tolist()

    def __repr__(self):
        return f" {self.nbytes()} bytes\n[torch.storage.UntypedStorage(device={self.device}) " \
               f"of size {self.nbytes()}]"


class TypedStorage(UntypedStorage):
    """The elements under a tensor (``torch.TypedStorage``-like)."""

    def __init__(self, root, device, dtype):
        super().__init__(root, device)
        self.dtype = dtype

    def size(self) -> int:
        return int(self._root.size)

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._root, self.device)

    def tolist(self) -> list:
        from ._backend import to_numpy

        return to_numpy(self._root).reshape(-1).tolist()

    def __getitem__(self, i):
        return self.tolist()[i]

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) " \
               f"of size {self.size()}]"


def storage_of(t) -> UntypedStorage:
    return UntypedStorage(_root(t._data), t.device)


def typed_storage_of(t) -> TypedStorage:
    return TypedStorage(_root(t._data), t.device, t.dtype)


def check_view_bounds(size, stride, storage_offset: int, storage_numel: int,
                      itemsize: int) -> None:
    """The one bounds check for a strided view over a storage: checkpoint loads (zip, legacy,
    mmap), ``as_strided`` and ``set_`` all call it before a view is made, so no size, stride or
    offset from a file or a user can reach memory outside the storage.

    ``storage_numel`` is the storage's size in elements of ``itemsize`` bytes. Raises
    RuntimeError with PyTorch's messages; a view with no elements needs no storage.

    Example:
        >>> check_view_bounds((2, 3), (3, 1), 0, 6, 4)   # fits: returns None
    """
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    for v in (*size, *stride, storage_offset):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise RuntimeError(f"sizes, strides and the storage offset must be integers, got "
                               f"sizes {list(size)}, strides {list(stride)}, storage offset "
                               f"{storage_offset!r}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if storage_offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
    if 0 in size:
        return
    need = int(storage_offset) + 1 + sum((int(n) - 1) * int(s) for n, s in zip(size, stride))
    if need > storage_numel:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
            f"{storage_offset}, and itemsize {itemsize} requiring a storage size of "
            f"{need * itemsize} are out of bounds for storage of size {storage_numel * itemsize}")
