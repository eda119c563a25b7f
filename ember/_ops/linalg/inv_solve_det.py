"""Matrix functions with gradients: ``inv``, ``solve``, ``det``, ``slogdet``, ``logdet``,
``cholesky`` (``ember.inverse``, ``ember.det`` ...; used by ``ember.linalg``).

Gradients are written with ember ops (``inv``, ``solve``, matmul), so they differentiate again.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import as_array, asarray_like
from ..._errors import with_hint
from ..._tensor import Tensor
from .._core import Op, set_node_name, unbroadcast

__all__ = ["inverse", "det", "logdet", "slogdet"]


class LinAlgError(RuntimeError):
    """A matrix was singular or not positive-definite (``torch.linalg.LinAlgError``)."""


# torch's class is torch._C._LinAlgError: programs that print type(e).__name__ see that name
LinAlgError.__name__ = "_LinAlgError"


def _mm(a, b):
    from .matmul import Matmul

    return Matmul.apply(a, b)


def check_square(name: str, A: Tensor, float_only: bool = True) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if float_only and A._dtype.category < D._FLOAT:
        from ..inplace import _type_title

        raise with_hint(RuntimeError(f"{name}: Expected a floating point or complex tensor as "
                                     f"input. Got {_type_title(A._dtype)}"),
                        "Convert first, e.g. A.double().")


# LAPACK (and so torch's CPU kernels) has only these four; half precision is refused, not
# computed in another precision behind the user's back
LAPACK_TYPES = frozenset(("float32", "float64", "complex64", "complex128"))


def refuse_low_precision(A: Tensor, kernel: str | None = None, api: str | None = None,
                         skip_empty: bool = True) -> None:
    """Raise torch's error for a float16/bfloat16 input: ``api``'s up-front RuntimeError
    ("Low precision dtypes not supported"), else the ``kernel``'s NotImplementedError, which
    torch only reaches for a non-empty input unless ``skip_empty`` is False."""
    if A._dtype.name in LAPACK_TYPES or A._dtype.category < D._FLOAT:
        return
    title = D.SCALAR_TYPE[A._dtype.name]
    if api is not None:
        raise RuntimeError(f"{api}: Low precision dtypes not supported. Got {title}")
    if skip_empty and A.numel() == 0:
        return
    raise NotImplementedError(f'"{kernel}" not implemented for \'{title}\'')


def empty_low_precision_ok(fn):
    """Let ``fn`` (a linalg function whose torch kernel refuses float16/bfloat16 only once it
    has work to do) take an empty half-precision input: the kernel is never reached, so the
    result is computed in float32 and its floating outputs returned in the input's dtype.
    Other inputs pay one dtype test.

    Example:
        >>> ember.linalg.svdvals(ember.zeros(0, 0, dtype=ember.float16)).dtype
        torch.float16
    """
    import functools

    @functools.wraps(fn)
    def wrapper(A, *args, **kwargs):
        low = getattr(A, "_dtype", None)
        if (low is not D.float16 and low is not D.bfloat16) or A.numel() != 0:
            return fn(A, *args, **kwargs)

        def up(x):
            return x.to(D.float32) if isinstance(x, Tensor) and x._dtype is low else x

        def down(y):
            return y.to(low) if isinstance(y, Tensor) and y._dtype is D.float32 else y

        out = fn(up(A), *[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})
        if isinstance(out, tuple):  # torch.return_types-like tuples take their items apart
            items = [down(y) for y in out]
            return tuple(items) if type(out) is tuple else type(out)(*items)
        return down(out)

    return wrapper


def _first_zero_pivot(a: np.ndarray) -> int:
    """1-based index of the first zero pivot of LU with partial pivoting (LAPACK's info)."""
    a = a.astype(np.float64 if a.dtype.kind == "f" else np.complex128, copy=True)
    n = a.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k:] -= np.outer(a[k + 1:, k] / a[k, k], a[k, k:])
    return n


def _batch_prefix(A: np.ndarray, bad_index) -> str:
    if A.ndim <= 2:
        return ""
    return f"(Batch element {bad_index}): "


def _singular_error(name: str, A: np.ndarray) -> LinAlgError:
    flat = A.reshape((-1,) + A.shape[-2:])
    for b, m in enumerate(flat):
        try:
            np.linalg.inv(m)
        except np.linalg.LinAlgError:
            k = _first_zero_pivot(m)
            return LinAlgError(
                f"{name}: {_batch_prefix(A, b)}The diagonal element {k} is zero, the inversion "
                "could not be completed because the input matrix is singular.")
    return LinAlgError(f"{name}: the inversion could not be completed because the input "
                       "matrix is singular.")


def _solve_singular_error(A: np.ndarray) -> LinAlgError:
    """torch's error for a singular system, naming the first singular matrix of a batch."""
    flat = A.reshape((-1,) + A.shape[-2:])
    bad = 0
    while bad < len(flat) - 1:
        try:
            np.linalg.inv(flat[bad])
        except np.linalg.LinAlgError:
            break
        bad += 1
    return LinAlgError(f"torch.linalg.solve: {_batch_prefix(A, bad)}The solver failed because "
                       "the input matrix is singular.")


class Inv(Op):
    _name = "LinalgInvExBackward0"  # PyTorch's node: the linalg kernel's
    save_output = True

    @staticmethod
    def forward(ctx, A, name):
        try:
            return np.linalg.inv(A)
        except np.linalg.LinAlgError:
            raise _singular_error(name, A) from None

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # .mH (the .mT of a real matrix): complex gradients conjugate the derivative
        return -_mm(_mm(out.mH, grad), out.mH)


def inv(A: Tensor) -> Tensor:
    check_square("linalg.inv", A)
    refuse_low_precision(A, api="linalg.inv")
    return Inv.apply(A, name="linalg.inv")


def inverse(input: Tensor) -> Tensor:
    """Inverse of a square matrix (or a batch of them); singular input raises.

    Example:
        >>> ember.inverse(ember.tensor([[2., 0.], [0., 4.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(inverse, "inverse", input)
    check_square("linalg.inv", input)
    refuse_low_precision(input, api="linalg.inv")
    return Inv.apply(input, name="linalg.inv")


class Solve(Op):
    """``X = A^-1 B`` for matrices ``B`` of shape (..., n, k); batch dims broadcast."""

    _name = "LinalgSolveExBackward0"  # PyTorch's node: the linalg kernel's

    save_output = True

    @staticmethod
    def forward(ctx, A, B):
        ctx.save_for_backward(*ctx.inputs)
        factored = A  # torch factors A before broadcasting: its errors name A's own batch
        if A.shape[:-2] != B.shape[:-2]:  # CuPy's solve does not broadcast batch dims
            batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
            A = np.broadcast_to(A, batch + A.shape[-2:])
            B = np.broadcast_to(B, batch + B.shape[-2:])
        try:
            return np.linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise _solve_singular_error(factored) from None

    @staticmethod
    def backward(ctx, grad):
        A, B, X = ctx.saved_tensors
        gB = Solve.apply(A.mH, grad)  # .mH: the conjugate derivative for complex inputs
        gA = -_mm(gB, X.mH) if ctx.needs_input_grad[0] else None
        return (unbroadcast(gA, A.shape) if gA is not None else None,
                unbroadcast(gB, B.shape) if ctx.needs_input_grad[1] else None)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    check_square("linalg.solve", A)
    if A._dtype is not B._dtype:
        from ..inplace import _type_title

        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {_type_title(A._dtype)} and B of type "
                           f"{_type_title(B._dtype)} instead")
    refuse_low_precision(A, "lu_cpu")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:  # X A = B  <=>  A^T X^T = B^T; a vector B is a column, so never fits
        if vector:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"XA = B ({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1]}x1)")
        return solve(A.mT, B.mT).mT
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-1]:
        rows = Bm.shape[-2] if Bm.ndim >= 2 else Bm.shape[0]
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {rows}x{Bm.shape[-1] if Bm.ndim >= 2 else 1})")
    X = Solve.apply(A, Bm)
    return X.squeeze(-1) if vector else X


class Det(Op):
    _name = "LinalgDetBackward0"  # PyTorch's node: the linalg kernel's
    save_output = True

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(*ctx.inputs)
        return as_array(np.linalg.det(A))

    @staticmethod
    def backward(ctx, grad):
        A, d = ctx.saved_tensors
        if np.all(d._data != 0):
            if A._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
                return (grad * d.conj()).unsqueeze(-1).unsqueeze(-1) * inv(A).mH
            return (grad * d).unsqueeze(-1).unsqueeze(-1) * inv(A).mT
        # A singular matrix has no inverse; d det / dA is still its cofactor matrix
        cof = _cofactor(A)
        return grad.unsqueeze(-1).unsqueeze(-1) * (cof.conj() if A._dtype.is_complex else cof)


def _cofactor(A: Tensor) -> Tensor:
    """The cofactor matrix adj(A)^T, valid for singular A, written with ember ops so that it
    differentiates again (as PyTorch's singular-matrix branch does): with A = U S Vh,
    adj(A) = det(U) det(Vh) Vh^H diag(prod_{j != i} s_j) U^H."""
    from ...linalg import svd  # through ember.linalg: svd_eigh_qr imports this module

    U, S, Vh = svd(A)
    n = S.shape[-1]
    prods = S[..., [[j for j in range(n) if j != i] for i in range(n)]].prod(-1)
    scale = (det(U) * det(Vh)).unsqueeze(-1).unsqueeze(-1)
    return (scale * _mm(Vh.mH, prods.unsqueeze(-1) * U.mH)).mT


def det(input: Tensor) -> Tensor:
    """Determinant of a square matrix (or a batch of them).

    Example:
        >>> ember.det(ember.tensor([[1., 2.], [3., 4.]]))
        tensor(-2.)
    """
    check_square("linalg.det", input)
    refuse_low_precision(input, "lu_cpu")
    if input._dtype.name not in LAPACK_TYPES and input._dtype.category >= D._FLOAT:
        # an empty half-precision batch passes torch's kernel check: the empty product, 1
        from ..._creation import ones

        return ones(input.shape[:-2], dtype=input.dtype, device=input.device)
    return Det.apply(input)


class SlogDet(Op):
    _name = "LinalgSlogdetBackward0"  # PyTorch's node: the linalg kernel's
    # sign takes part in the graph (with a zero gradient) as in PyTorch
    materialize_grads = False

    @staticmethod
    def forward(ctx, A, log_of_det):
        ctx.save_for_backward(*ctx.inputs)
        sign, logabs = np.linalg.slogdet(A)
        ctx._num_outputs = 1 if log_of_det else 2  # logabsdet (output 1) takes gradients
        sign, logabs = as_array(sign), as_array(logabs)
        if log_of_det and np.iscomplexobj(sign):  # the complex log: the phase of the sign
            with np.errstate(invalid="ignore"):
                phase = np.where(sign == 0, np.nan, np.angle(sign))  # torch: -inf + nan j
            out = np.empty_like(sign)  # parts set apart: -inf + nan * 1j would be nan + nan j
            out.real, out.imag = logabs, phase
            return out
        if log_of_det:  # logdet: log(det), nan for a negative determinant
            return np.where(sign < 0, np.nan, logabs).astype(logabs.dtype, copy=False)
        return sign, logabs

    @staticmethod
    def backward(ctx, *grads):
        (A,) = ctx.saved_tensors
        g = grads[-1]
        if g is None:
            return None
        return g.unsqueeze(-1).unsqueeze(-1) * inv(A).mH  # .mT for real A


def slogdet(input: Tensor) -> tuple:
    """``(sign, logabsdet)`` of the determinant, stable where ``det`` would overflow.

    Example:
        >>> ember.slogdet(ember.tensor([[1., 2.], [3., 4.]])).logabsdet
        tensor(0.6931)
    """
    check_square("linalg.slogdet", input)
    refuse_low_precision(input, api="linalg.slogdet")
    return _SLOGDET(*SlogDet.apply(input, log_of_det=False))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: nan for a negative determinant, -inf for a singular matrix.

    Example:
        >>> ember.logdet(ember.eye(2) * 2)
        tensor(1.3863)
    """
    check_square("logdet", input)
    refuse_low_precision(input, api="logdet")
    # PyTorch composes logdet from slogdet: a where() on the sign, or log(sign) + logabsdet
    return set_node_name(SlogDet.apply(input, log_of_det=True),
                         "AddBackward0" if input._dtype.is_complex else "WhereBackward0")


def _slogdet_type():
    from ..reduction.select import return_type

    return return_type("slogdet", ("sign", "logabsdet"))


_SLOGDET = _slogdet_type()


class Cholesky(Op):
    _name = "LinalgCholeskyExBackward0"  # PyTorch's node: the linalg kernel's
    save_output = True

    @staticmethod
    def forward(ctx, A, name):
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise _not_pd_error(name, A) from None
        # NumPy lets a NaN pivot through; LAPACK's "pivot > 0" test fails it, so torch raises
        if np.isnan(L.diagonal(0, -2, -1)).any():
            raise _not_pd_error(name, A)
        return L

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's rule: gA = L^-H Phi(L^H gL) L^-1, symmetrised, where Phi keeps the lower
        # triangle and halves the diagonal.
        (L,) = ctx.saved_tensors
        n = L.shape[-1]
        phi = np.tril(np.ones((n, n), L._data.dtype)) - 0.5 * np.eye(n, dtype=L._data.dtype)
        # .mH (the .mT of a real matrix): complex gradients conjugate the derivative
        P = _mm(L.mH, grad) * Tensor._make(asarray_like(phi, L._data), L._dtype)
        Li = inv(L)
        gA = _mm(_mm(Li.mH, P), Li)
        return (gA + gA.mH) * 0.5


def _not_pd_error(name: str, A: np.ndarray) -> LinAlgError:
    flat = A.reshape((-1,) + A.shape[-2:])
    for b, m in enumerate(flat):
        for k in range(1, m.shape[0] + 1):
            try:
                if np.isnan(np.linalg.cholesky(m[:k, :k])[k - 1, k - 1]):
                    raise np.linalg.LinAlgError  # a NaN pivot: not positive-definite
            except np.linalg.LinAlgError:
                return LinAlgError(
                    f"{name}: {_batch_prefix(A, b)}The factorization could not be completed "
                    f"because the input is not positive-definite (the leading minor of order "
                    f"{k} is not positive-definite).")
    return LinAlgError(f"{name}: The factorization could not be completed because the input "
                       "is not positive-definite.")


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    check_square("linalg.cholesky", A)
    refuse_low_precision(A, "cholesky_cpu")
    if not upper:
        return Cholesky.apply(A, name="linalg.cholesky")
    # upper=True reads A's upper triangle (as LAPACK's uplo='U'): factor A^H's lower triangle,
    # U = L^H (the conjugate matters for complex input); one node either way, as PyTorch's
    L = Cholesky.apply(A.mH, name="linalg.cholesky")
    U = L.mT.conj_physical() if L.is_complex() else L.mT  # a plain tensor, not a conj view
    return set_node_name(U, "LinalgCholeskyExBackward0")


TENSOR_METHODS = {
    "inverse": inverse, "det": det, "logdet": logdet, "slogdet": slogdet,
}
