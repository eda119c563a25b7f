"""Sparse COO tensors: ``ember.sparse_coo_tensor``, ``Tensor.to_sparse`` and the tensor class.

A sparse tensor is a ``SparseTensor`` (a ``Tensor`` subclass, so ``isinstance(s, ember.Tensor)``
holds) whose ``_data`` is a ``CooData``: the ``(sparse_dim, nnz)`` int64 indices, the
``(nnz, *dense_shape)`` values, the size and the coalesced flag. Dense tensors are untouched:
no dense op checks for sparse operands. A dense op that meets a sparse tensor anyway finds a
``CooData`` where it expects an array, and every array protocol of ``CooData`` (NumPy
functions, ufuncs, attributes, operators) raises ``NotImplementedError`` naming
``.to_dense()``. The sparse operations themselves (products, sums, add, transpose, softmax)
live in ``_sparse_ops``; their kernels in ``_sparse_kernels``.

Example:
    >>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
    >>> s = ember.sparse_coo_tensor(i, ember.tensor([3.0, 4.0, 5.0]), (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
"""

from __future__ import annotations

import operator

import numpy as np

from . import _dtype as D
from . import _sparse_kernels as K
from ._backend import CPU, Device
from ._layout import sparse_coo, sparse_csc, sparse_csr
from ._payloads import refuse_array_operators
from ._tensor import Tensor
from .autograd import anomaly, grad_mode
from .autograd.graph import Node, _sequence, edge_of

__all__ = ["sparse_coo_tensor"]

_state = grad_mode._state


class SparseLayoutError(NotImplementedError, AttributeError):
    """An operation that ember has no sparse COO implementation of (also an AttributeError,
    so that ``hasattr`` probes of a sparse tensor's data answer False)."""


def unsupported(what: str) -> SparseLayoutError:
    return SparseLayoutError(
        f"{what} is not supported for sparse COO tensors (layout=torch.sparse_coo) in ember; "
        "convert with .to_dense() first, or use the sparse operations (torch.sparse.mm, "
        "torch.sparse.sum, sparse + sparse, sparse * scalar, .t(), .coalesce())")


class CooData:
    """The payload of a sparse COO tensor (``SparseTensor._data``): indices, values, size and
    whether the entries are coalesced. It answers ``shape``/``ndim``/``size``/``dtype`` as an
    array does, so shape queries on the tensor work; any other array use raises."""

    __slots__ = ("indices", "values", "shape", "coalesced", "_plans")

    def __init__(self, indices, values, shape, coalesced: bool):
        self.indices = indices
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.coalesced = bool(coalesced)
        self._plans = {}

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[1])

    @property
    def sparse_dim(self) -> int:
        return int(self.indices.shape[0])

    def copy(self) -> CooData:
        return CooData(self.indices.copy(), self.values.copy(), self.shape, self.coalesced)

    # -- cached index structure (depends on the indices only, never on the values) ---------
    def plan(self) -> K.CoalescePlan:
        plan = self._plans.get("coalesce")
        if plan is None:
            plan = self._plans["coalesce"] = K.CoalescePlan(
                self.indices, self.shape[:self.sparse_dim])
        return plan

    def coalesced_arrays(self):
        """(indices, values) in coalesced form (the values are reduced on each call)."""
        if self.coalesced:
            return self.indices, self.values
        plan = self.plan()
        return plan.indices, plan.values(self.values)

    def row_plan(self) -> K.RowPlan:
        """The coalesced entries grouped by row, for ``S @ X`` (2-D)."""
        plan = self._plans.get("rows")
        if plan is None:
            idx = self.coalesced_arrays()[0]
            plan = self._plans["rows"] = K.RowPlan(idx[0], idx[1])
        return plan

    def col_plan(self) -> K.RowPlan:
        """The coalesced entries grouped by column, for ``S.T @ G`` (2-D)."""
        plan = self._plans.get("cols")
        if plan is None:
            rows, cols = self.coalesced_arrays()[0]
            order = np.argsort(cols, kind="stable")
            plan = self._plans["cols"] = K.RowPlan(cols[order], rows[order], order)
        return plan

    # -- every other array use is an error naming .to_dense() -------------------------------
    def __array__(self, dtype=None, copy=None):
        raise unsupported("Converting to a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        # dense + sparse: how a dense .grad accumulates a sparse gradient (grad += g)
        if (ufunc is np.add and method == "__call__" and len(inputs) == 2 and not kwargs
                and inputs[1] is self and isinstance(inputs[0], np.ndarray)
                and tuple(inputs[0].shape) == self.shape):
            dense = K.to_dense(self.indices, self.values, self.shape, self.plan())
            return np.add(inputs[0], dense, out=out)
        # NaN/inf checks (detect_anomaly's) answer on the stored values
        if ufunc in (np.isnan, np.isinf, np.isfinite) and method == "__call__" and out is None:
            return ufunc(self.values)
        name = getattr(ufunc, "__name__", ufunc)
        raise unsupported(f"This operation (NumPy's {name} on the data)")

    @property
    def strides(self):
        # A dense gradient of a sparse leaf (torch.mm's) is stored as a contiguous dense array
        # (AccumulateGrad compares strides and allocates with empty_like).
        from ._tensor import _contiguous_strides

        item = self.values.dtype.itemsize
        return tuple(s * item for s in _contiguous_strides(self.shape))

    def __array_function__(self, func, types, args, kwargs):
        if func is np.empty_like and args and args[0] is self:
            dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
            return np.empty(self.shape, dtype if dtype is not None else self.values.dtype)
        name = getattr(func, "__name__", func)
        raise unsupported(f"This operation (NumPy's {name} on the data)")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(f"The array attribute '{name}'")

    def __iadd__(self, other):
        # sparse .grad += sparse gradient (AccumulateGrad); a new payload, never in place
        if isinstance(other, CooData) and other.shape == self.shape:
            from ._sparse_ops import add_payloads

            return add_payloads(self, other, 1)
        raise unsupported("Adding a dense gradient into a sparse .grad in place")

    def __repr__(self):
        return f"CooData(nnz={self.nnz}, shape={self.shape}, coalesced={self.coalesced})"


refuse_array_operators(CooData, lambda name: unsupported(f"The operator {name}"))


# -- the autograd node of sparse operations ----------------------------------------------------

class SparseFunction(Node):
    """A recorded sparse operation: ``forward(ctx, *args)`` works on tensors (sparse or dense)
    with grad mode off and returns one tensor; ``backward(ctx, grad)`` returns one gradient
    per argument. Gradients for a sparse input may be sparse or dense, as in PyTorch."""

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = object.__new__(cls._node_cls)  # named as PyTorch names it (Node.__init_subclass__)
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _state.enabled and any(needs)
        ctx._record = record
        prev = _state.enabled
        _state.enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            _state.enabled = prev
        if record and out._dtype.category >= D._FLOAT:
            ctx.next_functions = tuple(edge_of(a) if isinstance(a, Tensor) else (None, 0)
                                       for a in args)
            ctx.needs_input_grad = needs
            ctx._seq = next(_sequence)
            if anomaly._enabled[0]:
                anomaly.record_trace(ctx)
            out._requires_grad = True
            out.grad_fn = ctx
            out._output_nr = 0
        return out


def make_sparse(indices, values, shape, coalesced, dtype=None) -> SparseTensor:
    """Wrap arrays as a sparse tensor (internal: no checks, no copies)."""
    if dtype is None:
        dtype = D.from_numpy_dtype(values.dtype)
    return SparseTensor._make(CooData(indices, values, shape, coalesced), dtype)


def dense_tensor(arr, dtype=None) -> Tensor:
    if isinstance(arr, np.generic) or not isinstance(arr, np.ndarray):
        arr = np.asarray(arr)
    return Tensor._make(arr, dtype if dtype is not None else D.from_numpy_dtype(arr.dtype))


# -- the tensor class --------------------------------------------------------------------------

class SparseCopies:
    """``detach``, ``.data`` and ``deepcopy`` for the sparse layouts' tensor classes (COO
    here, CSR/CSC in ``_sparse_compressed``), which hold a layout object as ``_data`` (with a
    ``copy()``) instead of an array. ``_data_refusal`` names what ``.data =`` refuses, and
    ``_unsupported`` makes the layout's error for it."""

    __slots__ = ()
    _data_refusal = "Assigning a tensor of another layout to .data"
    _unsupported = staticmethod(lambda what: unsupported(what))  # the layout's own error

    def detach(self):
        return type(self)._make(self._data, self._dtype)

    @property
    def data(self):
        return type(self)._make(self._data, self._dtype)

    @data.setter
    def data(self, value):
        if not isinstance(value, type(self)):
            raise self._unsupported(self._data_refusal)
        self._data = value._data
        self._dtype = value._dtype

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)._make(self._data.copy(), self._dtype)
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new


class SparseTensor(SparseCopies, Tensor):
    """A sparse COO tensor, as ``ember.sparse_coo_tensor`` and ``Tensor.to_sparse`` make it.

    It holds ``indices()`` (``sparse_dim x nnz``, int64) and ``values()`` (``nnz x
    dense_shape``); ``layout`` is ``ember.sparse_coo`` and ``is_sparse`` is True. Supported:
    ``to_dense``, ``coalesce``, products with dense matrices (``torch.sparse.mm``,
    ``torch.mm``, ``@``) with gradients, ``+``/``-`` of sparse tensors, ``*``/``/`` by scalars,
    ``t()``/``transpose``, ``torch.sparse.sum``/``softmax``, ``to(dtype/device)``. Other ops
    raise ``NotImplementedError`` naming ``.to_dense()``.

    Example:
        >>> s = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
        >>> (s @ ember.ones(2, 1)).flatten()
        tensor([2., 3.])
    """

    __slots__ = ()
    _data_refusal = "Assigning dense .data to a sparse tensor"

    # -- what kind of tensor this is --------------------------------------------------------
    @property
    def layout(self):
        return sparse_coo

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def is_sparse_csr(self) -> bool:
        return False

    @property
    def device(self) -> Device:
        return CPU

    def is_contiguous(self, memory_format=None) -> bool:
        return False

    def _nnz(self) -> int:
        """The number of stored entries (duplicates counted until ``coalesce()``)."""
        return self._data.nnz

    def sparse_dim(self) -> int:
        """How many leading dims the indices address."""
        return self._data.sparse_dim

    def dense_dim(self) -> int:
        """How many trailing dims each stored value has."""
        return self._data.ndim - self._data.sparse_dim

    def is_coalesced(self) -> bool:
        """Whether the entries are sorted and free of duplicate indices."""
        return self._data.coalesced

    def _indices(self) -> Tensor:
        """The stored indices as they are (coalesced or not); not differentiable."""
        return dense_tensor(self._data.indices, D.int64)

    def _values(self) -> Tensor:
        """The stored values as they are (coalesced or not); not differentiable."""
        return dense_tensor(self._data.values, self._dtype)

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (``coalesce()`` first otherwise)."""
        if not self._data.coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self) -> Tensor:
        """The values of a coalesced tensor, with gradients back to it."""
        from ._sparse_ops import Values

        if not self._data.coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return Values.apply(self)

    def coalesce(self) -> SparseTensor:
        """Sort the entries and sum duplicates (returns ``self`` when already coalesced)."""
        from ._sparse_ops import Coalesce

        if self._data.coalesced:
            return self
        return Coalesce.apply(self)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (duplicates summed)."""
        from ._sparse_ops import ToDense

        return ToDense.apply(self, D.to_dtype(dtype) if dtype is not None else None,
                             masked_grad is not False)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """Already sparse: returns ``self`` (``layout=torch.sparse_csr``/``csc``: converted)."""
        if layout in (sparse_csr, sparse_csc):
            from ._sparse_compressed import to_compressed

            return to_compressed(self, layout, blocksize, dense_dim)
        _check_sparse_layout(layout, blocksize)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(
                "to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                "!=self.sparse_dim() is not supported")
        return self

    to_sparse_coo = to_sparse

    def to_sparse_csr(self, dense_dim=None):
        """The sparse CSR form (see ``_sparse_compressed``)."""
        from ._sparse_compressed import _to_sparse_csr

        return _to_sparse_csr(self, dense_dim)

    def to_sparse_csc(self):
        """The sparse CSC form (see ``_sparse_compressed``)."""
        from ._sparse_compressed import _to_sparse_csc

        return _to_sparse_csc(self)

    # -- autograd and copies ----------------------------------------------------------------
    def clone(self, *, memory_format=None) -> SparseTensor:
        from ._sparse_ops import Clone

        return Clone.apply(self)

    def __reduce_ex__(self, protocol):
        if not self.is_leaf:
            raise RuntimeError(
                "Can't pickle a tensor that is part of a graph (it has a grad_fn); pickle "
                "t.detach() instead")
        return (_rebuild_sparse_tensor,
                (sparse_coo, (self._indices(), self._values(), self.shape,
                              self._data.coalesced)))

    # -- dtype and device -------------------------------------------------------------------
    def to(self, *args, **kwargs) -> SparseTensor:
        """Convert dtype and/or device (CPU only for sparse tensors)."""
        from ._ops.conversion import _parse_to
        from ._sparse_ops import Cast

        device, dtype, copy = _parse_to(args, dict(kwargs))
        if device is not None and device.type != "cpu":
            if device.type == "cuda":
                from ._backend import _require_cuda

                _require_cuda(device)  # no GPU: the same error as a dense tensor's
            raise NotImplementedError(
                f"Sparse COO tensors are CPU-only in ember (asked for device '{device}'); "
                "keep the sparse tensor on the CPU, or move adj.to_dense() instead")
        out = self
        if dtype is not None and dtype is not self._dtype:
            out = Cast.apply(self, dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self, memory_format=None) -> SparseTensor:
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to(Device(device or "cuda") if not isinstance(device, int)
                       else f"cuda:{device}")

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return f"torch.sparse.{self._dtype._legacy}"
        return self.to(D.to_dtype(dtype))

    def type_as(self, other) -> SparseTensor:
        return self.to(other.dtype)

    def float(self, memory_format=None):
        return self.to(D.float32)

    def double(self, memory_format=None):
        return self.to(D.float64)

    def half(self, memory_format=None):
        return self.to(D.float16)

    def bfloat16(self, memory_format=None):
        return self.to(D.bfloat16)

    def long(self, memory_format=None):
        return self.to(D.int64)

    def int(self, memory_format=None):
        return self.to(D.int32)

    def bool(self, memory_format=None):
        return self.to(D.bool)

    # -- conversions that a sparse tensor refuses -------------------------------------------
    def numpy(self, *, force: bool = False):
        raise TypeError(
            "can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype=None, copy=None):
        return self.numpy()

    def tolist(self):
        raise unsupported("tolist()")

    def item(self):
        raise unsupported("item()")

    def stride(self, dim=None):
        raise unsupported("stride()")

    def __repr__(self, *, tensor_contents=None) -> str:
        return sparse_repr(self)

    def __format__(self, spec):
        return object.__format__(repr(self), spec) if spec else repr(self)

    # -- math (see _sparse_ops) -------------------------------------------------------------
    def mm(self, mat2):
        from ._sparse_ops import mm

        return mm(self, mat2)

    def matmul(self, other):
        from ._sparse_ops import matmul

        return matmul(self, other)

    def mv(self, vec):
        from ._sparse_ops import mv

        return mv(self, vec)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        from ._sparse_ops import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        from ._sparse_ops import matmul

        return matmul(other, self)

    def add(self, other, *, alpha=1):
        from ._sparse_ops import add

        return add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        from ._sparse_ops import add

        return add(self, other, alpha=-alpha, name="SubBackward0")

    def __add__(self, other):
        return self.add(other)

    def __radd__(self, other):
        from ._sparse_ops import add

        return add(other, self)

    def __sub__(self, other):
        return self.sub(other)

    def __rsub__(self, other):
        from ._sparse_ops import add

        return add(other, self, alpha=-1, name="SubBackward0")

    def mul(self, other):
        from ._sparse_ops import scale

        return scale(self, other, "mul")

    def div(self, other):
        from ._sparse_ops import scale

        return scale(self, other, "div")

    def neg(self):
        from ._sparse_ops import scale

        return scale(self, -1, "neg")

    __mul__ = __rmul__ = multiply = mul
    __truediv__ = divide = true_divide = div
    __neg__ = negative = neg

    def __pos__(self):
        return self

    def _in_place(self, payload):
        if self._requires_grad and _state.enabled:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
                if self.grad_fn is None else
                "in-place operations on sparse tensors that require grad are not supported in "
                "ember; use the out-of-place form")
        self._data = payload
        self._vbox[0] += 1
        return self

    def add_(self, other, *, alpha=1):
        from ._sparse_ops import add_payloads

        if not isinstance(other, SparseTensor) or tuple(other.shape) != tuple(self.shape):
            raise unsupported("add_ with an operand that is not a sparse tensor of the same size")
        payload = add_payloads(self._data, other._data, alpha)
        payload.values = payload.values.astype(self._data.values.dtype, copy=False)
        return self._in_place(payload)

    def sub_(self, other, *, alpha=1):
        return self.add_(other, alpha=-alpha)

    def _scale_(self, other, kind):
        with grad_mode.no_grad():
            out = self.mul(other) if kind == "mul" else self.div(other)
        if out._dtype is not self._dtype:
            raise RuntimeError(f"result type {out._dtype} can't be cast to the desired output "
                               f"type {self._dtype}")
        coo = out._data  # PyTorch's in-place scaling leaves the tensor flagged uncoalesced
        return self._in_place(CooData(coo.indices, coo.values, coo.shape, False))

    def mul_(self, other):
        return self._scale_(other, "mul")

    def div_(self, other):
        return self._scale_(other, "div")

    def zero_(self):
        coo = self._data
        return self._in_place(CooData(np.zeros((coo.sparse_dim, 0), np.int64),
                                      np.zeros((0,) + coo.shape[coo.sparse_dim:], coo.dtype),
                                      coo.shape, True))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def abs(self):
        """``|s|`` entry-wise (coalesced first), a sparse tensor.

        Example:
            >>> ember.tensor([0.0, -2.0]).to_sparse().abs().to_dense()
            tensor([0., 2.])
        """
        from ._sparse_ops import values_map

        return values_map(self, "abs")

    def sqrt(self):
        """``sqrt`` of each entry (coalesced first), a sparse tensor.

        Example:
            >>> ember.tensor([0.0, 4.0]).to_sparse().sqrt().to_dense()
            tensor([0., 2.])
        """
        from ._sparse_ops import values_map

        return values_map(self, "sqrt")

    def pow(self, exponent):
        """Each entry to a nonzero power ``exponent`` (coalesced first), a sparse tensor.

        Example:
            >>> ember.tensor([0.0, 3.0]).to_sparse().pow(2).to_dense()
            tensor([0., 9.])
        """
        from ._sparse_ops import values_map

        return values_map(self, "pow", exponent)

    def __pow__(self, exponent):
        return self.pow(exponent)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The p-norm of all entries (duplicates summed first), a dense 0-d tensor.

        Example:
            >>> ember.tensor([[0.0, 3.0], [4.0, 0.0]]).to_sparse().norm()
            tensor(5.)
        """
        from ._sparse_ops import sparse_norm

        return sparse_norm(self, p, dim, keepdim, dtype)

    def index_select(self, dim, index):
        """Entries along sparse ``dim`` at ``index``, in PyTorch's order (for each position of
        ``index``, its entries in storage order).

        Example:
            >>> s = ember.tensor([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]]).to_sparse()
            >>> s.index_select(0, ember.tensor([2, 0])).to_dense()
            tensor([[0., 3.],
                    [0., 1.]])
        """
        from ._sparse_ops import index_select

        return index_select(self, dim, index)

    def select(self, dim, index):
        """The slice at ``index`` of sparse ``dim``, that dim removed (``s[i]`` for dim 0).

        Example:
            >>> s = ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
            >>> s.select(0, 1).to_dense()
            tensor([2., 0.])
        """
        from ._sparse_ops import index_select

        if isinstance(index, Tensor):
            index = index.item()
        return index_select(self, dim, operator.index(index), squeeze=True)

    def __getitem__(self, key):
        # PyTorch's sparse COO indexing supports an integer (select on dim 0) only
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.select(0, int(key))
        raise unsupported("Indexing other than by one integer")

    def t(self):
        """Transpose a 2-D sparse tensor (a 1-D one is returned as is)."""
        from ._sparse_ops import transpose

        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        return self if self.ndim < 2 else transpose(self, 0, 1, "TBackward0")

    def transpose(self, dim0, dim1):
        from ._sparse_ops import transpose

        return transpose(self, dim0, dim1, "TransposeBackward0")

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        from ._sparse_ops import sparse_sum

        if keepdim:
            raise unsupported("sum(keepdim=True)")
        return sparse_sum(self, dim, dtype=dtype, method=True)

    def narrow_copy(self, dim, start, length):
        """A copy of the entries in ``start <= index < start + length`` along ``dim``.

        Example:
            >>> s = ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
            >>> s.narrow_copy(1, 1, 1).to_dense()
            tensor([[1.],
                    [0.]])
        """
        from ._sparse_ops import narrow_copy

        return narrow_copy(self, dim, start, length)

    def sparse_resize_(self, size, sparse_dim, dense_dim):
        """Resize in place to ``size`` with ``sparse_dim`` sparse and ``dense_dim`` dense dims
        (a tensor with entries may only grow).

        Example:
            >>> s = ember.tensor([[0.0, 1.0]]).to_sparse()
            >>> s.sparse_resize_((2, 3), 2, 0).shape
            torch.Size([2, 3])
        """
        from ._sparse_ops import sparse_resize_

        return sparse_resize_(self, size, sparse_dim, dense_dim)

    def sparse_resize_and_clear_(self, size, sparse_dim, dense_dim):
        """Make this an empty sparse tensor of ``size`` in place.

        Example:
            >>> s = ember.tensor([[0.0, 1.0]]).to_sparse()
            >>> s.sparse_resize_and_clear_((1, 1), 2, 0)._nnz()
            0
        """
        from ._sparse_ops import sparse_resize_and_clear_

        return sparse_resize_and_clear_(self, size, sparse_dim, dense_dim)

    def smm(self, mat):
        """``torch.smm(self, mat)``: a sparse result of the product with a dense matrix.

        Example:
            >>> s = ember.tensor([[0.0, 2.0]]).to_sparse()
            >>> s.smm(ember.ones(2, 1)).to_dense()
            tensor([[2.]])
        """
        from ._sparse_ops import smm

        return smm(self, mat)

    def sspaddmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``torch.sspaddmm(self, mat1, mat2)``: ``beta * self + alpha * mat1 @ mat2``, sparse.

        Example:
            >>> s = ember.tensor([[0.0, 2.0]]).to_sparse()
            >>> s.sspaddmm(s, ember.ones(2, 2)).to_dense()
            tensor([[2., 4.]])
        """
        from ._sparse_ops import sspaddmm

        return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)


# Tensor.T / mT are properties built on permute; a sparse tensor's are its 2-D transpose.
SparseTensor.T = property(lambda self: self.t())
SparseTensor.mT = property(lambda self: self.transpose(-2, -1))


def _check_sparse_layout(layout, blocksize):
    if layout is not None and layout is not sparse_coo or blocksize is not None:
        raise NotImplementedError(
            f"to_sparse(layout={layout}): ember has sparse COO tensors only; call "
            "to_sparse() without a layout (or layout=torch.sparse_coo)")


# -- construction ------------------------------------------------------------------------------

_invariants_warned = False


def warn_invariants_implicit(check_invariants) -> None:
    """PyTorch's once-per-process warning when a sparse tensor is built with its invariant
    checks neither asked for (``check_invariants=``) nor set (``enable()``/``disable()``)."""
    global _invariants_warned
    from .sparse import check_sparse_tensor_invariants as flag

    if _invariants_warned or check_invariants is not None or flag._explicit:
        return
    import warnings

    from ._ops.reduction.statistics import _user_stacklevel

    _invariants_warned = True
    warnings.warn("Sparse invariant checks are implicitly disabled. Memory errors (e.g. "
                  "SEGFAULT) will occur when operating on a sparse tensor which violates the "
                  "invariants, but checks incur performance overhead. To silence this warning, "
                  "explicitly opt in or out. See "
                  "`torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance. ",
                  UserWarning, stacklevel=_user_stacklevel())


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None) -> Tensor:
    """A sparse COO tensor with ``values`` at ``indices`` (``sparse_dim x nnz``).

    Duplicate indices are kept until ``coalesce()`` (which sums them); ``size`` defaults to
    the smallest that holds every index. Gradients reach ``values`` when it requires grad.
    Indices are always checked against ``size`` (ember never trusts them unchecked).

    Example:
        >>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
        >>> ember.sparse_coo_tensor(i, ember.tensor([3.0, 4.0, 5.0]), (2, 3)).to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 5.]])
    """
    from ._creation import tensor as make_tensor
    from ._sparse_ops import FromValues

    warn_invariants_implicit(check_invariants)
    if device is not None and Device(device).type != "cpu":
        raise NotImplementedError(
            f"Sparse COO tensors are CPU-only in ember (asked for device '{Device(device)}'); "
            "build the sparse tensor on the CPU")
    idx = _index_array(indices)
    if not isinstance(values, Tensor):
        values = make_tensor(values, dtype=dtype)
    if isinstance(values, SparseTensor):
        raise TypeError("sparse_coo_tensor(): values must be a dense tensor, got a sparse one")
    if values.device.type != "cpu":
        raise NotImplementedError(
            "Sparse COO tensors are CPU-only in ember; pass values on the CPU")
    if dtype is not None and D.to_dtype(dtype) is not values._dtype:
        values = values.to(D.to_dtype(dtype))
    if values.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz x dense dims)")
    if idx.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    sparse_dim, nnz = idx.shape
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {values.shape[0]}")
    dense_shape = tuple(values.shape[1:])
    if size is None:
        lead = tuple(int(m) + 1 for m in idx.max(axis=1)) if nnz else (0,) * sparse_dim
        shape = lead + dense_shape
    else:
        shape = tuple(int(s) for s in (size if not isinstance(size, int) else (size,)))
        if len(shape) != sparse_dim + len(dense_shape):
            raise RuntimeError(
                f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
                f"{len(shape)}, sparse_dim = {sparse_dim}, dense_dim = {len(dense_shape)}")
        if shape[sparse_dim:] != dense_shape:
            raise RuntimeError(
                f"values has incorrect size, expected {[nnz, *shape[sparse_dim:]]}, got "
                f"{[nnz, *dense_shape]}")
    _check_bounds(idx, shape)
    coalesced = False
    if is_coalesced:
        if not K.is_sorted_unique(K.linear_index(idx, shape[:sparse_dim])):
            raise RuntimeError(
                "sparse_coo_tensor(is_coalesced=True): the indices are not sorted and unique; "
                "leave is_coalesced unset and call .coalesce() instead")
        coalesced = True
    elif nnz <= 1:
        coalesced = True  # PyTorch marks a tensor of at most one entry coalesced
    out = FromValues.apply(values, idx, shape, coalesced)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _index_array(indices) -> np.ndarray:
    if isinstance(indices, SparseTensor):
        raise TypeError("sparse_coo_tensor(): indices must be a dense tensor")
    if isinstance(indices, Tensor):
        if indices.device.type != "cpu":
            raise NotImplementedError("Sparse COO tensors are CPU-only in ember; pass indices "
                                      "on the CPU")
        arr = indices._data
    else:
        arr = np.asarray(indices)
    if arr.dtype != np.int64:
        if arr.size and arr.dtype.kind == "f" and not np.all(arr == np.floor(arr)):
            raise RuntimeError("sparse_coo_tensor(): indices must be integers")
        arr = arr.astype(np.int64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(1, 0)
    return arr


def _check_bounds(idx, shape):
    if not idx.shape[1]:
        return
    lo = idx.min(axis=1)
    hi = idx.max(axis=1)
    for d in range(idx.shape[0]):
        if lo[d] < 0:
            raise RuntimeError(f"found negative index {int(lo[d])} for dim {d}")
        if hi[d] >= shape[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                               f"{shape[d]} but found index {int(hi[d])}")


def to_sparse(self: Tensor, sparse_dim=None, *, layout=None, blocksize=None,
              dense_dim=None) -> Tensor:
    """The sparse COO form of a dense tensor (its nonzero entries, coalesced).

    ``sparse_dim`` (default: all dims) says how many leading dims are indexed; the rest
    are stored densely per entry.

    Example:
        >>> ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse().values()
        tensor([1., 2.])
    """
    from ._sparse_ops import DenseToSparse

    if layout in (sparse_csr, sparse_csc):
        from ._sparse_compressed import to_compressed

        return to_compressed(self, layout, blocksize, dense_dim)
    _check_sparse_layout(layout, blocksize)
    if self.device.type != "cpu":
        raise NotImplementedError(
            "Sparse COO tensors are CPU-only in ember; call .cpu() before .to_sparse()")
    name = "ToSparseBackward1"
    if dense_dim is not None:
        sparse_dim = self.ndim - dense_dim
    elif sparse_dim is not None:
        name = "ToSparseBackward0"
    else:
        sparse_dim = self.ndim
    if not 0 <= sparse_dim <= self.ndim:
        raise RuntimeError(f"sparse_dim must be between 0 and {self.ndim}, got {sparse_dim}")
    return DenseToSparse.apply(self, sparse_dim, name)


def _rebuild_sparse_tensor(layout, data):
    """Unpickle a sparse tensor (``torch._utils._rebuild_sparse_tensor``'s arguments)."""
    if layout in (sparse_csr, sparse_csc):
        from ._sparse_compressed import rebuild_compressed

        return rebuild_compressed(layout, data)
    if layout is not sparse_coo and repr(layout) != "torch.sparse_coo":
        raise NotImplementedError(f"Loading a {layout} tensor: ember has sparse COO tensors "
                                  "only")
    if len(data) == 3:
        indices, values, size = data
        is_coalesced = None
    else:
        indices, values, size, is_coalesced = data
    return sparse_coo_tensor(indices, values, size, is_coalesced=is_coalesced)


# -- repr --------------------------------------------------------------------------------------

def sparse_repr(t: SparseTensor) -> str:
    """PyTorch's repr of a sparse COO tensor: indices, values, then size/nnz/dtype/layout."""
    from ._tensor_str import PRINT_OPTS, tensor_body

    indent = len("tensor(")
    coo = t._data
    suffixes = [f"size={tuple(coo.shape)}", f"nnz={coo.nnz}"]
    default = D.get_default_dtype()
    if t._dtype not in (default, D.int64, D.bool,
                        D.complex128 if default is D.float64 else D.complex64):
        suffixes.append(f"dtype={t._dtype}")
    indices_prefix, values_prefix = "indices=tensor(", "values=tensor("
    indices = t._indices()
    indices_str = tensor_body(indices, indent + len(indices_prefix))
    if not indices.numel():
        indices_str += f", size={tuple(indices.shape)}"
    values = t._values()
    values_str = tensor_body(values, indent + len(values_prefix))
    if not values.numel():
        values_str += f", size={tuple(values.shape)}"
    text = (f"tensor({indices_prefix}{indices_str}),\n{' ' * indent}{values_prefix}"
            f"{values_str})")
    suffixes.append("layout=torch.sparse_coo")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    force = True  # PyTorch starts a sparse tensor's suffixes on a new line
    for suffix in suffixes:
        if force or last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
            force = False
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"


# -- the sparse methods of dense tensors -------------------------------------------------------

def _strided_error(name, kind="sparse coordinate tensor"):
    def method(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {kind} layout but got Strided")

    method.__name__ = name
    method.__doc__ = f"Sparse tensors only: on a dense tensor ``{name}()`` raises."
    return method


def _no_kernel(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"Could not run 'aten::{name}' with arguments from the 'CPU' backend: {name}() "
            "needs a sparse tensor; convert with .to_sparse() first")

    method.__name__ = name
    method.__doc__ = f"Sparse tensors only: on a dense tensor ``{name}()`` raises."
    return method


def _to_dense(self, dtype=None, *, masked_grad=None):
    """A dense tensor is its own dense form (returned as is; with ``dtype``, converted)."""
    return self if dtype is None else self.to(dtype)


def _sparse_dim(self) -> int:
    """A dense tensor has no sparse dims."""
    return 0


def _dense_dim(self) -> int:
    """All of a dense tensor's dims are dense dims."""
    return self.ndim


def _sparse_mask(self, mask):
    """This dense tensor's values at ``mask``'s (sparse) entries, as a sparse tensor.

    Example:
        >>> m = ember.tensor([[0.0, 1.0], [1.0, 0.0]]).to_sparse()
        >>> ember.ones(2, 2).sparse_mask(m).to_dense()
        tensor([[0., 1.],
                [1., 0.]])
    """
    from ._sparse_compressed import CompressedTensor, compressed_sparse_mask
    from ._sparse_ops import SparseMask

    if isinstance(mask, CompressedTensor):  # a CSR/CSC mask gives its own layout
        return compressed_sparse_mask(self, mask)
    if not isinstance(mask, SparseTensor):
        raise RuntimeError("sparse_mask expects mask to be sparse COO tensor")
    if tuple(mask.shape) != tuple(self.shape):
        raise RuntimeError("sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(self.shape)} but mask has size {list(mask.shape)}")
    return SparseMask.apply(self, mask)


def _dense_smm(self, mat):
    """``torch.smm(self, mat)``: ``self`` must be sparse COO, so on a dense tensor it raises."""
    from ._sparse_ops import smm

    return smm(self, mat)


def _dense_sspaddmm(self, mat1, mat2, *, beta=1, alpha=1):
    """``torch.sspaddmm(self, mat1, mat2)``: ``self`` must be sparse COO, so on a dense tensor
    it raises."""
    from ._sparse_ops import sspaddmm

    return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)


DENSE_METHODS = {
    "to_sparse": to_sparse, "to_sparse_coo": to_sparse, "to_dense": _to_dense,
    "indices": _strided_error("indices"), "values": _strided_error("values", "sparse tensor"),
    "coalesce": _strided_error("coalesce"), "is_coalesced": _strided_error("is_coalesced"),
    "_indices": _no_kernel("_indices"), "_values": _no_kernel("_values"),
    "_nnz": _no_kernel("_nnz"), "sparse_dim": _sparse_dim,
    "dense_dim": _dense_dim, "sparse_mask": _sparse_mask,
    "sparse_resize_": _no_kernel("sparse_resize_"),
    "sparse_resize_and_clear_": _no_kernel("sparse_resize_and_clear_"),
    "smm": _dense_smm, "sspaddmm": _dense_sspaddmm,
}


def bind_dense_methods() -> None:
    """Give ``Tensor`` the sparse-related methods PyTorch's dense tensors have (``to_sparse``,
    ``to_dense``, ``sparse_dim`` ...; ``indices``/``values`` raise as in PyTorch)."""
    for name, fn in DENSE_METHODS.items():
        if name not in vars(Tensor):
            setattr(Tensor, name, fn)
    if "is_sparse" not in vars(Tensor):
        Tensor.is_sparse = property(lambda self: False,
                                    doc="True for sparse COO tensors, False for dense ones.")

