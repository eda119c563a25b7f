"""Activation ops (private; ``ember.nn.functional`` exposes them).

Each op computes its forward on raw arrays and its derivative in one of two ways: on raw
arrays when no graph is being built (the usual first-order backward), or with ember ops when
``create_graph=True``. The differentiable forms are written from the op itself (its saved
output), from ``Sigmoid``/``Tanh``/``Softplus`` below, and from constant masks, so every order
of derivative works without depending on other op families.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ... import _dtype as D
from ..._backend import array_device, asarray_like
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, const_like, zeros_grad
from ..pointwise.abs_round_clamp import _mask
from .linear_softmax import _t

_state = grad_mode._state


def _np_sigmoid(x):
    # exp of a non-positive number never overflows: 1/(1+e) for x >= 0, e/(1+e) below, with
    # e = exp(-|x|). The numerator is max(e, x >= 0): exactly 1 or e since 0 < e <= 1, NaN
    # kept; branch-free, about twice as fast as np.where on mixed signs (ufunc where= is
    # missing in CuPy)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    out = np.empty_like(e)  # an array even for 0-d input (ufuncs return scalars there)
    np.maximum(e, x >= 0, out=out)
    e += 1
    np.divide(out, e, out=out)
    return out


class PiecewiseLinear(Op):
    """Ops whose derivative is a constant mask of the input: leaky_relu, hardtanh, relu6,
    threshold, hardshrink, softshrink, hardsigmoid. ``kind`` picks the formula."""

    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x, kind, a, b):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.kind, ctx.a, ctx.b = kind, a, b
        t = x.dtype.type
        if kind == "leaky_relu":
            return np.where(x > 0, x, x * t(a))
        # PyTorch's conditions, written so that a NaN input takes the same branch as there
        if kind == "hardtanh":
            return np.clip(x, t(a), t(b))
        if kind == "threshold":
            return np.where(x <= a, t(b), x)
        if kind == "hardshrink":
            return np.where((x >= -a) & (x <= a), t(0), x)
        if kind == "softshrink":
            return np.where((x >= -a) & (x <= a), x * t(0), x - np.sign(x) * t(a))
        if kind == "hardsigmoid":
            return np.clip(x / t(6) + t(0.5), t(0), t(1))
        raise AssertionError(kind)

    @staticmethod
    def deriv(x, kind, a, b):
        if kind == "leaky_relu":
            return np.where(x > 0, 1, a).astype(x.dtype)
        # At NaN PyTorch's vectorised kernels (all but the last few elements of a tensor)
        # give 0 for hardtanh and the shrinks, the gradient itself for threshold
        if kind == "hardtanh":
            return _mask((x > a) & (x < b), x)
        if kind == "threshold":
            return _mask(~(x <= a), x)
        if kind in ("hardshrink", "softshrink"):
            return _mask((x > a) | (x < -a), x)
        if kind == "hardsigmoid":
            return _mask((x > -3) & (x < 3), x) / x.dtype.type(6)
        raise AssertionError(kind)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        d = PiecewiseLinear.deriv(x._data, ctx.kind, ctx.a, ctx.b)
        if not _state.enabled:
            g = grad._data * d
            if ctx.kind != "leaky_relu":
                # torch selects a zero where the derivative is 0: +0.0, never the -0.0 of a
                # negative gradient times 0 (leaky_relu multiplies, so its slope 0 gives -0.0)
                g = np.where(d != 0, g, g.dtype.type(0))
            return _t(g, grad._dtype)
        if ctx.kind == "hardsigmoid":  # torch has no node for its second derivative
            return grad * const_like(x, d)
        return PIECEWISE_BACKWARD[ctx.kind].apply(grad, x, kind=ctx.kind, a=ctx.a, b=ctx.b)


# kind: (PyTorch's node for the op, for its derivative taken with create_graph=True)
_PIECEWISE_NAMES = {
    "leaky_relu": ("LeakyReluBackward0", "LeakyReluBackwardBackward0"),
    "hardtanh": ("HardtanhBackward0", "HardtanhBackwardBackward0"),
    "threshold": ("ThresholdBackward0", "ThresholdBackwardBackward0"),
    "hardshrink": ("HardshrinkBackward0", "HardshrinkBackwardBackward0"),
    "softshrink": ("SoftshrinkBackward0", "SoftshrinkBackwardBackward0"),
    "hardsigmoid": ("HardsigmoidBackward0", None),
}


class PiecewiseLinearBackward(Op):
    """``grad * mask(x)``, the derivative of a :class:`PiecewiseLinear` op, as one node when a
    graph of the gradient is built: PyTorch's ``leaky_relu_backward``, ``hardtanh_backward``
    ... (named ``LeakyReluBackwardBackward0`` ...). Linear in ``grad``; its derivative in
    ``x`` is zero (PyTorch: ``zeros_like(grad)``)."""

    @staticmethod
    def forward(ctx, g, x, kind, a, b):
        ctx.kind, ctx.a, ctx.b = kind, a, b
        ctx.save_for_backward(ctx.inputs[1])
        d = PiecewiseLinear.deriv(x, kind, a, b)
        out = g * d
        if kind != "leaky_relu":  # a zero where the derivative is 0, +0.0 (see above)
            out = np.where(d != 0, out, out.dtype.type(0))
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        gg = PIECEWISE_BACKWARD[ctx.kind].apply(grad, x, kind=ctx.kind, a=ctx.a, b=ctx.b) \
            if ctx.needs_input_grad[0] else None
        gx = _t(np.zeros_like(x._data), x._dtype) if ctx.needs_input_grad[1] else None
        return gg, gx


def _named_kind(base, name):
    """A subclass of ``base`` whose nodes carry PyTorch's ``name`` (fixed per kind, so no
    per-call renaming); graph capture still sees it as ``base`` (``_fx_name``)."""
    fx_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base.__name__).lower()
    return type(base.__name__, (base,), {"_name": name, "_fx_name": fx_name,
                                         "__module__": __name__, "__doc__": base.__doc__})


# the op for each kind (PiecewiseLinear named LeakyReluBackward0 ...), and its derivative's
PIECEWISE = {k: _named_kind(PiecewiseLinear, n) for k, (n, _) in _PIECEWISE_NAMES.items()}
PIECEWISE_BACKWARD = {k: _named_kind(PiecewiseLinearBackward, n)
                      for k, (_, n) in _PIECEWISE_NAMES.items() if n is not None}


class Sigmoid(Op):
    save_output = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.itemsize == 2:
            # float16/bfloat16: torch evaluates in float32 and rounds once
            return _np_sigmoid(x.astype(np.float32)).astype(x.dtype)
        return _np_sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if y._data.dtype.itemsize == 2:
            # torch's reduced-precision rounding (see unary._sigmoid_grad)
            from ..pointwise.unary import _sigmoid_grad

            return _sigmoid_grad(grad, y)
        if not _state.enabled:
            yd = y._data
            return _t(grad._data * yd * (1 - yd), grad._dtype)
        from ..pointwise.unary import _sigmoid_grad  # one node, SigmoidBackwardBackward0

        return _sigmoid_grad(grad, y)


class Tanh(Op):
    save_output = True
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)
    opmath_low_output = True

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if not _state.enabled:
            yd = y._data
            return _t(grad._data * (1 - yd * yd), grad._dtype)
        from ..pointwise.unary import _tanh_grad  # one node, TanhBackwardBackward0

        return _tanh_grad(grad, y)


def _glu_sigmoid(b):
    """PyTorch's sigmoid in its glu kernels, ``1 / (1 + exp(-b))`` (exp may overflow to inf)."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-b))


class Glu(Op):
    """GLU, ``a * sigmoid(b)`` for the halves ``a``, ``b`` of ``x`` along ``dim``, as one op
    (PyTorch's GluBackward0). Its gradient is one tensor for both halves, PyTorch's
    ``glu_backward``: ``s * g`` and ``(1 - s) * s * a * g`` with ``s = sigmoid(b)``; built
    from two slices, the halves' gradients would be summed into zeros, and a -0.0 (a zero
    ``a``, a saturated ``s``) would come out +0.0."""

    opmath = True  # float16/bfloat16: float32, one rounding (_core); backward: see there

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.dim = dim
        a, b = np.split(x, 2, axis=dim)
        return a * _glu_sigmoid(b)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dim = ctx.dim
        if not _state.enabled:
            a, b = np.split(x._data, 2, axis=dim)
            g = grad._data
            if g.dtype.itemsize == 2:  # PyTorch: s rounded to the 2-byte dtype, s * g in it,
                f32 = np.float32          # the other half in float32, rounded once
                s = _glu_sigmoid(b.astype(f32)).astype(g.dtype)
                second = ((1 - s.astype(f32)) * s * a.astype(f32) * g.astype(f32))
                return _t(np.concatenate([s * g, second.astype(g.dtype)], axis=dim),
                          grad._dtype)
            s = _glu_sigmoid(b)
            return _t(np.concatenate([s * g, (1 - s) * s * a * g], axis=dim), grad._dtype)
        from ..shape.joining import cat

        n = x.shape[dim] // 2
        a, b = x.narrow(dim, 0, n), x.narrow(dim, n, n)
        s = Sigmoid.apply(b)
        return cat([s * grad, (1 - s) * s * a * grad], dim)


class Softplus(Op):
    """``log(1 + exp(beta x)) / beta``; linear where ``beta x > threshold`` (None: never)."""

    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.beta, ctx.threshold = beta, threshold
        t = x.dtype.type
        z = x * t(beta)
        out = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / t(beta)
        if threshold is not None:
            out = np.where(z > threshold, x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.beta, ctx.threshold
        if threshold is not None:  # F.softplus: torch's kernel and double-backward rule
            return _softplus_backward(grad, x, beta, threshold)
        if not _state.enabled:  # (ember's own losses: no threshold, the stable sigmoid)
            xd = x._data
            return _t(grad._data * _np_sigmoid(xd * xd.dtype.type(beta)), grad._dtype)
        return grad * Sigmoid.apply(x * beta)


def _softplus_grad(g, x, beta, threshold):
    """torch's softplus_backward kernel on arrays: ``g * z / (z + 1)`` with ``z = exp(beta x)``,
    and ``g`` itself where ``beta x > threshold`` (so at ``beta x == threshold`` the sigmoid's
    value, as in forward the log1p branch)."""
    bx = x * x.dtype.type(beta)
    with np.errstate(over="ignore", invalid="ignore"):  # (inf / inf only where g is taken)
        z = np.exp(bx)
        d = g * z / (z + 1)
    return np.where(bx > threshold, g, d).astype(g.dtype, copy=False)


def _softplus_backward(grad: Tensor, x: Tensor, beta, threshold) -> Tensor:
    if _state.enabled and (grad._requires_grad or x._requires_grad):
        return SoftplusBackward.apply(grad, x, beta=beta, threshold=threshold)
    return _t(_softplus_grad(grad._data, x._data, beta, threshold), grad._dtype)


class SoftplusBackward(Op):
    """softplus's gradient ``grad * d softplus / dx`` as a differentiable op (create_graph),
    with torch's double-backward rule: its derivative in ``x`` is
    ``sigmoid_backward(gg * grad, sigmoid(beta x)) * (beta x < threshold) * beta``, a strict
    ``<``, so at ``beta x == threshold`` the second derivative is 0 while the first is the
    sigmoid's.

    Example:
        >>> x = ember.tensor([5.0], requires_grad=True)
        >>> g, = ember.autograd.grad(F.softplus(x, 2, 10), x, create_graph=True)
        >>> ember.autograd.grad(g, x)   # (tensor([0.]),): beta x == threshold
    """

    _name = "SoftplusBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, x, beta, threshold):
        ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
        ctx.beta, ctx.threshold = beta, threshold
        return _softplus_grad(grad, x, beta, threshold)

    @staticmethod
    def backward(ctx, gg):
        grad, x = ctx.saved_tensors
        beta, threshold = ctx.beta, ctx.threshold
        need = ctx.needs_input_grad
        g_grad = _softplus_backward(gg, x, beta, threshold) if need[0] else None
        g_x = None
        if need[1]:
            s = Sigmoid.apply(x * beta)
            below = _t(_mask(x._data * x._data.dtype.type(beta) < threshold, x._data))
            g_x = (gg * grad) * (1 - s) * s * below * beta
        return g_grad, g_x


class LogSigmoid(Op):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``.

    PyTorch's kernel keeps ``z = exp(-|x|)`` from the forward as a buffer in the input's
    dtype (for float16/bfloat16, rounded to it) and computes the gradient from that buffer in
    float32, ``1 - z / (1 + z)`` for ``x < 0`` and ``z / (1 + z)`` otherwise, rounding once;
    ``buffer_dtype`` (the 2-byte NumPy dtype, else None) reproduces that rounding.
    """

    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x, buffer_dtype=None):
        ctx.save_for_backward(ctx.inputs[0])
        z = np.exp(-np.abs(x))
        out = np.minimum(x, 0) - np.log1p(z)  # as torch: +0.0, not -0.0, for large x
        if buffer_dtype is not None:
            z = z.astype(buffer_dtype).astype(x.dtype)
        ctx.buffer = z
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not _state.enabled:
            z = ctx.buffer
            ratio = z / (1 + z)
            d = np.where(x._data < 0, 1 - ratio, ratio)
            return _t(grad._data * d.astype(grad._data.dtype, copy=False), grad._dtype)
        return grad * Sigmoid.apply(-x)  # differentiable again (create_graph)


class Elu(Op):
    """``scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1))``: ELU, SELU, CELU."""

    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    save_output = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.save_for_backward(ctx.inputs[0])
        ctx.args = (alpha, scale, input_scale)
        t = x.dtype.type
        neg = np.expm1(np.minimum(x, 0) * t(input_scale)) * t(alpha)
        # a zero takes the linear branch, keeping its sign for any alpha, as torch's kernel
        return np.where(x >= 0, x, neg) * t(scale)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        alpha, scale, input_scale = ctx.args
        # x > 0 takes the linear branch; anything else the exponential one, so NaN gives NaN
        # (as PyTorch's vectorised kernel does) and -inf gives 0. A select, not a mask
        # blend, so x = inf never makes inf * 0.
        pos = x._data > 0
        if not _state.enabled:
            yd = y._data
            d = np.where(pos, scale, input_scale * (yd + scale * alpha))
            return _t(grad._data * d.astype(yd.dtype, copy=False), grad._dtype)
        if grad._dtype in (D.float32, D.float64) and grad._dtype is y._dtype:
            return EluBackward.apply(grad, x, y.detach(), alpha=alpha, scale=scale,
                                     input_scale=input_scale)
        from ..pointwise.compare import where

        lin = const_like(y, np.full(y._data.shape, scale, y._data.dtype))
        return grad * where(_t(pos), lin, (y + scale * alpha) * input_scale)


class EluBackward(Op):
    """PyTorch's ``elu_backward(grad, alpha, scale, input_scale, x)`` as one node where a
    graph of the gradient is built (``create_graph=True``; named EluBackwardBackward0 as
    PyTorch's). Linear in ``grad``; its derivative in ``x`` is PyTorch's
    ``elu_double_backward``, ``elu_backward(G * grad * input_scale, x) * (x < 0)``: zero for
    x >= 0 (x = 0 included, where the exponential branch's slope is not 0), with the sign of
    that product. ``y``, Elu's output (detached), gives the values as Elu's backward does."""

    @staticmethod
    def forward(ctx, g, x, y, alpha, scale, input_scale):
        ctx.args = (alpha, scale, input_scale)
        ctx.save_for_backward(*ctx.inputs)
        d = np.where(x > 0, scale, input_scale * (y + scale * alpha))
        return g * d.astype(y.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        g, x, y = ctx.saved_tensors
        alpha, scale, input_scale = ctx.args
        kw = {"alpha": alpha, "scale": scale, "input_scale": input_scale}
        need_g, need_x = ctx.needs_input_grad[:2]
        gg = EluBackward.apply(grad, x, y, **kw) if need_g else None
        gx = None
        if need_x:
            neg = _t((x._data < 0).astype(x._data.dtype))
            gx = EluBackward.apply(grad * g * input_scale, x, y, **kw) * neg
        return gg, gx, None


_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)


def _np_erf(x: np.ndarray) -> np.ndarray:
    """Vectorised erf: ember's own ``erf`` when its unary family is present, else math.erf."""
    try:
        from ..pointwise import unary

        return unary.erf(Tensor._make(x))._data
    except (ImportError, AttributeError):
        return np.vectorize(math.erf, otypes=[x.dtype])(x)


class NormalCdf(Op):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, with derivative exp(-x^2/2) / sqrt(2 pi)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        return (1 + _np_erf(x / x.dtype.type(_SQRT_2))) * x.dtype.type(0.5)

    @staticmethod
    def backward(ctx, grad):
        from .linear_softmax import Exp

        (x,) = ctx.saved_tensors
        if not _state.enabled:
            xd = x._data
            return _t(grad._data * np.exp(xd * xd * -0.5) * xd.dtype.type(_INV_SQRT_2PI))
        return grad * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI


# Phi(-|x|) = erfc(z) / 2 with z = |x| / sqrt 2, written as t * Q(t) * phi(x): phi the normal
# density exp(-x^2/2) / sqrt(2 pi), t = 1 / (1 + z/2), and Q a degree-8 polynomial fitted (weighted
# least squares towards minimax, in float64) to erfc(z) exp(z^2) sqrt(pi/2) / t over t in
# [0.15, 1], i.e. |x| <= 14.5: beyond that phi is 0 in float32. Its relative error is 4.4e-8; in
# float32 arithmetic Phi's is ~1e-7 near 0 and 2e-6 at x = -6 (float32's rounding of x^2 in the
# exponent), where PyTorch's own float32 kernel (the 1.5e-7 absolute-error erf of Abramowitz &
# Stegun 7.1.26) has lost all its digits (past x = -4). One formula over the whole range, so
# no masks (~30 NumPy passes), and its one exp is phi, which GELU's backward reuses.
_ERFCX_Q = (0.35354083776474, 0.3539412021636963, 0.3044213354587555, 0.2550758719444275,
            -0.03584200516343117, 0.35209301114082336, -0.6137492060661316, 0.3581749200820923,
            -0.07434188574552536)  # Q's coefficients, constant term first
_LOG_INV_SQRT_2PI = math.log(_INV_SQRT_2PI)
_F32 = np.dtype(np.float32)


# Elements per block of _normal_cdf_pdf_f32: its ~28 passes then run on four 256 KiB arrays
# that stay in a core's L2 cache (2 MiB here) instead of streaming 1 MiB arrays each time;
# 25% faster for GELU on 8x64x512 (measured with one thread).
_CDF_BLOCK = 1 << 16


def _normal_cdf_pdf_f32(out: np.ndarray, pdf: np.ndarray, x: np.ndarray) -> None:
    """``out = Phi(x)`` and ``pdf = phi(x)`` for float32 ``x`` (arrays of one shape), in float32
    arithmetic; cache-sized blocks at a time for large C-contiguous arrays."""
    n = x.size
    if n < 2 * _CDF_BLOCK or type(x) is not np.ndarray or not (
            x.flags.c_contiguous and out.flags.c_contiguous and pdf.flags.c_contiguous):
        _normal_cdf_pdf_block(out, pdf, x, np.empty_like(out))
        return
    fo, fp, fx = out.reshape(-1), pdf.reshape(-1), x.reshape(-1)
    scratch = np.empty(_CDF_BLOCK, np.float32)
    for lo in range(0, n, _CDF_BLOCK):
        hi = min(lo + _CDF_BLOCK, n)
        _normal_cdf_pdf_block(fo[lo:hi], fp[lo:hi], fx[lo:hi], scratch[:hi - lo])


def _normal_cdf_pdf_block(out, pdf, x, t) -> None:
    """:func:`_normal_cdf_pdf_f32` on one block; ``t`` is a scratch array of its shape."""
    f = np.float32
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        np.multiply(x, f(-0.5), out=pdf)
        pdf *= x
        pdf += f(_LOG_INV_SQRT_2PI)
        np.exp(pdf, out=pdf)
        # t = 1 / (1 + |x| / (2 sqrt 2)), as 2 sqrt 2 / (2 sqrt 2 + |x|): one pass fewer
        np.abs(x, out=t)  # out= keeps 0-d results arrays
        t += f(2 * _SQRT_2)
        np.divide(f(2 * _SQRT_2), t, out=t)
        np.multiply(t, f(_ERFCX_Q[-1]), out=out)
        for c in _ERFCX_Q[-2:0:-1]:
            out += f(c)
            out *= t
        out += f(_ERFCX_Q[0])
        out *= t
        out *= pdf  # p = Phi(-|x|)
        # Phi(x) = |step(x) - p|: exactly p below 0 (no cancellation in the tail), 1 - p above
        # (p <= 1/2); arithmetic, because a masked copy or np.where costs more than the rest
        np.greater(x, f(0), out=t)  # (t is free again) the step as 0./1.
        np.subtract(t, out, out=out)
        np.abs(out, out=out)


def _normal_cdf_pdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phi(x) and phi(x) as arrays of x's dtype: the float32 formula above (16-bit floats
    through float32), the float64-accurate erf for float64."""
    if x.dtype.itemsize > 4 or x.dtype.kind == "c":
        pdf = np.exp(x * x * x.dtype.type(-0.5)) * x.dtype.type(_INV_SQRT_2PI)
        return (1 + _np_erf(x / x.dtype.type(_SQRT_2))) * x.dtype.type(0.5), pdf
    x32 = x if x.dtype == _F32 else x.astype(_F32)
    out, pdf = np.empty_like(x32), np.empty_like(x32)
    # one thread, in cache-sized blocks: split over ember's threads, the ~28 short ufunc
    # calls per chunk queue on the GIL, and 2 threads took 1.4 ms where one takes 1.05
    # (8x64x512, 2 cores)
    _normal_cdf_pdf_f32(out, pdf, x32)
    return out, pdf


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) as an array of x's dtype (see :func:`_normal_cdf_pdf`)."""
    return _normal_cdf_pdf(x)[0]


def _gelu_grad(out: np.ndarray, x: np.ndarray, cdf: np.ndarray, pdf: np.ndarray,
               g: np.ndarray) -> None:
    """``out = g * (Phi(x) + x * phi(x))``, GELU's derivative times the incoming gradient."""
    np.multiply(x, pdf, out=out)
    out += cdf
    out *= g


def _gelu_f32(x: np.ndarray, want_slope: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """GELU of a C-contiguous float32 ``x`` and (``want_slope``; else None) its derivative
    ``Phi(x) + x * phi(x)``, each cache-sized block finished while it is in cache: Phi and phi
    live only per block (no x-sized arrays of them), and backward is then one pass
    (``grad * slope``) instead of three over four x-sized arrays. The same float32 operations
    in the same order as ``_normal_cdf_pdf`` followed by ``cdf * x`` and :func:`_gelu_grad`,
    so the same bits.

    Example:
        >>> y, slope = _gelu_f32(np.array([0.0, 1.0], np.float32))  # y: [0, 0.8413448]
    """
    y = np.empty_like(x)
    slope = np.empty_like(x) if want_slope else None
    n = x.size
    fx, fy = x.reshape(-1), y.reshape(-1)
    fs = slope.reshape(-1) if want_slope else None
    block = max(1, min(n, _CDF_BLOCK))
    cdf, pdf, scratch = (np.empty(block, np.float32) for _ in range(3))
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        xs, c, p = fx[lo:hi], cdf[:hi - lo], pdf[:hi - lo]
        _normal_cdf_pdf_block(c, p, xs, scratch[:hi - lo])
        np.multiply(c, xs, out=fy[lo:hi])
        if want_slope:
            s = fs[lo:hi]
            np.multiply(xs, p, out=s)  # as _gelu_grad, before its multiplication by grad
            s += c
    return y, slope


class Gelu(Op):
    """GELU, ``x * Phi(x)``, as one op: one pass over x for Phi, which backward reuses for
    ``Phi(x) + x * phi(x)``."""

    _name = "GeluBackward0"
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        if type(x) is np.ndarray and x.dtype == _F32 and x.flags.c_contiguous:
            # the first-order backward's factor, made in cache (none when no graph is kept)
            y, ctx.slope = _gelu_f32(x, ctx._record)
            return y
        cdf, ctx.pdf = _normal_cdf_pdf(x)
        ctx.cdf, ctx.slope = cdf, None
        if cdf.dtype != x.dtype:  # 16-bit floats: computed in float32, rounded once
            return (cdf * x.astype(cdf.dtype)).astype(x.dtype)
        return cdf * x

    @staticmethod
    def backward(ctx, grad):
        from .linear_softmax import Exp

        (x,) = ctx.saved_tensors
        if not _state.enabled and ctx.slope is not None:
            g, slope = grad._data, ctx.slope
            d = np.empty_like(slope)  # row-major (as below), whatever grad's layout
            np.multiply(g if g.dtype == slope.dtype else g.astype(slope.dtype), slope, out=d)
            return _t(d if d.dtype == g.dtype else d.astype(g.dtype), grad._dtype)
        if not _state.enabled:
            xd, cdf, pdf, g = x._data, ctx.cdf, ctx.pdf, grad._data
            if cdf.dtype != xd.dtype:
                xd, g = xd.astype(cdf.dtype), g.astype(cdf.dtype)
            d = np.empty_like(cdf)  # an array even when 0-d
            _gelu_grad(d, xd, cdf, pdf, g)  # three cheap passes: threads would cost more
            return _t(d if d.dtype == grad._data.dtype else d.astype(grad._data.dtype),
                      grad._dtype)
        if grad._dtype in (D.float32, D.float64) and grad._dtype is x._dtype:
            return GeluBackward.apply(grad, x)
        return grad * (NormalCdf.apply(x) + x * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI)


class GeluBackward(Op):
    """PyTorch's ``gelu_backward(grad, x)``, ``grad * (Phi(x) + x * phi(x))``, as one node
    where a graph of the gradient is built (``create_graph=True``; GeluBackwardBackward0 as
    PyTorch's), with the first-order backward's values. Its derivative in ``x`` is PyTorch's
    ``gelu_double_backward``, ``G * grad * (2 * phi + x * (-x * phi))``: a product, so a
    zero (an off-diagonal Hessian entry) has the sign PyTorch gives it."""

    @staticmethod
    def forward(ctx, g, x):
        ctx.save_for_backward(*ctx.inputs)
        cdf, pdf = _normal_cdf_pdf(x)
        out = np.empty_like(cdf)  # an array even when 0-d
        _gelu_grad(out, x, cdf, pdf, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        from .linear_softmax import Exp

        g, x = ctx.saved_tensors
        need_g, need_x = ctx.needs_input_grad[:2]
        gg = GeluBackward.apply(grad, x) if need_g else None
        gx = None
        if need_x:
            pdf = Exp.apply(x * x * -0.5) * _INV_SQRT_2PI
            gx = grad * g * (pdf * 2 + x * (-x * pdf))
        return gg, gx


def gelu_tanh(x: Tensor) -> Tensor:
    if x._dtype is D.float16 or x._dtype is D.bfloat16:
        return GeluTanh.apply(x)  # one float32 evaluation, one rounding (as torch's kernel)
    inner = (x + x * x * x * 0.044715) * _GELU_K
    return x * 0.5 * (1 + Tanh.apply(inner))


class GeluTanh(Op):
    """The tanh approximation of GELU as one op, for float16/bfloat16 input: PyTorch's kernel
    evaluates ``x/2 (1 + tanh(k (x + 0.044715 x^3)))`` in float32 and rounds once, forward
    and backward; composed of 2-byte ops, every step would round."""

    _name = "GeluBackward0"
    opmath = opmath_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        t = x.dtype.type
        with np.errstate(over="ignore", invalid="ignore"):
            inner = (x + x * x * x * t(0.044715)) * t(_GELU_K)
            return x * t(0.5) * (1 + np.tanh(inner))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        th = Tanh.apply((x + x * x * x * 0.044715) * _GELU_K)
        slope = (1 + x * x * (3 * 0.044715)) * _GELU_K
        return grad * (0.5 * (1 + th) + x * 0.5 * (1 - th * th) * slope)


class Silu(Op):
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        return x * _np_sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not _state.enabled:
            xd = x._data
            s = _np_sigmoid(xd)
            return _t(grad._data * s * (1 + xd * (1 - s)), grad._dtype)
        s = Sigmoid.apply(x)
        return grad * (s * (1 + x * (1 - s)))


class Mish(Op):
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        return x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not _state.enabled:
            xd = x._data
            tp = np.tanh(np.maximum(xd, 0) + np.log1p(np.exp(-np.abs(xd))))
            return _t(grad._data * (tp + xd * _np_sigmoid(xd) * (1 - tp * tp)), grad._dtype)
        tp = Tanh.apply(Softplus.apply(x, beta=1.0, threshold=None))
        return grad * (tp + x * Sigmoid.apply(x) * (1 - tp * tp))


class Hardswish(Op):
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        t = x.dtype.type
        return x * np.clip(x + t(3), t(0), t(6)) / t(6)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xd = x._data
        # PyTorch: x <= -3 -> 0, x >= 3 -> 1, else x/3 + 1/2 (NaN stays NaN, as its
        # vectorised kernel gives); selects, not mask blends, so inf never makes inf * 0
        lo, hi = xd <= -3, xd >= 3
        if not _state.enabled:
            t = xd.dtype.type
            d = np.where(lo, t(0), np.where(hi, t(1), xd / t(3) + t(0.5)))
            g = grad._data * d
            return _t(np.where(lo, g.dtype.type(0), g), grad._dtype)  # +0.0 there, as torch
        return HardswishBackward.apply(grad, x)


class HardswishBackward(Op):
    """PyTorch's ``hardswish_backward(grad, x)`` as one node where a graph of the gradient is
    built (``create_graph=True``; HardswishBackwardBackward0 as PyTorch's): the first-order
    values (+0.0 where x <= -3). Its derivative in ``x`` is PyTorch's
    ``where(-3 < x < 3, G * grad / 3, 0)``."""

    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)

    @staticmethod
    def forward(ctx, g, x):
        ctx.save_for_backward(*ctx.inputs)
        t = x.dtype.type
        lo, hi = x <= -3, x >= 3
        d = np.where(lo, t(0), np.where(hi, t(1), x / t(3) + t(0.5)))
        out = g * d
        return np.where(lo, out.dtype.type(0), out)

    @staticmethod
    def backward(ctx, grad):
        from ..pointwise.compare import where

        g, x = ctx.saved_tensors
        need_g, need_x = ctx.needs_input_grad[:2]
        gg = HardswishBackward.apply(grad, x) if need_g else None
        gx = None
        if need_x:
            xd = x._data
            inside = _t((-3 < xd) & (xd < 3))
            gx = where(inside, grad * g / 3.0, 0.0)
        return gg, gx


class LSTMPointwise(Op):
    """The elementwise half of an LSTM step in one node: ``(gates, c) -> (h, c')`` with
    ``gates = [i, f, g, o]`` along the last dim (PyTorch's order). One node instead of ten
    per time step; the first-order backward is a few raw-array passes, and with
    ``create_graph=True`` it is written with ember ops so higher orders still work."""

    @staticmethod
    def forward(ctx, gates, c):
        ctx.save_for_backward(*ctx.inputs)
        hs = c.shape[-1]
        # all four activations in one tanh pass: sigmoid(x) = tanh(x/2)/2 + 1/2 (no overflow)
        scale, offset = _lstm_consts(hs, gates)
        act = np.tanh(gates * scale)
        act *= scale
        act += offset
        i, f, g, o = (act[..., k * hs:(k + 1) * hs] for k in range(4))
        c2 = f * c
        c2 += i * g
        tc = np.tanh(c2)
        ctx.acts = (i, f, g, o, tc)  # internal arrays, never handed out: safe to keep
        return o * tc, c2

    @staticmethod
    def backward(ctx, gh, gc):
        gates, c = ctx.saved_tensors
        i, f, g, o, tc = ctx.acts
        if not _state.enabled:
            ghd = None if gh is None else gh._data
            dc = np.zeros_like(tc) if gc is None else gc._data.copy()
            if ghd is not None:
                dc += ghd * o * (1 - tc * tc)
            parts = (dc * g * i * (1 - i), dc * c._data * f * (1 - f), dc * i * (1 - g * g),
                     (ghd * tc * o * (1 - o)) if ghd is not None else np.zeros_like(o))
            dgates = np.concatenate(parts, axis=-1)
            dt = gates._dtype
            return _t(dgates, dt), (_t(dc * f, dt) if ctx.needs_input_grad[1] else None)
        # create_graph: the same formulas on Tensors, from the saved inputs
        hs = c.shape[-1]
        ti, tf = Sigmoid.apply(gates[..., :hs]), Sigmoid.apply(gates[..., hs:2 * hs])
        tg, to = Tanh.apply(gates[..., 2 * hs:3 * hs]), Sigmoid.apply(gates[..., 3 * hs:])
        ttc = Tanh.apply(tf * c + ti * tg)
        dc = gc if gc is not None else ttc * 0
        if gh is not None:
            dc = dc + gh * to * (1 - ttc * ttc)
            do = gh * ttc * to * (1 - to)
        else:
            do = to * 0
        from ..shape.joining import cat

        dgates = cat([dc * tg * ti * (1 - ti), dc * c * tf * (1 - tf), dc * ti * (1 - tg * tg),
                      do], -1)
        return dgates, (dc * tf if ctx.needs_input_grad[1] else None)


_LSTM_CONSTS: dict = {}


def _lstm_consts(hs: int, like):
    """The LSTM's (scale, offset) rows for ``like``'s dtype, on ``like``'s device."""
    key = (hs, like.dtype, array_device(like))
    if key not in _LSTM_CONSTS:
        half = np.full(hs, 0.5, like.dtype)
        if len(_LSTM_CONSTS) > 16:
            _LSTM_CONSTS.clear()
        _LSTM_CONSTS[key] = tuple(asarray_like(c, like) for c in (
            np.concatenate([half, half, np.ones(hs, like.dtype), half]),
            np.concatenate([half, half, np.zeros(hs, like.dtype), half])))
    return _LSTM_CONSTS[key]


def lstm_pointwise(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """``(h, c')`` of an LSTM step from its pre-activation ``gates`` ``[i, f, g, o]``."""
    return LSTMPointwise.apply(gates, c)


def hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0 (the method form of ``F.hardshrink``)."""
    from .._dispatch import refuse

    refuse("hardshrink", self._dtype)
    return PIECEWISE["hardshrink"].apply(self, kind="hardshrink", a=lambd, b=0.0)


TENSOR_METHODS = {
    "hardshrink": hardshrink,
}


class PreluKernel(Op):
    """PReLU with PyTorch's rule, NaN and zero included: x > 0 keeps x, anything else takes
    weight * x (``weight`` already shaped to broadcast over the channels). One node, so the
    input's gradient is ``g`` or ``weight * g`` itself: a zero slope gives -0.0 for a negative
    ``g`` as torch's kernel does (summing two ``where`` branches would give +0.0)."""

    _name = "PreluKernelBackward0"

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(*ctx.inputs)
        return np.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx, g):
        from .._core import unbroadcast
        from ..pointwise.compare import where

        x, w = ctx.saved_tensors
        if _state.enabled:  # create_graph: one node, with PyTorch's second derivatives
            gx, gw = PreluKernelBackward.apply(g, x, w)
            return (gx if ctx.needs_input_grad[0] else None,
                    unbroadcast(gw, w.shape) if ctx.needs_input_grad[1] else None)
        pos = x > 0
        gx = where(pos, g, w * g) if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            gw = unbroadcast(where(pos, 0, x * g), w.shape)
        return gx, gw


class PreluKernelBackward(Op):
    """PyTorch's ``_prelu_kernel_backward(g, x, w)`` as one node where a graph of the gradient
    is built: ``(where(x > 0, g, w g), where(x > 0, 0, x g))``, the weight's gradient not yet
    summed over the broadcast dimensions. Its derivatives are PyTorch's, which take the
    positive branch where ``x >= 0`` (so at x = 0, unlike the forward's ``x > 0``): the
    derivative of the weight's gradient in x is 0 there, not ``g``."""

    @staticmethod
    def forward(ctx, g, x, w):
        ctx.save_for_backward(*ctx.inputs)
        ctx.materialize_grads = False  # an unused output's gradient stays None, as in torch
        pos = x > 0
        return np.where(pos, g, w * g), np.where(pos, 0, x * g)

    @staticmethod
    def backward(ctx, gg_x, gg_w):
        from .._core import unbroadcast
        from ..pointwise.compare import where

        g, x, w = ctx.saved_tensors
        need_g, need_x, need_w = ctx.needs_input_grad[:3]
        nonneg = x >= 0
        d_g = d_x = d_w = None
        if need_g:
            if gg_x is None:
                d_g = where(nonneg, 0.0, gg_w * x)
            else:
                neg = gg_x * w if gg_w is None else gg_x * w + gg_w * x
                d_g = where(nonneg, gg_x, neg)
        if need_x:
            d_x = zeros_grad(x) if gg_w is None else where(nonneg, 0.0, g * gg_w)
        if need_w:
            d_w = (zeros_grad(g) if gg_x is None else where(nonneg, 0.0, g * gg_x))
            d_w = unbroadcast(d_w, w.shape)
        return d_g, d_x, d_w
