"""``QConfigMapping``: which qconfig applies where in a model, as ``torch.ao.quantization``
describes it for FX graph mode quantization: a global default, then per object type (module
class, function or method name), per module-name regex, per module name, and per
(module name, object type, call index), the later kinds taking precedence.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ... import conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh
from ...nn import functional as F
from ...nn.modules.activation import Hardsigmoid, PReLU, Sigmoid, Softmax, Tanh
from ...nn.modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ...nn.modules.normalization import LayerNorm
from .fake_quantize import (
    default_fixed_qparams_range_0to1_fake_quant,
    default_fixed_qparams_range_neg1to1_fake_quant,
    default_weight_fake_quant,
)
from .observer import (
    HistogramObserver,
    MinMaxObserver,
    NoopObserver,
    ReuseInputObserver,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
    default_placeholder_observer,
    default_weight_observer,
)
from .qconfig import QConfig, get_default_qat_qconfig, get_default_qconfig

__all__ = ["QConfigMapping", "get_default_qconfig_mapping", "get_default_qat_qconfig_mapping"]

# the to_dict()/from_dict() keys, in the order the kinds take precedence (lowest first)
_KEYS = (("", "global_qconfig"), ("object_type", "object_type_qconfigs"),
         ("module_name_regex", "module_name_regex_qconfigs"),
         ("module_name", "module_name_qconfigs"),
         ("module_name_object_type_order", "module_name_object_type_order_qconfigs"))


class QConfigMapping:
    """Where each qconfig applies. The setters return the mapping, so they chain; setting a
    key again replaces its qconfig in place (the order of first setting is kept).

    Example:
        >>> Q = ember.ao.quantization
        >>> qm = (Q.QConfigMapping().set_global(Q.get_default_qconfig("x86"))
        ...       .set_object_type(ember.nn.Linear, None).set_module_name("head", None))
        >>> sorted(k for k, v in qm.to_dict().items() if v)
        ['', 'module_name', 'object_type']
    """

    def __init__(self) -> None:
        self.global_qconfig = None
        self.object_type_qconfigs: OrderedDict = OrderedDict()
        self.module_name_regex_qconfigs: OrderedDict = OrderedDict()
        self.module_name_qconfigs: OrderedDict = OrderedDict()
        self.module_name_object_type_order_qconfigs: OrderedDict = OrderedDict()

    def set_global(self, global_qconfig) -> QConfigMapping:
        """The qconfig for everything no other entry matches."""
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type: Callable | str, qconfig) -> QConfigMapping:
        """The qconfig for a module class, a function, or a method named by a string."""
        self.object_type_qconfigs[object_type] = qconfig
        return self

    def set_module_name_regex(self, module_name_regex: str, qconfig) -> QConfigMapping:
        """The qconfig for modules whose qualified name matches the regex (first set, first
        tried)."""
        self.module_name_regex_qconfigs[module_name_regex] = qconfig
        return self

    def set_module_name(self, module_name: str, qconfig) -> QConfigMapping:
        """The qconfig for the module of this qualified name."""
        self.module_name_qconfigs[module_name] = qconfig
        return self

    def set_module_name_object_type_order(self, module_name: str, object_type: Callable,
                                          index: int, qconfig) -> QConfigMapping:
        """The qconfig for the ``index``-th call of ``object_type`` inside ``module_name``."""
        self.module_name_object_type_order_qconfigs[(module_name, object_type, index)] = qconfig
        return self

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for _, attr in _KEYS:
            lines.append(f" {attr}")
            value = getattr(self, attr)
            if isinstance(value, OrderedDict) and value:
                lines += [f"  {key}: {qconfig}" for key, qconfig in value.items()]
            else:
                lines.append(f"  {value}")
        return "\n".join(lines) + "\n)"

    def to_dict(self) -> dict[str, Any]:
        """The mapping as the dict ``from_dict`` reads: ``""`` for the global qconfig, and for
        each other kind a list of ``(key, qconfig)`` pairs (the order entries are flattened:
        ``(module_name, object_type, index, qconfig)``).

        Example:
            >>> ember.ao.quantization.QConfigMapping().to_dict()["object_type"]
            []
        """
        out: dict[str, Any] = {"": self.global_qconfig}
        for key, attr in _KEYS[1:]:
            items = getattr(self, attr).items()
            if key == "module_name_object_type_order":
                out[key] = [(*k, qconfig) for k, qconfig in items]
            else:
                out[key] = list(items)
        return out

    @classmethod
    def from_dict(cls, qconfig_dict: dict[str, Any]) -> QConfigMapping:
        """A mapping from a ``to_dict``-style dict (missing kinds stay empty, unknown keys are
        ignored).

        Example:
            >>> qm = ember.ao.quantization.QConfigMapping.from_dict(
            ...     {"module_name": [("fc", None)]})
            >>> list(qm.module_name_qconfigs)
            ['fc']
        """
        mapping = cls()
        if "" in qconfig_dict:
            mapping.set_global(qconfig_dict[""])
        for object_type, qconfig in qconfig_dict.get("object_type", []):
            mapping.set_object_type(object_type, qconfig)
        for regex, qconfig in qconfig_dict.get("module_name_regex", []):
            mapping.set_module_name_regex(regex, qconfig)
        for name, qconfig in qconfig_dict.get("module_name", []):
            mapping.set_module_name(name, qconfig)
        for name, object_type, index, qconfig in qconfig_dict.get(
                "module_name_object_type_order", []):
            mapping.set_module_name_object_type_order(name, object_type, index, qconfig)
        return mapping


# ops whose output range is fixed, and so whose quantization parameters are too
_FIXED_RANGE_OPS = (
    (Hardsigmoid, "0to1"), (F.hardsigmoid, "0to1"), ("hardsigmoid", "0to1"),
    ("hardsigmoid_", "0to1"), (Sigmoid, "0to1"), (sigmoid, "0to1"), ("sigmoid", "0to1"),
    ("sigmoid_", "0to1"), (Softmax, "0to1"), (Tanh, "neg1to1"), (tanh, "neg1to1"),
    ("tanh", "neg1to1"), ("tanh_", "neg1to1"))


def _default_mapping(is_qat: bool, backend: str, version: int) -> QConfigMapping:
    qconfig = (get_default_qat_qconfig if is_qat else get_default_qconfig)(backend, version)
    # fbgemm/x86 have no per-channel kernels for transposed convolutions (nor a use for one
    # on fixed-range ops): those take a per-tensor weight observer
    per_tensor = backend in ("fbgemm", "x86")
    weight = (default_weight_fake_quant if is_qat else default_weight_observer) \
        if per_tensor else qconfig.weight
    transposed = QConfig(activation=qconfig.activation, weight=weight)
    mapping = QConfigMapping().set_global(qconfig)
    mapping.set_object_type("reshape", QConfig(activation=ReuseInputObserver,
                                               weight=NoopObserver))
    for op in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, conv_transpose1d,
               conv_transpose2d, conv_transpose3d):
        mapping.set_object_type(op, transposed)
    layer_norm = QConfig(activation=qconfig.activation, weight=default_placeholder_observer)
    mapping.set_object_type(F.layer_norm, layer_norm).set_object_type(LayerNorm, layer_norm)
    mapping.set_object_type(PReLU, QConfig(activation=HistogramObserver, weight=MinMaxObserver))
    fixed = {"0to1": (default_fixed_qparams_range_0to1_fake_quant if is_qat
                      else default_fixed_qparams_range_0to1_observer),
             "neg1to1": (default_fixed_qparams_range_neg1to1_fake_quant if is_qat
                         else default_fixed_qparams_range_neg1to1_observer)}
    # (every backend observes these weights per tensor)
    fixed_weight = default_weight_fake_quant if is_qat else default_weight_observer
    made: dict[str, QConfig] = {}
    for op, kind in _FIXED_RANGE_OPS:
        if kind not in made:
            made[kind] = QConfig(activation=fixed[kind], weight=fixed_weight)
        mapping.set_object_type(op, made[kind])
    return mapping


def get_default_qconfig_mapping(backend: str = "x86", version: int = 0) -> QConfigMapping:
    """The default post-training ``QConfigMapping`` for ``backend``: ``get_default_qconfig``
    globally, with the special cases (fixed-range activations such as sigmoid and tanh,
    transposed convolutions, layer norm, reshape).

    Example:
        >>> qm = ember.ao.quantization.get_default_qconfig_mapping("x86")
        >>> len(qm.object_type_qconfigs)
        23
    """
    return _default_mapping(False, backend, version)


def get_default_qat_qconfig_mapping(backend: str = "x86", version: int = 1) -> QConfigMapping:
    """The default quantization-aware-training ``QConfigMapping`` for ``backend``
    (``get_default_qat_qconfig`` globally; fake-quantize modules in the special cases).

    Example:
        >>> qm = ember.ao.quantization.get_default_qat_qconfig_mapping()
        >>> type(qm.object_type_qconfigs[ember.nn.Tanh].activation()).__name__
        'FixedQParamsFakeQuantize'
    """
    return _default_mapping(True, backend, version)
