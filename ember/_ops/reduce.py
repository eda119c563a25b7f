"""Reductions: ``sum``, ``mean``, ... over ``dim`` (an int or a tuple) with ``keepdim``."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ._core import Op, wrap_dims

__all__ = ["sum", "mean"]


def expand_reduced(grad: Tensor, in_shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes (the adjoint of a reduction)."""
    if not keepdim and axes:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        grad = grad.reshape(tuple(shape))
    return grad.expand(in_shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return np.sum(x, axis=axes, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad, ctx.in_shape, ctx.axes, ctx.keepdim)


def _sum_dtype(input: Tensor, dtype) -> np.dtype:
    if dtype is not None:
        return D.to_dtype(dtype).np_dtype
    if input._dtype.category <= D._INT:
        return np.int64  # PyTorch sums bool and integer tensors as int64
    return input._dtype.np_dtype


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of elements, over all or over ``dim``.

    Example:
        >>> ember.tensor([[1, 2], [3, 4]]).sum(dim=0)
        tensor([4, 6])
    """
    axes = wrap_dims(dim, input.ndim) if input.ndim else ()
    if dtype is not None and input._dtype is not D.to_dtype(dtype):
        input = input.to(D.to_dtype(dtype))
    return Sum.apply(input, axes=axes, keepdim=keepdim, dtype=_sum_dtype(input, None))


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        n = 1
        for a in axes:
            n *= x.shape[a]
        ctx.count = n
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(x, axis=axes, keepdims=keepdim, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad / ctx.count, ctx.in_shape, ctx.axes, ctx.keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of elements, over all or over ``dim``; needs a floating or complex dtype."""
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    if input._dtype.category < D._FLOAT:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input._dtype.name.capitalize() if input._dtype is not D.int64 else 'Long'}"
            ". Convert first, e.g. x.float().mean()")
    axes = wrap_dims(dim, input.ndim) if input.ndim else ()
    return Mean.apply(input, axes=axes, keepdim=keepdim)


TENSOR_METHODS = {"sum": sum, "mean": mean}
