"""Observers: modules that watch the values flowing past (they return their input unchanged)
and turn the range they saw into a scale and zero point (``calculate_qparams``).

The qparams rule (PyTorch's, in float32): the range is widened to hold 0; affine schemes
spread ``[min, max]`` over ``quant_max - quant_min`` steps with ``zero_point = quant_min -
round(min / scale)``; symmetric schemes centre the range on 0 (``scale = max(|min|, max) /
((quant_max - quant_min) / 2)``, zero point 0, or the middle level for unsigned types).
``reduce_range`` drops one bit (0..127 for quint8, -64..63 for qint8) for x86 kernels.
"""

from __future__ import annotations

import bisect
import functools
import warnings

import numpy as np

from ... import _dtype as D
from ..._quantized_tensor import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
)
from ..._tensor import Tensor
from ...nn.modules.module import Module

__all__ = ["ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver",
           "PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver",
           "HistogramObserver", "PlaceholderObserver", "NoopObserver", "RecordingObserver",
           "get_observer_state_dict",
           "default_observer", "default_weight_observer", "default_per_channel_weight_observer",
           "default_dynamic_quant_observer", "default_placeholder_observer",
           "default_histogram_observer", "default_float_qparams_observer",
           "weight_observer_range_neg_127_to_127", "FixedQParamsObserver",
           "ReuseInputObserver", "default_fixed_qparams_range_0to1_observer",
           "default_fixed_qparams_range_neg1to1_observer", "default_reuse_input_observer"]

_EPS = float(np.finfo(np.float32).eps)


class _PartialWrapper:
    """A class with some constructor arguments bound (``Observer.with_args(...)``); calling it
    makes a fresh instance, as a qconfig does once per module. ``callable_args`` are
    arguments computed by a call each time (``with_callable_args``); the repr shows them after
    the partial, as torch's does (``functools.partial(<class ...>, dtype=torch.qint8){}``).

    Example:
        >>> MinMaxObserver.with_args(dtype=ember.qint8)().dtype
        torch.qint8
    """

    def __init__(self, p):
        self.p = p
        self.callable_args = {}

    def __call__(self, *args, **keywords):
        for arg_name, make in self.callable_args.items():
            if arg_name not in keywords:
                keywords = {**keywords, arg_name: make()}
        return self.p(*args, **keywords)

    def __repr__(self):
        return repr(self.p) + repr(self.callable_args)

    def with_args(self, **kwargs):
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs):
        result = _PartialWrapper(p=self.p)
        result.callable_args = {**self.callable_args, **kwargs}
        return result


def _with_args(cls_or_self, **kwargs):
    return _PartialWrapper(functools.partial(cls_or_self, **kwargs))


def _with_callable_args(cls_or_self, **kwargs):
    result = _PartialWrapper(functools.partial(cls_or_self))
    return result.with_callable_args(**kwargs)


def _t(arr, dtype) -> Tensor:
    return Tensor._make(np.asarray(arr), dtype)


class ObserverBase(Module):
    """The base of observers: holds the target ``dtype`` and whether qparams are computed per
    batch at run time (``is_dynamic``).

    Example:
        >>> from ember.ao.quantization import MinMaxObserver
        >>> isinstance(MinMaxObserver(), ember.ao.quantization.ObserverBase)
        True
    """

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)

    def __init__(self, dtype, is_dynamic: bool = False):
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic


def _quant_range(dtype, reduce_range, quant_min, quant_max):
    """The (quant_min, quant_max) an observer targets: given, or the dtype's full range; one
    bit smaller with ``reduce_range`` (a given range is halved too)."""
    if quant_min is not None and quant_max is not None:
        if not quant_min <= 0 <= quant_max:
            raise AssertionError("Used-specified quantization range must include 0.")
        if quant_min >= quant_max:
            raise AssertionError("qmin must be strictly less than qmax for user-specified "
                                 "quantization range.")
        lo, hi = quant_min, quant_max
    else:
        full = {D.qint8: (-128, 127), D.quint8: (0, 255), D.qint32: (-2 ** 31, 2 ** 31 - 1),
                D.int8: (-128, 127), D.uint8: (0, 255), D.int32: (-2 ** 31, 2 ** 31 - 1),
                D.quint4x2: (0, 15)}
        lo, hi = full.get(dtype, (0, 255))
    if reduce_range:
        lo, hi = lo // 2, hi // 2
    return lo, hi


class UniformQuantizationObserverBase(ObserverBase):
    """Observers whose qparams come from a min and a max (per tensor or per channel)."""

    def __init__(self, dtype=D.quint8, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype, is_dynamic)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn(
                "Please use quant_min and quant_max to specify the range for observers. "
                "                    reduce_range will be deprecated in a future release of "
                "PyTorch.", stacklevel=3)
        self.reduce_range = reduce_range
        self.register_buffer("eps", _t(np.array([eps], np.float32), D.float32))
        if qscheme not in (per_tensor_affine, per_tensor_symmetric, per_channel_affine,
                           per_channel_symmetric, per_channel_affine_float_qparams):
            raise AssertionError("Default Observer only works for per_tensor_affine, "
                                 "per_tensor_symmetric, per_channel_affine, "
                                 "per_channel_symmetric and per_channel_float_qparams "
                                 "quantization scheme")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if reduce_range and dtype is D.quint8 and not self.has_customized_qrange \
                and qscheme in (per_tensor_symmetric, per_channel_symmetric):
            raise NotImplementedError("Cannot reduce range for symmetric                      "
                                      "                  quantization for quint8")
        self.quant_min, self.quant_max = _quant_range(dtype, reduce_range, quant_min, quant_max)

    def _qparams(self, min_val: np.ndarray, max_val: np.ndarray):
        """(scale float32, zero_point) arrays for these ranges, PyTorch's rule."""
        qmin, qmax = self.quant_min, self.quant_max
        f32 = np.float32
        min_neg = np.minimum(min_val, f32(0)).astype(np.float32)
        max_pos = np.maximum(max_val, f32(0)).astype(np.float32)
        eps = self.eps._data.astype(np.float32)
        if self.qscheme in (per_tensor_symmetric, per_channel_symmetric):
            max_pos = np.maximum(-min_neg, max_pos)
            scale = np.maximum(max_pos / f32((qmax - qmin) / 2), eps).astype(np.float32)
            # unsigned: the middle level, 128 for the full 0..255 range
            mid = 0
            if self.dtype in (D.quint8, D.uint8):
                mid = (qmin + qmax) // 2 if self.has_customized_qrange else 128
            zero_point = np.full(scale.shape, mid, np.int64)
            return scale, zero_point, D.int64
        if self.qscheme is per_channel_affine_float_qparams:
            scale = (max_val - min_val) / f32(qmax - qmin)
            scale = np.where(scale > eps, scale, np.ones_like(scale)).astype(np.float32)
            zero_point = (-min_val / scale).astype(np.float32)
            return scale, zero_point, D.float32
        scale = ((max_pos - min_neg) / f32(qmax - qmin)).astype(np.float32)
        scale = np.maximum(scale, eps).astype(np.float32)
        with np.errstate(all="ignore"):
            zero_point = qmin - np.rint(min_neg / scale).astype(np.int64)
        zero_point = np.clip(zero_point, qmin, qmax).astype(np.int32)
        return scale, zero_point, D.int32

    def _calculate(self, min_val: np.ndarray, max_val: np.ndarray):
        if not (np.all(np.isfinite(min_val)) and np.all(np.isfinite(max_val))) \
                or min_val.size == 0:
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default values.", stacklevel=3)
            shape = (1,) if min_val.ndim == 0 else min_val.shape
            return (_t(np.ones(shape, np.float32), D.float32),
                    _t(np.zeros(shape, np.int64), D.int64))
        if np.any(min_val > max_val):
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
        scale, zero_point, zdtype = self._qparams(min_val, max_val)
        if min_val.ndim == 0:
            scale, zero_point = scale.reshape(1), zero_point.reshape(1)
        return _t(scale, D.float32), _t(zero_point, zdtype)

    def reset_min_max_vals(self):
        """Forget the range seen so far."""
        self.min_val = _t(np.array(np.inf, np.float32), D.float32)
        self.max_val = _t(np.array(-np.inf, np.float32), D.float32)


def _batch(x: Tensor) -> np.ndarray:
    return np.asarray(x.detach()._data, np.float32)


class MinMaxObserver(UniformQuantizationObserverBase):
    """Records the running minimum and maximum of what passes through it and derives a scale
    and zero point from them.

    Args:
        dtype: the quantized dtype the qparams are for (``ember.quint8`` or ``ember.qint8``).
        qscheme: ``ember.per_tensor_affine`` or ``ember.per_tensor_symmetric``.
        reduce_range (bool): use one bit less of range.
        quant_min, quant_max (int, optional): a custom integer range.

    Example:
        >>> obs = ember.ao.quantization.MinMaxObserver()
        >>> _ = obs(ember.tensor([-1.0, 3.0]))
        >>> obs.calculate_qparams()
        (tensor([0.0157]), tensor([64], dtype=torch.int32))
    """

    def __init__(self, dtype=D.quint8, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.register_buffer("min_val", _t(np.array(np.inf, np.float32), D.float32))
        self.register_buffer("max_val", _t(np.array(-np.inf, np.float32), D.float32))

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = _batch(x_orig)
        lo = np.minimum(x.min(), self.min_val._data).astype(np.float32)
        hi = np.maximum(x.max(), self.max_val._data).astype(np.float32)
        self.min_val._data = np.asarray(lo)
        self.max_val._data = np.asarray(hi)
        return x_orig

    def calculate_qparams(self):
        """(scale, zero_point) tensors of one element each."""
        return self._calculate(self.min_val._data, self.max_val._data)

    def extra_repr(self):
        return f"min_val={float(self.min_val._data)}, max_val={float(self.max_val._data)}"


class MovingAverageMinMaxObserver(MinMaxObserver):
    """A ``MinMaxObserver`` whose range follows an exponential moving average of each batch's
    min and max (``averaging_constant`` weights the new batch), as QAT uses.

    Example:
        >>> obs = ember.ao.quantization.MovingAverageMinMaxObserver()
        >>> _ = obs(ember.tensor([-1.0, 3.0])); _ = obs(ember.tensor([-2.0, 6.0]))
        >>> round(float(obs.max_val), 2)
        3.03
    """

    def __init__(self, averaging_constant=0.01, dtype=D.quint8, qscheme=per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = _batch(x_orig)
        lo, hi = np.float32(x.min()), np.float32(x.max())
        old_lo, old_hi = self.min_val._data, self.max_val._data
        if np.isinf(old_lo) and np.isinf(old_hi) and old_lo > old_hi:  # the first batch
            new_lo, new_hi = lo, hi
        else:
            c = np.float32(self.averaging_constant)
            new_lo = old_lo + c * (lo - old_lo)
            new_hi = old_hi + c * (hi - old_hi)
        self.min_val._data = np.asarray(new_lo, np.float32)
        self.max_val._data = np.asarray(new_hi, np.float32)
        return x_orig


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Records the min and max of each slice along ``ch_axis`` (weights' output channels) and
    derives one scale and zero point per channel.

    Example:
        >>> obs = ember.ao.quantization.PerChannelMinMaxObserver()
        >>> _ = obs(ember.tensor([[-1.0, 3.0], [0.5, 1.0]]))
        >>> obs.calculate_qparams()[1]
        tensor([64,  0], dtype=torch.int32)
    """

    def __init__(self, ch_axis=0, dtype=D.quint8, qscheme=per_channel_affine,
                 reduce_range=False, quant_min=None, quant_max=None, factory_kwargs=None,
                 eps=_EPS, is_dynamic=False, **kwargs):
        if qscheme not in (per_channel_affine, per_channel_symmetric,
                           per_channel_affine_float_qparams):
            raise NotImplementedError(
                "PerChannelObserver's qscheme only support                     "
                "torch.per_channel_symmetric,                     torch.per_channel_affine and "
                "                    torch.per_channel_affine_float_qparams.")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", _t(np.zeros(0, np.float32), D.float32))
        self.register_buffer("max_val", _t(np.zeros(0, np.float32), D.float32))

    def _reduce(self, x):
        axis = self.ch_axis % x.ndim
        rest = tuple(i for i in range(x.ndim) if i != axis)
        return x.min(axis=rest), x.max(axis=rest)

    def _update(self, lo, hi):
        if self.min_val._data.size == 0:
            return lo, hi
        return np.minimum(lo, self.min_val._data), np.maximum(hi, self.max_val._data)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        lo, hi = self._update(*self._reduce(_batch(x_orig)))
        self.min_val._data = np.asarray(lo, np.float32)
        self.max_val._data = np.asarray(hi, np.float32)
        return x_orig

    def calculate_qparams(self):
        """(scales, zero_points): one per channel."""
        return self._calculate(self.min_val._data, self.max_val._data)

    def extra_repr(self):
        return f"min_val={self.min_val!r}, max_val={self.max_val!r}"

    def reset_min_max_vals(self):
        self.min_val = _t(np.zeros(0, np.float32), D.float32)
        self.max_val = _t(np.zeros(0, np.float32), D.float32)


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """``PerChannelMinMaxObserver`` with a moving average of each channel's range.

    Example:
        >>> obs = ember.ao.quantization.MovingAveragePerChannelMinMaxObserver()
        >>> _ = obs(ember.tensor([[-1.0, 3.0], [0.5, 1.0]]))
        >>> obs.max_val
        tensor([3., 1.])
    """

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=D.quint8,
                 qscheme=per_channel_affine, reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS, is_dynamic=False, **kwargs):
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def _update(self, lo, hi):
        if self.min_val._data.size == 0:
            return lo, hi
        c = np.float32(self.averaging_constant)
        old_lo, old_hi = self.min_val._data, self.max_val._data
        return old_lo + c * (lo - old_lo), old_hi + c * (hi - old_hi)


def _histc32(x: np.ndarray, bins: int, lo, hi) -> np.ndarray:
    """``torch.histc`` on float32 data, bin index ``(x - lo) * bins / (hi - lo)`` worked out in
    float32 as PyTorch does (a float64 formula puts some edge values one bin off)."""
    f32 = np.float32
    lo, hi = f32(lo), f32(hi)
    if lo == hi:  # a one-point range is widened by 1 each way
        lo, hi = lo - f32(1), hi + f32(1)
    inside = x[(x >= lo) & (x <= hi)]
    pos = ((inside - lo) * f32(bins) / (hi - lo)).astype(np.int64)
    return np.bincount(np.minimum(pos, bins - 1), minlength=bins).astype(np.float32)


def _linspace32(start, end, steps: int) -> np.ndarray:
    """float32 ``torch.linspace``: the step is rounded to float32, the first half counts up
    from ``start`` and the second half down from ``end``."""
    f32 = np.float32
    a, b = f32(start), f32(end)
    step = float((b - a) / f32(steps - 1))
    k = np.arange(steps)
    up = float(a) + step * k
    down = float(b) - step * (steps - 1 - k)
    return np.where(k < steps // 2, up, down).astype(np.float32)


def _cube_gap(lo, hi, density):
    """The integral of d**2 over [lo, hi] (times the density), all in float32."""
    return density * ((hi * hi * hi - lo * lo * lo) / np.float32(3))


class HistogramObserver(UniformQuantizationObserverBase):
    """Keeps a ``bins``-bin histogram of everything it has seen and picks the clipping range
    whose quantization to ``2 ** bits`` levels loses the least (the squared error of each
    value to its level's centre, integrated over the histogram).

    The histogram covers the running ``[min_val, max_val]``; when a batch widens that range the
    old counts are spread over ``upsample_rate`` sub-bins each and re-binned into the new range.
    ``calculate_qparams`` trims the histogram from whichever end frees more bins per quantile
    step (steps of 1e-5 of the total count) while the error keeps falling, then derives the
    scale and zero point from the trimmed range. Infinite inputs are dropped with a warning.

    Args:
        bins (int): number of histogram bins.
        dtype, qscheme, reduce_range, quant_min, quant_max, eps: as ``MinMaxObserver``
            (per-tensor schemes only).

    Example:
        >>> obs = ember.ao.quantization.HistogramObserver()
        >>> _ = obs(ember.tensor([-1.0, 0.0, 0.5, 3.0]))
        >>> int(obs.histogram.sum())
        4
        >>> obs.calculate_qparams()[0].shape
        torch.Size([1])
    """

    def __init__(self, bins: int = 2048, dtype=D.quint8, qscheme=per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, factory_kwargs=None,
                 eps=_EPS, is_dynamic=False, **kwargs):
        if qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise NotImplementedError(
                "HistogramObserver's qscheme only support torch.per_tensor_symmetric        "
                "             and torch.per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.bins = bins
        self.register_buffer("histogram", _t(np.zeros(bins, np.float32), D.float32))
        self.register_buffer("min_val", _t(np.array(np.inf, np.float32), D.float32))
        self.register_buffer("max_val", _t(np.array(-np.inf, np.float32), D.float32))
        # the destination levels: the dtype's full width, even under reduce_range
        bits = {D.qint32: 32, D.int32: 32, D.int16: 16}.get(dtype, 8)
        self.dst_nbins = 2 ** bits
        self.upsample_rate = 16

    # -- accumulation ---------------------------------------------------------------------

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        if not x_orig.dtype.is_floating_point:
            from ..._ops.inplace import _type_title

            raise NotImplementedError(f'"histogram_cpu" not implemented for '
                                      f"'{_type_title(x_orig.dtype)}'")
        x = _batch(x_orig).reshape(-1)
        if np.isinf(x).any():
            # an infinite range would make every bin infinitely wide; such values are clamped
            # at quantization time anyway
            warnings.warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[~np.isinf(x)]
            if x.size == 0:
                return x_orig
        lo, hi = np.float32(x.min()), np.float32(x.max())
        old_lo = np.float32(self.min_val._data)
        old_hi = np.float32(self.max_val._data)
        first = old_lo == np.inf or old_hi == -np.inf
        if np.isnan(lo) or np.isnan(hi):
            if first:  # PyTorch has stored the NaN range before histc refuses it
                self.min_val._data = np.asarray(lo, np.float32)
                self.max_val._data = np.asarray(hi, np.float32)
            raise RuntimeError("torch.histc: range of [nan, nan] is not finite")
        if first:  # the first batch sets the range
            self.reset_histogram(x, lo, hi)
            return x_orig
        new_lo, new_hi = min(old_lo, lo), max(old_hi, hi)
        counts = _histc32(x, self.bins, new_lo, new_hi)
        hist = self.histogram._data.astype(np.float32)
        if new_lo == old_lo and new_hi == old_hi:
            merged = hist + counts
        else:
            merged = self._combine_histograms(hist, old_lo, old_hi, counts, new_lo, new_hi)
        self.histogram._data = merged.astype(np.float32)
        self.min_val._data = np.asarray(new_lo, np.float32)
        self.max_val._data = np.asarray(new_hi, np.float32)
        return x_orig

    def reset_histogram(self, x, min_val, max_val):
        """Start over from batch ``x`` whose range is ``[min_val, max_val]``."""
        data = x if isinstance(x, np.ndarray) else _batch(x).reshape(-1)
        lo, hi = np.float32(min_val), np.float32(max_val)
        self.min_val._data = np.asarray(lo, np.float32)
        self.max_val._data = np.asarray(hi, np.float32)
        self.histogram._data = _histc32(data, self.bins, lo, hi)

    def _combine_histograms(self, orig_hist, orig_min, orig_max, update_hist, update_min,
                            update_max):
        """``update_hist`` (over the new, wider range) plus the old histogram re-binned into
        that range (arrays in, array out)."""
        if update_min == orig_min and update_max == orig_max:
            return orig_hist + update_hist
        if orig_min == orig_max:
            # every old value sat at one point: move its whole count to that point's new bin
            point = _histc32(np.array([orig_min], np.float32), self.bins, update_min,
                             update_max)
            return point * np.float32(orig_hist.sum(dtype=np.float64)) + update_hist
        if not (update_min <= orig_min and update_max >= orig_max):
            raise AssertionError("the updated range must contain the old one")
        return update_hist + self._upscale_histogram(orig_hist, orig_min, orig_max,
                                                     update_min, update_max)

    def _upscale_histogram(self, histogram, orig_min, orig_max, update_min, update_max):
        """Re-bin ``histogram`` (over ``[orig_min, orig_max]``) into ``bins`` bins over the
        wider ``[update_min, update_max]``: each old bin is cut into ``upsample_rate`` equal
        parts that land, whole, in the new bin holding their midpoint."""
        f32, r = np.float32, self.upsample_rate
        fine = np.repeat(np.asarray(histogram, f32), r) / f32(r)
        width = (f32(orig_max) - f32(orig_min)) / f32(self.bins * r)
        mids = _linspace32(orig_min, orig_max, self.bins * r + 1)[:-1] + f32(0.5) * width
        edges = _linspace32(update_min, update_max, self.bins + 1)
        where = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, self.bins - 1)
        out = np.zeros(self.bins, f32)
        np.add.at(out, where, fine)  # float32, in index order, like a sequential loop
        return out

    # -- the range search -----------------------------------------------------------------

    def _get_norm(self, delta_begin, delta_end, density):
        """Squared error integrated from ``delta_begin`` to ``delta_end`` around a level's
        centre, scaled by ``density``."""
        return _cube_gap(np.float32(delta_begin), np.float32(delta_end), density)

    def _compute_quantization_error(self, next_start_bin: int, next_end_bin: int) -> float:
        """The L2 error of spreading bins ``next_start_bin..next_end_bin`` over ``dst_nbins``
        levels (values outside are clipped into the end levels)."""
        f32 = np.float32
        bins, nlev = self.bins, self.dst_nbins
        src_w = (float(self.max_val._data) - float(self.min_val._data)) / bins
        dst_w = src_w * (next_end_bin - next_start_bin + 1) / nlev
        if dst_w == 0.0:
            return 0.0
        sw, dw, half = f32(src_w), f32(dst_w), f32(dst_w / 2)
        begin = np.arange(-next_start_bin, bins - next_start_bin).astype(f32) * sw
        end = begin + sw
        top = f32(nlev - 1)
        first = np.clip(np.floor_divide(begin, dw), f32(0), top)
        last = np.clip(np.floor_divide(end, dw), f32(0), top)
        density = self.histogram._data.astype(f32) / sw
        # the part of each source bin inside its first level, the whole levels it spans,
        # and the part inside its last level
        err = _cube_gap(begin - (first + f32(0.5)) * dw,
                        np.full(bins, half, f32), density)
        err = err + (last - first - f32(1)) * _cube_gap(f32(-half), half, density)
        err = err + _cube_gap(f32(-half), end - (last * dw + half), density)
        return float(f32(err.sum(dtype=np.float64)))

    def _non_linear_param_search(self):
        """The trimmed ``(min, max)`` (float32 tensors) with the least quantization error."""
        f32 = np.float32
        hist = self.histogram._data.astype(f32)
        bins = self.bins
        if hist.shape[0] != bins:
            raise AssertionError("bins mismatch")
        lo, hi = f32(self.min_val._data), f32(self.max_val._data)
        total = float(f32(hist.sum(dtype=np.float64)))
        # float64 running total rounded to float32, as Python floats for bisect
        csum = np.cumsum(hist, dtype=np.float64).astype(f32).tolist()
        step = 1e-5
        # the quantile bounds as PyTorch walks them: repeated float64 += / -= of the step
        n = int(1.0 / step) + 2
        alphas = np.cumsum(np.concatenate([[0.0], np.full(n, step)]))
        betas = np.cumsum(np.concatenate([[1.0], np.full(n, -step)]))
        # each bound times the total, rounded to float32 as it is compared with float32 sums
        a_cut = (alphas * total).astype(f32).tolist()
        b_cut = (betas * total).astype(f32).tolist()
        alphas, betas = alphas.tolist(), betas.tolist()
        ia = ib = 0
        start, stop = 0, bins - 1
        best = float("inf")
        while alphas[ia] < betas[ib]:
            # first bin at or after `start` (before `stop`) whose running count reaches the
            # next lower quantile, and last bin (after `start`) not beyond the upper one
            left = bisect.bisect_left(csum, a_cut[ia + 1], start, stop)
            right = bisect.bisect_right(csum, b_cut[ib + 1], start + 1, stop + 1) - 1
            right = max(right, start)
            cand_start, cand_stop = start, stop
            if left - start > stop - right:
                cand_start = left
                ia += 1
            else:
                cand_stop = right
                ib += 1
            if cand_start == start and cand_stop == stop:
                continue
            err = self._compute_quantization_error(cand_start, cand_stop)
            if err > best:
                break
            best = err
            start, stop = cand_start, cand_stop
        width = (hi - lo) / f32(bins)
        new_lo = lo + width * f32(start)
        new_hi = lo + width * f32(stop + 1)
        return _t(np.asarray(new_lo, f32), D.float32), _t(np.asarray(new_hi, f32), D.float32)

    def calculate_qparams(self):
        """(scale, zero_point) for the range the histogram search settles on."""
        lo, hi = float(self.min_val._data), float(self.max_val._data)
        if lo == np.inf and hi == -np.inf:
            warnings.warn("must run observer before calling calculate_qparams.               "
                          "                     Returning default scale and zero point ",
                          stacklevel=2)
            return _t(np.ones(1, np.float32), D.float32), _t(np.zeros(1, np.int64), D.int64)
        if self.histogram.shape[0] != self.bins:
            raise AssertionError("The number of bins in histogram should be equal to the "
                                 "number of bins supplied while making this observer")
        new_lo, new_hi = self._non_linear_param_search()
        return self._calculate(new_lo._data, new_hi._data)

    def extra_repr(self):
        return f"min_val={float(self.min_val._data)}, max_val={float(self.max_val._data)}"


class PlaceholderObserver(ObserverBase):
    """Observes nothing: it stands for a dtype (and, with ``is_dynamic``, for activations
    quantized per batch at run time, as dynamic quantization does).

    Example:
        >>> ember.ao.quantization.PlaceholderObserver(dtype=ember.float16).dtype
        torch.float16
    """

    def __init__(self, dtype=D.float32, custom_op_name="", compute_dtype=None,
                 quant_min=None, quant_max=None, qscheme=None, eps=None, is_dynamic=False):
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        if qscheme is None:
            qscheme = per_tensor_affine
        self.quant_min, self.quant_max, self.qscheme, self.eps = quant_min, quant_max, \
            qscheme, eps
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")

    def extra_repr(self):
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"


class RecordingObserver(ObserverBase):
    """Records (a clone of) every tensor it sees, for debugging: ``get_tensor_value()``
    returns them in order.

    Example:
        >>> rec = ember.ao.quantization.RecordingObserver()
        >>> _ = rec(ember.ones(2))
        >>> rec.get_tensor_value()
        [tensor([1., 1.])]
    """

    def __init__(self, dtype=D.quint8):
        super().__init__(dtype=dtype, is_dynamic=False)
        self.tensor_val = []

    def forward(self, x):
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for RecordingObserver")

    def get_tensor_value(self):
        return self.tensor_val


class NoopObserver(ObserverBase):
    """Observes nothing (for float16 weights).

    Example:
        >>> ember.ao.quantization.NoopObserver().dtype
        torch.float16
    """

    def __init__(self, dtype=D.float16, custom_op_name=""):
        super().__init__(dtype=dtype)
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for NoopObserver")


class FixedQParamsObserver(ObserverBase):
    """Observes nothing and always answers the ``scale``/``zero_point`` it was given: for ops
    whose output range is known in advance (sigmoid's [0, 1], tanh's [-1, 1]).

    Example:
        >>> obs = ember.ao.quantization.FixedQParamsObserver(scale=1 / 256, zero_point=0)
        >>> [t.tolist() for t in obs.calculate_qparams()]
        [[0.00390625], [0]]
    """

    def __init__(self, scale, zero_point, dtype=D.quint8, qscheme=per_tensor_affine,
                 quant_min=0, quant_max=255, is_dynamic=False, **kwargs):
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.quant_min, self.quant_max = quant_min, quant_max
        # (buffers, so a state_dict carries them as torch's does)
        self.register_buffer("scale", _t(np.array([scale], np.float32), D.float32))
        self.register_buffer("zero_point", _t(np.array([zero_point], np.int32), D.int32))
        self.qscheme = qscheme

    def forward(self, X):
        return X

    def calculate_qparams(self):
        return self.scale, self.zero_point


class ReuseInputObserver(ObserverBase):
    """Observes nothing: the op's output is to share its input's quantization parameters
    (``reshape``, ``view``), so it never computes its own.

    Example:
        >>> ember.ao.quantization.ReuseInputObserver()(ember.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self):
        super().__init__(D.quint8, is_dynamic=False)

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for ReuseInputObserver")


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_weight_observer = MinMaxObserver.with_args(dtype=D.qint8,
                                                   qscheme=per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=D.qint8, qscheme=per_tensor_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=D.qint8, qscheme=per_channel_symmetric)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=D.quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=D.quint8, qscheme=per_channel_affine_float_qparams, ch_axis=0)
# the fixed ranges of sigmoid-like ([0, 1]: 1/256 steps from 0) and tanh-like ([-1, 1]: 2/256
# steps around 128) outputs
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=D.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=D.quint8, quant_min=0, quant_max=255)
default_reuse_input_observer = ReuseInputObserver


def get_observer_state_dict(mod):
    """The entries of ``mod.state_dict()`` that belong to observers (``activation_post_process``
    in the key): what calibration learned, to save and load apart from the weights.

    Example:
        >>> m = ember.ao.quantization.QuantStub(ember.ao.quantization.default_qconfig)
        >>> m = ember.ao.quantization.prepare(ember.nn.Sequential(m))
        >>> list(ember.ao.quantization.get_observer_state_dict(m))
        ['0.activation_post_process.eps', '0.activation_post_process.min_val', \
'0.activation_post_process.max_val']
    """
    state = mod.state_dict()
    observed = type(state)((k, v) for k, v in state.items() if "activation_post_process" in k)
    observed._metadata = getattr(state, "_metadata", None)
    return observed
