"""Fused classification losses: softmax cross-entropy and negative log-likelihood.

Both are written as ``loss_i = -sum_c coef[i, c] * logp[i, c]`` with a constant ``coef`` built
from the target (class weights, ignored entries, label smoothing and the mean's denominator all
fold into it), so one forward and one backward serve every option. For class-index targets
without smoothing ``coef`` is one entry per sample and stays sparse.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op
from .linear_softmax import Softmax, _np_softmax, _row_max, _t

__all__: list = []

_state = grad_mode._state


def _dt_title(dt: D.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "float16": "Half", "bfloat16": "BFloat16"}.get(dt.name, dt.name)


class _Coef:
    """The target's contribution: sparse (index, per-sample weight) or a dense array."""

    __slots__ = ("idx", "w", "dense")

    def __init__(self, idx=None, w=None, dense=None):
        self.idx, self.w, self.dense = idx, w, dense

    def weighted_pick(self, logp):
        """``sum_c coef * logp`` over the class axis (axis 1)."""
        if self.dense is not None:
            return (self.dense * logp).sum(axis=1)
        # plain fancy indexing: np.take_along_axis costs several microseconds of Python
        return logp[xp_of(logp).arange(logp.shape[0]), self.idx] * self.w

    def row_total(self):
        """``sum_c coef`` per sample, as a column."""
        if self.dense is not None:
            return self.dense.sum(axis=1, keepdims=True)
        return self.w[:, None]

    def subtract_from(self, p):
        """``p -= coef`` in place."""
        if self.dense is not None:
            p -= self.dense
        else:
            p[xp_of(p).arange(p.shape[0]), self.idx] -= self.w

    def as_dense(self, shape, dtype):
        if self.dense is not None:
            return self.dense
        xp = xp_of(self.idx)
        out = xp.zeros(shape, dtype)
        out[xp.arange(shape[0]), self.idx] = self.w
        return out


def _expand_grad(grad: np.ndarray, reduced: bool, ndim: int):
    return grad if reduced else np.expand_dims(grad, 1)


class SoftmaxCrossEntropy(Op):
    """``-sum(coef * log_softmax(x, 1))``, per sample or summed; backward ``softmax*A - coef``."""

    _name = "NllLossBackward0"  # what PyTorch's cross_entropy output shows as its grad_fn

    @staticmethod
    def forward(ctx, x, coef, reduce):
        ctx.coef, ctx.reduce = coef, reduce
        ctx.save_for_backward(ctx.inputs[0])
        if not x.size:
            logp = x.copy()
        else:
            # log-softmax, keeping softmax itself for backward (no second exp pass there)
            s = x - _row_max(x, 1)
            e = np.exp(s)
            total = e.sum(axis=1, keepdims=True)
            s -= np.log(total)
            logp = s
            if ctx._record:
                e /= total
                ctx.softmax = e
        per = -coef.weighted_pick(logp)
        return per.sum(dtype=x.dtype) if reduce else per

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        coef = ctx.coef
        xd = x._data
        if not _state.enabled:
            g = _expand_grad(grad._data, ctx.reduce, xd.ndim)
            p = ctx.softmax.copy() if xd.size else _np_softmax(xd, 1)  # retain_graph: keep it
            p *= coef.row_total()
            coef.subtract_from(p)
            p *= g
            return _t(p, x._dtype)
        dense = coef.as_dense(xd.shape, xd.dtype)
        total = dense.sum(axis=1, keepdims=True)
        g = grad if ctx.reduce else grad.unsqueeze(1)
        return (Softmax.apply(x, dim=1) * _t(total) - _t(dense)) * g

    def _free(self):
        super()._free()
        self.softmax = None


class NllLoss(Op):
    """``-sum(coef * logp)`` on given log-probabilities; the gradient is ``-coef``."""

    @staticmethod
    def forward(ctx, logp, coef, reduce):
        ctx.coef, ctx.reduce, ctx.shape = coef, reduce, logp.shape
        ctx.save_for_backward(ctx.inputs[0])
        per = -coef.weighted_pick(logp)
        return per.sum(dtype=logp.dtype) if reduce else per

    @staticmethod
    def backward(ctx, grad):
        neg = -ctx.coef.as_dense(ctx.shape, grad._data.dtype)
        if not _state.enabled:
            return _t(neg * _expand_grad(grad._data, ctx.reduce, len(ctx.shape)), grad._dtype)
        from .._core import const_like

        (logp,) = ctx.saved_tensors
        return const_like(logp, neg) * (grad if ctx.reduce else grad.unsqueeze(1))


# -- building coef from the target ----------------------------------------------------------

def _check_target(input: Tensor, target: Tensor, name: str) -> None:
    if target._dtype not in (D.int64, D.uint8):
        hint = (" Class-index targets must be int64: call target.long()." if
                target._dtype.category < D._FLOAT else
                " Float targets must have the input's shape (class probabilities); for class "
                "indices call target.long().")
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_dt_title(target._dtype)}.{hint}")
    n_in = input.shape[0] if input.ndim > 1 else 1
    n_t = target.shape[0] if target.ndim > 0 else 1
    if input.ndim > 1 and n_in != n_t:
        raise ValueError(f"Expected input batch_size ({n_in}) to match target batch_size ({n_t}).")
    expect = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim > 1 else ()
    if tuple(target.shape) != expect:
        raise RuntimeError(f"Expected target size {list(expect)}, got {list(target.shape)}"
                           f" (input shape {list(input.shape)}, {name} wants one class index per "
                           "input position)")


def _index_coef(input: Tensor, target: Tensor, weight, ignore_index, reduction, smoothing):
    """coef for class-index targets; returns (coef, out_shape of the 'none' reduction)."""
    c = input.shape[1]
    t = target._data.reshape(-1).astype(np.int64, copy=False)
    dt = input._data.dtype
    xp = xp_of(t)
    if (weight is None and not smoothing and t.size and not 0 <= ignore_index < c
            and t.min() >= 0 and t.max() < c):
        # the common case (every target a class, none ignored, no weights): a few passes
        # fewer than the general path below, which gives the same numbers
        scale = dt.type(1) / dt.type(t.size) if reduction == "mean" else dt.type(1)
        return _Coef(idx=t, w=xp.full(t.shape, scale, dt))
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    tv = xp.where(valid, t, 0)
    w = weight._data.astype(dt, copy=False) if weight is not None else None
    wy = (w[tv] if w is not None else xp.ones(t.shape, dt)) * valid
    denom = None
    if reduction == "mean":
        denom = wy.sum(dtype=dt)
    if not smoothing:
        if denom is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                wy = wy / denom
        return _Coef(idx=tv, w=wy.astype(dt, copy=False))
    dense = xp.zeros((t.shape[0], c), dt)
    dense[xp.arange(t.shape[0]), tv] = (1 - smoothing) * wy
    spread = (w if w is not None else xp.ones(c, dt)) * (smoothing / c)
    dense += spread[None, :] * valid[:, None]
    if denom is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            dense /= denom
    return _Coef(dense=dense.astype(dt, copy=False))


def _finish(out: Tensor, reduction: str, none_shape, rows: int = 1) -> Tensor:
    if reduction == "none":
        return out.reshape(none_shape)
    if reduction == "mean" and rows == 0:
        return out * float("nan")  # as torch: a mean over no elements is 0 / 0
    return out


def _to_2d(input: Tensor) -> Tensor:
    """Move classes last and flatten the rest: (N, C, d...) -> (N*d..., C)."""
    if input.ndim == 2:
        return input
    if input.ndim == 1:
        return input.unsqueeze(0)
    dims = (0,) + tuple(range(2, input.ndim)) + (1,)
    return input.permute(*dims).reshape(-1, input.shape[1])


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy between logits ``input`` (N, C, d1, ...) and ``target``: class
    indices (int64, shape (N, d1, ...)) or class probabilities (float, input's shape).

    Example:
        >>> F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 2]))
        tensor(1.0986)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(cross_entropy, "cross_entropy", input, target, weight, size_average,
                              ignore_index, reduce, reduction, label_smoothing)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if tuple(target.shape) == tuple(input.shape) and target._dtype.category < D._FLOAT:
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {_dt_title(target._dtype)}")
    if input._dtype.category != D._FLOAT:
        raise NotImplementedError(f'"log_softmax_lastdim_kernel_impl" not implemented for '
                                  f"'{_dt_title(input._dtype)}'; logits must be floating point: "
                                  "call input.float()")
    if target._dtype.category >= D._FLOAT and tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    _check_target(input, target, "cross_entropy")
    x2 = _to_2d(input)
    none_shape = tuple(target.shape)
    coef = _index_coef(x2, target, weight, ignore_index, reduction, label_smoothing)
    out = SoftmaxCrossEntropy.apply(x2, coef=coef, reduce=reduction != "none")
    return _finish(out, reduction, none_shape, x2.shape[0])


def _cross_entropy_probs(input, target, weight, reduction, smoothing):
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    x2 = _to_2d(input)
    t2 = _to_2d(target)
    if target.requires_grad and _state.enabled:
        from .linear_softmax import log_softmax

        t = t2 * (1 - smoothing) + smoothing / c if smoothing else t2
        w = weight.reshape(1, c) if weight is not None else None
        per = -(log_softmax(x2, 1) * (t * w if w is not None else t)).sum(dim=1)
        out = per if reduction == "none" else per.sum()
        if reduction == "mean":
            out = out / x2.shape[0]
    else:
        dense = t2._data.astype(input._data.dtype, copy=True)
        if smoothing:
            dense = dense * (1 - smoothing) + smoothing / c
        if weight is not None:
            dense = dense * weight._data[None, :]
        if reduction == "mean":
            dense = dense / max(x2.shape[0], 0) if x2.shape[0] else dense * np.nan
        out = SoftmaxCrossEntropy.apply(x2, coef=_Coef(dense=dense.astype(input._data.dtype)),
                                        reduce=reduction != "none")
    none_shape = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim > 1 else ()
    return _finish(out, reduction, none_shape, x2.shape[0])


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class ``target`` under log-probabilities ``input``
    (N, C, d1, ...); pair it with ``log_softmax``.

    Example:
        >>> F.nll_loss(F.log_softmax(ember.zeros(2, 3), 1), ember.tensor([0, 2]))
        tensor(1.0986)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(nll_loss, "nll_loss", input, target, weight, size_average,
                              ignore_index, reduce, reduction)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input._dtype.category != D._FLOAT:
        raise NotImplementedError(f'"nll_loss_out_frame" not implemented for '
                                  f"'{_dt_title(input._dtype)}'")
    _check_target(input, target, "nll_loss")
    x2 = _to_2d(input)
    coef = _index_coef(x2, target, weight, ignore_index, reduction, 0.0)
    out = NllLoss.apply(x2, coef=coef, reduce=reduction != "none")
    return _finish(out, reduction, tuple(target.shape), x2.shape[0])


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair mapped onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    import warnings

    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  f"{'mean'}' instead.", UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"



class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)) with each log clamped at -100, as PyTorch does."""

    @staticmethod
    def forward(ctx, x, t):
        if x.size and ((x < 0) | (x > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1 (pass "
                               "probabilities, e.g. after sigmoid, or use "
                               "binary_cross_entropy_with_logits on raw scores)")
        ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        return -(t * lx + (1 - t) * l1x)

    @staticmethod
    def backward(ctx, grad):
        from .linear_softmax import Log

        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            xd = x._data
            den = (1 - xd) * xd
            small = den < 1e-12
            if small.any():  # PyTorch divides by max((1 - x) x, 1e-12)
                m = _t(small.astype(xd.dtype))
                denom = (1 - x) * x * (1 - m) + m * 1e-12
            else:
                denom = (1 - x) * x
            gx = grad * (x - t) / denom
        if ctx.needs_input_grad[1]:
            gt = grad * (Log.apply(1 - x) - Log.apply(x))
        return gx, gt
