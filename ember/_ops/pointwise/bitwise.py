"""Bitwise (integer and bool tensors only) and logical (any dtype, bool result) ops.

None of them has a gradient, so they skip the op machinery and wrap NumPy's result directly.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import as_array, asarray_like
from ..._tensor import Tensor
from .._core import broadcast_shapes
from .._dispatch import (
    _cast,
    _raw,
    as_tensor,
    check_devices,
    finish_out,
    not_implemented_for,
    refuse_shell,
    require_tensor,
)
from ..inplace import apply_inplace

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "logical_not"]


def _operands(input, other):
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    check_devices(input, other)
    if isinstance(other, Tensor) and other._dtype is input._dtype:
        return input, input._dtype, input._data, other._data
    dt = D.result_type(input, other)
    return input, dt, _raw(_cast(input, dt)), _raw(_cast(other, dt))


def _result(res, dt, *inputs) -> Tensor:
    """Wrap NumPy's result; inside a vmap call it carries its inputs' vmap tags (there is no
    Op.apply here to pass them on), so that indexing with a mask made by ``&``/``~`` from a
    mapped input is refused as torch refuses it (see func._vmap)."""
    result = Tensor._make(res, dt)
    levels = ()
    for t in inputs:
        if isinstance(t, Tensor):
            levels += tuple(lv for lv in t._vmap_levels if lv.active and lv not in levels)
    if levels:
        result._vmap_levels = levels
    return result


def _run(ufunc, a, b):
    try:
        res = ufunc(a, b)
    except ValueError:
        broadcast_shapes(np.shape(a), np.shape(b))
        raise
    return res if isinstance(res, np.ndarray) else as_array(res)


def _make_bitwise(ufunc, name, kernel, symbol, example):
    def fn(input, other, *, out=None) -> Tensor:
        input, dt, a, b = _operands(input, other)
        if dt.category > D._INT:
            raise not_implemented_for(kernel, dt)
        result = _result(_run(ufunc, a, b), dt, input, other)
        return result if out is None else finish_out(result, out, name, input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""Elementwise ``input {symbol} other`` for integer or bool tensors.

    Example:
        >>> ember.{name}(ember.tensor([12]), ember.tensor([10]))
        tensor([{example}])
    """
    return fn


bitwise_and = _make_bitwise(np.bitwise_and, "bitwise_and", "bitwise_and_cpu", "&", 8)
bitwise_or = _make_bitwise(np.bitwise_or, "bitwise_or", "bitwise_or_cpu", "|", 14)
bitwise_xor = _make_bitwise(np.bitwise_xor, "bitwise_xor", "bitwise_xor_cpu", "^", 6)


def bitwise_not(input: Tensor, *, out=None) -> Tensor:
    """``~input``: bitwise NOT for integers, logical NOT for bool.

    Example:
        >>> ember.bitwise_not(ember.tensor([0, -1]))
        tensor([-1,  0])
    """
    if input._dtype.category > D._INT:
        raise not_implemented_for("bitwise_not_cpu", input._dtype)
    if input._dtype in D.SHELL:
        refuse_shell("bitwise_not", input._dtype)
    result = _result(as_array(np.invert(input._data)), input._dtype, input)
    return result if out is None else finish_out(result, out, "bitwise_not", input)


def _shift(input, other, out, left: bool) -> Tensor:
    name = "bitwise_left_shift" if left else "bitwise_right_shift"
    input, dt, a, b = _operands(input, other)
    if dt.category != D._INT:
        raise not_implemented_for("lshift_cpu" if left else "rshift_cpu", dt)
    if dt in D.SHELL:
        refuse_shell("lshift" if left else "rshift", dt)
    bits = dt.itemsize * 8
    b = asarray_like(b, a)  # a number: next to the data (on its device)
    in_range = (b >= 0) & (b < bits)
    safe = np.where(in_range, b, 0).astype(dt.np_dtype, copy=False)
    if left:
        # shifting by the width or more (or by a negative amount) gives 0 in PyTorch
        res = np.where(in_range, _run(np.left_shift, a, safe), 0)
    else:
        # ... and fills with the sign bit for a right shift
        res = np.where(in_range, _run(np.right_shift, a, safe),
                       np.right_shift(a, bits - 1) if dt.is_signed else 0)
    result = _result(as_array(res.astype(dt.np_dtype, copy=False)), dt, input, other)
    return result if out is None else finish_out(result, out, name, input, other)


def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    """``input << other`` for integer tensors.

    Example:
        >>> ember.bitwise_left_shift(ember.tensor([1, 3]), 2)
        tensor([ 4, 12])
    """
    return _shift(input, other, out, True)


def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    """``input >> other`` for integer tensors (arithmetic shift for signed ones).

    Example:
        >>> ember.bitwise_right_shift(ember.tensor([-8, 8]), 2)
        tensor([-2,  2])
    """
    return _shift(input, other, out, False)


def _make_logical(ufunc, name, example):
    def fn(input: Tensor, other: Tensor, *, out=None) -> Tensor:
        require_tensor(other, name, "other", 2)
        check_devices(input, other)
        for t in (input, other):
            if t._dtype in D.SHELL:
                refuse_shell(name, t._dtype)
        result = _result(_run(ufunc, input._data, other._data), D.bool, input, other)
        return result if out is None else finish_out(result, out, name, input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""Elementwise logical {name[8:].upper()}; nonzero counts as True.

    Example:
        >>> ember.{name}(ember.tensor([0, 1, 2]), ember.tensor([0, 0, 3]))
        tensor({example})
    """
    return fn


logical_and = _make_logical(np.logical_and, "logical_and", "[False, False,  True]")
logical_or = _make_logical(np.logical_or, "logical_or", "[False,  True,  True]")
logical_xor = _make_logical(np.logical_xor, "logical_xor", "[False,  True, False]")


def logical_not(input: Tensor, *, out=None) -> Tensor:
    """Elementwise logical NOT; nonzero counts as True.

    Example:
        >>> ember.logical_not(ember.tensor([0, 2]))
        tensor([ True, False])
    """
    if input._dtype in D.SHELL:
        refuse_shell("logical_not", input._dtype)
    result = _result(as_array(np.logical_not(input._data)), D.bool, input)
    return result if out is None else finish_out(result, out, "logical_not", input)


def _inplace(fn, name):
    def method(self, *args):
        return apply_inplace(self, fn(self, *args), name)

    method.__name__ = name
    return method


TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS.update({name + "_": _inplace(globals()[name], name + "_") for name in __all__})
