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
from ...autograd import grad_mode
from .._core import Op
from .._dispatch import refuse
from ..reduction.select import return_type
from .inv_solve_det import check_square, empty_low_precision_ok, refuse_low_precision
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
    holds_saved = True  # keeps U, S, Vh on ctx; PyTorch saves them (Op._free)
    _name = "LinalgSvdBackward0"  # PyTorch's node: the linalg kernel's
    materialize_grads = False  # unused outputs' gradients arrive as None

    @staticmethod
    def forward(ctx, A, full_matrices):
        U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
        ctx._num_outputs = 3  # gradients arrive for every output, not only the first
        k = S.shape[-1]
        ctx.U, ctx.Vh, ctx.dt = U[..., :, :k], Vh[..., :k, :], D._FROM_NP[A.dtype]
        ctx.S = S
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        k = ctx.U.shape[-1]
        # with full_matrices=True the columns past k are not determined by A: torch drops them
        gU = None if gU is None else gU[..., :, :k]
        gVh = None if gVh is None else gVh[..., :k, :]
        S = None
        if grad_mode._state.enabled:
            # create_graph: the factors as functions of A (torch's rule reads the outputs,
            # which hang off this node), so the second derivative sees them move with A
            if gU is None and gVh is None and gS is None:
                return None
            U, S, Vh = Svd.apply(ctx.inputs[0], full_matrices=False)
        else:
            U, Vh = _const(ctx.U, ctx.dt), _const(ctx.Vh, ctx.dt)
        if gU is None and gVh is None:
            if gS is None:
                return None
            return Matmul.apply(U * gS.unsqueeze(-2), Vh)  # U diag(gS) Vh
        return _svd_vectors_backward(ctx, U, Vh, gU, gS, gVh, S)


def _svd_vectors_backward(ctx, U, Vh, gU, gS, gVh, S_graph=None):
    """gA for A = U diag(S) Vh (thin factors, k = min(m, n)) when U or Vh get gradients.

    With X = U^H gU, Y = Vh gVh^H and F_ij = 1 / (s_j^2 - s_i^2) (0 on the diagonal):
    gA = U [ F o (X - X^H) S + S F o (Y - Y^H) + diag(gS) + i Im(diag X) / S ] Vh
         + (I - U U^H) gU S^-1 Vh + U S^-1 gVh (I - Vh^H Vh);
    the last two terms vanish for a square A. A complex loss that depends on the free phase
    of the singular vectors (Im diag X + Im diag Y != 0) has no gradient, as in torch.
    ``S_graph``: the singular values as a function of A (create_graph), else None."""
    xp = xp_of(ctx.U)
    S = ctx.S
    m, n, k = ctx.U.shape[-2], ctx.Vh.shape[-1], S.shape[-1]
    if S_graph is None:
        diff = S[..., None, :] ** 2 - S[..., :, None] ** 2          # s_j^2 - s_i^2
        idx = np.arange(k)
        diff[..., idx, idx] = np.inf
        F = _const(1.0 / diff, _real_dtype(ctx.dt))
        Sc = _const(S, _real_dtype(ctx.dt))
    else:  # the same with ember ops (the diagonal kept finite, so no 0 * inf below)
        Sc = S_graph
        eye = _const(xp.eye(k, dtype=bool), D.bool)
        diff = Sc.unsqueeze(-2) ** 2 - Sc.unsqueeze(-1) ** 2
        F = (1.0 / diff.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
    Uh, V = U.mH, Vh.mH
    inner = None

    def add(term):
        nonlocal inner
        inner = term if inner is None else inner + term

    if gS is not None:
        add(gS.unsqueeze(-2) * _const(xp.eye(k, dtype=ctx.U.dtype), ctx.dt))
    diag_im, scale = None, 0.0
    if gU is not None:
        X = Matmul.apply(Uh, gU)
        add((F * (X - X.mH)) * Sc.unsqueeze(-2))
        if ctx.dt.is_complex:
            diag_im, scale = X.diagonal(0, -2, -1).imag, float(X.abs().max())
    if gVh is not None:
        Y = Matmul.apply(Vh, gVh.mH)
        add(Sc.unsqueeze(-1) * (F * (Y - Y.mH)))
        if ctx.dt.is_complex:
            im = Y.diagonal(0, -2, -1).imag
            diag_im = im if diag_im is None else diag_im + im
            scale = max(scale, float(Y.abs().max()))
    if diag_im is not None:
        # a phase-invariant loss cancels these up to rounding
        tol = float(np.sqrt(np.finfo(S.dtype).eps)) * max(scale, float(np.finfo(S.dtype).tiny))
        if float(diag_im.abs().max()) > tol:
            raise RuntimeError(
                "svd_backward: The singular vectors in the complex case are specified up to "
                "multiplication by e^{i phi}. The specified loss function depends on this "
                "phase term, making it ill-defined.")
        if gU is not None:
            imx = Matmul.apply(Uh, gU).diagonal(0, -2, -1).imag
            add(_const(xp.eye(k, dtype=ctx.U.dtype), ctx.dt) * (imx / Sc).unsqueeze(-2) * 1j)
    gA = Matmul.apply(Matmul.apply(U, inner), Vh)
    Sinv = (1.0 / Sc)
    if gU is not None and m > k:
        proj = gU - Matmul.apply(U, Matmul.apply(Uh, gU))
        gA = gA + Matmul.apply(proj * Sinv.unsqueeze(-2), Vh)
    if gVh is not None and n > k:
        proj = gVh - Matmul.apply(Matmul.apply(gVh, V), Vh)
        gA = gA + Matmul.apply(U, Sinv.unsqueeze(-1) * proj)
    return gA


def _real_dtype(dt):
    return {D.complex64: D.float32, D.complex128: D.float64}.get(dt, dt)


_svd_type = return_type("linalg_svd", ("U", "S", "Vh"))


def _check_driver(A: Tensor, driver) -> None:
    # torch picks an SVD driver only through cuSOLVER; on the CPU any driver= is refused
    if driver is not None and A.device.type != "cuda":
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")


@empty_low_precision_ok
def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """``A = U diag(S) Vh``, differentiable through all three factors (a complex loss must not
    depend on the singular vectors' free phases; with ``full_matrices`` the columns of ``U``
    and rows of ``Vh`` past ``min(m, n)`` get no gradient, as in torch).

    Example:
        >>> ember.linalg.svd(ember.eye(2) * 3).S
        tensor([3., 3.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(svd, "linalg_svd", A, full_matrices, driver=driver, out=out)
    _check_float("linalg.svd", A)
    _check_driver(A, driver)
    refuse_low_precision(A, "linalg_svd_cpu")
    return _svd_type(*Svd.apply(A, full_matrices=full_matrices))


@empty_low_precision_ok
def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values in descending order (differentiable).

    Example:
        >>> ember.linalg.svdvals(ember.tensor([[3., 0.], [0., -4.]]))
        tensor([4., 3.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(svdvals, "linalg_svdvals", A, driver=driver, out=out)
    _check_float("linalg.svd", A)  # torch's svdvals reports its errors as linalg.svd
    _check_driver(A, driver)
    refuse_low_precision(A, "linalg_svd_cpu")
    return Svd.apply(A, full_matrices=False)[1]


class Eigh(Op):
    holds_saved = True  # keeps the eigenpairs on ctx; PyTorch saves them (Op._free)
    _name = "LinalgEighBackward0"  # PyTorch's node: the linalg kernel's
    materialize_grads = False
    @staticmethod
    def forward(ctx, A, uplo):
        L, V = np.linalg.eigh(A, UPLO=uplo)
        ctx._num_outputs = 2
        ctx.uplo = uplo
        ctx.L, ctx.V, ctx.dt = L, V, D._FROM_NP[A.dtype]
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        # PyTorch's rule: gA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i off the
        # diagonal
        L, V = ctx.L, ctx.V
        n = L.shape[-1]
        if grad_mode._state.enabled:
            # create_graph: the eigenpairs as functions of A (torch's rule reads the outputs)
            Lg, Vt = Eigh.apply(ctx.inputs[0], uplo=ctx.uplo)
            eye = _const(xp_of(V).eye(n, dtype=bool), D.bool)
            E = Lg.unsqueeze(-2) - Lg.unsqueeze(-1)
            half_inv_E = (0.5 / E.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
        else:
            E = L[..., None, :] - L[..., :, None]
            E[..., np.arange(n), np.arange(n)] = np.inf  # no contribution from the diagonal
            Vt = _const(V, ctx.dt)
            half_inv_E = _const(0.5 / E, ctx.dt)
        inner = None
        if gV is not None:
            # only the skew-Hermitian part of V^H gV moves a unitary V; keeping just it makes
            # gA Hermitian, the gradient torch returns for a symmetric input
            X = Matmul.apply(Vt.mH, gV)
            inner = (X - X.mH) * half_inv_E
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


@empty_low_precision_ok
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


@empty_low_precision_ok
def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix.

    Example:
        >>> ember.linalg.eigvalsh(ember.tensor([[2., 0.], [0., 1.]]))
        tensor([1., 2.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(eigvalsh, "linalg_eigvalsh", A, UPLO, out=out)
    _refuse_eigh(A)
    check_square("linalg.eigh", A)  # torch's eigvalsh runs eigh's checks, under eigh's name
    return Eigh.apply(A, uplo=UPLO)[0]


class Qr(Op):
    _name = "LinalgQrBackward0"  # PyTorch's node: the linalg kernel's
    materialize_grads = False
    @staticmethod
    def forward(ctx, A, mode):
        ctx._num_outputs = 2
        if mode == "r":  # R only (Q comes back empty), still on the graph so backward can refuse
            ctx.mode = mode
            return xp_of(A).zeros((0,), A.dtype), np.linalg.qr(A, mode="r")
        Q, R = np.linalg.qr(A, mode=mode)
        ctx.Q, ctx.R, ctx.mode, ctx.dt = Q, R, mode, D._FROM_NP[A.dtype]
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        m, n = ctx.Q.shape[-2], ctx.R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if gQ is None and gR is None:
            return None
        if grad_mode._state.enabled:  # create_graph: Q and R as functions of A, as torch's
            Q, R = Qr.apply(ctx.inputs[0], mode=ctx.mode)  # rule reads the node's outputs
        else:
            Q, R = _const(ctx.Q, ctx.dt), _const(ctx.R, ctx.dt)
        if m >= n:
            return _qr_backward_tall(Q, R, gQ, gR)
        # wide A = Q [R1 R2]: X = Q R1 is square, Y = Q R2 only moves through Q
        from ..shape.joining import cat

        R1, R2 = R[..., :, :m], R[..., :, m:]
        gR1 = None if gR is None else gR[..., :, :m]
        gR2 = None if gR is None else gR[..., :, m:]
        if gR2 is not None:
            Y = Matmul.apply(Q, R2)
            extra = Matmul.apply(Y, gR2.mH)
            gQ = extra if gQ is None else gQ + extra
            gY = Matmul.apply(Q, gR2)
        else:
            gY = Q.new_zeros(Q.shape[:-1] + (n - m,))
        return cat([_qr_backward_tall(Q, R1, gQ, gR1), gY], -1)


def _qr_backward_tall(Q, R, gQ, gR):
    """gA for A = Q R with A m x n, m >= n (Q m x n, R n x n upper triangular):
    M = R gR^H - gQ^H Q, b = gQ + Q copyltu(M), gA = b R^-H, where copyltu(M) keeps M's lower
    triangle and mirrors its strict part (conjugated) into the upper one."""
    from .triangular import solve_triangular

    M = None
    if gR is not None:
        M = Matmul.apply(R, gR.mH)
    if gQ is not None:
        t = Matmul.apply(gQ.mH, Q)
        M = -t if M is None else M - t
    sym = M.tril() + M.tril(-1).mH
    b = Matmul.apply(Q, sym)
    if gQ is not None:
        b = b + gQ
    return solve_triangular(R.mH, b, upper=False, left=False)


_qr_type = return_type("linalg_qr", ("Q", "R"))


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """QR decomposition, differentiable except for ``mode='complete'`` with more rows than
    columns and ``mode='r'`` (as in torch).

    Example:
        >>> Q, R = ember.linalg.qr(ember.eye(2))
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(qr, "linalg_qr", A, mode, out=out)
    _check_float("linalg.qr", A)
    refuse_low_precision(A, "geqrf_cpu", skip_empty=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    return _qr_type(*Qr.apply(A, mode=mode))


