"""Cumulative ops beyond ``cumsum``/``cumprod``: ``cummax``/``cummin`` (running extreme and its
index), ``logcumsumexp``, ``diff`` (the n-th forward difference) and its relatives ``gradient``
(central differences) and ``trapezoid``/``cumulative_trapezoid`` (integrals of samples).

Most are written from differentiable ember ops, so their gradients (and second derivatives)
come for free; the last node is renamed to PyTorch's ``grad_fn`` name where one exists.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import ascontiguousarray, ufunc_accumulate
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Tensor
from .._core import Op, _named, int_arg, required_int_dim, wrap_dim
from .._dispatch import refuse_shell
from .sorting import _return_type

cummax_type = _return_type("cummax")
cummin_type = _return_type("cummin")


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after joining ``prepend``/``append``.

    Example:
        >>> ember.diff(ember.tensor([1, 3, 6, 10]))
        tensor([2, 3, 4])
    """
    from ..shape.joining import cat

    if type(n) is not int:  # torch: an int, not a bool
        int_arg(n, "diff", "n")
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if any(p.ndim != input.ndim for p in parts):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for part in (prepend, append):
        # torch names the first mismatching size (off the differencing dim), not cat's message
        bad = [d for d in range(input.ndim)
               if d != dim and part is not None and part.shape[d] != input.shape[d]]
        if bad:
            raise RuntimeError(
                "diff expects the shape of tensor to prepend or append to match that of input "
                f"except along the differencing dimension; input.size({bad[0]}) = "
                f"{input.shape[bad[0]]}, but got tensor.size({bad[0]}) = {part.shape[bad[0]]}")
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        hi, lo = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = (hi ^ lo) if x._dtype is D.bool else hi - lo
    return x


def _cum_extreme(input: Tensor, dim: int, is_max: bool, rtype):
    from ..indexing.gather_scatter import gather_any_dtype as gather

    if input._dtype.is_complex and input.ndim:
        raise NotImplementedError(f'"{"cummax" if is_max else "cummin"}_cpu" not implemented for '
                                  f"'{input._dtype._legacy[:-6]}'")
    if input._dtype in D.SHELL and input.ndim:
        refuse_shell("cummax" if is_max else "cummin", input._dtype)

    dim = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        return rtype(input.clone(), Tensor._make(xp_of(input._data).zeros((), np.int64),
                                                 D.int64))
    a = np.moveaxis(input._data, dim, 0)
    idx = xp_of(a).zeros(a.shape, np.int64)
    if a.shape[0] and a.size:
        floating = a.dtype.kind in "fc"
        cur, at = a[0].copy(), xp_of(a).zeros(a.shape[1:], np.int64)
        for i in range(1, a.shape[0]):
            v = a[i]
            take = (v >= cur) if is_max else (v <= cur)
            if floating:  # a NaN wins and stays, as in PyTorch; later NaNs move the index
                take = np.isnan(v) | (~np.isnan(cur) & take)
            cur = np.where(take, v, cur)
            at = np.where(take, i, at)
            idx[i] = at
    indices = Tensor._make(ascontiguousarray(np.moveaxis(idx, 0, dim)), D.int64)
    indices = indices.to(input.device)
    values = gather(input, dim, indices)
    return rtype(_named(values, "CummaxBackward0" if is_max else "CumminBackward0"), indices)


@required_int_dim("cummax")
def cummax(input: Tensor, dim: int) -> tuple:
    """Running maximum along ``dim`` and the index where it was reached (the latest on ties).

    Example:
        >>> ember.cummax(ember.tensor([1., 3., 2.]), 0).values
        tensor([1., 3., 3.])
    """
    return _cum_extreme(input, dim, True, cummax_type)


@required_int_dim("cummin")
def cummin(input: Tensor, dim: int) -> tuple:
    """Running minimum along ``dim`` and the index where it was reached (the latest on ties)."""
    return _cum_extreme(input, dim, False, cummin_type)


class LogCumSumExp(Op):
    _name = "LogcumsumexpBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.dim = dim
        if x.size == 0 or x.ndim == 0:
            return x.copy()
        if np.iscomplexobj(x):
            return _complex_logcumsumexp(x, dim)
        with np.errstate(invalid="ignore"):  # -inf + -inf, which gives -inf as it should
            return row_major(ufunc_accumulate(np.logaddexp, x, dim))  # as torch's

    @staticmethod
    def backward(ctx, grad):
        # d out_i / d x_j = exp(x_j - out_i) for j <= i. Sum the positive and negative parts of
        # the gradient separately in log space so that nothing overflows (PyTorch's scheme).
        from ..pointwise.compare import where
        from ..shape.copies import flip

        x, out = ctx.saved_tensors
        dim = ctx.dim
        if x.ndim == 0:  # the identity
            return grad
        if x._dtype.is_complex:  # sum over i >= j of grad_i * conj(exp(x_j - out_i))
            from ..pointwise.complex import conj
            from ..shape.copies import flip

            tail = flip(flip(grad * conj((-out).exp()), [dim]).cumsum(dim), [dim])
            return tail * conj(x.exp())

        def reverse_lcse(z):
            return flip(logcumsumexp(flip(z, [dim]), dim), [dim])

        # the lowest finite value, not -inf: -inf - -inf would make NaN second derivatives
        lowest = float(np.finfo(grad._data.dtype).min)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_abs = grad.abs().log()
            pos = where(grad > 0, log_abs, lowest)
            neg = where(grad < 0, log_abs, lowest)
            return (reverse_lcse(pos - out) + x).exp() - (reverse_lcse(neg - out) + x).exp()


def _complex_logcumsumexp(x, dim: int):
    """A running ``complex_logaddexp`` along ``dim`` from -inf + 0j, one step per position."""
    from ..pointwise.binary_math import complex_logaddexp as _complex_logaddexp

    x = np.moveaxis(x, dim, 0)
    out = np.empty_like(x)
    out[0] = _complex_logaddexp(np.full_like(x[0], complex(-np.inf, 0.0)), x[0])
    for k in range(1, x.shape[0]):
        out[k] = _complex_logaddexp(out[k - 1], x[k])
    return np.moveaxis(out, 0, dim)


@required_int_dim("logcumsumexp")
def logcumsumexp(input: Tensor, dim: int, *, out=None) -> Tensor:
    """``log(cumsum(exp(input), dim))`` computed without overflow.

    Example:
        >>> ember.logcumsumexp(ember.tensor([0., 0.]), 0)
        tensor([0.0000, 0.6931])
    """
    if input._dtype in D.SHELL:
        refuse_shell("logcumsumexp", input._dtype)
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        from ..inplace import _type_title

        raise with_hint(NotImplementedError('"logcumsumexp_out_cpu" not implemented for '
                                            f"'{_type_title(input._dtype)}'"),
                        "use a floating tensor")
    res = LogCumSumExp.apply(input, dim=wrap_dim(dim, input.ndim))
    return res if out is None else out.copy_(res)


# -- integrals of sampled functions: trapezoid, cumulative_trapezoid --------------------------
# Written as torch writes them (aten/src/ATen/native/Integration.cpp), so dtypes and gradients
# follow from the ember ops used.

def _bad_arguments(name: str, got: str) -> TypeError:
    """torch's argument-parser error, its overloads one per line."""
    sigs = ["(Tensor y, Tensor x, *, int dim = -1)", "(Tensor y, *, Number dx = 1, int dim = -1)"]
    if name == "trapz":
        sigs = ["(Tensor y, *, float dx = 1, int dim = -1)", sigs[0]]
    return TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but "
                     "expected one of:\n" + "".join(f" * {s}\n" for s in sigs))


def _spacing_number(name: str, dx):
    """``dx`` as torch's argument parser reads it: a Python or NumPy number, or a 0-d tensor
    that needs no grad (``trapz`` takes a float, so a bool too, never a complex)."""
    if isinstance(dx, Tensor):
        if dx.ndim != 0 or dx.requires_grad:
            raise _bad_arguments(name, "Tensor, dx=Tensor")
        if name == "trapz" and dx._dtype.is_complex:
            raise RuntimeError("value cannot be converted to type double without overflow")
        dx = dx.item()
    elif not isinstance(dx, (bool, int, float, complex, np.number)) or (
            name == "trapz" and isinstance(dx, (complex, np.complexfloating))):
        raise _bad_arguments(name, f"Tensor, dx={type(dx).__name__}")
    return float(dx) if name == "trapz" else dx


def _check_spacing(name: str, y: Tensor, x, dx, dim: int):
    """Checks the arguments as torch does; returns ``dx`` as a number (or None)."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name}(): argument 'y' (position 1) must be Tensor, not "
                        f"{type(y).__name__}")
    if x is not None and (dx is not None or not isinstance(x, Tensor)):
        got = type(x).__name__ if dx is None else f"{type(x).__name__}, dx={type(dx).__name__}"
        raise _bad_arguments(name, f"Tensor, {got}")
    if dx is not None:
        dx = _spacing_number(name, dx)
    name = "trapezoid" if name == "trapz" else name  # trapz's checks past parsing are trapezoid's
    if y._dtype is D.bool or (x is not None and x._dtype is D.bool):
        which = "`y`" if x is None else "`x` or `y`"
        raise RuntimeError(f"{name}: received a bool input for {which}, but bool is not "
                           "supported")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if dx is not None and (isinstance(dx, (bool, complex, np.bool_, np.complexfloating))):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    return dx


def _sample_steps(name: str, y: Tensor, x: Tensor, dim: int) -> Tensor:
    """The widths ``x[i+1] - x[i]`` along ``dim``, shaped to broadcast against ``y``."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        x = x.view([-1 if d == dim else 1 for d in range(y.ndim)])
    elif x.ndim < y.ndim:
        x = x.view((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    n = x.shape[dim]
    return x.narrow(dim, 1, max(n - 1, 0)) - x.narrow(dim, 0, max(n - 1, 0))


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: samples ``y`` at points ``x`` (a tensor), or evenly
    ``dx`` apart (default 1).

    Example:
        >>> ember.trapezoid(ember.tensor([1., 2., 4.]), ember.tensor([0., 1., 3.]))
        tensor(7.5000)
    """
    return _trapezoid("trapezoid", y, x, dx, dim)


def _trapezoid(name: str, y: Tensor, x, dx, dim: int) -> Tensor:
    dx = _check_spacing(name, y, x, dx, dim)
    dim = wrap_dim(dim, y.ndim)
    n = y.shape[dim]
    if n == 0:
        from ..._creation import zeros

        return zeros(y.shape[:dim] + y.shape[dim + 1:], dtype=y.dtype, device=y.device)
    if x is None:
        ends = y.select(dim, 0) + y.select(dim, -1)
        # torch's last step multiplies by a Scalar (MulBackward1), or divides by one below
        return _named((y.sum(dim) - ends * 0.5) * float(1 if dx is None else dx), "MulBackward1")
    steps = _sample_steps("trapezoid", y, x, dim)
    return _named((steps * (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1))).sum(dim) / 2.0,
                  "DivBackward1")


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The older name of ``trapezoid``: ``trapz(y, x, *, dim=-1)`` or ``trapz(y, *, dx=1,
    dim=-1)``.

    Example:
        >>> ember.trapz(ember.tensor([1., 2., 4.]), dx=2.0)
        tensor(9.)
    """
    return _trapezoid("trapz", y, x, dx, dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None,
                         dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y`` there):
    samples at points ``x`` (a tensor), or evenly ``dx`` apart (default 1).

    Example:
        >>> ember.cumulative_trapezoid(ember.tensor([1., 2., 4.]))
        tensor([1.5000, 4.5000])
    """
    dx = _check_spacing("cumulative_trapezoid", y, x, dx, dim)
    dim = wrap_dim(dim, y.ndim)
    n = max(y.shape[dim] - 1, 0)
    pairs = y.narrow(dim, 0, n) + y.narrow(dim, 1, n) if n else y.narrow(dim, 0, 0)
    if x is None:
        return (float(1 if dx is None else dx) / 2.0 * pairs).cumsum(dim)
    steps = _sample_steps("cumulative_trapezoid", y, x, dim)
    return (pairs * steps).cumsum(dim) / 2.0


# -- gradient: central differences -------------------------------------------------------------

def _slice(t: Tensor, dim: int, start: int, stop: int | None = None) -> Tensor:
    """``t[start:stop]`` along ``dim`` (negative bounds count from the end)."""
    n = t.shape[dim]
    start = start + n if start < 0 else start
    stop = n if stop is None else stop + n if stop < 0 else stop
    return t.narrow(dim, start, stop - start)


def _uniform_gradient(t: Tensor, h, dim: int, edge_order: int) -> Tensor:
    from ..shape.joining import cat

    center = (_slice(t, dim, 2) - _slice(t, dim, 0, -2)) / h
    if edge_order == 1:
        first = (_slice(t, dim, 1, 2) - _slice(t, dim, 0, 1)) / h
        last = (_slice(t, dim, -1) - _slice(t, dim, -2, -1)) / h
    else:
        first = (-1.5 * _slice(t, dim, 0, 1) + 2 * _slice(t, dim, 1, 2)
                 - 0.5 * _slice(t, dim, 2, 3)) / h
        last = (0.5 * _slice(t, dim, -3, -2) - 2 * _slice(t, dim, -2, -1)
                + 1.5 * _slice(t, dim, -1)) / h
    return cat([first, center / 2, last], dim)


def _coordinate_gradient(t: Tensor, coords: Tensor, dim: int, edge_order: int) -> Tensor:
    from ..shape.joining import cat

    if coords.ndim != 1:
        raise RuntimeError("torch.gradient expected each element of spacing to have one "
                           f"dimension, but got an element with {coords.ndim} dimensions!")
    shape = [-1 if d == dim else 1 for d in range(t.ndim)]
    h = diff(coords)
    h1, h2 = h[:-1], h[1:]
    a = (-h2 / (h1 * (h1 + h2))).reshape(shape)
    b = ((h2 - h1) / (h1 * h2)).reshape(shape)
    c = (h1 / (h2 * (h1 + h2))).reshape(shape)
    center = a * _slice(t, dim, 0, -2) + b * _slice(t, dim, 1, -1) + c * _slice(t, dim, 2)
    if edge_order == 1:
        first = (_slice(t, dim, 1, 2) - _slice(t, dim, 0, 1)) / h[0]
        last = (_slice(t, dim, -1) - _slice(t, dim, -2, -1)) / h[-1]
    else:
        s = h[0] + h[1]
        first = (-(2.0 * h[0] + h[1]) / (h[0] * s) * _slice(t, dim, 0, 1)
                 + s / (h[0] * h[1]) * _slice(t, dim, 1, 2)
                 - h[0] / (h[1] * s) * _slice(t, dim, 2, 3))
        s = h[-1] + h[-2]
        last = (h[-1] / (h[-2] * s) * _slice(t, dim, -3, -2)
                - s / (h[-1] * h[-2]) * _slice(t, dim, -2, -1)
                + (2 * h[-1] + h[-2]) / (h[-1] * s) * _slice(t, dim, -1))
    return cat([first, center, last], dim)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimate the derivative of a sampled function along each dim in ``dim`` (all by
    default) with second-order central differences inside and first- or second-order
    (``edge_order``) one-sided ones at the ends. ``spacing`` is one number (the same step
    everywhere), a list with one number per dim, or a list of 1-D coordinate tensors.

    Example:
        >>> ember.gradient(ember.tensor([1., 2., 4., 8.]))
        (tensor([1.0000, 1.5000, 3.0000, 4.0000]),)
    """
    if input._dtype is D.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    one_dim = dim is None or isinstance(dim, (int, np.integer))
    dims = list(range(input.ndim)) if dim is None else \
        [wrap_dim(int(dim), input.ndim)] if one_dim else [wrap_dim(int(d), input.ndim)
                                                           for d in dim]
    if len(set(dims)) != len(dims):
        dup = next(d for i, d in enumerate(dims) if d in dims[:i])
        raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
    scalar = not isinstance(spacing, (list, tuple))
    steps = [spacing] * len(dims) if scalar else list(spacing)
    if not scalar and len(steps) != len(dims):
        if dim is None:
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar, or a list of "
                f"length equal to 'self.dim() = {input.ndim}', since dim argument was not "
                f"given, but got a list of length {len(steps)}")
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
            f"dim arguments to have the same length, but got a spacing argument of length "
            f"{len(steps)} and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    out = []
    for d, h in zip(dims, steps):
        if isinstance(h, Tensor) and h.ndim:
            if h.device != input.device:
                raise RuntimeError("torch.gradient expected each tensor to be on the same "
                                   f"device, but got devices {input.device} and {h.device}!")
            out.append(_coordinate_gradient(input, h, d, edge_order))
        else:
            out.append(_uniform_gradient(input, h.item() if isinstance(h, Tensor) else h, d,
                                         edge_order))
    return tuple(out)


__all__ = ["diff", "cummax", "cummin", "logcumsumexp", "trapezoid", "trapz",
           "cumulative_trapezoid", "gradient"]

TENSOR_METHODS = {
    "diff": diff, "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
}
