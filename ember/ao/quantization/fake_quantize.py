"""Fake-quantize modules for quantization-aware training: an observer tracks the range, and the
values are rounded to the quantized levels it implies (straight-through gradient)."""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._fake_quantize import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from ..._quantized_tensor import (
    choose_qparams,
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
)
from ..._tensor import Tensor
from ...nn.modules.module import Module
from .observer import (
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    _with_args,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
)

__all__ = ["FakeQuantizeBase", "FakeQuantize", "FusedMovingAvgObsFakeQuantize",
           "default_fake_quant", "default_weight_fake_quant",
           "default_per_channel_weight_fake_quant", "default_fused_act_fake_quant",
           "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
           "disable_fake_quant", "enable_fake_quant", "disable_observer", "enable_observer",
           "FixedQParamsFakeQuantize", "default_fixed_qparams_range_0to1_fake_quant",
           "default_fixed_qparams_range_neg1to1_fake_quant"]


def _flag(on: bool) -> Tensor:
    return Tensor._make(np.array([1 if on else 0], np.uint8), D.uint8)


class FakeQuantizeBase(Module):
    """The switches of a fake-quantize module: ``fake_quant_enabled`` and ``observer_enabled``
    (uint8 buffers), with ``enable_*``/``disable_*`` methods.

    Example:
        >>> fq = ember.ao.quantization.FakeQuantize()
        >>> fq.disable_observer(); int(fq.observer_enabled[0])
        0
    """

    with_args = classmethod(_with_args)

    def __init__(self):
        super().__init__()
        self.register_buffer("fake_quant_enabled", _flag(True))
        self.register_buffer("observer_enabled", _flag(True))

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled._data[0] = 1 if enabled else 0

    def disable_fake_quant(self) -> None:
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled._data[0] = 1 if enabled else 0

    def disable_observer(self) -> None:
        self.enable_observer(False)


class FakeQuantize(FakeQuantizeBase):
    """Observe the input's range (``activation_post_process``), then fake-quantize it with the
    scale and zero point that range gives: what a quantized model will see, in float, with a
    straight-through gradient.

    Args:
        observer: the observer class (default ``MovingAverageMinMaxObserver``).
        quant_min, quant_max (int, optional): the integer range.
        **observer_kwargs: passed to the observer (``dtype``, ``qscheme``, ``reduce_range`` ...).

    Example:
        >>> fq = ember.ao.quantization.FakeQuantize()
        >>> fq(ember.tensor([-1.0, 0.3, 3.0]))
        tensor([-1.0039,  0.2980,  2.9961])
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic=False, **observer_kwargs):
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            observer_kwargs.update(quant_min=quant_min, quant_max=quant_max)
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        app = self.activation_post_process
        self.quant_min, self.quant_max = app.quant_min, app.quant_max
        self.is_dynamic = app.is_dynamic
        zdtype = D.float32 if app.qscheme is per_channel_affine_float_qparams else D.int32
        self.register_buffer("scale", Tensor._make(np.ones(1, np.float32), D.float32))
        self.register_buffer("zero_point", Tensor._make(np.zeros(1, zdtype.np_dtype), zdtype))
        self.dtype = app.dtype
        self.qscheme = app.qscheme
        self.ch_axis = getattr(app, "ch_axis", -1)
        self.is_per_channel = self.qscheme in (per_channel_affine, per_channel_symmetric,
                                               per_channel_affine_float_qparams)
        if self.qscheme not in (per_tensor_affine, per_tensor_symmetric) \
                and not self.is_per_channel:
            raise AssertionError("Only per channel and per tensor quantization are supported "
                                 "in fake quantize got qscheme: " + str(self.qscheme))

    def calculate_qparams(self):
        """The observer's current (scale, zero_point)."""
        return self.activation_post_process.calculate_qparams()

    def _forward_qparams(self):
        """The (scale, zero_point) the forward stores in ``scale``/``zero_point``."""
        return self.calculate_qparams()

    def forward(self, X):
        if self.observer_enabled._data[0] == 1:
            self.activation_post_process(X.detach())
            scale, zero_point = self._forward_qparams()
            self.scale = Tensor._make(scale._data.astype(np.float32), D.float32)
            self.zero_point = Tensor._make(zero_point._data.astype(
                self.zero_point._data.dtype), self.zero_point._dtype)
        if self.fake_quant_enabled._data[0] == 1:
            if self.is_per_channel:
                X = fake_quantize_per_channel_affine(X, self.scale, self.zero_point,
                                                     self.ch_axis, self.quant_min,
                                                     self.quant_max)
            else:
                X = fake_quantize_per_tensor_affine(X, self.scale, self.zero_point,
                                                    self.quant_min, self.quant_max)
        return X

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled!r}, "
                f"observer_enabled={self.observer_enabled!r}, quant_min={self.quant_min}, "
                f"quant_max={self.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, "
                f"ch_axis={self.ch_axis}, scale={self.scale!r}, "
                f"zero_point={self.zero_point!r}")


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """``FakeQuantize`` with a moving-average observer (PyTorch runs both in one fused kernel;
    ember computes the same steps one after the other).

    Example:
        >>> fq = ember.ao.quantization.FusedMovingAvgObsFakeQuantize()
        >>> fq(ember.tensor([-1.0, 3.0])).shape
        torch.Size([2])
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                 **observer_kwargs):
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        # the fused kernel's switches are int64
        self.fake_quant_enabled = Tensor._make(np.array([1], np.int64), D.int64)
        self.observer_enabled = Tensor._make(np.array([1], np.int64), D.int64)

    def _forward_qparams(self):
        """The fused kernel's qparams: FBGEMM's rule (``choose_qparams``) per channel, with
        symmetric schemes keeping 0 at zero point 0 where the range straddles it. Only the
        forward's ``scale``/``zero_point`` buffers use it: ``calculate_qparams`` (so
        ``convert``) asks the observer, whose rule can differ in the last bits (per tensor)
        or more (per-channel symmetric divides by 127.5, not 127), as in PyTorch."""
        app = self.activation_post_process
        lo = np.atleast_1d(app.min_val._data)
        hi = np.atleast_1d(app.max_val._data)
        if lo.size == 0 or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            return self.calculate_qparams()
        symmetric = self.qscheme in (per_tensor_symmetric, per_channel_symmetric)
        pairs = [choose_qparams(a, b, self.quant_min, self.quant_max, symmetric)
                 for a, b in zip(lo, hi)]
        scale = np.array([p[0] for p in pairs], np.float32)
        zero_point = np.array([p[1] for p in pairs], np.int32)
        return Tensor._make(scale, D.float32), Tensor._make(zero_point, D.int32)

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled!r}, "
                f"observer_enabled={self.observer_enabled!r}, scale={self.scale!r}, "
                f"zero_point={self.zero_point!r}, dtype={self.dtype}, "
                f"quant_min={self.quant_min}, quant_max={self.quant_max}, "
                f"qscheme={self.qscheme}, "
                f"reduce_range={self.activation_post_process.reduce_range}")


class FixedQParamsFakeQuantize(FakeQuantizeBase):
    """Fake-quantize with parameters fixed in advance by a ``FixedQParamsObserver`` (the
    outputs of sigmoid, tanh, softmax ... have a known range): nothing is learnt from data.

    Example:
        >>> Q = ember.ao.quantization
        >>> fq = Q.FixedQParamsFakeQuantize(Q.default_fixed_qparams_range_0to1_observer)
        >>> fq(ember.tensor([0.3, 2.0, -1.0]))
        tensor([0.3008, 0.9961, 0.0000])
    """

    def __init__(self, observer):
        super().__init__()
        self.activation_post_process = observer()
        app = self.activation_post_process
        self._observer_ctr = observer
        # the observer's own tensors, also listed as this module's buffers (as in torch)
        self.register_buffer("scale", app.scale)
        self.register_buffer("zero_point", app.zero_point)
        self.dtype, self.qscheme = app.dtype, app.qscheme
        self.quant_min, self.quant_max = app.quant_min, app.quant_max
        if self.qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise AssertionError("Only per tensor quantization is supported "
                                 "FixedQParamsFakeQuantize module, got qscheme:"
                                 + str(self.qscheme))

    def calculate_qparams(self):
        return self.scale, self.zero_point

    def forward(self, X):
        if self.fake_quant_enabled._data[0] == 1:
            X = fake_quantize_per_tensor_affine(X, self.scale, self.zero_point, self.quant_min,
                                                self.quant_max)
        return X

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled!r}, "
                f"observer_enabled={self.observer_enabled!r}, scale={self.scale!r}, "
                f"zero_point={self.zero_point!r}, dtype={self.dtype}, "
                f"quant_min={self.quant_min}, quant_max={self.quant_max}, "
                f"qscheme={self.qscheme}")


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=D.quint8,
    qscheme=per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=D.qint8,
    qscheme=per_tensor_symmetric, reduce_range=False)
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=D.qint8, qscheme=per_channel_symmetric, reduce_range=False, ch_axis=0)
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=D.quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=D.qint8,
    qscheme=per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=D.qint8, qscheme=per_channel_symmetric)


def _apply_to_fake_quants(method: str):
    def fn(mod):
        """Call this switch on a fake-quantize module (``model.apply(...)``); other modules
        are left alone.

        Example:
            >>> _ = ember.nn.Sequential(ember.ao.quantization.FakeQuantize()).apply(
            ...     ember.ao.quantization.disable_observer)
        """
        if isinstance(mod, FakeQuantizeBase):
            getattr(mod, method)()

    fn.__name__ = fn.__qualname__ = method
    return fn


disable_fake_quant = _apply_to_fake_quants("disable_fake_quant")
enable_fake_quant = _apply_to_fake_quants("enable_fake_quant")
disable_observer = _apply_to_fake_quants("disable_observer")
enable_observer = _apply_to_fake_quants("enable_observer")
default_fixed_qparams_range_0to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_0to1_observer)
default_fixed_qparams_range_neg1to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_neg1to1_observer)
