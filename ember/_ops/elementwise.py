"""Elementwise binary ops: arithmetic, comparison and logic, with PyTorch's promotion.

The public functions promote operands with ``_dtype.result_type`` before forward runs, so
NumPy never picks a result dtype. Broadcasting's adjoint is ``unbroadcast``.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ._core import Op, broadcast_shapes, unbroadcast
from .inplace import apply_inplace

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "neg", "negative"]


# -- promotion helpers ----------------------------------------------------------------------

def _scalar(v, dt: D.dtype):
    """A Python number as an operand of dtype ``dt`` (ints wrap around as in PyTorch)."""
    try:
        return dt.np_dtype.type(v)
    except (OverflowError, ValueError):
        with np.errstate(all="ignore"):
            return np.asarray(v).astype(dt.np_dtype)[()]


def _cast(x, dt: D.dtype):
    """Cast an operand (Tensor or Python number) to ``dt`` (differentiably for tensors)."""
    if isinstance(x, Tensor):
        return x if x._dtype is dt else x.to(dt)
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return _scalar(x, dt)
    raise TypeError(
        f"unsupported operand type: expected a Tensor or a number, got {type(x).__name__}")


def promote(a, b, compute: D.dtype | None = None):
    """Cast two operands to their common dtype (or to ``compute``); returns (a, b, dtype)."""
    if type(a) is Tensor and type(b) is Tensor and a._dtype is b._dtype and compute is None:
        return a, b, a._dtype
    dt = compute or D.result_type(a, b)
    return _cast(a, dt), _cast(b, dt), dt


def check_devices(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        da, db = a.device, b.device
        if da != db and da.type != "meta" and db.type != "meta":
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{da} and {db}! Move them with .to(device) first.")


def binary(cls, a, b, compute: D.dtype | None = None, **kwargs):
    """Run a binary op with promotion and PyTorch's broadcast error."""
    check_devices(a, b)
    a2, b2, _ = promote(a, b, compute)
    try:
        return cls.apply(a2, b2, **kwargs)
    except ValueError:
        broadcast_shapes(np.shape(_raw(a2)), np.shape(_raw(b2)))
        raise


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _shape_of(x):
    return x._data.shape if isinstance(x, Tensor) else ()


# -- arithmetic -----------------------------------------------------------------------------

class Add(Op):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.shapes = (np.shape(a), np.shape(b))
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + b * alpha

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(grad if ctx.alpha == 1 else grad * ctx.alpha, sb)
        return ga, gb


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.shapes = (np.shape(a), np.shape(b))
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - b * alpha

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad if ctx.alpha == 1 else grad * -ctx.alpha, sb) \
            if ctx.needs_input_grad[1] else None
        return ga, gb


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad * b, _shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * a, _shape_of(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad / b, _shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / (b * b), _shape_of(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class FloorDivide(Op):
    non_differentiable_outputs = (0,)

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.issubdtype(np.result_type(a, b), np.integer) and np.any(np.asarray(b) == 0):
                raise RuntimeError("ZeroDivisionError")
            return np.floor_divide(a, b)


class TruncDivide(Op):
    non_differentiable_outputs = (0,)

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.issubdtype(np.result_type(a, b), np.integer):
                if np.any(np.asarray(b) == 0):
                    raise RuntimeError("ZeroDivisionError")
                q = np.floor_divide(a, b)
                fix = (np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0))
                return q + fix.astype(q.dtype)
            return np.trunc(a / b)


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other`` with broadcasting and PyTorch's type promotion.

    Example:
        >>> ember.add(ember.tensor([1, 2]), 1.5)
        tensor([2.5000, 3.5000])
    """
    if type(input) is not Tensor and not isinstance(input, Tensor):
        return add(_as_tensor(input, other), other, alpha=alpha)
    if alpha != 1:
        _check_alpha(alpha, input, other)
    return binary(Add, input, other, alpha=alpha)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other`` with broadcasting and promotion."""
    if not isinstance(input, Tensor):
        return sub(_as_tensor(input, other), other, alpha=alpha)
    if input._dtype is D.bool and (not isinstance(other, Tensor) or other._dtype is D.bool):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead.")
    if alpha != 1:
        _check_alpha(alpha, input, other)
    return binary(Sub, input, other, alpha=alpha)


def mul(input, other, *, out=None) -> Tensor:
    """Elementwise product with broadcasting and promotion."""
    if not isinstance(input, Tensor):
        return mul(other, input) if isinstance(other, Tensor) else _as_tensor(input) * other
    return binary(Mul, input, other)


def div(input, other, *, rounding_mode: str | None = None, out=None) -> Tensor:
    """Elementwise division; integers divide to the default float dtype unless
    ``rounding_mode`` is ``'trunc'`` or ``'floor'``."""
    if not isinstance(input, Tensor):
        input = _as_tensor(input, other)
    if rounding_mode is None:
        dt = D.result_type(input, other)
        if dt.category < D._FLOAT:
            dt = D.get_default_dtype()
        return binary(Div, input, other, compute=dt)
    if rounding_mode == "floor":
        return binary(FloorDivide, input, other)
    if rounding_mode == "trunc":
        return binary(TruncDivide, input, other)
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'")


def _check_alpha(alpha, input, other):
    dt = D.result_type(input, other)
    if isinstance(alpha, float) and dt.category < D._FLOAT:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def _as_tensor(x, like=None):
    from .._creation import tensor

    if isinstance(like, Tensor):
        return tensor(x, dtype=D.result_type(x) if not isinstance(x, Tensor) else None,
                      device=like.device) if not isinstance(x, (list, tuple)) else tensor(
            x, device=like.device)
    return tensor(x)


subtract = sub
multiply = mul
divide = div
true_divide = div


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    if input._dtype is D.bool:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead.")
    return Neg.apply(input)


negative = neg


# -- in-place forms -------------------------------------------------------------------------

def add_(self, other, *, alpha=1):
    return apply_inplace(self, add(self, other, alpha=alpha), "add_")


def sub_(self, other, *, alpha=1):
    return apply_inplace(self, sub(self, other, alpha=alpha), "sub_")


def mul_(self, other):
    return apply_inplace(self, mul(self, other), "mul_")


def div_(self, other, *, rounding_mode=None):
    return apply_inplace(self, div(self, other, rounding_mode=rounding_mode), "div_")


def neg_(self):
    return apply_inplace(self, neg(self), "neg_")


TENSOR_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "neg": neg, "negative": neg,
    "add_": add_, "sub_": sub_, "subtract_": sub_, "mul_": mul_, "multiply_": mul_,
    "div_": div_, "divide_": div_, "true_divide_": div_, "neg_": neg_, "negative_": neg_,
}
