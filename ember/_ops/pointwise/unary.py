"""Unary math ops: exp/log family, roots, trigonometric and hyperbolic functions, sigmoid, erf.

Each op is one row of ``_TABLE``: its NumPy function, its gradient written with ember ops
(from the saved input ``x`` or the saved output ``y``), and whether integer inputs turn into
the default float dtype first (as PyTorch does for ``exp(int_tensor)``). ``abs_round_clamp``
holds the ops with arguments or special rules (clamp, round, relu, logit, sign ...).
"""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op
from .._dispatch import finish_out, no_autograd, not_implemented_for, refuse_shell
from ..inplace import apply_inplace, check_inplace, refuse_internal_overlap, write_target
from . import _erf
from .complex import conj

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_SQRT_PI = math.sqrt(math.pi)
_state = grad_mode._state


def _sigmoid(x):
    if x.dtype.itemsize == 2 and x.dtype.kind != "c":
        # float16/bfloat16: torch evaluates in float32 and rounds once; three half-precision
        # steps (exp, add, divide) would round three times and miss by an ulp
        return _sigmoid(x.astype(np.float32)).astype(x.dtype)
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _sigmoid_grad(g, y):
    if g._dtype is D.bfloat16:
        # torch's bfloat16 backward rounds once from float32 (its float16 one rounds per step)
        yf = y.float()
        return (g.float() * (1 - yf) * yf).to(g._dtype)
    if g._dtype is D.float32 or g._dtype is D.float64:
        return SigmoidBackward.apply(g, y)
    return g * (1 - y) * y


class SigmoidBackward(Op):
    """PyTorch's ``sigmoid_backward(grad, output) = grad * (1 - y) * y`` as one node, so that a
    second derivative takes PyTorch's formula (``grad_y = G * grad * (1 - 2 y)``: the same
    values, signed zeros included) and its name, SigmoidBackwardBackward0."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(*ctx.inputs)
        return g * (1 - y) * y

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad[:2]
        return (SigmoidBackward.apply(grad, y) if need_g else None,
                grad * g * (-2 * y + 1) if need_y else None)


class TanhBackward(Op):
    """PyTorch's ``tanh_backward(grad, output) = grad * (1 - y * y)`` as one node, recorded
    where a graph of the gradient is built (``create_graph=True``): a second derivative then
    shows PyTorch's node, TanhBackwardBackward0, and takes its formula
    (``grad_y = G * (-2 * y * grad)``)."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(*ctx.inputs)
        return g * (1 - y * y)

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        need_g, need_y = ctx.needs_input_grad[:2]
        return (TanhBackward.apply(grad, y) if need_g else None,
                grad * (-2 * y * g) if need_y else None)


def _tanh_grad(g, y):
    if _state.enabled and (g._dtype is D.float32 or g._dtype is D.float64) \
            and g._dtype is y._dtype:
        return TanhBackward.apply(g, y)
    return g * (1 - y * y)


def _log10(x):
    # NumPy's float32 log10 is up to an ulp off where PyTorch's is correctly rounded (it gives
    # log10(100) = 2.0000002, printed as 2.0000 where torch prints 2.): compute in float64
    # and round once. Measured: 1.7 ms per 1M elements (NumPy float32: 0.3 ms, torch: 7 ms).
    if x.dtype == np.float32:
        return np.log10(x, dtype=np.float64).astype(np.float32)
    return np.log10(x)


def _rsqrt(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 / np.sqrt(x)


# name: (forward, backward(grad, saved), saves the input "x" or output "y", example in, out)
_TABLE = {
    "exp": (np.exp, lambda g, y: g * y, "y", "[0.0, 1.0]", "tensor([1.0000, 2.7183])"),
    "exp2": (np.exp2, lambda g, y: g * y * _LN2, "y", "[0.0, 3.0]", "tensor([1., 8.])"),
    "expm1": (np.expm1, lambda g, y: g * (y + 1), "y", "[0.0, 1.0]", "tensor([0.0000, 1.7183])"),
    "log": (np.log, lambda g, x: g / x, "x", "[1.0, 2.0]", "tensor([0.0000, 0.6931])"),
    "log2": (np.log2, lambda g, x: g / (x * _LN2), "x", "[1.0, 8.0]", "tensor([0., 3.])"),
    "log10": (_log10, lambda g, x: g / (x * _LN10), "x", "[1.0, 100.0]", "tensor([0., 2.])"),
    "log1p": (np.log1p, lambda g, x: g / (x + 1), "x", "[0.0, 1.0]", "tensor([0.0000, 0.6931])"),
    "sqrt": (np.sqrt, lambda g, y: g / (2 * y), "y", "[4.0, 9.0]", "tensor([2., 3.])"),
    "rsqrt": (_rsqrt, lambda g, y: -0.5 * g * y ** 3, "y", "[4.0, 0.25]",
              "tensor([0.5000, 2.0000])"),
    "reciprocal": (np.reciprocal, lambda g, y: -g * (y * y), "y", "[2.0, 4.0]",
                   "tensor([0.5000, 0.2500])"),
    "sin": (np.sin, lambda g, x: g * x.cos(), "x", "[0.0, 1.0]", "tensor([0.0000, 0.8415])"),
    "cos": (np.cos, lambda g, x: g * -x.sin(), "x", "[0.0, 1.0]", "tensor([1.0000, 0.5403])"),
    "tan": (np.tan, lambda g, y: g * (1 + y * y), "y", "[0.0, 1.0]", "tensor([0.0000, 1.5574])"),
    "asin": (np.arcsin, lambda g, x: g * (1 - x * x).rsqrt(), "x", "[0.0, 1.0]",
             "tensor([0.0000, 1.5708])"),
    "acos": (np.arccos, lambda g, x: g * -(1 - x * x).rsqrt(), "x", "[0.0, 1.0]",
             "tensor([1.5708, 0.0000])"),
    "atan": (np.arctan, lambda g, x: g / (x * x + 1), "x", "[0.0, 1.0]",
             "tensor([0.0000, 0.7854])"),
    "sinh": (np.sinh, lambda g, x: g * x.cosh(), "x", "[0.0, 1.0]", "tensor([0.0000, 1.1752])"),
    "cosh": (np.cosh, lambda g, x: g * x.sinh(), "x", "[0.0, 1.0]", "tensor([1.0000, 1.5431])"),
    "tanh": (np.tanh, _tanh_grad, "y", "[0.0, 1.0]",
             "tensor([0.0000, 0.7616])"),
    "asinh": (np.arcsinh, lambda g, x: g * (x * x + 1).rsqrt(), "x", "[0.0, 1.0]",
              "tensor([0.0000, 0.8814])"),
    "acosh": (np.arccosh, lambda g, x: g * (x * x - 1).rsqrt(), "x", "[1.0, 2.0]",
              "tensor([0.0000, 1.3170])"),
    "atanh": (np.arctanh, lambda g, x: g / (1 - x * x), "x", "[0.0, 0.5]",
              "tensor([0.0000, 0.5493])"),
    "sigmoid": (_sigmoid, _sigmoid_grad, "y", "[0.0, 2.0]",
                "tensor([0.5000, 0.8808])"),
    "erf": (_erf.erf, lambda g, x: g * (2 / _SQRT_PI) * (-x * x).exp(), "x", "[0.0, 1.0]",
            "tensor([0.0000, 0.8427])"),
    "erfc": (_erf.erfc, lambda g, x: g * (-2 / _SQRT_PI) * (-x * x).exp(), "x", "[0.0, 1.0]",
             "tensor([1.0000, 0.1573])"),
    "erfinv": (_erf.erfinv, lambda g, y: g * (_SQRT_PI / 2) * (y * y).exp(), "y", "[0.0, 0.5]",
               "tensor([0.0000, 0.4769])"),
    "deg2rad": (np.deg2rad, lambda g, x: g * (math.pi / 180), None, "[180.0, 90.0]",
                "tensor([3.1416, 1.5708])"),
    "rad2deg": (np.rad2deg, lambda g, x: g * (180 / math.pi), None, "[3.1416, 1.0]",
                "tensor([180.0004,  57.2958])"),
}

_ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
            "arccosh": "acosh", "arctanh": "atanh"}
# float16/bfloat16 evaluated as PyTorch's kernels do (see _core.opmath_forward): rsqrt is one
# float32 kernel there (1 / sqrt in 2-byte steps rounds twice); tanh's backward kernel works in
# float32 from the 2-byte output and rounds once
_OPMATH = {"rsqrt": ("forward",), "tanh": ("forward", "backward")}
# ops that never warn (no overflow, no domain errors), so they skip np.errstate's cost
_NO_ERRSTATE = {"atan", "tanh", "sigmoid", "asinh", "erf", "erfc", "deg2rad", "rad2deg"}


def _make_op(name, np_fn, grad_fn, saves):
    to_float = D.get_default_dtype
    quiet = name in _NO_ERRSTATE

    def forward(ctx, x):
        if x.dtype.kind in "biu":
            x = x.astype(to_float().np_dtype)
        if saves == "x":
            ctx.save_for_backward(ctx.inputs[0])
        if quiet:
            return np_fn(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np_fn(x)

    def backward(ctx, grad):
        if saves is None:
            return grad_fn(grad, None)
        (saved,) = ctx.saved_tensors
        if grad._dtype.is_complex:
            # PyTorch's convention: grad times the conjugate derivative. grad_fn is linear in
            # its gradient, so conj(grad_fn(conj(g), z)) = g * conj(f'(z)).
            return conj(grad_fn(conj(grad), saved))
        return grad_fn(grad, saved)

    cls_name = name[0].upper() + name[1:]
    low = _OPMATH.get(name, ())
    return type(cls_name, (Op,), {"forward": staticmethod(forward),
                                  "backward": staticmethod(backward),
                                  "save_output": saves == "y",
                                  "_saved_fields": {"self": 0} if saves == "x" else None,
                                  "opmath": "forward" in low,
                                  "opmath_backward": "backward" in low,
                                  "opmath_low_output": "backward" in low})


_QUANTIZED_KERNELS = {"sigmoid", "tanh"}  # the unary ops PyTorch runs on quantized tensors


def _make_public(name, cls, example_in, example_out):
    quantized_kernel = name in _QUANTIZED_KERNELS

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        if quantized_kernel and input.is_quantized:
            from ... import _quantized_ops  # sigmoid/tanh on PyTorch's fixed output grid

            return getattr(_quantized_ops, name)(input)
        if input._dtype.is_complex:
            if name.startswith("erf"):
                raise not_implemented_for(f"{name}_vml_cpu", input._dtype)
            if name in ("deg2rad", "rad2deg"):  # torch refuses before picking a kernel
                raise RuntimeError(f"{name} is not supported for complex tensors.")
        if input._dtype in D.SHELL:
            refuse_shell(name, input._dtype)
        result = cls.apply(input)
        return result if out is None else finish_out(result, out, name, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""Elementwise ``{name}``; integer and bool inputs give the default float dtype.

    Example:
        >>> ember.{name}(ember.tensor({example_in}))
        {example_out}
    """
    return fn


def _make_inplace(name, fn, np_fn):
    ufunc = np_fn if isinstance(np_fn, np.ufunc) else None

    def method(self: Tensor) -> Tensor:
        # (bfloat16 and float8 arrays take the out-of-place path: its rounding and refusals)
        if ufunc is not None and self._dtype.category == D._FLOAT and no_autograd(self) \
                and self._dtype is not D.bfloat16 and self._dtype not in D.SHELL:
            check_inplace(self)
            refuse_internal_overlap(self, name + "_")
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ufunc(self._data, out=write_target(self._data))
            self._vbox[0] += 1
            return self
        return apply_inplace(self, fn(self), name + "_")

    method.__name__ = name + "_"
    method.__doc__ = f"In-place :func:`ember.{name}`: overwrites ``self`` and returns it."
    return method


__all__ = list(_TABLE) + list(_ALIASES)
TENSOR_METHODS = {}
_OPS = {}
for _name, (_np_fn, _grad, _saves, _ex_in, _ex_out) in _TABLE.items():
    _OPS[_name] = _make_op(_name, _np_fn, _grad, _saves)
    globals()[_name] = _make_public(_name, _OPS[_name], _ex_in, _ex_out)
    globals()[_name + "_"] = _make_inplace(_name, globals()[_name], _np_fn)
    TENSOR_METHODS[_name] = globals()[_name]
    TENSOR_METHODS[_name + "_"] = globals()[_name + "_"]
for _alias, _target in _ALIASES.items():
    globals()[_alias] = globals()[_target]
    globals()[_alias + "_"] = globals()[_target + "_"]
    if not _alias.startswith("special"):
        TENSOR_METHODS[_alias] = globals()[_target]
        TENSOR_METHODS[_alias + "_"] = globals()[_target + "_"]

# in-place functions PyTorch also exports at top level (torch.exp_, torch.sigmoid_ ...)
_TOP_INPLACE = ["exp_", "exp2_", "expm1_", "log_", "log2_", "log10_", "log1p_", "sqrt_",
                "rsqrt_", "reciprocal_", "sin_", "cos_", "tan_", "asin_", "acos_", "atan_",
                "sinh_", "cosh_", "tanh_", "asinh_", "acosh_", "atanh_", "arcsin_", "arccos_",
                "arctan_", "arcsinh_", "arccosh_", "arctanh_", "sigmoid_", "erf_", "erfc_",
                "deg2rad_", "rad2deg_"]
__all__ += _TOP_INPLACE
