"""``ember.ao.nn.quantized.functional``: activation functions on quantized tensors whose
output gets its own scale and zero point (``elu``, ``leaky_relu``), as the quantized
``ELU``/``LeakyReLU`` modules run them.

Each computes the float function of the dequantized input (float32) and rounds the result to
the output's grid, ``zero_point + value * (1 / scale)``, as PyTorch does. ``leaky_relu``
that keeps the input's scale rounds ``value * (1 / scale)`` first; there a value on a
rounding tie may come out one quantum from PyTorch's.

Example:
    >>> import ember.ao.nn.quantized.functional as qF
    >>> q = ember.quantize_per_tensor(ember.tensor([-1.0, 2.0]), 0.1, 10, ember.quint8)
    >>> qF.leaky_relu(q, 0.5).int_repr()
    tensor([ 5, 30], dtype=torch.uint8)
"""

from __future__ import annotations

import numpy as np

from ...._quantized_tensor import QData, QuantizedTensor, per_tensor_affine, quantize_ints

__all__ = ["elu", "leaky_relu", "linear", "clamp", "hardtanh", "max_pool1d", "max_pool2d",
           "avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "interpolate", "upsample", "upsample_nearest"]


def _requantized(input: QuantizedTensor, values: np.ndarray, scale: float,
                 zero_point: int) -> QuantizedTensor:
    """``values`` (float32) quantized per tensor to ``scale``/``zero_point``, in ``input``'s
    quantized dtype."""
    ints = quantize_ints(values.astype(np.float32), np.float32(1) / np.float32(scale),
                         int(zero_point), input._dtype)
    return QuantizedTensor._make(QData(ints, per_tensor_affine, float(scale), int(zero_point)),
                                 input._dtype)


def _per_tensor_data(input: QuantizedTensor) -> QData:
    """``input``'s payload; PyTorch's kernels take per-tensor quantized inputs only."""
    data = input._data
    if data.scheme is not per_tensor_affine:
        raise RuntimeError("Expected quantizer->qscheme() == kPerTensorAffine to be true, but "
                           "got false.  (Could this error message be improved?  If so, please "
                           "report an enhancement request to PyTorch.)")
    return data


def elu(input, scale: float, zero_point: int, alpha: float = 1.0):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``, of a quantized tensor, quantized
    to ``scale`` and ``zero_point``.

    Args:
        input: a quantized tensor.
        scale, zero_point: the output's quantization parameters.
        alpha: the negative branch's scale.

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> q = ember.quantize_per_tensor(ember.tensor([-3.0, 1.5]), 0.05, 64, ember.quint8)
        >>> qF.elu(q, 0.03, 100).int_repr()
        tensor([ 68, 150], dtype=torch.uint8)
    """
    if not isinstance(input, QuantizedTensor):
        raise ValueError("Input to 'quantized.elu' must be quantized!")
    x = _per_tensor_data(input).floats()
    with np.errstate(over="ignore"):
        negative = np.float32(alpha) * np.expm1(np.minimum(x, 0))
    return _requantized(input, np.where(x > 0, x, negative), scale, zero_point)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False, scale=None,
               zero_point=None):
    """``x`` where ``x > 0``, else ``negative_slope * x``, of a quantized tensor. With both
    ``scale`` and ``zero_point`` the result is quantized to them, else it keeps the input's;
    a float input gets the float function.

    Args:
        input: a quantized (or float) tensor.
        negative_slope: the slope below zero.
        inplace: write the result into ``input`` (only without a new scale).
        scale, zero_point: the output's quantization parameters (both, or neither).

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> q = ember.quantize_per_tensor(ember.tensor([-3.0, 1.5]), 0.05, 64, ember.quint8)
        >>> qF.leaky_relu(q, 0.1, scale=0.02, zero_point=120).int_repr()
        tensor([105, 195], dtype=torch.uint8)
    """
    if not isinstance(input, QuantizedTensor):
        from ....nn import functional as F

        return F.leaky_relu(input, negative_slope, inplace)
    rescale = scale is not None and zero_point is not None
    if rescale and inplace:
        raise AssertionError("Cannot rescale with `inplace`")
    data = _per_tensor_data(input)
    x = data.floats()
    values = np.where(x > 0, x, np.float32(negative_slope) * x).astype(np.float32)
    if rescale:
        out = _requantized(input, values, scale, zero_point)
    else:
        # on the input's own grid PyTorch rounds before adding the zero point (measured:
        # this order matches all but about 0.3% of its integers, each a tie one quantum off)
        dtype = input._dtype
        steps = np.rint(values * (np.float32(1) / np.float32(data.scale)))
        ints = np.clip(steps + data.zero_point, dtype.qmin, dtype.qmax).astype(dtype.np_dtype)
        out = QuantizedTensor._make(data.with_ints(ints), dtype)
    if inplace:
        data.ints[...] = out._data.ints
        return input
    return out


def linear(input, weight, bias=None, scale=None, zero_point=None):
    """``y = x W^T + b`` of a quantized input (quint8) and a quantized weight (qint8, per
    tensor or per output channel) with a float bias, quantized to ``scale``/``zero_point``
    (by default the input's): what ``ember.ao.nn.quantized.Linear`` runs.

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> x = ember.quantize_per_tensor(ember.tensor([[1.0, 2.0]]), 0.1, 0, ember.quint8)
        >>> w = ember.quantize_per_tensor(ember.tensor([[0.5, -0.5]]), 0.5, 0, ember.qint8)
        >>> qF.linear(x, w, None, 0.05, 10).dequantize()
        tensor([[-0.5000]])
    """
    from .modules import Linear

    for name, value in (("input", input), ("weight", weight)):
        if not isinstance(value, QuantizedTensor):
            raise TypeError(f"quantized linear expects a quantized {name} (see "
                            f"torch.quantize_per_tensor), got a {value.dtype} tensor")
    if scale is None:
        scale = input.q_scale()
    if zero_point is None:
        zero_point = input.q_zero_point()
    module = Linear(weight.shape[1], weight.shape[0], bias_=bias is not None,
                    dtype=weight.dtype)
    module.set_weight_bias(weight, bias)
    module.scale, module.zero_point = float(scale), int(zero_point)
    return module(input)


# -- the ops whose float functions take quantized tensors as they are ---------------------------
# (PyTorch's torch.ao.nn.quantized.functional wraps torch.nn.functional the same way)

def _need_quantized(input, name: str) -> None:
    if not isinstance(input, QuantizedTensor):
        raise ValueError(f"Input to 'quantized.functional.{name}' must be quantized!")


def clamp(input, min_: float, max_: float):
    """The values clamped to ``[min_, max_]`` on the input's grid (its integers clamped to the
    quantized bounds).

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> q = ember.quantize_per_tensor(ember.tensor([-1.0, 0.2, 1.0]), 0.1, 10, ember.quint8)
        >>> qF.clamp(q, -0.5, 0.5).dequantize()
        tensor([-0.5000,  0.2000,  0.5000])
    """
    if not isinstance(input, QuantizedTensor):
        raise ValueError("Input to 'quantized.clamp' must be quantized!")
    from ...._quantized_ops import hardtanh as clamp_ints

    return clamp_ints(input, min_, max_)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``clamp(input, min_val, max_val)`` of a quantized tensor (see ``clamp``).

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> q = ember.quantize_per_tensor(ember.tensor([-2.0, 0.5]), 0.1, 30, ember.quint8)
        >>> qF.hardtanh(q).dequantize()
        tensor([-1.0000,  0.5000])
    """
    if not isinstance(input, QuantizedTensor):
        raise ValueError("Input to 'quantized.hardtanh' must be quantized!")
    from ....nn import functional as F

    return F.hardtanh(input, min_val, max_val, inplace)


def _float_function(name: str, doc: str, check: bool = True, no_indices: bool = False):
    def fn(input, *args, **kwargs):
        if check:
            _need_quantized(input, name)
        if no_indices and (kwargs.get("return_indices") or len(args) > 5 and args[5]):
            raise NotImplementedError("return_indices is not yet implemented!")
        from ....nn import functional as F

        target = "interpolate" if name in ("upsample", "upsample_nearest") else name
        if name == "upsample_nearest":
            kwargs["mode"] = "nearest"
        return getattr(F, target)(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


_POOL_EXAMPLE = """

    Example:
        >>> import ember.ao.nn.quantized.functional as qF
        >>> q = ember.quantize_per_tensor(ember.arange(16.0).reshape(1, 1, 4, 4), 0.5, 0,
        ...                               ember.quint8)
        >>> qF.{name}(q, {arg}).shape
        {shape}
    """
max_pool1d = _float_function("max_pool1d", "``F.max_pool1d`` of a quantized tensor (its "
                             "integers moved, scale kept)." + _POOL_EXAMPLE.format(
                                 name="max_pool1d", arg="2",
                                 shape="torch.Size([1, 4, 2])").replace(
                                     "reshape(1, 1, 4, 4)", "reshape(1, 1, 4, 4)[0]"),
                             check=False, no_indices=True)
max_pool2d = _float_function("max_pool2d", "``F.max_pool2d`` of a quantized tensor (its "
                             "integers moved, scale kept)." + _POOL_EXAMPLE.format(
                                 name="max_pool2d", arg="2", shape="torch.Size([1, 1, 2, 2])"),
                             check=False, no_indices=True)
avg_pool2d = _float_function("avg_pool2d", "``F.avg_pool2d`` of a quantized tensor (its "
                             "integers averaged, scale kept)." + _POOL_EXAMPLE.format(
                                 name="avg_pool2d", arg="2", shape="torch.Size([1, 1, 2, 2])"),
                             check=False)
avg_pool3d = _float_function("avg_pool3d", "``F.avg_pool3d`` of a quantized tensor (its "
                             "integers averaged, scale kept)." + _POOL_EXAMPLE.format(
                                 name="avg_pool3d", arg="(1, 2, 2)",
                                 shape="torch.Size([1, 1, 2, 2])"), check=False)
adaptive_avg_pool2d = _float_function(
    "adaptive_avg_pool2d", "``F.adaptive_avg_pool2d`` of a quantized tensor (scale kept)."
    + _POOL_EXAMPLE.format(name="adaptive_avg_pool2d", arg="1",
                           shape="torch.Size([1, 1, 1, 1])"))
adaptive_avg_pool3d = _float_function(
    "adaptive_avg_pool3d", "``F.adaptive_avg_pool3d`` of a quantized tensor (scale kept)."
    + _POOL_EXAMPLE.format(name="adaptive_avg_pool3d", arg="1",
                           shape="torch.Size([1, 1, 1, 1])"))
interpolate = _float_function(
    "interpolate", "``F.interpolate`` of a quantized tensor (nearest modes)."
    + _POOL_EXAMPLE.format(name="interpolate", arg="scale_factor=2",
                           shape="torch.Size([1, 1, 8, 8])"), check=False)
upsample = _float_function(
    "upsample", "``F.interpolate`` of a quantized tensor (deprecated name)."
    + _POOL_EXAMPLE.format(name="upsample", arg="scale_factor=2",
                           shape="torch.Size([1, 1, 8, 8])"), check=False)
upsample_nearest = _float_function(
    "upsample_nearest", "Nearest upsampling of a quantized tensor (deprecated name)."
    + _POOL_EXAMPLE.format(name="upsample_nearest", arg="scale_factor=2",
                           shape="torch.Size([1, 1, 8, 8])"), check=False)
