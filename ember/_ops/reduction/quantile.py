"""Quantiles: ``quantile``, ``nanquantile`` and ``nanmedian`` (sort, then gather and
interpolate, so gradients flow to the selected elements)."""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._tensor import Tensor
from .._core import NO_DIM, _named, bool_arg, wrap_dim
from ..pointwise.binary_math import _constant

# -- quantiles ----------------------------------------------------------------------------------

_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    from ..indexing.gather_scatter import gather_any_dtype as gather
    from .sorting import sort

    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "nanquantile" if ignore_nan else "quantile")
    if interpolation not in _INTERP:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if input._dtype not in (D.float32, D.float64):  # float16/bfloat16 refused too, as torch
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor) and q._dtype is not input._dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    qs = q._data.astype(np.float64) if isinstance(q, Tensor) else np.asarray(q, np.float64)
    if qs.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if not ((qs >= 0) & (qs <= 1)).all():  # NaN too
        if not isinstance(q, Tensor):  # a number is named, as C++ streams it (%g)
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {float(q):g}")
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, input.ndim)
    if x.ndim == 0:
        x, d = x.reshape(1), 0
    n = x.shape[d]
    if x._data.size == 0:  # torch refuses any empty input, even one with non-empty slices
        raise RuntimeError("quantile() input tensor must be non-empty")
    if n > 2 ** 24:  # torch sorts slices of at most 2**24 values and refuses longer ones
        raise RuntimeError("quantile() input tensor is too large")
    s = sort(x, dim=d, stable=True).values  # NaNs sort last
    valid = (~np.isnan(x._data)).sum(axis=d, keepdims=True)  # per slice
    count = valid if ignore_nan else np.full_like(valid, n)
    has_nan = valid < n
    outs = []
    # As torch: q in the input's dtype, ranks q * (n - 1) rounded to that dtype (a float32
    # rank can land on an integer that the float64 product passes), then lerp between the
    # neighbours with the rank's fraction as weight
    rdt = s._data.dtype
    span = np.maximum(count - 1, 0).astype(rdt)
    for qv in qs.reshape(-1).astype(rdt):
        pos = qv * span
        if interpolation == "lower":
            pos = np.floor(pos)
        elif interpolation == "higher":
            pos = np.ceil(pos)
        elif interpolation == "nearest":
            pos = np.round(pos)  # round half to even, as torch
        lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
        lo_t = Tensor._make(np.minimum(lo, n - 1), D.int64).to(input.device)
        a = gather(s, d, lo_t)
        if interpolation in ("linear", "midpoint"):
            from ..pointwise.binary_math import lerp

            w = pos - lo.astype(rdt) if interpolation == "linear" else np.full_like(pos, 0.5)
            hi_t = Tensor._make(np.minimum(hi, n - 1), D.int64).to(input.device)
            v = lerp(a, gather(s, d, hi_t), Tensor._make(w, s._dtype).to(input.device))
        else:
            v = a
        nan_mask = (valid == 0) if ignore_nan else has_nan
        if nan_mask.any():
            from ..pointwise.compare import where

            v = where(Tensor._make(nan_mask, D.bool).to(input.device), float("nan"), v)
        outs.append(v if keepdim and dim is not None else v.squeeze(d))
    if dim is None and keepdim:
        outs = [o.reshape((1,) * input.ndim) for o in outs]
    if qs.ndim == 0:
        return outs[0]
    from ..shape.joining import stack

    return stack(outs, 0)


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", out=None) -> Tensor:
    """The ``q``-quantiles of ``input`` (over all elements or along ``dim``); NaN where a slice
    holds a NaN. Example: ``ember.quantile(ember.tensor([1., 2., 4.]), 0.5)``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(quantile, "quantile", input, q, dim, keepdim,
                              interpolation=interpolation, out=out)
    # torch's kernel ends on a squeeze, whatever q, dim and keepdim are: its node's name
    res = _named(_quantile(input, q, dim, keepdim, interpolation, ignore_nan=False),
                 "SqueezeBackward4")
    return res if out is None else out.copy_(res)


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out=None) -> Tensor:
    """``quantile`` ignoring NaNs (NaN only where a slice is all NaN)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(nanquantile, "nanquantile", input, q, dim, keepdim,
                              interpolation=interpolation, out=out)
    # torch's kernel ends on a squeeze, whatever q, dim and keepdim are: its node's name
    res = _named(_quantile(input, q, dim, keepdim, interpolation, ignore_nan=True),
                 "SqueezeBackward4")
    return res if out is None else out.copy_(res)


def _return_types():
    from .select import return_type

    return return_type("nanmedian")


def nanmedian(input: Tensor, dim: int | None = NO_DIM, keepdim: bool = False):
    """The lower median ignoring NaNs; with ``dim``, ``(values, indices)``.

    Example:
        >>> ember.tensor([1., float('nan'), 3., 2.]).nanmedian()
        tensor(2.)
    """
    if dim is NO_DIM:
        dim = None
    elif dim is None:  # given as None (not left out): refused, as torch
        raise TypeError("nanmedian(): argument 'dim' (position 1) must be int, not NoneType")
    elif keepdim is not False and keepdim is not True:
        keepdim = bool_arg(keepdim, "nanmedian")
    if input._dtype is D.bool or input._dtype.is_complex:
        raise NotImplementedError(f'"{"median_cpu" if dim is None else "median_out"}" not '
                                  f"implemented for '{input._dtype._legacy[:-6]}'")
    if input._dtype in D.SHELL:
        from .._dispatch import refuse_shell

        refuse_shell("median" if dim is None else "median_dim", input._dtype)
    from ..indexing.gather_scatter import gather_any_dtype as gather
    from .sorting import sort

    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, input.ndim)
    if x.ndim == 0:
        x, d = x.reshape(1), 0
    if x.shape[d] == 0 and dim is None:
        return _constant(np.nan, input._dtype, input.device)
    s, order = sort(x, dim=d, stable=True)  # (torch takes the first of tied medians)
    valid = (~np.isnan(x._data)).sum(axis=d, keepdims=True) if input._dtype.is_floating_point \
        else np.full([1 if i == d else n for i, n in enumerate(x.shape)], x.shape[d])
    k = Tensor._make(np.maximum(valid - 1, 0) // 2, D.int64).to(input.device)
    values, indices = gather(s, d, k), gather(order, d, k)
    if dim is None:
        return _named(values.reshape(()), "NanmedianBackward0")
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return _NANMEDIAN(_named(values, "NanmedianBackward1"), indices)


__all__ = ["quantile", "nanquantile", "nanmedian"]

_NANMEDIAN = _return_types()

TENSOR_METHODS = {
    "quantile": quantile, "nanquantile": nanquantile, "nanmedian": nanmedian,
}
