"""ONNX operators as ember ops, for modules loaded by ``ember.onnx.load``.

Each handler takes the node's attributes (a dict) and its inputs (ember tensors, None for an
omitted optional input) and returns a list of outputs. They are written with differentiable
ember ops, so a loaded model can be fine-tuned.
"""

from __future__ import annotations

import math

import numpy as np

import ember

from .. import _dtype as D
from ..nn import functional as F

OPS: dict = {}


def op(*names):
    def register(fn):
        for name in names:
            OPS[name] = fn
        return fn

    return register


def _ints(t) -> list:
    """An int64 tensor (a shape, axes, pads) as Python ints."""
    return [int(v) for v in np.asarray(t.detach().numpy() if isinstance(t, ember.Tensor) else t)
            .reshape(-1)]


def _axes(attrs, inputs, index=1):
    """``axes`` from an input (opset 13+/18+) or an attribute (older opsets)."""
    if len(inputs) > index and inputs[index] is not None:
        return _ints(inputs[index])
    axes = attrs.get("axes")
    return None if axes is None else [int(a) for a in axes]


def _dtype_of(elem_type):
    from ._proto import numpy_dtype

    return D._FROM_NP[numpy_dtype(elem_type)]


# -- elementwise ----------------------------------------------------------------------------

def _binary(fn):
    return lambda attrs, inputs: [fn(inputs[0], inputs[1])]


OPS.update({
    "Add": _binary(lambda a, b: a + b), "Sub": _binary(lambda a, b: a - b),
    "Mul": _binary(lambda a, b: a * b), "Pow": _binary(lambda a, b: a ** b),
    "Equal": _binary(lambda a, b: a == b), "Less": _binary(lambda a, b: a < b),
    "Greater": _binary(lambda a, b: a > b), "LessOrEqual": _binary(lambda a, b: a <= b),
    "GreaterOrEqual": _binary(lambda a, b: a >= b),
    "And": _binary(ember.logical_and), "Or": _binary(ember.logical_or),
    "Xor": _binary(ember.logical_xor),
})


@op("Div")
def _div(attrs, inputs):
    a, b = inputs
    if not a.is_floating_point() and not b.is_floating_point():
        return [ember.div(a, b, rounding_mode="trunc")]
    return [a / b]


def _variadic(fn):
    def handler(attrs, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = fn(out, x)
        return [out]

    return handler


OPS["Max"] = _variadic(ember.maximum)
OPS["Min"] = _variadic(ember.minimum)
OPS["Sum"] = _variadic(lambda a, b: a + b)
OPS["Mean"] = lambda attrs, inputs: [_variadic(lambda a, b: a + b)(attrs, inputs)[0]
                                     / len(inputs)]

_UNARY = {"Neg": ember.neg, "Abs": ember.abs, "Exp": ember.exp, "Log": ember.log,
          "Sqrt": ember.sqrt, "Reciprocal": ember.reciprocal, "Tanh": ember.tanh,
          "Sigmoid": ember.sigmoid, "Erf": ember.erf, "Relu": F.relu, "Floor": ember.floor,
          "Ceil": ember.ceil, "Sign": ember.sign, "Sin": ember.sin, "Cos": ember.cos,
          "Tan": ember.tan, "Asin": ember.asin, "Acos": ember.acos, "Atan": ember.atan,
          "Sinh": ember.sinh, "Cosh": ember.cosh, "Asinh": ember.asinh, "Acosh": ember.acosh,
          "Atanh": ember.atanh, "Not": ember.logical_not, "IsNaN": ember.isnan,
          "Round": ember.round, "Softsign": F.softsign, "Identity": lambda x: x}
for _name, _fn in _UNARY.items():
    OPS[_name] = (lambda fn: lambda attrs, inputs: [fn(inputs[0])])(_fn)


@op("IsInf")
def _isinf(attrs, inputs):
    x = inputs[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if pos and neg:
        return [ember.isinf(x)]
    return [ember.isposinf(x) if pos else ember.isneginf(x)]


@op("LeakyRelu")
def _leaky_relu(attrs, inputs):
    return [F.leaky_relu(inputs[0], attrs.get("alpha", 0.01))]


@op("Elu")
def _elu(attrs, inputs):
    return [F.elu(inputs[0], attrs.get("alpha", 1.0))]


@op("Selu")
def _selu(attrs, inputs):
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), \
        attrs.get("gamma", 1.05070102214813232421875)
    x = inputs[0]
    return [gamma * ember.where(x > 0, x, alpha * (ember.exp(x) - 1))]


@op("Celu")
def _celu(attrs, inputs):
    return [F.celu(inputs[0], attrs.get("alpha", 1.0))]


@op("HardSigmoid")
def _hardsigmoid(attrs, inputs):
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    return [ember.clamp(inputs[0] * alpha + beta, 0.0, 1.0)]


@op("HardSwish")
def _hardswish(attrs, inputs):
    return [F.hardswish(inputs[0])]


@op("Softplus")
def _softplus(attrs, inputs):
    return [F.softplus(inputs[0])]


@op("Mish")
def _mish(attrs, inputs):
    return [F.mish(inputs[0])]


@op("Gelu")
def _gelu(attrs, inputs):
    return [F.gelu(inputs[0], approximate=attrs.get("approximate", "none"))]


@op("PRelu")
def _prelu(attrs, inputs):
    x, slope = inputs
    return [ember.where(x >= 0, x, x * slope)]


@op("Shrink")
def _shrink(attrs, inputs):
    x = inputs[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    zero = ember.zeros_like(x)
    return [ember.where(x < -lambd, x + bias, ember.where(x > lambd, x - bias, zero))]


@op("Clip")
def _clip(attrs, inputs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 else attrs.get("min")
    hi = inputs[2] if len(inputs) > 2 else attrs.get("max")
    if lo is not None:
        x = ember.maximum(x, lo if isinstance(lo, ember.Tensor) else
                          ember.tensor(lo, dtype=x.dtype))
    if hi is not None:
        x = ember.minimum(x, hi if isinstance(hi, ember.Tensor) else
                          ember.tensor(hi, dtype=x.dtype))
    return [x]


@op("Where")
def _where(attrs, inputs):
    return [ember.where(inputs[0], inputs[1], inputs[2])]


@op("Cast")
def _cast(attrs, inputs):
    return [inputs[0].to(_dtype_of(attrs["to"]))]


@op("CastLike")
def _cast_like(attrs, inputs):
    return [inputs[0].to(inputs[1].dtype)]


# -- linear algebra ---------------------------------------------------------------------------

@op("MatMul")
def _matmul(attrs, inputs):
    return [ember.matmul(inputs[0], inputs[1])]


@op("Gemm")
def _gemm(attrs, inputs):
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if attrs.get("transA", 0):
        a = a.t()
    if attrs.get("transB", 0) and alpha == 1.0 and (c is None or beta == 1.0) and \
            (c is None or c.dim() == 1):
        return [F.linear(a, b, c)]  # the common layer: one fused op
    if attrs.get("transB", 0):
        b = b.t()
    out = a @ b
    if alpha != 1.0:
        out = out * alpha
    if c is not None:
        out = out + (c * beta if beta != 1.0 else c)
    return [out]


@op("Einsum")
def _einsum(attrs, inputs):
    return [ember.einsum(attrs["equation"], *inputs)]


# -- convolution and pooling ------------------------------------------------------------------

def _auto_pad(attrs, x, ksize, strides, dilations):
    mode = attrs.get("auto_pad", "NOTSET")
    nd = len(ksize)
    if mode in ("NOTSET", "VALID"):
        pads = attrs.get("pads") or [0] * (2 * nd)
        return list(pads) if mode == "NOTSET" else [0] * (2 * nd)
    lo, hi = [], []
    for i in range(nd):
        n = x.shape[2 + i]
        out = -(-n // strides[i])
        total = max(0, (out - 1) * strides[i] + (ksize[i] - 1) * dilations[i] + 1 - n)
        small = total // 2
        if mode == "SAME_UPPER":
            lo.append(small)
            hi.append(total - small)
        else:
            lo.append(total - small)
            hi.append(small)
    return lo + hi


def _pad_input(x, pads, value=0.0):
    """Pad ``x``'s spatial axes by ONNX pads [lo..., hi...] where they are asymmetric; returns
    (x, symmetric per-axis padding)."""
    nd = len(pads) // 2
    lo, hi = pads[:nd], pads[nd:]
    if lo == hi:
        return x, tuple(lo)
    spec = []
    for i in reversed(range(nd)):
        spec += [lo[i], hi[i]]
    return F.pad(x, spec, value=value), (0,) * nd


@op("Conv")
def _conv(attrs, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    ksize = list(attrs.get("kernel_shape") or w.shape[2:])
    nd = len(ksize)
    strides = list(attrs.get("strides") or [1] * nd)
    dilations = list(attrs.get("dilations") or [1] * nd)
    pads = _auto_pad(attrs, x, ksize, strides, dilations)
    x, pad = _pad_input(x, pads)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    return [fn(x, w, b, strides, pad, dilations, attrs.get("group", 1))]


@op("ConvTranspose")
def _conv_transpose(attrs, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    ksize = list(attrs.get("kernel_shape") or w.shape[2:])
    nd = len(ksize)
    strides = list(attrs.get("strides") or [1] * nd)
    dilations = list(attrs.get("dilations") or [1] * nd)
    pads = list(attrs.get("pads") or [0] * (2 * nd))
    opad = list(attrs.get("output_padding") or [0] * nd)
    if attrs.get("output_shape") or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotImplementedError("ConvTranspose with output_shape or auto_pad")
    lo, hi = pads[:nd], pads[nd:]
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    # asymmetric pads: pad by the smaller side, then crop the rest off the high end
    common = [min(a, c) for a, c in zip(lo, hi)]
    out = fn(x, w, b, strides, common, opad, attrs.get("group", 1), dilations)
    extra_lo = [a - c for a, c in zip(lo, common)]
    extra_hi = [a - c for a, c in zip(hi, common)]
    if any(extra_lo) or any(extra_hi):
        index = (slice(None), slice(None)) + tuple(
            slice(el, out.shape[2 + i] - eh) for i, (el, eh) in enumerate(zip(extra_lo,
                                                                            extra_hi)))
        out = out[index]
    return [out]


def _pool_args(attrs, x):
    ksize = list(attrs["kernel_shape"])
    nd = len(ksize)
    strides = list(attrs.get("strides") or [1] * nd)
    dilations = list(attrs.get("dilations") or [1] * nd)
    pads = _auto_pad(attrs, x, ksize, strides, dilations)
    return ksize, strides, dilations, pads, bool(attrs.get("ceil_mode", 0))


@op("MaxPool")
def _max_pool(attrs, inputs):
    x = inputs[0]
    ksize, strides, dilations, pads, ceil = _pool_args(attrs, x)
    nd = len(ksize)
    lo, hi = pads[:nd], pads[nd:]
    pad = lo
    if lo != hi or any(p > k // 2 for p, k in zip(lo, ksize)):
        x, pad = _pad_input(x, pads, value=float("-inf"))
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    return [fn(x, ksize, strides, pad, dilations, ceil_mode=ceil)]


@op("AveragePool")
def _avg_pool(attrs, inputs):
    x = inputs[0]
    ksize, strides, _, pads, ceil = _pool_args(attrs, x)
    nd = len(ksize)
    include = bool(attrs.get("count_include_pad", 0))
    lo, hi = pads[:nd], pads[nd:]
    pad = lo
    if lo != hi:
        if not include:
            raise NotImplementedError("AveragePool with asymmetric pads excluding the padding")
        x, pad = _pad_input(x, pads)
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
    return [fn(x, ksize, strides, pad, ceil_mode=ceil, count_include_pad=include)]


@op("GlobalAveragePool")
def _global_avg(attrs, inputs):
    x = inputs[0]
    return [x.mean(dim=tuple(range(2, x.dim())), keepdim=True)]


@op("GlobalMaxPool")
def _global_max(attrs, inputs):
    x = inputs[0]
    return [x.amax(dim=tuple(range(2, x.dim())), keepdim=True)]


# -- normalization ----------------------------------------------------------------------------

@op("BatchNormalization")
def _batch_norm(attrs, inputs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0):
        raise NotImplementedError("BatchNormalization in training mode")
    return [F.batch_norm(x, mean, var, scale, bias, False, 0.0, attrs.get("epsilon", 1e-5))]


@op("LayerNormalization")
def _layer_norm(attrs, inputs):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = attrs.get("axis", -1) % x.dim()
    shape = tuple(x.shape[axis:])
    w = scale if tuple(scale.shape) == shape else scale.expand(shape)
    b = None if bias is None else (bias if tuple(bias.shape) == shape else bias.expand(shape))
    return [F.layer_norm(x, shape, w, b, attrs.get("epsilon", 1e-5))]


@op("InstanceNormalization")
def _instance_norm(attrs, inputs):
    x, scale, bias = inputs
    return [F.instance_norm(x, weight=scale, bias=bias, eps=attrs.get("epsilon", 1e-5))]


@op("GroupNormalization")
def _group_norm(attrs, inputs):
    x, scale, bias = inputs
    g = attrs["num_groups"]
    if scale.numel() != x.shape[1]:  # opset 18's per-group scale
        rep = x.shape[1] // g
        scale, bias = scale.repeat_interleave(rep), bias.repeat_interleave(rep)
    return [F.group_norm(x, g, scale, bias, attrs.get("epsilon", 1e-5))]


@op("LpNormalization")
def _lp_norm(attrs, inputs):
    return [F.normalize(inputs[0], p=attrs.get("p", 2), dim=attrs.get("axis", -1), eps=0.0)]


def _softmax(fn):
    def handler(attrs, inputs):
        return [fn(inputs[0], dim=attrs.get("axis", -1))]

    return handler


OPS["Softmax"] = _softmax(F.softmax)
OPS["LogSoftmax"] = _softmax(F.log_softmax)


@op("Dropout")
def _dropout(attrs, inputs):
    x = inputs[0]
    return [x, ember.ones(x.shape, dtype=ember.bool)]


# -- shapes -----------------------------------------------------------------------------------

@op("Shape")
def _shape(attrs, inputs):
    shape = list(inputs[0].shape)
    n = len(shape)
    start = attrs.get("start", 0)
    end = attrs.get("end", n)
    start, end = max(0, start + n if start < 0 else start), min(n, end + n if end < 0 else end)
    return [ember.tensor(shape[start:end], dtype=ember.int64)]


@op("Size")
def _size(attrs, inputs):
    return [ember.tensor(inputs[0].numel(), dtype=ember.int64)]


@op("Reshape")
def _reshape(attrs, inputs):
    x, shape = inputs[0], _ints(inputs[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


@op("Flatten")
def _flatten(attrs, inputs):
    x = inputs[0]
    axis = attrs.get("axis", 1) % (x.dim() + 1) if x.dim() else 0
    lead = math.prod(x.shape[:axis])
    return [x.reshape(lead, -1)]


@op("Transpose")
def _transpose(attrs, inputs):
    x = inputs[0]
    perm = attrs.get("perm") or list(reversed(range(x.dim())))
    return [x.permute(*perm)]


@op("Squeeze")
def _squeeze(attrs, inputs):
    x = inputs[0]
    axes = _axes(attrs, inputs)
    if axes is None:
        return [x.squeeze()]
    return [x.squeeze(tuple(a % x.dim() for a in axes))]


@op("Unsqueeze")
def _unsqueeze(attrs, inputs):
    x = inputs[0]
    axes = sorted(a % (x.dim() + len(_axes(attrs, inputs))) for a in _axes(attrs, inputs))
    for a in axes:
        x = x.unsqueeze(a)
    return [x]


@op("Concat")
def _concat(attrs, inputs):
    return [ember.cat([x for x in inputs if x is not None], dim=attrs["axis"])]


@op("Split")
def _split(attrs, inputs, n_outputs=None):
    x = inputs[0]
    axis = attrs.get("axis", 0)
    sizes = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else \
        attrs.get("split")
    if sizes is None:
        parts = attrs.get("num_outputs") or n_outputs
        n = x.shape[axis]
        step = -(-n // parts)
        sizes = [min(step, n - i * step) for i in range(parts)]
    return list(ember.split(x, list(sizes), dim=axis))


@op("Slice")
def _slice(attrs, inputs):
    x = inputs[0]
    if len(inputs) > 1:
        starts, ends = _ints(inputs[1]), _ints(inputs[2])
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else \
            list(range(len(starts)))
        steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else \
            [1] * len(starts)
    else:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes") or range(len(starts)))
        steps = [1] * len(starts)
    index = [slice(None)] * x.dim()
    flips = []
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= x.dim()
        n = x.shape[a]
        if st > 0:
            s = max(0, min(n, s + n if s < 0 else s))
            e = max(0, min(n, e + n if e < 0 else e))
            index[a] = slice(s, max(s, e), st)
        else:  # negative step: flip, then slice forward
            s = max(-1, min(n - 1, s + n if s < 0 else s))
            e = max(-1, min(n - 1, e + n if e < 0 else e))
            flips.append(a)
            index[a] = slice(n - 1 - s, n - 1 - e if e < s else n - 1 - s, -st)
    if flips:
        x = x.flip(flips)
    return [x[tuple(index)]]


@op("Gather")
def _gather(attrs, inputs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % x.dim()
    idx = ember.where(idx < 0, idx + x.shape[axis], idx)
    if axis == 0 and x.dim() == 2 and x.is_floating_point():
        return [F.embedding(idx, x)]  # the embedding lookup PyTorch exports as Gather
    flat = x.index_select(axis, idx.reshape(-1))
    shape = list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:])
    return [flat.reshape(shape)]


@op("GatherElements")
def _gather_elements(attrs, inputs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % x.dim()
    return [ember.gather(x, axis, ember.where(idx < 0, idx + x.shape[axis], idx))]


@op("Expand")
def _expand(attrs, inputs):
    x, shape = inputs[0], _ints(inputs[1])
    n = max(len(shape), x.dim())
    shape = [1] * (n - len(shape)) + shape
    cur = [1] * (n - x.dim()) + list(x.shape)
    target = [c if s == 1 else s for s, c in zip(shape, cur)]
    return [x.reshape(cur).expand(target)]


@op("Tile")
def _tile(attrs, inputs):
    return [inputs[0].repeat(*_ints(inputs[1]))]


@op("Pad")
def _pad(attrs, inputs):
    x = inputs[0]
    pads = _ints(inputs[1]) if len(inputs) > 1 else list(attrs["pads"])
    value = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("value", 0.0)
    if isinstance(value, ember.Tensor):
        value = value.item()
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else \
        list(range(x.dim()))
    k = len(axes)
    full_lo, full_hi = [0] * x.dim(), [0] * x.dim()
    for i, a in enumerate(axes):
        full_lo[a % x.dim()], full_hi[a % x.dim()] = pads[i], pads[k + i]
    spec = []
    for d in reversed(range(x.dim())):
        spec += [full_lo[d], full_hi[d]]
    while len(spec) > 2 and spec[-2:] == [0, 0]:
        spec = spec[:-2]
    mode = attrs.get("mode", "constant")
    mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
    return [F.pad(x, spec, mode=mode, value=value if mode == "constant" else None)]


@op("Constant")
def _constant(attrs, inputs):
    if "value" in attrs:  # read and checked when the model was loaded
        arr = attrs["value"]
    elif "value_float" in attrs:
        arr = np.asarray(attrs["value_float"], np.float32)
    elif "value_floats" in attrs:
        arr = np.asarray(attrs["value_floats"], np.float32)
    elif "value_int" in attrs:
        arr = np.asarray(attrs["value_int"], np.int64)
    elif "value_ints" in attrs:
        arr = np.asarray(attrs["value_ints"], np.int64)
    else:
        raise NotImplementedError(f"Constant with {sorted(attrs)}")
    return [ember.from_numpy(np.array(arr))]


@op("ConstantOfShape")
def _constant_of_shape(attrs, inputs):
    shape = _ints(inputs[0])
    value = attrs.get("value")  # an array read when the model was loaded
    arr = np.zeros(1, np.float32) if value is None else value
    return [ember.from_numpy(np.full(shape, arr.reshape(-1)[0], arr.dtype))]


@op("Range")
def _range(attrs, inputs):
    start, limit, delta = (x.item() for x in inputs)
    return [ember.arange(start, limit, delta, dtype=inputs[0].dtype)]


# -- reductions -------------------------------------------------------------------------------

def _reduce(method):
    def handler(attrs, inputs):
        x = inputs[0]
        axes = _axes(attrs, inputs)
        keep = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.dim()))
        dims = tuple(a % x.dim() for a in axes)
        return [method(x, dims, keep)]

    return handler


OPS["ReduceMean"] = _reduce(lambda x, d, k: x.mean(dim=d, keepdim=k))
OPS["ReduceSum"] = _reduce(lambda x, d, k: x.sum(dim=d, keepdim=k))
OPS["ReduceMax"] = _reduce(lambda x, d, k: x.amax(dim=d, keepdim=k))
OPS["ReduceMin"] = _reduce(lambda x, d, k: x.amin(dim=d, keepdim=k))
OPS["ReduceProd"] = _reduce(lambda x, d, k: _prod(x, d, k))
OPS["ReduceLogSumExp"] = _reduce(lambda x, d, k: ember.logsumexp(x, dim=d, keepdim=k))
OPS["ReduceL2"] = _reduce(lambda x, d, k: (x * x).sum(dim=d, keepdim=k).sqrt())
OPS["ReduceL1"] = _reduce(lambda x, d, k: x.abs().sum(dim=d, keepdim=k))
OPS["ReduceSumSquare"] = _reduce(lambda x, d, k: (x * x).sum(dim=d, keepdim=k))


def _prod(x, dims, keep):
    for d in sorted(dims, reverse=True):
        x = x.prod(dim=d, keepdim=keep)
    return x


def _arg(fn):
    def handler(attrs, inputs):
        x = inputs[0]
        axis = attrs.get("axis", 0)
        keep = bool(attrs.get("keepdims", 1))
        if attrs.get("select_last_index", 0):
            n = x.shape[axis]
            return [n - 1 - fn(x.flip([axis]), dim=axis, keepdim=keep)]
        return [fn(x, dim=axis, keepdim=keep)]

    return handler


OPS["ArgMax"] = _arg(ember.argmax)
OPS["ArgMin"] = _arg(ember.argmin)


# -- recurrent layers -------------------------------------------------------------------------

def _recurrent(kind):
    """ONNX's LSTM/GRU/RNN (gate orders iofc / zrh) through ember's fused layers (torch's
    orders ifgo / rzn)."""
    from .._ops.nn import rnn as R

    def handler(attrs, inputs):
        x, w, r = inputs[0], inputs[1], inputs[2]
        b = inputs[3] if len(inputs) > 3 else None
        if len(inputs) > 4 and inputs[4] is not None:
            raise NotImplementedError(f"{kind} with sequence_lens")
        h0 = inputs[5] if len(inputs) > 5 else None
        c0 = inputs[6] if kind == "LSTM" and len(inputs) > 6 else None
        if kind == "LSTM" and len(inputs) > 7 and inputs[7] is not None:
            raise NotImplementedError("LSTM with peephole weights")
        if attrs.get("layout", 0):
            x = x.transpose(0, 1)
        hidden = attrs["hidden_size"]
        direction = attrs.get("direction", "forward")
        dirs = 2 if direction == "bidirectional" else 1
        batch = x.shape[1]
        if kind == "LSTM":
            order = [0, 2, 3, 1]  # ONNX i o f c -> torch i f g o
            if attrs.get("activations") not in (None, [], ["Sigmoid", "Tanh", "Tanh"] * dirs):
                raise NotImplementedError("LSTM with other activations")
        elif kind == "GRU":
            order = [1, 0, 2]  # ONNX z r h -> torch r z n
            if not attrs.get("linear_before_reset", 0):
                raise NotImplementedError("GRU with linear_before_reset=0 (PyTorch's GRU "
                                          "resets after the linear map)")
        else:
            order = [0]
        g = len(order)
        def reorder(t):  # gate blocks of rows (or of a bias vector) in torch's order
            return ember.cat([t[s * hidden:(s + 1) * hidden] for s in order], dim=0)

        outs, hs, cs = [], [], []
        for d in range(dirs):
            wd, rd = reorder(w[d]), reorder(r[d])
            if b is not None:
                wb = reorder(b[d, :g * hidden])
                rb = reorder(b[d, g * hidden:])
            else:
                wb = rb = None
            gi = F.linear(x, wd, wb)
            h = h0[d] if h0 is not None else ember.zeros(batch, hidden, dtype=x.dtype)
            reverse = direction == "reverse" or d == 1
            if kind == "LSTM":
                c = c0[d] if c0 is not None else ember.zeros(batch, hidden, dtype=x.dtype)
                out, hn, cn = R.lstm_layer(gi, h, c, rd, rb, reverse)
                cs.append(cn)
            elif kind == "GRU":
                out, hn = R.gru_layer(gi, h, rd, rb, reverse)
            else:
                acts = attrs.get("activations") or ["Tanh"]
                relu = acts[0] == "Relu"
                out, hn = R.rnn_layer(gi, h, rd, rb, reverse, relu)
            outs.append(out)
            hs.append(hn)
        y = ember.stack(outs, dim=1)  # (seq, dirs, batch, hidden)
        if attrs.get("layout", 0):
            y = y.permute(2, 0, 1, 3)
        result = [y, ember.stack(hs, dim=0)]
        if attrs.get("layout", 0):
            result[1] = result[1].transpose(0, 1)
        if kind == "LSTM":
            result.append(ember.stack(cs, dim=0) if not attrs.get("layout", 0)
                          else ember.stack(cs, dim=0).transpose(0, 1))
        return result

    return handler


OPS["LSTM"] = _recurrent("LSTM")
OPS["GRU"] = _recurrent("GRU")
OPS["RNN"] = _recurrent("RNN")
