"""The float functions PyTorch also runs on quantized tensors: what a statically quantized
model's unfused layers meet (``nn.ReLU``, ``nn.MaxPool2d``, ``nn.AdaptiveAvgPool2d``,
``torch.flatten``, ``torch.cat``, nearest upsampling ...).

Each works on the stored integers of a per-tensor quantized tensor and keeps its scale and zero
point, with PyTorch's rounding, so the integers equal PyTorch's:

- ``relu``/``hardtanh``/``relu6`` clamp the integers at the quantized bounds;
- max pooling and nearest resizing move integers around;
- average pooling and means average the integers (padding is the zero point) and round half
  to even;
- ``cat`` requantizes every input to the first one's scale and zero point.

The public functions (``F.relu``, ``F.max_pool2d``, ``ember.cat`` ...) send quantized inputs
here.

Example:
    >>> q = ember.quantize_per_tensor(ember.tensor([[-1.0, 0.5], [2.0, -0.2]]), 0.1, 5,
    ...                               ember.quint8)
    >>> ember.nn.functional.relu(q).int_repr()
    tensor([[ 5, 10],
            [25,  5]], dtype=torch.uint8)
"""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from ._quantized_tensor import (
    QData,
    QuantizedTensor,
    _wrap,
    backend_error,
    per_tensor_affine,
    quantize_ints,
)
from ._tensor import Tensor


def _per_tensor(q: QuantizedTensor, op: str):
    data = q._data
    if data.scheme is not per_tensor_affine:
        raise backend_error(op)  # PyTorch runs these on per-tensor activations only
    return data


def _quantize_scalar(value: float, q: QuantizedTensor) -> int:
    data = q._data
    return int(quantize_ints(np.float32(value), np.float32(1) / np.float32(data.scale),
                             data.zero_point, q._dtype))


def _like(q: QuantizedTensor, ints: np.ndarray) -> QuantizedTensor:
    # ascontiguousarray turns a 0-d array into a 1-d one: keep the shape
    ints = np.ascontiguousarray(ints, q._data.ints.dtype).reshape(np.shape(ints))
    return _wrap(q._data.with_ints(ints), q._dtype)


def hardtanh(q: QuantizedTensor, min_val: float, max_val: float) -> QuantizedTensor:
    """The integers clamped to ``[quantize(min_val), quantize(max_val)]``."""
    data = _per_tensor(q, "aten::hardtanh")
    return _like(q, np.clip(data.ints, _quantize_scalar(min_val, q),
                            _quantize_scalar(max_val, q)))


def hardsigmoid(q: QuantizedTensor) -> QuantizedTensor:
    """``relu6(x + 3) / 6`` of a per-tensor quint8/qint8 tensor. Its output range is [0, 1],
    so PyTorch fixes the output's quantization: scale 1/256, zero point 0 (quint8) or -128
    (qint8), whatever the input's."""
    data = _per_tensor(q, "aten::hardsigmoid")
    values = np.clip(data.floats() + np.float32(3), 0, 6) / np.float32(6)
    zero_point = -128 if q._dtype is D.qint8 else 0
    ints = quantize_ints(values.astype(np.float32), np.float32(256), zero_point, q._dtype)
    return _wrap(QData(ints, per_tensor_affine, 1.0 / 256, zero_point), q._dtype)


def _fixed_range(q: QuantizedTensor, values: np.ndarray, symmetric: bool) -> QuantizedTensor:
    """``values`` (the float function of ``q``) quantized to the fixed grid PyTorch gives a
    bounded activation: [0, 1] (sigmoid) or [-1, 1] (tanh) spread over every level of
    ``q``'s dtype, whatever ``q``'s own scale."""
    dtype = q._dtype
    levels = dtype.qmax - dtype.qmin + 1
    scale = (2.0 if symmetric else 1.0) / levels
    zero_point = (dtype.qmin + dtype.qmax + 1) // 2 if symmetric else dtype.qmin
    ints = quantize_ints(values.astype(np.float32), np.float32(1) / np.float32(scale),
                         zero_point, dtype)
    return _wrap(QData(ints, per_tensor_affine, scale, zero_point), dtype)


def _per_tensor_only(q: QuantizedTensor) -> QData:
    if q._data.scheme is not per_tensor_affine:
        q._need(per_tensor_affine)  # PyTorch's RuntimeError
    return q._data


def sigmoid(q: QuantizedTensor) -> QuantizedTensor:
    """``1 / (1 + exp(-x))`` of a per-tensor quantized tensor, on PyTorch's fixed output grid:
    scale ``1 / 256`` and zero point 0 (quint8) or -128 (qint8)."""
    x = _per_tensor_only(q).floats()
    with np.errstate(over="ignore"):
        return _fixed_range(q, np.float32(1) / (np.float32(1) + np.exp(-x)), symmetric=False)


def tanh(q: QuantizedTensor) -> QuantizedTensor:
    """``tanh`` of a per-tensor quantized tensor, on PyTorch's fixed output grid: scale
    ``2 / 256`` and zero point 128 (quint8) or 0 (qint8)."""
    return _fixed_range(q, np.tanh(_per_tensor_only(q).floats()), symmetric=True)


def relu(q: QuantizedTensor) -> QuantizedTensor:
    """The integers clamped below at the zero point (per-channel tensors too)."""
    return q.relu()


def _centred(q: QuantizedTensor) -> Tensor:
    """``q - zero_point`` as float64 (exact for every quantized dtype)."""
    data = q._data
    return Tensor._make(data.ints.astype(np.float64) - data.zero_point, D.float64)


def _from_centred(q: QuantizedTensor, values: Tensor, window: int = 1) -> QuantizedTensor:
    """Add the zero point back, round half to even, clamp to the dtype's range.

    ``values`` are averages ``S / c`` of integers over windows of at most ``window`` elements,
    computed in float64 with a little rounding error; an exact tie (``2 S / c`` odd) must round
    to even as PyTorch's exact division does, so values within ``0.5 / window`` of a half
    (closer than any non-tie average can be) are treated as that half."""
    v = np.asarray(values._data, np.float64) + q._data.zero_point  # rounded uncentred
    twice = np.rint(2 * v)
    tie = (np.abs(2 * v - twice) < 0.5 / window) & (np.mod(twice, 2) == 1)
    ints = np.where(tie, np.rint(twice / 2), np.rint(v))
    return _like(q, np.clip(ints, q._dtype.qmin, q._dtype.qmax))


def pool(fn, q: QuantizedTensor, op: str, *args, **kwargs) -> QuantizedTensor:
    """``fn`` (a float pooling or resizing function) over the centred integers: exact for max
    pooling and nearest resizing, PyTorch's rounding for averages."""
    _per_tensor(q, op)
    from .autograd import grad_mode

    with grad_mode.no_grad():
        out = fn(_centred(q), *args, **kwargs)
    window = max(1, int(np.prod(q.shape[2:], dtype=np.int64)))  # no window is larger
    if isinstance(out, tuple):  # max pooling with return_indices
        return (_from_centred(q, out[0], window),) + tuple(out[1:])
    return _from_centred(q, out, window)


def mean(q: QuantizedTensor, dim=None, keepdim: bool = False) -> QuantizedTensor:
    """The mean of the centred integers over ``dim``, rounded half to even."""
    _per_tensor(q, "aten::mean.dim")
    axis = tuple(dim) if isinstance(dim, (tuple, list)) else dim
    centred = _centred(q)._data
    values = centred.mean(axis=axis, keepdims=keepdim)
    window = max(1, centred.size // max(1, np.asarray(values).size))
    return _from_centred(q, Tensor._make(np.asarray(values), D.float64), window)


def extreme(name: str, q: QuantizedTensor, dim=None, keepdim: bool = False, rtype=None):
    """``max``/``min`` of a per-tensor quantized tensor: the scale is positive, so the largest
    integer is the largest value. Without ``dim`` a 0-d quantized tensor; with it,
    ``(values, indices)`` as ``rtype``."""
    data = q._data
    if data.scheme is not per_tensor_affine:
        raise RuntimeError(
            f"{name.capitalize()} operator for quantized tensors only works for per tensor "
            "quantized tensors. Please open an issue on https://github.com/pytorch/pytorch/"
            "issues if you need per channel quantized tensor support.")
    pick, arg = (np.max, np.argmax) if name == "max" else (np.min, np.argmin)
    if dim is None:
        return _like(q, pick(data.ints))
    axis = dim % max(data.ndim, 1)
    index = np.expand_dims(arg(data.ints, axis=axis), axis)
    values = np.take_along_axis(data.ints, index, axis=axis)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return rtype(_like(q, values), Tensor._make(np.ascontiguousarray(index, np.int64), D.int64))


def interpolate(fn, q: QuantizedTensor, *args, mode: str = "nearest", **kwargs):
    """Nearest resizing of the integers; other modes raise PyTorch's error for them."""
    if mode not in ("nearest", "nearest-exact"):
        raise backend_error(f"aten::upsample_{mode}.out")
    return pool(fn, q, "aten::upsample_nearest", *args, mode=mode, **kwargs)


def cat(tensors, dim: int) -> QuantizedTensor:
    """Concatenation with the first tensor's scale and zero point (the others requantized)."""
    first = tensors[0]
    for t in tensors:
        if not isinstance(t, QuantizedTensor):
            raise backend_error("aten::qscheme", "CPU")
        if t._dtype is not first._dtype:
            raise RuntimeError("All dtypes must be the same.")
        _per_tensor(t, "aten::cat")
    data = first._data
    inv = np.float32(1) / np.float32(data.scale)
    parts = [t._data.ints if (t._data.scale, t._data.zero_point) == (data.scale, data.zero_point)
             else quantize_ints(t._data.floats(), inv, data.zero_point, first._dtype)
             for t in tensors]
    return _like(first, np.concatenate(parts, axis=dim))
