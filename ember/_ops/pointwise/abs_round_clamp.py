"""Unary ops with arguments or their own dtype rules: abs, sign, rounding, clamp, relu (the one
``Relu`` op, shared with ``nn.functional.relu``), logit, nan_to_num, positive, signbit, angle.

Unlike ``exp``, these keep integer dtypes (``abs(int_tensor)`` is int64), except where PyTorch
says otherwise (``clamp(int_tensor, 0.5)`` promotes to float).
"""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as D
from ... import _threads
from ..._backend import as_array, is_host
from ..._creation import checked_scalar
from ..._layout import sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, _t, set_node_name, tensor_inputs, unbroadcast, zeros_grad
from .._dispatch import (
    _cast,
    check_devices,
    check_meta_mix,
    finish_out,
    not_implemented_for,
    refuse,
    refuse_shell,
)
from ..inplace import apply_inplace

_state = grad_mode._state

__all__ = ["abs", "absolute", "square", "sign", "sgn", "floor", "ceil", "round", "trunc", "fix",
           "frac", "clamp", "clip", "clamp_min", "clamp_max", "relu", "relu_", "logit",
           "nan_to_num", "positive", "signbit", "angle", "abs_", "square_", "floor_", "ceil_",
           "round_", "trunc_", "fix_", "frac_", "clamp_", "clip_", "clamp_min_", "clamp_max_",
           "logit_", "nan_to_num_"]


def _zero_grad(ctx, grad):
    return zeros_grad(grad)  # +0.0, as torch's zeros_like(grad), for any grad's sign or NaN


def _simple(name, forward, backward=_zero_grad, saves=False):
    def fwd(ctx, x, **kwargs):
        if saves:
            ctx.save_for_backward(ctx.inputs[0])
        return forward(x, **kwargs)

    return type(name, (Op,), {"forward": staticmethod(fwd), "backward": staticmethod(backward)})


def _abs_grad(ctx, g):
    (x,) = ctx.saved_tensors
    if not _state.enabled and (x._dtype is D.float32 or x._dtype is D.float64) \
            and g._dtype is x._dtype:  # first order: one product on the arrays
        return _t(g._data * _sign(x._data), g._dtype)
    return g * x.sgn()


Abs = _simple("Abs", np.abs, _abs_grad, saves=True)
def _sign(x):
    out = np.sign(x)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        if nan.any():  # PyTorch's sign of NaN is 0 (NumPy's is NaN)
            out = np.where(nan, out.dtype.type(0), out)
    return out


Sign = _simple("Sign", _sign)
Floor = _simple("Floor", np.floor)
Ceil = _simple("Ceil", np.ceil)
Trunc = _simple("Trunc", np.trunc)
Frac = _simple("Frac", lambda x: x - np.trunc(x), lambda ctx, g: g)
def _angle_grad(ctx, grad):
    """PyTorch's angle_backward: 0 for real inputs; for complex ``z``, ``grad * i z / |z|^2``
    (0 at ``z == 0``), the conjugate Wirtinger gradient of ``atan2(z.imag, z.real)``."""
    (z,) = ctx.saved_tensors
    if not z._dtype.is_complex:
        return zeros_grad(grad)
    from .compare import where

    return where(z == 0, 0.0, grad * (z * 1j) / (z.real * z.real + z.imag * z.imag))


Angle = _simple("Angle", lambda x: np.where(np.isnan(x), x, np.where(x < 0, math.pi, 0)).astype(
    x.dtype) if x.dtype.kind == "f" else np.angle(x).astype(x.real.dtype), _angle_grad,
    saves=True)


def _round(x, decimals=0):
    if decimals == 0:
        return np.rint(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.round(x, decimals)


Round = _simple("Round", _round)


def _int_copy(input):
    return Tensor._make(input._data.copy(), input._dtype)


def abs(input: Tensor, *, out=None) -> Tensor:
    """Elementwise absolute value (keeps integer dtypes).

    Example:
        >>> ember.abs(ember.tensor([-1, 2]))
        tensor([1, 2])
    """
    if input._dtype is D.bool:
        raise not_implemented_for("abs_cpu", D.bool)
    if input._dtype in D.SHELL:
        refuse_shell("abs", input._dtype)
    return finish_out(Abs.apply(input), out, "abs", input)


absolute = abs


def square(input: Tensor, *, out=None) -> Tensor:
    """``input ** 2`` (bool gives int64, as in PyTorch).

    Example:
        >>> ember.square(ember.tensor([-2, 3]))
        tensor([4, 9])
    """
    from .power import pow

    if input._dtype in D.SHELL:
        refuse_shell("square", input._dtype)
    try:
        return pow(input, 2, out=out)
    except NotImplementedError:
        if input.layout is not sparse_coo or out is not None:
            raise
    from ..._sparse_ops import coo_unary

    return coo_unary(input, "square")  # the stored values (coalesced first), as PyTorch


def sign(input: Tensor, *, out=None) -> Tensor:
    """-1, 0 or 1 by the sign of each element (bool stays bool).

    Example:
        >>> ember.sign(ember.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    if input._dtype.is_complex:
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    if input._dtype is D.bool:
        return finish_out(_int_copy(input), out, "sign", input)
    if input._dtype in D.SHELL:
        refuse_shell("sign", input._dtype)
    return finish_out(Sign.apply(input), out, "sign", input)


def sgn(input: Tensor, *, out=None) -> Tensor:
    """``sign`` extended to complex numbers: ``z / |z|`` (0 at 0).

    Example:
        >>> ember.sgn(ember.tensor([-2.0, 3.0]))
        tensor([-1.,  1.])
    """
    if not input._dtype.is_complex:
        return sign(input, out=out)
    mag = input.abs()
    from .compare import where

    return finish_out(where(mag == 0, 0.0, input / where(mag == 0, 1.0, mag)), out, "sgn", input)


def _rounding(name, cls, doc):
    def fn(input: Tensor, *, out=None) -> Tensor:
        if input._dtype in D.SHELL:
            refuse_shell(name, input._dtype)
        if input._dtype.is_complex:  # torch checks this before choosing a kernel
            raise NotImplementedError(f"{name} is not supported for complex inputs")
        if input._dtype.category < D._FLOAT:
            if input._dtype is D.bool:
                raise not_implemented_for(f"{name}_cpu", D.bool)
            return finish_out(_int_copy(input), out, name, input)
        return finish_out(cls.apply(input), out, name, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding("floor", Floor, """Round down to an integer value (integer tensors are copied).

    Example:
        >>> ember.floor(ember.tensor([-1.5, 1.5]))
        tensor([-2.,  1.])
    """)
ceil = _rounding("ceil", Ceil, """Round up to an integer value (integer tensors are copied).

    Example:
        >>> ember.ceil(ember.tensor([-1.5, 1.5]))
        tensor([-1.,  2.])
    """)
trunc = _rounding("trunc", Trunc, """Round toward zero (integer tensors are copied).

    Example:
        >>> ember.trunc(ember.tensor([-1.5, 1.5]))
        tensor([-1.,  1.])
    """)
fix = trunc


def round(input: Tensor, *, decimals: int | None = None, out=None) -> Tensor:
    """Round half to even, to ``decimals`` decimal places (0 when not given).

    Example:
        >>> ember.round(ember.tensor([0.5, 1.5, 2.567]), decimals=0)
        tensor([0., 2., 3.])
    """
    # PyTorch's round.decimals overload (any decimals given, even 0) records RoundBackward1
    node_name = "RoundBackward0" if decimals is None else "RoundBackward1"
    decimals = 0 if decimals is None else decimals
    if input._dtype in D.SHELL:
        refuse_shell("round_decimals" if decimals else "round", input._dtype)
    if input._dtype.is_complex:  # torch rounds no complex numbers
        raise not_implemented_for("round_cpu" if decimals else "round_vml_cpu", input._dtype)
    if input._dtype.category < D._FLOAT:
        if decimals != 0 or input._dtype is D.bool:
            raise not_implemented_for("round_cpu", input._dtype)
        return finish_out(_int_copy(input), out, "round", input)
    result = set_node_name(Round.apply(input, decimals=decimals), node_name)
    return finish_out(result, out, "round", input)


def frac(input: Tensor, *, out=None) -> Tensor:
    """The fractional part, ``input - trunc(input)``.

    Example:
        >>> ember.frac(ember.tensor([-1.25, 2.5]))
        tensor([-0.2500,  0.5000])
    """
    if input._dtype.category < D._FLOAT or input._dtype in D.SHELL or input._dtype.is_complex:
        raise not_implemented_for("frac_cpu", input._dtype)
    return finish_out(Frac.apply(input), out, "frac", input)


# -- clamp ---------------------------------------------------------------------------------

class Clamp(Op):
    """Clamp to numbers or tensors; at a bound the gradient still flows (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(*ctx.inputs)
        # NaN propagates, as in PyTorch. On a tie NumPy returns the second operand: with a
        # number bound x comes second and is kept, clamp(-0.0, min=0.0) is -0.0 as in torch;
        # with tensor bounds torch's vectorised kernel gives the bound (its scalar tail x)
        if lo is not None:
            x = np.maximum(lo, x) if isinstance(lo, np.generic) else np.maximum(x, lo)
        if hi is not None:
            x = np.minimum(hi, x) if isinstance(hi, np.generic) else np.minimum(x, hi)
        return x

    @staticmethod
    def backward(ctx, grad):
        from .compare import where

        x, lo, hi = ctx.saved_tensors
        need = ctx.needs_input_grad
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = (x <= hi) if inside is None else inside & (x <= hi)
        gx = unbroadcast(where(inside, grad, 0.0), x.shape) if need[0] else None
        glo = ghi = None
        if lo is not None and need[1]:
            # the lower bound wins where x < lo, unless the upper bound overrides it
            takes = (x < lo) if hi is None else (x < lo) & (lo <= hi)
            glo = unbroadcast(where(takes, grad, 0.0), lo.shape)
        if hi is not None and need[2]:
            takes = (x > hi) if lo is None else (x > hi) | (lo > hi)
            ghi = unbroadcast(where(takes, grad, 0.0), hi.shape)
        return gx, glo, ghi


class ClampScalar(Clamp):
    _name = "ClampBackward1"  # number bounds; torch's ClampBackward0 takes tensor bounds
    listed_inputs = staticmethod(tensor_inputs)  # only ``input`` (torch lists no Scalar)


class ClampMin(Clamp):
    _name = "ClampMinBackward0"
    listed_inputs = staticmethod(tensor_inputs)  # input, and min where it is a tensor


class ClampMax(Clamp):
    _name = "ClampMaxBackward0"
    listed_inputs = staticmethod(tensor_inputs)


def clamp(input: Tensor, min=None, max=None, *, out=None) -> Tensor:
    """Limit ``input`` to ``[min, max]``; either bound may be None, a number or a tensor.

    Example:
        >>> ember.clamp(ember.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
        tensor([0.0000, 0.5000, 1.0000])
    """
    return _clamp(input, min, max, out, None)


def _clamp(input: Tensor, min, max, out, _op) -> Tensor:
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    t_min, t_max = isinstance(min, Tensor), isinstance(max, Tensor)
    if t_min != t_max and min is not None and max is not None:
        # torch's parser reads a 0-d tensor that needs no grad as a Number, so a 0-d tensor
        # bound with a number bound is the number overload (ClampBackward1)
        min, max = (_as_number(b) for b in (min, max))
        t_min, t_max = isinstance(min, Tensor), isinstance(max, Tensor)
    if (t_min and max is not None and not t_max) or (t_max and min is not None and not t_min):
        raise TypeError("clamp(): min and max must both be tensors or both be numbers (or "
                        "None); got a tensor and a number. Wrap the number with ember.tensor().")
    if input._dtype.is_floating_point and (isinstance(min, complex) or isinstance(max, complex)):
        # a floating clamp reads a complex number as a double: only a zero imaginary part fits
        if any(isinstance(b, complex) and b.imag != 0 for b in (min, max)):
            raise RuntimeError("value cannot be converted to type double without overflow")
        min, max = (b.real if isinstance(b, complex) else b for b in (min, max))
    bounds = [b for b in (min, max) if b is not None]
    dt = D.result_type(input, *bounds)
    if dt.is_complex:
        raise NotImplementedError("clamp is not supported for complex types")
    for b in bounds:
        check_devices(input, b)
        check_meta_mix(input, b)
    if dt in D.SHELL:  # torch names the kernel by the bounds' kind
        if t_min or t_max:  # one tensor bound is torch's maximum or minimum
            refuse_shell("clamp_min_tensor" if max is None else "clamp_max_tensor" if min is None
                         else "clamp_tensor", dt)
        refuse_shell("clamp_min" if max is None else "clamp_max" if min is None else "clamp", dt)
    if t_min and t_max:  # two tensor bounds: torch's clamp kernel (one bound is max/minimum)
        refuse("clamp_tensor", dt)
    x = input if input._dtype is dt else input.to(dt)
    if not t_min and not t_max and dt.category in (D._INT, D._FLOAT):
        # a number bound the dtype cannot hold is torch's RuntimeError, not a wrapped bound
        # (int64 clamp(max=2**63) would clamp to -2**63) nor an infinite one (float32 1e39)
        if min is not None:
            min = checked_scalar(min, dt, half_too=True)
        if max is not None:
            max = checked_scalar(max, dt, half_too=True)
    lo = None if min is None else _cast(min, dt)
    hi = None if max is None else _cast(max, dt)
    op = _op or (Clamp if t_min or t_max else ClampScalar)
    return finish_out(op.apply(x, lo, hi), out, "clamp", input, min, max)


clip = clamp


def _as_number(bound):
    """A 0-d tensor bound that needs no grad as the Python number torch's parser reads."""
    if isinstance(bound, Tensor) and bound.ndim == 0 and not bound.requires_grad:
        return bound.item()
    return bound


def clamp_min(input: Tensor, min) -> Tensor:
    """``clamp(input, min=min)``.

    Example:
        >>> ember.clamp_min(ember.tensor([-1.0, 2.0]), 0.0)
        tensor([0., 2.])
    """
    out = _clamp(input, min, None, None, ClampMin)
    # torch's clamp_min.Tensor overload records ClampMinBackward1
    return set_node_name(out, "ClampMinBackward1") if isinstance(min, Tensor) else out


def clamp_max(input: Tensor, max) -> Tensor:
    """``clamp(input, max=max)``.

    Example:
        >>> ember.clamp_max(ember.tensor([-1.0, 2.0]), 0.0)
        tensor([-1.,  0.])
    """
    out = _clamp(input, None, max, None, ClampMax)
    return set_node_name(out, "ClampMaxBackward1") if isinstance(max, Tensor) else out


# -- relu, logit, nan_to_num ---------------------------------------------------------------

def relu(input: Tensor) -> Tensor:
    """``max(input, 0)`` elementwise.

    Example:
        >>> ember.relu(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if input.is_quantized:
        return input.relu()
    if input._dtype is D.bool:
        raise RuntimeError("Boolean inputs not supported for relu")
    if input._dtype.is_complex:
        raise NotImplementedError("clamp is not supported for complex types")
    if input._dtype in D.SHELL:  # torch's relu is clamp_min(input, 0)
        refuse_shell("clamp_min", input._dtype)
    return Relu.apply(input)


class Logit(Op):
    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.eps = eps
        if x.dtype.kind in "biu":
            x = x.astype(D.get_default_dtype().np_dtype)
        if eps is not None:
            x = np.clip(x, eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / (1 - x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        from .compare import where

        g = grad / (x * (1 - x))
        if ctx.eps is None:
            # outside [0, 1] the logit is NaN, and so is its gradient (as in PyTorch)
            return where((x < 0) | (x > 1), float("nan"), g)
        return where((x < ctx.eps) | (x > 1 - ctx.eps), 0.0, g)


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``.

    Example:
        >>> ember.logit(ember.tensor([0.5, 0.75]))
        tensor([0.0000, 1.0986])
    """
    if input._dtype.is_complex or input._dtype in D.FLOAT8:
        raise not_implemented_for("logit_cpu", input._dtype)
    return finish_out(Logit.apply(input, eps=eps), out, "logit", input)


class NanToNum(Op):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(ctx.inputs[0])
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.isfinite()


_COMPRESSED = frozenset((sparse_csr, sparse_csc, sparse_bsr, sparse_bsc))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out=None) -> Tensor:
    """Replace NaN with ``nan`` and +-inf with ``posinf``/``neginf`` (default: the dtype's
    largest and smallest finite values).

    Example:
        >>> ember.nan_to_num(ember.tensor([float('nan'), 1.0]))
        tensor([0., 1.])
    """
    if input._dtype in D.SHELL:
        refuse_shell("nan_to_num", input._dtype)
    if out is not None and {input.layout, out.layout} & _COMPRESSED:
        # torch's dispatcher picks the CSR backend, which has no nan_to_num.out kernel
        raise NotImplementedError(
            "Could not run 'aten::nan_to_num.out' with arguments from the 'SparseCsrCPU' "
            "backend. This could be because the operator doesn't exist for this backend.")
    if input.layout is sparse_coo or (out is not None and out.layout is sparse_coo):
        from ..._sparse_ops import coo_unary, coo_unary_out

        # the stored values (coalesced first); implicit zeros are finite already
        if out is not None:
            return coo_unary_out(input, "nan_to_num", out, nan=nan, posinf=posinf,
                                 neginf=neginf)
        return coo_unary(input, "nan_to_num", nan=nan, posinf=posinf, neginf=neginf)
    if input._dtype.category < D._FLOAT:
        return finish_out(_int_copy(input), out, "nan_to_num", input)
    return finish_out(NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf), out,
                      "nan_to_num", input)


def positive(input: Tensor) -> Tensor:
    """Returns ``input`` itself (``+input``); bool tensors raise, as in PyTorch.

    Example:
        >>> ember.positive(ember.tensor([-1, 2]))
        tensor([-1,  2])
    """
    if input._dtype is D.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def signbit(input: Tensor, *, out=None) -> Tensor:
    """True where the sign bit is set (``-0.0`` included).

    Example:
        >>> ember.signbit(ember.tensor([-0.0, 1.0]))
        tensor([ True, False])
    """
    if input._dtype.is_complex:
        raise NotImplementedError("signbit is not implemented for complex tensors.")
    if input._dtype in D.SHELL:
        refuse_shell("signbit", input._dtype)
    data = input._data
    res = np.signbit(data) if data.dtype.kind != "b" else np.zeros(data.shape, np.bool_)
    result = Tensor._make(as_array(res), D.bool)
    if input._vmap_levels:  # no Op.apply here to pass vmap's tag on (see func._vmap)
        result._vmap_levels = tuple(lv for lv in input._vmap_levels if lv.active)
    return finish_out(result, out, "signbit", input)


def angle(input: Tensor, *, out=None) -> Tensor:
    """The argument of each element: pi for negative reals, 0 otherwise (NaN stays NaN).

    Example:
        >>> ember.angle(ember.tensor([-2.0, 3.0]))
        tensor([3.1416, 0.0000])
    """
    if input._dtype in D.SHELL:
        refuse_shell("angle", input._dtype)
    x = input if input._dtype.category >= D._FLOAT else input.to(D.get_default_dtype())
    return finish_out(Angle.apply(x), out, "angle", input)


# -- in-place forms ------------------------------------------------------------------------

def _inplace(fn, name):
    def method(self, *args, **kwargs):
        if name == "abs_" and self._dtype.is_complex:  # |z| is real: nowhere to write it
            raise RuntimeError("In-place abs is not supported for complex tensors.")
        return apply_inplace(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place :func:`ember.{name[:-1]}`: overwrites ``self`` and returns it."
    return method


abs_, square_, floor_, ceil_, round_, trunc_, frac_, clamp_, clamp_min_, clamp_max_, logit_, \
    nan_to_num_, relu_, sign_, sgn_ = (
        _inplace(f, n + "_") for f, n in (
            (abs, "abs"), (square, "square"), (floor, "floor"), (ceil, "ceil"),
            (round, "round"), (trunc, "trunc"), (frac, "frac"), (clamp, "clamp"),
            (clamp_min, "clamp_min"), (clamp_max, "clamp_max"), (logit, "logit"),
            (nan_to_num, "nan_to_num"), (relu, "relu"), (sign, "sign"), (sgn, "sgn")))
fix_, clip_ = trunc_, clamp_

# torch's in-place clamp with number bounds names the output type by its C++ type in its
# refusal ("... desired output type long int"), unlike every other in-place op ("Long")
_CPP_TYPE_NAMES = {"int64": "long int", "int32": "int", "int16": "short int",
                   "int8": "signed char", "uint8": "unsigned char", "uint16": "short unsigned int",
                   "uint32": "unsigned int", "uint64": "long unsigned int", "bool": "bool"}


def _clamp_inplace_scalar_check(inplace_clamp, bound_names):
    def method(self, *args, **kwargs):
        bounds = list(args[:len(bound_names)]) + [kwargs.get(n) for n in
                                                  bound_names[len(args):]]
        if None not in bounds and sum(isinstance(b, Tensor) for b in bounds) == 1:
            bounds = [_as_number(b) for b in bounds]  # (a 0-d tensor reads as a number)
        numbers = [b for b in bounds if b is not None and not isinstance(b, Tensor)]
        if numbers and len(numbers) == len([b for b in bounds if b is not None]):
            result = D.result_type(self, *numbers)
            if result is not self._dtype and not D.can_cast(result, self._dtype) \
                    and self._dtype.name in _CPP_TYPE_NAMES:
                raise RuntimeError(
                    f"result type {D.SCALAR_TYPE[result.name]} can't be cast to the desired "
                    f"output type {_CPP_TYPE_NAMES[self._dtype.name]}")
        return inplace_clamp(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = inplace_clamp.__name__
    method.__doc__ = inplace_clamp.__doc__
    return method


clamp_ = clip_ = _clamp_inplace_scalar_check(clamp_, ("min", "max"))
clamp_min_ = _clamp_inplace_scalar_check(clamp_min_, ("min",))
clamp_max_ = _clamp_inplace_scalar_check(clamp_max_, ("max",))


def _coo_inplace(dense_method, name):
    """``dense_method`` for strided tensors; a COO ``self`` rewrites its stored values
    (``nan_to_num_``, ``relu_``) or is refused as PyTorch refuses it (``square_``: no
    sparse ``pow_``)."""
    def method(self, *args, **kwargs):
        if self.layout is not sparse_coo:
            return dense_method(self, *args, **kwargs)
        if name == "square_":
            raise NotImplementedError("Could not run 'aten::pow_.Scalar' with arguments from "
                                      "the 'SparseCPU' backend.")
        from ..._sparse_ops import coo_unary_

        return coo_unary_(self, name[:-1], *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = dense_method.__doc__
    return method


square_, nan_to_num_, relu_ = (_coo_inplace(m, m.__name__)
                                for m in (square_, nan_to_num_, relu_))

TENSOR_METHODS = {name: globals()[name] for name in __all__ if name not in ("relu_",)}
TENSOR_METHODS.update(relu_=relu_, sign_=sign_, sgn_=sgn_, absolute_=abs_)


def _mask(cond, like) -> np.ndarray:
    return cond.astype(like.dtype)


# NumPy's SIMD loop for np.maximum runs only when both operands are contiguous arrays: against
# a scalar zero it takes the strided loop, 3x slower (40 µs vs 14 µs on 32k float32 here). A
# block of zeros, reused, is read instead.
_ZERO_BLOCK = 1 << 16
_SMALL = 2048  # below this many elements the checks cost more than the slow loop
_zero_blocks: dict = {}


def _zeros_for(dtype) -> np.ndarray:
    block = _zero_blocks.get(dtype)
    if block is None:
        block = np.zeros(_ZERO_BLOCK, dtype)
        block.flags.writeable = False
        _zero_blocks[dtype] = block
    return block


def _relu_into(out, x):
    """``out = max(x, 0)`` for C-contiguous float host arrays of one shape, block by block
    against a contiguous zero block."""
    zeros, flat_x, flat_out = _zeros_for(x.dtype), x.reshape(-1), out.reshape(-1)
    n = flat_x.size
    for lo in range(0, n, _ZERO_BLOCK):
        hi = min(lo + _ZERO_BLOCK, n)
        np.maximum(zeros[:hi - lo], flat_x[lo:hi], out=flat_out[lo:hi])
    return out


def relu_array(x):
    """``max(x, 0)`` as a new array (NaN stays NaN); what Relu's forward and compiled graphs
    run. On a tie NumPy's maximum returns its second operand, so x comes second and
    ``relu(-0.0)`` is -0.0, as torch's."""
    if (x.size < _SMALL or type(x) is not np.ndarray or x.dtype.kind != "f"
            or not x.flags.c_contiguous):
        return np.maximum(x.dtype.type(0), x)
    out = np.empty(x.shape, x.dtype)
    if x.nbytes < _threads.PARALLEL_MIN_BYTES:
        return _relu_into(out, x)
    return _threads.elementwise(_relu_into, out, x)


def _select_into(out, g, y):
    """``out = g where y != 0, else +0.0``: the gradient's bits times 0 or 1 as integers of its
    width, one pass (np.where takes four times as long), and never the -0.0 that a float
    multiply gives a negative gradient."""
    as_int = np.dtype(f"i{g.itemsize}")
    np.multiply(g.view(as_int), y != 0, out=out.view(as_int))
    return out


def relu_grad_array(g, y):
    """ReLU's input gradient from its output ``y`` (one dtype with ``g``): ``g`` where
    ``y != 0``, else +0.0; what Relu's backward and compiled graphs run."""
    if not is_host(g) or g.dtype.kind != "f" or g.shape != y.shape:
        return np.where(y != 0, g, g.dtype.type(0))
    if g.nbytes < _threads.PARALLEL_MIN_BYTES or not g.flags.c_contiguous \
            or not y.flags.c_contiguous:
        # NumPy lays the result out from both operands, as a multiply's: a channels_last
        # input's gradient stays channels_last even when the incoming one is broadcast
        as_int = np.dtype(f"i{g.itemsize}")
        return np.multiply(g.view(as_int), y != 0).view(g.dtype)
    return _threads.elementwise(_select_into, np.empty(g.shape, g.dtype), g, y)


class Relu(Op):
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return relu_array(x)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if not _state.enabled:
            g, yd = grad._data, y._data
            # the mask is y != 0, not y > 0: as PyTorch (grad where not y <= 0), a NaN output
            # passes its gradient through; relu's output is never negative. Where the output
            # is 0 the gradient is +0.0 as in torch, never -0.0 (which prints as "-0.").
            if g.dtype == yd.dtype:  # no float64 detour
                return _t(relu_grad_array(g, yd), grad._dtype)
            return _t(np.where(yd != 0, g * (yd != 0), 0), grad._dtype)
        return ThresholdBackward.apply(grad, y, threshold=0)


class ThresholdBackward(Op):
    """PyTorch's ``threshold_backward(grad, y, threshold)``: ``grad`` where ``y > threshold``,
    else +0.0; relu's derivative as one node when a graph of the gradient is built
    (``create_graph=True``), named ThresholdBackwardBackward0 as PyTorch's. Linear in ``grad``;
    zero derivative in ``y``."""

    @staticmethod
    def forward(ctx, g, y, threshold):
        ctx.threshold = threshold
        ctx.save_for_backward(ctx.inputs[1])
        return np.where(y <= threshold, g.dtype.type(0), g)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        gg = ThresholdBackward.apply(grad, y, threshold=ctx.threshold) \
            if ctx.needs_input_grad[0] else None
        gy = _t(np.zeros_like(y._data), y._dtype) if ctx.needs_input_grad[1] else None
        return gg, gy
