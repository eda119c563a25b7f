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
