"""The matrix exponential ``matrix_exp`` (scaling and squaring with the degree-13 Pade
approximant); its gradient is torch's formula written with ember ops.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op


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
        from ..shape.joining import cat

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


__all__ = ["matrix_exp"]

TENSOR_METHODS = {
    "matrix_exp": matrix_exp,
}


# divided by the constant term, so that exp(0) is exactly the identity: the solve then divides
# by 1 (an unscaled 6.5e16 pivot goes through a reciprocal in OpenBLAS and gives 1 - 2**-53)
_PADE13 = [c / 64764752532480000.0 for c in (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0)]


_THETA13 = 5.371920351148152
