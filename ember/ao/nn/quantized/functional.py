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

__all__ = ["elu", "leaky_relu"]


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
