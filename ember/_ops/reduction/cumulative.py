"""Cumulative ops beyond ``cumsum``/``cumprod``: ``cummax``/``cummin`` (running extreme and its
index), ``logcumsumexp``, and ``diff`` (the n-th forward difference).

Most are written from differentiable ember ops, so their gradients (and second derivatives)
come for free; the last node is renamed to PyTorch's ``grad_fn`` name where one exists.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import ascontiguousarray, ufunc_accumulate
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op, _named, wrap_dim
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

    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if any(p.ndim != input.ndim for p in parts):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        hi, lo = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = (hi ^ lo) if x._dtype is D.bool else hi - lo
    return x


def _cum_extreme(input: Tensor, dim: int, is_max: bool, rtype):
    from ..indexing.gather_scatter import gather

    if input._dtype.is_complex and input.ndim:
        raise NotImplementedError(f'"{"cummax" if is_max else "cummin"}_cpu" not implemented for '
                                  f"'{input._dtype._legacy[:-6]}'")

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


def cummax(input: Tensor, dim: int) -> tuple:
    """Running maximum along ``dim`` and the index where it was reached (the latest on ties).

    Example:
        >>> ember.cummax(ember.tensor([1., 3., 2.]), 0).values
        tensor([1., 3., 3.])
    """
    return _cum_extreme(input, dim, True, cummax_type)


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
        with np.errstate(invalid="ignore"):  # -inf + -inf, which gives -inf as it should
            return ufunc_accumulate(np.logaddexp, x, dim)

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

        def reverse_lcse(z):
            return flip(logcumsumexp(flip(z, [dim]), dim), [dim])

        # the lowest finite value, not -inf: -inf - -inf would make NaN second derivatives
        lowest = float(np.finfo(grad._data.dtype).min)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_abs = grad.abs().log()
            pos = where(grad > 0, log_abs, lowest)
            neg = where(grad < 0, log_abs, lowest)
            return (reverse_lcse(pos - out) + x).exp() - (reverse_lcse(neg - out) + x).exp()


def logcumsumexp(input: Tensor, dim: int, *, out=None) -> Tensor:
    """``log(cumsum(exp(input), dim))`` computed without overflow.

    Example:
        >>> ember.logcumsumexp(ember.tensor([0., 0.]), 0)
        tensor([0.0000, 0.6931])
    """
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        from ..inplace import _type_title

        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (use a floating tensor)")
    res = LogCumSumExp.apply(input, dim=wrap_dim(dim, input.ndim))
    return res if out is None else out.copy_(res)


__all__ = ["diff", "cummax", "cummin", "logcumsumexp"]

TENSOR_METHODS = {
    "diff": diff, "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
}
