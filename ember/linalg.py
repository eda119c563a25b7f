"""``ember.linalg``: PyTorch's ``torch.linalg`` namespace (norms, inverses, solvers,
determinants, decompositions).

Example:
    >>> A = ember.tensor([[2., 1.], [1., 3.]])
    >>> ember.linalg.solve(A, ember.tensor([1., 2.]))
    tensor([0.2000, 0.6000])
"""

from __future__ import annotations

import math

import numpy as np

from . import _autocast
from . import _dtype as D
from ._autocast import hot as _amp
from ._backend import asarray_like, get_array_module, to_numpy
from ._ops._core import wrap_dim
from ._ops.linalg.inv_solve_det import LinAlgError, SlogDet, check_square, empty_low_precision_ok
from ._ops.linalg.inv_solve_det import cholesky as _cholesky
from ._ops.linalg.inv_solve_det import det as _det
from ._ops.linalg.inv_solve_det import inv as _inv
from ._ops.linalg.inv_solve_det import refuse_low_precision as _refuse_low_precision
from ._ops.linalg.inv_solve_det import solve as _solve
from ._ops.linalg.matmul import matmul
from ._ops.linalg.products import cross as _cross
from ._ops.reduction.norms import vector_norm as _vector_norm
from ._ops.reduction.select import return_type
from ._tensor import Tensor

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "solve",
           "det", "slogdet", "cholesky", "cholesky_ex", "eigh", "eigvalsh", "svd", "svdvals",
           "qr", "cross", "matmul", "multi_dot", "vecdot", "diagonal", "matrix_power"]


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None).

    Example:
        >>> ember.linalg.vector_norm(ember.tensor([3., 4.]))
        tensor(5.)
    """
    return _vector_norm(x, ord, dim, keepdim, dtype=dtype)


def _check_norm_dtype(have: D.dtype, want: D.dtype) -> None:
    """matrix_norm's ``dtype=`` may only widen the input's dtype, within its category."""
    title = D.SCALAR_TYPE
    if want.category < D._FLOAT:
        raise RuntimeError("linalg.matrix_norm: dtype should be floating point or complex, but "
                           f"got {title[want.name]}")
    if have.is_complex != want.is_complex:
        kind = "complex for complex" if have.is_complex else "real for real"
        raise RuntimeError(f"linalg.matrix_norm: dtype should be {kind} inputs, but got "
                           f"{title[want.name]}")
    if have is not want and have.itemsize >= want.itemsize:
        raise RuntimeError(f"linalg.matrix_norm: the dtype of the input ({title[have.name]}) "
                           "should be convertible without narrowing to the specified dtype "
                           f"({title[want.name]})")


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2.

    Example:
        >>> ember.linalg.matrix_norm(ember.eye(2), ord=1)
        tensor(1.)
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
    d0, d1 = wrap_dim(dim[0], A.ndim), wrap_dim(dim[1], A.ndim)
    if A._dtype.category < D._FLOAT:
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {D.SCALAR_TYPE[A._dtype.name]}")
    if dtype is not None:
        dtype = D.to_dtype(dtype)
        _check_norm_dtype(A._dtype, dtype)
    if ord in ("nuc", 2, -2):  # torch refuses the input's dtype, before any dtype= cast
        _refuse_low_precision(A, api="linalg.matrix_norm")
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(A.ndim) if i not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if isinstance(ord, str) or abs(ord) not in (1, math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # ord=+-1: extreme column sum (sum over rows d0); ord=+-inf: extreme row sum.
    sum_dim, ext_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = _vector_norm(A, 1, sum_dim, keepdim=True)
    out = sums.amax(ext_dim, keepdim=True) if ord > 0 else sums.amin(ext_dim, keepdim=True)
    return out if keepdim else _squeeze2(out, d0, d1)


def _squeeze2(t: Tensor, d0: int, d1: int) -> Tensor:
    shape = [s for i, s in enumerate(t.shape) if i not in (d0, d1)]
    return t.reshape(tuple(shape))


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector or matrix norm, chosen like PyTorch: by ``dim`` (an int: vector; a pair:
    matrix) or, when ``dim`` is None, by the input's rank (only when ``ord`` is given).

    Example:
        >>> ember.linalg.norm(ember.tensor([[1., 2.], [2., 4.]]))
        tensor(5.)
    """
    if isinstance(dim, (int, np.integer)):  # a NumPy int too, as torch
        dim = (dim,)
    if dim is not None:
        if len(dim) == 1:
            return _vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return _vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return _vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {A.ndim}D.")


def inv(A: Tensor, *, out=None) -> Tensor:
    """Inverse of a square matrix (or batch); raises ``LinAlgError`` when singular.

    Example:
        >>> ember.linalg.inv(ember.tensor([[2., 0.], [0., 4.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(inv, "linalg_inv", A, out=out)
    return _inv(A)


_inv_ex_type = return_type("linalg_inv_ex", ("inverse", "info"))


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """``(inverse, info)``; ``info`` is nonzero where the matrix is singular."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(inv_ex, "linalg_inv_ex", A, check_errors=check_errors)
    try:
        return _inv_ex_type(_inv(A), Tensor._make(np.zeros(A.shape[:-2], np.int32), D.int32))
    except LinAlgError:
        if check_errors:
            raise
        eye_b = Tensor._make(asarray_like(np.eye(A.shape[-1], dtype=to_numpy(A._data).dtype),
                                          A._data), A._dtype)
        inverse, info = _solve_singular_batch(A, eye_b.expand(*A.shape), True, _inv)
        return _inv_ex_type(inverse, info)


def _getrs_np(lu: np.ndarray, piv: np.ndarray, b: np.ndarray, trans: bool) -> np.ndarray:
    """LAPACK's getrs on one packed LU (``_lu_np``'s) and the columns of ``b``: ``A X = B``,
    or ``A^T X = B`` with ``trans``. Run in plain substitution order so a zero pivot spreads
    inf and nan over the answer the way LAPACK's does (what torch's ``*_ex`` functions show)."""
    n = lu.shape[-1]
    x = np.array(b, copy=True)
    swaps = [(j, int(p) - 1) for j, p in enumerate(piv)]
    with np.errstate(all="ignore"):
        if not trans:
            for j, p in swaps:
                x[[j, p]] = x[[p, j]]
            for k in range(n):  # L: unit lower triangle
                x[k + 1:] -= np.outer(lu[k + 1:, k], x[k])
            for k in range(n - 1, -1, -1):  # U, column by column
                x[k] = x[k] / lu[k, k]
                x[:k] -= np.outer(lu[:k, k], x[k])
        else:
            for k in range(n):  # U^T: lower, one dot product per row
                x[k] = (x[k] - lu[:k, k] @ x[:k]) / lu[k, k]
            for k in range(n - 1, -1, -1):  # L^T: unit upper
                x[k] = x[k] - lu[k + 1:, k] @ x[k + 1:]
            for j, p in reversed(swaps):
                x[[j, p]] = x[[p, j]]
    return x


def _solve_singular_batch(A: Tensor, B: Tensor, left: bool, solver):
    """``(result, info)`` for a batch holding singular matrices, as torch's ``solve_ex`` and
    ``inv_ex`` give them: each matrix's own LAPACK info (first zero pivot, 1-based), the true
    (differentiable) answer for the regular ones, LAPACK's inf/nan for the singular ones."""
    from ._ops.linalg.legacy import _lu_np
    from ._ops.pointwise.compare import where

    n = A.shape[-1]
    a = to_numpy(A._data)
    lu, piv, info = _lu_np(a)
    singular = info != 0
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    b = to_numpy(B._data)
    b = b[..., None] if vector else (b if left else np.swapaxes(b, -1, -2))
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    lu_b = np.broadcast_to(lu, batch + (n, n)).reshape((-1, n, n))
    piv_b = np.broadcast_to(piv, batch + (n,)).reshape((-1, n))
    b_b = np.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    bad = np.broadcast_to(singular, batch).reshape(-1)
    junk = np.zeros_like(b_b, dtype=np.result_type(lu.dtype, b.dtype))
    for k in np.flatnonzero(bad):
        junk[k] = _getrs_np(lu_b[k], piv_b[k], b_b[k], trans=not left)
    junk = junk.reshape(batch + b.shape[-2:])
    junk = junk[..., 0] if vector else (junk if left else np.swapaxes(junk, -1, -2))
    # the regular matrices are solved for real (identity stands in for the singular ones)
    mask = singular.reshape(singular.shape + (1, 1))
    eye_n = np.eye(n, dtype=a.dtype)
    safe = Tensor._make(asarray_like(np.where(mask, eye_n, 0), A._data), A._dtype)
    keep = Tensor._make(asarray_like(~mask, A._data), D.bool)
    safe_A = where(keep, A, safe)
    good = solver(safe_A) if solver is _inv else solver(safe_A, B, left=left)
    out_mask = singular.reshape(singular.shape + ((1,) if vector else (1, 1)))
    result = where(Tensor._make(asarray_like(out_mask, A._data), D.bool),
                   Tensor._make(asarray_like(junk.astype(to_numpy(good._data).dtype), A._data),
                                good._dtype), good)
    return result, Tensor._make(asarray_like(info.astype(np.int32), A._data), D.int32)


@empty_low_precision_ok
def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` when ``left=False``); ``B`` may be a vector.

    Example:
        >>> ember.linalg.solve(ember.eye(2) * 2, ember.tensor([2., 4.]))
        tensor([1., 2.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(solve, "linalg_solve", A, B, left=left, out=out)
    return _solve(A, B, left=left)


def det(A: Tensor, *, out=None) -> Tensor:
    """Determinant of a square matrix (or batch).

    Example:
        >>> ember.linalg.det(ember.eye(3) * 2)
        tensor(8.)
    """
    return _det(A)


_linalg_slogdet = return_type("linalg_slogdet", ("sign", "logabsdet"))


def slogdet(A: Tensor, *, out=None):
    """``(sign, logabsdet)`` of the determinant.

    Example:
        >>> ember.linalg.slogdet(ember.eye(2) * -1).sign
        tensor(1.)
    """
    check_square("linalg.slogdet", A)
    _refuse_low_precision(A, api="linalg.slogdet")
    return _linalg_slogdet(*SlogDet.apply(A, log_of_det=False))


@empty_low_precision_ok
def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Lower (or upper) Cholesky factor of a symmetric positive-definite matrix.

    Example:
        >>> ember.linalg.cholesky(ember.eye(2) * 4)
        tensor([[2., 0.],
                [0., 2.]])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(cholesky, "linalg_cholesky", A, upper=upper, out=out)
    return _cholesky(A, upper=upper)


_cholesky_ex_type = return_type("linalg_cholesky_ex", ("L", "info"))


@empty_low_precision_ok
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)``; ``info`` is the order of the first non-positive-definite leading minor."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(cholesky_ex, "linalg_cholesky_ex", A, upper=upper,
                              check_errors=check_errors)
    check_square("linalg.cholesky", A)
    _refuse_low_precision(A, "cholesky_cpu")
    try:
        L = _cholesky(A, upper=upper)
        # a NaN pivot fails LAPACK's "> 0" test, so torch reports it in info too
        ld = L.detach()._data
        if not bool(get_array_module(ld).isnan(ld.diagonal(0, -2, -1)).any()):
            return _cholesky_ex_type(L, Tensor._make(np.zeros(A.shape[:-2], np.int32),
                                                     D.int32))
    except LinAlgError:
        pass
    # Some batch element failed: each element gets its own info, the good ones their factor
    # (still differentiable), the failed ones LAPACK's partial factor, as torch returns them.
    from . import eye, where

    # upper=True reads A's upper triangle: factor A^H's lower one and transpose back
    source = A.mH if upper else A
    flat = to_numpy(source.detach()._data).reshape((-1,) + tuple(A.shape[-2:]))
    partial, infos = zip(*(_partial_cholesky(m) for m in flat))
    info = np.array(infos, np.int32).reshape(A.shape[:-2])
    if check_errors and (info > 0).any():
        # torch names cholesky_ex, the first failing batch element and its leading minor
        bad = int(np.flatnonzero(info.reshape(-1) > 0)[0])
        prefix = f"(Batch element {bad}): " if A.ndim > 2 else ""
        raise LinAlgError(f"linalg.cholesky_ex: {prefix}The factorization could not be "
                          "completed because the input is not positive-definite (the leading "
                          f"minor of order {int(info.reshape(-1)[bad])} is not "
                          "positive-definite).")
    failed = Tensor._make(asarray_like(info > 0, A._data), D.bool)[..., None, None]
    good = _cholesky(where(failed, eye(A.shape[-1], dtype=A.dtype, device=A.device), source))
    stub = Tensor._make(asarray_like(np.stack(partial).reshape(A.shape), A._data), A._dtype)
    L = where(failed, stub, good)
    return _cholesky_ex_type(L.mH if upper else L,
                             Tensor._make(asarray_like(info, A._data), D.int32))


def _partial_cholesky(a):
    """Column-by-column lower Cholesky of one matrix, stopping like LAPACK's unblocked potrf:
    at the first non-positive (or NaN) pivot its value stays on the diagonal, the columns not
    reached keep A's lower triangle, and the returned info is that pivot's 1-based order."""
    L = np.tril(a).astype(a.dtype, copy=True)
    for j in range(a.shape[0]):
        d = (a[j, j] - np.vdot(L[j, :j], L[j, :j])).real
        if not d > 0:
            L[j, j] = d
            return L, j + 1
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (a[j + 1:, j] - L[j + 1:, :j] @ L[j, :j].conj()) / L[j, j]
    return L, 0


from ._ops.linalg.products import diagonal, matrix_power, multi_dot, vecdot  # noqa: E402
from ._ops.linalg.svd_eigh_qr import eigh, eigvalsh, qr, svd, svdvals  # noqa: E402


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the last by default), with broadcasting.

    Example:
        >>> ember.linalg.cross(ember.tensor([1., 0., 0.]), ember.tensor([0., 1., 0.]))
        tensor([0., 0., 1.])
    """
    if _amp.active and _autocast.state.active:  # not an autocast op (its einsum would be)
        return _autocast.run_without_autocast(_cross, input, other, dim=dim)
    return _cross(input, other, dim=dim)




from ._ops.linalg.lstsq import lstsq, matrix_rank, pinv, vander  # noqa: E402

__all__ += ["lstsq", "matrix_rank", "pinv", "vander"]

# matrix_exp and solve_triangular live in ember/_ops/linalg/matrix_exp.py and triangular.py
from ._ops.linalg.matrix_exp import matrix_exp  # noqa: E402
from ._ops.linalg.triangular import solve_triangular  # noqa: E402

__all__ += ["matrix_exp", "solve_triangular"]


# LU, Householder and condition numbers, built on the legacy kernels in _ops/linalg/legacy.py
_LU_FACTOR = return_type("linalg_lu_factor", ("LU", "pivots"))
_LU_FACTOR_EX = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_LU = return_type("linalg_lu", ("P", "L", "U"))
_SOLVE_EX = return_type("linalg_solve_ex", ("result", "info"))


def _quiet(fn, *args, **kwargs):
    """Call a legacy kernel without its deprecation warning (the linalg form is the new one)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    """``(LU, pivots, info)``: the packed LU factorization with 1-based int32 pivots; ``info``
    is nonzero for a singular matrix (an error only with ``check_errors``).

    Example:
        >>> LU, pivots, info = ember.linalg.lu_factor_ex(ember.tensor([[1., 2.], [3., 4.]]))
    """
    from ._ops.linalg import legacy

    # legacy.lu.__wrapped__: the legacy torch.lu is on autocast's float32 list, lu_factor is not
    LU, pivots, info = _quiet(legacy.lu.__wrapped__, A, pivot=pivot, get_infos=True)
    if check_errors and bool((info != 0).any()):
        raise _lu_zero_pivot_error("torch.linalg.lu_factor_ex", info)
    return _LU_FACTOR_EX(LU, pivots, info)


def _lu_zero_pivot_error(name: str, info: Tensor) -> RuntimeError:
    """torch's error (a plain RuntimeError) for a zero pivot: the first failing matrix of a
    batch, and its first zero diagonal element of U (LAPACK's 1-based ``info``)."""
    flat = info.reshape(-1).tolist()
    bad = next(i for i, v in enumerate(flat) if v != 0)
    where = f"(Batch element {bad}): " if info.dim() else ""
    k = flat[bad]
    return RuntimeError(f"{name}: {where}U[{k},{k}] is zero and using it on lu_solve would "
                        "result in a division by zero. If you still want to perform the "
                        "factorization, consider calling linalg.lu(A, pivot) or "
                        "linalg.lu_factor_ex(A, pivot)")


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """``(LU, pivots)``: the packed LU factorization of ``A`` (``P @ L @ U == A``), for
    ``lu_solve``.

    Example:
        >>> LU, pivots = ember.linalg.lu_factor(ember.tensor([[1., 2.], [3., 4.]]))
        >>> pivots
        tensor([2, 2], dtype=torch.int32)
    """
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    if bool((info != 0).any()):
        raise _lu_zero_pivot_error("torch.linalg.lu_factor", info)
    return _LU_FACTOR(LU, pivots)


def lu(A: Tensor, *, pivot: bool = True, out=None):
    """``(P, L, U)`` with ``A == P @ L @ U``; gradients reach ``A`` through ``L`` and ``U``.

    Example:
        >>> P, L, U = ember.linalg.lu(ember.tensor([[1., 2.], [3., 4.]]))
    """
    from ._ops.linalg import legacy

    LU, pivots, _ = _quiet(legacy.lu.__wrapped__, A, pivot=pivot, get_infos=True)
    return _LU(*legacy.lu_unpack(LU, pivots))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False, out=None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` with ``left=False``; ``A^H`` with ``adjoint``) from
    ``lu_factor``'s output.

    Example:
        >>> LU, pivots = ember.linalg.lu_factor(A)
        >>> X = ember.linalg.lu_solve(LU, pivots, B)
    """
    from ._ops.linalg import legacy

    if LU._dtype is not B._dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found "
                           f"LU of type {D.SCALAR_TYPE[LU._dtype.name]} and B of type "
                           f"{D.SCALAR_TYPE[B._dtype.name]} instead")
    _refuse_low_precision(LU, "linalg.lu_solve_cpu")
    if left and not adjoint:
        return _quiet(legacy.lu_solve, B, LU, pivots)
    P, L, U = legacy.lu_unpack(LU, pivots)
    A = matmul(matmul(P, L), U)
    A = A.mH if adjoint else A
    return solve(A, B, left=left)


@empty_low_precision_ok
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """``(result, info)``: ``solve`` that reports a singular ``A`` in ``info`` (int32, nonzero)
    instead of raising, unless ``check_errors``.

    Example:
        >>> result, info = ember.linalg.solve_ex(ember.eye(2), ember.ones(2))
    """
    from ._creation import zeros

    batch = tuple(A.shape[:-2])
    try:
        # solve_ex is not on autocast's lists (solve is): its kernel sees the input dtype
        result = _autocast.run_without_autocast(_solve, A, B, left=left)
        info = zeros(batch, dtype=D.int32)
    except LinAlgError as err:
        if check_errors:  # torch names the function called
            raise LinAlgError(str(err).replace("torch.linalg.solve:", "torch.linalg.solve_ex:",
                                               1)) from None
        result, info = _autocast.run_without_autocast(_solve_singular_batch, A, B, left, _solve)
    return _SOLVE_EX(result, info)


@_autocast.hooked("linalg_householder_product")
def householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first ``n`` columns of the product of Householder reflectors stored in ``A`` and
    ``tau`` (``geqrf``'s output gives ``Q`` of the QR decomposition).

    Example:
        >>> Q = ember.linalg.householder_product(*ember.geqrf(A))
    """
    from ._ops.linalg import legacy

    return legacy.orgqr(A, tau)


@empty_low_precision_ok
def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number of ``A`` in the ``p`` norm: ``sigma_max / sigma_min`` for
    ``p`` None, 2 or -2 (any shape); ``norm(A, p) * norm(inv(A), p)`` for 'fro', 'nuc',
    inf, -inf, 1, -1 (square ``A``).

    Example:
        >>> ember.linalg.cond(ember.tensor([[2., 0.], [0., 1.]]))
        tensor(2.)
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor A must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        s = svdvals(A)
        if s.shape[-1] == 0:  # an empty matrix has no singular values: torch answers 0
            return s.new_zeros(s.shape[:-1])
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    check_square(f"linalg.cond(ord={p})", A)
    if p == "nuc":  # torch's nuclear norm reaches the SVD kernel before matrix_norm's check
        _refuse_low_precision(A, "linalg_svd_cpu")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


__all__ += ["lu_factor", "lu_factor_ex", "lu", "lu_solve", "solve_ex", "householder_product",
            "cond"]


# the general eigendecomposition (complex results) lives in ember/_ops/linalg/eig.py
from ._ops.linalg.eig import eig, eigvals  # noqa: E402
from ._ops.linalg.ldl import ldl_factor, ldl_factor_ex, ldl_solve  # noqa: E402
from ._ops.linalg.tensor_solve import tensorinv, tensorsolve  # noqa: E402

__all__ += ["eig", "eigvals", "tensorinv", "tensorsolve", "ldl_factor", "ldl_factor_ex",
            "ldl_solve"]
