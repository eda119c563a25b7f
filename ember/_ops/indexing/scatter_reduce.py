"""``scatter_reduce`` (sum/prod/mean/amax/amin, include_self), ``matrix_exp`` (scaling and
squaring with the degree-13 Pade approximant) and triangular solves
(``linalg.solve_triangular``, the older ``triangular_solve``). Gradients are torch's formulas
written with ember ops, so they can be differentiated again.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _autocast
from .. import _dtype as D
from .._autocast import hot as _amp
from .._backend import add_at, ascontiguousarray, ufunc_at
from .._backend import get_array_module as xp_of
from .._tensor import Tensor
from ._binary import not_implemented_for
from ._core import Op, broadcast_shapes, unbroadcast
from ._reduce_select import return_type
from .scatter import _dim_index, _region

__all__ = ["scatter_reduce", "matrix_exp", "triangular_solve"]

_REDUCE = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum,
           "amin": np.minimum}
_ALIASES = {"max": "amax", "min": "amin"}  # torch accepts these two spellings as well


def _identity(reduce: str, dtype: np.dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Op):
    @staticmethod
    def forward(ctx, x, src, *, idx, index, dim, reduce, include_self):
        ctx.save_for_backward(*ctx.inputs)
        ctx.index, ctx.dim, ctx.reduce, ctx.include_self = index, dim, reduce, include_self
        out = x.copy()
        xp = xp_of(x)
        scattered = xp.zeros(x.shape, bool)
        scattered[idx] = True
        if not include_self:
            out[scattered] = _identity(reduce, x.dtype)
        ufunc_at(_REDUCE[reduce], out, idx, src)
        ctx.scattered = scattered
        if reduce == "mean":
            count = xp.zeros(x.shape, np.int64)
            add_at(count, idx, 1)
            if include_self:
                count += 1
            count[count == 0] = 1
            ctx.count = count
            if x.dtype.kind in "biu":
                out = np.floor_divide(out, count).astype(x.dtype, copy=False)
            else:
                out = (out / count).astype(x.dtype, copy=False)
        return out

    save_output = True

    @staticmethod
    def backward(ctx, grad):
        x, src, result = ctx.saved_tensors
        index, dim, reduce, include_self = ctx.index, ctx.dim, ctx.reduce, ctx.include_self
        mask = Tensor._make(ctx.scattered, D.bool)
        if reduce == "sum":
            g_self, g_src = grad, grad.gather(dim, index)
        elif reduce == "mean":
            scaled = grad / Tensor._make(ctx.count.astype(grad._data.dtype), grad._dtype)
            g_self, g_src = scaled, scaled.gather(dim, index)
        elif reduce == "prod":
            masked_self = x.masked_fill(x == 0, 1)
            g_self = grad * scatter_reduce(masked_self, dim, index, src, "prod",
                                           include_self=include_self) / masked_self
            src_zero = src == 0
            zeros_here = x.new_zeros(x.shape).scatter_add(dim, index, src_zero.to(x.dtype))
            single_zero = src_zero & (zeros_here.gather(dim, index) == 1)
            without = scatter_reduce(x, dim, index, src.masked_fill(single_zero, 1), "prod",
                                     include_self=include_self)
            g_src = (grad * without).gather(dim, index).where(
                single_zero, (grad * result).gather(dim, index) / src.masked_fill(src_zero, 1))
        else:  # amax / amin: split evenly among the elements that attain the extreme
            value = result.gather(dim, index)
            self_is = (x == result).to(grad.dtype)
            src_is = (src == value).to(grad.dtype)
            # torch counts self's ties even with include_self=False (then zeroes self's share)
            share = grad / self_is.scatter_add(dim, index, src_is)
            g_self, g_src = self_is * share, src_is * share.gather(dim, index)
        if not include_self:
            g_self = g_self.masked_fill(mask, 0)
        return (g_self if ctx.needs_input_grad[0] else None,
                g_src if ctx.needs_input_grad[1] else None)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``
    (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``); ``include_self=False``
    leaves ``input``'s own values out of the reduction where something is scattered.

    Example:
        >>> x = ember.tensor([1., 2., 3.])
        >>> x.scatter_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([5., 4., 9.]), "amax")
        tensor([5., 2., 9.])
    """
    from ._binary import finish_out

    reduce = _ALIASES.get(reduce, reduce)
    if reduce not in _REDUCE:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if not isinstance(src, Tensor):
        raise TypeError("scatter_reduce(): argument 'src' (position 3) must be Tensor, not "
                        f"{type(src).__name__}")
    if src._dtype is not input._dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    full = _dim_index(input, dim, index, "scatter_reduce", src)
    x = input if input.ndim else input.reshape(1)
    shape = index._data.shape if input.ndim else (index._data.size,)
    s = _region(src, shape) if src.ndim else src.reshape(1)
    idx_t = index if input.ndim else index.reshape(-1)
    result = ScatterReduce.apply(x, s, idx=full, index=idx_t, dim=dim if input.ndim else 0,
                                 reduce=reduce, include_self=bool(include_self))
    result = result.reshape(()) if not input.ndim else result
    return finish_out(result, out, "scatter_reduce", input, src)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place :func:`scatter_reduce`."""
    from .inplace import apply_inplace

    return apply_inplace(self, scatter_reduce(self, dim, index, src, reduce,
                                              include_self=include_self), "scatter_reduce_")


# -- matrix exponential ---------------------------------------------------------------------

_PADE13 = [64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0]
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """exp of each square matrix in ``a`` (float64 or complex128), Higham (2005)."""
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return a.copy()
    norm = np.abs(a).sum(-2).max(-1)  # the 1-norm of each matrix
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.where(norm > 0, norm, 1) / _THETA13)))
    s = np.where(np.isfinite(s), s, 0).astype(np.int64)
    a = a / (2.0 ** s)[..., None, None]
    b = _PADE13
    eye = xp_of(a).eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * eye
    try:
        r = np.linalg.solve(v - u, v + u)
    except np.linalg.LinAlgError:  # only with inf/nan entries; let them propagate
        r = xp_of(a).full(a.shape, np.nan, a.dtype)
    for k in range(int(s.max()) if s.size else 0):
        sq = r @ r
        r = np.where((s > k)[..., None, None], sq, r)
    return r


class LinalgMatrixExp(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(*ctx.inputs)
        wide = np.complex128 if a.dtype.kind == "c" else np.float64
        return _expm(a.astype(wide)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # d/dA <G, exp(A)> = exp([[A^H, G], [0, A^H]]) top-right block (Najfeld & Havel)
        from .joining import cat

        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        ah = a.mH if a.is_complex() else a.mT
        big = cat([cat([ah, grad], -1), cat([ah.new_zeros(ah.shape), ah], -1)], -2)
        return matrix_exp(big)[..., :n, n:]


def _square_check(A: Tensor, name: str):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of each square matrix in ``A`` (``sum_k A**k / k!``).

    Example:
        >>> ember.matrix_exp(ember.tensor([[0., 1.], [0., 0.]]))
        tensor([[1., 1.],
                [0., 1.]])
    """
    _square_check(A, "linalg.matrix_exp")
    if A._dtype.category < D._FLOAT:
        raise RuntimeError("linalg.matrix_exp: Expected a floating point or complex tensor as "
                           f"input. Got {str(A._dtype).split('.')[-1].capitalize()}")
    return LinalgMatrixExp.apply(A)


# -- triangular solves ----------------------------------------------------------------------

def _substitute(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Forward substitution for lower-triangular ``a`` (batched); zeros on the diagonal give
    inf/nan as torch's LAPACK path does, instead of an error."""
    x = xp_of(b).empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:],
                       b.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(a.shape[-1]):
            acc = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, :i], x[..., :i, :])
            x[..., i, :] = acc / a[..., i, i, None]
    return x


def _solve_lower(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diag = np.diagonal(a, axis1=-2, axis2=-1)
    if a.shape[-1] and np.all(diag != 0) and np.all(np.isfinite(a)):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                               np.broadcast_to(b, batch + b.shape[-2:]))
    return _substitute(a, b)


def _solve_triangular_np(a, b, upper, left, unitriangular):
    n = a.shape[-1]
    a = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        a = a.copy()
        a[..., np.arange(n), np.arange(n)] = 1
    if not left:  # X A = B  <=>  A^T X^T = B^T
        a, b, upper = np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), not upper
    if upper:  # reverse rows and columns: an upper system becomes a lower one
        x = _solve_lower(a[..., ::-1, ::-1], b[..., ::-1, :])[..., ::-1, :]
    else:
        x = _solve_lower(a, b)
    return ascontiguousarray(np.swapaxes(x, -1, -2) if not left else x)


class LinalgSolveTriangular(Op):
    @staticmethod
    def forward(ctx, a, b, *, upper, left, unitriangular):
        ctx.save_for_backward(*ctx.inputs)
        ctx.opts = (upper, left, unitriangular)
        return _solve_triangular_np(a, b, upper, left, unitriangular).astype(
            np.result_type(a, b), copy=False)

    save_output = True

    @staticmethod
    def backward(ctx, grad):
        a, b, x = ctx.saved_tensors
        upper, left, unit = ctx.opts
        ah = a.mH if a.is_complex() else a.mT
        g_b = solve_triangular(ah, grad, upper=not upper, left=left, unitriangular=unit)
        g_a = None
        if ctx.needs_input_grad[0]:
            xh = x.mH if x.is_complex() else x.mT
            g_a = -(g_b @ xh) if left else -(xh @ g_b)
            g_a = g_a.triu(int(unit)) if upper else g_a.tril(-int(unit))
            g_a = unbroadcast(g_a, a.shape)
        return g_a, unbroadcast(g_b, b.shape) if ctx.needs_input_grad[1] else None


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (``left=False``: ``X A = B``) for triangular ``A``; only the triangle
    named by ``upper`` is read, and its diagonal is taken as ones when ``unitriangular``.

    Example:
        >>> A = ember.tensor([[2., 1.], [0., 4.]])
        >>> ember.linalg.solve_triangular(A, ember.tensor([[3.], [4.]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    from ._binary import finish_out

    name = "linalg.solve_triangular"
    if A.ndim < 2 or B.ndim < 2:
        which = "A" if A.ndim < 2 else "B"
        raise RuntimeError(f"{name}: The input tensor {which} must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    k = B.shape[-2] if left else B.shape[-1]
    if k != A.shape[-1]:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    dt = D.result_type(A, B)
    if dt.category < D._FLOAT:
        raise not_implemented_for("triangular_solve_cpu", dt)
    broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    result = LinalgSolveTriangular.apply(A.to(dt), B.to(dt), upper=bool(upper),
                                         left=bool(left), unitriangular=bool(unitriangular))
    return finish_out(result, out, name, A, B)


triangular_solve_type = return_type("triangular_solve", ("solution", "cloned_coefficient"))


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out: tuple | None = None):
    """Deprecated form of :func:`ember.linalg.solve_triangular`: solves ``op(A) X = b`` and
    returns ``(solution, cloned_coefficient)``; ``op`` transposes when ``transpose``.

    Example:
        >>> A = ember.tensor([[2., 1.], [0., 4.]])
        >>> ember.triangular_solve(ember.tensor([[3.], [4.]]), A).solution
        tensor([[1.],
                [1.]])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(triangular_solve, "triangular_solve", b, A, upper, transpose,
                              unitriangular, out=out)
    warnings.warn(
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular and "
        "will be removed in a future PyTorch release. X = ember.triangular_solve(B, A).solution "
        "should be replaced with X = ember.linalg.solve_triangular(A, B, upper=...).",
        UserWarning, stacklevel=2)
    coef = A.mT if transpose else A
    x = solve_triangular(coef, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    batch = tuple(x.shape[:-2])
    coef = A.expand(*batch, *A.shape[-2:]).clone()
    if out is not None:
        from ._binary import finish_out

        x, coef = finish_out(x, out[0], "triangular_solve", A, b), finish_out(
            coef, out[1], "triangular_solve", A, b)
    return triangular_solve_type(x, coef)

