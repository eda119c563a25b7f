"""The static quantized modules (see the package docstring for the arithmetic)."""

from __future__ import annotations

import numpy as np

from .... import _dtype as D
from ...._quantized_tensor import (
    QData,
    QuantizedTensor,
    per_channel_affine,
    per_channel_symmetric,
    per_tensor_affine,
    quantize_ints,
    quantize_per_channel,
    quantize_per_tensor,
)
from ...._tensor import Tensor
from ....nn.modules.activation import ELU as _FloatELU
from ....nn.modules.activation import LeakyReLU as _FloatLeakyReLU
from ....nn.modules.module import Module
from ....nn.parameter import Parameter

__all__ = ["Quantize", "DeQuantize", "Linear", "Conv1d", "Conv2d", "Conv3d", "ReLU6",
           "LinearReLU", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "Hardswish", "ELU",
           "LeakyReLU"]


def _scalar_qparams(observer):
    scale, zero_point = observer.calculate_qparams()
    return float(scale._data.reshape(-1)[0]), int(zero_point._data.reshape(-1)[0])


def quantize_weight(weight: Tensor, observer) -> QuantizedTensor:
    """``weight`` quantized with the qparams ``observer`` (already run on it) gives."""
    scale, zero_point = observer.calculate_qparams()
    if observer.qscheme in (per_channel_affine, per_channel_symmetric):
        return quantize_per_channel(weight.detach(), scale.to(D.float64),
                                    zero_point.to(D.int64), observer.ch_axis, observer.dtype)
    return quantize_per_tensor(weight.detach(), float(scale._data.reshape(-1)[0]),
                               int(zero_point._data.reshape(-1)[0]), observer.dtype)


def _centred(q: QuantizedTensor, axis_shape=None) -> np.ndarray:
    """``q``'s integers minus its zero point(s), int64."""
    data = q._data
    ints = data.ints.astype(np.int64)
    if data.scheme is per_tensor_affine:
        return ints - data.zero_point
    shape = [1] * ints.ndim
    shape[data.axis] = -1
    return ints - data.zero_points.reshape(shape)


def _weight_scales(w: QuantizedTensor) -> np.ndarray:
    """The weight's scale per output channel (one value for a per-tensor weight)."""
    data = w._data
    if data.scheme is per_tensor_affine:
        return np.asarray([data.scale], np.float64)
    return data.scales


def _requantize(acc: np.ndarray, x_scale: float, w_scales: np.ndarray, bias, channel_axis,
                scale: float, zero_point: int, dtype, relu: bool) -> QuantizedTensor:
    """The int accumulator read back as floats (``acc * x_scale * w_scale + bias``), then
    quantized to ``scale``/``zero_point``."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    multiplier = (np.float32(x_scale) * w_scales.astype(np.float32)).reshape(shape)
    out = acc.astype(np.float32) * multiplier
    if bias is not None:
        out = out + np.asarray(bias._data, np.float32).reshape(shape)
    ints = quantize_ints(out, np.float32(1) / np.float32(scale), zero_point, dtype)
    if relu:
        ints = np.maximum(ints, ints.dtype.type(zero_point))
    return QuantizedTensor._make(QData(ints, per_tensor_affine, float(scale), int(zero_point)),
                                 dtype)


class Quantize(Module):
    """Quantizes float input to ``dtype`` with a fixed ``scale`` and ``zero_point`` (what
    ``convert`` makes of a ``QuantStub``).

    Example:
        >>> q = ember.ao.nn.quantized.Quantize(0.1, 0, ember.quint8)
        >>> q(ember.tensor([0.5])).int_repr()
        tensor([5], dtype=torch.uint8)
    """

    def __init__(self, scale, zero_point, dtype, factory_kwargs=None):
        super().__init__()
        self.register_buffer("scale", Tensor._make(np.array([scale], np.float32), D.float32))
        self.register_buffer("zero_point", Tensor._make(np.array([zero_point], np.int64),
                                                        D.int64))
        self.dtype = dtype

    def forward(self, X):
        return quantize_per_tensor(X, float(self.scale._data[0]), int(self.zero_point._data[0]),
                                   self.dtype)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = _scalar_qparams(mod.activation_post_process)
        return Quantize(scale, zero_point, mod.activation_post_process.dtype)

    def extra_repr(self):
        return (f"scale={self.scale!r}, zero_point={self.zero_point!r}, "
                f"dtype={self.dtype}")


class DeQuantize(Module):
    """Dequantizes its input to float32 (what ``convert`` makes of a ``DeQuantStub``).

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([0.5]), 0.1, 0, ember.quint8)
        >>> ember.ao.nn.quantized.DeQuantize()(q)
        tensor([0.5000])
    """

    def forward(self, Xq):
        return Xq.dequantize()

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return DeQuantize()


def read_local_state(module, state_dict, prefix, keys, strict, missing_keys, unexpected_keys,
                     error_msgs, local_metadata=None):
    """The values of ``module``'s own ``keys`` in a state dict (after its load pre-hooks), or
    None when one is missing: missing keys, and with ``strict`` the unexpected ones under
    ``prefix`` that are neither these keys nor a child's, are reported as
    Module.load_state_dict expects. For quantized layers, whose state is not parameters."""
    for hook in module._load_state_dict_pre_hooks.values():
        hook(state_dict, prefix, local_metadata or {}, strict, missing_keys, unexpected_keys,
             error_msgs)
    absent = [prefix + k for k in keys if prefix + k not in state_dict]
    if absent:
        missing_keys.extend(absent)
        return None
    if strict:
        unexpected_keys.extend(k for k in state_dict if k.startswith(prefix)
                               and k[len(prefix):] not in keys
                               and k[len(prefix):].split(".")[0] not in module._modules)
    return [state_dict[prefix + k] for k in keys]


class _QuantizedWeightState:
    """PyTorch's state-dict layout for a layer with a quantized weight, a float bias and
    output qparams: ``weight``, ``bias``, ``scale``, ``zero_point`` for convolutions, and for
    linear layers ``scale``, ``zero_point``, ``_packed_params.dtype`` and the pair
    ``_packed_params._packed_params = (weight, bias)``. Loading takes the weight and bias as
    they come (a new shape included), as PyTorch does."""

    _PACKED = False  # linear layers keep (weight, bias) as one packed pair

    def _state_keys(self) -> tuple:
        if self._PACKED:
            return ("scale", "zero_point", "_packed_params.dtype", "_packed_params._packed_params")
        return ("weight", "bias", "scale", "zero_point")

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        bias = self._bias  # PyTorch's packed pair holds the Parameter itself
        values = {"scale": Tensor._make(np.array(self.scale, np.float32), D.float32),
                  "zero_point": Tensor._make(np.array(self.zero_point, np.int64), D.int64),
                  "weight": self._weight, "bias": bias,
                  "_packed_params.dtype": self._packed_dtype(),
                  "_packed_params._packed_params": (self._weight, bias)}
        for key in self._state_keys():
            destination[prefix + key] = values[key]
        if self._PACKED and hasattr(destination, "_metadata"):
            destination._metadata[prefix + "_packed_params"] = {"version": 3}

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        keys = self._state_keys()
        values = read_local_state(self, state_dict, prefix, keys, strict, missing_keys,
                                  unexpected_keys, error_msgs, local_metadata)
        if values is None:
            return
        got = dict(zip(keys, values))
        weight, bias = (got["_packed_params._packed_params"] if self._PACKED
                        else (got["weight"], got["bias"]))
        problem = _qparam_problem(weight, bias, got["scale"], got["zero_point"],
                                  got.get("_packed_params.dtype") is D.float16)
        if problem:
            error_msgs.append(f"While copying the quantized state of {prefix or 'the module'}: "
                              f"{problem}.")
            return
        self.set_weight_bias(weight, bias)
        self.scale = float(got["scale"].item())
        self.zero_point = int(got["zero_point"].item())


    def _packed_dtype(self):
        """The weight's dtype as PyTorch packs it: the quantized dtype, or float16 for a
        dynamic float16 layer (whose weight is kept as float32 values rounded to float16)."""
        return self._weight.dtype if isinstance(self._weight, QuantizedTensor) else D.float16


def _qparam_problem(weight, bias, scale, zero_point, float16=False) -> str | None:
    """What is wrong with a loaded (weight, bias, scale, zero_point), or None."""
    if float16:
        if not (isinstance(weight, Tensor) and weight.dtype is D.float32
                and not weight.is_quantized):
            return "a float16 dynamic layer's weight must be a float32 tensor"
    elif not isinstance(weight, QuantizedTensor):
        return f"the weight is a {type(weight).__name__}, not a quantized tensor"
    if bias is not None and not (isinstance(bias, Tensor) and bias.is_floating_point()
                                 and not bias.is_quantized and bias.ndim == 1):
        return "the bias must be None or a 1-D float tensor"
    for name, value in (("scale", scale), ("zero_point", zero_point)):
        if not isinstance(value, Tensor) or value.numel() != 1:
            return f"{name} must be a one-element tensor"
    return None


class Linear(_QuantizedWeightState, Module):
    """A linear layer on quantized tensors: quint8 input, qint8 weight, quint8 output with the
    module's ``scale`` and ``zero_point``; the bias stays float.

    Example:
        >>> m = ember.ao.nn.quantized.Linear(2, 3)
        >>> m.extra_repr()
        'in_features=2, out_features=3, scale=1.0, zero_point=0, qscheme=torch.per_tensor_affine'
    """

    _relu = False
    _NAME = "QuantizedLinear"
    _PACKED = True
    _version = 3  # PyTorch's state-dict versions: loaders of older files read them by it

    def __init__(self, in_features, out_features, bias_=True, dtype=D.qint8):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        weight = quantize_per_tensor(Tensor._make(np.zeros((out_features, in_features),
                                                           np.float32), D.float32),
                                     1.0, 0, D.qint8)
        bias = Tensor._make(np.zeros(out_features, np.float32), D.float32) if bias_ else None
        self.set_weight_bias(weight, bias)
        self.scale, self.zero_point = 1.0, 0

    def _get_name(self):
        return self._NAME

    def set_weight_bias(self, w: QuantizedTensor, b) -> None:
        self._weight = w
        self._bias = None if b is None else Parameter(b.detach().clone(), requires_grad=True)

    def weight(self) -> QuantizedTensor:
        """The quantized weight."""
        return self._weight

    def bias(self):
        """The float bias (or None)."""
        return self._bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}, "
                f"qscheme={self._weight.qscheme()}")

    def forward(self, x: QuantizedTensor) -> QuantizedTensor:
        if not isinstance(x, QuantizedTensor):
            from ...._quantized_tensor import backend_error

            raise backend_error("quantized::linear", "CPU")
        xc = _centred(x).reshape(-1, self.in_features)
        acc = xc @ _centred(self._weight).T
        out = _requantize(acc, x._data.scale, _weight_scales(self._weight), self._bias, 1,
                          self.scale, self.zero_point, x._dtype, self._relu)
        return out.reshape(*x.shape[:-1], self.out_features)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized form of an observed float ``Linear`` (after ``prepare``)."""
        float_mod = mod[0] if _is_fused(mod) else mod
        if getattr(mod, "bn", None) is not None:
            # a QAT Linear+BN: BatchNorm folded in, the folded weight observed once more by
            # the trained fake-quantize (a moving average, so its history still counts)
            weight_post_process = mod.weight_fake_quant
            float_mod = mod.folded()
        elif hasattr(float_mod, "weight_fake_quant"):
            weight_post_process = float_mod.weight_fake_quant
        else:
            weight_post_process = mod.qconfig.weight()
        weight_post_process(float_mod.weight)
        qweight = quantize_weight(float_mod.weight.float(), weight_post_process)
        out = cls(float_mod.in_features, float_mod.out_features, dtype=qweight.dtype)
        out.set_weight_bias(qweight, float_mod.bias)
        out.scale, out.zero_point = _scalar_qparams(mod.activation_post_process)
        return out


def _is_fused(mod) -> bool:
    from ..intrinsic import _FusedModule

    return isinstance(mod, _FusedModule)


class LinearReLU(Linear):
    """A quantized ``Linear`` followed by ReLU in one step (from a fused ``LinearReLU``).

    Example:
        >>> ember.ao.nn.quantized.LinearReLU(2, 3).out_features
        3
    """

    _relu = True
    _NAME = "QuantizedLinearReLU"


class _ConvNd(_QuantizedWeightState, Module):
    """A convolution of rank ``_DIMS`` on quantized tensors (quint8 input, qint8 weight,
    quint8 output with the module's ``scale`` and ``zero_point``; zero padding means the
    input's zero point)."""

    _relu = False
    _DIMS = 2
    _NAME = "QuantizedConv2d"
    _OP = "quantized::conv2d.new"
    _LAYOUT = "(N, C, H, W)"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        n = self._DIMS

        def tup(v):
            return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n

        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = tup(kernel_size), tup(stride)
        self.padding = padding if isinstance(padding, str) else tup(padding)
        self.dilation, self.groups, self.padding_mode = tup(dilation), groups, padding_mode
        w = np.zeros((out_channels, in_channels // groups) + self.kernel_size, np.float32)
        weight = quantize_per_tensor(Tensor._make(w, D.float32), 1.0, 0, D.qint8)
        b = Tensor._make(np.zeros(out_channels, np.float32), D.float32) if bias else None
        self.set_weight_bias(weight, b)
        self.scale, self.zero_point = 1.0, 0

    def _get_name(self):
        return self._NAME

    set_weight_bias = Linear.set_weight_bias
    weight = Linear.weight
    bias = Linear.bias

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}")
        if self.padding != (0,) * self._DIMS:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._DIMS:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self._bias is None:
            s += ", bias=False"
        return s

    def forward(self, x: QuantizedTensor) -> QuantizedTensor:
        from ....nn import functional as F

        if x.ndim != self._DIMS + 2:
            raise ValueError(f"Input shape must be `{self._LAYOUT}`!")
        if not isinstance(x, QuantizedTensor):
            from ...._quantized_tensor import backend_error

            raise backend_error(self._OP, "CPU")
        # integer products summed in float64 are exact (|sum| < 2**53); padding with 0 after
        # removing the zero point is padding the input with its zero point, as PyTorch does
        xc = Tensor._make(_centred(x).astype(np.float64), D.float64)
        wc = Tensor._make(_centred(self._weight).astype(np.float64), D.float64)
        conv = getattr(F, f"conv{self._DIMS}d")
        acc = conv(xc, wc, None, self.stride, self.padding, self.dilation, self.groups)
        acc = np.rint(acc._data).astype(np.int64)
        return _requantize(acc, x._data.scale, _weight_scales(self._weight), self._bias, 1,
                           self.scale, self.zero_point, x._dtype, self._relu)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized form of an observed float convolution (after ``prepare``), or of a
        QAT one (BatchNorm folded in first, for the Conv+BN forms)."""
        float_mod = mod[0] if _is_fused(mod) else mod
        if getattr(mod, "bn", None) is not None:
            # a QAT Conv+BN: BatchNorm folded in, the folded weight observed once more by
            # the trained fake-quantize (a moving average, so its history still counts)
            weight_post_process = mod.weight_fake_quant
            float_mod = mod.folded()
        elif hasattr(float_mod, "weight_fake_quant"):
            weight_post_process = float_mod.weight_fake_quant
        else:
            weight_post_process = mod.qconfig.weight()
        weight_post_process(float_mod.weight)
        qweight = quantize_weight(float_mod.weight.float(), weight_post_process)
        out = cls(float_mod.in_channels, float_mod.out_channels, float_mod.kernel_size,
                  float_mod.stride, float_mod.padding, float_mod.dilation, float_mod.groups,
                  float_mod.bias is not None, float_mod.padding_mode)
        out.set_weight_bias(qweight, float_mod.bias)
        out.scale, out.zero_point = _scalar_qparams(mod.activation_post_process)
        return out


class Conv1d(_ConvNd):
    """A 1-D convolution on quantized tensors (see ``Conv2d``).

    Example:
        >>> ember.ao.nn.quantized.Conv1d(1, 2, 3)
        QuantizedConv1d(1, 2, kernel_size=(3,), stride=(1,), scale=1.0, zero_point=0)
    """

    _DIMS = 1
    _NAME = "QuantizedConv1d"
    _OP = "quantized::conv1d"
    _LAYOUT = "(N, C, L)"


class Conv2d(_ConvNd):
    """A 2-D convolution on quantized tensors (quint8 input, qint8 weight, quint8 output with
    the module's ``scale`` and ``zero_point``; zero padding means the input's zero point).

    Example:
        >>> ember.ao.nn.quantized.Conv2d(1, 2, 3)
        QuantizedConv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), scale=1.0, zero_point=0)
    """


class Conv3d(_ConvNd):
    """A 3-D convolution on quantized tensors (see ``Conv2d``).

    Example:
        >>> ember.ao.nn.quantized.Conv3d(1, 2, 3).kernel_size
        (3, 3, 3)
    """

    _DIMS = 3
    _NAME = "QuantizedConv3d"
    _OP = "quantized::conv3d.new"
    _LAYOUT = "(N, C, D, H, W)"


class ConvReLU1d(Conv1d):
    """A quantized ``Conv1d`` followed by ReLU in one step (from a fused ``ConvReLU1d``).

    Example:
        >>> ember.ao.nn.quantized.ConvReLU1d(1, 2, 3)._get_name()
        'QuantizedConvReLU1d'
    """

    _relu = True
    _NAME = "QuantizedConvReLU1d"


class ConvReLU2d(Conv2d):
    """A quantized ``Conv2d`` followed by ReLU in one step (from a fused ``ConvReLU2d``).

    Example:
        >>> ember.ao.nn.quantized.ConvReLU2d(1, 2, 3).out_channels
        2
    """

    _relu = True
    _NAME = "QuantizedConvReLU2d"


class ConvReLU3d(Conv3d):
    """A quantized ``Conv3d`` followed by ReLU in one step (from a fused ``ConvReLU3d``).

    Example:
        >>> ember.ao.nn.quantized.ConvReLU3d(1, 2, 3)._get_name()
        'QuantizedConvReLU3d'
    """

    _relu = True
    _NAME = "QuantizedConvReLU3d"


class Hardswish(Module):
    """``x * relu6(x + 3) / 6`` of a quantized tensor, requantized to this module's own
    ``scale``/``zero_point`` (what ``convert`` makes of an observed ``nn.Hardswish``).

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([-1.0, 2.0]), 0.1, 10, ember.quint8)
        >>> ember.ao.nn.quantized.Hardswish(0.05, 20)(q).dequantize()
        tensor([-0.3500,  1.6500])
    """

    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        self.register_buffer("scale", Tensor._make(np.array(scale, np.float32), D.float32))
        self.register_buffer("zero_point", Tensor._make(np.array(zero_point, np.int64),
                                                        D.int64))

    def _get_name(self):
        return "QuantizedHardswish"

    def forward(self, input: QuantizedTensor) -> QuantizedTensor:
        # the float result of the dequantized input, rounded to the output's grid
        values = input._data.floats()
        values = values * np.clip(values + np.float32(3), 0, 6) / np.float32(6)
        scale, zero_point = float(self.scale._data), int(self.zero_point._data)
        ints = quantize_ints(values.astype(np.float32), np.float32(1) / np.float32(scale),
                             zero_point, input._dtype)
        return QuantizedTensor._make(QData(ints, per_tensor_affine, scale, zero_point),
                                     input._dtype)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = _scalar_qparams(mod.activation_post_process)
        return Hardswish(scale, zero_point)


class ELU(_FloatELU):
    """ELU of a quantized tensor, requantized to this module's ``scale``/``zero_point`` (what
    ``convert`` makes of an observed ``nn.ELU``); see ``functional.elu``.

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([-3.0, 1.5]), 0.05, 64, ember.quint8)
        >>> ember.ao.nn.quantized.ELU(0.02, 120, 0.7)(q).int_repr()
        tensor([ 87, 195], dtype=torch.uint8)
    """

    def __init__(self, scale, zero_point, alpha=1.0):
        super().__init__(alpha)
        # plain attributes, not buffers: PyTorch's quantized ELU saves no state
        self.scale = scale
        self.zero_point = zero_point

    def _get_name(self):
        return "QuantizedELU"

    def forward(self, input):
        from .functional import elu

        return elu(input, self.scale, self.zero_point, self.alpha)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = _scalar_qparams(mod.activation_post_process)
        return ELU(scale, zero_point, mod.alpha)


class LeakyReLU(_FloatLeakyReLU):
    """LeakyReLU of a quantized tensor, requantized to this module's ``scale``/``zero_point``
    buffers (what ``convert`` makes of an observed ``nn.LeakyReLU``); the input is never
    overwritten, ``inplace`` or not. See ``functional.leaky_relu``.

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([-3.0, 1.5]), 0.05, 64, ember.quint8)
        >>> ember.ao.nn.quantized.LeakyReLU(0.02, 120, 0.1)(q).int_repr()
        tensor([105, 195], dtype=torch.uint8)
    """

    def __init__(self, scale, zero_point, negative_slope=0.01, inplace=False, device=None,
                 dtype=None):
        super().__init__(negative_slope, inplace)
        self.register_buffer("scale", Tensor._make(np.array(scale, np.float32), D.float32))
        self.register_buffer("zero_point", Tensor._make(np.array(zero_point, np.int64),
                                                        D.int64))

    def _get_name(self):
        return "QuantizedLeakyReLU"

    def forward(self, input):
        from .functional import leaky_relu

        return leaky_relu(input, self.negative_slope, False, float(self.scale._data),
                          int(self.zero_point._data))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = _scalar_qparams(mod.activation_post_process)
        return cls(scale, zero_point, mod.negative_slope, mod.inplace)


class ReLU6(Module):
    """``min(max(x, 0), 6)`` on a quantized tensor, keeping its scale and zero point.

    Example:
        >>> q = ember.quantize_per_tensor(ember.tensor([-1.0, 7.0]), 0.1, 10, ember.quint8)
        >>> ember.ao.nn.quantized.ReLU6()(q).dequantize()
        tensor([0., 6.])
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: QuantizedTensor) -> QuantizedTensor:
        data = x._data
        six = int(np.rint(6.0 / data.scale)) + data.zero_point
        lo = data.ints.dtype.type(data.zero_point)
        ints = np.clip(data.ints, lo, min(six, x._dtype.qmax)).astype(data.ints.dtype)
        return QuantizedTensor._make(data.with_ints(ints), x._dtype)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return ReLU6(mod.inplace)
