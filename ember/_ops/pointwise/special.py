"""Special-function ops: the gamma family (lgamma, digamma, polygamma, mvlgamma, igamma(c),
zeta), modified Bessel functions (i0, i0e, i1, i1e), the normal family (erfcx, ndtr, ndtri,
log_ndtr), entr, xlog1py and sinc, with their Tensor methods and in-place forms. Kernels live in
``_gamma_kernels``/``_bessel_kernels`` (float64 NumPy); each backward is torch's formula
written with ember ops, so gradients of any order work. The rest of ``torch.special`` lives in
``ember.special``.
"""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as D
from ..._backend import asarray_like
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, set_node_name, unbroadcast
from .._dispatch import (
    _shape_of,
    as_tensor,
    binary,
    finish_out,
    not_implemented_for,
    refuse_shell,
    require_tensor,
)
from ..inplace import apply_inplace
from . import _bessel_kernels as _B
from . import _gamma_kernels as _G

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _floating(x: np.ndarray) -> np.ndarray:
    """Integer and bool inputs compute in the default float dtype, as torch's unary float ops."""
    return x.astype(D.get_default_dtype().np_dtype) if x.dtype.kind in "biu" else x


def _run(kernel, x: np.ndarray, *args) -> np.ndarray:
    x = _floating(x)
    result = kernel(x.astype(np.float64, copy=False), *args)
    with np.errstate(over="ignore"):  # values past float32's range become inf, as in torch
        return result.astype(x.dtype, copy=False)


def _check(input, name: str, kernel_name: str | None = None) -> Tensor:
    require_tensor(input, name)
    if input._dtype.is_complex:
        raise not_implemented_for(kernel_name or f"{name}_cpu", input._dtype)
    return input


# -- unary ops ------------------------------------------------------------------------------

class Lgamma(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(*ctx.inputs)
        return _run(_G.lgamma, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * digamma(x)


class Digamma(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(*ctx.inputs)
        x = _floating(x)
        if type(x) is np.ndarray and x.dtype in (np.float32, np.float16):
            # torch's float kernel (float16 through it)
            return _G.digamma_float32(x).astype(x.dtype, copy=False)
        return _run(_G.digamma, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * polygamma(1, x)


class Polygamma(Op):
    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(*ctx.inputs)
        ctx.n = n
        return _run(lambda a: _G.polygamma(n, a), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * polygamma(ctx.n + 1, x)


class Mvlgamma(Op):
    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(*ctx.inputs)
        ctx.p = p
        x = _floating(x)
        shifts = asarray_like(np.arange(p, dtype=np.float64) / 2, x)
        total = _G.lgamma(x.astype(np.float64)[..., None] - shifts).sum(-1)
        return (total + p * (p - 1) / 4 * math.log(math.pi)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        shifts = Tensor._make(asarray_like(np.arange(ctx.p, dtype=x._data.dtype) / 2,
                                           x._data), x._dtype)
        return grad * digamma(x.unsqueeze(-1) - shifts).sum(-1)


def _special_unary(name, kernel, grad_rule, saves_output=False):
    """An Op for ``kernel`` that saves its input (and output) for ``grad_rule(grad, x, y)``."""

    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        return _run(kernel, x)

    def backward(ctx, grad):
        saved = ctx.saved_tensors
        return grad_rule(grad, saved[0], saved[1] if saves_output else None)

    return type(name, (Op,), {"forward": staticmethod(forward),
                              "backward": staticmethod(backward), "save_output": saves_output})


def _i1_grad(grad, x, y):
    # torch's i1_backward: dI1/dx = I0(x) - I1(x) / x, and 1/2 at x = 0
    eps = np.finfo(x._data.dtype).eps
    not_tiny = x.abs() > eps
    safe = x.where(not_tiny, eps)
    return grad * (i0(safe) - y / safe).where(not_tiny, 0.5)


def _i1e_grad(grad, x, y):
    eps = np.finfo(x._data.dtype).eps
    not_tiny = x.abs() > eps
    safe = x.where(not_tiny, eps)
    return grad * (_i0e(safe) - y * (safe.sign() + safe.reciprocal())).where(not_tiny, 0.5)


I0 = _special_unary("I0", lambda a: _B.bessel_i(0, a, False),
                    lambda g, x, y: g * _i1(x))
SpecialI0e = _special_unary("SpecialI0e", lambda a: _B.bessel_i(0, a, True),
                            lambda g, x, y: g * (_i1e(x) - x.sign() * y), True)
SpecialI1 = _special_unary("SpecialI1", lambda a: _B.bessel_i(1, a, False), _i1_grad, True)
SpecialI1e = _special_unary("SpecialI1e", lambda a: _B.bessel_i(1, a, True), _i1e_grad, True)
SpecialErfcx = _special_unary("SpecialErfcx", _B.erfcx,
                              lambda g, x, y: g * (2 * x * y - 2 / _SQRT_PI), True)
SpecialNdtri = _special_unary("SpecialNdtri", _B.ndtri,
                              lambda g, x, y: g * _SQRT_2PI * (y * y / 2).exp(), True)
SpecialLogNdtr = _special_unary("SpecialLogNdtr", _B.log_ndtr,
                                lambda g, x, y: g / _SQRT_2PI * (-(y + x * x / 2)).exp(), True)


def _entr(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -a * np.log(a)
    out = np.where(a == 0, 0.0, out)
    return np.where(a < 0, -np.inf, out)


SpecialEntr = _special_unary("SpecialEntr", _entr, lambda g, x, y: g * -(1 + x.log()))


# torch's CPU kernels of these have no float16/bfloat16 form
_NO_REDUCED_FLOAT = {"special_erfcx": "erfcx_cpu", "special_ndtri": "ndtri_cpu",
                     "special_log_ndtr": "log_ndtr_cpu"}


def _unary(cls, input, out, name, kernel_name=None, **kwargs) -> Tensor:
    _check(input, name, kernel_name)
    if name in _NO_REDUCED_FLOAT and input._dtype in (D.float16, D.bfloat16):
        raise not_implemented_for(_NO_REDUCED_FLOAT[name], input._dtype)
    if input._dtype in D.SHELL:
        n = kwargs.get("n")  # polygamma's kernel: digamma, trigamma, then polygamma
        refuse_shell({0: "digamma", 1: "polygamma1"}.get(n, name), input._dtype)
    return finish_out(cls.apply(input, **kwargs), out, name, input)


def _i0e(x):
    return SpecialI0e.apply(x)


def _i1(x):
    return SpecialI1.apply(x)


def _i1e(x):
    return SpecialI1e.apply(x)


def lgamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log|Gamma(input)|`` elementwise (inf at 0 and the negative integers).

    Example:
        >>> ember.lgamma(ember.tensor([0.5, 3.0]))
        tensor([0.5724, 0.6931])
    """
    return _unary(Lgamma, input, out, "lgamma", "lgamma_vml_cpu")


def digamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The logarithmic derivative of the gamma function, ``Gamma'(x) / Gamma(x)``.

    Example:
        >>> ember.digamma(ember.tensor([1.0, 0.5]))
        tensor([-0.5772, -1.9635])
    """
    return _unary(Digamma, input, out, "digamma")


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The ``n``-th derivative of digamma (``n = 0`` is digamma itself).

    Example:
        >>> ember.polygamma(1, ember.tensor([1.0, 0.5]))
        tensor([1.6449, 4.9348])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _unary(Polygamma, input, out, "polygamma", n=int(n))


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p(p-1)/4 log(pi) + sum_i lgamma(input - i/2)`` for i in 0..p-1.

    Example:
        >>> ember.mvlgamma(ember.tensor([2.5]), 2)
        tensor([0.8570])
    """
    if isinstance(input, Tensor) and input._dtype is D.bool:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return _unary(Mvlgamma, input, out, "mvlgamma", p=int(p))


def i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 0.

    Example:
        >>> ember.i0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
    """
    return _unary(I0, input, out, "i0")


def i0e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``exp(-|x|) * i0(x)``, finite where ``i0`` overflows."""
    return _unary(SpecialI0e, input, out, "special_i0e")


def i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 1."""
    return _unary(SpecialI1, input, out, "special_i1")


def i1e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``exp(-|x|) * i1(x)``."""
    return _unary(SpecialI1e, input, out, "special_i1e")


def erfcx(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The scaled complementary error function ``exp(x**2) * erfc(x)``."""
    return _unary(SpecialErfcx, input, out, "special_erfcx")


def ndtri(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal quantile: ``x`` with ``ndtr(x) = input``."""
    return _unary(SpecialNdtri, input, out, "special_ndtri")


def log_ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log(ndtr(input))``, accurate far into both tails."""
    return _unary(SpecialLogNdtr, input, out, "special_log_ndtr")


def entr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise entropy: ``-x log x`` for x > 0, 0 at 0, -inf for x < 0."""
    return _unary(SpecialEntr, input, out, "special_entr")


def ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``."""
    from .unary import erfc

    _check(input, "special_ndtr")
    # torch's last step scales by a Scalar: MulBackward1
    res = set_node_name(erfc(input * -(1 / math.sqrt(2))) * 0.5, "MulBackward1")
    return finish_out(res, out, "special_ndtr", input)


# -- binary ops -----------------------------------------------------------------------------

def _float_pair(name, input, other, integer_ok=True):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    if not isinstance(other, Tensor):
        other = as_tensor(other, input)
    dt = D.result_type(input, other)
    if dt.is_complex or (not integer_ok and dt.category < D._FLOAT):
        raise not_implemented_for(f"{name}_cpu", dt)
    return input, other, dt if dt.category >= D._FLOAT else D.get_default_dtype()


class SpecialXlog1py(Op):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * np.log1p(y))
        return out.astype(np.result_type(x, y), copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:  # torch: xlog1py(grad, y), 0 where x == 0 and y <= -1
            gx = xlog1py(grad, y).masked_fill((x == 0) & (y <= -1), 0.0)
            gx = unbroadcast(gx, _shape_of(x))
        if ctx.needs_input_grad[1]:
            gy = unbroadcast(grad * x / (y + 1), _shape_of(y))
        return gx, gy


def xlog1py(input, other, *, out=None) -> Tensor:
    """``input * log1p(other)``, with 0 where ``input`` is 0 (unless ``other`` is NaN).

    Example:
        >>> ember.special.xlog1py(ember.tensor([0.0, 2.0]), ember.tensor([-1.0, 1.0]))
        tensor([0.0000, 1.3863])
    """
    a, b, dt = _float_pair("special_xlog1py", input, other)
    result = binary(SpecialXlog1py, a, b, compute=dt)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # torch's overloads
        set_node_name(result, "SpecialXlog1PyBackward1" if not isinstance(input, Tensor)
                      else "SpecialXlog1PyBackward2")
    return finish_out(result, out, "special_xlog1py", input, other)


class Igamma(Op):
    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.save_for_backward(*ctx.inputs)
        ctx.upper = upper
        if upper and ctx._record:
            ctx._name = "IgammacBackward0"  # torch's node for the upper form
        dt = np.result_type(a, x)
        return _G.gammainc(a.astype(np.float64), x.astype(np.float64), upper).astype(dt)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        name = "igammac" if ctx.upper else "igamma"
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, unbroadcast(grad * (-density if ctx.upper else density), _shape_of(x))


def igamma(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized lower incomplete gamma function ``P(input, other)``.

    Example:
        >>> ember.igamma(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.5]))
        tensor([0.6321, 0.0902])
    """
    a, b, dt = _float_pair("igamma", input, other, integer_ok=False)
    return finish_out(binary(Igamma, a, b, compute=dt, upper=False), out, "igamma", input, other)


def igammac(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P``.

    Example:
        >>> ember.igammac(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.5]))
        tensor([0.3679, 0.9098])
    """
    a, b, dt = _float_pair("igammac", input, other, integer_ok=False)
    return finish_out(binary(Igamma, a, b, compute=dt, upper=True), out, "igammac", input,
                      other)


def _zeta_kernel(s, q):
    s, q = np.broadcast_arrays(s.astype(np.float64), q.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        out = _G.hurwitz(s, np.where(q > 0, q, 1.0))
        # q <= 0: a pole at integer q; otherwise defined only for integer s, through polygamma
        neg = (q <= 0) & np.isfinite(q)
        if neg.any():
            int_q = neg & (q == np.floor(q))
            int_s = neg & ~int_q & (s == np.floor(s)) & (s > 1)
            for sv in np.unique(s[int_s]):
                sel = int_s & (s == sv)
                n = int(sv) - 1
                out = np.where(sel, (-1) ** (n + 1) * _G.polygamma(n, q) / math.factorial(n),
                               out)
            out = np.where(neg & ~int_s, np.nan, out)
            out = np.where(int_q, np.inf, out)
        out = np.where(s == 1, np.inf, np.where(s < 1, np.nan, out))
        out = np.where(np.isnan(s) | np.isnan(q), np.nan, out)
    return out


class SpecialZeta(Op):
    @staticmethod
    def forward(ctx, s, q):
        ctx.save_for_backward(*ctx.inputs)
        return _zeta_kernel(s, q).astype(np.result_type(s, q), copy=False)

    @staticmethod
    def backward(ctx, grad):
        s, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, unbroadcast(grad * -s * zeta(s + 1, q), _shape_of(q))


def zeta(input, other, *, out=None) -> Tensor:
    """The Hurwitz zeta function ``sum_k (other + k) ** -input`` (Riemann's at other = 1).

    Example:
        >>> ember.special.zeta(ember.tensor([2.0, 4.0]), 1.0)
        tensor([1.6449, 1.0823])
    """
    a, b, dt = _float_pair("special_zeta", input, other)
    return finish_out(binary(SpecialZeta, a, b, compute=dt), out, "special_zeta", input, other)


def sinc(input: Tensor, *, out=None) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    from .compare import where

    if input._dtype in D.SHELL:
        refuse_shell("sinc", input._dtype)
    x = input if input._dtype.is_floating_point or input._dtype.is_complex else \
        input.to(D.get_default_dtype())
    # Near 0, sin(u)/u and its derivative cancel catastrophically (and u*u underflows):
    # there the series 1 - u^2/6 + u^4/120 gives the value and the gradient instead
    low = x._dtype in (D.float16, D.bfloat16)
    if low:
        # torch evaluates reduced-precision sinc in float32 and rounds once: pi * x rounded
        # to half turned sinc(-4) into -3e-4 instead of 0
        x = x.float()
    small = x.abs() < 1e-2
    safe = where(small, 1.0, x) * float(np.pi)
    u2 = (x * float(np.pi)) ** 2
    series = 1 - u2 / 6 + u2 * u2 / 120
    res = where(small, series, safe.sin() / safe)
    res = set_node_name(res.to(input._dtype) if low else res, "SincBackward0")
    return res if out is None else out.copy_(res)


__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "i0_", "igamma", "igammac", "sinc",
           "sinc_"]


def _inplace(fn, name):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        return apply_inplace(self, fn(self, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`."
    return method


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``polygamma(n, self)``."""
    return polygamma(n, self)


def _polygamma_(self: Tensor, n: int) -> Tensor:
    """In-place :func:`polygamma`."""
    return apply_inplace(self, polygamma(n, self), "polygamma_")


i0_ = _inplace(i0, "i0_")


def sinc_(self: Tensor) -> Tensor:
    """In-place ``sinc`` of a floating tensor.

    Example:
        >>> ember.sinc_(ember.tensor([0., 0.5]))
        tensor([1.0000, 0.6366])
    """
    # sinc is composed of several ops that save their inputs: with autograd on, compute it
    # from a copy, so that overwriting ``self`` leaves what they saved intact
    tracked = self._requires_grad and grad_mode._state.enabled
    return apply_inplace(self, sinc(self.clone() if tracked else self), "sinc_")


TENSOR_METHODS = {
    "lgamma": lgamma, "lgamma_": _inplace(lgamma, "lgamma_"), "digamma": digamma,
    "digamma_": _inplace(digamma, "digamma_"), "polygamma": _polygamma_method,
    "polygamma_": _polygamma_, "mvlgamma": mvlgamma, "mvlgamma_": _inplace(mvlgamma, "mvlgamma_"),
    "i0": i0, "i0_": i0_, "igamma": igamma, "igamma_": _inplace(igamma, "igamma_"),
    "igammac": igammac, "igammac_": _inplace(igammac, "igammac_"), "sinc": sinc, "sinc_": sinc_,
}
