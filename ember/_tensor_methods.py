"""Attach op functions to Tensor as methods and Python operators.

Each op module lists its methods in ``TENSOR_METHODS``; operators are mapped here by name, so
an operator appears as soon as the function it stands for exists.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys

import numpy as np

from ._dtype import _FLOAT
from ._dtype import bfloat16 as _BF16  # ml_dtypes' bfloat16 does not treat numbers as weak
from ._numpy_aliases import with_numpy_aliases
from ._ops import OP_MODULES
from ._tensor import Tensor

# operator -> (function name, how to call it)
_FORWARD = {
    "__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
    "__floordiv__": "floor_divide", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__and__": "bitwise_and", "__or__": "bitwise_or",
    "__xor__": "bitwise_xor", "__lshift__": "bitwise_left_shift",
    "__rshift__": "bitwise_right_shift", "__eq__": "eq", "__ne__": "ne", "__lt__": "lt",
    "__le__": "le", "__gt__": "gt", "__ge__": "ge",
}
_REFLECTED = {
    "__radd__": "add", "__rsub__": "sub", "__rmul__": "mul", "__rtruediv__": "div",
    "__rfloordiv__": "floor_divide", "__rmod__": "remainder", "__rpow__": "pow",
    "__rmatmul__": "matmul", "__rand__": "bitwise_and", "__ror__": "bitwise_or",
    "__rxor__": "bitwise_xor",
}
_INPLACE = {
    "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__ifloordiv__": "floor_divide_", "__imod__": "remainder_", "__ipow__": "pow_",
    "__iand__": "bitwise_and_", "__ior__": "bitwise_or_", "__ixor__": "bitwise_xor_",
    "__ilshift__": "bitwise_left_shift_", "__irshift__": "bitwise_right_shift_",
}
_UNARY = {"__neg__": "neg", "__abs__": "abs", "__invert__": "bitwise_not",
          "__getitem__": "getitem", "__setitem__": "setitem"}


def _as_number(other):
    """A NumPy scalar operand as the Python number torch's argument parser reads it: integers
    as ``int``, floating and complex as ``float``/``complex``, and ``numpy.bool_`` (not a
    Python bool to torch) as a ``float``. Other operands are returned unchanged."""
    if isinstance(other, np.generic) and not isinstance(other, np.uint64):
        if isinstance(other, np.bool_):
            return float(other)
        if isinstance(other, np.integer):
            return int(other)
        if isinstance(other, np.floating):
            return float(other)
        if isinstance(other, np.complexfloating):
            # complex64/clongdouble are no Python complex: torch reads them as a double
            # (NumPy's ComplexWarning; the imaginary part is lost)
            return complex(other) if isinstance(other, complex) else float(other)
    return other


def _reflected(fn):
    def method(self, other):
        other = _as_number(other)
        if not isinstance(other, (int, float, complex, bool)) and not isinstance(other, Tensor):
            return NotImplemented
        from ._creation import tensor

        if type(other) is float and self._dtype.itemsize == 2 and \
                self._dtype.is_floating_point and fn.__name__ == "mul":
            # number * float16/bfloat16 tensor: torch keeps the number in float32, as for
            # tensor * number; a 0-d tensor of the tensor's dtype would round it first
            return fn(self, other)
        lhs = tensor(other, dtype=_scalar_dtype(other, self), device=self.device)
        return fn(lhs, self)

    return method


def _reciprocal_first(fallback):
    """``__rtruediv__``: torch computes ``number / tensor`` and ``ndarray / tensor`` as
    ``tensor.reciprocal() * other`` (two roundings, so ``10.0 / t`` can be an ulp off a single
    division; the graph is MulBackward0 over ReciprocalBackward0; with an ndarray the product
    is NumPy's, so the result takes NumPy's dtype). Other operands go to ``fallback``."""
    def __rtruediv__(self, other):
        other = _as_number(other)
        if type(other) in (int, float, bool, complex) or isinstance(other, np.ndarray):
            return self.reciprocal() * other
        return fallback(self, other)

    return __rtruediv__


def _rsub_number(rsub, fallback):
    """``__rsub__``: torch computes ``number - tensor`` as ``rsub(tensor, number)``
    (RsubBackward1; a bool number is refused as subtraction with a bool). Other operands go to
    ``fallback``."""
    def __rsub__(self, other):
        other = _as_number(other)
        if type(other) in (int, float, bool, complex):
            return rsub(self, other)
        return fallback(self, other)

    return __rsub__


def _inplace(fn):
    def method(self, other):
        try:
            return fn(self, other)
        except TypeError:
            # torch turns the in-place op's TypeError into NotImplemented, so Python falls back
            # to ``t = t + other``: a new tensor, of NumPy's result dtype for an ndarray
            if isinstance(other, np.ndarray):
                return NotImplemented
            raise

    return method


def _scalar_dtype(value, like: Tensor):
    from . import _dtype as D

    return D.result_type(like, value) if D.scalar_dtype(value).category > \
        like.dtype.category else like.dtype


def _number_first(fn, fallback):
    def method(self, other):
        other = _as_number(other)
        if type(other) in (int, float, bool):
            return fn(other, self)
        return fallback(self, other)

    return method


def _forward(fn):
    def method(self, other):
        # A NumPy array operand is NumPy's to handle, as in torch: its reflected operator runs
        # the ufunc and Tensor.__array_wrap__ turns the result into a tensor
        if isinstance(other, (list, tuple, set, dict, str, np.ndarray)) or other is None:
            return NotImplemented
        return fn(self, _as_number(other))

    return method


def _compare(fn, name):
    def method(self, other):
        if isinstance(other, (list, tuple, set, dict, str)) or other is None:
            return NotImplemented if name not in ("__eq__", "__ne__") else name == "__ne__"
        if not isinstance(other, (Tensor, int, float, bool, complex)):
            if isinstance(other, np.ndarray):
                # torch compares == elementwise with the array as a tensor; the others are
                # left to Python (!= falls back to identity, < raises TypeError)
                if name != "__eq__":
                    return NotImplemented
                from ._creation import tensor

                return fn(self, tensor(other, device=self.device))
            if not hasattr(other, "dtype"):
                return name == "__ne__"
        return fn(self, other)

    return method


def _fast_binary(op_cls, slow, reflected=False):
    """Operator with a fast path for the common cases: two float tensors of one dtype on one
    device, or a float tensor and a Python int/float (which cannot change its dtype). All other
    operands, and any error, go through the general function ``slow``."""

    def method(self, other):
        dt = self._dtype
        if dt.category == _FLOAT and dt.itemsize > 1:  # float8 has few kernels: general path
            if isinstance(other, Tensor):
                if other._dtype is dt and type(other._data) is type(self._data):
                    try:
                        return op_cls.apply(other, self) if reflected else \
                            op_cls.apply(self, other)
                    except ValueError:
                        pass  # a broadcast error: the general path raises PyTorch's message
            elif (type(other) is int and -9223372036854775808 <= other <= 18446744073709551615
                  or type(other) is float and dt.itemsize > 2) and dt is not _BF16:
                # NumPy keeps a float array's dtype for a Python number, as PyTorch does.
                # (float16 takes a Python float the general way: through float32, as torch;
                # an int past 64 bits too, to torch's OverflowError)
                return op_cls.apply(other, self) if reflected else op_cls.apply(self, other)
        return slow(self, other)

    return method


# Methods whose argument errors torch words as a method's: named by the method (``atan2_()``,
# ``arctan2()``), and in _SHIFT numbered from the argument after ``self`` ("(position 1)"
# where the function form says "(position 2)").
_SHIFT = frozenset({
    "maximum", "minimum", "fmax", "fmin", "atan2", "atan2_", "arctan2", "arctan2_", "hypot",
    "hypot_", "isclose", "allclose", "logical_and", "logical_and_", "logical_or", "logical_or_",
    "logical_xor", "logical_xor_", "diagonal_scatter", "slice_scatter", "select_scatter",
    "split_with_sizes", "unsafe_split_with_sizes", "cumsum", "cumsum_", "cumprod", "cumprod_",
    "cummax", "cummin", "logcumsumexp", "sum", "mean", "nansum",
})
_RENAME = frozenset({"new_empty", "new_ones", "new_zeros", "polygamma_"})
_ARG_ERROR = re.compile(r"\w+\(\): argument '\w+' \(position (\d+)\)")


def _method_form(fn, name: str):
    """``fn`` as the method ``name``: its "argument ... (position N)" TypeErrors reworded as
    torch words a method's (the method's name; positions counted after ``self``). Only the
    error path pays."""
    shift = name in _SHIFT

    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except TypeError as err:
            if hasattr(err, "method_form"):  # an overload message torch words apart
                raise TypeError(err.method_form) from None
            msg = str(err)
            found = _ARG_ERROR.match(msg)
            if found is None:
                raise
            pos = int(found[1])
            if shift and pos >= 2:
                pos -= 1
            start = msg.index("(): ")
            raise TypeError(f"{name}{msg[start:found.start(1)]}{pos}{msg[found.end(1):]}") \
                from None

    return method


def _invert(bitwise_not):
    """``~x``: torch's Python operator refuses floating and complex tensors before its
    kernel (``torch.bitwise_not`` names the kernel instead)."""
    def __invert__(self):
        if self._dtype.is_floating_point or self._dtype.is_complex:
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            "tensors")
        return bitwise_not(self)

    return __invert__


def bind() -> None:
    functions = {}
    for mod_name in OP_MODULES:
        try:
            mod = importlib.import_module(f"ember._ops.{mod_name}")
        except ModuleNotFoundError as err:
            if err.name != f"ember._ops.{mod_name}":
                raise
            continue
        for name, fn in getattr(mod, "TENSOR_METHODS", {}).items():
            setattr(Tensor, name, with_numpy_aliases(fn, name))  # x.sum(axis=1) as in torch
            functions[name] = fn
    from . import _random

    for name, fn in _random.TENSOR_METHODS.items():
        setattr(Tensor, name, fn)
    for name in _SHIFT | _RENAME:
        if name in Tensor.__dict__:
            setattr(Tensor, name, _method_form(Tensor.__dict__[name], name))

    for dunder, name in _FORWARD.items():
        if name in functions:
            wrap = _compare if name in ("eq", "ne", "lt", "le", "gt", "ge") else None
            fn = functions[name]
            setattr(Tensor, dunder, wrap(fn, dunder) if wrap else _forward(fn))
    for dunder, name in _REFLECTED.items():
        if name in functions:
            setattr(Tensor, dunder, _reflected(functions[name]))
    if "pow" in functions:  # number ** tensor is its own op in PyTorch (PowBackward2)
        Tensor.__rpow__ = _number_first(functions["pow"], Tensor.__rpow__)
    for dunder, name in _INPLACE.items():
        if name in functions:
            setattr(Tensor, dunder, _inplace(functions[name]))
    for dunder, name in _UNARY.items():
        if name in functions:
            setattr(Tensor, dunder, functions[name])
    if "bitwise_not" in functions:
        Tensor.__invert__ = _invert(functions["bitwise_not"])
    from ._ops.pointwise.arithmetic import Add, Div, Mul, Sub, rsub

    Tensor.__rsub__ = _rsub_number(rsub, Tensor.__rsub__)
    for dunder, op_cls in (("__add__", Add), ("__sub__", Sub), ("__mul__", Mul),
                           ("__truediv__", Div)):
        setattr(Tensor, dunder, _fast_binary(op_cls, getattr(Tensor, dunder)))
        rname = "__r" + dunder[2:]
        if op_cls is Div:  # numbers never divide directly (see _reciprocal_first)
            Tensor.__rtruediv__ = _reciprocal_first(Tensor.__rtruediv__)
        else:
            setattr(Tensor, rname, _fast_binary(op_cls, getattr(Tensor, rname), reflected=True))
    Tensor.__pos__ = lambda self: self
    Tensor.T = property(_transpose_all)
    Tensor.mT = property(lambda self: _matrix_transpose(self, "mT"))
    Tensor.H = property(_hermitian)
    Tensor.mH = property(lambda self: _matrix_transpose(self, "mH"))


_ZERO_D_WARNINGS = {  # PyTorch warns once per process for each
    "mT": "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these "
          "cases.",
    "mH": "Tensor.mH is deprecated on 0-D tensors. Consider using x.conj().",
    "H": "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
}


_T_WARNINGS = {  # PyTorch's TORCH_WARN_ONCE for ``x.T`` on anything but a matrix
    "T_0d": "Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
            "cases.",
    "T_not_2d": "The use of `x.T` on tensors of dimension other than 2 to reverse their shape "
                "is deprecated and it will throw an error in a future release. Consider `x.mT` "
                "to transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, "
                "-1))` to reverse the dimensions of a tensor.",
}


def _transpose_all(t):
    """``t.T``: all dims reversed; torch warns (once per process) unless ``t`` is a matrix.

    Example:
        >>> ember.zeros(2, 3).T.shape
        torch.Size([3, 2])
    """
    # ember's own code may reverse a vector's dims on purpose: only a user's ``x.T`` warns
    if t.ndim != 2 and not sys._getframe(1).f_globals.get("__name__", "").startswith("ember."):
        from ._config import _warn_once

        key = "T_0d" if t.ndim == 0 else "T_not_2d"
        _warn_once(key, _T_WARNINGS[key], stacklevel=3)
    return t.permute(*reversed(range(t.ndim)))


def _hermitian(t):
    """``t.H``: a matrix's conjugate transpose, as torch's ``transpose(0, 1)``
    (TransposeBackward0), then ``conj`` for complex; a 0-d tensor is its own (with torch's
    deprecation warning); any other rank is refused, naming ``mH`` for batches.

    Example:
        >>> ember.tensor([[1., 2.]]).H.shape
        torch.Size([2, 1])
    """
    if t.ndim == 2:
        out = t.transpose(0, 1)
    elif t.ndim == 0:
        message = _ZERO_D_WARNINGS.pop("H", None)
        if message is not None:
            import warnings

            warnings.warn(message, UserWarning, stacklevel=3)
        out = t
    else:
        hint = " For batches of matrices, consider using tensor.mH" if t.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{t.ndim}-D tensor.{hint}")
    return out.conj() if t.is_complex() else out


def _matrix_transpose(t, name: str):
    """``t.mT`` / ``t.mH``: the last two dims swapped (and conjugated for mH); a 0-d tensor is
    its own transpose (with PyTorch's deprecation warning), a 1-d one is refused."""
    if t.ndim >= 2:
        out = t.transpose(-2, -1)
    elif t.ndim == 1:
        raise RuntimeError(f"tensor.{name} is only supported on matrices or batches of matrices. "
                           "Got 1-D tensor.")
    else:
        message = _ZERO_D_WARNINGS.pop(name, None)
        if message is not None:
            import warnings

            warnings.warn(message, UserWarning, stacklevel=3)
        out = t.view(())
    return out.conj() if name == "mH" and t.is_complex() else out
