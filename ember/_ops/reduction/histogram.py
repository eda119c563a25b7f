"""Counting reductions: ``histc`` (equal-width histogram), ``histogram``/``histogramdd`` (counts
and bin edges, as NumPy's) and ``bincount``."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ... import _threads
from ..._errors import with_hint
from ..._tensor import Tensor
from .._dispatch import refuse_shell
from .select import return_type

histogram_type = return_type("histogram", ("hist", "bin_edges"))
histogramdd_type = return_type("histogramdd", ("hist", "bin_edges"))


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:
    """Histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range when
    both are 0); elements outside are ignored. Not differentiable.

    Example:
        >>> ember.histc(ember.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    if input._dtype in D.SHELL:  # torch's histc finds the range first, then the bin edges
        refuse_shell("aminmax" if min == max == 0 else "histc_range", input._dtype)
    if not input._dtype.is_floating_point:
        from ..inplace import _type_title

        # torch's first kernel to refuse: the bin edges' linspace (bool), the data's range
        # when min == max (complex), else the histogram itself
        kernel = ("linspace_cpu" if input._dtype is D.bool else "aminmax_cpu"
                  if input._dtype.is_complex and min == max else "histogram_cpu")
        raise with_hint(NotImplementedError(f'"{kernel}" not implemented for '
                                            f"'{_type_title(input._dtype)}'"),
                        "histc needs a floating tensor: call .float() first")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")  # torch's histc shares histogram's check
    from ..._backend import to_numpy

    x = to_numpy(input.detach()._data).reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        # C++'s default formatting of the numbers, as %g
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    # torch works in the input's own dtype, rounding each step: the edges, the range test and
    # (x - min) * bins / (max - min); float64 arithmetic puts some samples one bin over
    cast = x.dtype.type
    lo_x, hi_x = cast(lo), cast(hi)
    with np.errstate(invalid="ignore", over="ignore"):
        x = x[(x >= lo_x) & (x <= hi_x)]
        pos = (x - lo_x) * cast(bins) / (hi_x - lo_x)
    idx = np.minimum(pos.astype(np.float64).astype(np.int64), bins - 1)
    counts = np.bincount(idx, minlength=bins).astype(x.dtype)
    res = Tensor._make(counts, input._dtype).to(input.device)
    return res if out is None else out.copy_(res)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count occurrences of each value in a 1-D non-negative integer tensor (summing
    ``weights`` instead of ones when given). Not differentiable.

    Example:
        >>> ember.bincount(ember.tensor([0, 1, 1, 3]))
        tensor([1, 2, 0, 1])
    """
    if input._dtype in D.SHELL:
        refuse_shell("bincount", input._dtype)
    if input._dtype.is_floating_point or input._dtype.is_complex or input._dtype is D.bool:
        from ..inplace import _type_title

        raise with_hint(NotImplementedError('"bincount_cpu" not implemented for '
                                            f"'{_type_title(input._dtype)}'"),
                        "bincount counts integers")
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
    from ..._backend import to_numpy

    if not x.size:  # torch returns its empty-input zeros as int64 even with weights
        return Tensor._make(np.zeros(minlength, np.int64), D.int64)
    w = to_numpy(weights.detach()._data)
    if weights._dtype is D.float32:
        # torch sums float32 weights in float32, in input order (np.add.at's order too);
        # np.bincount's float64 sums differ in the last bit
        counts = np.zeros(int(x.max()) + 1 if x.size else 0, np.float32)
        np.add.at(counts, x, w)
        if counts.shape[0] < minlength:
            counts = np.concatenate([counts, np.zeros(minlength - counts.shape[0], np.float32)])
        return Tensor._make(counts, D.float32)
    # other weights (float16/bfloat16, integers) are summed and returned as float64
    counts = np.bincount(x, weights=w.astype(np.float64), minlength=minlength)
    return Tensor._make(counts, D.float64)


# -- histogram and histogramdd, torch's algorithm (aten/src/ATen/native/cpu/HistogramKernel.cpp)

_HIST_GRAIN = 200  # samples per thread below which PyTorch does not split the work
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}


def _c_name(dt: D.dtype) -> str:
    return _C_NAMES.get(dt.name, dt.name)


def _linspace(lo: float, hi: float, n: int, np_dtype) -> np.ndarray:
    """torch's CPU ``linspace``: the first half counts up from ``lo``, the second down from
    ``hi``, each value ``lo + step * i`` rounded once (the compiled kernel fuses it)."""
    from fractions import Fraction

    cast = np_dtype.type
    a, b = cast(lo), cast(hi)
    step = (b - a) / cast(n - 1) if n > 1 else cast(0)
    exact = Fraction(float(step))
    vals = [float(Fraction(float(a)) + exact * i) if i < n // 2 else
            float(Fraction(float(b)) - exact * (n - 1 - i)) for i in range(n)]
    return np.array(vals, np.float64).astype(np_dtype)


def _outer_edges(x: np.ndarray, range_, n_dims: int) -> list:
    """Each dim's (leftmost, rightmost) edge: ``range_`` or the data's min and max."""
    if range_ is not None:
        range_ = [float(v) for v in range_]
        if len(range_) != 2 * n_dims:
            raise RuntimeError(f"torch.histogramdd: for a {n_dims}-dimensional histogram range "
                               f"should have {2 * n_dims} elements, but got {len(range_)}")
        edges = [(range_[2 * d], range_[2 * d + 1]) for d in range(n_dims)]
    elif x.shape[0]:
        edges = [(float(x[:, d].min()), float(x[:, d].max())) for d in range(n_dims)]
    else:
        edges = [(0.0, 1.0)] * n_dims  # NumPy's default for empty input
    out = []
    for d, (lo, hi) in enumerate(edges):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: dimension {d}'s range [{_g(lo)}, {_g(hi)}] "
                               "is not finite")
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                               f"{_g(lo)} max {_g(hi)} for dimension {d}")
        out.append((lo - 0.5, hi + 0.5) if lo == hi else (lo, hi))
    return out


def _g(v: float) -> str:
    return f"{v:g}"


def _histogramdd(input: Tensor, bins, range_, weight, density, name: str):
    """(hist, [edges per dim]) of the rows of ``input`` (shape ``(M, N)``)."""
    dt = input._dtype
    if dt not in (D.float32, D.float64):
        from ..inplace import _type_title

        raise NotImplementedError(f'"histogramdd" not implemented for \'{_type_title(dt)}\'')
    n_dims = input.shape[-1]
    x = input.detach().cpu()._data.reshape(-1, n_dims)
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        if range_ is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            "(Tensor, Tensor, range=tuple): ``range`` goes with an int ``bins``")
        if len(bins) != n_dims:
            raise RuntimeError(f"torch.histogramdd: expected {n_dims} sequences of bin edges for "
                               f"each dimension, but got {len(bins)}")
        edges = []
        for d, b in enumerate(bins):
            if b._dtype is not dt:
                raise RuntimeError(
                    "torch.histogramdd: input tensor and bins tensors should have the same "
                    f"dtype, but got input with dtype {_c_name(dt)} and bins for dimension {d} "
                    f"with dtype {_c_name(b._dtype)}")
            if b.ndim != 1:
                raise RuntimeError(
                    "torch.histogramdd: bins tensor should have one dimension, but got "
                    f"{b.ndim} dimensions in the bins tensor for dimension {d}")
            if b.numel() == 0:
                raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 "
                                   f"element, but got 0 elements in the bins tensor for "
                                   f"dimension {d}")
            edges.append(b.detach().cpu()._data)
    else:
        counts = [int(b) for b in bins]
        if len(counts) != n_dims:
            raise RuntimeError(f"torch.histogramdd: expected {n_dims} sequences of bin edges for "
                               f"each dimension, but got {len(counts)}")
        for d, c in enumerate(counts):
            if c <= 0:
                raise RuntimeError(f"torch.{name}(): bins must be > 0, but got {c} for "
                                   f"dimension {d}")
        edges = [_linspace(lo, hi, c + 1, x.dtype)
                 for (lo, hi), c in zip(_outer_edges(x, range_, n_dims), counts)]
    w = None
    if weight is not None:
        if weight._dtype is not dt:
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided, input tensor and weight "
                f"tensor should have the same dtype, but got input({_c_name(dt)}), and "
                f"weight({_c_name(weight._dtype)})")
        w = weight.detach().cpu()._data.reshape(-1)
        if w.shape[0] != x.shape[0]:
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided it should have the same shape "
                "as the input tensor excluding its innermost dimension, but got input with "
                f"shape {list(x.shape)} and weight with shape {list(weight.shape)}")
    # A sample's bin is the last edge at or below it; the rightmost bin includes its right
    # edge; samples outside [first edge, last edge] (and NaNs) are skipped.
    keep = np.ones(x.shape[0], bool)
    pos = []
    for d, e in enumerate(edges):
        col = x[:, d]
        keep &= (col >= e[0]) & (col <= e[-1])
        pos.append(np.minimum(np.searchsorted(e, col, side="right") - 1, max(len(e) - 2, 0)))
    hist = np.zeros([max(len(e) - 1, 0) for e in edges], x.dtype)
    if w is None:  # whole counts: the order of the additions does not matter
        np.add.at(hist, tuple(p[keep] for p in pos), 1)
    else:
        # PyTorch splits the samples among its threads (more than 200 of them per thread),
        # each summing its weights in order into its own histogram, then adds those in turn
        n = x.shape[0]
        tasks = min(_threads.num_threads(), max(1, -(-n // _HIST_GRAIN)))
        chunk = -(-n // tasks)
        for start in range(0, n, chunk):
            part = slice(start, start + chunk)
            k = keep[part]
            local = np.zeros_like(hist)
            np.add.at(local, tuple(p[part][k] for p in pos), w[part][k])
            hist += local
    if density:
        hist = hist / hist.sum()
        for d, e in enumerate(edges):
            hist = hist / np.diff(e).reshape([-1 if k == d else 1 for k in range(n_dims)])
    device = input.device
    return (Tensor._make(np.asarray(hist, x.dtype), dt).to(device),
            [Tensor._make(np.asarray(e), dt).to(device) for e in edges])


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False,
              out=None) -> tuple:
    """A histogram of ``input``'s values: ``bins`` equal-width bins over ``range`` (the data's
    min and max by default) or the bin edges given as a 1-D tensor. Returns ``(hist,
    bin_edges)``; ``weight`` weighs each element, ``density`` normalises to a density.
    Not differentiable.

    Example:
        >>> ember.histogram(ember.tensor([1., 2., 1.]), bins=2, range=(0., 2.)).hist
        tensor([0., 3.])
    """
    if isinstance(bins, Tensor):
        bins = [bins]
    elif isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        bins = [int(bins)]
    else:
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not "
                        f"{type(bins).__name__}")
    hist, edges = _histogramdd(input.reshape(-1, 1), bins, range, weight, density, "histogram")
    hist, edges = hist.reshape(-1), edges[0]
    if out is not None:
        out[0].copy_(hist)
        out[1].copy_(edges)
        hist, edges = out
    return histogram_type(hist, edges)


def histogramdd(input: Tensor, bins, *, range=None, weight=None, density: bool = False):
    """A multi-dimensional histogram of the points in ``input``'s rows (the last dim holds each
    point's ``N`` coordinates). ``bins``: one int for every dim, a list of ints, or a list of
    1-D edge tensors. Returns ``(hist, bin_edges)`` with ``bin_edges`` a tuple of ``N`` tensors.

    Example:
        >>> ember.histogramdd(ember.tensor([[0., 0.], [1., 1.]]), bins=2).hist
        tensor([[1., 0.],
                [0., 1.]])
    """
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions, "
                           f"but got {input.ndim}")
    if isinstance(bins, (int, np.integer)):
        bins = [int(bins)] * input.shape[-1]
    elif isinstance(bins, Tensor):
        raise TypeError("histogramdd(): argument 'bins' must be an int, a list of ints or a "
                        "list of Tensors, not Tensor")
    hist, edges = _histogramdd(input, list(bins), range, weight, density, "histogramdd")
    return histogramdd_type(hist, tuple(edges))


__all__ = ["histc", "bincount", "histogram", "histogramdd"]

TENSOR_METHODS = {
    "histc": histc, "bincount": bincount, "histogram": histogram,
}
