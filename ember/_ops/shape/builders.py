"""Builders and views: ``broadcast_tensors``/``broadcast_shapes``, ``meshgrid``,
``cartesian_prod``, ``tril_indices``/``triu_indices``, ``block_diag``, ``vander``,
``as_strided``, ``sum_to_size``, the functional ``ember.dropout``.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .. import _dtype as D
from .. import _random
from .._backend import Device, MetaArray, meta_array, to_device_array
from .._storage import check_view_bounds
from .._tensor import Size, Tensor
from ._core import Op, unbroadcast
from ._core import broadcast_shapes as _broadcast


def _tensor_list(tensors, name: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor arguments, but got "
                            f"{type(t).__name__}")
    return list(tensors)


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of the given shapes broadcast to (ints count as 1-d shapes).

    Example:
        >>> ember.broadcast_shapes((2, 1), (3,))
        torch.Size([2, 3])
    """
    norm = []
    for s in shapes:
        if isinstance(s, (int, np.integer)):
            s = (int(s),)
        s = tuple(int(n) for n in s)
        if any(n < 0 for n in s):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(s)}: "
                               f"{list(s)}")
        norm.append(s)
    if not norm:
        return Size(())
    full = norm[0]
    for s in norm[1:]:
        full = _broadcast(full, s)
    return Size(full)


def broadcast_tensors(*tensors) -> tuple:
    """Expand all tensors to their common broadcast shape (views).

    Example:
        >>> a, b = ember.broadcast_tensors(ember.ones(2, 1), ember.ones(3))
        >>> a.shape, b.shape
        (torch.Size([2, 3]), torch.Size([2, 3]))
    """
    ts = _tensor_list(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(t.shape for t in ts))
    return tuple(t.expand(shape) for t in ts)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D (or 0-d) tensors: ``'ij'`` (matrix) or ``'xy'`` (Cartesian).

    Example:
        >>> gx, gy = ember.meshgrid(ember.arange(2), ember.arange(3), indexing="ij")
        >>> gx.shape
        torch.Size([2, 3])
    """
    ts = _tensor_list(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    if len({t.dtype for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if len({t.device for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same device")
    flat = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    n = len(flat)
    grids = [t.view(*[-1 if i == k else 1 for i in range(n)]).expand(shape)
             for k, t in enumerate(flat)]
    if swap:  # 'xy' is 'ij' on the first two inputs swapped, outputs swapped back
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the elements of 1-D tensors, one per row (``itertools.product``).

    Example:
        >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    from .joining import stack

    ts = _tensor_list(tensors, "cartesian_prod")
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def _tri_indices(row: int, col: int, offset: int, dtype, device, upper: bool) -> Tensor:
    dtype = D.int64 if dtype is None else D.to_dtype(dtype)
    if dtype not in (D.int64, D.int32):
        raise RuntimeError(f"\"{'triu' if upper else 'tril'}_indices\" not implemented for "
                           f"'{dtype}'")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    fn = np.triu_indices if upper else np.tril_indices
    r, c = fn(row, offset, col)
    out = np.stack([r, c]).astype(dtype.np_dtype) if row and col else \
        np.zeros((2, 0), dtype.np_dtype)
    dev = Device(device) if device is not None else Device("cpu")
    return Tensor._make(to_device_array(np.ascontiguousarray(out), dev), dtype)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor) of the lower triangle of a ``row`` x ``col``
    matrix, row by row. Example: ``ember.tril_indices(3, 3)``."""
    return _tri_indices(row, col, offset, dtype, device, upper=False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor) of the upper triangle, row by row."""
    return _tri_indices(row, col, offset, dtype, device, upper=True)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix from the given tensors (0-d and 1-d ones count as 1-row blocks).

    Example:
        >>> ember.block_diag(ember.ones(1, 2), ember.tensor([[3]]))
        tensor([[1., 1., 0.],
                [0., 0., 3.]])
    """
    from .joining import cat
    from .shaping import pad

    ts = _tensor_list(tensors, "block_diag")
    mats = []
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return Tensor._make(np.zeros((1, 0), np.float32), D.float32)
    dtype = mats[0]._dtype
    for m in mats[1:]:
        dtype = D.promote_types(dtype, m._dtype)
    total = sum(m.shape[1] for m in mats)
    rows, before = [], 0
    for m in mats:
        m = m.to(dtype)
        w = m.shape[1]
        rows.append(pad(m, (before, total - before - w)))
        before += w
    return cat(rows, 0)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns ``x**(N-1) ... x**0`` (reversed when
    ``increasing``). Example: ``ember.vander(ember.tensor([1, 2, 3]), N=3)``."""
    from .._creation import ones
    from .joining import cat

    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = x._dtype if (x._dtype.is_floating_point or x._dtype.is_complex) else D.int64
    x = x.to(dtype)
    if n == 0:
        return x.new_zeros((x.shape[0], 0))
    cols = ones(x.shape[0], 1, dtype=dtype, device=x.device)
    if n > 1:
        cols = cat([cols, x.unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1)
    return cols if increasing else cols.flip(1)


# -- as_strided and sum_to_size --------------------------------------------------------------

def _root(arr):
    root = arr
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    return root


def _element_index(arr, itemsize: int) -> np.ndarray:
    """Storage index (in elements) of every element of ``arr``."""
    root = _root(arr)
    offset = (arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]) \
        // itemsize if root is not arr else 0
    idx = np.full(arr.shape, offset, np.int64)
    for d, (n, s) in enumerate(zip(arr.shape, arr.strides)):
        shape = [1] * arr.ndim
        shape[d] = n
        idx = idx + (np.arange(n, dtype=np.int64) * (s // itemsize)).reshape(shape)
    return idx


def _flat_storage(x):
    """The storage under ``x`` as one flat buffer in memory order (its root array, viewed 1-D),
    so that offsets count from where ``storage_offset()`` counts."""
    root = _root(x) if isinstance(x, np.ndarray) else x
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return root.reshape(-1, order="A")  # a view: C or Fortran order is memory order
    raise RuntimeError("as_strided/set_: this tensor's storage is not one contiguous buffer "
                       "(a NumPy array that views other memory); call .contiguous() first")


class AsStrided(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, size, stride, storage_offset):
        t = ctx.inputs[0]
        item = t._dtype.itemsize
        if storage_offset is None:
            storage_offset = t.storage_offset()
        ctx.view_args = {"size": size, "stride": stride, "storage_offset": storage_offset}
        if isinstance(x, MetaArray):  # no memory: the storage is the tensor's own elements
            check_view_bounds(size, stride, storage_offset, x.size, item)
            return meta_array(size, x.dtype)
        flat = _flat_storage(x)
        avail = flat.nbytes // item  # the storage in this tensor's elements, whatever its dtype
        check_view_bounds(size, stride, storage_offset, avail, item)
        if ctx._record:
            ctx.in_index = _element_index(x, item)
            ctx.storage_size = avail
        start = min(storage_offset * item, flat.nbytes)  # an empty view may start past the end
        out = np.ndarray(size, x.dtype, buffer=flat, offset=start,
                         strides=tuple(s * item for s in stride)) \
            if isinstance(flat, np.ndarray) else \
            flat.__class__(size, x.dtype, flat.data + start,
                           strides=tuple(s * item for s in stride))  # CuPy
        if ctx._record:
            ctx.out_index = storage_offset + sum(
                (np.arange(n, dtype=np.int64) * s).reshape([-1 if i == d else 1
                                                            for i in range(len(size))])
                for d, (n, s) in enumerate(zip(size, stride))) if size else \
                np.array(storage_offset, np.int64)
        return out

    @staticmethod
    def backward(ctx, grad):
        # Scatter the gradient into a flat copy of the storage, then read the input's elements.
        from .._creation import zeros

        out_idx = Tensor._make(np.broadcast_to(ctx.out_index, grad.shape).reshape(-1).copy(),
                               D.int64)
        in_idx = Tensor._make(ctx.in_index, D.int64)
        flat = zeros(ctx.storage_size, dtype=grad.dtype, device=grad.device)
        flat = flat.index_add(0, out_idx.to(grad.device), grad.reshape(-1))
        return flat.take(in_idx.to(grad.device))


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes and strides (in elements).

    Example:
        >>> ember.arange(6.).as_strided((2, 2), (1, 2))
        tensor([[0., 2.],
                [1., 3.]])
    """
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if storage_offset is not None:
        storage_offset = int(storage_offset)
    check_view_bounds(size, stride, 0 if storage_offset is None else storage_offset,
                      sys.maxsize, input._dtype.itemsize)  # sign checks; bounds in forward
    return AsStrided.apply(input, size=size, stride=stride, storage_offset=storage_offset)


def set_(self: Tensor, source=None, storage_offset: int = 0, size=None, stride=None) -> Tensor:
    """Make ``self`` a view of another tensor's storage (``Tensor.set_``).

    ``set_()`` empties ``self``; ``set_(t)`` makes it share ``t``'s memory, size and strides;
    ``set_(storage_or_tensor, storage_offset, size, stride)`` makes it a strided view of that
    storage, bounds-checked like ``as_strided`` (PyTorch would grow a resizable storage; ember's
    storages are fixed, so a view past the end raises).

    Example:
        >>> a, b = ember.zeros(2), ember.arange(4.)
        >>> a.set_(b.untyped_storage(), 1, (2,), (1,))
        tensor([1., 2.])
    """
    from .._storage import UntypedStorage
    from .inplace import check_inplace

    check_inplace(self)
    np_dt = self._data.dtype
    item = self._dtype.itemsize
    if source is None:
        data = np.empty(0, np_dt) if isinstance(self._data, np.ndarray) else \
            self._data.ravel()[:0]  # CuPy: an empty array on the same device
    elif isinstance(source, Tensor) and size is None and stride is None and not storage_offset:
        if source._dtype is not self._dtype:
            raise RuntimeError(f"Expected object of scalar type {self._dtype} but got scalar "
                               f"type {source._dtype} for argument 'source'")
        data = source._data
    else:
        if isinstance(source, Tensor):
            if source._dtype is not self._dtype:
                raise RuntimeError(f"Expected object of scalar type {self._dtype} but got "
                                   f"scalar type {source._dtype} for argument 'source'")
            root = _root(source._data)
        elif isinstance(source, UntypedStorage):
            root = source._root
        else:
            raise TypeError(f"set_(): source must be a Tensor or a storage, not "
                            f"{type(source).__name__}")
        if isinstance(root, MetaArray):
            raise NotImplementedError("set_ on meta storages is not supported")
        flat = _flat_storage(root)
        avail = flat.nbytes // item
        size = (avail,) if size is None else tuple(int(v) for v in size)
        stride = _contiguous_strides(size) if stride is None else tuple(int(v) for v in stride)
        storage_offset = int(storage_offset)
        check_view_bounds(size, stride, storage_offset, avail, item)
        data = np.ndarray(size, np_dt, buffer=flat, offset=storage_offset * item,
                          strides=tuple(v * item for v in stride))
    self._data = data
    self._version[0] += 1
    return self


def _contiguous_strides(size) -> tuple:
    out, acc = [], 1
    for n in reversed(size):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum ``self`` down to ``size`` (which must broadcast to ``self``'s shape).

    Example:
        >>> ember.ones(2, 3).sum_to_size(1, 3)
        tensor([[2., 2., 2.]])
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    shape = tuple(self.shape)
    ok = len(size) <= len(shape) and all(
        s == t or s == 1 for s, t in zip(reversed(size), reversed(shape)))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    return unbroadcast(self, size)


def dropout(input: Tensor, p: float = 0.5, train: bool = True) -> Tensor:
    """``torch.dropout``: the functional form of ``nn.functional.dropout`` (ATen's argument
    names). Example: ``ember.dropout(x, 0.5, train=True)``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        mask = np.zeros(input._data.shape, dt)
    else:
        keep = _random._gen(None).random(input._data.shape) >= p
        mask = keep.astype(dt) * dt.type(1.0 / (1.0 - p))
    return input * Tensor._make(to_device_array(mask, input.device), input._dtype)


def dropout_(input: Tensor, p: float = 0.5, train: bool = True) -> Tensor:
    """In-place :func:`ember.dropout`: zeroes elements of ``input`` with probability ``p`` (when
    ``train``) and scales the rest by ``1 / (1 - p)``.
    """
    from .inplace import apply_inplace

    return apply_inplace(input, dropout(input, p, train), "dropout_")


__all__ = ["broadcast_shapes", "broadcast_tensors", "meshgrid", "cartesian_prod",
           "tril_indices", "triu_indices", "block_diag", "vander", "as_strided", "dropout",
           "dropout_"]

TENSOR_METHODS = {"as_strided": as_strided, "sum_to_size": sum_to_size, "set_": set_}
