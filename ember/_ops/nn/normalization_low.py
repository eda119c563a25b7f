"""Batch (and instance) normalization of float16/bfloat16 inputs whose parameters share the
input's dtype, computed as PyTorch's CPU kernel computes it (``batch_norm_kernel.cpp`` with
``param_t`` the 2-byte type; ``Normalization.cpp``'s ``batch_norm_cpu_update_stats_template``),
each rule checked element for element against torch 2.13 (tests/test_vox_gaps.py):

* bfloat16: the statistics are float32 sums; the mean is rounded to bfloat16, and so is the
  sum of squared deviations (about the float32 mean, or about the rounded mean for a
  channels-last input); the variance is that sum divided by the count in bfloat16 (C++'s
  ``BFloat16 / int64_t``); ``invstd = 1 / sqrt(var + eps)`` in double, rounded to bfloat16;
  the running statistics are updated in bfloat16, ``momentum`` and each product rounded;
* float16: the same, except that the variance sum stays float32 and the running update is
  computed in double from the float32 mean and variance;
* the output is ``x * alpha + beta`` with one rounding (a fused multiply-add),
  ``alpha = invstd * weight`` and ``beta = bias - mean * alpha`` in float32 from the rounded
  statistics; in evaluation ``invstd`` comes from the running variance in float32.

Computed in float32 throughout instead, a bfloat16 BatchNorm3d's output differed from
PyTorch's in about one element in five; in the 2-byte dtype step by step, in most.
The op class (``LowBatchNormAffine``) lives in ``normalization``, beside ``NormAffine``.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._layout import row_major

__all__ = ["batch_norm_low", "instance_norm_low", "low_batch_norm_backward",
           "low_batch_norm_forward"]

_F32 = np.float32


def _low(a, low):
    """``a`` rounded to the 2-byte dtype ``low`` and read back as float32."""
    return np.asarray(a, _F32).astype(low).astype(_F32)


def low_batch_norm_forward(ctx, x, w, b, axes, eps, pshape, fixed=None, stats=None,
                           contiguous=False, low=None, mean_first=False, per_sample=False):
    """The forward of ``normalization.LowBatchNormAffine`` (a ``NormAffine`` whose backward
    reads ``ctx.xhat``, ``ctx.invstd`` and ``ctx.args``), on float32 copies of the operands;
    ``low`` is the NumPy 2-byte dtype whose roundings the statistics take, ``mean_first``
    says the input is channels-last (its deviations are taken about the rounded mean), and
    ``stats`` receives ``mean``, ``var_sum`` and ``count`` for the running update;
    ``per_sample``: instance norm (see ``low_batch_norm_backward``)."""
    ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
    ctx.contiguous = contiguous
    if contiguous:
        x = row_major(x)
    x = np.asarray(x, _F32)
    if fixed is None:
        count = 1
        for a in axes:
            count *= x.shape[a]
        mean = x.mean(axis=axes, keepdims=True, dtype=_F32)
        mean_low = _low(mean, low)
        centre = mean_low if mean_first else mean
        var_sum = np.square(x - centre).sum(axis=axes, keepdims=True, dtype=_F32)
        if low == np.float16:  # torch's half kernel keeps the variance sum in float32
            var = var_sum / _F32(count)
        else:
            var_sum = _low(var_sum, low)
            var = _low(var_sum / _low(count, low), low)
        invstd = _low(1.0 / np.sqrt(var.astype(np.float64) + eps), low)
        if stats is not None:  # (the half kernel's running update reads the float mean)
            stats["mean"] = mean if low == np.float16 else mean_low
            stats["var_sum"], stats["count"] = var_sum, count
        mean = mean_low
    else:
        mean, var = (np.asarray(f, _F32) for f in fixed)
        invstd = (_F32(1.0) / np.sqrt(var + _F32(eps))).astype(_F32)
    alpha = invstd * w.reshape(pshape) if w is not None else invstd
    beta = -(mean * alpha)
    if b is not None:
        beta = b.reshape(pshape) + beta
    ctx.xhat, ctx.invstd = (x - mean) * invstd, invstd
    ctx.args = (axes, eps, pshape, fixed)
    ctx.low_saved = (x, mean, count if fixed is None else None, low, per_sample)
    # x * alpha + beta with one rounding, as the vectorised kernel's fused multiply-add
    # (the float64 product of two float32 values is exact)
    return (x.astype(np.float64) * alpha + beta).astype(_F32)


def low_batch_norm_backward(ctx, grad):
    """First-order gradients of ``low_batch_norm_forward`` as float32 arrays (rounded to the
    2-byte dtype by the cast that follows), in the order of PyTorch's reduced-precision
    backward kernel: ``sum = sum(dy)``, ``dotp = sum((x - mean) * dy)``,
    ``dx = (dy - sum / N - (x - mean) * (dotp * invstd * invstd / N)) * invstd * w``,
    ``dw = dotp * invstd``, ``db = sum``. With ``per_sample`` (instance norm), torch
    batch-normalizes (1, N*C, *) with the weight repeated N times, so ``dw`` and ``db`` are
    rounded per sample and then summed over the batch."""
    x, mean, count, low, per_sample = ctx.low_saved
    axes, _, pshape, fixed = ctx.args
    invstd = ctx.invstd
    w = ctx.inputs[1]
    wv = w._data.astype(_F32).reshape(pshape) if w is not None else _F32(1.0)
    dy = np.asarray(grad._data, _F32)
    need = ctx.needs_input_grad
    total = dy.sum(axis=axes, keepdims=True, dtype=_F32)
    dotp = ((x - mean) * dy).sum(axis=axes, keepdims=True, dtype=_F32)
    dx = dw = db = None
    if need[0]:
        if fixed is None:
            k = dotp * invstd * invstd / _F32(count)
            dx = (dy - total / _F32(count) - (x - mean) * k) * invstd * wv
        else:
            dx = dy * invstd * wv
    params = [dotp * invstd, total]
    if per_sample:  # rounded per (sample, channel), then summed over the batch
        params = [_low(a, low).sum(axis=0, dtype=_F32) for a in params]
    if len(need) > 1 and need[1]:
        dw = params[0].reshape(w.shape)
    if len(need) > 2 and need[2]:
        db = params[1].reshape(ctx.inputs[2].shape)
    return dx, dw, db


def _running_update(running: np.ndarray, batch: np.ndarray, momentum: float, low,
                    is_mean: bool) -> np.ndarray:
    """PyTorch's running-statistics update ``momentum * batch + (1 - momentum) * running``,
    returned in ``low``. bfloat16: ``momentum``, ``1 - momentum`` and ``(1 - momentum) *
    running`` are rounded to bfloat16, and so is ``momentum * batch`` for the mean (the
    variance's product is float32 in C++). float16: computed in float64 from float32
    statistics, rounded once."""
    if low == np.float16:
        return (momentum * batch.astype(np.float64)
                + (1.0 - momentum) * running.astype(np.float64)).astype(_F32).astype(low)
    m = _low(momentum, low)
    kept = _low(_low(1.0 - m, low) * running.astype(_F32), low)
    new = m * batch.astype(_F32)
    if is_mean:
        new = _low(new, low)
    return (new + kept).astype(low)


def _unbiased_var(var_sum: np.ndarray, count: int, low) -> np.ndarray:
    """The running variance's sample: the variance sum over ``count - 1``; for bfloat16 the
    rounded sum divided in bfloat16, as C++'s ``BFloat16 / int64_t`` divides."""
    if low == np.float16:
        return var_sum / _F32(count - 1)
    return _low(var_sum / _low(count - 1, low), low)


def _channels_last(input) -> bool:
    """Whether torch's kernel takes its channels-last path for ``input`` (its deviations are
    then taken about the rounded mean): a channels-last layout, or one value per channel and
    sample (``(N, C)``, which torch counts as channels-last)."""
    if input.numel() == input.shape[0] * input.shape[1]:
        return True
    if input.is_contiguous() or input.dim() not in (4, 5):
        return False
    fmt = D.channels_last if input.dim() == 4 else D.channels_last_3d
    return input.is_contiguous(memory_format=fmt)


def batch_norm_low(op, input, running_mean, running_var, weight, bias, axes, pshape,
                   training, momentum, eps):
    """Batch norm of a float16/bfloat16 ``input`` with parameters of its dtype, as PyTorch's
    CPU kernel computes it (see the module's notes), by ``op`` (``LowBatchNormAffine``);
    updates the running statistics in training. Returns the output."""
    low = input._data.dtype
    if not training:
        fixed = tuple(t._data.astype(_F32).reshape(pshape) for t in (running_mean, running_var))
        return op.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                        fixed=fixed, low=low)
    stats = {}
    out = op.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                   stats=stats, low=low, mean_first=_channels_last(input))
    for running, batch, is_mean in (
            (running_mean, stats["mean"], True),
            (running_var, _unbiased_var(stats["var_sum"], stats["count"], low), False)):
        if running is not None:
            data = running._data
            data[...] = _running_update(data, batch.reshape(data.shape), momentum, low, is_mean)
            running._vbox[0] += 1
    return out


def instance_norm_low(op, input, running_mean, running_var, weight, bias, axes, pshape,
                      momentum, eps):
    """Instance norm of a float16/bfloat16 ``input`` with parameters of its dtype: torch batch-
    normalizes the (1, N*C, *) view with the running statistics repeated N times, then stores
    their mean over the batch (in the 2-byte dtype)."""
    low = input._data.dtype
    stats = {}
    out = op.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                   stats=stats, contiguous=True, low=low, per_sample=True)
    n, c = input.shape[0], input.shape[1]
    for running, batch, is_mean in (
            (running_mean, stats["mean"], True),
            (running_var, _unbiased_var(stats["var_sum"], stats["count"], low), False)):
        if running is not None:
            data = running._data
            per_sample = _running_update(np.broadcast_to(data.reshape(1, c), (n, c)),
                                         batch.reshape(n, c), momentum, low, is_mean)
            data[...] = per_sample.astype(_F32).mean(axis=0, dtype=_F32).astype(low)
            running._vbox[0] += 1
    return out
