"""Comparisons, ``where``, the ``is*`` predicates and closeness tests.

Comparisons promote both operands to their common dtype first (so ``uint8_t == -1`` compares
against 255, as in PyTorch) and always return bool tensors. They build no graph: a bool result
has no gradient, so they skip the op machinery and wrap NumPy's result directly.
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import _dtype as D
from ..._backend import as_array
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._tensor import Tensor
from .._core import Op, broadcast_shapes, unbroadcast
from .._dispatch import (
    _cast,
    _raw,
    align_devices,
    as_tensor,
    check_devices,
    check_meta_mix,
    finish_out,
    not_implemented_for,
    refuse_shell,
    require_tensor,
)
from ..inplace import _type_title, write_constant

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "where", "isnan", "isinf", "isposinf", "isneginf",
           "isfinite", "isreal", "isclose", "allclose", "equal"]


def _compare(ufunc, name, input, other, out):
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    input, other = align_devices(input, other)
    if isinstance(other, Tensor) and other._dtype is input._dtype:
        dt, a, b = input._dtype, input._data, other._data
    else:
        dt = D.result_type(input, other)
        a, b = _raw(_cast(input, dt)), _raw(_cast(other, dt))
    if (dt.is_complex or dt in D.SHELL) and name not in ("eq", "ne"):
        raise not_implemented_for(f"{name}_cpu", dt)
    try:
        with np.errstate(invalid="ignore"):
            res = ufunc(a, b)
    except ValueError:
        broadcast_shapes(np.shape(a), np.shape(b))
        raise
    if not isinstance(res, np.ndarray):
        res = as_array(res)
    result = Tensor._make(res, D.bool)
    if input._vmap_levels or (isinstance(other, Tensor) and other._vmap_levels):
        _vmap_tag(result, input, other)  # no Op.apply here to pass vmap's tag on
    return result if out is None else finish_out(result, out, name, input, other)


def _vmap_tag(result, input, other) -> None:
    levels = input._vmap_levels + (other._vmap_levels if isinstance(other, Tensor) else ())
    result._vmap_levels = tuple(dict.fromkeys(lv for lv in levels if lv.active))


def _make_compare(ufunc, name, symbol):
    def fn(input, other, *, out=None) -> Tensor:
        return _compare(ufunc, name, input, other, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""Elementwise ``input {symbol} other`` (with broadcasting); a bool tensor.

    Example:
        >>> ember.{name}(ember.tensor([1, 2, 3]), 2)
        {_bool_repr([bool(ufunc(v, 2)) for v in (1, 2, 3)])}
    """
    return fn


def _bool_repr(values):
    width = 5 if not all(values) else 4
    return f"tensor([{', '.join(str(v).rjust(width) for v in values)}])"


eq = _make_compare(np.equal, "eq", "==")
ne = _make_compare(np.not_equal, "ne", "!=")
lt = _make_compare(np.less, "lt", "<")
le = _make_compare(np.less_equal, "le", "<=")
gt = _make_compare(np.greater, "gt", ">")
ge = _make_compare(np.greater_equal, "ge", ">=")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


# -- where ---------------------------------------------------------------------------------

class Where(Op):
    listed_inputs = staticmethod(lambda inputs: (1, 2))  # torch lists no condition

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        cond = ctx.inputs[0]
        sa, sb = ctx.shapes
        ga = unbroadcast(where(cond, grad, 0.0), sa) if ctx.needs_input_grad[1] else None
        gb = unbroadcast(where(cond, 0.0, grad), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition: Tensor, input=None, other=None, *, out=None):
    """``input`` where ``condition`` is True, else ``other`` (numbers allowed for either).

    With only ``condition`` it is ``nonzero(condition, as_tuple=True)``.

    Example:
        >>> x = ember.tensor([-1.0, 2.0])
        >>> ember.where(x > 0, x, 0.0)
        tensor([0., 2.])
    """
    if input is None and other is None:
        if condition._vmap_levels:  # torch names where, not nonzero, in its vmap error
            from ...func._vmap import refuse_if_batched

            refuse_if_batched(condition, "where")
        return condition.nonzero(as_tuple=True)  # the indexing family's op, bound as a method
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not "
                        f"{type(condition).__name__}")
    if condition._dtype is not D.bool:
        if condition._dtype is not D.uint8:
            raise with_hint(RuntimeError("where expected condition to be a boolean tensor, but "
                                         "got a tensor with dtype "
                                         f"{_type_title(condition._dtype)}"),
                            "Compare it first, e.g. `mask != 0`, or call `.bool()`.")
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated "
                      "and will be removed in a future version of PyTorch. Use a boolean "
                      "condition instead.", UserWarning, stacklevel=2)
        condition = condition.bool()
    check_devices(condition, input)
    check_devices(condition, other)
    check_devices(input, other)
    for a, b in ((condition, input), (condition, other), (input, other)):
        check_meta_mix(a, b)
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input._dtype is other._dtype:
        a, b = input, other
    else:
        dt = D.result_type(input, other)
        a, b = _cast(input, dt), _cast(other, dt)
    try:
        result = Where.apply(condition, a, b)
    except ValueError:
        broadcast_shapes(np.shape(_raw(a)), np.shape(_raw(b)))
        broadcast_shapes(condition._data.shape, np.shape(_raw(a)), np.shape(_raw(b)))
        raise
    return result if out is None else finish_out(result, out, "where", input, other)


# -- predicates ----------------------------------------------------------------------------

def _predicate(input: Tensor, fn, floats_only: bool = True) -> Tensor:
    data = input._data
    if floats_only and input._dtype.category < D._FLOAT:
        result = Tensor._make(xp_of(data).zeros(data.shape, np.bool_), D.bool)
    else:
        result = Tensor._make(as_array(fn(data)), D.bool)
    if input._vmap_levels:  # a mask from a mapped input stays one (vmap refuses s[~isnan(s)])
        _vmap_tag(result, input, None)
    return result


def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN.

    Example:
        >>> ember.isnan(ember.tensor([1.0, float('nan')]))
        tensor([False,  True])
    """
    return _predicate(input, np.isnan)


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf or -inf.

    Example:
        >>> ember.isinf(ember.tensor([1.0, float('-inf')]))
        tensor([False,  True])
    """
    if input._dtype in D.SHELL:
        refuse_shell("isinf", input._dtype)
    return _predicate(input, np.isinf)


def isposinf(input: Tensor, *, out=None) -> Tensor:
    """True where ``input`` is +inf.

    Example:
        >>> ember.isposinf(ember.tensor([float('inf'), float('-inf')]))
        tensor([ True, False])
    """
    _no_complex(input, "isposinf")
    if input._dtype in D.SHELL:
        refuse_shell("isposinf", input._dtype)
    return finish_out(_predicate(input, np.isposinf), out, "isposinf")


def isneginf(input: Tensor, *, out=None) -> Tensor:
    """True where ``input`` is -inf.

    Example:
        >>> ember.isneginf(ember.tensor([float('inf'), float('-inf')]))
        tensor([False,  True])
    """
    _no_complex(input, "isneginf")
    if input._dtype in D.SHELL:
        refuse_shell("isneginf", input._dtype)
    return finish_out(_predicate(input, np.isneginf), out, "isneginf")


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither infinite nor NaN.

    Example:
        >>> ember.isfinite(ember.tensor([1.0, float('inf')]))
        tensor([ True, False])
    """
    if input._dtype.category < D._FLOAT:
        return Tensor._make(xp_of(input._data).ones(input._data.shape, np.bool_), D.bool)
    if input._dtype in D.SHELL:
        refuse_shell("isfinite", input._dtype)
    return _predicate(input, np.isfinite)


def isreal(input: Tensor) -> Tensor:
    """True where ``input`` has no imaginary part (always, for real dtypes).

    Example:
        >>> ember.isreal(ember.tensor([1.0, 2.0]))
        tensor([True, True])
    """
    if not input._dtype.is_complex:
        return Tensor._make(xp_of(input._data).ones(input._data.shape, np.bool_), D.bool)
    return Tensor._make(as_array(input._data.imag == 0), D.bool)


def _no_complex(input, name):
    if input._dtype.is_complex:
        raise RuntimeError(f"{name} does not support complex inputs.")


# -- closeness -----------------------------------------------------------------------------

def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (dtypes must match).

    Example:
        >>> ember.isclose(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.1]))
        tensor([ True, False])
    """
    require_tensor(other, "isclose", "other", 2)
    if input._dtype is not other._dtype:
        raise with_hint(RuntimeError(f"{_type_title(input._dtype)} did not match "
                                     f"{_type_title(other._dtype)}"),
                        "isclose/allclose compare tensors of one dtype; convert one with "
                        ".to(other.dtype)")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    check_devices(input, other)
    if input._dtype in D.SHELL:
        refuse_shell("isclose", input._dtype)
    a, b = input._data, other._data
    try:
        close = np.equal(a, b)
    except ValueError:
        broadcast_shapes(a.shape, b.shape)
        raise
    if input._dtype is D.bool:
        return Tensor._make(close, D.bool)
    if input._dtype.category < D._FLOAT:
        a = a.astype(D.get_default_dtype().np_dtype)
        b = b.astype(a.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        if equal_nan:
            close |= np.isnan(a) & np.isnan(b)
        err = np.abs(a - b)
        close |= np.isfinite(err) & (err <= atol + np.abs(rtol * b))
    return Tensor._make(as_array(close), D.bool)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether ``isclose`` holds everywhere.

    Example:
        >>> ember.allclose(ember.tensor([1.0]), ember.tensor([1.0 + 1e-9]))
        True
    """
    _refuse_mapped(input, other, "allclose")
    require_tensor(other, "allclose", "other", 2)
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _refuse_mapped(input, other, what: str) -> None:
    """torch's vmap has no rule for ops answering one Python bool about a mapped tensor."""
    for t in (input, other):
        if isinstance(t, Tensor) and t._vmap_levels:
            from ...func._vmap import refuse_if_batched

            refuse_if_batched(t, what)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same values.

    Example:
        >>> ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2]))
        True
    """
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        bad = other if isinstance(input, Tensor) else input
        raise TypeError(f"equal(): arguments must be Tensors, not {type(bad).__name__}")
    _refuse_mapped(input, other, "equal")
    check_devices(input, other)
    if input._data.shape != other._data.shape:
        return False
    dt = D.promote_types(input._dtype, other._dtype)
    a, b = input._data, other._data
    if a.dtype != dt.np_dtype or b.dtype != dt.np_dtype:
        a, b = a.astype(dt.np_dtype), b.astype(dt.np_dtype)
    return bool(np.array_equal(a, b))


# -- in-place forms ------------------------------------------------------------------------

_NODE_NAMES = {"eq": "Eq", "ne": "Ne", "lt": "Lt", "le": "Le", "gt": "Gt", "ge": "Ge"}


def _inplace(fn, name):
    # PyTorch's node: EqBackward0 for a number operand, EqBackward1 for a tensor one
    node = _NODE_NAMES[fn.__name__]

    def method(self, other):
        suffix = "Backward1" if isinstance(other, Tensor) else "Backward0"
        return write_constant(self, fn(self, other), node + suffix, (other,), name)

    method.__name__ = name
    return method


def _where_method(self, condition, other):
    return where(condition, self, other)


def contains(self: Tensor, element) -> bool:
    if isinstance(element, (Tensor, int, float, bool, complex)):
        return bool((self == element).any().item())
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in "
                       f"a {type(element)}.")


TENSOR_METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "greater_equal": ge,
    "less": lt, "less_equal": le, "not_equal": ne, "where": _where_method, "isnan": isnan,
    "isinf": isinf, "isposinf": isposinf, "isneginf": isneginf, "isfinite": isfinite,
    "isreal": isreal, "isclose": isclose, "allclose": allclose, "equal": equal,
    "__contains__": contains,
}

for _name, _fn in list(TENSOR_METHODS.items())[:11]:
    TENSOR_METHODS[_name + "_"] = _inplace(_fn, _name + "_")
