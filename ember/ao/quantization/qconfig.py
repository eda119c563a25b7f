"""QConfig: which observer (or fake-quantize) classes watch a module's activations and
weights, and the stock configurations per backend."""

from __future__ import annotations

from collections import namedtuple

from ... import _dtype as D
from ...nn.modules.module import Module
from .fake_quantize import (
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
)
from .observer import (
    HistogramObserver,
    MovingAverageMinMaxObserver,
    PlaceholderObserver,
    default_dynamic_quant_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)

__all__ = ["QConfig", "QConfigDynamic", "default_qconfig", "default_dynamic_qconfig",
           "float16_dynamic_qconfig", "per_channel_dynamic_qconfig", "default_qat_qconfig",
           "default_per_channel_qconfig", "get_default_qconfig", "get_default_qat_qconfig",
           "qconfig_equals"]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """The observer classes for a module's output (``activation``) and weight (``weight``):
    classes or ``with_args`` partials, never instances (each module gets fresh ones).

    Example:
        >>> from ember.ao.quantization import QConfig, MinMaxObserver
        >>> qc = QConfig(activation=MinMaxObserver.with_args(quant_min=0, quant_max=127),
        ...              weight=MinMaxObserver.with_args(dtype=ember.qint8))
        >>> qc.weight().dtype
        torch.qint8
    """

    __slots__ = ()

    def __new__(cls, activation, weight):
        if isinstance(activation, Module) or isinstance(weight, Module):
            raise ValueError(
                "QConfig received observer instance, please pass observer class instead. "
                "Use MyObserver.with_args(x=1) to override arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


QConfigDynamic = QConfig

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
float16_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=D.float16, is_dynamic=True),
    weight=PlaceholderObserver.with_args(dtype=D.float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)

_BACKENDS = ("x86", "fbgemm", "qnnpack", "onednn")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """The post-training static quantization config for a backend: ``"x86"``/``"fbgemm"``
    (reduced-range activations, per-channel weights), ``"qnnpack"`` (full range, per-tensor
    weights) or ``"onednn"``.

    Example:
        >>> ember.ao.quantization.get_default_qconfig("qnnpack").weight().dtype
        torch.qint8
    """
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of "
                             f"{list(_BACKENDS)}")
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not "
                             "supported. Version number must be 0")
    if backend in ("x86", "fbgemm"):
        return QConfig(activation=HistogramObserver.with_args(reduce_range=True),
                       weight=default_per_channel_weight_observer)
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=default_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                   weight=default_per_channel_weight_observer)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """The quantization-aware-training config for a backend (fake-quantize modules with
    moving-average observers).

    Example:
        >>> ember.ao.quantization.get_default_qat_qconfig("x86").activation().quant_max
        127
    """
    if backend not in _BACKENDS:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of "
                             f"{list(_BACKENDS)}")
    # torch names reduce_range for every backend but onednn (whose default it keeps)
    reduce = {} if backend == "onednn" else {"reduce_range": backend in ("x86", "fbgemm")}
    if version == 0:
        weight = (default_per_channel_weight_fake_quant if backend != "qnnpack"
                  else default_weight_fake_quant)
        activation = (FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                             quant_max=255) if backend == "onednn"
                      else default_fake_quant.with_args(**reduce))
        return QConfig(activation=activation, weight=weight)
    weight = (default_fused_per_channel_wt_fake_quant if backend != "qnnpack"
              else default_fused_wt_fake_quant)
    return QConfig(activation=FusedMovingAvgObsFakeQuantize.with_args(
        observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, **reduce),
        weight=weight)


def qconfig_equals(q1, q2) -> bool:
    """Whether two qconfigs name the same observers with the same arguments.

    Example:
        >>> Q = ember.ao.quantization
        >>> Q.qconfig_equals(Q.default_qconfig, Q.default_qconfig)
        True
    """
    if q1 is None or q2 is None:
        return q1 == q2
    return repr(q1) == repr(q2)

