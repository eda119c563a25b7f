"""``trace``, ``kron``, ``cross``, ``cdist``; re-exported by ``linalg.py``."""

from __future__ import annotations

import numpy as np

from .. import _autocast
from .. import _dtype as D
from .._autocast import hot as _amp
from .._backend import as_array, asarray_like
from .._backend import get_array_module as xp_of
from .._tensor import Tensor
from ._core import Op, broadcast_shapes, wrap_dim

__all__ = ["trace", "kron", "cross", "cdist"]


class Trace(Op):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.shape = x.shape
        return as_array(np.trace(x, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        eye = Tensor._make(xp_of(grad._data).eye(*ctx.shape, dtype=grad._data.dtype),
                           grad._dtype)
        return grad * eye


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix; integer traces are int64 (like ``sum``).

    Example:
        >>> ember.trace(ember.eye(3))
        tensor(3.)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(trace, "trace", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    dt = np.int64 if input._dtype.category <= D._INT else input._data.dtype
    return Trace.apply(input, dtype=dt)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product.

    Example:
        >>> ember.kron(ember.eye(2), ember.ones(2, 2)).shape
        torch.Size([4, 4])
    """
    from ._einsum import einsum

    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    la, lb = "abcdefghijklm"[:nd], "nopqrstuvwxyz"[:nd]
    inter = "".join(x + y for x, y in zip(la, lb))
    shape = tuple(p * q for p, q in zip(a.shape, b.shape))
    return einsum(f"{la},{lb}->{inter}", a, b).reshape(shape)


_LEVI_CIVITA = np.zeros((3, 3, 3))
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first dimension of size 3 if None).

    Example:
        >>> ember.cross(ember.tensor([1., 0., 0.]), ember.tensor([0., 1., 0.]), dim=0)
        tensor([0., 0., 1.])
    """
    from ._einsum import einsum

    shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = wrap_dim(dim, len(shape))
    if input.shape[d - len(shape) + input.ndim] != 3 or \
            other.shape[d - len(shape) + other.ndim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[dim]} and {other.shape[dim]}")
    from .elementwise import promote

    a, b, dt = promote(input, other)
    eps = Tensor._make(asarray_like(_LEVI_CIVITA.astype(dt.np_dtype), a._data), dt)
    a, b = a.expand(shape).transpose(d, -1), b.expand(shape).transpose(d, -1)
    return einsum("ijk,...j,...k->...i", eps, a, b).transpose(d, -1)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (B, P, M) and ``x2`` (B, R, M).

    Example:
        >>> ember.cdist(ember.zeros(2, 3), ember.ones(4, 3)).shape
        torch.Size([2, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(cdist, "cdist", x1, x2, p, compute_mode)
    from ._reduce_norm import vector_norm

    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (B, P, R, M); zero distances get 0 grads
    return vector_norm(diff, p, dim=-1)
