"""A tensor's memory as MPI reads and writes it.

A contiguous CPU tensor hands MPI its own NumPy array: no copy, the collective works in place.
Everything else goes through a contiguous host copy that is written back when the operation
completes: a non-contiguous view (as gloo does, so the view's elements, and only they, change),
a CUDA tensor (ember's MPI is not CUDA-aware), and bfloat16 where MPI must do arithmetic
(MPI has no bfloat16 type: the values are reduced in float32 and rounded once).
"""

from __future__ import annotations

import numpy as np

from .._backend import CPU, MetaArray, to_device_array
from .._tensor import Tensor


def check_tensor(t, name: str) -> None:
    """PyTorch's TypeError for a non-tensor argument; a clear error for meta tensors."""
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(t)} instead.")
    if isinstance(t._data, MetaArray):
        raise RuntimeError(f"`{name}` is a meta tensor, which has no data to communicate; "
                           "create it on 'cpu' (or 'cuda')")


def check_tensor_list(ts, name: str) -> None:
    if not isinstance(ts, list):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(ts)} instead.")
    if not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(ts)} with elements of "
                        f"type {[type(t) for t in ts]}.")
    for t in ts:
        check_tensor(t, name)


def _is_bfloat16(t: Tensor) -> bool:
    return t._dtype.name == "bfloat16"


class Buffer:
    """What MPI reads from or writes into for tensor ``t``: ``array`` (contiguous, host), and
    ``finish()`` to run when the operation is done (copy back, bump the version)."""

    __slots__ = ("tensor", "array", "staged", "written")

    def __init__(self, t: Tensor, *, arithmetic: bool = False, write: bool = True,
                 read: bool = True):
        data = t._data
        self.tensor = t
        self.written = write
        if type(data) is np.ndarray and data.flags.c_contiguous \
                and not (arithmetic and _is_bfloat16(t)):
            self.array = data
            self.staged = False
        else:
            host = to_device_array(data, CPU) if read else np.empty(data.shape, data.dtype)
            if arithmetic and _is_bfloat16(t):
                host = host.astype(np.float32)
            self.array = np.ascontiguousarray(host)
            self.staged = True
        if not arithmetic and _is_bfloat16(t):
            self.array = self.array.view(np.uint16)  # moved as bits

    def finish(self) -> None:
        if not self.written:
            return
        t = self.tensor
        if self.staged:
            array = self.array
            if _is_bfloat16(t):
                array = array.astype(t._dtype.np_dtype) if array.dtype == np.float32 \
                    else array.view(t._dtype.np_dtype)
            if type(t._data) is np.ndarray:
                np.copyto(t._data, array.reshape(t._data.shape))
            else:
                t._data[...] = to_device_array(array.reshape(t._data.shape), t.device)
        t._vbox[0] += 1
