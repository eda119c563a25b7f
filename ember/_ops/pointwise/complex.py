"""More Tensor API gap-fillers: complex views (``conj``, ``real``, ``imag``), ``ravel``,
``unfold`` (sliding windows), ``logaddexp``, ``sinc``, ``heaviside``, integer helpers
(``gcd``/``lcm``), ``ldexp``, ``nextafter``, ``quantile``/``nanquantile``/``nanmedian``,
``addr``, in-place ``addmm_``/``cumsum_``/``cumprod_``, ``put``, ``diagflat``, ``narrow_copy``,
linear-algebra aliases (``svd``, ``cholesky``, ``pinverse``, ``matrix_power``)."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import sliding_window_view
from .._tensor import Tensor
from ._core import Op, as_tensor_arg, set_node_name, wrap_dim
from .inplace import apply_inplace

# -- complex views ----------------------------------------------------------------------------

class Conj(Op):
    @staticmethod
    def forward(ctx, x):
        return np.conj(x)

    @staticmethod
    def backward(ctx, grad):
        return conj(grad)


def conj(input: Tensor) -> Tensor:
    """Complex conjugate (``input`` itself for real tensors, as in PyTorch)."""
    return Conj.apply(input) if input._dtype.is_complex else input


def _identity(input: Tensor) -> Tensor:
    """Return ``input`` unchanged: ember keeps no lazy conjugate or negative bits, so
    ``resolve_conj``/``resolve_neg`` have nothing to resolve.
    """
    return input


def _false(input: Tensor) -> bool:
    """False: ember tensors carry no lazy conjugate or negative bit (``is_conj``/``is_neg``)."""
    return False


class RealImag(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, part):
        ctx.view_args = {"part": part}
        ctx.part = part
        ctx.cdtype = ctx.inputs[0]._dtype
        return x.real if part == "real" else x.imag

    @staticmethod
    def backward(ctx, grad):
        g = grad._data.astype(ctx.cdtype.np_dtype)
        return Tensor._make(g if ctx.part == "real" else g * 1j, ctx.cdtype)


def _real(self: Tensor) -> Tensor:
    return RealImag.apply(self, part="real") if self._dtype.is_complex else self


def _imag(self: Tensor) -> Tensor:
    if not self._dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return RealImag.apply(self, part="imag")


def real(input: Tensor) -> Tensor:
    """The real part (a view); ``input`` itself for real tensors."""
    return _real(input)


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor (a view)."""
    return _imag(input)


# -- shapes -------------------------------------------------------------------------------------

def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when possible). Example: ``x.ravel()``."""
    return input.reshape(-1)


class Unfold(Op):
    is_view = True
    _name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.view_args = {"dim": dim, "size": size, "step": step}
        ctx.meta = (x.shape, dim, size, step)
        if x.ndim == 0:
            return x.reshape(1)
        win = sliding_window_view(x, size, dim)
        return win[(slice(None),) * dim + (slice(None, None, step),)]

    @staticmethod
    def backward(ctx, grad):
        from .._creation import arange, zeros

        shape, dim, size, step = ctx.meta
        if not shape:
            return grad.reshape(())
        out = zeros(shape, dtype=grad.dtype, device=grad.device)
        n_win = grad.shape[dim]
        for k in range(size):  # one index_add per window offset
            idx = arange(n_win, device=grad.device) * step + k
            out = out.index_add(dim, idx, grad.select(-1, k))
        return out


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dimension (a view). Example: ``ember.arange(5.).unfold(0, 2, 1)``."""
    dim = wrap_dim(dimension, self.ndim)
    length = self.shape[dim] if self.ndim else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(self, dim=dim, size=size, step=step)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow`` followed by a copy."""
    return input.narrow(dim, start, length).clone()


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D matrix with the flattened ``input`` on diagonal ``offset``."""
    from .shaping import diag

    return diag(input.reshape(-1), offset)


# -- elementwise ------------------------------------------------------------------------------

class LogAddExp(Op):
    _name = "LogaddexpBackward0"

    @staticmethod
    def forward(ctx, a, b, base2):
        ctx.save_for_backward(*ctx.inputs)
        ctx.base2 = base2
        return np.logaddexp2(a, b) if base2 else np.logaddexp(a, b)

    @staticmethod
    def backward(ctx, grad):
        from ._core import unbroadcast

        a, b = ctx.saved_tensors
        d = (a - b) * float(np.log(2)) if ctx.base2 else a - b
        wa = d.sigmoid()
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
    if not (a._dtype.is_floating_point):
        a, b = a.to(D.get_default_dtype()), b.to(D.get_default_dtype())
    return a, b


def logaddexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    a, b = _float_pair(input, other)
    res = LogAddExp.apply(a, b, base2=False)
    return res if out is None else out.copy_(res)


def logaddexp2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    a, b = _float_pair(input, other)
    res = set_node_name(LogAddExp.apply(a, b, base2=True), "Logaddexp2Backward0")
    return res if out is None else out.copy_(res)


def sinc(input: Tensor, *, out=None) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    from .compare import where

    x = input if input._dtype.is_floating_point or input._dtype.is_complex else \
        input.to(D.get_default_dtype())
    # Near 0, sin(u)/u and its derivative cancel catastrophically (and u*u underflows):
    # there the series 1 - u^2/6 + u^4/120 gives the value and the gradient instead
    small = x.abs() < 1e-2
    safe = where(small, 1.0, x) * float(np.pi)
    u2 = (x * float(np.pi)) ** 2
    series = 1 - u2 / 6 + u2 * u2 / 120
    res = set_node_name(where(small, series, safe.sin() / safe), "SincBackward0")
    return res if out is None else out.copy_(res)


def _constant(arr, dtype: D.dtype, device) -> Tensor:
    return Tensor._make(np.asarray(arr, dtype.np_dtype), dtype).to(device)


def heaviside(input: Tensor, values: Tensor, *, out=None) -> Tensor:
    """The Heaviside step: 0 below zero, 1 above, ``values`` at zero. Not differentiable."""
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    res = _constant(np.heaviside(input.detach()._data, values.detach()._data), input._dtype,
                    input.device)
    return res if out is None else out.copy_(res)


def _integer_pair(name, a, b):
    a, b = _pair(a, b)
    if a._dtype.is_floating_point or a._dtype.is_complex or a._dtype is D.bool:
        from .inplace import _type_title

        raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                  f"'{_type_title(a._dtype)}' ({name} takes integers)")
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


def ldexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``input * 2**other``."""
    res = input * (2.0 ** as_tensor_arg(other, input))
    return res if out is None else out.copy_(res)


def nextafter(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The next representable float after ``input`` towards ``other``. Not differentiable."""
    a, b = _float_pair(input, other)
    res = _constant(np.nextafter(a._data, b._data), a._dtype, a.device)
    return res if out is None else out.copy_(res)


# -- odds and ends ------------------------------------------------------------------------------

def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``source`` written at the flat positions ``index``."""
    flat = input.reshape(-1).clone()
    idx = index.reshape(-1)
    n = flat.shape[0]
    if idx.numel() and (idx._data.max() >= n or idx._data.min() < -n):
        raise IndexError(f"out of range: tried to access index {int(idx._data.max())} on a "
                         f"tensor of {n} elements.")
    res = flat.index_put((idx,), source.reshape(-1), accumulate=accumulate)
    return res.view(input.shape)


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return apply_inplace(self, put(self, index, source, accumulate), "put_")


def contains(self: Tensor, element) -> bool:
    if isinstance(element, (Tensor, int, float, bool, complex)):
        return bool((self == element).any().item())
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in "
                       f"a {type(element)}.")


def detach(input: Tensor) -> Tensor:
    """A new tensor sharing ``input``'s data but cut from the autograd graph (``input.detach()``).

    Example:
        >>> ember.detach(ember.ones(2, requires_grad=True)).requires_grad
        False
    """
    return input.detach()


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both tensors view the same memory with the same shape and strides."""
    return (self.data_ptr() == tensor.data_ptr() and self.shape == tensor.shape
            and self.stride() == tensor.stride())


def hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0 (the method form of ``F.hardshrink``)."""
    from .nn_ops import const_like

    mask = (np.abs(self._data) > lambd).astype(self._data.dtype)
    return set_node_name(self * const_like(self, mask), "HardshrinkBackward0")


__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "real",
           "imag", "ravel", "narrow_copy", "diagflat", "logaddexp", "logaddexp2", "sinc",
           "heaviside", "gcd", "lcm", "ldexp", "nextafter", "put", "detach"]

conj_physical = conj
resolve_conj = resolve_neg = _identity
is_conj = is_neg = _false

TENSOR_METHODS = {
    **{name: globals()[name] for name in __all__ if name not in ("real", "imag", "detach")},
    "real": property(_real), "imag": property(_imag), "unfold": unfold,
    "put_": put_,
    "__contains__": contains, "is_set_to": is_set_to, "hardshrink": hardshrink,
}
