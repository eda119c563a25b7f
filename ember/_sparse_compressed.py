"""Sparse compressed tensors: CSR and CSC (``ember.sparse_csr_tensor``,
``ember.sparse_csc_tensor``, ``ember.sparse_compressed_tensor``, ``Tensor.to_sparse_csr``,
``Tensor.to_sparse_csc``) and their operations.

A compressed tensor is a ``CompressedTensor`` (a ``Tensor`` subclass, but not a COO
``SparseTensor``: ``is_sparse`` is False for it, as in PyTorch) whose ``_data`` is a
``CompressedData``: the compressed indices (``crow_indices`` of CSR, ``ccol_indices`` of CSC,
``n + 1`` pointers), the plain indices (``col_indices`` / ``row_indices``, one per entry), the
values (one per entry), the size and the layout. Only 2-D tensors with scalar values are built
(PyTorch's batched and hybrid forms raise ``NotImplementedError``). Invariants are always
checked, whatever ``check_invariants`` says: ember never trusts indices unchecked.

Products run on the COO kernels (``_sparse_kernels``): a compressed matrix is a coalesced entry
list whose row (or column) of each entry is its pointer run.

Example:
    >>> c = ember.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]).to_sparse_csr()
    >>> c.crow_indices(), c.col_indices()
    (tensor([0, 1, 3]), tensor([1, 0, 2]))
    >>> c @ ember.ones(3)
    tensor([1., 5.])
"""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from . import _sparse_kernels as K
from ._backend import CPU, Device
from ._layout import sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided
from ._payloads import refuse_array_operators
from ._sparse_tensor import SparseCopies, SparseFunction, SparseTensor, dense_tensor, make_sparse
from ._tensor import Tensor
from .autograd import grad_mode

__all__ = ["sparse_csr_tensor", "sparse_csc_tensor", "sparse_compressed_tensor"]

_state = grad_mode._state

# torch's names of the layouts in its messages ("... but got SparseCsr")
_LAYOUT_NAMES = {sparse_csr: "SparseCsr", sparse_csc: "SparseCsc", sparse_coo: "Sparse",
                 strided: "Strided", sparse_bsr: "SparseBsr", sparse_bsc: "SparseBsc"}
COMPRESSED = (sparse_csr, sparse_csc)


def _layout_name(layout) -> str:
    return _LAYOUT_NAMES.get(layout, "none" if layout is None else str(layout))


class CompressedLayoutError(NotImplementedError, AttributeError):
    """An operation ember has no sparse CSR/CSC implementation of (an AttributeError too, so
    ``hasattr`` probes of the payload answer False)."""


def unsupported(what: str) -> CompressedLayoutError:
    return CompressedLayoutError(
        f"{what} is not supported for sparse CSR/CSC tensors in ember; convert with "
        ".to_dense() (or .to_sparse() for COO) first, or use the supported operations (@ and "
        "torch.mm/matmul/addmm/mv/sparse.mm with dense matrices, csr + csr, csr * scalar, .t())")


def _expand(pointers, nnz):
    """The compressed dim's index of each entry (``repeat(arange(n), diff(pointers))``)."""
    counts = np.diff(pointers)
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts) if nnz else \
        np.zeros(0, np.int64)


def _pointers(keys, n, dtype=np.int64):
    """Compressed pointers (``n + 1``) of sorted ``keys`` in ``[0, n)``."""
    out = np.zeros(n + 1, dtype)
    np.cumsum(np.bincount(keys, minlength=n), out=out[1:])
    return out


class CompressedData:
    """The payload of a CSR/CSC tensor (``CompressedTensor._data``). It answers
    ``shape``/``ndim``/``size``/``dtype`` as an array does; any other array use raises."""

    __slots__ = ("compressed", "plain", "values", "shape", "layout", "_plans")

    def __init__(self, compressed, plain, values, shape, layout):
        self.compressed = compressed
        self.plain = plain
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.layout = layout
        self._plans = {}

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def nnz(self) -> int:
        return int(self.plain.shape[0])

    def copy(self) -> CompressedData:
        return CompressedData(self.compressed.copy(), self.plain.copy(), self.values.copy(),
                              self.shape, self.layout)

    # -- index structure (from the indices only, cached) -------------------------------------
    def rows_cols(self):
        """(rows, cols) of each entry in storage order, int64."""
        rc = self._plans.get("rc")
        if rc is None:
            major = _expand(self.compressed, self.nnz)
            plain = self.plain.astype(np.int64, copy=False)
            rc = self._plans["rc"] = (major, plain) if self.layout is sparse_csr else \
                (plain, major)
        return rc

    def coo(self):
        """(indices ``(2, nnz)`` in coalesced row-major order, ``order``: each COO entry's
        position among the stored values, None when it is the same)."""
        got = self._plans.get("coo")
        if got is None:
            rows, cols = self.rows_cols()
            if self.layout is sparse_csr:
                got = (np.stack([rows, cols]), None)
            else:
                order = np.argsort(rows * max(self.shape[1], 1) + cols, kind="stable")
                got = (np.stack([rows[order], cols[order]]), order)
            self._plans["coo"] = got
        return got

    def row_plan(self) -> K.RowPlan:
        """Entries grouped by row, for ``S @ X``."""
        plan = self._plans.get("rows")
        if plan is None:
            rows, cols = self.rows_cols()
            if self.layout is sparse_csr:
                plan = K.RowPlan(rows, cols)
            else:
                order = np.argsort(rows, kind="stable")
                plan = K.RowPlan(rows[order], cols[order], order)
            self._plans["rows"] = plan
        return plan

    def col_plan(self) -> K.RowPlan:
        """Entries grouped by column, for ``S.T @ G``."""
        plan = self._plans.get("cols")
        if plan is None:
            rows, cols = self.rows_cols()
            if self.layout is sparse_csc:
                plan = K.RowPlan(cols, rows)
            else:
                order = np.argsort(cols, kind="stable")
                plan = K.RowPlan(cols[order], rows[order], order)
            self._plans["cols"] = plan
        return plan

    def dense(self):
        out = np.zeros(self.shape, self.values.dtype)
        if self.nnz:
            out[self.rows_cols()] = self.values
        return out

    # -- every other array use is an error naming .to_dense() --------------------------------
    def __array__(self, dtype=None, copy=None):
        raise unsupported("Converting to a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        # dense .grad += compressed gradient (AccumulateGrad, in place)
        if (ufunc is np.add and method == "__call__" and len(inputs) == 2 and not kwargs
                and inputs[1] is self and isinstance(inputs[0], np.ndarray)
                and tuple(inputs[0].shape) == self.shape):
            return np.add(inputs[0], self.dense(), out=out)
        if ufunc in (np.isnan, np.isinf, np.isfinite) and method == "__call__" and out is None:
            return ufunc(self.values)  # detect_anomaly's checks answer on the stored values
        raise unsupported(f"This operation (NumPy's {getattr(ufunc, '__name__', ufunc)} on "
                          "the data)")

    @property
    def strides(self):
        # a dense gradient of a compressed leaf (torch.mm's) is stored as a contiguous array
        item = self.values.dtype.itemsize
        return (self.shape[1] * item, item)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.empty_like and args and args[0] is self:
            dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
            return np.empty(self.shape, dtype if dtype is not None else self.values.dtype)
        raise unsupported(f"This operation (NumPy's {getattr(func, '__name__', func)} on the "
                          "data)")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(f"The array attribute '{name}'")

    def __iadd__(self, other):
        # compressed .grad += compressed gradient: a new payload, never in place
        if isinstance(other, CompressedData) and other.shape == self.shape \
                and other.layout is self.layout:
            return _add_payloads(self, other, 1)
        raise RuntimeError(f"Sparse {_layout_name(self.layout)[6:]} tensors do not have "
                           "is_contiguous (a gradient of another layout cannot be added "
                           "into this .grad)")

    def __repr__(self):
        return f"CompressedData(layout={self.layout}, nnz={self.nnz}, shape={self.shape})"


refuse_array_operators(CompressedData, lambda name: unsupported(f"The operator {name}"))


def make_compressed(compressed, plain, values, shape, layout, dtype=None) -> CompressedTensor:
    """Wrap arrays as a compressed tensor (internal: no checks, no copies)."""
    if dtype is None:
        dtype = D.from_numpy_dtype(values.dtype)
    return CompressedTensor._make(CompressedData(compressed, plain, values, shape, layout),
                                  dtype)


def _from_entries(rows, cols, values, shape, layout, index_dtype=np.int64):
    """A compressed payload from unique (row, col) entries in any order."""
    n, m = shape
    if layout is sparse_csr:
        key, major, minor, nmajor = rows * max(m, 1) + cols, rows, cols, n
    else:
        key, major, minor, nmajor = cols * max(n, 1) + rows, cols, rows, m
    if key.size > 1 and not np.all(key[1:] > key[:-1]):
        order = np.argsort(key, kind="stable")
        major, minor, values = major[order], minor[order], values[order]
    return CompressedData(_pointers(major, nmajor, index_dtype),
                          minor.astype(index_dtype, copy=False), values, shape, layout)


def _like(data: CompressedData, values, dtype) -> CompressedTensor:
    """A compressed tensor with ``data``'s indices (and cached plans) and new values."""
    out = make_compressed(data.compressed, data.plain, values, data.shape, data.layout, dtype)
    out._data._plans = data._plans
    return out


def _astype(arr, dtype: D.dtype):
    return arr if arr.dtype == dtype.np_dtype else arr.astype(dtype.np_dtype)


def _values_at(grad: Tensor, data: CompressedData):
    """The gradient's values at ``data``'s entries, in storage order (an array)."""
    if isinstance(grad, CompressedTensor):
        g = grad._data
        if g.layout is data.layout and (g.plain is data.plain or (
                g.nnz == data.nnz and np.array_equal(g.compressed, data.compressed)
                and np.array_equal(g.plain, data.plain))):
            return g.values
        return g.dense()[data.rows_cols()]
    if isinstance(grad, SparseTensor):
        coo = grad._data
        gi, gv = coo.coalesced_arrays()
        return K.lookup(gi, gv, np.stack(data.rows_cols()), coo.shape)
    return grad._data[data.rows_cols()]


def _masked(grad: Tensor, data: CompressedData) -> CompressedTensor:
    return _like(data, _values_at(grad, data), grad._dtype)


# -- the tensor class --------------------------------------------------------------------------

class CompressedTensor(SparseCopies, Tensor):
    """A sparse CSR or CSC tensor (2-D), as ``ember.sparse_csr_tensor`` and
    ``Tensor.to_sparse_csr``/``to_sparse_csc`` make it.

    ``layout`` is ``ember.sparse_csr`` or ``ember.sparse_csc``; ``is_sparse`` is False and
    ``is_sparse_csr`` is True for CSR, as in PyTorch. Supported: ``to_dense``, ``to_sparse``
    (COO), conversions between CSR and CSC, products with dense matrices and vectors
    (``@``, ``torch.mm``/``matmul``/``addmm``/``mv``, ``torch.sparse.mm``/``addmm``) with
    gradients, ``+`` of two tensors of one layout, ``*`` by a number, a dense tensor or a
    tensor of the same layout, the zero-preserving unary functions (``PATTERN_UNARY``: sin,
    tanh, sqrt, relu, abs ...) and their in-place forms, ``sum`` (all, or CSR over dims with
    ``keepdim=True``), ``t()``, ``clone``, ``detach``, ``to(dtype)``. Other ops raise
    ``NotImplementedError`` naming ``.to_dense()``.

    Example:
        >>> c = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse_csr()
        >>> (c @ ember.ones(2, 1)).flatten()
        tensor([2., 3.])
    """

    __slots__ = ()
    _unsupported = staticmethod(lambda what: unsupported(what))
    _beta_warned = False

    @classmethod
    def _make(cls, data, dtype=None, requires_grad=False):
        # torch warns once per process, from the first compressed tensor it builds
        if not CompressedTensor._beta_warned:
            import warnings

            from ._ops.reduction.statistics import _user_stacklevel

            CompressedTensor._beta_warned = True
            warnings.warn(f"Sparse {_layout_name(data.layout)[6:].upper()} tensor support is in "
                          "beta state. If you miss a functionality in the sparse tensor support, "
                          "please submit a feature request to "
                          "https://github.com/pytorch/pytorch/issues.", UserWarning,
                          stacklevel=_user_stacklevel())
        return super()._make(data, dtype, requires_grad)

    # -- what kind of tensor this is ----------------------------------------------------------
    @property
    def layout(self):
        return self._data.layout

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_sparse_csr(self) -> bool:
        return self._data.layout is sparse_csr

    @property
    def device(self) -> Device:
        return CPU

    def _kind(self) -> str:
        return _layout_name(self._data.layout)[6:]  # "Csr" / "Csc"

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError(f"Sparse {self._kind().upper()} tensors do not have is_contiguous")

    def stride(self, dim=None):
        raise RuntimeError(f"Sparse {self._kind().upper()} tensors do not have strides")

    def _nnz(self) -> int:
        """The number of stored entries."""
        return self._data.nnz

    def sparse_dim(self) -> int:
        """2: rows and columns are both sparse dims."""
        return 2

    def dense_dim(self) -> int:
        """0: each stored value is a scalar."""
        return 0

    def _index(self, name, which, row_layout):
        if self._data.layout is not row_layout:
            kind = "row" if row_layout is sparse_csr else "column"
            raise RuntimeError(f"{name} expected sparse {kind} compressed tensor layout but "
                               f"got {_layout_name(self._data.layout)}")
        return dense_tensor(getattr(self._data, which),
                            D.from_numpy_dtype(getattr(self._data, which).dtype))

    def crow_indices(self) -> Tensor:
        """The row pointers of a CSR tensor (``nrows + 1``; row i's entries are
        ``crow[i]:crow[i+1]``)."""
        return self._index("crow_indices", "compressed", sparse_csr)

    def col_indices(self) -> Tensor:
        """The column of each entry of a CSR tensor."""
        return self._index("col_indices", "plain", sparse_csr)

    def ccol_indices(self) -> Tensor:
        """The column pointers of a CSC tensor (``ncols + 1``)."""
        return self._index("ccol_indices", "compressed", sparse_csc)

    def row_indices(self) -> Tensor:
        """The row of each entry of a CSC tensor."""
        return self._index("row_indices", "plain", sparse_csc)

    def values(self) -> Tensor:
        """The stored values (shares memory), with gradients back to the tensor."""
        return Values.apply(self)

    def indices(self):
        raise RuntimeError("indices expected sparse coordinate tensor layout but got "
                           f"{_layout_name(self._data.layout)}")

    def _indices(self):
        raise RuntimeError("_indices expected sparse coordinate tensor layout but got "
                           f"{_layout_name(self._data.layout)}")

    def _values(self):
        raise RuntimeError("_values expected sparse coordinate tensor layout but got "
                           f"{_layout_name(self._data.layout)}")

    def coalesce(self):
        raise RuntimeError("coalesce expected sparse coordinate tensor layout but got "
                           f"{_layout_name(self._data.layout)}")

    def is_coalesced(self):
        raise RuntimeError("is_coalesced expected sparse coordinate tensor layout but got "
                           f"{_layout_name(self._data.layout)}")

    # -- conversions --------------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor."""
        if dtype is not None:
            raise RuntimeError(f"dtype argument is not supported by sparse_"
                               f"{self._kind().lower()}_to_dense")
        return ToDense.apply(self)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The COO form (``layout=None``/``sparse_coo``), or the CSR/CSC form."""
        if layout in COMPRESSED:
            return to_compressed(self, layout, blocksize, dense_dim)
        if layout not in (None, sparse_coo) or blocksize is not None:
            raise RuntimeError(f"sparse_compressed_to_sparse: conversion from "
                               f"{_layout_name(self.layout)} to {_layout_name(layout)} is not "
                               "supported in ember")
        if sparse_dim is not None and sparse_dim != 2:
            raise RuntimeError(
                f"sparse_compressed_to_sparse: conversion from {_layout_name(self.layout)} to "
                "Sparse with sparse_dim argument !=2 is not supported")
        return ToCoo.apply(self)

    def to_sparse_coo(self):
        """The COO form (coalesced)."""
        return ToCoo.apply(self)

    def to_sparse_csr(self, dense_dim=None):
        """The CSR form (``self`` when already CSR)."""
        return to_compressed(self, sparse_csr, None, dense_dim)

    def to_sparse_csc(self):
        """The CSC form (``self`` when already CSC)."""
        return to_compressed(self, sparse_csc, None, None)

    # -- autograd and copies ------------------------------------------------------------------
    def clone(self, *, memory_format=None) -> CompressedTensor:
        return Clone.apply(self)

    def __reduce_ex__(self, protocol):
        if not self.is_leaf:
            raise RuntimeError("Can't pickle a tensor that is part of a graph (it has a "
                               "grad_fn); pickle t.detach() instead")
        return (rebuild_compressed, (self.layout, reduce_args(self)))

    # -- dtype and device ---------------------------------------------------------------------
    def to(self, *args, **kwargs) -> CompressedTensor:
        """Convert dtype (CPU only for compressed tensors)."""
        from ._ops.conversion import _parse_to

        device, dtype, copy = _parse_to(args, dict(kwargs))
        if device is not None and device.type != "cpu":
            if device.type == "cuda":
                from ._backend import _require_cuda

                _require_cuda(device)
            raise NotImplementedError(
                f"Sparse CSR/CSC tensors are CPU-only in ember (asked for device '{device}')")
        out = self
        if dtype is not None and dtype is not self._dtype:
            out = Cast.apply(self, dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self, memory_format=None) -> CompressedTensor:
        return self

    def type_as(self, other) -> CompressedTensor:
        return self.to(other.dtype)

    def float(self, memory_format=None):
        return self.to(D.float32)

    def double(self, memory_format=None):
        return self.to(D.float64)

    def half(self, memory_format=None):
        return self.to(D.float16)

    def long(self, memory_format=None):
        return self.to(D.int64)

    def int(self, memory_format=None):
        return self.to(D.int32)

    def bool(self, memory_format=None):
        return self.to(D.bool)

    # -- what a compressed tensor refuses -----------------------------------------------------
    def numpy(self, *, force: bool = False):
        raise TypeError(f"can't convert {_layout_name(self.layout)} layout tensor to numpy. "
                        "Use Tensor.to_dense() first.")

    def __array__(self, dtype=None, copy=None):
        return self.numpy()

    def tolist(self):
        raise unsupported("tolist()")

    def item(self):
        raise unsupported("item()")

    def __getitem__(self, index):
        raise unsupported("Indexing")

    def sum(self, *args, **kwargs):
        raise unsupported("sum()")

    def __repr__(self, *, tensor_contents=None) -> str:
        return compressed_repr(self)

    def __format__(self, spec):
        return object.__format__(repr(self), spec) if spec else repr(self)

    # -- math ---------------------------------------------------------------------------------
    def mm(self, mat2):
        return mm(self, mat2)

    def matmul(self, other):
        return matmul(self, other)

    def mv(self, vec):
        return mv(self, vec)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(self, other)

    def __rmatmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(other, self)

    def add(self, other, *, alpha=1):
        return add(self, other, alpha=alpha)

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def sub(self, other, *, alpha=1):
        raise RuntimeError(f"unsupported tensor layout: {_layout_name(self.layout)}")

    __sub__ = __rsub__ = sub

    def mul(self, other):
        return scale(self, other)

    __mul__ = __rmul__ = multiply = mul

    def div(self, other):
        raise RuntimeError(f"unsupported tensor layout: {_layout_name(self.layout)}")

    __truediv__ = divide = true_divide = div

    def neg(self):
        return Scale.apply(self, -1, "NegBackward0")

    __neg__ = negative = neg

    def __pos__(self):
        return self

    def t(self):
        """The transpose: a CSR matrix's is the CSC matrix of the same arrays (and back)."""
        return Transpose.apply(self, "TBackward0")

    def transpose(self, dim0, dim1):
        from ._ops._core import wrap_dim

        if wrap_dim(dim0, 2) == wrap_dim(dim1, 2):
            return self
        return Transpose.apply(self, "TransposeBackward0")

    @property
    def T(self):
        return self.t()

    @property
    def mT(self):
        return self.t()


# -- autograd nodes ----------------------------------------------------------------------------

class FromValues(SparseFunction):
    _name = "SparseCompressedTensorBackward0"

    @staticmethod
    def forward(ctx, values, compressed, plain, shape, layout):
        ctx.data = CompressedData(compressed, plain, values._data, shape, layout)
        return CompressedTensor._make(ctx.data, values._dtype)

    @staticmethod
    def backward(ctx, grad):
        return dense_tensor(_values_at(grad, ctx.data), grad._dtype), None, None, None, None


class ToDense(SparseFunction):
    _name = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, c):
        ctx.data = c._data
        return dense_tensor(c._data.dense(), c._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (_masked(grad, ctx.data),)  # PyTorch masks the gradient to the entries


class DenseToCompressed(SparseFunction):
    @staticmethod
    def forward(ctx, x, layout):
        ctx._name = "ToSparseCsrBackward0" if layout is sparse_csr else "ToSparseCscBackward0"
        arr = x._data
        if layout is sparse_csr:
            rows, cols = np.nonzero(arr)
            major, minor, n = rows, cols, arr.shape[0]
        else:
            cols, rows = np.nonzero(arr.T)
            major, minor, n = cols, rows, arr.shape[1]
        data = CompressedData(_pointers(major, n), minor.astype(np.int64, copy=False),
                              arr[rows, cols], arr.shape, layout)
        return CompressedTensor._make(data, x._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad.to_dense() if isinstance(grad, CompressedTensor) else grad), None


class CooToCompressed(SparseFunction):
    @staticmethod
    def forward(ctx, s, layout):
        ctx._name = "ToSparseCsrBackward0" if layout is sparse_csr else "ToSparseCscBackward0"
        coo = s._data
        idx, vals = coo.coalesced_arrays()
        if vals is coo.values:
            vals = vals.copy()
        data = _from_entries(idx[0], idx[1], vals, coo.shape, layout)
        return CompressedTensor._make(data, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad.to_sparse() if isinstance(grad, CompressedTensor) else grad), None


class ToCoo(SparseFunction):
    _name = "ToSparseBackward1"

    @staticmethod
    def forward(ctx, c):
        data = c._data
        ctx.data = data
        idx, order = data.coo()
        vals = data.values.copy() if order is None else data.values[order]
        return make_sparse(idx, vals, data.shape, True, c._dtype)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, SparseTensor):
            return (_masked(grad, ctx.data),)
        return (grad,)


class ToOtherLayout(SparseFunction):
    """CSR -> CSC and back (the same entries, reordered)."""

    @staticmethod
    def forward(ctx, c, layout):
        ctx._name = "ToSparseCsrBackward0" if layout is sparse_csr else "ToSparseCscBackward0"
        ctx.layout = c.layout
        data = c._data
        rows, cols = data.rows_cols()
        return CompressedTensor._make(
            _from_entries(rows, cols, data.values.copy(), data.shape, layout,
                          data.compressed.dtype), c._dtype)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, CompressedTensor):
            return to_compressed(grad, ctx.layout, None, None), None
        return grad, None


class Values(SparseFunction):
    _name = "ValuesBackward0"

    @staticmethod
    def forward(ctx, c):
        ctx.data = c._data
        return dense_tensor(c._data.values, c._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (_like(ctx.data, grad._data, grad._dtype),)


class Clone(SparseFunction):
    _name = "CloneBackward0"

    @staticmethod
    def forward(ctx, c):
        return CompressedTensor._make(c._data.copy(), c._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


class Cast(SparseFunction):
    _name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, c, dtype):
        ctx.src = c._dtype
        return _like(c._data, _astype(c._data.values, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.src), None


class Scale(SparseFunction):
    @staticmethod
    def forward(ctx, c, factor, name):
        ctx._name, ctx.factor = name, factor
        dtype = D.result_type(c, factor)
        return _like(c._data, _astype(_astype(c._data.values, dtype) * factor, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None, None


def scale(c: CompressedTensor, other):
    """``c * other`` for a number or a 0-d dense tensor ``other``."""
    if isinstance(other, Tensor):
        if isinstance(other, (CompressedTensor, SparseTensor)) or other.ndim:
            raise unsupported("Multiplying a compressed tensor by a tensor (only numbers and "
                              "0-d tensors are supported)")
        if other.requires_grad:
            raise unsupported("Multiplying by a 0-d tensor that requires grad")
        other = other.item()
    if isinstance(other, np.generic):
        other = other.item()
    if not isinstance(other, (bool, int, float, complex)):
        raise TypeError(f"mul(): argument 'other' must be a number or a 0-d tensor, not "
                        f"{type(other).__name__}")
    return Scale.apply(c, other, "MulBackward0")


class Transpose(SparseFunction):
    @staticmethod
    def forward(ctx, c, name):
        ctx._name = name
        data = c._data
        other = sparse_csc if data.layout is sparse_csr else sparse_csr
        return make_compressed(data.compressed, data.plain, data.values,
                               (data.shape[1], data.shape[0]), other, c._dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.t(), None


def _add_payloads(a: CompressedData, b: CompressedData, alpha) -> CompressedData:
    """The entries of ``a + alpha * b`` (the union of the two patterns)."""
    bv = b.values if alpha == 1 else b.values * alpha
    dtype = np.result_type(a.values.dtype, bv.dtype)
    a_idx, a_order = a.coo()
    b_idx, b_order = b.coo()
    av = a.values if a_order is None else a.values[a_order]
    bv = bv if b_order is None else bv[b_order]
    idx, vals = K.merge_add(a_idx, av.astype(dtype, copy=False), b_idx,
                            bv.astype(dtype, copy=False), a.shape, True)
    return _from_entries(idx[0], idx[1], vals, a.shape, a.layout, a.compressed.dtype)


class Add(SparseFunction):
    _name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha, ctx.dtypes = alpha, (a._dtype, b._dtype)
        dtype = D.promote_types(a._dtype, b._dtype)
        sa, sb = isinstance(a, CompressedTensor), isinstance(b, CompressedTensor)
        if sa and sb:
            out = _add_payloads(a._data, b._data, alpha)
            out.values = _astype(out.values, dtype)
            return CompressedTensor._make(out, dtype)
        da = a._data.dense() if sa else a._data
        db = b._data.dense() if sb else b._data
        arr = _astype(da, dtype) + (db if alpha == 1 else db * alpha)
        return dense_tensor(_astype(arr, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        ga, gb = grad, grad if ctx.alpha == 1 else grad * ctx.alpha
        ga = ga if ga._dtype is ctx.dtypes[0] else ga.to(ctx.dtypes[0])
        gb = gb if gb._dtype is ctx.dtypes[1] else gb.to(ctx.dtypes[1])
        return ga, gb, None


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with a compressed operand: two of one layout give that
    layout (the union of their entries); compressed and dense give a dense tensor."""
    if out is not None:
        raise unsupported("add(out=...) with a compressed operand")
    a_shape = list(input.shape) if isinstance(input, Tensor) else []
    b_shape = list(other.shape) if isinstance(other, Tensor) else []
    if isinstance(input, SparseTensor) or isinstance(other, SparseTensor):
        raise unsupported("Adding a sparse COO tensor and a compressed one")
    if a_shape != b_shape:
        if isinstance(input, CompressedTensor) and isinstance(other, CompressedTensor):
            raise RuntimeError(
                f"torch.add: Expected input tensors to have the same shape, but got tensor "
                f"`self` with shape {a_shape} and tensor `other` with shape {b_shape}")
        small, big = (b_shape, a_shape) if isinstance(input, CompressedTensor) else \
            (a_shape, b_shape)
        raise RuntimeError(
            f"add: expected 'self' and 'other' to have same size, but self has size {small} "
            f"while other has size {big} (FYI: op2-sparse addition does not currently support "
            "broadcasting)")
    if isinstance(input, CompressedTensor) and isinstance(other, CompressedTensor):
        if input.layout is not other.layout:
            raise RuntimeError(
                f"{'crow_indices' if input.layout is sparse_csr else 'ccol_indices'} expected "
                f"sparse {'row' if input.layout is sparse_csr else 'column'} compressed tensor "
                f"layout but got {_layout_name(other.layout)}")
        if input._dtype is not other._dtype:
            from ._ops.inplace import _type_title

            raise RuntimeError(f"expected scalar type {_type_title(input._dtype)} but found "
                               f"{_type_title(other._dtype)}")
    for x in (input, other):
        if x.device.type != "cpu":
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, {x.device} and cpu!")
    return Add.apply(input, other, alpha)


class Product(SparseFunction):
    """``beta * mat + alpha * (A @ B)`` where one of A, B is a compressed matrix and the other
    a dense matrix or vector (``mat`` None: no addend). ``sparse_grad``: the compressed
    operand's gradient stays on its entries (``torch.sparse.mm``); otherwise it is dense, as
    PyTorch's mm/addmm/mv give it."""

    @staticmethod
    def forward(ctx, mat, a, b, beta, alpha, name, sparse_grad):
        ctx._name, ctx.beta, ctx.alpha, ctx.sparse_grad = name, beta, alpha, sparse_grad
        ctx.save_for_backward(a, b)
        ctx.mat_shape = None if mat is None else mat._data.shape
        if isinstance(a, CompressedTensor):
            x = b._data
            out = K.spmm(a._data.row_plan(), a._data.values, x[:, None] if x.ndim == 1 else x,
                         a._data.shape[0])
            if x.ndim == 1:
                out = out[:, 0]
            dtype = b._dtype
        else:  # dense @ S = (S.T @ dense.T).T
            y = a._data
            out = np.ascontiguousarray(K.spmm(b._data.col_plan(), b._data.values,
                                              np.ascontiguousarray(y.T), b._data.shape[1]).T)
            dtype = a._dtype
        if alpha != 1:
            out *= alpha
        if mat is not None and beta != 0:
            out = out + (mat._data if beta == 1 else beta * mat._data)
        return dense_tensor(_astype(out, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        from ._ops._core import unbroadcast

        a, b = ctx.saved_tensors
        need_mat, need_a, need_b = ctx.needs_input_grad[:3]
        g = grad._data if ctx.alpha == 1 else grad._data * ctx.alpha
        gm = unbroadcast(grad * ctx.beta, ctx.mat_shape) if need_mat else None
        ga = gb = None
        if isinstance(a, CompressedTensor):
            data, x = a._data, b._data
            vec = x.ndim == 1
            if need_a:
                if ctx.sparse_grad:
                    if data.layout is not sparse_csr:
                        raise RuntimeError(
                            "sparse_addmm_sparse_backward: unsupported combination of layouts, "
                            "grad: Strided, mat1: SparseCsc, mat2: Strided")
                    rows, cols = data.rows_cols()
                    ga = _like(data, _astype(K.rowwise_dot(g, x, rows, cols), a._dtype),
                               a._dtype)
                else:
                    ga = dense_tensor(np.outer(g, x) if vec else g @ x.T, a._dtype)
            if need_b:
                gt = K.spmm(data.col_plan(), data.values, g[:, None] if vec else g,
                            data.shape[1])
                gb = dense_tensor(gt[:, 0] if vec else gt, b._dtype)
        else:
            data, y = b._data, a._data
            if need_a:  # g @ S.T = (S @ g.T).T
                ga = dense_tensor(np.ascontiguousarray(
                    K.spmm(data.row_plan(), data.values, np.ascontiguousarray(g.T),
                           data.shape[0]).T), a._dtype)
            if need_b:
                gb = dense_tensor(y.T @ g, b._dtype)
        return gm, ga, gb, None, None, None, None


def _spspmm(a: CompressedTensor, b: CompressedTensor) -> CompressedTensor:
    """``A @ B`` of two compressed matrices (CSR result, no gradient), as PyTorch gives it."""
    ai, ao = a._data.coo()
    av = a._data.values if ao is None else a._data.values[ao]
    bi, bo = b._data.coo()
    bv = b._data.values if bo is None else b._data.values[bo]
    n, m = a.shape[0], b.shape[1]
    idx, vals = K.spspmm(ai, av, _pointers(bi[0], b.shape[0]), bi[1], bv, n, m)
    return CompressedTensor._make(_from_entries(idx[0], idx[1], vals, (n, m), sparse_csr),
                                  a._dtype)


def _check_operands(a, b, what):
    from ._ops.inplace import _type_title

    for x, name in ((a, "mat1"), (b, "mat2")):
        if not isinstance(x, Tensor):
            raise TypeError(f"{what}(): argument '{name}' must be Tensor, not "
                            f"{type(x).__name__}")
        if isinstance(x, SparseTensor):
            raise unsupported("A product of a sparse COO tensor and a compressed one")
        if x.device.type != "cpu":
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, cpu and {x.device}!")
    for x in (a, b):
        if not isinstance(x, CompressedTensor) and x.ndim > 2:
            raise unsupported(f"A product of a compressed matrix and a {x.ndim}-D tensor")
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                           f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(a._dtype)} but found "
                           f"{_type_title(b._dtype)}")
    if a._dtype.category < D._FLOAT:
        raise NotImplementedError(f'"addmm_out_sparse_csr_impl_mkl" not implemented for '
                                  f"'{_type_title(a._dtype)}'")


def _product(mat, a, b, beta, alpha, name, sparse_grad=False):
    if isinstance(a, CompressedTensor) and isinstance(b, CompressedTensor):
        if mat is not None:
            raise unsupported("addmm of two compressed matrices")
        if _state.enabled and (a.requires_grad or b.requires_grad):
            raise NotImplementedError(
                "Gradients of compressed @ compressed products are not supported in ember; "
                "make one operand dense (.to_dense()) or detach() both")
        return _spspmm(a, b)
    return Product.apply(mat, a, b, beta, alpha, name, sparse_grad)


def mm(input, mat2, *, out=None):
    """``torch.mm`` with a compressed operand (a compressed leaf's gradient is dense, as in
    PyTorch; ``torch.sparse.mm`` keeps it on the entries)."""
    if out is not None:
        raise unsupported("mm(out=...) with a compressed operand")
    _check_operands(input, mat2, "mm")
    for x in (input, mat2):
        if x.ndim != 2:
            raise RuntimeError(f"{'self' if x is input else 'mat2'} must be a matrix")
    return _product(None, input, mat2, 1, 1, "MmBackward0")


def mv(input, vec, *, out=None):
    """``torch.mv`` of a compressed matrix and a dense vector.

    Example:
        >>> c = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse_csr()
        >>> ember.mv(c, ember.tensor([1.0, 1.0]))
        tensor([2., 3.])
    """
    if out is not None:
        raise unsupported("mv(out=...) with a compressed operand")
    if not isinstance(input, CompressedTensor):
        raise unsupported("mv with a compressed vector")
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, 2, "
                           f"{vec.ndim if isinstance(vec, Tensor) else 0}")
    if vec.shape[0] != input.shape[1]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat "
                           f"({input.shape[0]}x{input.shape[1]}), vec ({vec.shape[0]})")
    if vec._dtype is not input._dtype:
        from ._ops.inplace import _type_title

        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_type_title(vec._dtype)}, {_type_title(input._dtype)}, and "
                           f"{_type_title(vec._dtype)}")
    _check_operands(input, vec, "mv")
    return Product.apply(None, input, vec, 1, 1, "MvBackward0", False)


def matmul(input, other, *, out=None):
    """``torch.matmul`` / ``@`` with a compressed operand (2-D @ 2-D or 1-D)."""
    if out is not None:
        raise unsupported("matmul(out=...) with a compressed operand")
    if isinstance(input, CompressedTensor) and isinstance(other, Tensor) and other.ndim == 1:
        return mv(input, other)
    if isinstance(other, CompressedTensor) and isinstance(input, Tensor) and input.ndim == 1:
        _check_operands(input.unsqueeze(0), other, "matmul")
        return _product(None, input.unsqueeze(0), other, 1, 1, "MmBackward0").squeeze(0)
    _check_operands(input, other, "matmul")
    return _product(None, input, other, 1, 1, "MmBackward0")


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``torch.addmm(input, mat1, mat2)``: ``beta * input + alpha * (mat1 @ mat2)`` with a
    compressed ``mat1`` or ``mat2`` (dense gradients, AddmmBackward0)."""
    if out is not None:
        raise unsupported("addmm(out=...) with a compressed operand")
    if isinstance(input, (CompressedTensor, SparseTensor)):
        raise unsupported("addmm with a sparse input (the addend must be dense)")
    _check_operands(mat1, mat2, "addmm")
    return _product(_addend(input, mat1, mat2), mat1, mat2, beta, alpha, "AddmmBackward0")


def _addend(mat, mat1, mat2):
    from ._ops._core import broadcast_shapes

    if not isinstance(mat, Tensor):
        raise TypeError(f"addmm(): argument 'input' must be Tensor, not {type(mat).__name__}")
    shape = (mat1.shape[0], mat2.shape[1])
    try:
        ok = broadcast_shapes(tuple(mat.shape), shape) == shape
    except RuntimeError:
        ok = False
    if not ok:
        raise RuntimeError(f"The expanded size of the tensor ({shape[-1]}) must match the "
                           f"existing size ({mat.shape[-1]}) at non-singleton dimension 1.  "
                           f"Target sizes: {list(shape)}.  Tensor sizes: {list(mat.shape)}")
    return mat if mat._dtype is mat1._dtype else mat.to(mat1._dtype)


def sparse_mm(mat1, mat2):
    """``torch.sparse.mm`` with a compressed operand: a CSR ``mat1``'s gradient stays on its
    entries (a CSR gradient, SparseAddmmBackward0)."""
    _check_operands(mat1, mat2, "mm")
    if isinstance(mat1, CompressedTensor) and not isinstance(mat2, CompressedTensor):
        return Product.apply(None, mat1, mat2, 1, 1, "SparseAddmmBackward0", True)
    return _product(None, mat1, mat2, 1, 1, "MmBackward0")


def sparse_addmm(mat, mat1, mat2, beta=1.0, alpha=1.0):
    """``torch.sparse.addmm`` with a compressed ``mat1`` (its gradient on its entries)."""
    if not isinstance(mat1, CompressedTensor) or isinstance(mat2, (CompressedTensor,
                                                                   SparseTensor)):
        raise unsupported("torch.sparse.addmm with a dense mat1 or a sparse mat2")
    _check_operands(mat1, mat2, "addmm")
    return Product.apply(_addend(mat, mat1, mat2), mat1, mat2, beta, alpha,
                         "SparseAddmmBackward0", True)



class SampledAddmm(SparseFunction):
    """``beta * S + alpha * (A @ B)`` evaluated only at a CSR matrix S's entries (SDDMM)."""

    _name = "SparseSampledAddmmBackward0"

    @staticmethod
    def forward(ctx, s, a, b, beta, alpha):
        data = s._data
        ctx.data, ctx.beta, ctx.alpha = data, beta, alpha
        ctx.save_for_backward(a, b)
        rows, cols = data.rows_cols()
        vals = K.rowwise_dot(a._data, np.ascontiguousarray(b._data.T), rows, cols)
        if alpha != 1:
            vals = vals * alpha
        # added even when beta == 0, as PyTorch does (a NaN in S stays NaN)
        vals = vals + (data.values if beta == 1 else beta * data.values)
        return _like(data, _astype(vals, s._dtype), s._dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        data = ctx.data
        gv = _values_at(grad, data)
        gs = ga = gb = None
        if ctx.needs_input_grad[0]:
            gs = _like(data, _astype(gv * ctx.beta, grad._dtype), grad._dtype)
        gv = gv * ctx.alpha if ctx.alpha != 1 else gv
        if ctx.needs_input_grad[1]:  # G @ B.T with G the sparse output gradient
            ga = dense_tensor(_astype(K.spmm(data.row_plan(), gv,
                                             np.ascontiguousarray(b._data.T), data.shape[0]),
                                      a._dtype), a._dtype)
        if ctx.needs_input_grad[2]:  # A.T @ G = (G.T @ A).T
            gb = dense_tensor(_astype(np.ascontiguousarray(
                K.spmm(data.col_plan(), gv, a._data, data.shape[1]).T), b._dtype), b._dtype)
        return gs, ga, gb, None, None


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """``torch.sparse.sampled_addmm`` of a 2-D CSR ``input`` and dense matrices."""
    from ._ops.inplace import _type_title

    for x, name, pos in ((input, "self", 1), (mat1, "mat1", 2), (mat2, "mat2", 3)):
        if not isinstance(x, Tensor):
            raise TypeError(f"sparse_sampled_addmm(): argument '{name}' (position {pos}) must "
                            f"be Tensor, not {type(x).__name__}")
    if out is not None:
        if not isinstance(out, CompressedTensor) or out.layout is not sparse_csr:
            raise RuntimeError("sampled_addmm: Expected result to have sparse csr layout, but "
                               f"got {_LAYOUT_NAMES.get(out.layout, out.layout)}")
        raise unsupported("sampled_addmm(out=...)")
    if not isinstance(input, CompressedTensor) or input.layout is not sparse_csr:
        if isinstance(input, CompressedTensor):
            raise RuntimeError("sampled_addmm: Expected result to have sparse csr layout, but "
                               f"got {_LAYOUT_NAMES[input.layout]}")
        raise NotImplementedError("Could not run 'aten::sparse_sampled_addmm' with arguments "
                                  "from the "
                                  f"'{'SparseCPU' if input.is_sparse else 'CPU'}' backend.")
    for x, name in ((mat1, "mat1"), (mat2, "mat2")):
        if isinstance(x, (CompressedTensor, SparseTensor)):
            raise RuntimeError(f"sampled_addmm: Expected {name} to have strided layout, but got "
                               f"{_LAYOUT_NAMES[x.layout]}")
        if x.ndim < 2:
            raise RuntimeError(f"sampled_addmm: Expected {name} to be a matrix, got {x.ndim}-D "
                               "tensor")
        if x.ndim > 2:
            raise unsupported("Batched sampled_addmm")
        if x.device.type != "cpu":
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, cpu and {x.device}!")
    if mat1._dtype is not mat2._dtype:
        raise RuntimeError(f"sampled_addmm: Expected mat1 and mat2 to have the same dtype, but "
                           f"got {_type_title(mat1._dtype)} and {_type_title(mat2._dtype)}")
    if mat1._dtype is not input._dtype:
        raise RuntimeError(f"sampled_addmm: Expected mat1 and self to have the same dtype, but "
                           f"got {_type_title(mat1._dtype)} and {_type_title(input._dtype)}")
    if input._dtype.category < D._FLOAT:
        raise RuntimeError("sparse_sampled_addmm: Expected self to be a floating-point or "
                           f"complex tensor, but got {_type_title(input._dtype)}")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1.shape[0]}x{mat1.shape[1]} and {mat2.shape[0]}x"
                           f"{mat2.shape[1]})")
    if input.shape[0] != mat1.shape[0]:
        raise RuntimeError("sampled_addmm: self.shape[-2] must match mat1.shape[-2]")
    if input.shape[1] != mat2.shape[1]:
        raise RuntimeError("sampled_addmm: self.shape[-1] must match mat2.shape[-1]")
    return SampledAddmm.apply(input, mat1, mat2, beta, alpha)



class Spdiags(SparseFunction):
    """``torch.sparse.spdiags``; PyTorch defines no derivative for it (backward raises)."""

    _name = "NotImplemented"

    @staticmethod
    def forward(ctx, diagonals, rows, cols, picks, shape, layout):
        vals = diagonals._data[picks]
        if layout is sparse_coo:
            return make_sparse(np.stack([rows, cols]), vals, shape, False, diagonals._dtype)
        return CompressedTensor._make(_from_entries(rows, cols, vals, shape, layout),
                                      diagonals._dtype)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::_spdiags is not implemented")


def spdiags(diagonals, offsets, shape, layout=None):
    """``torch.sparse.spdiags`` (see ``ember.sparse.spdiags``)."""
    for x, name, pos in ((diagonals, "diagonals", 1), (offsets, "offsets", 2)):
        if not isinstance(x, Tensor) or isinstance(x, (SparseTensor, CompressedTensor)):
            raise TypeError(f"_spdiags(): argument '{name}' (position {pos}) must be Tensor, "
                            f"not {type(x).__name__}")
    layout = sparse_coo if layout is None else layout
    if layout not in (sparse_coo, sparse_csr, sparse_csc):
        raise RuntimeError("Only output layouts (Sparse, SparseCsc, SparseCsr) are supported, "
                           f"got {_LAYOUT_NAMES.get(layout, layout)}")
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if offsets.ndim > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    if diagonals.ndim > 2:
        raise RuntimeError("Diagonals must be vector or matrix")
    if offsets._dtype is not D.int64:
        raise RuntimeError("Offset Tensor must have dtype Long but got "
                           + _title(offsets._dtype))
    offs = np.asarray(offsets._data).reshape(-1).astype(np.int64)
    n_diag = 1 if diagonals.ndim < 2 else diagonals.shape[0]
    if offs.size != n_diag:
        raise RuntimeError(f"Number of diagonals ({n_diag}) does not match the number of "
                           f"offsets ({offs.size})")
    if np.unique(offs).size != offs.size:
        raise RuntimeError("Offset tensor contains duplicate values")
    n, m = shape
    length = diagonals.shape[-1] if diagonals.ndim else 1
    rows, cols, picks = [], [], []
    for i, k in enumerate(offs.tolist()):
        start, stop = max(0, k), min(m, n + k, length)
        if stop < start:
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{stop - start}: [2, {stop - start}]")
        j = np.arange(start, stop, dtype=np.int64)
        rows.append(j - k)
        cols.append(j)
        picks.append(j if diagonals.ndim < 2 else i * length + j)
    rows, cols, picks = (np.concatenate(x) if x else np.zeros(0, np.int64)
                         for x in (rows, cols, picks))
    flat = diagonals.reshape(-1)
    return Spdiags.apply(flat, rows, cols, picks, shape, layout)


def _title(dt) -> str:
    from ._ops.inplace import _type_title

    return _type_title(dt)



_MM_REDUCE = {"sum": "sum", "mean": "mean", "amax": "amax", "max": "amax", "amin": "amin",
              "min": "amin"}


class SparseMmReduce(SparseFunction):
    """``torch.sparse.mm(csr, x, reduce)``: row ``i`` of the result reduces ``S[i, k] * x[k]``
    over row ``i``'s entries k (sum, mean, amax or amin; an empty row gives zeros). For amax
    and amin the gradient goes to the first entry that attains the extreme, per column."""

    _name = "SparseMmReduceImplBackward0"

    @staticmethod
    def forward(ctx, a, x, reduce):
        data = a._data
        ctx.data, ctx.reduce = data, reduce
        ctx.save_for_backward(x)
        rows, cols = data.rows_cols()
        n, f = data.shape[0], x.shape[1]
        vals, xa = data.values, x._data
        counts = np.diff(data.compressed).astype(np.int64)
        if reduce in ("sum", "mean"):
            out = K.spmm(data.row_plan(), vals, xa, n)
            if reduce == "mean":
                out = out / np.maximum(counts, 1)[:, None].astype(out.dtype)
            return dense_tensor(_astype(out, a._dtype), a._dtype)
        out = np.zeros((n, f), np.result_type(vals.dtype, xa.dtype))
        nonempty = np.flatnonzero(counts)
        ctx.sel = None
        if nonempty.size and f:
            prod = vals[:, None] * xa[cols]
            starts = np.asarray(data.compressed[:-1], np.int64)[nonempty]
            ufunc = np.maximum if reduce == "amax" else np.minimum
            best = ufunc.reduceat(prod, starts, axis=0)
            out[nonempty] = best
            # the first entry of each row attaining the extreme, per column
            hit = prod == best[np.repeat(np.arange(nonempty.size), counts[nonempty])]
            pos = np.where(hit, np.arange(rows.size)[:, None], rows.size)
            ctx.sel = (nonempty, np.minimum.reduceat(pos, starts, axis=0))
        return dense_tensor(_astype(out, a._dtype), a._dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        data, reduce = ctx.data, ctx.reduce
        need_a, need_x = ctx.needs_input_grad[:2]
        rows, cols = data.rows_cols()
        g, xa, vals = grad._data, x._data, data.values
        ga = gx = None
        if reduce in ("sum", "mean"):
            scale = count = None
            if reduce == "mean":
                count = np.maximum(np.diff(data.compressed), 1)[rows].astype(vals.dtype)
                scale = (1.0 / np.maximum(np.diff(data.compressed), 1))[rows].astype(vals.dtype)
            if need_a:  # divided by the count, as PyTorch rounds it
                gv = K.rowwise_dot(g, xa, rows, cols)
                ga = _like(data, _astype(gv if count is None else gv / count, grad._dtype),
                           grad._dtype)
            if need_x:
                v = vals if scale is None else vals * scale
                gx = dense_tensor(_astype(K.spmm(data.col_plan(), v, g, data.shape[1]),
                                          x._dtype), x._dtype)
            return ga, gx, None
        gv = np.zeros(rows.size, np.result_type(g.dtype, xa.dtype))
        gxa = np.zeros(xa.shape, np.result_type(g.dtype, vals.dtype))
        if ctx.sel is not None:
            nonempty, sel = ctx.sel
            jj = np.broadcast_to(np.arange(sel.shape[1]), sel.shape)
            gsel = g[nonempty]
            if need_a:
                np.add.at(gv, sel, gsel * xa[cols[sel], jj])
            if need_x:
                np.add.at(gxa, (cols[sel], jj), gsel * vals[sel])
        if need_a:
            ga = _like(data, _astype(gv, grad._dtype), grad._dtype)
        if need_x:
            gx = dense_tensor(_astype(gxa, x._dtype), x._dtype)
        return ga, gx, None


def sparse_mm_reduce(mat1, mat2, reduce):
    """``torch.sparse.mm(mat1, mat2, reduce)`` for a CSR ``mat1`` and a dense matrix."""
    from ._ops.inplace import _type_title

    if not isinstance(reduce, str):
        raise TypeError(f"_sparse_mm(): argument 'reduce' (position 3) must be str, not "
                        f"{type(reduce).__name__}")
    if reduce not in _MM_REDUCE and reduce != "prod":
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce == "prod":
        raise RuntimeError("sparse_mm_reduce: reduce type of prod has not been enabled.")
    if not isinstance(mat1, CompressedTensor):
        backend = "SparseCPU" if isinstance(mat1, SparseTensor) else "CPU"
        raise NotImplementedError("Could not run 'aten::_sparse_mm_reduce_impl' with arguments "
                                  f"from the '{backend}' backend.")
    if mat1.layout is not sparse_csr:
        raise RuntimeError("sparse_mm_reduce: expect self to be SparseCsr, got "
                           f"{_LAYOUT_NAMES[mat1.layout]}")
    if not isinstance(mat2, Tensor) or isinstance(mat2, (CompressedTensor, SparseTensor)):
        raise unsupported("torch.sparse.mm(reduce=...) with a sparse mat2")
    k = mat1.shape[1]
    if mat2.ndim != 2 or mat2.shape[0] != k:
        raise RuntimeError(f"Expected a tensor of dimension 2 and tensor.size[0] == {k} but "
                           f"got: dimension {mat2.ndim} and tensor.size[0] = {mat2.shape[0]}")
    if mat1._dtype.category < D._FLOAT:
        raise NotImplementedError(f'"spmm_reduce_kernel" not implemented for '
                                  f"'{_type_title(mat1._dtype)}'")
    if mat2._dtype is not mat1._dtype:
        raise RuntimeError(f"Expected tensor for argument #1 'other' to have scalar type "
                           f"{_type_title(mat1._dtype)}; but got torch."
                           f"{_type_title(mat2._dtype)}Tensor instead (while checking arguments "
                           "for sparse_mm_reduce)")
    return SparseMmReduce.apply(mat1, mat2, _MM_REDUCE[reduce])


# -- construction ------------------------------------------------------------------------------

def _index_tensor(x):
    from ._creation import tensor as make_tensor

    if isinstance(x, (SparseTensor, CompressedTensor)):
        raise TypeError("sparse_compressed_tensor(): indices must be dense tensors")
    if not isinstance(x, Tensor):
        x = make_tensor(x)
    if x.device.type != "cpu":
        raise NotImplementedError("Sparse CSR/CSC tensors are CPU-only in ember; pass indices "
                                  "on the CPU")
    return x


def _check_invariants(comp, plain, values, shape, layout):
    """PyTorch's invariant checks of a compressed tensor (always run in ember)."""
    from ._ops.inplace import _type_title

    names = ("crow_indices", "col_indices") if layout is sparse_csr else \
        ("ccol_indices", "row_indices")
    if comp._dtype is not plain._dtype:
        raise RuntimeError(f"{names[0]} and {names[1]} must have the same dtype, bot got "
                           f"{_type_title(comp._dtype)} and {_type_title(plain._dtype)}, "
                           "respectively")
    if comp._dtype not in (D.int32, D.int64):
        raise RuntimeError(f"{names[0]} and {names[1]} dtype must be Int or Long, but got "
                           f"{_type_title(comp._dtype)}")
    if comp.ndim != plain.ndim:
        raise RuntimeError(f"{names[0]} and {names[1]} dimensionalities must be equal but got "
                           f"{comp.ndim} and {plain.ndim}, respectively")
    if comp.ndim == 0:
        raise RuntimeError(f"{names[0]} must have dimensionality >= 1 but got 0")
    if comp.ndim > 1 or values.ndim > 1:
        raise NotImplementedError(
            "Batched or hybrid sparse CSR/CSC tensors (indices of more than one dim, or "
            "values with dense dims) are not supported in ember; only 2-D tensors with one "
            "value per entry")
    if len(shape) != 2:
        raise RuntimeError(f"tensor dimensionality must be sum of batch, base, and dense "
                           f"dimensionalities (=0 + 2 + 0) but got {len(shape)}")
    nnz = values.shape[0]
    if plain.shape[0] != nnz:
        raise RuntimeError(f"{names[1]}.shape[-1] must be equal to nnz (={nnz}) as defined by "
                           f"values.shape[0], but got {plain.shape[0]}")
    major, minor = (shape[0], shape[1]) if layout is sparse_csr else (shape[1], shape[0])
    what = ("rows", "ncols", "nrows") if layout is sparse_csr else ("columns", "nrows", "ncols")
    if comp.shape[0] != major + 1:
        raise RuntimeError(f"{names[0]}.shape[-1] must be equal to the number of {what[0]} + 1 "
                           f"(={major + 1}), but got {comp.shape[0]}")
    c, p = comp._data, plain._data
    if c[0] != 0:
        raise RuntimeError(f"`{names[0]}[..., 0] == 0` is not satisfied.")
    if c[-1] != nnz:
        raise RuntimeError(f"`{names[0]}[..., -1] == nnz` is not satisfied.")
    if np.any(np.diff(c) < 0):
        raise RuntimeError(f"`0 <= {names[0]}[..., 1:] - {names[0]}[..., :-1] <= "
                           f"{what[1][1:]}` is not satisfied.")
    if np.any(np.diff(c) > minor):
        raise RuntimeError(f"`0 <= {names[0]}[..., 1:] - {names[0]}[..., :-1] <= "
                           f"{what[1][1:]}` is not satisfied.")
    if nnz and (p.min() < 0 or p.max() >= minor):
        raise RuntimeError(f"`0 <= {names[1]} < {what[1]}` is not satisfied.")
    if nnz > 1:
        # within each run, strictly increasing: a step down or a repeat is allowed only where
        # a new run starts
        starts = np.zeros(nnz, bool)
        starts[c[1:-1][c[1:-1] < nnz]] = True
        bad = (np.diff(p) <= 0) & ~starts[1:]
        if bad.any():
            raise RuntimeError(
                f"`{names[1]}[..., {names[0]}[..., i - 1]:{names[0]}[..., i]] for all i = 1, "
                f"..., {what[2]} are sorted and distinct along the last dimension values` is "
                "not satisfied.")


def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *,
                             dtype=None, layout=None, device=None, pin_memory=False,
                             requires_grad=False, check_invariants=None) -> Tensor:
    """A sparse CSR (``layout=ember.sparse_csr``) or CSC (``ember.sparse_csc``) tensor.

    ``compressed_indices`` are the ``n + 1`` pointers of the compressed dim (rows of CSR,
    columns of CSC); ``plain_indices`` the other index of each entry, sorted within each run.
    ``size`` defaults to the smallest that holds every index. Gradients reach ``values`` when
    it requires grad. Invariants are always checked (``check_invariants`` is accepted).

    Example:
        >>> ember.sparse_compressed_tensor([0, 1, 2], [1, 0], [5.0, 6.0],
        ...                                layout=ember.sparse_csr).to_dense()
        tensor([[0., 5.],
                [6., 0.]])
    """
    from ._creation import tensor as make_tensor
    from ._sparse_tensor import warn_invariants_implicit

    warn_invariants_implicit(check_invariants)
    if layout not in COMPRESSED:
        raise RuntimeError("sparse_compressed_tensor expected sparse compressed tensor layout "
                           f"but got {_layout_name(layout)}")
    if device is not None and Device(device).type != "cpu":
        if Device(device).type == "cuda":
            from ._backend import _require_cuda

            _require_cuda(Device(device))
        raise NotImplementedError(f"Sparse CSR/CSC tensors are CPU-only in ember (asked for "
                                  f"device '{Device(device)}')")
    comp, plain = _index_tensor(compressed_indices), _index_tensor(plain_indices)
    if not plain.numel() and plain._dtype.category >= D._FLOAT:
        plain = plain.to(comp._dtype)  # an empty list ([]) gives no entries, whatever its dtype
    if isinstance(values, (SparseTensor, CompressedTensor)):
        raise TypeError("sparse_compressed_tensor(): values must be a dense tensor")
    if not isinstance(values, Tensor):
        values = make_tensor(values, dtype=dtype)
    if values.device.type != "cpu":
        raise NotImplementedError("Sparse CSR/CSC tensors are CPU-only in ember; pass values "
                                  "on the CPU")
    if dtype is not None and D.to_dtype(dtype) is not values._dtype:
        values = values.to(D.to_dtype(dtype))
    if values.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz x dense dims)")
    if size is None:
        if comp.ndim == 1 and plain.ndim == 1 and plain._dtype.category < D._FLOAT \
                and comp._dtype is plain._dtype:
            minor = int(plain._data.max()) + 1 if plain.numel() else 0
            major = max(comp.shape[0] - 1, 0)
            shape = (major, minor) if layout is sparse_csr else (minor, major)
        else:
            shape = None
    else:
        shape = tuple(int(s) for s in (size if not isinstance(size, int) else (size,)))
    _check_invariants(comp, plain, values, shape if shape is not None else (0, 0), layout)
    if requires_grad and values._dtype.category < D._FLOAT:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients")
    out = FromValues.apply(values, comp._data, plain._data, shape, layout)
    if requires_grad:
        out.requires_grad_(True)
    return out


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory=False, requires_grad=False,
                      check_invariants=None, layout=None) -> Tensor:
    """A sparse CSR tensor: row ``i``'s entries are ``values[crow[i]:crow[i+1]]`` at columns
    ``col_indices[crow[i]:crow[i+1]]`` (sorted, distinct).

    Example:
        >>> c = ember.sparse_csr_tensor([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0], (2, 3))
        >>> c.to_dense()
        tensor([[0., 1., 0.],
                [2., 0., 3.]])
    """
    if layout is not None and layout is not sparse_csr:
        raise RuntimeError(f"sparse_csr_tensor: layout must be SparseCsr but got "
                           f"{_layout_name(layout)}")
    return sparse_compressed_tensor(crow_indices, col_indices, values, size, dtype=dtype,
                                    layout=sparse_csr, device=device, requires_grad=requires_grad,
                                    check_invariants=check_invariants)


def sparse_csc_tensor(ccol_indices, row_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory=False, requires_grad=False,
                      check_invariants=None, layout=None) -> Tensor:
    """A sparse CSC tensor: column ``j``'s entries are ``values[ccol[j]:ccol[j+1]]`` at rows
    ``row_indices[ccol[j]:ccol[j+1]]`` (sorted, distinct).

    Example:
        >>> c = ember.sparse_csc_tensor([0, 1, 2, 3], [1, 0, 1], [2.0, 1.0, 3.0], (2, 3))
        >>> c.to_dense()
        tensor([[0., 1., 0.],
                [2., 0., 3.]])
    """
    if layout is not None and layout is not sparse_csc:
        raise RuntimeError(f"sparse_csc_tensor: layout must be SparseCsc but got "
                           f"{_layout_name(layout)}")
    return sparse_compressed_tensor(ccol_indices, row_indices, values, size, dtype=dtype,
                                    layout=sparse_csc, device=device, requires_grad=requires_grad,
                                    check_invariants=check_invariants)


def to_compressed(x: Tensor, layout, blocksize=None, dense_dim=None) -> Tensor:
    """``x`` (dense, COO, CSR or CSC) in ``layout`` (CSR or CSC)."""
    if blocksize is not None:
        raise RuntimeError(f"dense_to_sparse: conversion from {_layout_name(x.layout)} to "
                           f"{_layout_name(layout)} with blocksize argument given is not "
                           "supported")
    if dense_dim:
        raise NotImplementedError("Hybrid sparse CSR/CSC tensors (dense_dim > 0) are not "
                                  "supported in ember")
    if isinstance(x, CompressedTensor):
        return x if x.layout is layout else ToOtherLayout.apply(x, layout)
    if x.ndim != 2:
        if isinstance(x, SparseTensor) or x.ndim < 2:
            raise RuntimeError(f"to_sparse_{_layout_name(layout)[6:].lower()}: expected a 2-D "
                               f"tensor, got {x.ndim}-D")
        raise NotImplementedError("Batched sparse CSR/CSC tensors (more than 2 dims) are not "
                                  "supported in ember")
    if isinstance(x, SparseTensor):
        if x.dense_dim():
            raise NotImplementedError("Hybrid sparse CSR/CSC tensors are not supported in "
                                      "ember")
        return CooToCompressed.apply(x, layout)
    if x.device.type != "cpu":
        raise NotImplementedError("Sparse CSR/CSC tensors are CPU-only in ember; call .cpu() "
                                  "first")
    return DenseToCompressed.apply(x, layout)


def _to_sparse_csr(self, dense_dim=None):
    """The sparse CSR form of a 2-D tensor (its nonzero entries).

    Example:
        >>> ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csr().crow_indices()
        tensor([0, 1, 2])
    """
    return to_compressed(self, sparse_csr, None, dense_dim)


def _to_sparse_csc(self):
    """The sparse CSC form of a 2-D tensor (its nonzero entries).

    Example:
        >>> ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csc().row_indices()
        tensor([1, 0])
    """
    return to_compressed(self, sparse_csc, None, None)


# -- serialization -----------------------------------------------------------------------------

def reduce_args(t: CompressedTensor) -> tuple:
    """``(compressed, plain, values, size)``: the data PyTorch pickles a compressed tensor as
    (``torch._utils._rebuild_sparse_tensor(layout, data)``)."""
    from ._tensor import Size

    data = t._data
    return (dense_tensor(data.compressed), dense_tensor(data.plain),
            dense_tensor(data.values, t._dtype), Size(data.shape))


def rebuild_compressed(layout, data) -> CompressedTensor:
    """A compressed tensor from PyTorch's pickled form (``layout``, ``(compressed, plain,
    values, size)``), invariants checked."""
    if layout not in COMPRESSED:
        raise RuntimeError(f"rebuild_compressed: {layout} is not a sparse compressed layout "
                           "ember builds (sparse_csr, sparse_csc)")
    if not (isinstance(data, tuple) and len(data) == 4
            and all(isinstance(a, Tensor) for a in data[:3])):
        raise RuntimeError("a sparse compressed tensor record that is not (compressed_indices, "
                           "plain_indices, values, size)")
    return sparse_compressed_tensor(data[0], data[1], data[2], tuple(data[3]), layout=layout)


# -- repr --------------------------------------------------------------------------------------

def compressed_repr(t: CompressedTensor) -> str:
    """PyTorch's repr of a CSR/CSC tensor: the two index tensors, the values, then size, nnz,
    dtype, layout (continuing the values line while it fits)."""
    from ._tensor_str import PRINT_OPTS, tensor_body

    indent = len("tensor(")
    data = t._data
    names = ("crow_indices", "col_indices") if data.layout is sparse_csr else \
        ("ccol_indices", "row_indices")
    parts = []
    for name, arr, dtype in ((names[0], data.compressed, None), (names[1], data.plain, None),
                             ("values", data.values, t._dtype)):
        x = dense_tensor(arr, dtype)
        prefix = f"{name}=tensor("
        body = tensor_body(x, indent + len(prefix))
        if not x.numel():
            body += f", size={tuple(x.shape)}"
        parts.append(f"{prefix}{body})")
    text = "tensor(" + f",\n{' ' * indent}".join(parts)
    suffixes = [f"size={tuple(data.shape)}", f"nnz={data.nnz}"]
    default = D.get_default_dtype()
    if t._dtype not in (default, D.int64, D.bool,
                        D.complex128 if default is D.float64 else D.complex64):
        suffixes.append(f"dtype={t._dtype}")
    suffixes.append(f"layout={data.layout}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"


# -- hooks: the dense tensor's methods and the routed torch functions ---------------------------

def _strided_error(name, kind):
    def method(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected sparse {kind} compressed tensor layout but got "
                           f"{_layout_name(self.layout)}")

    method.__name__ = name
    method.__doc__ = f"Sparse {kind}-compressed tensors only: on this tensor ``{name}()`` raises."
    return method


DENSE_METHODS = {
    "to_sparse_csr": _to_sparse_csr, "to_sparse_csc": _to_sparse_csc,
    "crow_indices": _strided_error("crow_indices", "row"),
    "col_indices": _strided_error("col_indices", "row"),
    "ccol_indices": _strided_error("ccol_indices", "column"),
    "row_indices": _strided_error("row_indices", "column"),
}

# the torch functions that hand a compressed operand here (ember/__init__.py routes them)
ROUTED = {"mm": mm, "matmul": matmul, "addmm": addmm, "mv": mv, "add": add}


def bind_dense_methods() -> None:
    """Give ``Tensor`` (dense and COO) ``to_sparse_csr``/``to_sparse_csc`` and the compressed
    index accessors (which raise on them, as in PyTorch)."""
    for name, fn in DENSE_METHODS.items():
        if name not in vars(Tensor):
            setattr(Tensor, name, fn)


# -- entry-wise functions, products with dense tensors, sums (issue 13) -----------------------

# The unary functions PyTorch runs on CSR/CSC tensors. Each sends 0 to 0 (or to False), so it
# needs the stored values only and its result keeps the input's indices, explicit zeros
# included; functions with f(0) != 0 (cos, exp, sigmoid ...) would fill the matrix and raise.
PATTERN_UNARY = (
    "abs", "absolute", "angle", "asin", "arcsin", "asinh", "arcsinh", "atan", "arctan",
    "atanh", "arctanh", "ceil", "conj_physical", "deg2rad", "erf", "erfinv", "expm1", "fix",
    "floor", "frac", "isinf", "isnan", "isneginf", "isposinf", "log1p", "neg", "negative",
    "positive", "rad2deg", "relu", "round", "sgn", "sign", "signbit", "sin", "sinh", "sqrt",
    "tan", "tanh", "trunc")
# PyTorch has no in-place form of the predicates, angle and positive
_NO_INPLACE = {"angle", "isinf", "isnan", "isneginf", "isposinf", "positive", "signbit"}
PATTERN_UNARY_INPLACE = tuple(n + "_" for n in PATTERN_UNARY if n not in _NO_INPLACE)


def _rebuild_like(c: CompressedTensor, vals: Tensor) -> CompressedTensor:
    """A compressed tensor with ``c``'s indices and the (dense, 1-D) ``vals``, recorded so
    that the gradient flows back into ``vals``; the node takes the name of ``vals``' node."""
    data = c._data
    out = FromValues.apply(vals, data.compressed, data.plain, data.shape, data.layout)
    out._data._plans = data._plans
    if out.grad_fn is not None and vals.grad_fn is not None:
        out.grad_fn._name = vals.grad_fn.name()
    return out


def pattern_unary(c: CompressedTensor, name: str, *args, **kwargs) -> CompressedTensor:
    """``name`` (one of ``PATTERN_UNARY``) applied to the stored values of ``c``: the dense op
    on the values vector, so dtypes, errors and gradients are the dense op's."""
    if kwargs.get("out") is not None:
        raise unsupported(f"{name}(out=...)")
    kwargs.pop("out", None)
    if name == "round" and (kwargs.get("decimals") or (args and args[0])):
        raise RuntimeError(f"unsupported tensor layout: {_layout_name(c.layout)}")
    vals = getattr(Values.apply(c), name)(*args, **kwargs)
    return _rebuild_like(c, vals)


def pattern_unary_(c: CompressedTensor, name: str, *args, **kwargs) -> CompressedTensor:
    """The in-place form of ``pattern_unary`` (``name`` without the trailing ``_``)."""
    if c._requires_grad and _state.enabled and c.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    out = pattern_unary(c, name, *args, **kwargs)
    if out._dtype is not c._dtype:
        from ._ops.inplace import _type_title

        raise RuntimeError(f"result type {_type_title(out._dtype)} can't be cast to the "
                           f"desired output type {_type_title(c._dtype)}")
    c._data = out._data
    c._vbox[0] += 1
    if out.grad_fn is not None:
        c.grad_fn, c._output_nr, c._requires_grad = out.grad_fn, 0, True
    return c


def _unary_method(name):
    def method(self, *args, **kwargs):
        return pattern_unary(self, name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = (f"``{name}`` of the stored values; the result keeps this tensor's indices."
                      "\n\nExample:\n    >>> c = ember.tensor([[0.0, -1.0]]).to_sparse_csr()\n"
                      f"    >>> c.{name}().layout\n    torch.sparse_csr")
    return method


def _unary_method_(name):
    base = name[:-1]

    def method(self, *args, **kwargs):
        return pattern_unary_(self, base, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = (f"In-place ``{base}`` of the stored values (the indices stay).\n\n"
                      "Example:\n    >>> c = ember.tensor([[0.0, -1.0]]).to_sparse_csr()\n"
                      f"    >>> c.{name}() is c\n    True")
    return method


for _n in PATTERN_UNARY:
    setattr(CompressedTensor, _n, _unary_method(_n))
for _n in PATTERN_UNARY_INPLACE:
    setattr(CompressedTensor, _n, _unary_method_(_n))
CompressedTensor.__neg__ = CompressedTensor.neg
CompressedTensor.__abs__ = CompressedTensor.abs


def mul(input, other, *, out=None):
    """``input * other`` with a compressed operand: by a number or a 0-d tensor, by a dense
    tensor of the same shape (the result keeps the compressed operand's entries), or by a
    compressed tensor of the same layout and shape (the entries both have), as in PyTorch.

    Example:
        >>> c = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse_csr()
        >>> (c * ember.tensor([[5.0, 6.0], [7.0, 8.0]])).values()
        tensor([12., 21.])
    """
    if out is not None:
        raise unsupported("mul(out=...)")
    c, x = (input, other) if isinstance(input, CompressedTensor) else (other, input)
    if isinstance(x, CompressedTensor):
        if x.layout is not c.layout:
            raise unsupported("Multiplying CSR and CSC tensors together")
        if tuple(x.shape) != tuple(c.shape):
            raise RuntimeError("mul(): expects sparse inputs with equal dimensionality, number "
                               "of sparse dimensions, and shape of sparse dimensions")
        prod = c.to_sparse_coo() * x.to_sparse_coo()  # both coalesced: the intersection
        return to_compressed(prod, c.layout)
    if isinstance(x, SparseTensor):
        raise unsupported("Multiplying a compressed tensor by a sparse COO tensor")
    if isinstance(x, Tensor) and (x.ndim or x.requires_grad):
        if x.ndim and tuple(x.shape) != tuple(c.shape):
            raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has "
                               f"size {list(x.shape)} but mask has size {list(c.shape)}")
        factor = x
        if x.ndim:
            rows, cols = (dense_tensor(a) for a in c._data.rows_cols())
            factor = x[rows, cols]
        return _rebuild_like(c, Values.apply(c) * factor)
    return scale(c, x)


CompressedTensor.mul = CompressedTensor.multiply = CompressedTensor.__mul__ = mul
CompressedTensor.__rmul__ = lambda self, other: mul(other, self)


def compressed_sparse_mask(x: Tensor, mask: CompressedTensor) -> CompressedTensor:
    """``x.sparse_mask(mask)`` for a compressed ``mask``: ``x``'s values at ``mask``'s
    entries, in ``mask``'s layout (``x`` dense, COO or compressed)."""
    if tuple(mask.shape) != tuple(x.shape):
        raise RuntimeError("sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(x.shape)} but mask has size {list(mask.shape)}")
    rows, cols = mask._data.rows_cols()
    if isinstance(x, (SparseTensor, CompressedTensor)):
        # a sparse source keeps only the mask entries it stores itself, as in PyTorch
        stored = x.to_sparse_coo() if isinstance(x, CompressedTensor) else x
        sidx, _ = stored._data.coalesced_arrays()
        n = mask.shape[1]
        keep = np.isin(rows * n + cols, sidx[0] * n + sidx[1])
        rows, cols = rows[keep], cols[keep]
        x = x.to_dense()
    data = _from_entries(rows, cols, np.zeros(rows.size), mask._data.shape, mask.layout,
                         mask._data.compressed.dtype)
    r, c = (dense_tensor(a) for a in data.rows_cols())
    out = FromValues.apply(x[r, c], data.compressed, data.plain, data.shape, data.layout)
    if out.grad_fn is not None:
        out.grad_fn._name = "SparseMaskBackward0"
    return out


class SumAll(SparseFunction):
    """The sum of all entries, a dense 0-d tensor; the gradient is dense and full (every
    element, stored or not, adds to the sum), as PyTorch gives it."""

    _name = "SumBackward0"

    @staticmethod
    def forward(ctx, c, dtype):
        ctx.shape, ctx.src = c._data.shape, c._dtype
        return dense_tensor(c._data.values, c._dtype).sum(dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        g = np.broadcast_to(_astype(np.asarray(grad._data), ctx.src), ctx.shape).copy()
        return dense_tensor(g, ctx.src), None


class SumDims(SparseFunction):
    """``csr.sum(dims, keepdim=True)``: a CSR tensor with one entry per row (``dims`` {1}),
    per column ({0}) or in all ({0, 1}) that holds any stored entry."""

    _name = "SumBackward1"

    @staticmethod
    def forward(ctx, c, dims, dtype):
        data = c._data
        ctx.data, ctx.dims = data, dims
        out_dtype = dense_tensor(data.values[:0], c._dtype).sum(dtype=dtype)._dtype
        vals = _astype(data.values, out_dtype)
        rows, cols = data.rows_cols()
        n, m = data.shape
        idt = data.compressed.dtype
        if dims == (0, 1):
            keys, shape = np.zeros(data.nnz, np.int64), (1, 1)
        elif dims == (1,):
            keys, shape = rows, (n, 1)
        else:
            keys, shape = cols, (1, m)
        present, where = np.unique(keys, return_inverse=True)
        sums = np.zeros(present.size, vals.dtype)
        np.add.at(sums, where.reshape(-1), vals)
        zeros = np.zeros(present.size, idt)
        if dims == (1,):  # one entry, in column 0, per non-empty row
            out = CompressedData(_pointers(present, n, idt), zeros, sums, shape, sparse_csr)
        else:  # row 0 only
            plain = zeros if dims == (0, 1) else present.astype(idt)
            out = CompressedData(np.array([0, present.size], idt), plain, sums, shape,
                                 sparse_csr)
        return CompressedTensor._make(out, out_dtype)

    @staticmethod
    def backward(ctx, grad):
        g = grad._data.dense() if isinstance(grad, CompressedTensor) else \
            (grad.to_dense()._data if isinstance(grad, SparseTensor) else grad._data)
        rows, cols = ctx.data.rows_cols()
        at = (np.zeros_like(rows) if 0 in ctx.dims else rows,
              np.zeros_like(cols) if 1 in ctx.dims else cols)
        return _like(ctx.data, np.asarray(g)[at], grad._dtype), None, None


def compressed_sum(c: CompressedTensor, dim=None, keepdim=False, *, dtype=None, out=None):
    """``torch.sum`` of a compressed tensor: all entries (a dense 0-d tensor), or over ``dim``
    with ``keepdim=True`` (CSR only; a CSR tensor), as PyTorch allows.

    Example:
        >>> c = ember.tensor([[0.0, 2.0], [3.0, 4.0]]).to_sparse_csr()
        >>> c.sum(), c.sum(1, keepdim=True).values()
        (tensor(9.), tensor([2., 7.]))
    """
    if out is not None:
        raise unsupported("sum(out=...)")
    if dim is None:
        return SumAll.apply(c, dtype)
    from ._ops._core import wrap_dim

    dims = tuple(sorted({wrap_dim(d, 2) for d in ((dim,) if isinstance(dim, int) else dim)}))
    if not dims:
        return SumAll.apply(c, dtype)
    if c.layout is not sparse_csr:
        raise RuntimeError("Currently the only compressed sparse format supported for "
                           f"sum.dim_IntList is CSR, but got layout {_layout_name(c.layout)}")
    if not keepdim:
        raise RuntimeError("reduction operations on CSR tensors with keepdim=False is "
                           "unsupported")
    if c._dtype is D.bool and dtype is None:
        raise NotImplementedError("\"_sparse_csr_sum_cpu\" not implemented for 'Bool'")
    return SumDims.apply(c, dims, dtype)


CompressedTensor.sum = compressed_sum

# ``torch.<name>(compressed, ...)``: the functions ember/__init__.py hands a compressed
# operand to (one type check per call on the dense path)
def _unary_function(name):
    def fn(input, *args, **kwargs):
        return pattern_unary(input, name, *args, **kwargs)

    return fn


COMPRESSED_FUNCS = {n: _unary_function(n) for n in PATTERN_UNARY}
COMPRESSED_FUNCS.update(sum=compressed_sum, mul=mul, multiply=mul)


def route_compressed(dense_fn, name):
    """Wrap the public ``dense_fn`` so a compressed operand (first or second positional, or
    ``input=``) goes to ``COMPRESSED_FUNCS[name]``."""
    import functools

    from ._sparse_ops import COO_UNARY, coo_unary

    impl = COMPRESSED_FUNCS[name]
    coo_too = name in COO_UNARY or name in ("abs", "sqrt")

    def sole_coo(args, kwargs):
        # the COO form takes the tensor alone (torch.sin(coo)); anything else stays refused
        x = args[0] if len(args) == 1 and not kwargs else kwargs.get("input")
        return x if type(x) is SparseTensor and len(args) + len(kwargs) == 1 else None

    @functools.wraps(dense_fn)
    def fn(*args, **kwargs):
        if args:
            if type(args[0]) is CompressedTensor or (
                    len(args) > 1 and type(args[1]) is CompressedTensor):
                return impl(*args, **kwargs)
        elif type(kwargs.get("input")) is CompressedTensor:
            return impl(kwargs.pop("input"), **kwargs)
        try:
            return dense_fn(*args, **kwargs)
        except NotImplementedError:
            # a COO tensor: the dense kernels refuse its payload, so the dense path pays nothing
            coo = sole_coo(args, kwargs) if coo_too else None
            if coo is None:
                raise
        return coo_unary(coo, name)

    if name == "isnan" or name == "isinf":
        # these dense forms do not refuse a COO payload (they answer on its stored values, as
        # anomaly detection wants), so a COO operand is caught before them
        @functools.wraps(dense_fn)
        def fn(*args, **kwargs):  # noqa: F811
            if args and type(args[0]) is CompressedTensor:
                return impl(*args, **kwargs)
            coo = sole_coo(args, kwargs)
            return dense_fn(*args, **kwargs) if coo is None else coo_unary(coo, name)

    return fn
