"""Powers: ``pow`` (tensor ** number, tensor ** tensor, number ** tensor) and ``float_power``,
with PyTorch's integer rules."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import as_array, asarray_like
from ..._tensor import Tensor
from .._core import Op, tensor_inputs, unbroadcast, zeros_grad
from .._dispatch import _cast, _shape_of, binary, check_devices, finish_out
from ..inplace import apply_inplace
from .complex import conj

__all__ = ["pow", "float_power"]


def _int_power(a, b):
    """C-style integer power: negative exponents give 0, except for bases 1 and -1."""
    like = b if isinstance(a, (bool, int, float, complex, np.generic)) else a
    b = asarray_like(b, like)  # a number goes next to the data (on its device)
    if not (b < 0).any():
        return np.power(a, b)
    pos = np.power(a, np.where(b < 0, 0, b))
    a = asarray_like(a, b)
    neg = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 == 0, 1, -1), 0))
    return np.where(b < 0, neg, pos).astype(pos.dtype)


class Pow(Op):
    """``a ** b`` where both are tensors (or the base is a number: ``2 ** t``)."""

    save_output = True
    _saved_fields = {"self": 0, "exponent": 1, "result": "result"}
    listed_inputs = staticmethod(tensor_inputs)  # 2 ** t lists only the exponent, as torch

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        if ctx._record:  # torch: PowBackward1 for tensor ** tensor, PowBackward2 for 2 ** t
            ctx._name = "PowBackward1" if isinstance(ctx.inputs[0], Tensor) else "PowBackward2"
        if as_array(b).dtype.kind in "iu":
            return _int_power(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(a, b)

    @staticmethod
    def backward(ctx, grad):
        from .compare import where

        a, b, result = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(where(b == 0, 0.0, grad * _conj(b * a ** (b - 1))), _shape_of(a))
        if ctx.needs_input_grad[1]:
            if isinstance(a, Tensor):
                factor = where((a == 0) & _nonnegative(b), 0.0, result * a.log())
            else:  # a number base (2 ** t): a Python float keeps NumPy scalars out of the graph
                base = a.item()
                factor = where(_nonnegative(b), 0.0, result * float("-inf")) if base == 0 else \
                    result * float(np.log(base))
            gb = unbroadcast(grad * _conj(factor), _shape_of(b))
        return ga, gb


class PowScalar(Op):
    """``t ** c`` for a number ``c`` (the common case: squares, square roots)."""

    _name = "PowBackward0"
    _saved_fields = {"self": 0, "exponent": ("attr", "exponent")}
    listed_inputs = staticmethod(lambda inputs: (0,))  # torch lists no Scalar exponent

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.exponent = exponent.item()  # a Python number, so backward stays in ember ops
        if a.dtype == np.bool_:  # bool ** bool stays bool: x ** True is x, x ** False is True
            return a | (not ctx.exponent)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ctx.exponent == 3 and a.dtype.char == "E" and a.dtype.itemsize == 2:
                # bfloat16 cubes: PyTorch multiplies in bfloat16, rounding twice (its float16
                # cube, like NumPy's power, is one float32 result rounded once)
                return (a * a) * a
            if a.dtype.kind == "f" and a.dtype.itemsize >= 4:
                # PyTorch's pow kernel spells these exponents out (two roundings where
                # NumPy's power rounds once): the cube, 1 / x**2, and rsqrt
                e = ctx.exponent
                if e == 3:
                    return a * a * a
                if e == -2:
                    return 1 / (a * a)
                if e == -0.5:
                    return 1 / np.sqrt(a)
            return np.power(a, exponent)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        e = ctx.exponent
        if e == 0:
            return zeros_grad(grad), None  # torch: zeros_like(self), never -0.0 or NaN
        return grad * _conj(a ** (e - 1) * e), None


def _nonnegative(b: Tensor) -> Tensor:
    """Where the exponent is a non-negative real (complex tensors have no ``>=``; PyTorch
    asks for a zero imaginary part and a non-negative real part)."""
    if b._dtype.is_complex:
        return (b.imag == 0) & (b.real >= 0)
    return b >= 0


def _conj(derivative: Tensor) -> Tensor:
    """PyTorch's convention for complex gradients: grad times the conjugate derivative
    (``derivative`` itself when real)."""
    return conj(derivative) if derivative._dtype.is_complex else derivative


def pow(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent``; either may be a number (``2 ** t`` works).

    Integer tensors to a negative integer number raise, as in PyTorch.

    Example:
        >>> ember.pow(ember.tensor([1, 2, 3]), 2)
        tensor([1, 4, 9])
    """
    if isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        check_devices(input, exponent)
        dt = D.result_type(input, exponent)
        if dt.category < D._FLOAT and not isinstance(exponent, bool) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        result = PowScalar.apply(_cast(input, dt), _cast(exponent, dt))
    elif isinstance(exponent, Tensor):
        if D.result_type(input, exponent) == D.bool:  # torch has no tensor-exponent bool kernel
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
        result = binary(Pow, input, exponent)
    else:
        raise TypeError(f"pow(): expected a Tensor for input or exponent, got "
                        f"{type(input).__name__} and {type(exponent).__name__}")
    return result if out is None else finish_out(result, out, "pow", input, exponent)


def float_power(input, exponent, *, out=None) -> Tensor:
    """``pow`` computed in double precision (complex128 for complex operands).

    Example:
        >>> ember.float_power(ember.tensor([2]), 2)
        tensor([4.], dtype=torch.float64)
    """
    for v in (input, exponent):
        if type(v) is int:
            D.check_int_scalar(v)  # past 64 bits: torch's OverflowError, not float(v)
    dt = D.complex128 if D.result_type(input, exponent).is_complex else D.float64
    a = input.to(dt) if isinstance(input, Tensor) else input
    b = exponent.to(dt) if isinstance(exponent, Tensor) else exponent
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        b = complex(b) if dt.is_complex else float(b)
    return pow(a, b, out=out)


def pow_(self, exponent):
    return apply_inplace(self, pow(self, exponent), "pow_")


def float_power_(self, exponent):
    return apply_inplace(self, float_power(self, exponent), "float_power_")


TENSOR_METHODS = {"pow": pow, "float_power": float_power, "pow_": pow_,
                  "float_power_": float_power_}
