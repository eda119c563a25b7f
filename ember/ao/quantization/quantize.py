"""Eager-mode quantization workflows: ``quantize_dynamic``; ``prepare`` / ``convert`` (static,
post-training); ``prepare_qat`` / ``convert`` (quantization-aware training).

``prepare`` gives every module that has a quantized counterpart (and every ``QuantStub``) an
``activation_post_process`` observer, run by a forward hook on the module's output.
``convert`` swaps each such module for its quantized class (``from_float``). Modules with no
quantized class that keep the input's scale in PyTorch (ReLU, max and average pooling,
Flatten, Dropout, Identity) keep their class name and are given a form that accepts quantized
tensors, since ember's functional ops do not take them (PyTorch's do).
"""

from __future__ import annotations

import copy
import functools
import warnings

from ... import nn
from ..._quantized_tensor import QuantizedTensor, quantize_per_tensor
from ..nn import intrinsic as nni
from ..nn import quantized as nnq
from ..nn.quantized import dynamic as nnqd
from .qconfig import default_dynamic_qconfig, float16_dynamic_qconfig
from .stubs import DeQuantStub, QuantStub

__all__ = ["quantize_dynamic", "prepare", "convert", "prepare_qat", "quantize",
           "quantize_qat", "propagate_qconfig_", "swap_module",
           "get_default_static_quant_module_mappings",
           "get_default_dynamic_quant_module_mappings", "get_default_qat_module_mappings",
           "DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS",
           "DEFAULT_QAT_MODULE_MAPPINGS", "default_eval_fn", "add_quant_dequant"]


_DEPRECATION_MESSAGE = (
    "torch.ao.quantization is deprecated and will be removed in 2.10. \n"
    "For migrations of users: \n"
    "1. Eager mode quantization (torch.ao.quantization.quantize, "
    "torch.ao.quantization.quantize_dynamic), please migrate to use torchao eager mode "
    "quantize_ API instead \n"
    "2. FX graph mode quantization (torch.ao.quantization.quantize_fx.prepare_fx,"
    "torch.ao.quantization.quantize_fx.convert_fx, please migrate to use torchao pt2e "
    "quantization API instead (prepare_pt2e, convert_pt2e) \n"
    "3. pt2e quantization has been migrated to torchao "
    "(https://github.com/pytorch/ao/tree/main/torchao/quantization/pt2e) \n"
    "see https://github.com/pytorch/ao/issues/2259 for more details")


def _deprecated_workflow(fn):
    """PyTorch 2.13 marks its eager workflow entry points deprecated: each call (not the
    import) warns ``DeprecationWarning`` at the caller's line, before the arguments are
    checked; ``__deprecated__`` holds the message, as ``warnings.deprecated`` sets it."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        warnings.warn(_DEPRECATION_MESSAGE, DeprecationWarning, stacklevel=2)
        return fn(*args, **kwargs)

    wrapper.__deprecated__ = _DEPRECATION_MESSAGE
    return wrapper


def _qat():
    from ..nn import qat as nnqat

    return nnqat


DEFAULT_STATIC_QUANT_MODULE_MAPPINGS = {
    QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize, nn.Linear: nnq.Linear,
    nn.Conv1d: nnq.Conv1d, nn.Conv2d: nnq.Conv2d, nn.Conv3d: nnq.Conv3d, nn.ReLU6: nnq.ReLU6,
    nni.LinearReLU: nnq.LinearReLU, nni.ConvReLU1d: nnq.ConvReLU1d,
    nni.ConvReLU2d: nnq.ConvReLU2d, nni.ConvReLU3d: nnq.ConvReLU3d,
    nnq.FloatFunctional: nnq.QFunctional, nn.Hardswish: nnq.Hardswish, nn.ELU: nnq.ELU,
    nn.LeakyReLU: nnq.LeakyReLU,
}
DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS = {
    nn.Linear: nnqd.Linear, nn.LSTM: nnqd.LSTM, nn.GRU: nnqd.GRU, nn.LSTMCell: nnqd.LSTMCell,
    nn.GRUCell: nnqd.GRUCell, nn.RNNCell: nnqd.RNNCell,
}
DEFAULT_QAT_MODULE_MAPPINGS: dict = {}  # filled on first use (ember.ao.nn.qat imports this)


def get_default_static_quant_module_mappings() -> dict:
    """Float module class -> quantized class, for ``convert``.

    Example:
        >>> from ember.ao.quantization import get_default_static_quant_module_mappings
        >>> get_default_static_quant_module_mappings()[ember.nn.Linear].__name__
        'Linear'
    """
    mapping = dict(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)
    nnqat = _qat()
    mapping.update({nnqat.Linear: nnq.Linear, nnqat.Conv2d: nnq.Conv2d,
                    nnqat.Conv3d: nnq.Conv3d, nnqat.LinearReLU: nnq.LinearReLU,
                    nnqat.ConvReLU2d: nnq.ConvReLU2d, nnqat.ConvReLU3d: nnq.ConvReLU3d,
                    nnqat.ConvBn1d: nnq.Conv1d, nnqat.ConvBn2d: nnq.Conv2d,
                    nnqat.ConvBn3d: nnq.Conv3d, nnqat.ConvBnReLU1d: nnq.ConvReLU1d,
                    nnqat.ConvBnReLU2d: nnq.ConvReLU2d, nnqat.ConvBnReLU3d: nnq.ConvReLU3d,
                    nnqat.LinearBn1d: nnq.Linear})
    return mapping


def get_default_dynamic_quant_module_mappings() -> dict:
    """Float module class -> dynamic quantized class, for ``quantize_dynamic``.

    Example:
        >>> from ember.ao.quantization import get_default_dynamic_quant_module_mappings
        >>> get_default_dynamic_quant_module_mappings()[ember.nn.Linear]
        <class 'ember.ao.nn.quantized.dynamic.linear.Linear'>
    """
    return dict(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS)


def get_default_qat_module_mappings() -> dict:
    """Float module class -> QAT class (weights fake-quantized), for ``prepare_qat``.

    Example:
        >>> from ember.ao.quantization import get_default_qat_module_mappings
        >>> get_default_qat_module_mappings()[ember.nn.Linear].__name__
        'Linear'
    """
    nnqat = _qat()
    # as PyTorch's table: no plain Conv1d or ConvReLU1d entry (they stay float, observed)
    return {nn.Conv2d: nnqat.Conv2d, nn.Conv3d: nnqat.Conv3d, nn.Linear: nnqat.Linear,
            nni.ConvBn1d: nnqat.ConvBn1d, nni.ConvBn2d: nnqat.ConvBn2d,
            nni.ConvBn3d: nnqat.ConvBn3d, nni.ConvBnReLU1d: nnqat.ConvBnReLU1d,
            nni.ConvBnReLU2d: nnqat.ConvBnReLU2d, nni.ConvBnReLU3d: nnqat.ConvBnReLU3d,
            nni.ConvReLU2d: nnqat.ConvReLU2d, nni.ConvReLU3d: nnqat.ConvReLU3d,
            nni.LinearReLU: nnqat.LinearReLU, nni.LinearBn1d: nnqat.LinearBn1d}


# -- qconfig propagation -------------------------------------------------------------------------

def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None) -> None:
    """Give every submodule a ``qconfig``: its own, else the one ``qconfig_dict`` names for
    its type or qualified name, else its parent's.

    Example:
        >>> m = ember.nn.Sequential(ember.nn.Linear(2, 2))
        >>> ember.ao.quantization.propagate_qconfig_(
        ...     m, {"": ember.ao.quantization.default_qconfig})
        >>> m[0].qconfig is ember.ao.quantization.default_qconfig
        True
    """
    qconfig_dict = qconfig_dict or {}

    def visit(mod, parent_qconfig, prefix):
        qconfig = qconfig_dict.get(type(mod), parent_qconfig)
        qconfig = qconfig_dict.get(prefix, qconfig)
        qconfig = getattr(mod, "qconfig", qconfig)
        mod.qconfig = qconfig
        for name, child in mod.named_children():
            visit(child, qconfig, f"{prefix}.{name}" if prefix else name)

    visit(module, qconfig_dict.get("", None), "")


# -- observers -----------------------------------------------------------------------------------

def _observer_forward_hook(self, input, output):
    """Run the module's observer on its output (forward hook that ``prepare`` adds)."""
    return self.activation_post_process(output)


def _add_observers(module, mapping, observe_types) -> None:
    for child in module.children():
        if isinstance(child, (DeQuantStub, nnq.DeQuantize)):
            continue
        has_qconfig = getattr(child, "qconfig", None) is not None
        observed = type(child) in observe_types
        if has_qconfig and observed:
            if isinstance(child, nni._FusedModule) or not isinstance(child, nn.Sequential):
                _attach(child)
            continue
        _add_observers(child, mapping, observe_types)


def _attach(mod) -> None:
    if isinstance(mod, nnq.FloatFunctional):  # its methods call the observer themselves
        mod.activation_post_process = mod.qconfig.activation()
        return
    if hasattr(mod, "activation_post_process"):
        return
    fixed = _fixed_qparams_fake_quants().get(type(mod))
    # under QAT, ops with a known output range get fake-quantized to that fixed range
    mod.activation_post_process = fixed() if fixed is not None else mod.qconfig.activation()
    mod.register_forward_hook(_observer_forward_hook)


def _fixed_qparams_fake_quants() -> dict:
    from .fake_quantize import (
        default_fixed_qparams_range_0to1_fake_quant as zero_to_one,
    )
    from .fake_quantize import (
        default_fixed_qparams_range_neg1to1_fake_quant as minus_one_to_one,
    )

    return {nn.Hardsigmoid: zero_to_one, nn.Sigmoid: zero_to_one, nn.Softmax: zero_to_one,
            nn.Tanh: minus_one_to_one}


@_deprecated_workflow
def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """Ready ``model`` (with ``qconfig`` set) for static post-training quantization: observers
    are attached to the modules ``convert`` will quantize. Run calibration data through the
    result, then ``convert`` it.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.nn.Sequential(Q.QuantStub(), ember.nn.Linear(2, 2), Q.DeQuantStub())
        >>> m.qconfig = Q.default_qconfig
        >>> type(Q.prepare(m)[1].activation_post_process).__name__
        'MinMaxObserver'
    """
    return _prepare(model, inplace, qat=False)


def _prepare(model, inplace: bool, qat: bool):
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    observe = set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS) | set(
        get_default_static_quant_module_mappings())
    observe.discard(DeQuantStub)
    if qat:  # (static prepare leaves these float: they have no observed int8 module)
        observe |= set(_fixed_qparams_fake_quants())
    if not any(getattr(m, "qconfig", None) is not None for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct "
                      "configuration through `qconfig_dict` or by assigning the `.qconfig` "
                      "attribute directly on submodules", stacklevel=2)
    _add_observers(model, None, observe)
    return model


@_deprecated_workflow
def prepare_qat(model, mapping=None, inplace=False):
    """Ready a training ``model`` (with ``qconfig`` set, usually
    ``get_default_qat_qconfig``) for quantization-aware training: Linear/Conv layers become
    their QAT forms (fake-quantized weights) and fake-quantize modules watch activations.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.nn.Sequential(Q.QuantStub(), ember.nn.Linear(2, 2), Q.DeQuantStub())
        >>> m.qconfig = Q.get_default_qat_qconfig("x86")
        >>> type(Q.prepare_qat(m)[1]).__module__
        'ember.ao.nn.qat'
    """
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    mapping = mapping or get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    _swap(model, mapping, qat=True)
    return _prepare(model, True, qat=True)


# -- conversion ----------------------------------------------------------------------------------

def swap_module(mod, mapping, custom_module_class_mapping=None, use_precomputed_fake_quant=False):
    """``mod``'s quantized replacement from ``mapping`` (or ``mod`` itself when it has none).

    Example:
        >>> from ember.ao.quantization import swap_module
        >>> swap_module(ember.nn.ReLU(), {})
        ReLU()
    """
    cls = mapping.get(type(mod))
    if cls is None or getattr(mod, "qconfig", None) is None:
        return mod
    return cls.from_float(mod)


def _swap(module, mapping, qat=False) -> None:
    for name, child in list(module.named_children()):
        if type(child) in mapping and getattr(child, "qconfig", None) is not None:
            setattr(module, name, mapping[type(child)].from_float(child))
            continue
        if not qat and type(child) in _PASSTHROUGH:
            setattr(module, name, _passthrough(child))
            continue
        if not qat and type(child) in _fixed_qparams_fake_quants() \
                and "activation_post_process" in child._modules:
            setattr(module, name, _fixed_range_output(child))
            continue
        _swap(child, mapping, qat)


_FIXED_RANGE_CLASSES: dict = {}


def _fixed_range_output(mod):
    """A QAT-prepared sigmoid-like module (``activation_post_process`` a fixed-qparams fake
    quantize) made ready for quantized inputs, as ``convert`` leaves it in PyTorch: the fake
    quantize and its hook go, and a quantized input gives an output quantized with the fixed
    scale and zero point (float inputs run as before)."""
    scale, zero_point = mod.activation_post_process.calculate_qparams()
    scale, zero_point = float(scale._data[0]), int(zero_point._data[0])
    del mod._modules["activation_post_process"]
    mod._forward_hooks.clear()
    base = type(mod)
    cls = _FIXED_RANGE_CLASSES.get(base)
    if cls is None:
        def forward(self, x, *args, **kwargs):
            if not isinstance(x, QuantizedTensor):
                return base.forward(self, x, *args, **kwargs)
            y = base.forward(self, x.dequantize(), *args, **kwargs)
            return quantize_per_tensor(y, self._fixed_qparams[0], self._fixed_qparams[1],
                                       x.dtype)

        cls = type(base.__name__, (base,), {"forward": forward, "__module__": base.__module__,
                                            "__doc__": base.__doc__})
        _FIXED_RANGE_CLASSES[base] = cls
    mod.__class__ = cls
    mod._fixed_qparams = (scale, zero_point)
    return mod


@_deprecated_workflow
def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """Swap each observed module of a prepared (and calibrated, or QAT-trained) model for its
    quantized class, with the scales its observers saw.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.nn.Sequential(Q.QuantStub(), ember.nn.Linear(2, 2), Q.DeQuantStub())
        >>> m.qconfig = Q.default_qconfig
        >>> p = Q.prepare(m.eval()); _ = p(ember.randn(4, 2))
        >>> Q.convert(p)[1]._get_name()
        'QuantizedLinear'
    """
    if not inplace:
        module = copy.deepcopy(module)
    _swap(module, mapping or get_default_static_quant_module_mappings())
    if remove_qconfig:
        for m in module.modules():
            if "qconfig" in m.__dict__:
                del m.__dict__["qconfig"]
    return module


@_deprecated_workflow
def quantize_dynamic(model, qconfig_spec=None, dtype=None, mapping=None, inplace=False):
    """Replace the listed float layers (by default every ``nn.Linear``, ``nn.LSTM``, ``nn.GRU``
    and recurrent cell) with dynamically quantized ones: int8 weights now, activations
    quantized per batch at run time.

    Args:
        model (Module): the float model.
        qconfig_spec (set or dict, optional): module classes (``{nn.Linear, nn.LSTM}``; by
            default all of the above) or a dict from class or qualified name to qconfig.
        dtype: ``ember.qint8`` (default) or ``ember.float16`` (float16 weights; ``Linear``
            only).

    Example:
        >>> m = ember.nn.Sequential(ember.nn.Linear(4, 2))
        >>> ember.ao.quantization.quantize_dynamic(m, {ember.nn.Linear})[0]._get_name()
        'DynamicQuantizedLinear'
    """
    from ... import _dtype as D

    dtype = D.qint8 if dtype is None else dtype
    if qconfig_spec is None or isinstance(qconfig_spec, set):
        if dtype is D.qint8:
            qconfig = default_dynamic_qconfig
        elif dtype is D.float16:
            qconfig = float16_dynamic_qconfig
        else:
            raise ValueError(f"Don't know how to quantize with default settings for {dtype}. "
                             "Provide full qconfig please")
        qconfig_spec = dict.fromkeys(qconfig_spec or (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell,
                                                      nn.GRUCell, nn.RNNCell), qconfig)
    mapping = mapping or get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_spec)
    _swap_dynamic(model, mapping)
    for m in model.modules():
        if "qconfig" in m.__dict__:
            del m.__dict__["qconfig"]
    return model


def _swap_dynamic(module, mapping) -> None:
    for name, child in list(module.named_children()):
        if type(child) in mapping and getattr(child, "qconfig", None) is not None:
            setattr(module, name, mapping[type(child)].from_float(child))
        else:
            _swap_dynamic(child, mapping)


@_deprecated_workflow
def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """``prepare``, calibrate with ``run_fn(model, *run_args)``, ``convert``: static
    post-training quantization in one call.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.nn.Sequential(Q.QuantStub(), ember.nn.Linear(2, 2), Q.DeQuantStub())
        >>> m.qconfig = Q.default_qconfig
        >>> q = Q.quantize(m.eval(), lambda mod, x: mod(x), [ember.randn(4, 2)])
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    return convert(model, mapping, inplace=True)


@_deprecated_workflow
def quantize_qat(model, run_fn, run_args, inplace=False):
    """``prepare_qat``, train with ``run_fn(model, *run_args)``, ``convert``.

    Example:
        >>> Q = ember.ao.quantization
        >>> m = ember.nn.Sequential(Q.QuantStub(), ember.nn.Linear(2, 2), Q.DeQuantStub())
        >>> m.qconfig = Q.get_default_qat_qconfig("x86")
        >>> q = Q.quantize_qat(m, lambda mod, x: mod(x), [ember.randn(4, 2)])
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    return convert(model.eval(), inplace=True)


# -- float modules that pass quantized tensors through ------------------------------------------

_PASSTHROUGH = {nn.ReLU, nn.MaxPool2d, nn.MaxPool1d, nn.Flatten, nn.Dropout, nn.Identity,
                nn.AdaptiveAvgPool2d, nn.AvgPool2d}
_PASSTHROUGH_CLASSES: dict = {}


def _passthrough(mod):
    """``mod`` in a subclass of its own class (same name and repr) that also takes quantized
    tensors: run on the dequantized values, the result quantized back with the input's scale
    and zero point, as PyTorch's quantized kernels keep them. For ops that only select or move
    values (ReLU, max pooling, Flatten) the integers are exactly PyTorch's; an average may
    round a tie differently (one quantum)."""
    base = type(mod)
    cls = _PASSTHROUGH_CLASSES.get(base)
    if cls is None:
        def forward(self, x, *args, **kwargs):
            if not isinstance(x, QuantizedTensor):
                return base.forward(self, x, *args, **kwargs)
            y = base.forward(self, x.dequantize(), *args, **kwargs)
            return quantize_per_tensor(y, x.q_scale(), x.q_zero_point(), x.dtype)

        attrs = {"forward": forward, "__module__": base.__module__, "__doc__": base.__doc__}
        if base is nn.Dropout:  # PyTorch converts it to nnq.Dropout, printed by that name
            attrs["_get_name"] = lambda self: "QuantizedDropout"
        cls = type(base.__name__, (base,), attrs)
        _PASSTHROUGH_CLASSES[base] = cls
    mod.__class__ = cls  # the model is already a copy (or converted in place on request)
    return mod


def default_eval_fn(model, calib_data) -> None:
    """Run ``model`` on every ``(data, target)`` pair of ``calib_data`` (the calibration loop
    ``quantize`` takes by default).

    Example:
        >>> m = ember.nn.Linear(2, 1)
        >>> ember.ao.quantization.default_eval_fn(m, [(ember.ones(1, 2), 0)])
    """
    for data, _target in calib_data:
        model(data)


def add_quant_dequant(module):
    """Wrap every leaf module that has a ``qconfig`` in a ``QuantWrapper`` (in place); a leaf
    ``module`` itself comes back wrapped.

    Example:
        >>> m = ember.nn.Linear(2, 2)
        >>> m.qconfig = ember.ao.quantization.default_qconfig
        >>> type(ember.ao.quantization.add_quant_dequant(m)).__name__
        'QuantWrapper'
    """
    from .stubs import QuantWrapper

    if not list(module.children()) and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module

