"""The general (non-symmetric) eigendecomposition: ``linalg.eig`` and ``linalg.eigvals``.

Results are complex whatever the input, as in PyTorch: a real matrix can have complex
eigenvalues, and NumPy's habit of returning a real array when they all happen to be real would
make the dtype depend on the values. NumPy and PyTorch both call LAPACK's ``geev``, so the
eigenvalues come in the same order and each eigenvector has norm 1 with its largest
component real.

The gradient is PyTorch's (``linalg_eig_backward``); with ``create_graph`` it reads the
factors as functions of A (as torch's reads the node's outputs), so second derivatives through
the decomposition are tracked. It is defined for distinct eigenvalues (repeated ones divide by
zero, as in PyTorch), and a loss that depends on the arbitrary phase of the eigenvectors is
refused with PyTorch's message.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._backend import asarray_like, to_numpy
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op
from ..pointwise.complex import real
from ..reduction.select import return_type
from .inv_solve_det import Solve, check_square
from .matmul import Matmul

__all__ = ["eig", "eigvals"]

_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
               np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}


def _const(a: np.ndarray, like) -> Tensor:
    """A host array as a constant tensor on the device of the array ``like``."""
    return Tensor._make(asarray_like(np.ascontiguousarray(a), like), D._FROM_NP[a.dtype])


class Eig(Op):
    holds_saved = True  # keeps the eigenpairs on ctx; PyTorch saves them (Op._free)
    _name = "LinalgEigBackward0"  # PyTorch's node: the linalg kernel's
    materialize_grads = False  # an unused output's gradient arrives as None

    @staticmethod
    def forward(ctx, A):
        like, A = A, to_numpy(A)  # LAPACK's geev on the host (CuPy has no general eig)
        ctype = _COMPLEX_OF[A.dtype]
        if A.size and not np.isfinite(A).all():
            raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
        if A.shape[-1] == 0:
            L, V = np.zeros(A.shape[:-1], ctype), np.zeros(A.shape, ctype)
        else:
            L, V = np.linalg.eig(A)
            L, V = L.astype(ctype, copy=False), V.astype(ctype, copy=False)
        ctx._num_outputs = 2
        ctx.L, ctx.V, ctx.like, ctx.real_input = L, V, like, A.dtype.kind == "f"
        return asarray_like(L, like), asarray_like(V, like)

    @staticmethod
    def backward(ctx, gL, gV):
        if gL is None and gV is None:
            return None
        Lg = None
        if grad_mode._state.enabled:
            # create_graph: the eigenpairs as functions of A (torch's rule reads the outputs)
            Lg, V = Eig.apply(ctx.inputs[0])
        else:
            V = _const(ctx.V, ctx.like)
        Vh = V.mH
        if gV is None:  # eigvals: V^-H diag(gL) V^H
            gA = Solve.apply(Vh, gL.unsqueeze(-1) * Vh)
        else:
            VhgV = Matmul.apply(Vh, gV)
            diag = VhgV.diagonal(0, -2, -1)
            imag = xp_of(diag._data).imag(diag._data)
            if not bool((abs(imag) <= 1e-2).all()):  # allclose(imag, 0, 1e-2, 1e-2)
                raise RuntimeError(
                    "linalg_eig_backward: The eigenvectors in the complex case are specified up "
                    "to multiplication by e^{i phi}. The specified loss function depends on this "
                    "quantity, so it is ill-defined.")
            # project onto the tangent space of matrices whose columns have norm 1
            VhgV = VhgV - Matmul.apply(Vh, V * real(diag).unsqueeze(-2).to(V.dtype))
            L = ctx.L.conj()
            n = L.shape[-1]
            gaps = L[..., None, :] - L[..., :, None]
            eye = np.eye(n, dtype=bool)
            gaps[..., eye] = 1  # the diagonal is replaced by gL (or kept) below
            if Lg is None:
                inner = VhgV / _const(gaps, ctx.like)
            else:  # the same gaps with ember ops
                Lc, mask = Lg.conj(), _const(eye, ctx.like)
                inner = VhgV / (Lc.unsqueeze(-2) - Lc.unsqueeze(-1)).masked_fill(mask, 1)
            if gL is not None:
                off = _const(np.where(eye, 0, 1).astype(gaps.dtype), ctx.like)
                diag_gL = gL.unsqueeze(-2) * _const(eye.astype(gaps.dtype), ctx.like)
                inner = inner * off + diag_gL
            gA = Solve.apply(Vh, Matmul.apply(inner, Vh))
        return real(gA) if ctx.real_input else gA


def _check(name: str, A: Tensor) -> None:
    check_square(name, A, float_only=False)
    title = D.SCALAR_TYPE[A._dtype.name]
    if A._dtype.category < D._FLOAT:
        raise RuntimeError(f"Unknown Complex ScalarType for {title}")
    if A._dtype.name not in ("float32", "float64", "complex64", "complex128"):
        raise NotImplementedError(f'"linalg_eig_out_cpu" not implemented for \'{title}\'')


_eig_type = return_type("linalg_eig", ("eigenvalues", "eigenvectors"))


@_autocast.hooked("linalg_eig")
def eig(A: Tensor, *, out=None):
    """Eigenvalues and eigenvectors of a square matrix (or batch), as complex tensors:
    ``A @ V == V @ diag(L)``; each eigenvector has norm 1.

    Example:
        >>> L, V = ember.linalg.eig(ember.tensor([[2., 0.], [0., 3.]]))
        >>> L
        tensor([2.+0.j, 3.+0.j])
    """
    _check("linalg.eig", A)
    return _eig_type(*Eig.apply(A))


@_autocast.hooked("linalg_eigvals")
def eigvals(A: Tensor, *, out=None) -> Tensor:
    """Eigenvalues of a square matrix (or batch), as a complex tensor (differentiable for
    distinct eigenvalues).

    Example:
        >>> ember.linalg.eigvals(ember.tensor([[0., -1.], [1., 0.]]))
        tensor([0.+1.j, 0.-1.j])
    """
    _check("linalg.eigvals", A)
    return Eig.apply(A)[0]
