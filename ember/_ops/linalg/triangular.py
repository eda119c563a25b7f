"""Triangular solves: ``linalg.solve_triangular`` and the older ``triangular_solve``; gradients are
torch's formulas written with ember ops.
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import ascontiguousarray
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op, bool_arg, broadcast_shapes, set_node_name, unbroadcast
from .._dispatch import not_implemented_for
from ..inplace import _type_title
from ..reduction.select import return_type


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
        x = np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                            np.broadcast_to(b, batch + b.shape[-2:]))
        # LU's row swaps leave round-off (1e-17, -0.) where substitution, as torch's trsm,
        # gives exact zeros: x[i, j] is b[i, j] / a[i, i] while b[:i + 1, j] is all zero
        leading_zero = np.cumsum(b != 0, axis=-2) == 0
        if leading_zero.any():
            x = np.where(leading_zero, b / diag[..., :, None], x)
        return x
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


_REQUIRED = object()  # marks ``upper`` as not given, to raise torch's own TypeError


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool = _REQUIRED, left: bool = True,
                     unitriangular: bool = False, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (``left=False``: ``X A = B``) for triangular ``A``; only the triangle
    named by ``upper`` is read, and its diagonal is taken as ones when ``unitriangular``.

    Example:
        >>> A = ember.tensor([[2., 1.], [0., 4.]])
        >>> ember.linalg.solve_triangular(A, ember.tensor([[3.], [4.]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    from .._dispatch import finish_out

    name = "linalg.solve_triangular"
    if upper is _REQUIRED:
        raise TypeError('linalg_solve_triangular() missing 1 required positional arguments: '
                        '"upper"')
    for flag, value in (("upper", upper), ("left", left), ("unitriangular", unitriangular)):
        bool_arg(value, "linalg_solve_triangular", flag)
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
    if dt.name not in ("float32", "float64", "complex64", "complex128"):  # no half in LAPACK
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
    # PyTorch warns once per process; ember at every call (Python's filters still show
    # it once per call site), as this module's tests expect
    warnings.warn((
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will "
        "be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\nX = "
        "torch.triangular_solve(B, A).solution\nshould be replaced with\nX = "
        "torch.linalg.solve_triangular(A, B)."), UserWarning, stacklevel=2)
    if b._dtype is not A._dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{_type_title(b._dtype)} and A of type {_type_title(A._dtype)} "
                           "instead.")
    for name, t in (("b", b), ("A", A)):
        if t.ndim < 2:
            raise RuntimeError(f"torch.triangular_solve: Expected {name} to have at least 2 "
                               f"dimensions, but it has {t.ndim} dimensions instead")
    coef = A.mT if transpose else A
    x = solve_triangular(coef, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    batch = tuple(x.shape[:-2])
    coef = A.expand(*batch, *A.shape[-2:]).clone()
    # PyTorch's one node for both outputs, named after its legacy kernel
    x, coef = (set_node_name(t, "TriangularSolveBackward0") for t in (x, coef))
    if out is not None:
        from .._dispatch import finish_out

        x, coef = finish_out(x, out[0], "triangular_solve", A, b), finish_out(
            coef, out[1], "triangular_solve", A, b)
    return triangular_solve_type(x, coef)


__all__ = ["triangular_solve"]

TENSOR_METHODS = {
    "triangular_solve": triangular_solve,
}
