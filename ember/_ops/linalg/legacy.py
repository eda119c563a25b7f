"""The legacy top-level forms of linear-algebra functions: ``ember.svd`` (returns V, not Vh),
``ember.cholesky``, ``ember.pinverse``, ``ember.matrix_power``; prefer ``ember.linalg``.
"""

from __future__ import annotations

from ... import _autocast
from ..._autocast import hot as _amp
from ..._tensor import Tensor
from ..reduction.select import return_type

_SVD = return_type("svd", ("U", "S", "V"))  # torch.return_types.svd


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` multiplied by itself ``n`` times (the inverse's power for negative ``n``)."""
    from ... import linalg

    return linalg.matrix_power(input, n)


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


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """The legacy ``torch.cholesky``; prefer ``ember.linalg.cholesky``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(cholesky, "cholesky", input, upper, out=out)
    from ... import linalg

    res = linalg.cholesky(input, upper=upper)
    return res if out is None else out.copy_(res)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Moore-Penrose pseudo-inverse via the SVD (singular values below ``rcond * max`` are
    dropped)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(pinverse, "pinverse", input, rcond)
    from .lstsq import pinv

    return pinv(input, rtol=rcond)  # as PyTorch: one LinalgPinvBackward0 node


__all__ = ["matrix_power", "svd", "cholesky", "pinverse"]

TENSOR_METHODS = {
    "matrix_power": matrix_power, "svd": svd, "cholesky": cholesky, "pinverse": pinverse,
}
