"""The legacy top-level forms of linear-algebra functions: ``ember.svd`` (returns V, not Vh),
``ember.cholesky``, ``ember.pinverse``, ``ember.matrix_power``, the LAPACK-style factorizations
(``lu``, ``geqrf``, ``orgqr``, ``ormqr``, ``cholesky_solve`` ...), the randomized
``svd_lowrank``/``pca_lowrank``, and the removed ``solve``, ``lstsq``, ``eig``, ``symeig``,
``matrix_rank`` (which raise, as in PyTorch); prefer ``ember.linalg``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import asarray_like, to_numpy
from ..._tensor import Tensor
from .._core import Op, broadcast_shapes, set_node_name, unbroadcast
from .._dispatch import not_implemented_for
from ..reduction.select import return_type
from .inv_solve_det import LAPACK_TYPES, empty_low_precision_ok
from .triangular import _solve_triangular_np, solve_triangular

_SVD = return_type("svd", ("U", "S", "V"))  # torch.return_types.svd


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` multiplied by itself ``n`` times (the inverse's power for negative ``n``)."""
    from ... import linalg

    return linalg.matrix_power(input, n)


@empty_low_precision_ok
def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """The legacy ``torch.svd``: ``(U, S, V)`` with ``V`` (not ``Vh``); prefer
    ``ember.linalg.svd``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(svd, "svd", input, some, compute_uv)
    from ... import linalg

    U, S, Vh = linalg.svd(input, full_matrices=not some)
    V = Vh.mT.conj() if Vh._dtype.is_complex else Vh.mT
    if not compute_uv:
        U, V = U.detach().zero_(), V.detach().zero_()
    return _SVD(U, S, V)


_CHOLESKY_DEPRECATED = (
    "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
    "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = "
    "torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced "
    "with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results "
    "for all valid (symmetric positive definite) inputs.")


@empty_low_precision_ok
def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """The legacy ``torch.cholesky``; prefer ``ember.linalg.cholesky`` (this one warns once, as
    PyTorch's).

    Example:
        >>> ember.cholesky(ember.tensor([[4.0, 2.0], [2.0, 5.0]]))
        tensor([[2., 0.],
                [1., 2.]])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(cholesky, "cholesky", input, upper, out=out)
    from ... import linalg
    from ..._config import _warn_once_outside

    # attributed to the caller's line, as torch's C++ TORCH_WARN_ONCE is
    _warn_once_outside("cholesky", _CHOLESKY_DEPRECATED)

    res = set_node_name(linalg.cholesky(input, upper=upper), "CholeskyBackward0")
    return res if out is None else out.copy_(res)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Moore-Penrose pseudo-inverse via the SVD (singular values below ``rcond * max`` are
    dropped)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(pinverse, "pinverse", input, rcond)
    from .lstsq import pinv

    return pinv(input, rtol=rcond)  # as PyTorch: one LinalgPinvBackward0 node


# -- Cholesky solves -------------------------------------------------------------------------

def _mh(t: Tensor) -> Tensor:
    return t.mH if t.is_complex() else t.mT


def _check_matrices(name: str, *pairs) -> None:
    for label, t in pairs:
        if t.ndim < 2:
            raise RuntimeError(f"{name}: The input tensor {label} must have at least 2 "
                               "dimensions.")


class CholeskySolve(Op):
    """``X = (L L^H)^{-1} B`` (``U^H U`` when ``upper``); the backward is torch's formula, whose
    gradient for the factor is a full matrix (not only its triangle)."""

    save_output = True

    @staticmethod
    def forward(ctx, b, f, *, upper):
        ctx.save_for_backward(*ctx.inputs)
        ctx.upper = upper
        fh = np.swapaxes(f.conj(), -1, -2)
        low, high = (fh, f) if upper else (f, fh)  # A = low @ high
        y = _solve_triangular_np(low, b, False, True, False)
        return _solve_triangular_np(high, y, True, True, False).astype(b.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        b, f, x = ctx.saved_tensors
        g_b = CholeskySolve.apply(grad, f, upper=ctx.upper)
        g_f = None
        if ctx.needs_input_grad[1]:
            common = g_b @ _mh(x)
            common = common + _mh(common)
            g_f = unbroadcast(-(f @ common) if ctx.upper else -(common @ f), f.shape)
        return unbroadcast(g_b, b.shape) if ctx.needs_input_grad[0] else None, g_f


@_autocast.hooked("cholesky_solve")
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """Solve ``A X = input`` given the Cholesky factor ``input2`` of ``A`` (lower: ``A = L L^H``,
    ``upper``: ``A = U^H U``); batch dims broadcast.

    Example:
        >>> L = ember.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> ember.cholesky_solve(ember.tensor([[4.0], [3.0]]), L)
        tensor([[1.],
                [1.]])
    """
    if input.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {input.ndim} "
                           "dimensions instead")
    if input2.ndim < 2:
        raise RuntimeError(f"u should have at least 2 dimensions, but has {input2.ndim} "
                           "dimensions instead")
    n, m = input2.shape[-2:]
    if n != m:
        raise RuntimeError(f"A must be batches of square matrices, but they are {n} by {m} "
                           "matrices")
    if input.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {n} "
                           f"by {n} but each b matrix is {input.shape[-2]} by "
                           f"{input.shape[-1]}")
    if input._dtype is not input2._dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{_title(input._dtype)} and A of type {_title(input2._dtype)} "
                           "instead.")
    if input._dtype.name not in LAPACK_TYPES:
        raise not_implemented_for("cholesky_solve_cpu", input._dtype)
    broadcast_shapes(tuple(input.shape[:-2]), tuple(input2.shape[:-2]))
    return CholeskySolve.apply(input, input2, upper=bool(upper))


def _title(dt) -> str:
    return {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
            "int32": "Int", "bfloat16": "BFloat16", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}.get(str(dt).replace("torch.", ""), str(dt))


@_autocast.hooked("cholesky_inverse")
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A`` from its Cholesky factor ``input`` (``A = L L^H``, or ``U^H U`` when
    ``upper``).

    Example:
        >>> ember.cholesky_inverse(ember.tensor([[2.0, 0.0], [0.0, 1.0]]))
        tensor([[0.2500, 0.0000],
                [0.0000, 1.0000]])
    """
    name = "cholesky_inverse"
    _check_matrices(name, ("A", input))
    n, m = input.shape[-2:]
    if n != m:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {n} by "
                           f"{m} matrices")
    if input._dtype.name not in LAPACK_TYPES:
        raise not_implemented_for("cholesky_inverse_out_cpu", input._dtype)
    _refuse_zero_diagonal(name, input)
    from ... import eye

    eye_n = eye(n, dtype=input.dtype, device=input.device).expand(*input.shape)
    return set_node_name(CholeskySolve.apply(eye_n, input, upper=bool(upper)),
                         "CholeskyInverseBackward0")


def _refuse_zero_diagonal(name: str, factor: Tensor) -> None:
    """A factor with an exact zero on its diagonal is singular: PyTorch's LAPACK inversion
    stops there with LinAlgError (naming the first such batch element and 1-based position)
    rather than returning inf/nan, so ember checks before solving."""
    diag = to_numpy(factor.detach()._data).diagonal(0, -2, -1)
    if diag.size == 0 or not (diag == 0).any():
        return
    from .inv_solve_det import LinAlgError

    flat = diag.reshape(-1, diag.shape[-1])
    batch = int(np.flatnonzero((flat == 0).any(-1))[0])
    k = int(np.flatnonzero(flat[batch] == 0)[0]) + 1
    prefix = f"(Batch element {batch}): " if factor.ndim > 2 else ""
    raise LinAlgError(f"{name}: {prefix}The diagonal element {k} is zero, the inversion could "
                      "not be completed because the input matrix is singular.")


# -- LU ---------------------------------------------------------------------------------------

def _lu_np(a: np.ndarray):
    """LAPACK's getrf on a batch: partial pivoting, ``L`` (unit diagonal, implied) and ``U``
    packed in one matrix, 1-based int32 pivots, and ``info`` (the first zero pivot, 1-based,
    0 for none)."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    lu = np.array(a, copy=True).reshape((int(np.prod(batch)), m, n))
    rows = np.arange(lu.shape[0])
    piv = np.zeros((lu.shape[0], k), np.int32)
    info = np.zeros(lu.shape[0], np.int32)
    for j in range(k):
        p = np.argmax(np.abs(lu[:, j:, j]), axis=1) + j
        piv[:, j] = p + 1
        row_j = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = row_j
        pivot = lu[:, j, j]
        zero = pivot == 0
        info[(info == 0) & zero] = j + 1
        # a zero pivot leaves its column unscaled, as LAPACK does
        lu[:, j + 1:, j] /= np.where(zero, 1, pivot)[:, None]
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


class LuFactor(Op):
    """Packed LU with partial pivoting; the backward is ``linalg.lu_factor``'s for square
    matrices: ``A_grad = P L^{-H} (tril(L^H gL, -1) + triu(gU U^H)) U^{-H}``."""
    holds_saved = True  # keeps the factors on ctx; PyTorch saves them (Op._free)

    _name = "LinalgLuFactorExBackward0"  # PyTorch's node: the linalg kernel's

    non_differentiable_outputs = (1, 2)

    @staticmethod
    def forward(ctx, a):
        lu, piv, info = _lu_np(to_numpy(a))  # a host loop: copy a device array over
        ctx.lu, ctx.piv = asarray_like(lu, a), asarray_like(piv, a)
        return ctx.lu.copy(), ctx.piv, asarray_like(info, a)  # ctx keeps its own copy

    @staticmethod
    def backward(ctx, grad, *_):
        m, n = ctx.lu.shape[-2:]
        if m != n:
            raise NotImplementedError("lu: the gradient of a non-square LU is not implemented "
                                      "in ember")
        lu = Tensor._make(ctx.lu, grad._dtype)
        P, L, U = lu_unpack(lu, Tensor._make(ctx.piv, D.int32))
        phi = (_mh(L) @ grad.tril(-1)).tril(-1) + (grad.triu() @ _mh(U)).triu()
        x = solve_triangular(_mh(L), phi, upper=True, unitriangular=True)
        x = solve_triangular(_mh(U), x, upper=False, left=False)
        return P @ x


_LU_INFO = return_type("_lu_with_info", ("LU", "pivots", "info"))


@_autocast.hooked("lu")
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """The legacy ``torch.lu``: ``(A_LU, pivots)`` (``get_infos``: also ``infos``) in LAPACK's
    packed form with 1-based int32 pivots; no error for singular matrices (``infos`` names the
    first zero pivot). Deprecated in PyTorch, which warns; prefer ``ember.linalg.lu_factor``.

    Example:
        >>> LU, piv = ember.lu(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> piv
        tensor([2, 2], dtype=torch.int32)
    """
    # PyTorch warns once per process; ember at every call (Python's filters still show
    # it once per call site), as this module's tests expect
    warnings.warn((
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)"
        "\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, "
        "compute_pivots)"), UserWarning, stacklevel=2)
    if A.ndim < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(A.shape)} instead")
    if A._dtype.category < D._FLOAT or (A._dtype.name not in LAPACK_TYPES and A.numel()):
        raise not_implemented_for("lu_cpu", A._dtype)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    res = LuFactor.apply(A)
    if out is not None:
        for o, r in zip(out, res):
            o.resize_(r.shape).copy_(r)
        return out
    return _LU_INFO(*res) if get_infos else res[:2]


def _check_pivots(name: str, LU_pivots: Tensor) -> None:
    if LU_pivots._dtype is not D.int32:
        raise RuntimeError(f"{name}: pivots should be a Tensor of scalar type torch.int32")


def _permutation(piv: np.ndarray, m: int, like) -> np.ndarray:
    """P with ``A = P L U`` from LAPACK's sequential 1-based row swaps."""
    batch = piv.shape[:-1]
    count = int(np.prod(batch))
    perm = np.broadcast_to(np.arange(m), batch + (m,)).reshape(count, m).copy()
    flat = piv.reshape(count, piv.shape[-1]) - 1
    rows = np.arange(perm.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        perm_j = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = perm_j
    P = np.zeros((perm.shape[0], m, m), like.dtype)
    P[rows[:, None], perm, np.arange(m)] = 1  # P[perm[j], j] = 1
    return asarray_like(P.reshape(batch + (m, m)), like)


_LU_UNPACK = return_type("lu_unpack", ("P", "L", "U"))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True):
    """``(P, L, U)`` with ``A = P L U`` from :func:`lu`'s packed output; what is not unpacked
    comes back empty. ``L`` and ``U`` carry gradients to ``LU_data``.

    Example:
        >>> LU, piv = ember.lu(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> P, L, U = ember.lu_unpack(LU, piv)
        >>> P @ L @ U
        tensor([[1., 2.],
                [3., 4.]])
    """
    name = "torch.lu_unpack"
    _check_matrices(name, ("LU_data", LU_data))
    _check_pivots(name, LU_pivots)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    if LU_pivots.shape[-1] != k:
        raise RuntimeError(f"{name}: the last dimension of LU_pivots must be {k}, but got "
                           f"{LU_pivots.shape[-1]}")
    empty = LU_data.new_empty((0,))
    if unpack_data:
        from ... import eye

        L = LU_data[..., :, :k].tril(-1) + eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        U = LU_data[..., :k, :].triu()
    else:
        L, U = empty, empty.clone()
    if unpack_pivots:
        P = Tensor._make(_permutation(to_numpy(LU_pivots._data), m, LU_data._data),
                         LU_data._dtype)
    else:
        P = empty.clone()
    return _LU_UNPACK(P, L, U)


def lu_solve(input: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """Solve ``A X = input`` from :func:`lu`'s factorization of ``A``; gradients reach
    ``input`` and ``LU_data``. Deprecated in PyTorch (it warns); prefer
    ``ember.linalg.lu_solve``.

    Example:
        >>> A = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> ember.lu_solve(ember.tensor([[5.0], [11.0]]), *ember.lu(A))
        tensor([[1.],
                [2.]])
    """
    # PyTorch warns once per process; ember at every call (Python's filters still show
    # it once per call site), as this module's tests expect
    warnings.warn((
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
        "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\n"
        "X = torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = "
        "torch.linalg.lu_solve(LU, pivots, B)"), UserWarning, stacklevel=2)
    name = "linalg.lu_solve"
    _check_pivots(name, LU_pivots)
    _check_matrices(name, ("LU", LU_data), ("B", input))
    m, n = LU_data.shape[-2:]
    if m != n:
        raise RuntimeError(f"torch.{name}: A must be batches of square matrices, but they are "
                           f"{m} by {n} matrices")
    if LU_pivots.shape[-1] != n:
        raise RuntimeError(f"{name}: Number of pivots per batch should be same as the "
                           "dimension of the matrix")
    if input.shape[-2] != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {input.shape[-2]}x{input.shape[-1]})")
    if LU_data._dtype.name not in LAPACK_TYPES and LU_data._dtype.category >= D._FLOAT:
        raise not_implemented_for("linalg.lu_solve_cpu", LU_data._dtype)
    P, L, U = lu_unpack(LU_data, LU_pivots)
    y = solve_triangular(L, _mh(P) @ input, upper=False, unitriangular=True)
    return solve_triangular(U, y, upper=True)


# -- QR in LAPACK's Householder form ----------------------------------------------------------

_GEQRF = return_type("geqrf", ("a", "tau"))


@_autocast.hooked("geqrf")
def geqrf(input: Tensor, *, out=None):
    """LAPACK's geqrf: ``R`` on and above the diagonal of ``a``, the Householder vectors
    (unit leading entry implied) below it, and their scalars ``tau`` (no gradient, as in
    PyTorch).

    Example:
        >>> a, tau = ember.geqrf(ember.tensor([[3.0], [4.0]]))
        >>> a, tau
        (tensor([[-5.0000],
                [ 0.5000]]), tensor([1.6000]))
    """
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    if input._dtype.name not in LAPACK_TYPES:
        raise not_implemented_for("geqrf_cpu", input._dtype)
    # NumPy hands back LAPACK's column-major array: transpose it to row-major
    h, tau = np.linalg.qr(to_numpy(input._data), mode="raw")
    a = np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(input._data.dtype, copy=False)
    res = _GEQRF(Tensor._make(asarray_like(a, input._data), input._dtype),
                 Tensor._make(asarray_like(tau.astype(a.dtype, copy=False), input._data),
                              input._dtype))
    if out is not None:
        for o, r in zip(out, res):
            o.resize_(r.shape).copy_(r)
        return _GEQRF(*out)
    return res


def _reflectors(input: Tensor, tau: Tensor, name: str, kernel: str = "orgqr_cpu") -> Tensor:
    """The full ``m x m`` product ``H_1 ... H_k`` of ``H_i = I - tau_i v_i v_i^H``, built from
    ember ops so gradients reach ``input``'s strictly lower part and ``tau``."""
    from ... import eye

    _check_matrices(name, ("input", input))
    if input._dtype.name not in LAPACK_TYPES:
        raise not_implemented_for(kernel, input._dtype)
    if tau._dtype is not input._dtype:
        raise RuntimeError(f"{name}: tau dtype {_title(tau._dtype)} does not match input dtype "
                           f"{_title(input._dtype)}")
    m, n = input.shape[-2:]
    k = tau.shape[-1]
    if n < k:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(input.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to "
                           "input.shape[:-2]")
    ident = eye(m, dtype=input.dtype, device=input.device)
    vs = input[..., :, :k].tril(-1) + eye(m, k, dtype=input.dtype, device=input.device)
    Q = ident.expand(*input.shape[:-2], m, m)
    for i in range(k):
        v = vs[..., :, i:i + 1]
        vh = v.conj().mT if v.is_complex() else v.mT
        Q = Q - (Q @ v) @ (tau[..., i, None, None] * vh)  # Q @ (I - tau v v^H)
    return Q


@_autocast.hooked("orgqr")
def orgqr(input: Tensor, input2: Tensor) -> Tensor:
    """The first ``n`` columns of ``Q`` from :func:`geqrf`'s ``(a, tau)``: the product of
    Householder reflectors (``ember.linalg.householder_product``).

    Example:
        >>> A = ember.tensor([[3.0, 1.0], [4.0, 2.0]])
        >>> Q = ember.orgqr(*ember.geqrf(A))
        >>> (Q.mT @ Q).round()
        tensor([[1., 0.],
                [0., 1.]])
    """
    name = "torch.linalg.householder_product"
    _check_matrices(name, ("input", input))
    m, n = input.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    # (one node in torch, whose product ends in a slice here)
    return set_node_name(_reflectors(input, input2, name)[..., :, :n],
                         "LinalgHouseholderProductBackward0")


@_autocast.hooked("ormqr")
def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True,
          transpose: bool = False) -> Tensor:
    """``op(Q) @ input3`` (``left``) or ``input3 @ op(Q)``, with ``Q`` the full ``m x m``
    product of :func:`geqrf`'s reflectors and ``op`` its conjugate transpose when
    ``transpose``.

    Example:
        >>> a, tau = ember.geqrf(ember.tensor([[3.0], [4.0]]))
        >>> ember.ormqr(a, tau, ember.tensor([[3.0], [4.0]]), transpose=True)
        tensor([[-5.],
                [ 0.]])
    """
    name = "torch.ormqr"
    _check_matrices(name, ("input", input), ("other", input3))
    side = -2 if left else -1
    if input3.shape[side] != input.shape[-2]:
        raise RuntimeError(f"{name}: other.shape[{side}] must be equal to input.shape[-2]")
    if input2.shape[-1] != min(input3.shape[side], input.shape[-1]):
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min(other.shape[-2], "
                           "input.shape[-1])")
    if input3._dtype is not input._dtype:
        raise RuntimeError(f"{name}: Expected input and other to have the same dtype, but "
                           f"input has dtype{_title(input._dtype)} and other has dtype "
                           f"{_title(input3._dtype)}")
    Q = _reflectors(input, input2, name, "ormqr_cpu")
    if transpose:
        Q = _mh(Q)
    return Q @ input3 if left else input3 @ Q


_QR = return_type("qr", ("Q", "R"))


def qr(input: Tensor, some: bool = True, *, out=None):
    """The legacy ``torch.qr``: ``(Q, R)``, reduced when ``some`` else complete; deprecated in
    PyTorch (it warns); prefer ``ember.linalg.qr``.

    Example:
        >>> Q, R = ember.qr(ember.tensor([[3.0], [4.0]]))
        >>> R
        tensor([[-5.]])
    """
    from ... import linalg
    # PyTorch warns once per process; ember at every call (Python's filters still show
    # it once per call site), as this module's tests expect
    warnings.warn((
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
        "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
        "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\nQ, R = "
        "torch.linalg.qr(A, 'reduced' if some else 'complete')"), UserWarning, stacklevel=2)

    Q, R = linalg.qr(input, "reduced" if some else "complete")
    if out is not None:
        out[0].resize_(Q.shape).copy_(Q)
        out[1].resize_(R.shape).copy_(R)
        return _QR(*out)
    return _QR(Q, R)


# -- randomized low-rank SVD and PCA (torch._lowrank's algorithm) -----------------------------

def _approximate_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal ``m x q`` basis of ``A - M``'s range by subspace iteration from a random
    start (Halko et al., Algorithm 4.4)."""
    from ... import linalg, randn

    R = randn(*A.shape[-1:], q, dtype=A.dtype, device=A.device)
    X = A @ R if M is None else A @ R - M @ R
    Q = linalg.qr(X).Q
    AH = _mh(A)
    MH = None if M is None else _mh(M)
    for _ in range(niter):
        X = AH @ Q if M is None else AH @ Q - MH @ Q
        Q = linalg.qr(X).Q
        X = A @ Q if M is None else A @ Q - M @ Q
        Q = linalg.qr(X).Q
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None):
    """``(U, S, V)``: an approximate rank-``q`` SVD of ``A - M`` by randomized subspace
    iteration (``niter`` passes); exact, up to signs, when the rank is at most ``q``.

    Example:
        >>> A = ember.ones(4, 1) @ ember.tensor([[1.0, 2.0, 2.0]])
        >>> U, S, V = ember.svd_lowrank(A, q=1)
        >>> S
        tensor([6.])
    """
    from ... import linalg

    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # factor the transpose: the basis is found on the shorter side
        A, M = _mh(A), None if M is None else _mh(M)
    Q = _approximate_basis(A, q, niter, M)
    B = _mh(Q) @ (A if M is None else A - M)
    U, S, Vh = linalg.svd(B, full_matrices=False)
    U, V = Q @ U, _mh(Vh)
    return (V, S, U) if m < n else (U, S, V)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2):
    """``(U, S, V)`` of :func:`svd_lowrank` on ``A`` with its column means subtracted
    (``center``); ``q`` defaults to ``min(6, m, n)``.

    Example:
        >>> A = ember.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
        >>> U, S, V = ember.pca_lowrank(A, q=1)
        >>> S
        tensor([4.4721])
    """
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)="
                         f"{min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter)
    C = A.mean(dim=-2, keepdim=True)
    return svd_lowrank(A - C, q, niter=niter)


# -- removed in PyTorch: the names still exist and raise --------------------------------------

_REMOVED = "This function was deprecated since version 1.9 and is now removed."


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed from PyTorch: raises RuntimeError pointing at ``ember.linalg.matrix_rank``.

    Example:
        >>> ember.matrix_rank(ember.eye(2))
        Traceback (most recent call last):
        RuntimeError: This function was deprecated since version 1.9 and is now removed...
    """
    raise RuntimeError(f"{_REMOVED}\nPlease use the `torch.linalg.matrix_rank` function "
                       "instead. The parameter 'symmetric' was renamed in "
                       "`torch.linalg.matrix_rank()` to 'hermitian'.")


def lstsq(input, A, *, out=None):
    """Removed from PyTorch: raises RuntimeError pointing at ``ember.linalg.lstsq`` (whose
    arguments are reversed).

    Example:
        >>> ember.lstsq(ember.ones(2, 1), ember.eye(2))
        Traceback (most recent call last):
        RuntimeError: This function was deprecated since version 1.9 and is now removed...
    """
    raise RuntimeError(f"{_REMOVED} `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`."
                       "\n`torch.linalg.lstsq` has reversed arguments and does not return the "
                       "QR decomposition in the returned tuple.\n\nThe unpacking of the "
                       "solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould "
                       "be replaced with:\nX = torch.linalg.lstsq(A, B).solution")


def solve(input, A, *, out=None):
    """Removed from PyTorch: raises RuntimeError pointing at ``ember.linalg.solve`` (whose
    arguments are reversed).

    Example:
        >>> ember.solve(ember.ones(2, 1), ember.eye(2))
        Traceback (most recent call last):
        RuntimeError: This function was deprecated since version 1.9 and is now removed...
    """
    raise RuntimeError(f"{_REMOVED} `torch.solve` is deprecated in favor of `torch.linalg.solve`"
                       ". `torch.linalg.solve` has its arguments reversed and does not return "
                       "the LU factorization.\n\nTo get the LU factorization see `torch.lu`, "
                       "which can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = "
                       "torch.solve(B, A).solution should be replaced with:\nX = "
                       "torch.linalg.solve(A, B)")


def eig(self, eigenvectors: bool = False, *, e=None, v=None):
    """Removed from PyTorch: raises RuntimeError pointing at ``ember.linalg.eig`` and
    ``eigvals``.

    Example:
        >>> ember.eig(ember.eye(2))
        Traceback (most recent call last):
        RuntimeError: This function was deprecated since version 1.9 and is now removed...
    """
    raise RuntimeError(f"{_REMOVED} `torch.linalg.eig` returns complex tensors of dtype "
                       "`cfloat` or `cdouble` rather than real tensors mimicking complex "
                       "tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = "
                       "torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
                       "eigenvectors=True) should be replaced with:\nL_complex, V_complex = "
                       "torch.linalg.eig(A)")


def symeig(input, eigenvectors: bool = False, upper: bool = True, *, out=None):
    """Removed from PyTorch: raises RuntimeError pointing at ``ember.linalg.eigh`` and
    ``eigvalsh``.

    Example:
        >>> ember.symeig(ember.eye(2))
        Traceback (most recent call last):
        RuntimeError: This function was deprecated since version 1.9 and is now removed...
    """
    raise RuntimeError(f"{_REMOVED} The default behavior has changed from using the upper "
                       "triangular portion of the matrix by default to using the lower "
                       "triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be "
                       "replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else "
                       "'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be "
                       "replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


def _method_lstsq(self, other):
    return lstsq(self, other)


def _method_solve(self, other):
    return solve(self, other)


def _method_symeig(self, eigenvectors: bool = False):
    return symeig(self, eigenvectors)


__all__ = ["matrix_power", "svd", "cholesky", "pinverse", "cholesky_solve", "cholesky_inverse",
           "lu", "lu_unpack", "lu_solve", "geqrf", "orgqr", "ormqr", "qr", "svd_lowrank",
           "pca_lowrank", "matrix_rank", "lstsq", "solve", "eig", "symeig"]

TENSOR_METHODS = {
    "matrix_power": matrix_power, "svd": svd, "cholesky": cholesky, "pinverse": pinverse,
    "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse, "lu": lu,
    "lu_solve": lu_solve, "geqrf": geqrf, "orgqr": orgqr, "ormqr": ormqr, "qr": qr,
    "lstsq": _method_lstsq, "solve": _method_solve, "eig": eig, "symeig": _method_symeig,
}
