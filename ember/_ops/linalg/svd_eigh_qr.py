"""Decompositions for ``ember.linalg``: ``svd``/``svdvals``, ``eigh``/``eigvalsh``, ``qr``.

Decomposition gradients use PyTorch's formulas with the factors held as constants, so they are
exact to first order; second derivatives through a decomposition are not tracked.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import ascontiguousarray
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op
from .._dispatch import refuse
from ..reduction.select import return_type
from .inv_solve_det import check_square
from .matmul import Matmul


def _const(a: np.ndarray, dt: D.dtype) -> Tensor:
    return Tensor._make(ascontiguousarray(a), dt)


def _check_float(name: str, A: Tensor):
    if A._dtype.category < D._FLOAT:
        from ..inplace import _type_title

        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_type_title(A._dtype)}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


class Svd(Op):
    materialize_grads = False  # unused outputs' gradients arrive as None

    @staticmethod
    def forward(ctx, A, full_matrices):
        U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
        ctx._num_outputs = 3  # gradients arrive for every output, not only the first
        k = S.shape[-1]
        ctx.U, ctx.Vh, ctx.dt = U[..., :, :k], Vh[..., :k, :], D._FROM_NP[A.dtype]
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        if gU is not None and np.any(gU._data) or gVh is not None and np.any(gVh._data):
            raise NotImplementedError(
                "ember's svd backward supports gradients through the singular values only; "
                "use linalg.svdvals, or a formulation that does not differentiate U and Vh")
        if gS is None:
            return None
        U, Vh = _const(ctx.U, ctx.dt), _const(ctx.Vh, ctx.dt)
        return Matmul.apply(U * gS.unsqueeze(-2), Vh)  # U diag(gS) Vh


_svd_type = return_type("linalg_svd", ("U", "S", "Vh"))


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """``A = U diag(S) Vh``; gradients flow through ``S`` only (see ``svdvals``).

    Example:
        >>> ember.linalg.svd(ember.eye(2) * 3).S
        tensor([3., 3.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(svd, "linalg_svd", A, full_matrices, driver=driver, out=out)
    _check_float("linalg.svd", A)
    return _svd_type(*Svd.apply(A, full_matrices=full_matrices))


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values in descending order (differentiable).

    Example:
        >>> ember.linalg.svdvals(ember.tensor([[3., 0.], [0., -4.]]))
        tensor([4., 3.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(svdvals, "linalg_svdvals", A, driver=driver, out=out)
    _check_float("linalg.svdvals", A)
    return Svd.apply(A, full_matrices=False)[1]


class Eigh(Op):
    materialize_grads = False
    @staticmethod
    def forward(ctx, A, uplo):
        L, V = np.linalg.eigh(A, UPLO=uplo)
        ctx._num_outputs = 2
        ctx.L, ctx.V, ctx.dt = L, V, D._FROM_NP[A.dtype]
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        # PyTorch's rule: gA = V (diag(gL) + (V^T gV) / E) V^T, E_ij = L_j - L_i off the diagonal
        L, V = ctx.L, ctx.V
        E = L[..., None, :] - L[..., :, None]
        n = L.shape[-1]
        E[..., np.arange(n), np.arange(n)] = np.inf  # no contribution from the diagonal
        Vt = _const(V, ctx.dt)
        inner = None
        if gV is not None:
            inner = Matmul.apply(Vt.mH, gV) * _const(1.0 / E, ctx.dt)
        if gL is not None:
            eye = _const(xp_of(V).eye(n, dtype=V.dtype), ctx.dt)
            d = gL.unsqueeze(-2) * eye
            inner = d if inner is None else inner + d
        # .mH (the .mT of a real V): complex gradients conjugate the derivative
        return Matmul.apply(Matmul.apply(Vt, inner), Vt.mH)


_eigh_type = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))


def _refuse_eigh(A: Tensor) -> None:
    """torch checks for square matrices first, then its kernel refuses the dtype."""
    if A.ndim >= 2 and A.shape[-1] == A.shape[-2]:
        refuse("eigh", A._dtype)


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix.

    Example:
        >>> ember.linalg.eigh(ember.tensor([[2., 0.], [0., 1.]])).eigenvalues
        tensor([1., 2.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(eigh, "linalg_eigh", A, UPLO, out=out)
    _refuse_eigh(A)
    check_square("linalg.eigh", A)
    return _eigh_type(*Eigh.apply(A, uplo=UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix.

    Example:
        >>> ember.linalg.eigvalsh(ember.tensor([[2., 0.], [0., 1.]]))
        tensor([1., 2.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(eigvalsh, "linalg_eigvalsh", A, UPLO, out=out)
    _refuse_eigh(A)
    check_square("linalg.eigvalsh", A)
    return Eigh.apply(A, uplo=UPLO)[0]


class Qr(Op):
    materialize_grads = False
    @staticmethod
    def forward(ctx, A, mode):
        ctx._num_outputs = 2
        return tuple(np.linalg.qr(A, mode=mode))

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("ember.linalg.qr has no backward yet; for least squares use "
                                  "linalg.solve on the normal equations")


_qr_type = return_type("linalg_qr", ("Q", "R"))


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """QR decomposition (forward only).

    Example:
        >>> Q, R = ember.linalg.qr(ember.eye(2))
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(qr, "linalg_qr", A, mode, out=out)
    _check_float("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    if mode == "r":
        R = Tensor._make(np.linalg.qr(A._data, mode="r"), A._dtype)
        return _qr_type(Tensor._make(np.zeros((0,), A._data.dtype), A._dtype), R)
    return _qr_type(*Qr.apply(A, mode=mode))


