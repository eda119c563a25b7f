"""Inverse and solve for tensors read as matrices: ``linalg.tensorinv`` and
``linalg.tensorsolve``.

Both reshape to a square matrix, call ``inv`` or ``solve`` and reshape back, as PyTorch does,
so their gradients are those of the reshapes and the matrix op.
"""

from __future__ import annotations

import math

from ... import _autocast
from ..._tensor import Tensor
from .._core import wrap_dim
from .inv_solve_det import Inv, check_square, refuse_low_precision
from .inv_solve_det import solve as _solve

__all__ = ["tensorinv", "tensorsolve"]


def _slice_error(n: int, size: int) -> RuntimeError:
    return RuntimeError(f"ArrayRef: invalid slice, N = {n}; size = {size}")


@_autocast.hooked("linalg_tensorinv")
def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """The inverse of ``A`` read as a matrix with rows ``A.shape[:ind]`` and columns
    ``A.shape[ind:]`` (whose sizes must multiply to the same number); the result has shape
    ``A.shape[ind:] + A.shape[:ind]``, so ``tensordot(tensorinv(A, ind), A, ind)`` is an
    identity.

    Example:
        >>> A = ember.eye(6).reshape(2, 3, 6)
        >>> ember.linalg.tensorinv(A, ind=2).shape
        torch.Size([6, 2, 3])
    """
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A.shape)
    if ind > len(shape):
        raise _slice_error(ind, len(shape))
    rows, cols = math.prod(shape[:ind]), math.prod(shape[ind:])
    if cols != rows:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    matrix = A.reshape(cols, cols)
    check_square("linalg.inv", matrix)
    refuse_low_precision(matrix, api="linalg.inv")
    return Inv.apply(matrix, name="inv").reshape(shape[ind:] + shape[:ind])


@_autocast.hooked("linalg_tensorsolve")
def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) == B``: ``A`` is read as a matrix with rows
    ``B.shape`` (its leading dims) and columns ``A.shape[B.ndim:]``, the shape of ``X``.
    ``dims`` names dimensions of ``A`` to move to the end first.

    Example:
        >>> A = ember.eye(6).reshape(2, 3, 6)
        >>> ember.linalg.tensorsolve(A, ember.ones(2, 3)).shape
        torch.Size([6])
    """
    if dims is not None:
        dims = list(dims)
        if A.ndim == 0:  # nothing to move; PyTorch still checks the dims against one dim
            for d in dims:
                wrap_dim(d, 0)
        else:
            A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    ndim, bdim = A.ndim, B.ndim
    if bdim > ndim:  # PyTorch's own message, then what it means
        raise RuntimeError("cannot create std::vector larger than max_size(): B has more "
                           f"dimensions ({bdim}) than A ({ndim})")
    result_shape = tuple(A.shape[bdim:])
    n, m = math.prod(result_shape), math.prod(B.shape)
    if n != m:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
                           f"== prod(self.shape[:other.ndim]), but got {n} != {m}")
    return _solve(A.reshape(n, n), B.flatten()).reshape(result_shape)
