"""Least squares and the pseudo-inverse: ``linalg.pinv``, ``linalg.lstsq``,
``linalg.matrix_rank`` and ``linalg.vander``, re-exported by ``ember.linalg``.

``pinv`` is one op whose gradient is PyTorch's ``pinv_backward`` formula written with ember
ops (so it differentiates again, and needs no SVD gradient); ``lstsq``'s solution is
``pinv(A, rtol=rcond) @ B``: the minimum-norm least-squares solution that LAPACK's drivers
compute, with its gradient through ``pinv``.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._tensor import Tensor
from .._core import Op, set_node_name

__all__ = ["pinv", "lstsq", "matrix_rank", "vander"]

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _title(dtype: D.dtype) -> str:
    from ..inplace import _type_title

    return _type_title(dtype)


def _cutoff(S: np.ndarray, shape, dtype, atol, rtol) -> np.ndarray:
    """PyTorch's tolerance: ``max(atol, rtol * largest singular value)``, with
    ``rtol = eps * max(m, n)`` when neither is given and ``rtol = 0`` when only atol is."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else (
            np.finfo(dtype).eps * max(shape[-2], shape[-1]))
    atol = 0.0 if atol is None else atol
    smax = S.max(axis=-1, keepdims=True) if S.shape[-1] else np.zeros(S.shape[:-1] + (1,))
    return np.maximum(atol, rtol * smax)


def _tolerance(name, atol, rtol, rcond):
    if rcond is not None:
        if rtol is not None:
            raise RuntimeError(f"{name}: rcond and rtol are the same tolerance; give only one.")
        rtol = rcond
    for value in (atol, rtol):
        if isinstance(value, Tensor):
            raise NotImplementedError(f"{name}: tensor-valued atol/rtol are not supported by "
                                      "ember; pass Python floats.")
    return atol, rtol


class Pinv(Op):
    """The Moore-Penrose pseudo-inverse of each matrix in a batch."""

    save_output = True
    _name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        ctx.save_for_backward(ctx.inputs[0])
        real = np.finfo(A.dtype).dtype
        if hermitian:
            w, V = np.linalg.eigh(A)
            S = np.abs(w)
            keep = S > _cutoff(S, A.shape, real, atol, rtol)
            inv_w = np.where(keep, 1 / np.where(keep, w, 1), 0).astype(w.dtype)
            return (V * inv_w[..., None, :]) @ np.swapaxes(V, -1, -2).conj()
        U, S, Vh = np.linalg.svd(A, full_matrices=False)
        keep = S > _cutoff(S, A.shape, real, atol, rtol)
        inv_s = np.where(keep, 1 / np.where(keep, S, 1), 0).astype(S.dtype)
        out = (np.swapaxes(Vh, -1, -2).conj() * inv_s[..., None, :]) @ np.swapaxes(U, -1, -2).conj()
        return out.astype(A.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        A, pinvA = ctx.saved_tensors
        m, n = A.shape[-2], A.shape[-1]
        pinvAh, gradh = pinvA.mH, grad.mH
        if m <= n:
            K = gradh @ pinvA
            KpinvAh = K @ pinvAh
            return (-(pinvA @ K).mH + KpinvAh - (A @ pinvA) @ KpinvAh
                    + (pinvAh @ pinvA) @ (gradh - K @ A))
        K = pinvA @ gradh
        pinvAhK = pinvAh @ K
        return (-(K @ pinvA).mH + pinvAhK - (pinvAhK @ pinvA) @ A
                + (gradh - A @ K) @ pinvA @ pinvAh)


def _check_float_matrix(name: str, A: Tensor) -> None:
    if A.ndim < 2 or A._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise RuntimeError(f"{name}({_title(A._dtype)}"
                           f"{{{list(A.shape)}}}): expected a tensor with 2 or more dimensions "
                           "of float, double, cfloat or cdouble types")


def pinv(A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None,
         out=None) -> Tensor:
    """The pseudo-inverse (Moore-Penrose) of a matrix or a batch of matrices.

    Singular values at or below ``max(atol, rtol * largest)`` count as zero; by default
    ``rtol = eps * max(m, n)``. ``hermitian=True`` uses the eigendecomposition.

    Example:
        >>> ember.linalg.pinv(ember.tensor([[1., 2.], [2., 4.]]))
        tensor([[0.0400, 0.0800],
                [0.0800, 0.1600]])
    """
    _check_float_matrix("linalg.pinv", A)
    atol, rtol = _tolerance("linalg.pinv", atol, rtol, rcond)
    result = Pinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)
    if out is not None:
        from .._dispatch import finish_out

        return finish_out(result, out, "linalg_pinv", A)
    return result


@_autocast.hooked("linalg_matrix_rank")
def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """The numerical rank: how many singular values exceed ``max(atol, rtol * largest)``
    (``rtol = eps * max(m, n)`` by default); an int64 tensor of A's batch shape.

    Example:
        >>> ember.linalg.matrix_rank(ember.tensor([[1., 2.], [2., 4.]]))
        tensor(1)
    """
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at "
                           "least 2 dimensions.")
    if A._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerance("linalg.matrix_rank", atol, rtol, None)
    arr = A._data
    S = np.abs(np.linalg.eigvalsh(arr)) if hermitian else np.linalg.svd(arr, compute_uv=False)
    rank = (S > _cutoff(S, arr.shape, np.finfo(arr.dtype).dtype, atol, rtol)).sum(-1)
    result = Tensor._make(np.asarray(rank, dtype=np.int64), D.int64)
    if out is not None:
        from .._dispatch import finish_out

        return finish_out(result, out, "linalg_matrix_rank", A)
    return result


_lstsq_type = None


def _lstsq_result():
    global _lstsq_type
    if _lstsq_type is None:
        from ..reduction.select import return_type

        _lstsq_type = return_type("linalg_lstsq",
                                  ("solution", "residuals", "rank", "singular_values"))
    return _lstsq_type


def _check_gels_full_rank(a) -> None:
    """``gels`` solves through a plain QR (LQ for wide matrices) and, unlike the
    rank-revealing drivers, stops at an exactly zero diagonal entry of the triangular factor:
    a zero column (row) after independent ones gives one. (LAPACK answers an all-zero matrix
    with a zero solution instead.)"""
    from .inv_solve_det import LinAlgError

    a = np.asarray(a)
    flat = a.reshape((-1,) + a.shape[-2:])
    for k, m in enumerate(flat):
        if m.size == 0 or not m.any():
            continue
        tri = np.linalg.qr(m if m.shape[0] >= m.shape[1] else m.conj().T, mode="r")
        zeros = np.flatnonzero(np.diagonal(tri) == 0)
        if zeros.size:
            batch = f"(Batch element {k}): " if a.ndim > 2 else ""
            raise LinAlgError(
                f"torch.linalg.lstsq: {batch}The least squares solution could not be computed "
                f"because the input matrix does not have full rank (error code: {zeros[0] + 1}).")


@_autocast.hooked("linalg_lstsq")
def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver: str | None = None):
    """The least-squares solution of ``A X = B`` (minimum norm where A is rank deficient).

    Returns ``(solution, residuals, rank, singular_values)`` as PyTorch's CPU drivers fill
    them: ``gelsy`` (the default) gives the rank; ``gelsd``/``gelss`` also the singular
    values and, for tall full-rank A, the squared residuals; ``gels`` only the residuals.

    Example:
        >>> A = ember.tensor([[1., 0.], [0., 1.], [1., 1.]])
        >>> ember.linalg.lstsq(A, ember.tensor([[1.], [2.], [3.]])).solution
        tensor([[1.],
                [2.]])
    """
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.ndim < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if A._dtype is not B._dtype:
        raise RuntimeError("torch.linalg.lstsq: Expected input and other to have the same "
                           f"dtype, but got input's dtype {_title(A._dtype)} and other's "
                           f"dtype {_title(B._dtype)}")
    if A._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    if driver == "gels":
        _check_gels_full_rank(A._data)
    m, n = A.shape[-2], A.shape[-1]
    rtol = rcond if rcond is not None and rcond >= 0 else None
    X = Pinv.apply(A, atol=None, rtol=rtol, hermitian=False) @ Bm
    solution = set_node_name(X.squeeze(-1) if vector else X, "LinalgLstsqBackward0")
    real = D.float64 if A._dtype in (D.float64, D.complex128) else D.float32
    S = np.linalg.svd(A._data, compute_uv=False)
    rank_arr = (S > _cutoff(S, A.shape, real.np_dtype, None, rtol)).sum(-1).astype(np.int64)

    def empty(dtype):
        return Tensor._make(np.zeros((0,), dtype.np_dtype), dtype)

    rank = empty(D.int64) if driver == "gels" else Tensor._make(np.asarray(rank_arr), D.int64)
    values = (Tensor._make(S.astype(real.np_dtype), real) if driver in ("gelsd", "gelss")
              else empty(real))
    residuals = empty(real)
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank_arr == n).all())):
        r = A._data @ X._data - Bm._data
        res = (np.abs(r) ** 2).sum(-2)
        residuals = Tensor._make(res.astype(real.np_dtype), real)
    return _lstsq_result()(solution, residuals, rank, values)


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """The Vandermonde matrix of ``x``: columns ``x**0, x**1, ..., x**(N-1)`` (N = len(x) by
    default); integer inputs give int64.

    Example:
        >>> ember.linalg.vander(ember.tensor([1, 2, 3]))
        tensor([[1, 1, 1],
                [1, 2, 4],
                [1, 3, 9]])
    """
    from ... import _creation
    from ..shape.joining import cat

    if x._dtype is D.bool or x._dtype in (D.float16, D.bfloat16):
        raise RuntimeError("linalg.vander supports floating point, complex, and integer "
                           f"tensors, but got {_title(x._dtype)}")
    if x.ndim < 1:
        raise RuntimeError("N must be greater than 1.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x._dtype.category < D._FLOAT:
        x = x.to(D.int64)
    ones = _creation.ones(tuple(x.shape) + (1,), dtype=x._dtype, device=x.device)
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return cat([ones, powers], -1)
