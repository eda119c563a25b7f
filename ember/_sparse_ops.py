"""Operations on sparse COO tensors, each a recorded autograd node with PyTorch's node name.

Gradients follow PyTorch 2.13: ``torch.sparse.mm(S, X)`` (SparseAddmmBackward0) gives S a
sparse gradient on S's own entries; ``torch.mm``/``matmul``/``spmm``/``@`` (MmBackward0) give a
sparse leaf a dense gradient; ``to_dense()``'s gradient is masked to the entries; a
``sparse_coo_tensor`` built from values that require grad sends each value the gradient at its
index. Backward passes run on arrays (first-order gradients; double backward through sparse
ops is not recorded).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _dtype as D
from . import _sparse_kernels as K
from ._sparse_tensor import (
    CooData,
    SparseFunction,
    SparseTensor,
    dense_tensor,
    make_sparse,
    unsupported,
)
from ._tensor import Tensor
from .autograd import grad_mode

_state = grad_mode._state


def _astype(arr, dtype: D.dtype):
    return arr if arr.dtype == dtype.np_dtype else arr.astype(dtype.np_dtype)


def _like(coo: CooData, values, dtype, coalesced=None) -> SparseTensor:
    """A sparse tensor with ``coo``'s indices (sharing its cached index plans) and new values."""
    out = make_sparse(coo.indices, values, coo.shape,
                      coo.coalesced if coalesced is None else coalesced, dtype)
    out._data._plans = coo._plans
    return out


def uncoalesced(t: Tensor) -> Tensor:
    """``t`` flagged uncoalesced when sparse (the payload's arrays shared): most of PyTorch's
    sparse backward formulas build their gradient without the coalesced flag, whatever the
    order of its entries."""
    if not isinstance(t, SparseTensor) or not t._data.coalesced:
        return t
    coo = t._data
    out = make_sparse(coo.indices, coo.values, coo.shape, False, t._dtype)
    out._data._plans = coo._plans
    return out


def values_at(grad: Tensor, indices) -> Tensor:
    """The gradient's values at each of ``indices`` (``(nnz, *dense)``); ``grad`` is dense or
    sparse (absent entries give zeros)."""
    if isinstance(grad, SparseTensor):
        coo = grad._data
        gi, gv = coo.coalesced_arrays()
        return dense_tensor(K.lookup(gi, gv, indices, coo.shape[:coo.sparse_dim]), grad._dtype)
    return dense_tensor(grad._data[tuple(indices)], grad._dtype)


def mask_like(grad: Tensor, coo: CooData) -> SparseTensor:
    """``grad`` restricted to the (coalesced) entries of ``coo``, as a sparse tensor."""
    idx = coo.coalesced_arrays()[0]
    vals = values_at(grad, idx)
    out = make_sparse(idx, vals._data, coo.shape, False, vals._dtype)
    if coo.coalesced:
        out._data._plans = coo._plans
    return out


# -- construction and conversion ---------------------------------------------------------------

class FromValues(SparseFunction):
    _name = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def forward(ctx, values, indices, shape, coalesced):
        ctx.indices = indices
        return make_sparse(indices, values._data, shape, coalesced, values._dtype)

    @staticmethod
    def backward(ctx, grad):
        return values_at(grad, ctx.indices), None, None, None


class Coalesce(SparseFunction):
    _name = "CoalesceBackward0"

    @staticmethod
    def forward(ctx, s):
        coo = s._data
        plan = coo.plan()
        values = plan.values(coo.values)
        if values is coo.values:
            values = values.copy()
        return make_sparse(plan.indices, values, coo.shape, True, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


class ToDense(SparseFunction):
    _name = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, s, dtype, masked):
        coo = s._data
        ctx.coo, ctx.masked, ctx.src = coo, masked, s._dtype
        arr = K.to_dense(coo.indices, coo.values, coo.shape, coo.plan())
        if dtype is not None and dtype is not s._dtype:
            return dense_tensor(_astype(arr, dtype), dtype)
        return dense_tensor(arr, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        if grad._dtype is not ctx.src:
            grad = grad.to(ctx.src)
        if not ctx.masked:
            return grad, None, None
        return mask_like(grad, ctx.coo), None, None


class DenseToSparse(SparseFunction):
    _name = "ToSparseBackward1"

    @staticmethod
    def forward(ctx, x, sparse_dim, name):
        ctx._name = name
        idx, vals = K.from_dense(x._data, sparse_dim)
        return make_sparse(idx, vals, x._data.shape, True, x._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad.to_dense() if isinstance(grad, SparseTensor) else grad), None, None


class SparseMask(SparseFunction):
    _name = "SparseMaskBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        idx = mask._data.coalesced_arrays()[0]
        return make_sparse(idx, x._data[tuple(idx)], mask._data.shape, True, x._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad.to_dense() if isinstance(grad, SparseTensor) else grad), None


class Values(SparseFunction):
    _name = "ValuesBackward0"

    @staticmethod
    def forward(ctx, s):
        ctx.coo = s._data
        return dense_tensor(s._data.values, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (_like(ctx.coo, grad._data, grad._dtype),)


class Clone(SparseFunction):
    _name = "CloneBackward0"

    @staticmethod
    def forward(ctx, s):
        coo = s._data
        return make_sparse(coo.indices.copy(), coo.values.copy(), coo.shape, coo.coalesced,
                           s._dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


class Cast(SparseFunction):
    _name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, s, dtype):
        ctx.src = s._dtype
        return _like(s._data, _astype(s._data.values, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        return uncoalesced(grad.to(ctx.src)), None


# -- sums, scalings, transposes --------------------------------------------------------------

def add_payloads(a: CooData, b: CooData, alpha) -> CooData:
    """The entries of ``a + alpha * b`` (PyTorch's merge; coalesced when both inputs are)."""
    if a.sparse_dim != b.sparse_dim:
        raise RuntimeError(
            f"add: expected same number of sparse dims, but self has {a.sparse_dim} and "
            f"other has {b.sparse_dim}")
    bv = b.values if alpha == 1 else b.values * alpha
    dtype = np.result_type(a.values.dtype, bv.dtype)
    both = a.coalesced and b.coalesced
    idx, vals = K.merge_add(a.indices, a.values.astype(dtype, copy=False), b.indices,
                            bv.astype(dtype, copy=False), a.shape[:a.sparse_dim], both)
    return CooData(idx, vals, a.shape, both)


class Add(SparseFunction):
    _name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha, name):
        ctx._name, ctx.alpha = name, alpha
        ctx.dtypes = (a._dtype, b._dtype)
        dtype = D.promote_types(a._dtype, b._dtype)
        if isinstance(a, SparseTensor):  # sparse + sparse
            out = add_payloads(a._data, b._data, alpha)
            return SparseTensor._make(out, dtype)
        dense = K.to_dense(b._data.indices, b._data.values, b._data.shape, b._data.plan())
        arr = _astype(a._data, dtype) + (dense if alpha == 1 else dense * alpha)
        return dense_tensor(_astype(arr, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        ga, gb = grad, grad if ctx.alpha == 1 else grad * ctx.alpha
        ga = ga if ga._dtype is ctx.dtypes[0] else ga.to(ctx.dtypes[0])
        gb = gb if gb._dtype is ctx.dtypes[1] else gb.to(ctx.dtypes[1])
        return ga, gb, None, None


def add(input, other, *, alpha=1, name="AddBackward0"):
    """``input + alpha * other`` for sparse + sparse (sparse) or dense + sparse (dense)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise unsupported("Adding a number to a sparse tensor (the result would be dense)")
    if not isinstance(other, SparseTensor):
        raise RuntimeError(
            "add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if isinstance(input, SparseTensor):
        if tuple(input.shape) != tuple(other.shape):
            raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but "
                               f"{list(input.shape)} != {list(other.shape)}")
    elif tuple(input.shape) != tuple(other.shape):
        raise RuntimeError(
            f"add: expected 'self' and 'other' to have same size, but self has size "
            f"{list(input.shape)} while other has size {list(other.shape)} (FYI: dense-sparse "
            "addition does not currently support broadcasting)")
    elif input.device.type != "cpu":
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and cpu!")
    return Add.apply(input, other, alpha, name)


_SCALE_NAMES = {"mul": "MulBackward0", "div": "DivBackward0", "neg": "NegBackward0"}


class Scale(SparseFunction):
    @staticmethod
    def forward(ctx, s, factor, kind):
        ctx._name, ctx.factor, ctx.kind = _SCALE_NAMES[kind], factor, kind
        dtype = D.result_type(s, factor)
        if kind == "div" and dtype.category < D._FLOAT:
            dtype = D.get_default_dtype()
        vals = _astype(s._data.values, dtype)
        if kind == "mul":
            vals = vals * factor
        elif kind == "div":
            vals = vals / factor
        else:
            vals = -vals
        return _like(s._data, _astype(vals, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        if ctx.kind == "mul":
            return uncoalesced(grad * ctx.factor), None, None
        if ctx.kind == "div":
            return uncoalesced(grad / ctx.factor), None, None
        return uncoalesced(-grad), None, None


class MulDense(SparseFunction):
    """``s * x`` for a dense ``x`` that broadcasts to ``s``'s shape: a sparse tensor on ``s``'s
    own entries (PyTorch keeps their order and the coalesced flag), each scaled by ``x`` at
    its coordinates, e.g. row-normalising a user-item matrix by ``1 / degree[:, None]``."""

    @staticmethod
    def forward(ctx, s, x):
        ctx._name, ctx.other = "MulBackward0", x
        coo = s._data
        dtype = D.result_type(s, x)
        # the sparse coordinates pick each entry's factor (a slice over the dense dims)
        factor = np.broadcast_to(x._data, coo.shape)[tuple(coo.indices)]
        vals = _astype(coo.values, dtype) * _astype(factor, dtype)
        return _like(coo, _astype(vals, dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        return uncoalesced(grad * ctx.other), None


def _intersect_plan(a: SparseTensor, b: SparseTensor):
    """How PyTorch lays out ``a * b`` of two sparse tensors: two coalesced operands give their
    coalesced intersection; otherwise the entries of one operand are kept in storage order (the
    uncoalesced one; of two uncoalesced, the one with fewer entries, the second on a tie), each
    times the other's (coalesced) value there, zero where it has none.
    Returns (indices, kept values, looked-up values, kept is a, coalesced)."""
    ca, cb = a._data, b._data
    if ca.coalesced and cb.coalesced:
        ai, av = ca.indices, ca.values
        bi, bv = cb.indices, cb.values
        la, lb = K.linear_index(ai, ca.shape), K.linear_index(bi, cb.shape)
        common, pa, pb = np.intersect1d(la, lb, assume_unique=True, return_indices=True)
        return ai[:, pa], av[pa], bv[pb], True, True
    keep_a = not ca.coalesced and (cb.coalesced or ca.nnz < cb.nnz)
    kept, other = (ca, cb) if keep_a else (cb, ca)
    oi, ov = other.coalesced_arrays()
    return kept.indices, kept.values, K.lookup(oi, ov, kept.indices, other.shape), keep_a, False


class MulSparse(SparseFunction):
    """``a * b`` of two sparse COO tensors of one shape (hybrid ones too): the product on the
    entries both have (see ``_intersect_plan`` for PyTorch's layout of the result). Each
    operand's gradient lies on the other operand's entries (on the result's when both are
    coalesced): the other's value times the output gradient there, as in PyTorch."""

    _name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a.detach(), b.detach()
        dtype = D.result_type(a, b)
        shape = a._data.shape
        if a._data.nnz == 0 or b._data.nnz == 0:
            ctx.out_idx = np.zeros((a._data.sparse_dim, 0), np.int64)
            dense = shape[a._data.sparse_dim:]  # a hybrid tensor's values keep their dense dims
            return make_sparse(ctx.out_idx, np.zeros((0,) + dense, dtype.np_dtype), shape, True,
                               dtype)
        idx, kv, ov, keep_a, coalesced = _intersect_plan(a, b)
        ctx.out_idx, ctx.both = idx, coalesced
        x, y = (kv, ov) if keep_a else (ov, kv)
        vals = _astype(_astype(x, dtype) * _astype(y, dtype), dtype)
        return make_sparse(idx, vals, shape, coalesced, dtype)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's rule: the output gradient, taken on the result's entries (coalesced), times
        # the other operand, as a sparse product laid out like the forward one (so whose
        # entries a gradient lies on depends on both operands' coalesced flags)
        g = grad.to_dense() if isinstance(grad, SparseTensor) else grad
        shape = ctx.a._data.shape
        lin, first = np.unique(K.linear_index(ctx.out_idx, shape), return_index=True)
        gidx = ctx.out_idx[:, first]
        gy = make_sparse(gidx, np.asarray(g._data)[tuple(gidx)], shape, True, g._dtype)
        outs = []
        for mine, other, need in ((ctx.a, ctx.b, ctx.needs_input_grad[0]),
                                  (ctx.b, ctx.a, ctx.needs_input_grad[1])):
            if not need:
                outs.append(None)
                continue
            if gidx.shape[1] == 0 or other._data.nnz == 0:
                idx = np.zeros((other._data.sparse_dim, 0), np.int64)
                vals = np.zeros((0,) + shape[other._data.sparse_dim:], mine._dtype.np_dtype)
            else:
                idx, kv, ov, _, _ = _intersect_plan(gy, other)
                vals = _astype(kv * ov, mine._dtype)
            outs.append(make_sparse(idx, vals, shape, False, mine._dtype))
        return tuple(outs)


def mul_sparse(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """``a * b`` for two sparse COO tensors."""
    ca, cb = a._data, b._data
    if ca.shape != cb.shape or ca.sparse_dim != cb.sparse_dim:
        raise RuntimeError("sparse_binary_op_intersection_cpu(): expects sparse inputs with "
                           "equal dimensionality, number of sparse dimensions, and shape of "
                           "sparse dimensions")
    return MulSparse.apply(a, b)


def scale(s: SparseTensor, other, kind: str):
    """``s * other`` / ``s / other`` / ``-s`` for a number (or a 0-d tensor) ``other``; ``s *
    x`` for a dense ``x`` that broadcasts to ``s``'s shape."""
    if (kind == "mul" and isinstance(other, Tensor) and not isinstance(other, SparseTensor)
            and other.ndim and not other.requires_grad):
        from ._ops._core import broadcast_shapes

        if broadcast_shapes(tuple(other.shape), tuple(s.shape)) == tuple(s.shape):
            return MulDense.apply(s, other)
    if kind == "mul" and isinstance(other, SparseTensor):
        return mul_sparse(s, other)
    if isinstance(other, Tensor):
        if isinstance(other, SparseTensor) or other.ndim or other.requires_grad:
            raise unsupported(f"{'Multiplying' if kind == 'mul' else 'Dividing'} a sparse "
                              "tensor by a tensor (only numbers are supported)")
        other = other.item()
    if isinstance(other, np.generic):
        other = other.item()
    if not isinstance(other, (bool, int, float, complex)):
        raise TypeError(f"unsupported operand type for sparse {kind}: {type(other).__name__}")
    return Scale.apply(s, other, kind)


class IndexSelect(SparseFunction):
    """``s.index_select(dim, index)`` along a sparse dim. PyTorch's order: for each position
    ``k`` of ``index``, the entries whose coordinate is ``index[k]``, in storage order; the
    result is flagged coalesced only when it has fewer than two entries."""

    @staticmethod
    def forward(ctx, s, dim, index):
        coo = s._data
        ctx._name, ctx.dim, ctx.index, ctx.shape = "IndexSelectBackward0", dim, index, coo.shape
        ctx.sparse_dim = coo.sparse_dim
        coords = coo.indices[dim]
        order = np.argsort(coords, kind="stable")
        lo = np.searchsorted(coords[order], index, "left")
        counts = np.searchsorted(coords[order], index, "right") - lo
        starts = np.cumsum(counts) - counts
        within = np.arange(int(counts.sum())) - np.repeat(starts, counts)
        take = order[np.repeat(lo, counts) + within]
        indices = coo.indices[:, take]
        indices[dim] = np.repeat(np.arange(len(index)), counts)
        shape = list(coo.shape)
        shape[dim] = len(index)
        return make_sparse(indices, coo.values[take], tuple(shape), len(take) < 2, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        # each selected coordinate k goes back to index[k]; repeats add up (left uncoalesced)
        if not isinstance(grad, SparseTensor):
            grad = grad.to_sparse(ctx.sparse_dim)
        coo = grad._data
        indices = coo.indices.copy()
        indices[ctx.dim] = ctx.index[indices[ctx.dim]]
        return make_sparse(indices, coo.values, ctx.shape, False, grad._dtype), None, None


def index_select(s: SparseTensor, dim: int, index, *, squeeze: bool = False):
    """``s.index_select(dim, index)`` (``squeeze``: ``s.select(dim, index)``, the dim
    removed) for a sparse ``dim``; checks and errors as PyTorch's."""
    from ._ops._core import wrap_dim

    dim = wrap_dim(dim, s.ndim)
    if squeeze:
        size = s.shape[dim]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension {dim} with size "
                             f"{size}")
        idx = np.array([index % size], np.int64)
    else:
        if (not isinstance(index, Tensor) or isinstance(index, SparseTensor) or index.ndim > 1
                or index._dtype not in (D.int64, D.int32)):
            raise IndexError("index_select() argument index must be 1-D strided (non-sparse) "
                             "long-tensor.")
        idx = np.asarray(index._data, np.int64).reshape(-1)
        bad = idx[(idx < 0) | (idx >= s.shape[dim])]
        if bad.size:
            raise IndexError(f"index_select(): index contains {int(bad[0])} that is out of "
                             f"range for tensor of size {list(s.shape)} at dimension {dim}")
    if dim >= s.sparse_dim():
        raise unsupported("index_select/select along a dense dim")
    out = IndexSelect.apply(s, dim, idx)
    return SelectSqueeze.apply(out, dim) if squeeze else out


class SelectSqueeze(SparseFunction):
    """Drops the selected (size-1) dim of ``IndexSelect``'s result: ``SelectBackward0``.
    PyTorch's select leaves the entries uncoalesced unless there is at most one."""

    @staticmethod
    def forward(ctx, s, dim):
        coo = s._data
        ctx._name, ctx.dim, ctx.shape = "SelectBackward0", dim, coo.shape
        keep = [d for d in range(coo.sparse_dim) if d != dim]
        shape = tuple(n for d, n in enumerate(coo.shape) if d != dim)
        return make_sparse(coo.indices[keep], coo.values, shape, coo.nnz < 2, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        if not isinstance(grad, SparseTensor):
            return grad.unsqueeze(ctx.dim), None
        coo = grad._data
        indices = np.insert(coo.indices, ctx.dim, 0, axis=0)
        return make_sparse(indices, coo.values, ctx.shape, False, grad._dtype), None


class ValuesMap(SparseFunction):
    """A zero-preserving function of the entries (``abs``, ``sqrt``, ``pow`` by a nonzero
    number) on a coalesced tensor: PyTorch coalesces first (``|a + b|`` is not ``|a| + |b|``)
    and flags the result coalesced."""

    _NAMES = {"abs": "AbsBackward0", "sqrt": "SqrtBackward0", "pow": "PowBackward0"}

    @staticmethod
    def forward(ctx, s, kind, exponent):
        coo = s._data
        ctx._name, ctx.kind, ctx.exponent = ValuesMap._NAMES[kind], kind, exponent
        ctx.indices, ctx.shape = coo.indices, coo.shape
        if kind == "pow":
            dtype = D.result_type(s, exponent)
        elif kind == "sqrt" and s._dtype.category < D._FLOAT:
            dtype = D.get_default_dtype()
        else:
            dtype = s._dtype
        vals = _astype(coo.values, dtype)
        ctx.values = vals
        if kind == "abs":
            out = np.abs(vals)
        elif kind == "sqrt":
            out = np.sqrt(vals)
        else:
            out = np.power(vals, _astype(np.asarray(exponent), dtype))
        return _like(coo, _astype(out, dtype), dtype, coalesced=True)

    @staticmethod
    def backward(ctx, grad):
        v = ctx.values
        if ctx.kind == "abs":
            d = np.sign(v)
        elif ctx.kind == "sqrt":
            d = 0.5 / np.sqrt(v)
        else:
            d = ctx.exponent * np.power(v, ctx.exponent - 1)
        g = values_at(grad, ctx.indices)._data * d.astype(v.dtype, copy=False)
        return make_sparse(ctx.indices, g, ctx.shape, False, D.from_numpy_dtype(g.dtype)), \
            None, None


def values_map(s: SparseTensor, kind: str, exponent=None):
    """``s.abs()`` / ``s.sqrt()`` / ``s.pow(exponent)`` on the coalesced entries."""
    if kind == "pow":
        if isinstance(exponent, Tensor):
            if exponent.ndim or isinstance(exponent, SparseTensor):
                raise unsupported("pow with a tensor exponent")
            exponent = exponent.item()
        if exponent == 0:
            raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would "
                               "make the result tensor dense")
    return ValuesMap.apply(s.coalesce(), kind, exponent)


class SparseNorm(SparseFunction):
    """``s.norm(p)``: the p-norm of the coalesced entries, a dense 0-d tensor."""

    _name = "NormBackward1"

    @staticmethod
    def forward(ctx, s, p):
        coo = s._data
        ctx.p, ctx.indices, ctx.shape = p, coo.indices, coo.shape
        dtype = s._dtype if s._dtype.category >= D._FLOAT else D.get_default_dtype()
        a = np.abs(_astype(coo.values, dtype))
        if p == float("inf"):
            n = a.max() if a.size else np.zeros((), a.dtype)
        elif p == 0:
            n = np.asarray(np.count_nonzero(a), a.dtype)
        else:
            n = np.power(np.power(a, p).sum(), 1.0 / p)
        ctx.values, ctx.norm = _astype(coo.values, dtype), n
        return dense_tensor(np.asarray(n, dtype.np_dtype), dtype)

    @staticmethod
    def backward(ctx, grad):
        v, n, p = ctx.values, ctx.norm, ctx.p
        if p == 0:
            d = np.zeros_like(v)
        elif p == float("inf"):
            tie = np.abs(v) == n
            d = np.sign(v) * tie / max(int(tie.sum()), 1)
        else:
            d = np.sign(v) * np.power(np.abs(v), p - 1) / (n ** (p - 1) if n else 1.0)
        g = (grad._data * d).astype(v.dtype, copy=False)
        return make_sparse(ctx.indices, g, ctx.shape, False, D.from_numpy_dtype(g.dtype)), None


def sparse_norm(s: SparseTensor, p="fro", dim=None, keepdim=False, dtype=None):
    """``Tensor.norm`` of a sparse tensor over all its entries (``p``: a number or 'fro')."""
    if dim is not None and (s.ndim != 1 or dim not in (0, -1, [0], (0,))) or keepdim \
            or dtype is not None:
        raise unsupported("norm with dim, keepdim or dtype")
    if p == "fro" or p is None:
        p = 2.0
    if not isinstance(p, (int, float)) or isinstance(p, bool) or p < 0:
        raise unsupported(f"norm with p={p!r}")
    return SparseNorm.apply(s.coalesce(), float(p))


class Transpose(SparseFunction):
    @staticmethod
    def forward(ctx, s, d0, d1, name):
        ctx._name, ctx.dims = name, (d0, d1)
        coo = s._data
        sd = coo.sparse_dim
        shape = list(coo.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        if d0 < sd:
            idx = coo.indices.copy()
            idx[[d0, d1]] = coo.indices[[d1, d0]]
            return make_sparse(idx, coo.values, shape, False, s._dtype)
        vals = np.swapaxes(coo.values, d0 - sd + 1, d1 - sd + 1)
        out = make_sparse(coo.indices, vals, shape, coo.coalesced, s._dtype)
        out._data._plans = coo._plans
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.dims), None, None, None


def transpose(s: SparseTensor, dim0: int, dim1: int, name: str):
    from ._ops._core import wrap_dim

    d0, d1 = sorted((wrap_dim(dim0, s.ndim), wrap_dim(dim1, s.ndim)))
    if d0 == d1:
        return s
    sd = s.sparse_dim()
    if (d0 < sd) != (d1 < sd):
        raise RuntimeError(
            f"transpose(): a sparse tensor's sparse dim and dense dim cannot be swapped (dims "
            f"{dim0} and {dim1}; the first {sd} dims are sparse)")
    return Transpose.apply(s, d0, d1, name)


class SparseSum(SparseFunction):
    @staticmethod
    def forward(ctx, s, dims, name, grad_kind):
        ctx._name, ctx.grad_kind = name, grad_kind
        coo = s._data
        sd, shape = coo.sparse_dim, coo.shape
        idx, vals = coo.coalesced_arrays()
        sdims = [d for d in dims if d < sd]
        ddims = [d for d in dims if d >= sd]
        kept = [d for d in range(sd) if d not in sdims]
        ctx.idx, ctx.shape, ctx.kept, ctx.ddims, ctx.sd = idx, shape, kept, ddims, sd
        if ddims:
            vals = vals.sum(axis=tuple(d - sd + 1 for d in ddims))
        rest = tuple(shape[d] for d in range(sd, len(shape)) if d not in ddims)
        if not kept:
            total = vals.sum(axis=0) if vals.shape[0] else np.zeros(rest, vals.dtype)
            return dense_tensor(np.asarray(total, vals.dtype), s._dtype)
        plan = K.CoalescePlan(idx[kept], tuple(shape[d] for d in kept))
        return make_sparse(plan.indices, plan.values(vals),
                           tuple(shape[d] for d in kept) + rest, True, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        idx, kept, sd, shape = ctx.idx, ctx.kept, ctx.sd, ctx.shape
        if ctx.grad_kind == "dense":  # Tensor.sum(): the dense sum's rule (grad expanded)
            full = np.ascontiguousarray(np.broadcast_to(grad._data, shape))
            return dense_tensor(full, grad._dtype), None, None, None
        nnz = idx.shape[1]
        if not kept:
            g = np.broadcast_to(grad._data, (nnz,) + tuple(grad._data.shape))
        else:
            g = values_at(grad, idx[kept])._data
        for d in ctx.ddims:
            g = np.expand_dims(g, d - sd + 1)
        g = np.ascontiguousarray(np.broadcast_to(g, (nnz,) + tuple(shape[sd:])))
        coalesced = ctx.grad_kind == "coalesced"
        return make_sparse(idx, g, shape, coalesced, grad._dtype), None, None, None


def sparse_sum(s: SparseTensor, dim=None, *, dtype=None, method=False):
    """``torch.sparse.sum`` (a sum over every dim gives a coalesced sparse gradient, over some
    dims an uncoalesced one), or with ``method`` ``Tensor.sum`` (a full sum's gradient is
    dense, as the dense sum's rule gives it)."""
    from ._ops._core import wrap_dims

    if dtype is not None:
        s = s.to(D.to_dtype(dtype))
    dims = wrap_dims(dim, s.ndim)
    if dim is None:
        return SparseSum.apply(s, dims, "SumBackward0", "dense" if method else "coalesced")
    return SparseSum.apply(s, dims, "SumBackward1" if method else "SparseSumBackward0",
                           "sparse")


class SparseSoftmax(SparseFunction):
    @staticmethod
    def forward(ctx, s, dim, log):
        ctx._name = "SparseLogSoftmaxBackward0" if log else "SparseSoftmaxBackward0"
        coo = s._data
        idx, vals = coo.coalesced_arrays()
        others = [d for d in range(coo.sparse_dim) if d != dim]
        key = K.linear_index(idx[others], tuple(coo.shape[d] for d in others))
        order = None if np.all(key[1:] >= key[:-1]) else np.argsort(key, kind="stable")
        if order is not None:
            key, vals = key[order], vals[order]
        y = K.group_softmax(key, vals, log)
        ctx.idx, ctx.key, ctx.order, ctx.y, ctx.log, ctx.coo = idx, key, order, y, log, coo
        return make_sparse(idx, _unsort(y, order), coo.shape, True, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        g = values_at(grad, ctx.idx)._data
        if ctx.order is not None:
            g = g[ctx.order]
        y = ctx.y
        if ctx.log:
            gx = g - np.exp(y) * K.group_sum(ctx.key, g)
        else:
            gx = y * (g - K.group_sum(ctx.key, g * y))
        return make_sparse(ctx.idx, _unsort(gx, ctx.order), ctx.coo.shape, False,
                           grad._dtype), None, None


def _unsort(sorted_vals, order):
    if order is None:
        return sorted_vals
    out = np.empty_like(sorted_vals)
    out[order] = sorted_vals
    return out


def softmax(s: SparseTensor, dim: int, dtype=None, log=False):
    from ._ops._core import wrap_dim

    if not isinstance(s, SparseTensor):
        raise TypeError("torch.sparse.softmax expects a sparse tensor; use torch.softmax for "
                        "dense ones")
    if s.dense_dim():
        raise unsupported("sparse softmax over a tensor with dense dims")
    if dtype is not None:
        s = s.to(D.to_dtype(dtype))
    return SparseSoftmax.apply(s, wrap_dim(dim, s.ndim), log)


# -- products ----------------------------------------------------------------------------------

def _spmm(coo: CooData, x):
    """``S @ x`` on arrays, for a 2-D sparse S and a 2-D dense x."""
    return K.spmm(coo.row_plan(), coo.coalesced_arrays()[1], x, coo.shape[0])


def _spmm_t(coo: CooData, g):
    """``S.T @ g`` on arrays."""
    return K.spmm(coo.col_plan(), coo.coalesced_arrays()[1], g, coo.shape[1])


def _pattern_grad(s: SparseTensor, a, b, coalesced=False) -> SparseTensor:
    """The gradient with respect to S on S's own entries: ``sum_f a[i, f] * b[j, f]`` at each
    coalesced entry (i, j)."""
    coo = s._data
    idx = coo.coalesced_arrays()[0]
    vals = K.rowwise_dot(a, b, idx[0], idx[1])
    out = make_sparse(idx, _astype(vals, s._dtype), coo.shape, coalesced, s._dtype)
    if coo.coalesced:
        out._data._plans = coo._plans
    return out


def _values_only(s: SparseTensor) -> bool:
    """True when S's gradient only ever reaches the values it was built from (S made by
    sparse_coo_tensor from values that require grad, maybe coalesced, with no hooks), so a
    gradient on S's entries is the whole story and the dense ``grad @ X.T`` can be skipped."""
    node = s.grad_fn
    if s._retains_grad or node is None:
        return False
    if node._op_class is Coalesce:
        if node._pre_hooks or node._retained:
            return False
        node = node.next_functions[0][0]
    return node._op_class is FromValues and not node._pre_hooks and not node._retained


class SparseAddmm(SparseFunction):
    """``torch.sparse.addmm(mat, S, X, beta, alpha)`` and ``torch.sparse.mm(S, X)`` (``mat``
    None): S's gradient stays on S's entries."""

    _name = "SparseAddmmBackward0"

    @staticmethod
    def forward(ctx, mat, s, x, beta, alpha):
        ctx.save_for_backward(s, x)
        ctx.beta, ctx.alpha = beta, alpha
        ctx.mat_shape = None if mat is None else mat._data.shape
        out = _spmm(s._data, x._data)
        if alpha != 1:
            out *= alpha
        if mat is not None and beta != 0:
            out += mat._data if beta == 1 else beta * mat._data
        return dense_tensor(out, x._dtype)

    @staticmethod
    def backward(ctx, grad):
        from ._ops._core import unbroadcast

        s, x = ctx.saved_tensors
        need_mat, need_s, need_x = ctx.needs_input_grad[:3]
        g = grad._data if ctx.alpha == 1 else grad._data * ctx.alpha
        gm = unbroadcast(grad * ctx.beta, ctx.mat_shape) if need_mat else None
        gs = _pattern_grad(s, g, x._data) if need_s else None
        gx = dense_tensor(_spmm_t(s._data, g), x._dtype) if need_x else None
        return gm, gs, gx, None, None


class Mm(SparseFunction):
    """``torch.mm`` with a sparse operand: a sparse leaf's gradient is dense, as in PyTorch."""

    _name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
            ca, cb = a._data, b._data
            b_idx, b_vals = cb.coalesced_arrays()
            rowptr = np.searchsorted(b_idx[0], np.arange(cb.shape[0] + 1))
            a_idx, a_vals = ca.coalesced_arrays()
            idx, vals = K.spspmm(a_idx, a_vals, rowptr, b_idx[1], b_vals, ca.shape[0],
                                 cb.shape[1])
            return make_sparse(idx, vals, (ca.shape[0], cb.shape[1]), True, a._dtype)
        if isinstance(a, SparseTensor):
            return dense_tensor(_spmm(a._data, b._data), b._dtype)
        # dense @ sparse = (S.T @ a.T).T
        return dense_tensor(np.ascontiguousarray(_spmm_t(b._data, a._data.T).T), a._dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        g = grad._data
        ga = gb = None
        if isinstance(a, SparseTensor):
            if need_a:
                ga = _pattern_grad(a, g, b._data) if _values_only(a) else \
                    dense_tensor(g @ b._data.T, a._dtype)
            if need_b:
                gb = dense_tensor(_spmm_t(a._data, g), b._dtype)
        else:
            if need_a:
                ga = dense_tensor(np.ascontiguousarray(_spmm(b._data, g.T).T), a._dtype)
            if need_b:
                gb = _pattern_grad(b, a._data.T, g.T) if _values_only(b) else \
                    dense_tensor(a._data.T @ g, b._dtype)
        return ga, gb


def _check_product(a, b):
    from ._ops.inplace import _type_title

    for x, name in ((a, "mat1"), (b, "mat2")):
        if not isinstance(x, Tensor):
            raise TypeError(f"mm(): argument '{name}' must be Tensor, not {type(x).__name__}")
        if x.device.type != "cpu":
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, cpu and {x.device}!")
    sa, sb = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    for x in (a, b):
        if isinstance(x, SparseTensor) and (x.ndim != 2 or x.dense_dim()):
            raise RuntimeError(f"addmm: matrices expected, got {x.ndim}D tensor")
    if sa and not sb:
        if b.ndim == 1:
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but "
                             "got 1)")
        if b.ndim != 2:
            raise RuntimeError(f"mat2 must be a matrix, got {b.ndim}-D tensor")
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {a.shape[1]}, "
                               f"got {b.shape[0]}")
    elif sb and not sa:
        if a.ndim != 2:
            raise RuntimeError(f"mat1 must be a matrix, got {a.ndim}-D tensor")
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {b.shape[0]}, "
                               f"got {a.shape[1]}")
    elif a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                           f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(a._dtype)} but found "
                           f"{_type_title(b._dtype)}")
    if a._dtype.category < D._FLOAT:
        raise NotImplementedError(f"sparse products of {a._dtype} tensors are not supported in "
                                  "ember; convert with .float() first")
    if sa and sb and _state.enabled and (a.requires_grad or b.requires_grad):
        raise NotImplementedError(
            "Gradients of sparse @ sparse products are not supported in ember; make one "
            "operand dense (.to_dense()) or detach() both")


def mm(input, mat2, *, out=None):
    """``torch.mm`` / ``torch.spmm`` when either operand is sparse (MmBackward0)."""
    if out is not None:
        raise unsupported("mm(out=...) with a sparse operand")
    _check_product(input, mat2)
    return Mm.apply(input, mat2)


def matmul(input, other, *, out=None):
    """``torch.matmul`` / ``@`` when either operand is sparse (2-D, or a 2-D and a 1-D)."""
    if out is not None:
        raise unsupported("matmul(out=...) with a sparse operand")
    if isinstance(input, SparseTensor) and isinstance(other, Tensor) and other.ndim == 1 \
            and not isinstance(other, SparseTensor):
        return mm(input, other.unsqueeze(1)).squeeze(1)
    if isinstance(other, SparseTensor) and isinstance(input, Tensor) and input.ndim == 1 \
            and not isinstance(input, SparseTensor):
        return mm(input.unsqueeze(0), other).squeeze(0)
    for x in (input, other):
        if isinstance(x, Tensor) and x.ndim > 2:
            raise unsupported(f"matmul with a {x.ndim}-D operand and a sparse one (only 2-D "
                              "sparse @ 1-D/2-D dense)")
    return mm(input, other)


def mv(input, vec, *, out=None):
    """``torch.mv`` of a sparse COO matrix and a dense vector (a dense vector)."""
    from ._ops.inplace import _type_title

    if out is not None:
        raise unsupported("mv(out=...) with a sparse operand")
    if not isinstance(input, SparseTensor) or not isinstance(vec, Tensor) or \
            isinstance(vec, SparseTensor) or input.ndim != 2 or vec.ndim != 1:
        raise unsupported("mv with a sparse vector (or a sparse tensor that is not 2-D)")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError("mv: expected self.size(-1) == vec.size(-1)")
    if input._dtype is not vec._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(input._dtype)} but found "
                           f"{_type_title(vec._dtype)}")
    from ._ops._core import set_node_name

    return set_node_name(mm(input, vec.unsqueeze(1)).squeeze(1), "MvBackward0")


def sparse_mm(mat1, mat2, reduce=None):
    """``torch.sparse.mm``: sparse @ dense keeps the sparse operand's gradient on its entries
    (SparseAddmmBackward0); other operand kinds go as ``torch.mm``."""
    if reduce not in (None, "sum"):
        raise NotImplementedError(f"torch.sparse.mm(reduce={reduce!r}) is not supported in "
                                  "ember (it needs sparse CSR tensors)")
    if isinstance(mat1, SparseTensor) and isinstance(mat2, Tensor) and \
            not isinstance(mat2, SparseTensor):
        _check_product(mat1, mat2)
        return SparseAddmm.apply(None, mat1, mat2, 1, 1)
    return mm(mat1, mat2)


def spmm(input, mat2):
    """``torch.spmm``: the product of a sparse (or dense) matrix and a dense matrix, as
    ``torch.mm`` (a sparse leaf's gradient is dense; ``torch.sparse.mm`` keeps it sparse).

    Example:
        >>> adj = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
        >>> ember.spmm(adj, ember.tensor([[1.0], [2.0]]))
        tensor([[2.],
                [1.]])
    """
    if isinstance(input, SparseTensor) or isinstance(mat2, SparseTensor):
        return mm(input, mat2)
    from ._ops.linalg.matmul import mm as dense_mm

    return dense_mm(input, mat2)


def route_sparse(dense_fn):
    """``torch.mm``/``torch.matmul`` that hand sparse operands to the sparse product (one type
    check per call on the dense path)."""
    import functools

    from ._sparse_compressed import ROUTED, CompressedTensor

    name = dense_fn.__name__
    sparse_fn = {"mm": mm, "matmul": matmul, "mv": mv}.get(name, dense_fn)
    compressed_fn = ROUTED[name]  # CSR/CSC operands go to _sparse_compressed

    @functools.wraps(dense_fn)
    def fn(*args, **kwargs):
        for a in args:
            if type(a) is SparseTensor:
                return sparse_fn(*args, **kwargs)
            if type(a) is CompressedTensor:
                return compressed_fn(*args, **kwargs)
        if kwargs:
            for v in kwargs.values():
                if type(v) is SparseTensor:
                    return sparse_fn(*args, **kwargs)
                if type(v) is CompressedTensor:
                    return compressed_fn(*args, **kwargs)
        return dense_fn(*args, **kwargs)

    return fn


def sparse_addmm(mat, mat1, mat2, beta=1.0, alpha=1.0):
    """``torch.sparse.addmm``: ``beta * mat + alpha * (mat1 @ mat2)``, one node."""
    if not isinstance(mat1, SparseTensor) or isinstance(mat2, SparseTensor):
        raise unsupported("torch.sparse.addmm with a dense mat1 or a sparse mat2")
    _check_product(mat1, mat2)
    if not isinstance(mat, Tensor) or isinstance(mat, SparseTensor):
        raise TypeError("torch.sparse.addmm: mat must be a dense tensor")
    from ._ops._core import broadcast_shapes

    out_shape = (mat1.shape[0], mat2.shape[1])
    if broadcast_shapes(tuple(mat.shape), out_shape) != out_shape:
        raise RuntimeError(f"The expanded size of the tensor ({out_shape[1]}) must match the "
                           f"existing size ({mat.shape[-1]}) at non-singleton dimension 1.  "
                           f"Target sizes: {list(out_shape)}.  Tensor sizes: "
                           f"{list(mat.shape)}")
    if mat._dtype is not mat1._dtype:
        mat = mat.to(mat1._dtype)
    return SparseAddmm.apply(mat, mat1, mat2, beta, alpha)


# -- hspmm / smm / sspaddmm, narrow_copy, sparse_resize_ (issue 13) ----------------------------

def _check_sparse_dense_product(name, mat1, mat2):
    if not isinstance(mat1, SparseTensor):
        raise NotImplementedError(f"Could not run 'aten::{name}' with arguments from the "
                                  "'CPU' backend: mat1 must be a sparse COO matrix")
    if mat1.ndim != 2 or mat1.dense_dim():
        raise RuntimeError(f"{name}: Argument #2: Expected a 2-D sparse matrix without dense "
                           f"dims, got {mat1.sparse_dim()} sparse and {mat1.dense_dim()} "
                           "dense dims")
    if not isinstance(mat2, Tensor) or isinstance(mat2, SparseTensor) or mat2.ndim != 2:
        raise RuntimeError(f"{name}: Argument #3: Expected a dense 2-D matrix")
    if mat2.shape[0] != mat1.shape[1]:
        raise RuntimeError(f"{name}: Argument #3: Expected dim 0 size {mat1.shape[1]}, got "
                           f"{mat2.shape[0]}")


def _row_products(s: SparseTensor, x: Tensor, dtype):
    """The rows of ``s @ x`` where ``s`` (coalesced) has entries: (row numbers, rows)."""
    idx, vals = s._data.coalesced_arrays()
    rows, slot = np.unique(idx[0], return_inverse=True)
    out = np.zeros((rows.size, x.shape[1]), dtype.np_dtype)
    contrib = _astype(vals, dtype)[:, None] * _astype(x._data, dtype)[idx[1]]
    np.add.at(out, slot.reshape(-1), contrib)
    return rows.astype(np.int64), out


class NoDerivative(SparseFunction):
    """A sparse product PyTorch defines no derivative for: the result is recorded (it requires
    grad when an input does), and backward raises as PyTorch's does."""

    @staticmethod
    def forward(ctx, fn, aten, *inputs):
        ctx._name, ctx.aten = "NotImplemented", aten
        return fn()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx.aten} is not implemented")


def hspmm(mat1, mat2, *, out=None):
    """``torch.hspmm``: a sparse COO matrix times a dense matrix, as a hybrid COO tensor (one
    sparse dim over the rows of ``mat1`` that hold entries, one dense dim of length
    ``mat2.shape[1]``). PyTorch defines no gradient for it.

    Example:
        >>> s = ember.sparse_coo_tensor([[1], [0]], [2.0], (3, 2))
        >>> h = ember.hspmm(s, ember.ones(2, 2))
        >>> h._indices(), h._values()
        (tensor([[1]]), tensor([[2., 2.]]))
    """
    if out is not None:
        raise unsupported("hspmm(out=...)")
    _check_sparse_dense_product("hspmm", mat1, mat2)
    dtype = D.result_type(mat1, mat2)
    n, m = mat1.shape[0], mat2.shape[1]

    def run():
        rows, vals = _row_products(mat1, mat2, dtype)
        return make_sparse(rows[None, :], vals, (n, m), False, dtype)

    return NoDerivative.apply(run, "hspmm", mat1, mat2)


def _expand_rows(rows, vals):
    """A hybrid row list (row numbers, rows of values) as plain 2-D COO entries, row-major
    (every column of a listed row, zeros included, as PyTorch stores it)."""
    m = vals.shape[1]
    r = np.repeat(rows, m)
    c = np.tile(np.arange(m, dtype=np.int64), rows.size)
    return np.stack([r, c]), vals.reshape(-1)


def smm(input, mat):
    """``torch.smm``: a sparse COO matrix times a dense matrix, as a (2-D) sparse COO matrix
    holding every column of each row of ``input`` that has entries. No gradient (PyTorch
    defines none).

    Example:
        >>> s = ember.sparse_coo_tensor([[1], [0]], [2.0], (3, 2))
        >>> ember.smm(s, ember.ones(2, 2)).to_dense()
        tensor([[0., 0.],
                [2., 2.],
                [0., 0.]])
    """
    if not isinstance(input, SparseTensor):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    _check_sparse_dense_product("sspaddmm", input, mat)
    dtype = D.result_type(input, mat)
    n, m = input.shape[0], mat.shape[1]

    def run():
        idx, vals = _expand_rows(*_row_products(input, mat, dtype))
        return make_sparse(idx, vals, (n, m), False, dtype)

    return NoDerivative.apply(run, "sspaddmm", input, mat)


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``torch.sspaddmm``: ``beta * input + alpha * (mat1 @ mat2)`` for sparse COO ``input``
    and ``mat1`` and a dense ``mat2``, a sparse COO result (uncoalesced: ``input``'s entries,
    then every column of each row of ``mat1`` with entries). No gradient (PyTorch defines
    none).

    Example:
        >>> s = ember.sparse_coo_tensor([[1], [0]], [2.0], (2, 2))
        >>> ember.sspaddmm(s, s, ember.ones(2, 2)).to_dense()
        tensor([[0., 0.],
                [4., 2.]])
    """
    if out is not None:
        raise unsupported("sspaddmm(out=...)")
    if not isinstance(input, SparseTensor):
        raise RuntimeError("sspaddmm: expected input to be a sparse COO tensor (dense input "
                           "is not supported, as in PyTorch)")
    _check_sparse_dense_product("sspaddmm", mat1, mat2)
    n, m = mat1.shape[0], mat2.shape[1]
    if tuple(input.shape) != (n, m):
        raise RuntimeError(f"sspaddmm: Argument #1: Expected a matrix of size ({n}, {m}), got "
                           f"{tuple(input.shape)}")
    dtype = D.result_type(input, D.result_type(mat1, mat2))

    def run():
        coo = input._data
        pidx, pvals = _expand_rows(*_row_products(mat1, mat2, dtype))
        idx = np.concatenate([coo.indices.astype(np.int64, copy=False), pidx], axis=1)
        vals = np.concatenate([_astype(coo.values, dtype) * beta, pvals * alpha])
        return make_sparse(idx, _astype(vals, dtype), (n, m), False, dtype)

    return NoDerivative.apply(run, "sspaddmm", input, mat1, mat2)


class NarrowCopy(SparseFunction):
    """``s.narrow_copy(dim, start, length)``: the entries inside the slice, shifted, in storage
    order (a dense dim slices every value); the coalesced flag carries over."""

    _name = "NarrowCopyBackward0"

    @staticmethod
    def forward(ctx, s, dim, start, length):
        coo = s._data
        ctx.dim, ctx.start, ctx.shape = dim, start, coo.shape
        shape = coo.shape[:dim] + (length,) + coo.shape[dim + 1:]
        if dim >= coo.sparse_dim:
            axis = dim - coo.sparse_dim + 1
            vals = np.take(coo.values, np.arange(start, start + length), axis=axis)
            return make_sparse(coo.indices.copy(), vals, shape, coo.coalesced, s._dtype)
        keep = (coo.indices[dim] >= start) & (coo.indices[dim] < start + length)
        idx = coo.indices[:, keep].copy()
        idx[dim] -= start
        return make_sparse(idx, coo.values[keep].copy(), shape, coo.coalesced, s._dtype)

    @staticmethod
    def backward(ctx, grad):
        dim, start, shape = ctx.dim, ctx.start, ctx.shape
        if isinstance(grad, SparseTensor):
            g = grad._data
            if dim < g.sparse_dim:
                idx = g.indices.copy()
                idx[dim] += start
                return make_sparse(idx, g.values, shape, g.coalesced, grad._dtype), None, \
                    None, None
            grad = grad.to_dense()
        full = np.zeros(shape, grad._data.dtype)
        where = [slice(None)] * len(shape)
        where[dim] = slice(start, start + grad.shape[dim])
        full[tuple(where)] = grad._data
        return dense_tensor(full, grad._dtype), None, None, None


def narrow_copy(s: SparseTensor, dim, start, length):
    """``torch.narrow_copy`` of a sparse COO tensor (PyTorch takes no negative ``dim`` here)."""
    n = s.ndim
    if not 0 <= dim < n:
        raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {n}.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    size = s.shape[dim]
    if start < 0 or start + length > size:
        raise RuntimeError("Invalid range to narrow. range(start, start+length) must be a "
                           f"subset of range(0, {size}).")
    return NarrowCopy.apply(s, int(dim), int(start), int(length))


_RESIZE_ADVICE = ("\nFor an empty sparse tensor of that size, build one with "
                  "`torch.sparse_coo_tensor(size)`; otherwise keep the numbers of sparse and "
                  "dense dims and let no size shrink, or build a new tensor from this one's "
                  "indices and values.")


def _resize_checks(size, sparse_dim, dense_dim):
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) "
                           f"= {len(size)}, sparse_dim = {sparse_dim}, dense_dim = {dense_dim}")


def sparse_resize_(s: SparseTensor, size, sparse_dim, dense_dim):
    """``s.sparse_resize_(size, sparse_dim, dense_dim)``: in place. An empty tensor takes any
    layout; one with entries keeps its numbers of sparse and dense dims and may only grow
    (a grown dense dim is zero-filled, where PyTorch leaves it uninitialised)."""
    size = tuple(int(d) for d in size)
    _resize_checks(size, sparse_dim, dense_dim)
    coo = s._data
    if coo.nnz == 0:
        return s._in_place(CooData(np.zeros((sparse_dim, 0), np.int64),
                                   np.zeros((0,) + size[sparse_dim:], coo.values.dtype),
                                   size, coo.coalesced))
    old_sd, old_dd = coo.sparse_dim, len(coo.shape) - coo.sparse_dim
    for kind, old, new in (("sparse", old_sd, sparse_dim), ("dense", old_dd, dense_dim)):
        if old != new:
            raise RuntimeError(f"changing the number of {kind} dimensions (from {old} to "
                               f"{new}) on a non-empty sparse tensor is not supported."
                               + _RESIZE_ADVICE)
    for kind, old, new in (("sparse", coo.shape[:old_sd], size[:sparse_dim]),
                           ("dense", coo.shape[old_sd:], size[sparse_dim:])):
        if any(b < a for a, b in zip(old, new)):
            raise RuntimeError(f"shrinking the size of {kind} dimensions (from {list(old)} to "
                               f"{list(new)}) on a non-empty sparse tensor is not supported."
                               + _RESIZE_ADVICE)
    vals = coo.values
    if size[sparse_dim:] != coo.shape[old_sd:]:
        grown = np.zeros((vals.shape[0],) + size[sparse_dim:], vals.dtype)
        grown[(slice(None),) + tuple(slice(0, d) for d in vals.shape[1:])] = vals
        vals = grown
    return s._in_place(CooData(coo.indices, vals, size, coo.coalesced))


def sparse_resize_and_clear_(s: SparseTensor, size, sparse_dim, dense_dim):
    """``s.sparse_resize_and_clear_(size, sparse_dim, dense_dim)``: in place, an empty sparse
    tensor of that layout (flagged coalesced)."""
    size = tuple(int(d) for d in size)
    _resize_checks(size, sparse_dim, dense_dim)
    return s._in_place(CooData(np.zeros((sparse_dim, 0), np.int64),
                               np.zeros((0,) + size[sparse_dim:], s._data.values.dtype),
                               size, True))


def route_narrow_copy(dense_fn):
    """``torch.narrow_copy`` that hands a sparse COO tensor to ``narrow_copy`` above."""
    import functools

    @functools.wraps(dense_fn)
    def fn(input, *args, **kwargs):
        if type(input) is SparseTensor:
            return input.narrow_copy(*args, **kwargs)
        return dense_fn(input, *args, **kwargs)

    return fn


# -- zero-preserving entry-wise functions of COO tensors (issue 13) ----------------------------

# The unary functions PyTorch runs on sparse COO tensors: each maps 0 to 0 (or False), so only
# the stored values change. abs and sqrt keep their own nodes above (ValuesMap).
COO_UNARY = frozenset((
    "absolute", "asin", "arcsin", "asinh", "arcsinh", "atan", "arctan", "atanh", "arctanh",
    "ceil", "deg2rad", "erf", "erfinv", "expm1", "fix", "floor", "frac", "isinf", "isnan",
    "isneginf", "isposinf", "log1p", "neg", "negative", "rad2deg", "relu", "round", "sgn",
    "sign", "signbit", "sin", "sinh", "tan", "tanh", "trunc"))
# linear maps commute with summing duplicates, so torch leaves those inputs uncoalesced
_LINEAR = frozenset(("neg", "negative"))


class ValuesUnary(SparseFunction):
    """``name`` applied to the stored values through the dense function (so dtypes and errors
    are the dense ones); the input is coalesced first unless ``name`` is linear."""

    @staticmethod
    def forward(ctx, s, name, options=None):
        src = s if name in _LINEAR else s.coalesce()
        coo = src._data
        options = options or {}  # nan_to_num's nan/posinf/neginf
        vals = getattr(dense_tensor(coo.values, s._dtype), name)(**options)
        ctx.fn_name, ctx.options, ctx.indices, ctx.shape = name, options, coo.indices, coo.shape
        ctx.values, ctx.in_dtype = coo.values, s._dtype
        if ctx._record:
            ctx.watch = _watch(src)
        # torch names the node after the dense op (sin -> SinBackward0, neg -> NegBackward0)
        base = {"negative": "neg", "absolute": "abs", "arcsin": "asin", "arcsinh": "asinh",
                "arctan": "atan", "arctanh": "atanh", "fix": "trunc",
                "nan_to_num": "NanToNum"}.get(name, name)
        ctx._name = base[0].upper() + base[1:] + "Backward0"
        return _like(coo, vals._data, vals._dtype)

    @staticmethod
    def backward(ctx, grad):
        from .autograd import grad as autograd_grad

        _check_watch(ctx)
        # the derivative at each stored value, from the dense op's own backward
        prev = _state.enabled
        _state.enabled = True
        try:
            v = dense_tensor(ctx.values, ctx.in_dtype).requires_grad_()
            y = getattr(v, ctx.fn_name)(**ctx.options)
            (g,) = autograd_grad(y, v, values_at(grad, ctx.indices).to(y._dtype))
        finally:
            _state.enabled = prev
        return make_sparse(ctx.indices, g._data, ctx.shape, False, g._dtype), None, None


def _watch(t: SparseTensor) -> tuple:
    """What a node needs to notice that the values it kept from ``t`` were changed in place
    later (``relu_``/``nan_to_num_``): ``t`` (weakly, for the message), its version counter and
    the version now."""
    return weakref.ref(t), t._vbox, t._vbox[0]


def _check_watch(ctx) -> None:
    """PyTorch's refusal to run a backward whose saved sparse tensor moved on."""
    watch = ctx.__dict__.get("watch")
    if watch is None or watch[1][0] == watch[2]:
        return
    from .autograd.graph import _modified_message

    ref, box, version = watch
    t = ref()
    if t is None:  # gone since: name the node that kept it, as for a saved output
        t = make_sparse(ctx.indices, ctx.values, ctx.shape, True, ctx.in_dtype)
        t.grad_fn, t._output_nr = ctx, 0
    # torch's legacy type name of a COO tensor carries ".sparse"
    raise RuntimeError(_modified_message(t, version, ctx, box[0]).replace(
        "[torch.", "[torch.sparse.", 1))


def coo_unary(s: SparseTensor, name: str, **options) -> SparseTensor:
    """``torch.<name>(s)`` for a COO tensor and one of ``COO_UNARY``, ``square`` or
    ``nan_to_num`` (its ``nan``/``posinf``/``neginf`` in ``options``); a coalesced result."""
    if name == "abs" or name == "sqrt":
        return values_map(s, name)
    if name == "square":  # torch runs pow(s, 2): a PowBackward0 node, bool refused
        if s._dtype is D.bool:
            raise RuntimeError("result type Long can't be cast to the desired output type Bool")
        return values_map(s, "pow", 2)
    if name not in COO_UNARY and name != "nan_to_num":
        raise unsupported(f"{name}()")
    return ValuesUnary.apply(s, name, options)


def coo_unary_(s: SparseTensor, name: str, **options) -> SparseTensor:
    """In-place ``relu_``/``nan_to_num_`` of a COO tensor: PyTorch rewrites the stored values
    of a tensor flagged coalesced (views from ``values()`` see the change) and refuses any
    other, even one whose entries happen to be sorted and unique.

    Example:
        >>> s = ember.tensor([0.0, -1.0, 2.0]).to_sparse()
        >>> coo_unary_(s, "relu").to_dense()
        tensor([0., 0., 2.])
    """
    from ._ops.inplace import check_inplace

    check_inplace(s)  # (a leaf that requires grad is refused before the coalesced check)
    if not s._data.coalesced:
        raise RuntimeError(f"{name}_ requires coalesced input")
    coo = s._data
    if s._requires_grad and _state.enabled:
        # a non-leaf: the new values come from a fresh node on s's old history, which then
        # becomes s's own (torch's rebase); that node keeps a copy of the values it reads,
        # since they are about to be overwritten
        res = ValuesUnary.apply(s, name, options)
        node = res.grad_fn
        node.values = coo.values.copy()
        np.copyto(coo.values, res._data.values, casting="unsafe")
        s._vbox[0] += 1
        # torch's Relu node keeps its result: a later in-place change of s breaks it
        node.watch = _watch(s)
        s.grad_fn, s._output_nr = node, 0
        return s
    out = getattr(dense_tensor(coo.values, s._dtype), name)(**options)
    np.copyto(coo.values, out._data, casting="unsafe")
    s._vbox[0] += 1
    return s


def coo_unary_out(s: Tensor, name: str, out: Tensor, **options) -> Tensor:
    """``torch.<name>(s, out=out)`` with a sparse COO operand (``nan_to_num``): ``out`` must be a
    COO tensor of ``s``'s dtype; it takes the coalesced result's shape, indices and values,
    reusing its own arrays where their sizes already fit (views of them see the change).

    Example:
        >>> out = ember.sparse_coo_tensor(ember.zeros(1, 0, dtype=ember.long), [], (2,))
        >>> coo_unary_out(ember.tensor([float("nan"), 2.0]).to_sparse(), "nan_to_num",
        ...               out).to_dense()
        tensor([0., 2.])
    """
    from ._ops.inplace import check_inplace

    if not isinstance(s, SparseTensor) or not isinstance(out, SparseTensor):
        raise RuntimeError("Expected self.is_sparse() && result.is_sparse() to be true, but got "
                           "false.  (Could this error message be improved?  If so, please "
                           "report an enhancement request to PyTorch.)")
    if out._dtype is not s._dtype:
        raise RuntimeError(f"{name}: dtype of out: {D.SCALAR_TYPE[out._dtype.name]} should be "
                           f"same as input: {D.SCALAR_TYPE[s._dtype.name]}")
    if _state.enabled and (s._requires_grad or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    check_inplace(out)
    with grad_mode.no_grad():
        res = coo_unary(s, name, **options)._data
    coo = out._data
    if coo.indices.shape == res.indices.shape and coo.values.shape == res.values.shape:
        np.copyto(coo.indices, res.indices)
        np.copyto(coo.values, res.values)
        out._data = CooData(coo.indices, coo.values, res.shape, True)
    else:
        out._data = CooData(res.indices.copy(), res.values.copy(), res.shape, True)
    out._vbox[0] += 1
    return out


def sparse_unary(input: Tensor, name: str) -> Tensor:
    """``name`` of a sparse tensor's stored values, for the dense entry points' refusal paths
    (``F.relu(csr)``, ``torch.sin(coo)``): CSR/CSC go to their pattern form, COO to
    ``coo_unary``.

    Example:
        >>> sparse_unary(ember.tensor([0.0, -2.0]).to_sparse(), "relu").to_dense()
        tensor([0., 0.])
    """
    if type(input) is SparseTensor:
        return coo_unary(input, name)
    from ._sparse_compressed import pattern_unary

    return pattern_unary(input, name)


def _coo_method(name):
    def method(self):
        return coo_unary(self, name)

    method.__name__ = name
    method.__doc__ = (f"``{name}`` of the stored values (coalesced first), a sparse tensor.\n\n"
                      "Example:\n    >>> s = ember.tensor([0.0, -1.0]).to_sparse()\n"
                      f"    >>> s.{name}().layout\n    torch.sparse_coo")
    return method


for _n in COO_UNARY:
    if _n not in vars(SparseTensor):
        setattr(SparseTensor, _n, _coo_method(_n))
