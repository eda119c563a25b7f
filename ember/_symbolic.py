"""PyTorch's ``sym_*`` helpers (``torch.sym_int``, ``torch.sym_max`` ...) and the ``SymInt``,
``SymFloat`` and ``SymBool`` classes.

In PyTorch these let code written for symbolic shapes (sizes that ``torch.compile`` traces as
variables) also run on plain numbers. ember's sizes are always plain Python ints, so only
PyTorch's plain-number paths exist here: each function behaves as PyTorch's does on ints,
floats, bools and 0-d tensors, and the ``Sym*`` classes have no instances (``isinstance(3,
ember.SymInt)`` is False, as in PyTorch).
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from ._tensor import Tensor

__all__ = ["SymInt", "SymFloat", "SymBool", "sym_int", "sym_float", "sym_max", "sym_min",
           "sym_not", "sym_sqrt", "sym_ite", "sym_sum", "sym_fresh_size", "sym_constrain_range",
           "sym_constrain_range_for_size"]

_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# what sym_max / sym_min accept, as in PyTorch (which also takes NumPy scalars)
_NUMBERS = (np.integer, np.floating, int, float)
_FLOATS = (np.floating, float)


class _NoSymbolicShapes:
    """Base of the ``Sym*`` classes: ember traces no symbolic sizes, so none is ever made."""

    __module__ = "ember"

    def __init__(self, node):
        raise NotImplementedError(
            f"ember has no symbolic shapes: sizes are plain Python numbers, so a "
            f"{type(self).__name__} cannot be made (isinstance checks against it are False for "
            "every number, as for PyTorch's plain numbers)")


class SymInt(_NoSymbolicShapes):
    """A symbolic int (``torch.SymInt``). ember's sizes are plain ints, so this class has no
    instances; it exists for ``isinstance`` checks and annotations.

    Example:
        >>> isinstance(3, ember.SymInt)
        False
    """


class SymFloat(_NoSymbolicShapes):
    """A symbolic float (``torch.SymFloat``); like :class:`SymInt`, it has no instances.

    Example:
        >>> isinstance(3.0, ember.SymFloat)
        False
    """


class SymBool(_NoSymbolicShapes):
    """A symbolic bool (``torch.SymBool``); like :class:`SymInt`, it has no instances.

    Example:
        >>> isinstance(True, ember.SymBool)
        False
    """


def sym_int(a):
    """``int(a)`` (truncating floats toward zero), for code written for symbolic sizes.

    Example:
        >>> ember.sym_int(-3.7)
        -3
    """
    return builtins.int(a)


def sym_float(a):
    """``float(a)``, for code written for symbolic sizes.

    Example:
        >>> ember.sym_float(3)
        3.0
    """
    return builtins.float(a)


def _check_number(a) -> None:
    if not isinstance(a, _NUMBERS):
        raise AssertionError(f"expected {_NUMBERS}, got {type(a)}")


def sym_max(a, b):
    """``max(a, b)`` of two numbers, promoted to float if either is a float (unlike
    ``builtins.max``, which keeps the winner's type).

    Example:
        >>> ember.sym_max(3, 2.0)
        3.0
    """
    _check_number(a)
    _check_number(b)
    if isinstance(a, _FLOATS) or isinstance(b, _FLOATS):
        return builtins.float(builtins.max(a, b))
    return builtins.max(a, b)


def sym_min(a, b):
    """``min(a, b)`` of two numbers, promoted to float if either is a float.

    Example:
        >>> ember.sym_min(3, 2)
        2
    """
    _check_number(a)
    _check_number(b)
    if isinstance(a, _FLOATS) or isinstance(b, _FLOATS):
        return builtins.float(builtins.min(a, b))
    return builtins.min(a, b)


def sym_not(a):
    """``not a``, for code written for symbolic bools.

    Example:
        >>> ember.sym_not(True)
        False
    """
    return not a


def sym_sqrt(a):
    """``math.sqrt(a)``, for code written for symbolic sizes.

    Example:
        >>> ember.sym_sqrt(4)
        2.0
    """
    return math.sqrt(a)


def sym_ite(b, t, f):
    """``t if b else f``; ``b`` must be a bool and ``t`` and ``f`` of the same type.

    Example:
        >>> ember.sym_ite(False, 1, 2)
        2
    """
    if not isinstance(b, (SymBool, builtins.bool)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def sym_sum(*args):
    """The sum of the arguments, given as ``sym_sum(a, b, c)`` or ``sym_sum([a, b, c])``.

    Example:
        >>> ember.sym_sum([1, 2, 3])
        6
    """
    if len(args) == 1 and isinstance(args[0], (builtins.list, tuple)):
        args = args[0]
    return builtins.sum(args)


def sym_fresh_size(expr):
    """A new size with the value of ``expr`` (``tensor(expr).item()``, as PyTorch computes it
    outside tracing).

    Example:
        >>> ember.sym_fresh_size(3)
        3
    """
    from ._creation import tensor

    return tensor(expr).item()


def _int64(fname: str, value, name: str, pos: str = "") -> int:
    """``value`` as a C++ int64, with PyTorch's argument-parsing errors."""
    if isinstance(value, Tensor) and value.dim() == 0:
        value = value.item()
    if name == "size":
        if isinstance(value, Tensor) or not isinstance(value, numbers.Number):
            raise TypeError(f"{fname}(): argument 'size'{pos} must be Number, not "
                            f"{type(value).__name__}")
        if isinstance(value, numbers.Integral):
            value = builtins.int(value)
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise OverflowError("int too big to convert")
            return value
        if isinstance(value, numbers.Real) and math.isfinite(value) \
                and _INT64_MIN <= math.trunc(value) <= _INT64_MAX:
            return math.trunc(value)
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    if isinstance(value, builtins.bool) or not isinstance(value, builtins.int):
        raise TypeError(f"{fname}(): argument '{name}' must be int, not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("Overflow when unpacking long long")
    return value


def _constrain(size: int, lo: int, hi: int) -> None:
    if hi < lo:
        raise RuntimeError(f"Max must be greater than or equal to min. Got min={lo} max={hi}")
    if not lo <= size <= hi:
        raise RuntimeError(f"Invalid value range for {size} between [{lo}, {hi}].")


def sym_constrain_range(size, *, min=None, max=None) -> None:
    """Check that ``size`` lies in ``[min, max]`` (either bound may be None); raises
    RuntimeError if not. Under PyTorch's tracing this constrains a symbolic size; on a plain
    number it is this check.

    Example:
        >>> ember.sym_constrain_range(3, min=0, max=5)
    """
    fname = "sym_constrain_range"
    size = _int64(fname, size, "size", " (position 1)")
    lo = _INT64_MIN if min is None else _int64(fname, min, "min")
    hi = _INT64_MAX if max is None else _int64(fname, max, "max")
    _constrain(size, lo, hi)


def sym_constrain_range_for_size(size, *, min=None, max=None) -> None:
    """Like :func:`sym_constrain_range` for a value used as a size: ``min`` defaults to 0, and
    ``max``, if given, must be greater than 2.

    Example:
        >>> ember.sym_constrain_range_for_size(3, max=10)
    """
    fname = "sym_constrain_range_for_size"
    size = _int64(fname, size, "size", " (position 1)")
    lo = 0 if min is None else _int64(fname, min, "min")
    hi = _INT64_MAX if max is None else _int64(fname, max, "max")
    if max is not None and hi <= 2:
        raise RuntimeError(f"Max value to constrain_range_for_size must be greater than 2. "
                           f"got: {hi}")
    _constrain(size, lo, hi)


def _assert(condition, message):
    """A wrapper around Python's ``assert`` that symbolic tracing records as a call
    (``torch._assert``).

    Example:
        >>> ember._assert(True, "never raised")
    """
    assert condition, message


# -- torch._check and friends: runtime asserts that fake kernels and traced code use ---------

_CHECK_DEFAULT = ("Expected cond to be True, but got False. (Could this error message be "
                  "improved? If so, please report an enhancement request to PyTorch.)")


def _check_with(error_type, cond, message):
    """Raise ``error_type`` when ``cond`` (a bool) is False; ``message`` is None or a callable
    that builds the text only when the check fails (so passing checks cost no formatting).

    Example:
        >>> ember._check_with(ValueError, 2 > 1, lambda: "never built")
    """
    if not isinstance(cond, bool):
        if isinstance(cond, Tensor):
            raise TypeError("cond must be a bool, but got a Tensor. For tensor conditions, use "
                            "torch._check_tensor_all() to assert that all elements are true.")
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if cond:
        return
    if message is None:
        text = _CHECK_DEFAULT
    elif not callable(message):
        raise TypeError("message must be a callable")
    else:
        text = str(message())
    raise error_type(text)


def _check(cond, message=None):
    """``torch._check``: RuntimeError unless ``cond`` is True (fake kernels check shapes so).

    Example:
        >>> ember._check(ember.ones(3).shape[0] == 3, lambda: "need 3 rows")
    """
    _check_with(RuntimeError, cond, message)


def _check_index(cond, message=None):
    """``torch._check`` raising IndexError.

    Example:
        >>> ember._check_index(0 < 3)
    """
    _check_with(IndexError, cond, message)


def _check_value(cond, message=None):
    """``torch._check`` raising ValueError.

    Example:
        >>> ember._check_value(1.0 > 0)
    """
    _check_with(ValueError, cond, message)


def _check_type(cond, message=None):
    """``torch._check`` raising TypeError.

    Example:
        >>> ember._check_type(isinstance(1, int))
    """
    _check_with(TypeError, cond, message)


def _check_not_implemented(cond, message=None):
    """``torch._check`` raising NotImplementedError.

    Example:
        >>> ember._check_not_implemented(True)
    """
    _check_with(NotImplementedError, cond, message)


def _check_tensor_all(cond, message=None):
    """RuntimeError unless every element of the bool tensor ``cond`` is True.

    Example:
        >>> ember._check_tensor_all(ember.tensor([True, True]))
    """
    if not isinstance(cond, Tensor):
        raise TypeError(f"cond must be a tensor, but got {type(cond)}")
    from ._dtype import bool as bool_dtype

    if cond.dtype is not bool_dtype:
        raise TypeError(f"cond tensor must have dtype torch.bool, but got {cond.dtype}")
    _check(bool(cond.all().item()), message)
