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
from .autograd.grad_mode import _state as _grad_state

__all__ = ["fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
           "_fake_quantize_learnable_per_tensor_affine",
           "_fake_quantize_learnable_per_channel_affine"]


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
    if scale.ndim != 1:
        raise RuntimeError("scale should be a 1-D tensor")
    if zero_point.ndim != 1:
        raise RuntimeError("zero point should be a 1-D tensor")
    if scale.numel() != zero_point.numel():
        raise RuntimeError("scale and zero-point need to have the same dimensions")
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


# -- learnable scale and zero point (LSQ / LSQ+): _LearnableFakeQuantize's kernels ---------------

def _learnable_grads(x, dy, scale, zero_point, quant_min, quant_max, grad_factor):
    """The gradients of PyTorch's learnable fake quantization, elementwise: ``x`` straight
    through inside the range; the scale's is ``(fq(x) - x) / scale`` inside and the clamped
    bound's offset ``quant_min - zero_point`` (``quant_max - zero_point``) outside; the zero
    point's is ``-scale`` outside and 0 inside; both times ``grad_factor``. ``scale`` and
    ``zero_point`` (float arrays) broadcast against ``x``."""
    xp = get_array_module(x)
    inv_scale = np.float32(1) / scale
    with np.errstate(all="ignore"):
        levels = xp.rint(zero_point + x * inv_scale)
        inside = (levels >= quant_min) & (levels <= quant_max)
        # PyTorch's compiled kernel fuses ``(q - zero_point) * scale - x`` into one
        # multiply-add (rounded once); float64 stands in for the fused step
        wide = np.float64 if x.dtype == np.float32 else x.dtype
        offset = (xp.clip(levels, quant_min, quant_max) - zero_point).astype(wide)
        error = (offset * xp.asarray(scale, wide) - x.astype(wide)).astype(x.dtype)
        bound = xp.where(levels < quant_min, quant_min - zero_point, quant_max - zero_point)
        dscale = xp.where(inside, dy * error * inv_scale, dy * bound) * grad_factor
        dzero = xp.where(inside, 0, -dy * scale * grad_factor)
    dx = dy * inside
    return dx.astype(x.dtype), dscale.astype(np.float32), dzero.astype(np.float32)


def _sum_like_torch(a, axes):
    from ._ops.reduction._sum_order import torch_order_sum

    if type(a) is np.ndarray:
        a = np.ascontiguousarray(a)
        total = torch_order_sum(a, axes, False)
        if total is not None:
            return np.asarray(total, a.dtype)
    return a.sum(axis=axes)


class _LearnableFakeQuantize(Op):
    holds_saved = True  # keeps its arrays on ctx; PyTorch saves the tensors

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min=0, quant_max=255, grad_factor=1.0,
                axis=None, forward_qparams=None, backward_qparams=None):
        ctx.x, ctx.axis, ctx.qparams = x, axis, backward_qparams
        ctx.scale_shape, ctx.zero_shape = scale.shape, zero_point.shape
        ctx.bounds = (quant_min, quant_max, grad_factor)
        return _fake(x, *forward_qparams, quant_min, quant_max)[0]

    @staticmethod
    def backward(ctx, grad):
        if grad._data.dtype != np.float32:  # PyTorch's kernels are float32 only
            name = "dY" if ctx.axis is not None else "dY_"
            raise RuntimeError(f"Expected {name}.scalar_type() == ScalarType::Float to be true, "
                               "but got false.  (Could this error message be improved?  If so, "
                               "please report an enhancement request to PyTorch.)")
        quant_min, quant_max, grad_factor = ctx.bounds
        others = tuple(d for d in range(ctx.x.ndim) if d != ctx.axis)
        if _grad_state.enabled:
            # a graph is being built (create_graph, jvp): the gradients are linear in
            # ``grad``, with the kernel's per-element coefficients (a unit cotangent)
            ones = get_array_module(ctx.x).ones_like(ctx.x)
            mask, cscale, czero = (const_like(grad, a) for a in _learnable_grads(
                ctx.x, ones, *ctx.qparams, quant_min, quant_max, grad_factor))
            dscale, dzero = grad * cscale, grad * czero
            if others:
                dscale, dzero = dscale.sum(others), dzero.sum(others)
            return (grad * mask, dscale.reshape(ctx.scale_shape),
                    dzero.reshape(ctx.zero_shape))
        dx, dscale, dzero = _learnable_grads(ctx.x, grad._data, *ctx.qparams, quant_min,
                                             quant_max, grad_factor)
        # summed as PyTorch's sum kernel adds (float32 rounding makes the order show)
        dscale, dzero = (_sum_like_torch(a, others) for a in (dscale, dzero))
        return (const_like(grad, dx), const_like(grad, dscale.reshape(ctx.scale_shape)),
                const_like(grad, dzero.reshape(ctx.zero_shape)))


class FakeQuantizeLearnablePerTensorAffine(_LearnableFakeQuantize):
    pass


class FakeQuantizeLearnablePerChannelAffine(_LearnableFakeQuantize):
    pass


def _fake_quantize_learnable_per_tensor_affine(input: Tensor, scale: Tensor, zero_point: Tensor,
                                               quant_min: int, quant_max: int,
                                               grad_factor: float = 1.0) -> Tensor:
    """``fake_quantize_per_tensor_affine`` whose ``scale`` and ``zero_point`` are tensors that
    learn (LSQ): the forward uses ``scale[0]`` and the rounded, clamped ``zero_point[0]``;
    backward gives ``input`` the straight-through gradient and ``scale``/``zero_point`` the
    LSQ+ gradients, multiplied by ``grad_factor``.

    Example:
        >>> s = ember.tensor([0.1], requires_grad=True)
        >>> z = ember.tensor([0.0], requires_grad=True)
        >>> y = ember._fake_quantize_learnable_per_tensor_affine(
        ...     ember.tensor([0.26, 30.0]), s, z, 0, 255, 1.0)
        >>> y.sum().backward(); y.detach(), s.grad
        (tensor([ 0.3000, 25.5000]), tensor([255.4000]))
    """
    _check_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    for value in (scale, zero_point):
        if value.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
    _check_range((), quant_min, quant_max)
    scale_value = np.float32(scale.detach().reshape(-1)[0].item())
    zero_value = np.float32(zero_point.detach().reshape(-1)[0].item())
    forward_zero = np.clip(np.rint(zero_value), quant_min, quant_max)
    # the backward kernel rounds the zero point half up, by truncation, after clamping
    backward_zero = np.float32(np.trunc(np.clip(zero_value + np.float32(0.5), quant_min,
                                                quant_max)))
    return FakeQuantizeLearnablePerTensorAffine.apply(
        input, scale, zero_point, quant_min=quant_min, quant_max=quant_max,
        grad_factor=builtins.float(grad_factor),
        forward_qparams=(scale_value, builtins.int(forward_zero)),
        backward_qparams=(scale_value, backward_zero))


def _fake_quantize_learnable_per_channel_affine(input: Tensor, scale: Tensor,
                                                zero_point: Tensor, axis: int, quant_min: int,
                                                quant_max: int,
                                                grad_factor: float = 1.0) -> Tensor:
    """``_fake_quantize_learnable_per_tensor_affine`` with one learnable scale and zero point
    per index of ``input``'s dimension ``axis``.

    Example:
        >>> s = ember.tensor([0.1, 0.5], requires_grad=True)
        >>> z = ember.tensor([0.0, 0.0], requires_grad=True)
        >>> ember._fake_quantize_learnable_per_channel_affine(
        ...     ember.tensor([[0.26], [1.2]]), s, z, 0, 0, 255, 1.0).detach()
        tensor([[0.3000],
                [1.0000]])
    """
    zero_rounded = zero_point.detach().round().clamp(quant_min, quant_max)
    # the checks and the forward of the plain per-channel op
    fake_quantize_per_channel_affine(input.detach(), scale.detach(), zero_rounded.int(), axis,
                                     quant_min, quant_max)
    axis %= input.ndim
    shape = [1] * input.ndim
    shape[axis] = -1
    s = scale._data.astype(np.float32).reshape(shape)
    z = zero_rounded._data.astype(np.float32).reshape(shape)
    return FakeQuantizeLearnablePerChannelAffine.apply(
        input, scale, zero_point, quant_min=quant_min, quant_max=quant_max,
        grad_factor=builtins.float(grad_factor), axis=axis, forward_qparams=(s, z),
        backward_qparams=(s, z))
