"""Counting reductions: ``histc`` (equal-width histogram) and ``bincount``."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:
    """Histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range when
    both are 0); elements outside are ignored. Not differentiable.

    Example:
        >>> ember.histc(ember.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    if not input._dtype.is_floating_point:
        from ..inplace import _type_title

        raise NotImplementedError(f'"histogram_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (histc needs a floating "
                                  f"tensor: call .float() first)")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0, but got " + str(bins))
    x = input.detach()._data.reshape(-1).astype(np.float64)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {min} "
                           f"max {max}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    x = x[(x >= lo) & (x <= hi)]
    idx = np.minimum(((x - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    counts = np.bincount(idx, minlength=bins).astype(input._data.dtype)
    res = Tensor._make(counts, input._dtype).to(input.device)
    return res if out is None else out.copy_(res)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count occurrences of each value in a 1-D non-negative integer tensor (summing
    ``weights`` instead of ones when given). Not differentiable.

    Example:
        >>> ember.bincount(ember.tensor([0, 1, 1, 3]))
        tensor([1, 2, 0, 1])
    """
    if input._dtype.is_floating_point or input._dtype.is_complex or input._dtype is D.bool:
        from ..inplace import _type_title

        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_type_title(input._dtype)}' (bincount counts integers)")
    if input.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    x = input._data
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return Tensor._make(np.bincount(x, minlength=minlength).astype(np.int64), D.int64)
    if weights.shape != input.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = weights._dtype if weights._dtype.is_floating_point else D.float64
    counts = np.bincount(x, weights=weights.detach()._data, minlength=minlength)
    return Tensor._make(counts.astype(dt.np_dtype), dt)


__all__ = ["histc", "bincount"]

TENSOR_METHODS = {
    "histc": histc, "bincount": bincount,
}
