"""Views of a tensor's storage and its layout: ``as_strided`` (and ``as_strided_``), ``set_``,
``is_set_to``, ``Tensor.storage()``, ``empty_permuted``, ``new_empty_strided``, ``dim_order``
and ``const_data_ptr``."""

from __future__ import annotations

import sys

import numpy as np

from ... import _dtype as D
from ..._backend import MetaArray, meta_array
from ..._storage import check_view_bounds
from ..._tensor import Tensor
from .._core import Op


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
        from ..._creation import zeros

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
    from ..._storage import UntypedStorage
    from ..inplace import check_inplace

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
    self._vbox[0] += 1
    return self


def _contiguous_strides(size) -> tuple:
    out, acc = [], 1
    for n in reversed(size):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both tensors view the same memory with the same shape and strides."""
    return (self.data_ptr() == tensor.data_ptr() and self.shape == tensor.shape
            and self.stride() == tensor.stride())


def _storage(self):
    """The tensor's storage (``TypedStorage``-like: ``size()``, ``tolist()``, ``data_ptr()``)."""
    from ..._storage import _warn_typed_storage_removal, typed_storage_of

    _warn_typed_storage_removal()  # once per process, as torch's Tensor.storage() does
    return typed_storage_of(self)


def as_strided_(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """``as_strided`` in place: ``input`` itself becomes the strided view of its storage.

    Example:
        >>> ember.as_strided_(ember.arange(6.), (2, 2), (1, 2))
        tensor([[0., 2.],
                [1., 3.]])
    """
    from ..inplace import check_inplace

    check_inplace(input)
    view = as_strided(input, size, stride, storage_offset)
    input._data = view._data
    input._vbox[0] += 1
    if view.grad_fn is not None:  # the tensor now stands where its view stood in the graph
        view.grad_fn._name = "AsStridedBackward1"  # torch's node for the in-place form
        input.grad_fn, input._output_nr = view.grad_fn, view._output_nr
        if input._base is not None:
            input._view_fn = view._view_fn
    return input


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of shape ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first): ``empty_permuted((2, 3), (1, 0))`` is column-major.

    Example:
        >>> ember.empty_permuted((2, 3, 4), (0, 2, 1)).stride()
        (12, 1, 3)
    """
    from ..._creation import empty

    size, order = tuple(int(n) for n in size), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError("Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    for i, d in enumerate(order):
        if not 0 <= d < len(size):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and "
                               f"{len(size) - 1}, but got {d} at index {i}).  NB: negative dims "
                               "not currently supported; file an issue if you want it.")
    if len(set(order)) != len(order):
        raise RuntimeError("Duplicate dim not allowed")
    phys = empty([size[d] for d in order], dtype=dtype, layout=layout, device=device,
                 pin_memory=pin_memory)
    out = Tensor._make(phys._data.transpose(tuple(np.argsort(order))), phys._dtype)
    return out.requires_grad_(requires_grad) if requires_grad else out


def new_empty_strided(self: Tensor, size, stride, *, dtype=None, layout=None, device=None,
                      requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``empty_strided`` with this tensor's dtype and device unless given, laid out with
    ``stride``.

    Example:
        >>> ember.ones(2, dtype=ember.float64).new_empty_strided((2, 3), (3, 1)).dtype
        torch.float64
    """
    from ..._creation import empty_strided

    return empty_strided(size, stride, dtype=dtype or self._dtype, device=device or self.device,
                         requires_grad=requires_grad)


def _packed(order, shape, strides) -> bool:
    """Whether the dims in ``order`` (outermost first) lie densely packed in memory."""
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def dim_order(self: Tensor, *, ambiguity_check=False) -> tuple:
    """The order of the dims from outermost to innermost in memory (torch's logical-to-physical
    permutation). ``ambiguity_check``: True (or a list of memory formats) raises where strides
    leave the order ambiguous.

    Example:
        >>> ember.ones(2, 3, 4).permute(2, 0, 1).dim_order()
        (1, 2, 0)
    """
    from ... import _dtype as formats_of

    if not isinstance(ambiguity_check, bool):
        if not isinstance(ambiguity_check, list) or not all(
                isinstance(f, formats_of.memory_format) for f in ambiguity_check):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory "
                            "formats.")
    shape, strides, n = tuple(self.shape), self.stride(), self.ndim
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    check = ambiguity_check if isinstance(ambiguity_check, bool) else True
    ambiguous = any(a == b for a, b in zip(strides, strides[1:])) or 1 in shape
    orders = {formats_of.contiguous_format: tuple(range(n)), formats_of.channels_last:
              (0, 2, 3, 1), formats_of.channels_last_3d: (0, 2, 3, 4, 1)}
    fits = sum(len(orders.get(f, ())) == n and _packed(orders[f], shape, strides)
               for f in formats)
    if check and ambiguous and fits != 1:
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact "
                           "one of the given memory formats.")
    if n < 2:
        return tuple(range(n))
    contiguous = _packed(range(n), shape, strides)
    channels_last = n == 4 and _packed((0, 2, 3, 1), shape, strides)
    if contiguous and not channels_last:
        return tuple(range(n))
    if channels_last and not contiguous:
        return (0, 2, 3, 1)
    from ..._layout import dims_by_stride

    return tuple(reversed(dims_by_stride(shape, strides)))


def const_data_ptr(self: Tensor) -> int:
    """The address of the first element, as ``data_ptr()`` (for read-only use).

    Example:
        >>> t = ember.ones(2)
        >>> t.const_data_ptr() == t.data_ptr()
        True
    """
    return self.data_ptr()


__all__ = ["as_strided", "as_strided_", "empty_permuted"]

TENSOR_METHODS = {
    "as_strided": as_strided, "set_": set_, "is_set_to": is_set_to, "storage": _storage,
    "as_strided_": as_strided_, "new_empty_strided": new_empty_strided, "dim_order": dim_order,
    "const_data_ptr": const_data_ptr,
}
