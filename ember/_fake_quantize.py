"""Fake quantization: ``fake_quantize_per_tensor_affine`` and ``fake_quantize_per_channel_affine``.

Float in, float out: each value is rounded to its nearest quantized level and read back, so a
model trains against the error quantization will add (quantization-aware training). The
gradient is the straight-through estimator: it passes unchanged where the rounded value lies
inside ``[quant_min, quant_max]`` and is zero where it was clamped.

PyTorch's arithmetic, to the bit: ``q = clamp(nearbyint(x * (1 / scale)) + zero_point,
quant_min, quant_max)`` and ``out = (q - zero_point) * scale`` in the input's precision (note
that the zero point is added after rounding here, before it in ``quantize_per_tensor``).
"""

from __future__ import annotations

import builtins

import numpy as np

from . import _autocast
from . import _dtype as D
from ._backend import asarray_like, get_array_module
from ._ops._core import Op, const_like
from ._tensor import Tensor

__all__ = ["fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]


def _fake(x, scale, zero_point, quant_min, quant_max):
    """(output, mask): the fake-quantized values and where the gradient passes. ``scale`` and
    ``zero_point`` are numbers or arrays that broadcast against ``x`` (on its device)."""
    xp = get_array_module(x)
    s = asarray_like(scale, x, x.dtype)
    z = asarray_like(zero_point, x, x.dtype)
    with np.errstate(all="ignore"):
        levels = xp.rint(x * (x.dtype.type(1) / s)) + z
    mask = (levels >= quant_min) & (levels <= quant_max)
    # a NaN reads as the lowest level, as in PyTorch's kernel (its mask is False)
    q = xp.clip(xp.where(xp.isnan(levels), x.dtype.type(quant_min), levels), quant_min,
                quant_max) - z
    return (q * s).astype(x.dtype, copy=False), mask


class _FakeQuantize(Op):
    holds_saved = True  # keeps the mask on ctx; PyTorch saves it (Op._free)

    @staticmethod
    def forward(ctx, x, scale=None, zero_point=None, quant_min=0, quant_max=255):
        out, mask = _fake(x, scale, zero_point, quant_min, quant_max)
        ctx.mask = mask
        return out

    @staticmethod
    def backward(ctx, grad):
        # straight through inside the range; the mask is a constant, so the rule is linear
        # and serves higher-order gradients as it is
        return grad * const_like(grad, ctx.mask.astype(grad._data.dtype))


class FakeQuantizePerTensorAffineCachemask(_FakeQuantize):
    pass


class FakeQuantizePerTensorAffineCachemaskTensorQparams(_FakeQuantize):
    pass


class FakeQuantizePerChannelAffineCachemask(_FakeQuantize):
    pass


def _check_input(input: Tensor, kernel: str) -> None:
    if input._dtype not in (D.float32, D.float64, D.float16, D.bfloat16):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{D.SCALAR_TYPE[input._dtype.name]}'")


def _check_range(zero_points, quant_min: int, quant_max: int) -> None:
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")
    z = np.asarray(zero_points)
    if z.size and (z.min() < quant_min or z.max() > quant_max):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")


@_autocast.hooked("fake_quantize_per_tensor_affine")
def fake_quantize_per_tensor_affine(input: Tensor, scale, zero_point, quant_min: int,
                                    quant_max: int) -> Tensor:
    """Round ``input`` to the levels of an affine quantizer and read them back as floats:
    ``(clamp(round(x / scale) + zero_point, quant_min, quant_max) - zero_point) * scale``.
    The gradient passes where the rounded value is within range, and is zero elsewhere.

    Args:
        input (Tensor): float values.
        scale (float or Tensor): the step between levels (a float32 tensor of one value).
        zero_point (int or Tensor): the level of 0.0 (an int32 tensor of one value).
        quant_min (int): the lowest level.
        quant_max (int): the highest level.

    Example:
        >>> ember.fake_quantize_per_tensor_affine(ember.tensor([0.26, 1.0, 30.0]), 0.1, 0, 0,
        ...                                       255)
        tensor([ 0.3000,  1.0000, 25.5000])
    """
    _check_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    cls = FakeQuantizePerTensorAffineCachemask
    if isinstance(scale, Tensor) or isinstance(zero_point, Tensor):
        cls = FakeQuantizePerTensorAffineCachemaskTensorQparams
    if isinstance(scale, Tensor):
        scale = np.float32(scale.reshape(-1)[0].item())  # a float32 tensor
    else:
        scale = builtins.float(scale)
    if isinstance(zero_point, Tensor):
        zero_point = builtins.int(round(zero_point.reshape(-1)[0].item()))
    _check_range(zero_point, quant_min, quant_max)
    return cls.apply(input, scale=scale, zero_point=zero_point, quant_min=quant_min,
                     quant_max=quant_max)


def fake_quantize_per_channel_affine(input: Tensor, scale: Tensor, zero_point: Tensor,
                                     axis: int, quant_min: int, quant_max: int) -> Tensor:
    """``fake_quantize_per_tensor_affine`` with one scale and zero point per index of
    ``input``'s dimension ``axis``.

    Args:
        input (Tensor): float values.
        scale (Tensor): float32, one per channel.
        zero_point (Tensor): int32 (or float), one per channel.
        axis (int): the channel dimension.
        quant_min (int): the lowest level.
        quant_max (int): the highest level.

    Example:
        >>> x = ember.tensor([[0.26, 1.0], [0.26, 1.0]])
        >>> ember.fake_quantize_per_channel_affine(x, ember.tensor([0.1, 0.5]),
        ...     ember.tensor([0, 0], dtype=ember.int32), 0, 0, 255)
        tensor([[0.3000, 1.0000],
                [0.5000, 1.0000]])
    """
    _check_input(input, "fake_quantize_channel_cachemask_cpu_type_handling")
    if scale._dtype not in (D.float32, D.bfloat16):
        raise RuntimeError(f"Scale must be Float or BFloat16, found "
                           f"{D.SCALAR_TYPE[scale._dtype.name]}")
    if zero_point._dtype not in (D.int32, D.float32, D.float16):
        raise RuntimeError(f"Zero-point must be Int32, Float or Half, found "
                           f"{D.SCALAR_TYPE[zero_point._dtype.name]}")
    ndim = input.ndim
    if not -ndim <= axis < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {axis})")
    axis %= ndim
    channels = input.shape[axis]
    if scale.numel() != channels or zero_point.numel() != channels:
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           "tensor")
    _check_range((), quant_min, quant_max)
    xp = get_array_module(zero_point._data)
    z = xp.rint(zero_point._data.astype(np.float64)).reshape(-1)
    if z.size and (builtins.float(z.min()) < quant_min or builtins.float(z.max()) > quant_max):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    shape = [1] * ndim
    shape[axis] = -1
    s = scale._data.astype(np.float32).reshape(shape)
    return FakeQuantizePerChannelAffineCachemask.apply(
        input, scale=s, zero_point=z.reshape(shape), quant_min=quant_min, quant_max=quant_max)
