"""Binary math beyond arithmetic: atan2, maximum/minimum, fmax/fmin, lerp, hypot, copysign,
xlogy, logaddexp/logaddexp2, heaviside, gcd/lcm, ldexp/frexp, nextafter. Gradients follow PyTorch's
formulas, including its conventions at ties (``maximum`` splits the gradient in half) and zeros
(``xlogy``)."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from .._core import (
    Op,
    array_tensor,
    as_tensor_arg,
    list_inputs,
    set_node_name,
    unbroadcast,
    zeros_grad,
)
from .._dispatch import (
    _shape_of,
    as_tensor,
    binary,
    check_devices,
    check_meta_mix,
    finish_out,
    not_implemented_for,
    promote,
    refuse_pair,
    refuse_shell,
    require_tensor,
)
from ..inplace import apply_inplace
from .arithmetic import _all_f32, fused_multiply_add, fused_multiply_add64
from .compare import where

__all__ = ["atan2", "arctan2", "maximum", "minimum", "fmax", "fmin", "lerp", "hypot", "copysign",
           "xlogy"]


def _refuse_shell(name: str, *operands) -> None:
    """torch's NotImplementedError when an operand's dtype (uint16/32/64, float8) has no
    ``name`` kernel there."""
    for x in operands:
        if isinstance(x, Tensor) and x._dtype in D.SHELL:
            refuse_shell(name, x._dtype)


def _float_dtype(a, b) -> D.dtype:
    dt = D.result_type(a, b)
    return dt if dt.category >= D._FLOAT else D.get_default_dtype()


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        from .compare import where

        denom = a * a + b * b
        # at the origin PyTorch gives a zero gradient (0 * inf would be NaN)
        recip = where(denom == 0, 0.0, denom.reciprocal())
        ga = unbroadcast(grad * b * recip, _shape_of(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * -a * recip, _shape_of(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


def atan2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right quadrant.

    Example:
        >>> ember.atan2(ember.tensor([1.0]), ember.tensor([-1.0]))
        tensor([2.3562])
    """
    require_tensor(input, "atan2")
    require_tensor(other, "atan2", "other", 2)
    result = binary(Atan2, input, other, compute=_float_dtype(input, other))
    return finish_out(result, out, "atan2", input, other)


arctan2 = atan2


class _Extremum(Op):
    """maximum/minimum: NaN propagates; a tie sends half the gradient to each side."""

    ufunc = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return cls.ufunc(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        half = where(a == b, grad / 2, grad)
        a_wins = a > b if cls.ufunc is np.maximum else a < b
        b_wins = a < b if cls.ufunc is np.maximum else a > b
        ga = unbroadcast(where(b_wins, 0.0, half), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(where(a_wins, 0.0, half), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Maximum(_Extremum):
    ufunc = np.maximum


class Minimum(_Extremum):
    ufunc = np.minimum


class _NanExtremum(_Extremum):
    """fmax/fmin: a NaN loses to a number; the gradient goes wholly to the chosen side."""

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        pick_a = ((a >= b) if cls.ufunc is np.fmax else (a <= b)) | b.isnan()
        ga = unbroadcast(where(pick_a, grad, 0.0), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(where(pick_a, 0.0, grad), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Fmax(_NanExtremum):
    ufunc = np.fmax


class Fmin(_NanExtremum):
    ufunc = np.fmin


def _extremum(cls, name, input, other, out):
    require_tensor(input, name)
    require_tensor(other, name, "other", 2)
    if input._dtype.is_complex or other._dtype.is_complex:
        raise RuntimeError(f"{name} not implemented for complex tensors.")
    result = binary(cls, input, other)
    return finish_out(result, out, name, input, other)


def maximum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise maximum of two tensors (NaN wins).

    Example:
        >>> ember.maximum(ember.tensor([1, 5]), ember.tensor([3, 2]))
        tensor([3, 5])
    """
    return _extremum(Maximum, "maximum", input, other, out)


def minimum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise minimum of two tensors (NaN wins).

    Example:
        >>> ember.minimum(ember.tensor([1, 5]), ember.tensor([3, 2]))
        tensor([1, 2])
    """
    return _extremum(Minimum, "minimum", input, other, out)


def fmax(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    Example:
        >>> ember.fmax(ember.tensor([float('nan'), 1.0]), ember.tensor([2.0, 0.0]))
        tensor([2., 1.])
    """
    _refuse_shell("fmax", input, other)  # float8; uint16/32/64 take maximum's refusal
    return _extremum(Fmax, "fmax", input, other, out)


def fmin(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are NaN).

    Example:
        >>> ember.fmin(ember.tensor([float('nan'), 1.0]), ember.tensor([2.0, 0.0]))
        tensor([2., 0.])
    """
    _refuse_shell("fmin", input, other)
    return _extremum(Fmin, "fmin", input, other, out)


_F64 = np.dtype(np.float64)


def _all_f64(a, b, w) -> bool:
    """Float64 ends and a float64 (or Python float) weight: lerp's exact float64 path."""
    return (type(a) is np.ndarray and a.dtype == _F64 and type(b) is np.ndarray
            and b.dtype == _F64 and (type(w) is float or getattr(w, "dtype", None) == _F64))


class Lerp(Op):
    reads_input_meta = True  # backward reads the inputs' shapes only (Op._free)
    opmath = True  # float16/bfloat16: float32 arithmetic, one rounding (_core.opmath_forward)

    @staticmethod
    def forward(ctx, a, b, w):
        # the ends matter only to the weight's gradient: saved only then, as PyTorch (an end
        # may be changed in place afterwards); PyTorch keeps the weight in any case
        ta, tb, tw = ctx.inputs
        keep_ends = isinstance(tw, Tensor) and tw._requires_grad
        ctx.save_for_backward(ta if keep_ends else None, tb if keep_ends else None, tw)
        with np.errstate(invalid="ignore", over="ignore"):
            # PyTorch's two-sided formula: exact at both ends (w = 0 gives a, w = 1 gives b);
            # on float32 each side is one fused multiply-add, as in its vectorised kernel
            d = b - a
            if _all_f32(a, b) and (type(w) is np.ndarray and w.dtype == a.dtype):
                return np.where(np.abs(w) < 0.5, fused_multiply_add(w, d, a),
                                fused_multiply_add(-d, 1 - w, b))
            if _all_f64(a, b, w):  # float64 too: one rounding per side (emulated, ~6x dearer)
                if np.ndim(w) == 0:  # a scalar weight: only its side is needed
                    return fused_multiply_add64(w, d, a) if abs(w) < 0.5 else \
                        fused_multiply_add64(-d, 1 - w, b)
                return np.where(np.abs(w) < 0.5, fused_multiply_add64(w, d, a),
                                fused_multiply_add64(-d, 1 - w, b))
            return np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w))

    @staticmethod
    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        sa, sb, sw = (tuple(getattr(t, "shape", ())) for t in ctx.inputs)
        need = ctx.needs_input_grad
        if grad._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
            from .complex import conj

            a, b, w = (conj(t) if t is not None else None for t in (a, b, w))
        ga = unbroadcast(grad * (1 - w), sa) if need[0] else None
        gb = unbroadcast(grad * w, sb) if need[1] else None
        gw = unbroadcast(grad * (b - a), sw) if need[2] else None
        return ga, gb, gw


def lerp(input: Tensor, end: Tensor, weight, *, out=None) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` is a number or a tensor.

    Example:
        >>> ember.lerp(ember.tensor([0.0, 10.0]), ember.tensor([10.0, 20.0]), 0.5)
        tensor([ 5., 15.])
    """
    require_tensor(input, "lerp")
    require_tensor(end, "lerp", "end", 2)
    check_devices(input, end)
    check_meta_mix(input, end)
    if end._dtype is not input._dtype:
        raise RuntimeError(f"expected dtype {_short(input._dtype)} for `end` but got dtype "
                           f"{_short(end._dtype)}")
    tensor_weight = isinstance(weight, Tensor)
    if input._dtype.category < D._FLOAT or input._dtype in D.FLOAT8:
        raise not_implemented_for("lerp_kernel_tensor" if tensor_weight else
                                  "lerp_kernel_scalar", input._dtype)
    if tensor_weight:
        check_devices(input, weight)
        check_meta_mix(input, weight)
        if weight._dtype is not input._dtype:
            if weight.ndim:
                raise RuntimeError(f"expected dtype {_short(input._dtype)} for `weight` but "
                                   f"got dtype {_short(weight._dtype)}")
            weight = weight.to(input._dtype)
    elif isinstance(weight, (bool, int, float)):
        if type(weight) is int:
            D.check_int_scalar(weight)
        # straight to the input's dtype: a float64 lerp keeps its weight's double precision
        from ..._creation import tensor

        # (a float16/bfloat16 lerp keeps a float weight in float32, as torch's opmath kernel)
        wdt = D.float32 if input._dtype.itemsize == 2 and isinstance(weight, float) else \
            input._dtype
        weight = tensor(weight, dtype=wdt, device=input.device)
    else:
        weight = as_tensor(weight, input).to(input._dtype)
    result = Lerp.apply(input, end, weight)
    if tensor_weight:  # torch's lerp.Tensor overload records LerpBackward1
        set_node_name(result, "LerpBackward1")
    else:  # lerp.Scalar: its node lists no weight
        list_inputs(result, (0, 1))
    return finish_out(result, out, "lerp", input, end, weight)


def _short(dt: D.dtype) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}.get(dt.name, dt.name)


class Hypot(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return np.hypot(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b, r = ctx.saved_tensors
        ga = unbroadcast(grad * (a / r), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * (b / r), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def hypot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow (floating tensors only).

    Example:
        >>> ember.hypot(ember.tensor([3.0]), ember.tensor([4.0]))
        tensor([5.])
    """
    require_tensor(input, "hypot")
    require_tensor(other, "hypot", "other", 2)
    dt = D.result_type(input, other)
    if dt.category != D._FLOAT:
        raise not_implemented_for("hypot_cpu", dt)
    return finish_out(binary(Hypot, input, other), out, "hypot", input, other)


class Copysign(Op):
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        return np.copysign(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b, r = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(grad * where(a == 0, 0.0, r / a), a.shape)
        if ctx.needs_input_grad[1]:
            gb = zeros_grad(grad, b.shape)  # torch: zeros_like(other), +0.0
        return ga, gb


def copysign(input: Tensor, other, *, out=None) -> Tensor:
    """The magnitude of ``input`` with the sign of ``other`` (integers give floats).

    Example:
        >>> ember.copysign(ember.tensor([1.0, -2.0]), -1.0)
        tensor([-1., -2.])
    """
    require_tensor(input, "copysign")
    _refuse_shell("copysign", input, other)
    result = binary(Copysign, input, other, compute=_float_dtype(input, other))
    if not isinstance(other, Tensor):  # torch's copysign.Scalar overload (lists no number)
        list_inputs(set_node_name(result, "CopysignBackward1"), (0,))
    return finish_out(result, out, "copysign", input, other)


class Xlogy(Op):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y))
        return out.astype(np.result_type(x, y), copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            from .compare import where

            # PyTorch: xlogy(grad, y), except +0.0 where x == 0 and y <= 0 (where the value
            # is pinned); xlogy, not grad * log(y): a zero grad gives +0.0, never -0.0 or NaN
            gx = unbroadcast(where((x == 0) & (y <= 0), 0.0, xlogy(grad, y)), _shape_of(x))
        if ctx.needs_input_grad[1]:
            gy = unbroadcast(grad * x / y, _shape_of(y))
        return gx, gy


def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, with 0 where ``input`` is 0 (unless ``other`` is NaN).

    Example:
        >>> ember.xlogy(ember.tensor([0.0, 2.0]), ember.tensor([0.0, 1.0]))
        tensor([0., 0.])
    """
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    # torch's overloads: XlogyBackward0 (two tensors), 1 (a number self), 2 (a number other)
    name = "XlogyBackward1" if not isinstance(input, Tensor) else \
        None if isinstance(other, Tensor) else "XlogyBackward2"
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    if D.result_type(input, other).is_complex:
        raise not_implemented_for("xlogy_cpu", D.result_type(input, other))
    _refuse_shell("xlogy", input, other)
    a, b, _ = promote(input, other, _float_dtype(input, other))
    check_devices(input, other)
    if not isinstance(b, Tensor):
        b = as_tensor(float(b), a).to(a.dtype)
    result = binary(Xlogy, a, b)
    if name is not None:  # a Scalar overload: its node lists no number
        list_inputs(set_node_name(result, name), (1,) if name == "XlogyBackward1" else (0,))
    return finish_out(result, out, "xlogy", input, other)


def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return apply_inplace(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    return method


TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS.update({name + "_": _inplace(globals()[name], name + "_") for name in __all__
                       if name not in ("maximum", "minimum", "fmax", "fmin")})


def complex_logaddexp(a, b):
    """``log(exp(a) + exp(b))`` for complex arrays, from the one with the larger real part
    (``m + log1p(exp(other - m))``), so the imaginary part is not wrapped into (-pi, pi]:
    PyTorch's values. Two -inf real parts give that operand unchanged."""
    first = a.real >= b.real
    m, other = np.where(first, a, b), np.where(first, b, a)
    with np.errstate(invalid="ignore", over="ignore"):
        res = m + np.log1p(np.exp(other - m))
    return np.where(np.isneginf(m.real), m, res)


class LogAddExp(Op):
    _name = "LogaddexpBackward0"

    @staticmethod
    def forward(ctx, a, b, base2):
        ctx.save_for_backward(*ctx.inputs)
        ctx.base2 = base2
        if np.iscomplexobj(a):  # NumPy's logaddexp has no complex loop (torch's logaddexp has)
            return complex_logaddexp(a, b)
        return np.logaddexp2(a, b) if base2 else np.logaddexp(a, b)

    @staticmethod
    def backward(ctx, grad):
        from .._core import unbroadcast

        a, b = ctx.saved_tensors
        d = (a - b) * float(np.log(2)) if ctx.base2 else a - b
        wa = d.sigmoid()
        if wa._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
            wa = wa.conj()
        ga = unbroadcast(grad * wa, a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad * (1 - wa), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def _pair(a, b):
    if not isinstance(a, Tensor):
        b = as_tensor_arg(b)
        a = as_tensor_arg(a, b)
    else:
        b = as_tensor_arg(b, a)
    dt = D.result_type(a, b)
    return a.to(dt), b.to(dt)


def _float_pair(a, b):
    a, b = _pair(a, b)
    if not (a._dtype.is_floating_point or a._dtype.is_complex):
        a, b = a.to(D.get_default_dtype()), b.to(D.get_default_dtype())
    return a, b


def logaddexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    _refuse_shell("logaddexp", input, other)
    refuse_pair("logaddexp", input, other)
    a, b = _float_pair(input, other)
    res = LogAddExp.apply(a, b, base2=False)
    return res if out is None else out.copy_(res)


def logaddexp2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    _refuse_shell("logaddexp2", input, other)
    refuse_pair("logaddexp2", input, other)
    a, b = _float_pair(input, other)
    res = set_node_name(LogAddExp.apply(a, b, base2=True), "Logaddexp2Backward0")
    return res if out is None else out.copy_(res)


def _constant(arr, dtype: D.dtype, device) -> Tensor:
    return Tensor._make(np.asarray(arr, dtype.np_dtype), dtype).to(device)


class Heaviside(Op):
    """The step, recorded as PyTorch records it: an output of an input that requires grad
    requires grad too, behind a ``NotImplemented`` node whose backward raises (so a surrogate
    gradient written around it fails loudly instead of silently training nothing)."""

    @staticmethod
    def forward(ctx, a, values):
        return np.heaviside(a, values).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input: Tensor, values: Tensor, *, out=None) -> Tensor:
    """The Heaviside step: 0 below zero, 1 above, ``values`` at zero. Not differentiable:
    backward through it raises, as in PyTorch.

    Example:
        >>> ember.heaviside(ember.tensor([-1.0, 0.0, 2.0]), ember.tensor(0.5))
        tensor([0.0000, 0.5000, 1.0000])
    """
    if input._dtype.is_complex or values._dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    _refuse_shell("heaviside", input)
    res = set_node_name(Heaviside.apply(input, values), "torch::autograd::NotImplemented")
    return res if out is None else out.copy_(res)


def _integer_pair(name, a, b):
    a, b = _pair(a, b)
    if a._dtype.is_floating_point or a._dtype.is_complex or a._dtype is D.bool:
        from ..inplace import _type_title

        raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                  f"'{_type_title(a._dtype)}' ({name} takes integers)")
    _refuse_shell(name, a)
    return a, b


def gcd(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Greatest common divisor, elementwise (integers)."""
    a, b = _integer_pair("gcd", input, other)
    res = _constant(np.gcd(a._data, b._data), a._dtype, a.device)
    return res if out is None else out.copy_(res)


def lcm(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Least common multiple, elementwise (integers)."""
    a, b = _integer_pair("lcm", input, other)
    res = _constant(np.lcm(a._data, b._data), a._dtype, a.device)
    return res if out is None else out.copy_(res)


class Ldexp(Op):
    """``x * 2**e`` as one node, PyTorch's LdexpBackward0: the power and the product in the
    result's dtype (``x``'s, as given), the gradients PyTorch's formulas, ``grad * 2**e`` and
    ``grad * x * ln 2 * 2**e``."""

    _name = "LdexpBackward0"

    @staticmethod
    def forward(ctx, x, e):
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(over="ignore", invalid="ignore"):
            return x * np.power(x.dtype.type(2), e.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, e = ctx.saved_tensors
        need_x, need_e = ctx.needs_input_grad[:2]
        p = 2.0 ** e.to(x._dtype)
        gx = unbroadcast(grad * p, x.shape) if need_x else None
        ge = None
        if need_e:
            ge = unbroadcast(grad * x * p * float(np.log(2.0)), e.shape).to(e._dtype)
        return gx, ge


def ldexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``input * 2**other`` in the operands' floating dtype (the default float dtype for two
    integer tensors), one node (LdexpBackward0) as in PyTorch.

    Example:
        >>> ember.ldexp(ember.tensor([1., 3.]), ember.tensor([2, 1]))
        tensor([4., 6.])
    """
    e = as_tensor_arg(other, input)
    dt = D.result_type(input, e)
    if dt.category < D._FLOAT:
        dt = D.get_default_dtype()
    x = input if input._dtype is dt else input.to(dt)
    res = Ldexp.apply(x, e)
    return res if out is None else out.copy_(res)


class _FrexpResult(tuple):
    """``(mantissa, exponent)`` with those field names, like ``torch.return_types.frexp``."""

    __slots__ = ()
    _fields = ("mantissa", "exponent")
    mantissa = property(lambda self: self[0])
    exponent = property(lambda self: self[1])

    def __new__(cls, mantissa, exponent):
        return tuple.__new__(cls, (mantissa, exponent))

    def __repr__(self):
        return f"torch.return_types.frexp(\nmantissa={self[0]!r},\nexponent={self[1]!r})"

    def __reduce__(self):
        return (type(self), tuple(self))


_FrexpResult.__name__ = _FrexpResult.__qualname__ = "frexp"
_FrexpResult.__module__ = "ember.return_types"


class Frexp(Op):
    holds_saved = True  # keeps the exponent on ctx; PyTorch saves it (Op._free)
    non_differentiable_outputs = (1,)

    @staticmethod
    def forward(ctx, x):
        wide = x.dtype.itemsize < 4  # NumPy has no frexp loop for bfloat16
        m, e = np.frexp(x.astype(np.float32) if wide else x)
        ctx.exponent = e
        return (m.astype(x.dtype) if wide else m), e.astype(np.int32)

    @staticmethod
    def backward(ctx, grad, _):
        # mantissa = x / 2**exponent, the exponent held fixed
        return grad / array_tensor(2.0 ** ctx.exponent).to(grad.dtype)


def frexp(input: Tensor, *, out=None) -> tuple:
    """Split floats into a mantissa in (-1, 1) and an int32 exponent: ``input = mantissa *
    2**exponent``. Returns ``(mantissa, exponent)``, also as ``.mantissa``/``.exponent``.

    Example:
        >>> ember.frexp(ember.tensor([8., 0.3])).exponent
        tensor([ 4, -1], dtype=torch.int32)
    """
    if not input._dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    _refuse_shell("frexp", input)
    m, e = Frexp.apply(input)
    if out is not None:
        out[0].copy_(m)
        out[1].copy_(e)
        m, e = out
    return _FrexpResult(m, e)


def nextafter(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The next representable float after ``input`` towards ``other``. Not differentiable."""
    _refuse_shell("nextafter", input, other)
    a, b = _float_pair(input, other)
    if a._dtype.is_complex:  # no next representable value of a complex number
        raise not_implemented_for("nextafter_cpu", a._dtype)
    res = _constant(np.nextafter(a._data, b._data), a._dtype, a.device)
    return res if out is None else out.copy_(res)


# logaddexp has no in-place form in PyTorch; the others have Tensor methods, and all but
# heaviside_/nextafter_ are exported at top level too
gcd_, lcm_, ldexp_, heaviside_, nextafter_ = (
    _inplace(globals()[name], name + "_") for name in ("gcd", "lcm", "ldexp", "heaviside",
                                                         "nextafter"))
xlogy_ = TENSOR_METHODS["xlogy_"]
_EXAMPLES = {  # name -> (arguments, result) for each in-place form's docstring
    "gcd": ("ember.tensor([4, 6]), ember.tensor([6, 4])", "tensor([2, 2])"),
    "lcm": ("ember.tensor([4, 6]), ember.tensor([6, 4])", "tensor([12, 12])"),
    "ldexp": ("ember.tensor([1., 2.]), ember.tensor([1, 2])", "tensor([2., 8.])"),
    "heaviside": ("ember.tensor([-1., 0.]), ember.tensor(0.5)", "tensor([0.0000, 0.5000])"),
    "nextafter": ("ember.tensor([1.]), ember.tensor([2.])", "tensor([1.])"),
    "xlogy": ("ember.tensor([0., 2.]), ember.tensor([5., 1.])", "tensor([0., 0.])"),
}
for _fn in (gcd_, lcm_, ldexp_, heaviside_, nextafter_, xlogy_):
    _base = _fn.__name__[:-1]
    _args, _res = _EXAMPLES[_base]
    _fn.__doc__ = (f"In-place ``{_base}``: overwrites ``self`` and returns it.\n\n    Example:\n"
                   f"        >>> ember.{_base}_({_args})\n        {_res}\n    ")
__all__ += ["logaddexp", "logaddexp2", "heaviside", "gcd", "lcm", "ldexp", "nextafter", "gcd_",
            "lcm_", "ldexp_", "xlogy_", "frexp"]
TENSOR_METHODS.update({
    "logaddexp": logaddexp, "logaddexp2": logaddexp2, "heaviside": heaviside, "gcd": gcd,
    "lcm": lcm, "ldexp": ldexp, "nextafter": nextafter, "gcd_": gcd_, "lcm_": lcm_,
    "ldexp_": ldexp_, "heaviside_": heaviside_, "nextafter_": nextafter_, "frexp": frexp,
})
