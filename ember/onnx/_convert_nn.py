"""ONNX converters for neural-network ops: linear, convolutions, pooling, normalization,
activations, softmax, embedding and recurrent layers."""

from __future__ import annotations

import math

import numpy as np

from .._ops.nn.pool import AdaptiveDivisor
from ._builder import Value
from ._convert_tensor import CONVERTERS, OpCall, converts


@converts("linear")
def _linear(op: OpCall):
    b = op.b
    x, w = op.args[0], op.args[1]
    bias = op.args[2] if len(op.args) > 2 else None
    if x.rank == 2:
        inputs = [x.name, w.name] + ([bias.name] if isinstance(bias, Value) else [])
        return b.add("Gemm", inputs, alpha=1.0, beta=1.0, transB=1)
    out = b.add("MatMul", [x.name, b.add("Transpose", [w.name], perm=[1, 0])])
    if isinstance(bias, Value):
        out = b.add("Add", [out, bias.name])
    return out


def _pads(pad) -> list:
    """ember's ((lo, hi), ...) or (p, ...) as ONNX's [lo..., hi...]."""
    pairs = [(p, p) if isinstance(p, (int, np.integer)) else tuple(p) for p in pad]
    return [int(lo) for lo, _ in pairs] + [int(hi) for _, hi in pairs]


@converts("resample_axes")
def _resample_axes(op: OpCall):
    """Linear/cubic interpolation: each spatial axis times a constant (out, in) matrix."""
    mats = op.kwargs["mats"] if "mats" in op.kwargs else op.args[1]
    return _axis_matmuls(op, mats)


@converts("adaptive_avg_pool", "adaptive_avg_pool_in_dtype")
def _adaptive_avg_pool(op: OpCall):
    """Uneven adaptive average pooling: each spatial axis times its (out, in) averaging matrix
    (equal to PyTorch's up to rounding: ONNX has no uneven pooling to add in its order)."""
    mats = []
    for n, o in zip(op.kwargs["size"], op.kwargs["osize"]):
        start = np.arange(o) * n // o
        end = -(-(np.arange(o) + 1) * n // o)
        cols = np.arange(n)
        inside = (cols >= start[:, None]) & (cols < end[:, None])
        mats.append(inside / (end - start)[:, None])
    return _axis_matmuls(op, mats)


def _axis_matmuls(op: OpCall, mats):
    """Spatial axis ``2 + i`` of the op's input times ``mats[i]`` (None: left alone), as
    Transpose (the axis last), MatMul, Transpose back."""
    b, x = op.b, op.args[0]
    out = x.name
    for i, m in enumerate(mats):
        if m is None:
            continue
        axis = 2 + i
        perm = [d for d in range(x.rank) if d != axis] + [axis]
        moved = b.add("Transpose", [out], perm=perm)
        weights = b.constant(np.ascontiguousarray(np.asarray(m).T, dtype=op.dtype.np_dtype))
        out = b.add("Transpose", [b.add("MatMul", [moved, weights])],
                    perm=[int(p) for p in np.argsort(perm)])
    return out


@converts("conv")
def _conv(op: OpCall):
    x, w, bias, stride, pad, dilation, groups = op.args[:7]
    inputs = [x.name, w.name] + ([bias.name] if isinstance(bias, Value) else [])
    return op.b.add("Conv", inputs, kernel_shape=[int(k) for k in w.shape[2:]],
                    strides=list(stride), pads=_pads(pad), dilations=list(dilation),
                    group=int(groups))


@converts("conv_input")
def _conv_transpose(op: OpCall):
    g, w = op.args[:2]
    get = op.kwargs.get
    in_size, stride, pad, dilation, groups = (get("in_size"), get("stride"), get("pad"),
                                              get("dilation"), get("groups"))
    pads = _pads(pad)
    nd = len(stride)
    ksize = [int(k) for k in w.shape[2:]]
    opad = []
    for i in range(nd):
        n = g.shape[2 + i]
        if not isinstance(n, (int, np.integer)):
            op.unsupported("a transposed convolution over a dynamic spatial axis")
        natural = (n - 1) * stride[i] + dilation[i] * (ksize[i] - 1) + 1 - pads[i] - pads[nd + i]
        opad.append(int(in_size[i]) - natural)
    return op.b.add("ConvTranspose", [g.name, w.name], kernel_shape=ksize,
                    strides=list(stride), pads=pads, dilations=list(dilation),
                    group=int(groups), output_padding=opad if any(opad) else None)


def _ceil_mode(in_size, ksize, stride, pad, dilation, osize) -> int:
    for n, k, s, p, d, o in zip(in_size, ksize, stride, pad, dilation, osize):
        if not isinstance(n, (int, np.integer)):
            continue
        floor = (int(n) + 2 * p - d * (k - 1) - 1) // s + 1
        if o != floor:
            return 1
    return 0


@converts("max_pool")
def _max_pool(op: OpCall):
    x, ksize, stride, pad, dilation, osize, want_indices = op.args[:7]
    if want_indices and len(op.node.users) > 0 and any(
            u.target_name == "getitem" and u.args[1] == 1 for u in op.node.users):
        op.unsupported("max pooling indices (ONNX's are flat over the whole tensor, "
                       "PyTorch's per channel)")
    nd = len(ksize)
    ceil = _ceil_mode(x.shape[-nd:], ksize, stride, pad, dilation, osize)
    out = op.b.add("MaxPool", [x.name], kernel_shape=list(ksize), strides=list(stride),
                   pads=_pads(pad), dilations=list(dilation) if any(d != 1 for d in dilation)
                   else None, ceil_mode=ceil)
    return (out, out) if want_indices else out


@converts("avg_pool")
def _avg_pool(op: OpCall):
    x, ksize, stride, pad, osize, div = op.args[:6]
    nd = len(ksize)
    ceil = _ceil_mode(x.shape[-nd:], ksize, stride, pad, (1,) * nd, osize)
    window = math.prod(ksize)
    if isinstance(div, AdaptiveDivisor):  # even adaptive windows: the mean of each
        div = window
    if isinstance(div, np.ndarray) and div.ndim:
        include = 0  # per-window counts: count_include_pad=False
    else:
        include = 1
        div = float(div)
    out = op.b.add("AveragePool", [x.name], kernel_shape=list(ksize), strides=list(stride),
                   pads=_pads(pad), ceil_mode=ceil, count_include_pad=include)
    if include and div != window:  # divisor_override
        out = op.b.add("Mul", [out, op.b.scalar(window / div, x.dtype)])
    return out


@converts("norm_affine")
def _norm_affine(op: OpCall):
    b = op.b
    x, w, bias = op.args[:3]
    get = op.kwargs.get
    axes, eps, pshape, fixed, stats = (get("axes"), get("eps"), get("pshape"), get("fixed"),
                                       get("stats"))
    rank = x.rank
    affine_axis = next((i for i, s in enumerate(pshape) if s != 1), None)
    per_channel = affine_axis in (1, None) and sum(1 for s in pshape if s != 1) <= 1
    if fixed is not None:  # batch norm with running statistics
        c = x.shape[1]
        stat = [_flat(b, v, c) for v in fixed]
        scale = w.name if isinstance(w, Value) else b.constant(np.ones(c, x.dtype.np_dtype))
        shift = bias.name if isinstance(bias, Value) else \
            b.constant(np.zeros(c, x.dtype.np_dtype))
        return b.add("BatchNormalization", [x.name, scale, shift, stat[0], stat[1]],
                     epsilon=float(eps))
    if stats is not None and 0 in axes:
        op.unsupported("batch norm with batch statistics (export the model in eval mode)")
    trailing = tuple(range(rank - len(axes), rank)) == tuple(axes)
    if rank >= 3 and tuple(axes) == tuple(range(2, rank)) and per_channel:
        c = x.shape[1]
        scale = w.name if isinstance(w, Value) else b.constant(np.ones(c, x.dtype.np_dtype))
        shift = bias.name if isinstance(bias, Value) else \
            b.constant(np.zeros(c, x.dtype.np_dtype))
        return b.add("InstanceNormalization", [x.name, scale, shift], epsilon=float(eps))
    if trailing and b.opset >= 17:
        ns = [int(s) for s in x.shape[rank - len(axes):]] if all(
            isinstance(s, (int, np.integer)) for s in x.shape[rank - len(axes):]) else None
        if isinstance(w, Value) and tuple(w.shape) == tuple(pshape[rank - len(axes):]):
            scale = w.name
        elif w is None and ns is not None:
            scale = b.constant(np.ones(ns, x.dtype.np_dtype))
        else:
            scale = None
        if scale is not None and (bias is None or (isinstance(bias, Value) and
                                                   tuple(bias.shape) == tuple(w.shape if w is
                                                                              not None else ns))):
            inputs = [x.name, scale] + ([bias.name] if isinstance(bias, Value) else [])
            return b.add("LayerNormalization", inputs, axis=rank - len(axes),
                         epsilon=float(eps))
    # the general form: (x - mean) / sqrt(var + eps) * w + b
    mean = b.reduce("ReduceMean", x.name, axes, True)
    xc = b.add("Sub", [x.name, mean])
    var = b.reduce("ReduceMean", b.add("Mul", [xc, xc]), axes, True)
    y = b.add("Div", [xc, b.add("Sqrt", [b.add("Add", [var, b.scalar(eps, x.dtype)])])])
    if isinstance(w, Value):
        y = b.add("Mul", [y, b.reshape(w, pshape)])
    if isinstance(bias, Value):
        y = b.add("Add", [y, b.reshape(bias, pshape)])
    return y


@converts("batch_norm")
def _batch_norm(op: OpCall):
    """``F.batch_norm`` (recorded whole): BatchNormalization on the buffers themselves."""
    b = op.b
    x, mean, var, w, bias, training, _momentum, eps = op.args[:8]
    if training:
        op.unsupported("batch norm with batch statistics (export the model in eval mode)")
    if not isinstance(mean, Value) or not isinstance(var, Value):
        op.unsupported("batch norm without running statistics in eval mode "
                       "(track_running_stats=False)")
    c = x.shape[1]
    dt = x.dtype.np_dtype
    scale = w.name if isinstance(w, Value) else b.constant(np.ones(c, dt))
    shift = bias.name if isinstance(bias, Value) else b.constant(np.zeros(c, dt))
    return b.add("BatchNormalization", [x.name, scale, shift, mean.name, var.name],
                 epsilon=float(eps))


@converts("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
          "feature_alpha_dropout")
def _dropout(op: OpCall):
    x, p, training = op.args[:3]
    if training and p > 0:
        op.unsupported("dropout in training mode (export the model in eval mode)")
    return op.b.add("Identity", [x.name])


def _flat(b, v, c) -> str:
    """A (C,)-shaped statistic: the buffer itself when the op read a reshape of it."""
    if isinstance(v, Value):
        if v.origin is not None and tuple(v.origin.shape) == (c,):
            return v.origin.name
        return b.add("Reshape", [v.name, b.i64([-1])])
    return b.constant(np.asarray(v).reshape(-1))


# -- activations ------------------------------------------------------------------------------

@converts("piecewise_linear")
def _piecewise(op: OpCall):
    b = op.b
    x = op.args[0]
    kind, a, c = op.kwargs["kind"], op.kwargs["a"], op.kwargs["b"]
    if kind == "leaky_relu":
        return b.add("LeakyRelu", [x.name], alpha=float(a))
    if kind == "hardtanh":
        return b.add("Clip", [x.name, b.scalar(a, x.dtype), b.scalar(c, x.dtype)])
    if kind == "threshold":
        return b.add("Where", [b.add("LessOrEqual", [x.name, b.scalar(a, x.dtype)]),
                               b.scalar(c, x.dtype), x.name])
    if kind == "hardshrink":
        return b.add("Shrink", [x.name], lambd=float(a), bias=0.0)
    if kind == "softshrink":
        return b.add("Shrink", [x.name], lambd=float(a), bias=float(a))
    if kind == "hardsigmoid":
        return b.add("HardSigmoid", [x.name], alpha=1.0 / 6, beta=0.5)
    op.unsupported(f"piecewise-linear activation '{kind}'")


@converts("prelu_kernel")
def _prelu(op: OpCall):
    x, w = op.args[:2]  # w is already shaped to broadcast over x's channels, as ONNX's PRelu
    return op.b.add("PRelu", [x.name, op.b.operand(w, x.dtype)])


_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)


@converts("elu")
def _elu(op: OpCall):
    b, x = op.b, op.args[0]
    alpha, scale, input_scale = op.kwargs["alpha"], op.kwargs["scale"], op.kwargs["input_scale"]
    if scale == 1 and input_scale == 1:
        return b.add("Elu", [x.name], alpha=float(alpha))
    if math.isclose(alpha, _SELU[0]) and math.isclose(scale, _SELU[1]) and input_scale == 1:
        return b.add("Selu", [x.name], alpha=float(alpha), gamma=float(scale))
    if scale == 1 and math.isclose(input_scale * alpha, 1.0):
        return b.add("Celu", [x.name], alpha=float(alpha))
    neg = b.add("Mul", [b.add("Sub", [b.add("Exp", [b.add("Mul", [
        b.add("Min", [x.name, b.scalar(0, x.dtype)]), b.scalar(input_scale, x.dtype)])]),
        b.scalar(1, x.dtype)]), b.scalar(alpha, x.dtype)])
    y = b.add("Where", [b.add("Greater", [x.name, b.scalar(0, x.dtype)]), x.name, neg])
    return b.add("Mul", [y, b.scalar(scale, x.dtype)])


# -- regression losses (one op each: MseLoss, HuberLoss, SmoothL1Loss) -------------------------

@converts("mse_loss", "huber_loss", "smooth_l1_loss")
def _regression_loss(op: OpCall):
    b, x, t = op.b, op.args[0], op.args[1]
    reduction, p = op.kwargs["reduction"], op.kwargs["p"]
    d = b.add("Sub", [x.name, t.name])
    if op.node.target_name == "mse_loss":
        loss = b.add("Mul", [d, d])
    else:
        z = b.add("Abs", [d])
        quad = b.add("Mul", [b.add("Mul", [z, z]), b.scalar(0.5, x.dtype)])
        if op.node.target_name == "huber_loss":  # delta (|d| - delta / 2) beyond delta
            lin = b.add("Mul", [b.add("Sub", [z, b.scalar(0.5 * p, x.dtype)]),
                                b.scalar(p, x.dtype)])
        else:  # smooth_l1: quad / beta within beta, |d| - beta / 2 beyond
            quad = b.add("Div", [quad, b.scalar(p, x.dtype)])
            lin = b.add("Sub", [z, b.scalar(0.5 * p, x.dtype)])
        loss = b.add("Where", [b.add("Less", [z, b.scalar(p, x.dtype)]), quad, lin])
    return _reduced_loss(b, loss, reduction, x.rank)


def _reduced_loss(b, loss: str, reduction: str, rank: int) -> str:
    """An elementwise loss reduced over every axis as the loss's ``reduction`` says."""
    if reduction == "none":
        return loss
    return b.reduce("ReduceMean" if reduction == "mean" else "ReduceSum", loss,
                    tuple(range(rank)), False)


@converts("binary_cross_entropy_with_logits")
def _bce_with_logits(op: OpCall):
    b, x, t = op.b, op.args[0], op.args[1]
    weight, pos_weight = op.kwargs["weight"], op.kwargs["pos_weight"]
    one = b.scalar(1, x.dtype)
    # softplus(-x) = max(-x, 0) + log(1 + exp(-|x|))
    sp = b.add("Add", [b.add("Relu", [b.add("Neg", [x.name])]), b.add("Log", [b.add("Add", [
        b.add("Exp", [b.add("Neg", [b.add("Abs", [x.name])])]), one])])])
    if pos_weight is not None:
        lw = b.add("Add", [b.add("Mul", [b.add("Sub", [b.constant(np.asarray(pos_weight)), one]),
                                         t.name]), one])
        sp = b.add("Mul", [sp, lw])
    loss = b.add("Add", [b.add("Mul", [b.add("Sub", [one, t.name]), x.name]), sp])
    if weight is not None:
        loss = b.add("Mul", [loss, b.constant(np.asarray(weight))])
    return _reduced_loss(b, loss, op.kwargs["reduction"], x.rank)


@converts("soft_margin_loss")
def _soft_margin_loss(op: OpCall):
    b, x, t = op.b, op.args[0], op.kwargs["t"]
    t = t.name if isinstance(t, Value) else b.constant(np.asarray(t))
    z = b.add("Mul", [b.add("Neg", [t]), x.name])  # softplus(z) = max(z, 0) + log1p(e^-|z|)
    loss = b.add("Add", [b.add("Relu", [z]), b.add("Log", [b.add("Add", [
        b.add("Exp", [b.add("Neg", [b.add("Abs", [z])])]), b.scalar(1, x.dtype)])])])
    return _reduced_loss(b, loss, op.kwargs["reduction"], x.rank)


@converts("softplus")
def _softplus(op: OpCall):
    b, x = op.b, op.args[0]
    beta, threshold = op.kwargs["beta"], op.kwargs["threshold"]
    z = x.name if beta == 1 else b.add("Mul", [x.name, b.scalar(beta, x.dtype)])
    # log(1 + exp(z)) written as max(z, 0) + log(1 + exp(-|z|)): ONNX's Softplus overflows
    # to inf for large z in float32, where PyTorch's stays finite
    sp = b.add("Add", [b.add("Relu", [z]), b.add("Log", [b.add("Add", [
        b.add("Exp", [b.add("Neg", [b.add("Abs", [z])])]), b.scalar(1, x.dtype)])])])
    if beta != 1:
        sp = b.add("Div", [sp, b.scalar(beta, x.dtype)])
    if threshold is not None:
        sp = b.add("Where", [b.add("Greater", [z, b.scalar(threshold, x.dtype)]), x.name, sp])
    return sp


@converts("log_sigmoid")
def _log_sigmoid(op: OpCall):
    # min(x, 0) - log(1 + exp(-|x|)), as ember computes it: Log(Sigmoid(x)) would be -inf
    # for large negative x in float32
    b, x = op.b, op.args[0]
    return b.add("Sub", [b.add("Min", [x.name, b.scalar(0, x.dtype)]), b.add("Log", [b.add(
        "Add", [b.add("Exp", [b.add("Neg", [b.add("Abs", [x.name])])]), b.scalar(1, x.dtype)])])])


@converts("normal_cdf")
def _normal_cdf(op: OpCall):
    b, x = op.b, op.args[0]
    erf = b.add("Erf", [b.add("Div", [x.name, b.scalar(math.sqrt(2.0), x.dtype)])])
    return b.add("Mul", [b.add("Add", [erf, b.scalar(1, x.dtype)]), b.scalar(0.5, x.dtype)])


@converts("gelu")
def _gelu(op: OpCall):
    # (x * (erf(x / sqrt 2) + 1)) * 0.5, in this order: onnxruntime fuses this pattern into
    # one Gelu kernel (1.6x faster than the five ops), not x * ((erf(..) + 1) * 0.5)
    b, x = op.b, op.args[0]
    erf = b.add("Erf", [b.add("Div", [x.name, b.scalar(math.sqrt(2.0), x.dtype)])])
    out = b.add("Mul", [x.name, b.add("Add", [erf, b.scalar(1, x.dtype)])])
    return b.add("Mul", [out, b.scalar(0.5, x.dtype)])


@converts("silu")
def _silu(op: OpCall):
    x = op.args[0]
    return op.b.add("Mul", [x.name, op.b.add("Sigmoid", [x.name])])


@converts("mish")
def _mish(op: OpCall):
    b, x = op.b, op.args[0]
    sp = b.add("Add", [b.add("Relu", [x.name]), b.add("Log", [b.add("Add", [
        b.add("Exp", [b.add("Neg", [b.add("Abs", [x.name])])]), b.scalar(1, x.dtype)])])])
    return b.add("Mul", [x.name, b.add("Tanh", [sp])])


@converts("hardswish")
def _hardswish(op: OpCall):
    return op.b.add("HardSwish", [op.args[0].name])


@converts("softmax")
def _softmax(op: OpCall):
    x = op.args[0]
    return op.b.add("Softmax", [x.name], axis=int(op.kwargs["dim"]))


@converts("attention")
def _attention(op: OpCall):
    b = op.b
    q, k, v = op.args[:3]
    bias, scale = op.kwargs.get("bias"), op.kwargs.get("scale", 1.0)
    rank = len(k.shape)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    scores = b.add("MatMul", [q.name, b.add("Transpose", [k.name], perm=perm)])
    scores = b.add("Mul", [scores, b.scalar(scale, q.dtype)])
    keep = None
    if isinstance(bias, Value):
        # a mask the graph computes (key_padding_mask + attn_mask): rows that are all -inf
        # are known only at run time, so the zeros of eager's safe softmax come from a Where
        dead = b.add("Equal", [b.reduce("ReduceMax", bias.name, [-1], True),
                               b.scalar(-np.inf, q.dtype)])
        probs = b.add("Softmax", [b.add("Add", [scores, bias.name])], axis=-1)
        probs = b.add("Where", [dead, b.scalar(0, q.dtype), probs])
        return b.add("MatMul", [probs, v.name])
    if bias is not None:
        bias = np.asarray(bias)
        dead = (bias == -np.inf).all(axis=-1, keepdims=True) if bias.ndim else None
        if dead is not None and dead.any():
            # eager's safe softmax: a query that may attend to no key gets zeros; ONNX's
            # Softmax of an all -inf row is NaN, so those rows get a 0 bias and a 0 factor
            bias = np.where(dead, 0, bias).astype(bias.dtype)
            keep = (~dead).astype(bias.dtype)
        scores = b.add("Add", [scores, b.constant(bias)])
    probs = b.add("Softmax", [scores], axis=-1)
    if keep is not None:
        probs = b.add("Mul", [probs, b.constant(keep)])
    return b.add("MatMul", [probs, v.name])


@converts("log_softmax")
def _log_softmax(op: OpCall):
    x = op.args[0]
    return op.b.add("LogSoftmax", [x.name], axis=int(op.kwargs["dim"]))


@converts("embedding")
def _embedding(op: OpCall):
    weight = op.args[0]
    indices = op.kwargs.get("indices", op.args[1] if len(op.args) > 1 else None)
    if isinstance(indices, Value):
        name = indices.name
    else:
        name = op.b.constant(np.asarray(indices, dtype=np.int64))
    return op.b.add("Gather", [weight.name, name], axis=0)


# -- recurrent layers -----------------------------------------------------------------------
# ember runs the input projections of all steps as one linear op before the recurrence, so
# the layer here receives them; ONNX's LSTM/GRU get an identity input weight (reordered to
# ONNX's gate order) and apply it to those projections.

def _gate_matrix(order: list, h: int, dtype) -> np.ndarray:
    """(G*H, G*H) matrix that moves ember's gate blocks into ONNX's order."""
    g = len(order)
    m = np.zeros((g * h, g * h), dtype)
    for dst, src in enumerate(order):
        m[dst * h:(dst + 1) * h, src * h:(src + 1) * h] = np.eye(h, dtype=dtype)
    return m


def _reorder(b, w: Value, order: list, h: int) -> str:
    """Rows of ``w`` (G*H, ...) in ONNX's gate order, with a leading direction axis."""
    parts = [b.add("Slice", [w.name, b.i64([s * h]), b.i64([(s + 1) * h]), b.i64([0])])
             for s in order]
    return b.unsqueeze(b.add("Concat", parts, axis=0), [0])


def _recurrent(op: OpCall, kind: str):
    b = op.b
    if kind == "LSTM":
        gi, h0, c0, w_hh, b_hh, reverse = op.args[:6]
        order = [0, 3, 1, 2]  # torch i f g o -> ONNX i o f c
    else:
        gi, h0, w_hh, b_hh, reverse = op.args[:5]
        c0 = None
        order = [1, 0, 2]  # torch r z n -> ONNX z r h
    hidden = int(w_hh.shape[1])
    g = len(order)
    dt = gi.dtype.np_dtype
    w = b.constant(_gate_matrix(order, hidden, dt)[None])
    r = _reorder(b, w_hh, order, hidden)
    if isinstance(b_hh, Value):
        rb = b.add("Reshape", [_reorder(b, b_hh, order, hidden), b.i64([1, -1])])
    else:
        rb = b.constant(np.zeros((1, g * hidden), dt))
    bias = b.add("Concat", [b.constant(np.zeros((1, g * hidden), dt)), rb], axis=1)
    inputs = [gi.name, w, r, bias, "", b.unsqueeze(h0.name, [0])]
    if kind == "LSTM":
        inputs.append(b.unsqueeze(c0.name, [0]))
    attrs = {"hidden_size": hidden, "direction": "reverse" if reverse else "forward"}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    outs = b.add(kind, inputs, outputs=3 if kind == "LSTM" else 2, **attrs)
    seq = b.squeeze(outs[0], [1])
    states = [b.squeeze(o, [0]) for o in outs[1:]]
    return (seq, *states)


CONVERTERS["lstmlayer"] = lambda op: _recurrent(op, "LSTM")
CONVERTERS["grulayer"] = lambda op: _recurrent(op, "GRU")


@converts("rnnlayer")
def _rnn(op: OpCall):
    b = op.b
    gi, h0, w_hh, b_hh, reverse, relu = op.args[:6]
    hidden = int(w_hh.shape[1])
    dt = gi.dtype.np_dtype
    w = b.constant(np.eye(hidden, dtype=dt)[None])
    r = b.unsqueeze(w_hh.name, [0])
    rb = b.unsqueeze(b_hh.name, [0]) if isinstance(b_hh, Value) else \
        b.constant(np.zeros((1, hidden), dt))
    bias = b.add("Concat", [b.constant(np.zeros((1, hidden), dt)), rb], axis=1)
    outs = b.add("RNN", [gi.name, w, r, bias, "", b.unsqueeze(h0.name, [0])], outputs=2,
                 hidden_size=hidden, direction="reverse" if reverse else "forward",
                 activations=["Relu" if relu else "Tanh"])
    return b.squeeze(outs[0], [1]), b.squeeze(outs[1], [0])


@converts("lstmpointwise")
def _lstm_pointwise(op: OpCall):
    op.unsupported("an LSTM cell step (export nn.LSTM, whose whole layer maps to ONNX's LSTM)")

