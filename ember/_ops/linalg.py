"""Linear algebra: ``matmul`` (PyTorch's 1-D and broadcasting rules), ``mm``, ``bmm``, ``dot`` ..."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ._core import Op, unbroadcast

__all__ = ["matmul"]


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            if ctx.needs_input_grad[0]:
                ga = unbroadcast((grad.unsqueeze(-2) @ b.mT).squeeze(-2), a.shape)
            if ctx.needs_input_grad[1]:
                gb = unbroadcast(a.unsqueeze(-1) * grad.unsqueeze(-2), b.shape)
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            if ctx.needs_input_grad[0]:
                ga = unbroadcast(grad.unsqueeze(-1) * b, a.shape)
            if ctx.needs_input_grad[1]:
                gb = unbroadcast((a.mT @ grad.unsqueeze(-1)).squeeze(-1), b.shape)
            return ga, gb
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(grad @ b.mT, a.shape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(a.mT @ grad, b.shape)
        return ga, gb


def _check_matmul(a: Tensor, b: Tensor):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(
                "inconsistent tensor size, expected tensor [%d] and src [%d] to have the same "
                "number of elements, but got %d and %d elements respectively" % (ka, kb, ka, kb))
        sa = "x".join(map(str, (a.shape if a.ndim > 1 else (1, ka))[-2:]))
        sb = "x".join(map(str, b.shape[-2:] if b.ndim > 1 else (kb, 1)))
        if a.ndim <= 2 and b.ndim <= 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{', '.join(map(str, b.shape[:-2]))}, {ka}] but got: "
            f"[{', '.join(map(str, b.shape[:-2]))}, {kb}].")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are vectors, batch dims broadcast.

    Example:
        >>> (ember.ones(2, 3) @ ember.ones(3)).shape
        torch.Size([2])
    """
    from .elementwise import check_devices, promote

    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(
            f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
    check_devices(input, other)
    if input._dtype is not other._dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dt_name(input._dtype)} != "
            f"{_dt_name(other._dtype)}")
    _check_matmul(input, other)
    if input._dtype is D.bool:
        input, other, _ = promote(input, other, D.int64)
        return Matmul.apply(input, other).bool()
    return Matmul.apply(input, other)


def _dt_name(dt):
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16"}.get(dt.name, dt.name)


TENSOR_METHODS = {"matmul": matmul}
