"""Classification losses: softmax cross-entropy and negative log-likelihood (fused), the
multi-class and multi-label margin losses, and CTC.

Cross-entropy and NLL are written as ``loss_i = -sum_c coef[i, c] * logp[i, c]`` with a
constant ``coef`` built from the target (class weights, ignored entries, label smoothing and the
mean's denominator all fold into it), so one forward and one backward serve every option. For
class-index targets without smoothing ``coef`` is one entry per sample and stays sparse. The
margin losses are compositions of differentiable ops; CTC is an op with PyTorch's gradient.
"""

from __future__ import annotations

import math

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, set_node_name
from .linear_softmax import Softmax, _np_softmax, _row_max, _row_sum, _t

__all__: list = []

_state = grad_mode._state


def _dt_title(dt: D.dtype) -> str:
    return D.SCALAR_TYPE.get(dt.name, dt.name)


class _Coef:
    """The target's contribution: sparse (index, per-sample weight) or a dense array.
    ``empty_mean``: a mean whose total weight is zero (every target ignored), which PyTorch
    reports as 0 / 0 = NaN while the ignored rows' gradient stays zero."""

    __slots__ = ("idx", "w", "dense", "empty_mean")

    def __init__(self, idx=None, w=None, dense=None, empty_mean=False):
        self.idx, self.w, self.dense, self.empty_mean = idx, w, dense, empty_mean

    def total(self, per, dtype):
        """The reduced loss: the sum of the per-sample losses (NaN for an empty mean)."""
        total = per.sum(dtype=dtype)
        return total * dtype.type(np.nan) if self.empty_mean else total

    def negated_pick(self, logp):
        """``-sum_c coef * logp`` over the class axis (axis 1), the per-sample loss."""
        if self.dense is not None:
            # negate coef before the sum: a row of zeros (an ignored target) then sums to
            # +0.0 as in torch; negating the sum would print it as -0.
            return (-self.dense * logp).sum(axis=1)
        # plain fancy indexing: np.take_along_axis costs several microseconds of Python
        return -(logp[xp_of(logp).arange(logp.shape[0]), self.idx] * self.w)

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
            if coef.dense is None:
                # class indices: only the picked entries of log-softmax are needed (taken
                # before the exponential below overwrites the shifted scores)
                picked = s[xp_of(s).arange(s.shape[0]), coef.idx]
                e = np.exp(s, out=s)  # in place: one score-sized array fewer per step
            else:
                e = np.exp(s)
            total = _row_sum(e, 1)
            if ctx._record:
                e /= total
                ctx.softmax = e
            if coef.dense is None:
                # the log of the total is subtracted from the picked entries alone
                # (-(s - log t) == log t - s)
                per = (np.log(total).reshape(-1) - picked) * coef.w
                return coef.total(per, x.dtype) if reduce else per
            s -= np.log(total)
            logp = s
        per = coef.negated_pick(logp)
        return coef.total(per, x.dtype) if reduce else per

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        coef = ctx.coef
        xd = x._data
        if not _state.enabled:
            g = _expand_grad(grad._data, ctx.reduce, xd.ndim)
            # the saved softmax becomes the gradient in place; a second backward through a
            # retained graph recomputes it
            p, ctx.softmax = ctx.__dict__.get("softmax"), None
            if p is None:
                p = _np_softmax(xd, 1)
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
        per = coef.negated_pick(logp)
        return coef.total(per, logp.dtype) if reduce else per

    @staticmethod
    def backward(ctx, grad):
        # PyTorch scatters -w * grad into zeros: +0.0 off the targets (and at ignored ones),
        # never the -0.0 of a negated zero coefficient times the gradient
        coef, dt = ctx.coef, grad._data.dtype
        if not _state.enabled:
            g = grad._data
            if coef.dense is None:  # one target per row: scatter, as PyTorch
                w = coef.w.astype(dt, copy=False)
                vals = -w * (g if ctx.reduce else g.reshape(-1))
                xp = xp_of(coef.idx)
                out = xp.zeros(ctx.shape, dt)
                out[xp.arange(ctx.shape[0]), coef.idx] = xp.where(w != 0, vals, dt.type(0))
                return _t(out, grad._dtype)
            dense = coef.dense
            out = -dense * _expand_grad(g, ctx.reduce, len(ctx.shape))
            return _t(np.where(dense != 0, out, out.dtype.type(0)), grad._dtype)
        from .._core import const_like
        from ..pointwise.compare import where

        (logp,) = ctx.saved_tensors
        dense = coef.as_dense(ctx.shape, dt)
        g = const_like(logp, -dense) * (grad if ctx.reduce else grad.unsqueeze(1))
        return where(_t(dense != 0), g, 0.0)


# -- building coef from the target ----------------------------------------------------------

def _check_target(input: Tensor, target: Tensor, name: str) -> None:
    # torch's checks, in its order: nll_loss_nd's, then the 1-D/2-D kernel's, nll_loss2d's for
    # a 4-D input, or the reshaping path's for 3-D and 5-D or more (which checks the target's
    # shape before the 2-D kernel checks its dtype)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim > 1:
        n_t = target.shape[0] if target.ndim > 0 else 0  # torch reports a 0-d target as 0
        if input.shape[0] == 0 and target.ndim == 0:  # ...and then asks it for its size(0)
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if input.shape[0] != n_t:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({n_t}).")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim == 1:
        _check_target_dtype(target)
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        return
    if input.ndim == 4:
        if target.ndim != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {target.ndim}")
        _check_target_dtype(target)
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            # torch's message has no closing parenthesis
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                               f"{list(target.shape)}")
    if input.ndim == 2:
        _check_target_dtype(target)
    expect = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expect:
        raise with_hint(
            RuntimeError(f"Expected target size {list(expect)}, got {list(target.shape)}"),
            f"input shape {list(input.shape)}: {name} wants one class index per input position")
    _check_target_dtype(target)


def _check_target_dtype(target: Tensor) -> None:
    if target._dtype not in (D.int64, D.uint8):
        hint = ("Class-index targets must be int64: call target.long()." if
                target._dtype.category < D._FLOAT else
                "Float targets must have the input's shape (class probabilities); for class "
                "indices call target.long().")
        raise with_hint(RuntimeError("expected target dtype to be Long or Byte, but got "
                                     f"{_dt_title(target._dtype)}"), hint)


def _check_weight(input: Tensor, weight, probs: bool) -> None:
    """torch's checks of a class ``weight``: one value per class (for 1-D/2-D input or
    probability targets a 1-D tensor; for more dimensions any shape with C values, read
    flat), and for class-index targets the input's dtype exactly."""
    if weight is None:
        return
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if probs or input.ndim <= 2:
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(f"{'cross_entropy: ' if probs else ''}weight tensor should be "
                               f"defined either for all {c} classes or no classes but got "
                               f"weight tensor of shape: {list(weight.shape)}")
    elif weight.numel() != c:
        raise RuntimeError("weight tensor should be defined either for all or no classes")
    if not probs and weight._dtype is not input._dtype:
        raise RuntimeError(f"expected scalar type {_dt_title(input._dtype)} but found "
                           f"{_dt_title(weight._dtype)}")


def _check_index_target(input: Tensor, target: Tensor, weight) -> Tensor | None:
    """The checks after the target's own (``_check_target``): the weight, then torch's
    refusal of uint8 targets beside a 3-D or larger input (only the (N, C) and (C,) kernels
    take bytes). Returns the weight as the kernels read it (flat)."""
    _check_weight(input, weight, probs=False)
    if input.ndim >= 3 and target._dtype is D.uint8:
        raise RuntimeError("expected scalar type Long but found Byte")
    return weight.reshape(-1) if weight is not None and weight.ndim != 1 else weight


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
    # torch divides only the targets it keeps by the total weight: an ignored row's gradient
    # is 0 even when every row is ignored (and the mean itself 0 / 0 = NaN)
    empty_mean = denom is not None and not valid.any()
    if not smoothing:
        if denom is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                wy = xp.where(valid, wy / denom, dt.type(0))
        return _Coef(idx=tv, w=wy.astype(dt, copy=False), empty_mean=empty_mean)
    dense = xp.zeros((t.shape[0], c), dt)
    dense[xp.arange(t.shape[0]), tv] = (1 - smoothing) * wy
    spread = (w if w is not None else xp.ones(c, dt)) * (smoothing / c)
    dense += spread[None, :] * valid[:, None]
    if denom is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            dense = xp.where(valid[:, None], dense / denom, dt.type(0))
    return _Coef(dense=dense.astype(dt, copy=False), empty_mean=empty_mean)


def _finish(out: Tensor, reduction: str, none_shape, rows: int = 1) -> Tensor:
    if reduction == "none":
        # (no reshape node where the shape is already right: the loss's own node stays on top)
        return out if tuple(out.shape) == tuple(none_shape) else out.reshape(none_shape)
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
    rows = input.shape[0] * math.prod(input.shape[2:])  # not -1: C may be 0
    return input.permute(*dims).reshape(rows, input.shape[1])


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
    fast = _common_case(input, target, weight, ignore_index, reduction, label_smoothing,
                        size_average, reduce)
    if fast is not None:
        return SoftmaxCrossEntropy.apply(input, coef=fast, reduce=True)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if tuple(target.shape) == tuple(input.shape) and not target._dtype.is_floating_point:
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {_dt_title(target._dtype)}")
    if input._dtype.category != D._FLOAT:
        raise with_hint(NotImplementedError('"log_softmax_lastdim_kernel_impl" not implemented '
                                            f"for '{_dt_title(input._dtype)}'"),
                        "logits must be floating point: call input.float()")
    if target._dtype.category >= D._FLOAT and tuple(target.shape) == tuple(input.shape):
        if ignore_index >= 0:  # a class to ignore has no meaning for probabilities
            raise RuntimeError("ignore_index is not supported for floating point target")
        _check_weight(input, weight, probs=True)
        # torch's composite ends in -(logp * target).sum(), divided by N for a mean
        return set_node_name(_cross_entropy_probs(input, target, weight, reduction,
                                                  label_smoothing),
                             "DivBackward1" if reduction == "mean" else "NegBackward0")
    _check_target(input, target, "cross_entropy")
    weight = _check_index_target(input, target, weight)
    x2 = _to_2d(input)
    none_shape = tuple(target.shape) if input.ndim > 1 else ()  # a (1,) target too
    coef = _index_coef(x2, target, weight, ignore_index, reduction, label_smoothing)
    out = SoftmaxCrossEntropy.apply(x2, coef=coef, reduce=reduction != "none")
    # torch adds the smoothing term to the nll loss: (1 - ls) * nll + ls / C * smooth
    return set_node_name(_finish(out, reduction, none_shape, x2.shape[0]),
                         "AddBackward0" if label_smoothing else
                         _nll_node_name(input.ndim, reduction))


def _nll_node_name(ndim: int, reduction: str) -> str:
    """The node torch's nll_loss leaves on top: its 2-D kernel for (N, C, d1, ...) inputs
    (which it views as 4-D and back, so a 'none' result of a 3-D or 5-D+ input is a view)."""
    if ndim <= 2:
        return "NllLossBackward0"
    return "ViewBackward0" if reduction == "none" and ndim != 4 else "NllLoss2DBackward0"


def _common_case(input, target, weight, ignore_index, reduction, smoothing, size_average,
                 reduce):
    """The coef of the usual call (float logits (N, C), N int64 class indices all in range, no
    weights, smoothing or ignored class, a mean or sum), or None for every other call, which
    the general path checks and handles (with the same numbers for this case)."""
    x, t = input._data, target._data
    if (type(x) is not np.ndarray or type(t) is not np.ndarray or x.ndim != 2 or t.ndim != 1
            or target._dtype is not D.int64
            or weight is not None or smoothing or size_average is not None or reduce is not None
            or input._dtype.category != D._FLOAT or reduction not in ("mean", "sum")):
        return None
    n, c = x.shape
    if n != t.shape[0] or n == 0 or 0 <= ignore_index < c:
        return None
    if n == 1:
        if not 0 <= int(t[0]) < c:
            return None
    elif t.min() < 0 or t.max() >= c:
        return None
    dt = x.dtype
    scale = dt.type(1) / dt.type(n) if reduction == "mean" else dt.type(1)
    return _Coef(idx=t, w=np.full(n, scale, dt))


def _cross_entropy_probs(input, target, weight, reduction, smoothing):
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    x2 = _to_2d(input)
    t2 = _to_2d(target)
    # torch's probability path is a composite: a float64 target or weight makes the loss
    # float64 (the log-softmax itself stays in the input's dtype)
    out_dt = D.promote_types(input._dtype, target._dtype)
    if weight is not None:
        out_dt = D.promote_types(out_dt, weight._dtype)
    if (target.requires_grad and _state.enabled) or out_dt is not input._dtype:
        from .linear_softmax import log_softmax

        t = t2 * (1 - smoothing) + smoothing / c if smoothing else t2
        w = weight.reshape(1, c) if weight is not None else None
        logp = log_softmax(x2, 1).to(out_dt)
        per = -(logp * (t * w if w is not None else t)).sum(dim=1)
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
    weight = _check_index_target(input, target, weight)
    x2 = _to_2d(input)
    coef = _index_coef(x2, target, weight, ignore_index, reduction, 0.0)
    out = NllLoss.apply(x2, coef=coef, reduce=reduction != "none")
    return set_node_name(_finish(out, reduction, tuple(target.shape) if input.ndim > 1 else (),
                                 x2.shape[0]), _nll_node_name(input.ndim, reduction))


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair mapped onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    import warnings

    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    # the warning names the reduction the pair means, as torch's legacy_get_string does
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    return reduction



def _reduced(loss, reduction: str):
    """An elementwise loss array reduced as PyTorch's loss kernels do ('none', 'mean', 'sum'),
    in its own dtype; the mean of no elements is NaN without a warning."""
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(loss, dtype=loss.dtype)
    if reduction == "sum":
        return np.add.reduce(loss, axis=None, dtype=loss.dtype)
    return loss


class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)) with each log clamped at -100, as PyTorch does; times
    ``weight`` (a constant array, or None) and reduced ('none', 'mean', 'sum') in the same
    node, as PyTorch's BinaryCrossEntropyBackward0."""

    @staticmethod
    def forward(ctx, x, t, weight=None, reduction="none"):
        # as torch: NaN fails both checks (they test 0 <= v <= 1), the input's first
        if x.size and not ((x >= 0) & (x <= 1)).all():
            raise with_hint(RuntimeError("all elements of input should be between 0 and 1"),
                            "pass probabilities, e.g. after sigmoid, or use "
                            "binary_cross_entropy_with_logits on raw scores")
        if t.size and not ((t >= 0) & (t <= 1)).all():
            raise RuntimeError("all elements of target should be between 0 and 1")
        ctx.save_for_backward(*ctx.inputs[:2])
        ctx.weight, ctx.reduction = weight, reduction
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        loss = -(t * lx + (1 - t) * l1x)
        if weight is not None:
            loss = loss * weight
        return _reduced(loss, reduction)

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
            gx = _bce_scaled(grad * (x - t) / denom, ctx)
        if ctx.needs_input_grad[1]:
            gt = _bce_scaled(grad * (Log.apply(1 - x) - Log.apply(x)), ctx)
        return gx, gt


def _bce_scaled(g, ctx):
    """A gradient of the elementwise loss times the weight, divided by N for the mean."""
    if ctx.weight is not None:
        g = g * _t(ctx.weight)
    if ctx.reduction == "mean" and g.numel():
        g = g / g.numel()
    return g


class BinaryCrossEntropyWithLogits(Op):
    """``(1 - t) x + lw * softplus(-x)``, times ``weight``, reduced; ``lw`` is
    ``1 + (pos_weight - 1) t`` (1 without ``pos_weight``). One node, as PyTorch's:
    ``weight`` and ``pos_weight`` are constant arrays here (PyTorch refuses to differentiate
    with respect to them)."""

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        ctx.save_for_backward(*ctx.inputs[:2])
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        one = x.dtype.type(1)
        sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # -log(sigmoid(x))
        if pos_weight is not None:
            sp = sp * ((pos_weight - one) * t + one)
        loss = (one - t) * x + sp
        if weight is not None:
            loss = loss * weight
        return _reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        w, pw = ctx.weight, ctx.pos_weight
        n = x._data.size
        scale = 1.0 / n if ctx.reduction == "mean" and n else 1.0
        if not _state.enabled:
            from .activation import _np_sigmoid

            xd, td, g = x._data, t._data, grad._data
            one = xd.dtype.type(1)
            gx = gt = None
            if need_x:  # (sigmoid(x) - t), with pos_weight ((pw t + 1 - t) sigmoid(x) - pw t)
                s = _np_sigmoid(xd)
                if pw is None:
                    gx = s - td
                else:
                    pt = pw * td
                    gx = (pt + one - td) * s - pt
                gx = _scaled(gx, g, w, scale)
            if need_t:  # -x, with pos_weight -x + (pw - 1) softplus(-x)
                gt = -xd
                if pw is not None:
                    sp = np.maximum(-xd, 0) + np.log1p(np.exp(-np.abs(xd)))
                    gt = gt + (pw - one) * sp
                gt = _scaled(gt, g, w, scale)
            return (_t(gx, x._dtype) if need_x else None, _t(gt, t._dtype) if need_t else None)
        from .activation import Sigmoid, Softplus

        wt = _t(w) if w is not None else None
        pwt = _t(pw) if pw is not None else None
        gx = gt = None
        if need_x:
            s = Sigmoid.apply(x)
            gx = s - t if pwt is None else (pwt * t + 1 - t) * s - pwt * t
            gx = _scaled_graph(gx, grad, wt, scale)
        if need_t:
            gt = -x if pwt is None else -x + (pwt - 1) * Softplus.apply(-x, beta=1.0,
                                                                     threshold=None)
            gt = _scaled_graph(gt, grad, wt, scale)
        return gx, gt


class SoftMarginLoss(Op):
    """``softplus(-t x)``, reduced, as one node (PyTorch's SoftMarginLossBackward0; PyTorch
    does not differentiate with respect to the target, nor does this)."""

    @staticmethod
    def forward(ctx, x, t, reduction):
        # the target is a constant array (no edge for it, as in PyTorch's node)
        ctx.save_for_backward(ctx.inputs[0])
        ctx.target, ctx.reduction = t, reduction
        z = -t * x
        loss = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        return _reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        td = ctx.target
        n = x._data.size
        scale = 1.0 / n if ctx.reduction == "mean" and n else 1.0
        if not _state.enabled:  # -t sigmoid(-t x)
            from .activation import _np_sigmoid

            return _t(_scaled(-td * _np_sigmoid(-td * x._data), grad._data, None, scale),
                      x._dtype)
        from .activation import Sigmoid

        t = _t(td, x._dtype)
        return _scaled_graph(-t * Sigmoid.apply(-t * x), grad, None, scale)


def soft_margin(input: Tensor, target: Tensor, reduction: str):
    """:class:`SoftMarginLoss` where PyTorch's kernel runs as one node: input and target of
    one floating dtype (float32/float64) and shape, the target needing no gradient. Returns
    None elsewhere, for the caller's composed form."""
    dt = input._dtype
    if not (isinstance(target, Tensor) and dt is target._dtype
            and (dt is D.float32 or dt is D.float64) and not target.requires_grad
            and type(input._data) is np.ndarray and type(target._data) is np.ndarray
            and input._data.shape == target._data.shape):
        return None
    return SoftMarginLoss.apply(input, t=target._data, reduction=reduction)


def _scaled(d, g, w, scale):
    d = d * g
    if w is not None:
        d *= w
    if scale != 1.0:
        d *= d.dtype.type(scale)
    return d


def _scaled_graph(d, g, w, scale):
    d = d * g
    if w is not None:
        d = d * w
    return d * scale if scale != 1.0 else d


def bce_with_logits(input: Tensor, target: Tensor, weight, pos_weight, reduction: str):
    """:class:`BinaryCrossEntropyWithLogits` where PyTorch's kernel runs as one node: input
    and target of one floating dtype (float32/float64) and shape, ``weight`` and
    ``pos_weight`` of that dtype, broadcasting to the input's shape, needing no gradient.
    Returns None elsewhere, for the caller's composed form."""
    dt = input._dtype
    if not (dt is target._dtype and (dt is D.float32 or dt is D.float64)
            and type(input._data) is np.ndarray and type(target._data) is np.ndarray
            and input._data.shape == target._data.shape):
        return None
    arrays = []
    for extra in (weight, pos_weight):
        if extra is None:
            arrays.append(None)
            continue
        if not isinstance(extra, Tensor) or extra._dtype is not dt or extra.requires_grad \
                or type(extra._data) is not np.ndarray:
            return None
        try:
            if np.broadcast_shapes(extra._data.shape, input._data.shape) != input._data.shape:
                return None
        except ValueError:
            return None
        arrays.append(extra._data)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight=arrays[0],
                                              pos_weight=arrays[1], reduction=reduction)


# -- regression losses on d = input - target, one node each --------------------------------
#
# PyTorch records mse_loss, huber_loss and smooth_l1_loss as one node (MseLossBackward0 ...),
# and their derivative taken with create_graph=True as one more (MseLossBackwardBackward0 ...).
# Each loss here is ``reduce(f(d))``; ``f'(d)`` is odd, so the target's gradient is the same
# backward op with input and target swapped, as in PyTorch's derivative formulas.


class MseLoss(Op):
    """``reduce((x - t)^2)``; ``reduction`` is 'mean', 'sum' or 'none'; ``p`` the loss's
    parameter (delta, beta; unused here)."""

    @staticmethod
    def elementwise(d, p):
        return d * d

    @staticmethod
    def slope(d, p):  # f'(d), on arrays
        return d * d.dtype.type(2)

    @staticmethod
    def slope_graph(d, p):  # f'(d), with ember ops (differentiable again)
        return d * 2

    @staticmethod
    def curvature(d, p):  # f''(d), piecewise constant
        return np.full(d.shape, 2, d.dtype)

    @staticmethod
    def forward(ctx, x, t, reduction, p):
        ctx.save_for_backward(*ctx.inputs[:2])
        ctx.reduction, ctx.p = reduction, p
        loss = type(ctx).elementwise(x - t, p)
        return _reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        op = type(ctx)._op_class
        need_x, need_t = ctx.needs_input_grad[:2]
        if _state.enabled:  # a graph of the gradient: PyTorch's backward node
            back = op.backward_op
            return (back.apply(grad, x, t, reduction=ctx.reduction, p=ctx.p) if need_x else None,
                    back.apply(grad, t, x, reduction=ctx.reduction, p=ctx.p) if need_t else None)
        gx = _loss_grad(op, grad._data, x._data, t._data, ctx.reduction, ctx.p)
        return (_t(gx, x._dtype) if need_x else None,
                _t(-gx, t._dtype) if need_t else None)


def _loss_grad(op, g, x, t, reduction, p):
    """``norm * f'(x - t) * g`` on arrays: norm is 1/N for the mean."""
    d = op.slope(x - t, p)
    if reduction == "mean" and d.size:
        d *= d.dtype.type(1.0 / d.size)
    d *= g
    return d


class _LossBackward(Op):
    """The derivative of a regression loss, ``norm * f'(x - t) * grad``, as one node (built
    when a graph of the gradient is: ``create_graph=True``). Its own derivatives: in ``grad``,
    ``norm * f'(d)`` (summed when the loss was reduced); in ``x``, ``norm * f''(d) * grad``;
    in ``t`` the negative of that."""

    loss = None  # the loss op whose derivative this is

    @staticmethod
    def forward(ctx, g, x, t, reduction, p):
        ctx.save_for_backward(*ctx.inputs[:3])
        ctx.reduction, ctx.p = reduction, p
        return _loss_grad(type(ctx)._op_class.loss, g, x, t, reduction, p)

    @staticmethod
    def backward(ctx, gg):
        g, x, t = ctx.saved_tensors
        loss = type(ctx)._op_class.loss
        need_g, need_x, need_t = ctx.needs_input_grad[:3]
        reduction, p = ctx.reduction, ctx.p
        norm = 1.0 / x.numel() if reduction == "mean" and x.numel() else 1.0
        gg_g = gx = gt = None
        if need_g:
            gg_g = loss.slope_graph(x - t, p) * gg * norm
            if reduction != "none":
                gg_g = gg_g.sum()
        if need_x or need_t:
            from .._core import const_like

            curv = loss.curvature(x._data - t._data, p)
            gx = gg * g * const_like(x, curv * curv.dtype.type(norm))
            gt = -gx if need_t else None
        return gg_g, gx if need_x else None, gt


class MseLossBackward(_LossBackward):
    loss = MseLoss


class HuberLoss(MseLoss):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``p`` is delta."""

    @staticmethod
    def elementwise(d, delta):
        z = np.abs(d)
        t = d.dtype.type
        return np.where(z < delta, t(0.5) * z * z, t(delta) * (z - t(0.5 * delta)))

    @staticmethod
    def slope(d, delta):
        return np.clip(d, -delta, delta).astype(d.dtype, copy=False)

    @staticmethod
    def slope_graph(d, delta):
        return d.clamp(-delta, delta)

    @staticmethod
    def curvature(d, delta):
        return (np.abs(d) < delta).astype(d.dtype)


class HuberLossBackward(_LossBackward):
    loss = HuberLoss


class SmoothL1Loss(MseLoss):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``; ``p`` is beta > 0
    (with beta = 0 PyTorch runs l1_loss)."""

    @staticmethod
    def elementwise(d, beta):
        z = np.abs(d)
        t = d.dtype.type
        return np.where(z < beta, t(0.5) * z * z / t(beta), z - t(0.5 * beta))

    @staticmethod
    def slope(d, beta):
        return np.clip(d / d.dtype.type(beta), -1, 1).astype(d.dtype, copy=False)

    @staticmethod
    def slope_graph(d, beta):
        return (d / beta).clamp(-1, 1)

    @staticmethod
    def curvature(d, beta):
        return (np.abs(d) < beta).astype(d.dtype) / d.dtype.type(beta)


class SmoothL1LossBackward(_LossBackward):
    loss = SmoothL1Loss


MseLoss.backward_op = MseLossBackward
HuberLoss.backward_op = HuberLossBackward
SmoothL1Loss.backward_op = SmoothL1LossBackward


def regression_loss(op, input: Tensor, target: Tensor, reduction: str, p: float = 0.0):
    """``op`` (MseLoss, HuberLoss, SmoothL1Loss) as one node where PyTorch's kernel runs:
    input and target of one floating dtype (float32/float64) and one shape. Returns None
    elsewhere, for the caller's composed form."""
    if not (isinstance(target, Tensor) and input._dtype is target._dtype
            and (input._dtype is D.float32 or input._dtype is D.float64)
            and input._data.shape == target._data.shape
            and type(input._data) is np.ndarray and type(target._data) is np.ndarray):
        return None
    return op.apply(input, target, reduction=reduction, p=p)


# -- margin losses over classes ---------------------------------------------------------------
#
# Both are compositions of differentiable ops (gather, a select, a sum): the hinge's kink is a
# select on ``z > 0``, so the gradient is zero where ``z`` is exactly 0, as PyTorch's kernels
# have it, and the result is differentiable twice (PyTorch's is not; nothing relies on that).


def _float_input(input: Tensor, kernel: str) -> None:
    if input._dtype not in (D.float32, D.float64):
        from .._dispatch import not_implemented_for

        raise not_implemented_for(kernel, input._dtype)


def _long_target(target: Tensor) -> None:
    if target._dtype is not D.int64:
        raise with_hint(RuntimeError("expected scalar type Long but found "
                                     f"{_dt_title(target._dtype)}"),
                        "class-index targets must be int64: call target.long()")


def _shape_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _frames(input: Tensor) -> tuple[int, int]:
    """(samples, classes) of a margin loss's input: (C,) and 0-d inputs are one sample."""
    nd = input.ndim
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {_shape_list(input.shape)}")
    if nd <= 1:
        return 1, (1 if nd == 0 else input.shape[0])
    return input.shape[0], input.shape[1]


def _empty_margin_result(input: Tensor, reduction: str, none_shape) -> Tensor:
    """What an empty batch gives: no samples, so 'none' is empty, 'sum' 0 and 'mean' 0 / 0."""
    from ..._creation import full

    if reduction == "none":
        return full(none_shape, 0.0, dtype=input.dtype)
    return full((), float("nan") if reduction == "mean" else 0.0, dtype=input.dtype)


def _margin_reduce(per: Tensor, reduction: str, none_shape) -> Tensor:
    if reduction == "none":
        return per.reshape(none_shape)
    total = per.sum()
    return total / per.shape[0] if reduction == "mean" else total


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: for each sample,
    ``sum_{i != y} w[y] * max(0, margin - x[y] + x[i])**p / C`` with ``p`` 1 or 2, class
    scores ``input`` (N, C) or (C,) and class indices ``target`` (N,) or ().

    Example:
        >>> F.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
        tensor(0.3250)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(multi_margin_loss, "multi_margin_loss", input, target, p, margin,
                              weight, size_average, reduce, reduction)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    nframe, dim = _frames(input)
    if target.ndim > 1 or target.numel() != nframe:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{nframe}], but got "
            f"{_shape_list(target.shape)}. Input has shape {_shape_list(input.shape)}.")
    if weight is not None and weight.numel() != dim:
        raise RuntimeError(f"inconsistent weight size, expected {dim} but got "
                           f"{_shape_list(weight.shape)}")
    if weight is not None and weight.requires_grad and _state.enabled:
        raise RuntimeError("The function 'multi_margin_loss' is not differentiable with respect "
                           "to argument 'weight'. This input cannot have requires_grad True.")
    none_shape = (nframe,) if target.ndim > 0 else ()
    if input.numel() == 0:
        return _empty_margin_result(input, reduction, none_shape)
    _float_input(input, "multi_margin_loss_cpu_kernel")
    _long_target(target)
    if weight is not None and weight._dtype is not input._dtype:
        raise with_hint(RuntimeError(f"expected scalar type {_dt_title(input._dtype)} but found "
                                     f"{_dt_title(weight._dtype)}"), "call weight.to(input.dtype)")
    t = target._data.reshape(nframe)
    if t.size and (t.min() < 0 or t.max() >= dim):
        raise RuntimeError("target out of range")
    from ..pointwise.compare import where

    x = input.reshape(nframe, dim)
    xp = xp_of(t)
    # z = margin - x[y] + x[i], in PyTorch's order of operations (the same roundings at z = 0)
    z = (margin - x.gather(1, _t(t[:, None]))) + x
    active = (z._data > 0) & (xp.arange(dim)[None, :] != t[:, None])
    h = where(_t(active), z, 0.0)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * _t(weight._data.reshape(dim)[t][:, None])
    per = h.sum(dim=1) / dim
    from .._core import set_node_name

    return set_node_name(_margin_reduce(per, reduction, none_shape), "MultiMarginLossBackward0")


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: for each sample,
    ``sum_{j, i} max(0, 1 - (x[y[j]] - x[i])) / C`` over its target classes ``y[j]`` (the
    entries of ``target`` (N, C) or (C,) before the first -1) and the classes ``i`` that are
    not targets.

    Example:
        >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> F.multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(multilabel_margin_loss, "multilabel_margin_loss", input, target,
                              size_average, reduce, reduction)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    nframe, dim = _frames(input)
    if input.ndim <= 1:
        ok = target.ndim <= 1 and target.numel() == dim
    else:
        ok = target.ndim == 2 and tuple(target.shape) == (nframe, dim)
    if not ok:
        raise RuntimeError(f"inconsistent target size: {_shape_list(target.shape)} for input "
                           f"of size: {_shape_list(input.shape)} (target holds C class indices "
                           "per sample, padded with -1)")
    none_shape = (nframe,) if target.ndim > 1 else ()
    if input.numel() == 0:
        return _empty_margin_result(input, reduction, none_shape)
    t = target._data.reshape(nframe, dim)
    if t.min() < -1 or t.max() >= dim:
        raise RuntimeError("argument #2 'target' is out of range")
    _float_input(input, "multilabel_margin_loss_forward_out_frame")
    _long_target(target)
    from ..pointwise.compare import where

    xp = xp_of(t)
    # a sample's targets are the entries before its first -1; only that prefix is used
    valid = xp.cumprod(t >= 0, axis=1).astype(bool)
    n_used = int(valid.sum(axis=1).max())
    rows = xp.arange(nframe)[:, None]
    is_target = xp.zeros((nframe, dim), bool)
    is_target[xp.broadcast_to(rows, t.shape)[valid], t[valid]] = True
    valid, tv = valid[:, :n_used], xp.where(valid, t, 0)[:, :n_used]
    x = input.reshape(nframe, dim)
    # z[n, j, i] = 1 - x[n, y_j] + x[n, i], counted where y_j is a target and i is not
    z = (1 - x.gather(1, _t(tv))).unsqueeze(2) + x.unsqueeze(1)
    active = (z._data > 0) & valid[:, :, None] & ~is_target[:, None, :]
    per = where(_t(active), z, 0.0).sum(dim=(1, 2)) / dim
    from .._core import set_node_name

    out = _margin_reduce(per, reduction, none_shape)
    return set_node_name(out, "MultilabelMarginLossBackward0")


# -- connectionist temporal classification ----------------------------------------------------
#
# Graves et al. (2006): the targets l (length L) are extended to l' = (blank, l1, blank, l2, ...,
# blank) of length 2L + 1; alpha[t, s] is the log-probability of all paths through l'[:s + 1]
# ending in state s at time t, beta[t, s] that of the paths from state s at t to the end. Both
# recursions run over time in log space, every batch element and state at once (states past a
# sample's 2L + 1 and times past its input length are computed but never read, or held at
# -inf). PyTorch's CPU kernel (aten/src/ATen/native/LossCTC.cpp) is the reference: the same
# recursions, the same handling of empty targets and inputs, and the same gradient.


class _CtcPlan:
    """The extended label sequences of a batch and what the recursions index with them."""

    __slots__ = ("ext", "skip", "skip_back", "il", "tl", "first_two", "last_two")

    def __init__(self, targets2d, il, tl, blank, xp):
        n, s_max = targets2d.shape
        width = 2 * s_max + 1
        pos = xp.arange(s_max)
        labels = xp.where(pos[None, :] < tl[:, None], targets2d, blank)
        ext = xp.full((n, width), blank, dtype=np.int64)
        ext[:, 1::2] = labels
        self.ext = ext
        # alpha may jump from s - 2 to s when l'[s - 2] != l'[s]; beta from s + 2 to s likewise
        skip = xp.zeros((n, width), bool)
        skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
        self.skip = skip
        self.skip_back = xp.zeros((n, width), bool)
        self.skip_back[:, :-2] = skip[:, 2:]
        self.il, self.tl = il, tl
        states = xp.arange(width)[None, :]
        self.first_two = (states == 0) | ((states == 1) & (tl[:, None] > 0))
        self.last_two = (states == 2 * tl[:, None]) | ((states == 2 * tl[:, None] - 1)
                                                       & (tl[:, None] > 0))


def _skip_add(skip, dtype, xp):
    """0 where a two-state jump is allowed, -inf where not: added to the jump's term."""
    return xp.where(skip, dtype.type(0), dtype.type(-np.inf)).astype(dtype, copy=False)


def _log_add3(shape, dtype, xp):
    """``add3(a, b, c, out)``: ``out = log(exp(a) + exp(b) + exp(c))``, -inf where all are.

    float32 takes PyTorch's formula, ``m + log(sum(exp(x - m)))`` with ``m`` the largest term
    (NumPy's float32 exp and log are vectorised: three times faster than ``logaddexp``);
    float64 takes two ``logaddexp``s, faster there.
    """
    if dtype != np.float32:
        def add3(a, b, c, out):
            xp.logaddexp(a, b, out=out)
            xp.logaddexp(out, c, out=out)
        return add3
    top, term = xp.empty(shape, dtype), xp.empty(shape, dtype)
    lowest = dtype.type(np.finfo(dtype).min)  # m for all -inf terms: each x - m stays -inf

    def add3(a, b, c, out):
        xp.maximum(a, b, out=top)
        xp.maximum(top, c, out=top)
        xp.maximum(top, lowest, out=top)
        xp.exp(xp.subtract(a, top, out=term), out=out)
        out += xp.exp(xp.subtract(b, top, out=term), out=term)
        out += xp.exp(xp.subtract(c, top, out=term), out=term)
        xp.log(out, out=out)
        out += top
    return add3


def _ctc_alpha(lpe, plan: _CtcPlan, xp):
    """Forward variables (T, N, 2S + 1) and each sample's negative log-likelihood."""
    neg = lpe.dtype.type(-np.inf)
    steps, n, width = lpe.shape
    # two -inf states in front of state 0: the s - 1 and s - 2 terms become plain views
    padded = xp.full((steps, n, width + 2), neg, lpe.dtype)
    alpha = padded[:, :, 2:]
    alpha[0] = xp.where(plan.first_two, lpe[0], neg)
    jump = _skip_add(plan.skip, lpe.dtype, xp)
    add3 = _log_add3(lpe.shape[1:], lpe.dtype, xp)
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(1, steps):
            prev, cur = padded[t - 1], alpha[t]
            add3(prev[:, 2:], prev[:, 1:-1], prev[:, :-2] + jump, cur)
            cur += lpe[t]
    n = lpe.shape[1]
    il, tl = plan.il, plan.tl
    rows = xp.arange(n)
    last = alpha[xp.maximum(il - 1, 0), rows]          # (N, 2S + 1) at each sample's last step
    end_blank = last[rows, 2 * tl]
    end_label = xp.where(tl > 0, last[rows, xp.maximum(2 * tl - 1, 0)], neg)
    with np.errstate(invalid="ignore"):
        ll = xp.logaddexp(end_blank, end_label)
    # no input: the empty target has probability 1, any other 0
    ll = xp.where(il == 0, xp.where(tl == 0, 0.0, -np.inf), ll).astype(lpe.dtype)
    return alpha, -ll


def _ctc_grad(lp, lpe, alpha, nll, plan: _CtcPlan, zero_infinity: bool, xp):
    """PyTorch's gradient of each sample's loss w.r.t. log_probs (T, N, C), per unit of the
    incoming gradient: ``exp(lp) - exp(log sum_{s: l'[s] = c} alpha beta + nll - lp)``. The
    ``exp(lp)`` term assumes ``log_probs`` came from ``log_softmax`` (it vanishes through its
    backward), exactly as PyTorch's CTC gradient does."""
    steps, n, classes = lp.shape
    neg = lpe.dtype.type(-np.inf)
    t_idx = xp.arange(steps)[:, None]
    il = plan.il
    width = lpe.shape[2]
    # two -inf states after the last one, and a -inf step after the last: the s + 1 and s + 2
    # terms become plain views. A sample's steps past its input length stay at -inf (the
    # recursion from -inf gives -inf), and its last step is overwritten with beta's first row.
    padded = xp.full((steps + 1, n, width + 2), neg, lpe.dtype)
    beta = padded[:steps, :, :width]
    jump = _skip_add(plan.skip_back, lpe.dtype, xp)
    il_host = np.asarray(il if xp is np else il.get())
    add3 = _log_add3(lpe.shape[1:], lpe.dtype, xp)
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(steps - 1, -1, -1):
            nxt, cur = padded[t + 1], beta[t]
            add3(nxt[:, :width], nxt[:, 1:width + 1], nxt[:, 2:] + jump, cur)
            cur += lpe[t]
            first = np.flatnonzero(il_host - 1 == t)
            if first.size:
                cur[first] = xp.where(plan.last_two[first], lpe[t][first], neg)
        ab = alpha + beta
        # PyTorch's kernel writes the last step's two end states into the gradient one after
        # the other, so where the last label is the blank itself (a malformed target) the
        # second write replaces the first: the same here
        tl, rows = plan.tl, xp.arange(n)
        clash = (tl > 0) & (plan.ext[rows, xp.maximum(2 * tl - 1, 0)] == plan.ext[rows, 0])
        clash &= il > 0
        if clash.any():
            ab[(il - 1)[clash], rows[clash], (2 * tl)[clash]] = neg
        # log sum over the states of each label: one shift per (t, n) keeps exp in range (a
        # state far below the best one has a negligible share of the posterior)
        top = ab.max(axis=2, keepdims=True)
        top[~xp.isfinite(top)] = 0
        share = xp.exp(ab - top)
        flat = ((xp.arange(steps)[:, None, None] * n + xp.arange(n)[None, :, None]) * classes
                + plan.ext[None, :, :])
        total = xp.bincount(flat.ravel(), weights=share.ravel().astype(np.float64),
                            minlength=steps * n * classes).reshape(steps, n, classes)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_occ = (xp.log(total) + top).astype(lp.dtype, copy=False)
        grad = xp.exp(lp) - xp.exp(log_occ + nll[None, :, None] - lp)
    grad[~(t_idx < il[None, :])] = 0
    if zero_infinity:
        grad[:, xp.isinf(nll) & (nll > 0)] = 0
    return grad


class CtcLoss(Op):
    """Each sample's CTC negative log-likelihood (N,) of log_probs (T, N, C)."""

    _name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, plan, zero_infinity):
        xp = xp_of(log_probs)
        lpe = xp.take_along_axis(log_probs, plan.ext[None, :, :], axis=2)  # (T, N, 2S + 1)
        alpha, nll = _ctc_alpha(lpe, plan, xp)
        if ctx._record:
            ctx.plan, ctx.zero_infinity = plan, zero_infinity
            ctx.lpe, ctx.alpha, ctx.nll = lpe, alpha, nll
            ctx.save_for_backward(ctx.inputs[0])
        return nll

    @staticmethod
    def backward(ctx, grad):
        (lp,) = ctx.saved_tensors
        xd = lp._data
        g = _ctc_grad(xd, ctx.lpe, ctx.alpha, ctx.nll, ctx.plan, ctx.zero_infinity, xp_of(xd))
        if not _state.enabled:
            return _t(g * grad._data[None, :, None], lp._dtype)
        from .._core import const_like

        # linear in the incoming gradient (so jvp works); PyTorch has no second derivative
        return const_like(lp, g) * grad.reshape(1, -1, 1)

    def _free(self):
        super()._free()
        self.lpe = self.alpha = self.nll = self.plan = None


def _ctc_lengths(input_lengths, target_lengths) -> tuple[np.ndarray, np.ndarray]:
    """Both lengths as int64 arrays: two integer Tensors, or two sequences of ints."""
    tensors = (isinstance(input_lengths, Tensor), isinstance(target_lengths, Tensor))
    if all(tensors):
        out = []
        for name, lengths in (("input_lengths", input_lengths),
                              ("target_lengths", target_lengths)):
            if lengths._dtype.category != D._INT:
                raise RuntimeError(f"{name} must be integral")
            out.append(np.asarray(lengths.cpu()._data).reshape(-1).astype(np.int64))
        return out[0], out[1]
    if not any(tensors):
        out = []
        for lengths in (input_lengths, target_lengths):
            if isinstance(lengths, (list, tuple)) and all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                    for v in lengths):
                out.append(np.array([int(v) for v in lengths], dtype=np.int64))
            else:
                break
        else:
            return out[0], out[1]
    kinds = ", ".join(type(v).__name__ for v in (input_lengths, target_lengths))
    raise TypeError(f"ctc_loss(): input_lengths and target_lengths must both be Tensors or both "
                    f"tuples of ints, got ({kinds}); pass e.g. torch.tensor(lengths) for both")


_CHECKING = "(while checking arguments for ctc_loss_allocate_outputs)"


def _ctc_targets(targets: Tensor, tl: np.ndarray, n: int) -> np.ndarray:
    """The targets as a padded (N, max target length) int64 array on the host, after
    PyTorch's size checks; PyTorch casts any dtype of targets to int64."""
    data = targets.detach().cpu()._data
    if targets._dtype.is_complex:
        data = data.real
    data = np.asarray(data).astype(np.int64)
    s_max = int(tl.max()) if n else 0
    arg = "for argument #2 'targets'"
    if targets.ndim == 1:  # concatenated
        if data.shape[0] != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, "
                               f"but got size {data.shape[0]} {arg} {_CHECKING}")
        padded = np.zeros((n, s_max), np.int64)
        ends = np.cumsum(tl)
        for b in range(n):
            padded[b, :tl[b]] = data[ends[b] - tl[b]:ends[b]]
        return padded
    if data.shape[0] != n:
        raise RuntimeError(f"Expected tensor to have size {n} at dimension 0, but got size "
                           f"{data.shape[0]} {arg} {_CHECKING}")
    if data.shape[1] < s_max:
        raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, but "
                           f"got size {data.shape[1]} {arg} {_CHECKING}")
    return data[:, :s_max]


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss of ``log_probs`` (T, N, C) or (T, C), the
    ``log_softmax`` of a network's outputs over C classes (class ``blank`` included), against
    ``targets``: padded (N, S) or concatenated 1-D, with ``input_lengths`` and
    ``target_lengths`` (integer Tensors or tuples of ints). ``reduction='mean'`` divides each
    sample's loss by its target length, then averages; ``zero_infinity`` zeroes impossible
    alignments' infinite losses and their gradients.

    Example:
        >>> lp = ember.randn(6, 2, 4).log_softmax(2)
        >>> F.ctc_loss(lp, ember.tensor([[1, 2], [3, 3]]), (6, 5), (2, 2)).shape
        torch.Size([])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(ctc_loss, "ctc_loss", log_probs, targets, input_lengths,
                              target_lengths, blank, reduction, zero_infinity)
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise TypeError(f"ctc_loss(): argument 'blank' must be int, not {type(blank).__name__}")
    _check_reduction(reduction)
    il, tl = _ctc_lengths(input_lengths, target_lengths)
    if log_probs._dtype not in (D.float32, D.float64):
        from .._dispatch import not_implemented_for

        raise not_implemented_for("ctc_loss_cpu", log_probs._dtype)
    if log_probs.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor "
                           f"for argument #1 'log_probs' {_CHECKING}")
    if not 1 <= targets.ndim <= 2:
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional "
                           f"tensor for argument #2 'targets' {_CHECKING}")
    steps, n, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if il.size != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    if n and tl.min() < 0:
        raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value "
                           f"{tl[tl < 0][0]} {_CHECKING}")
    padded = _ctc_targets(targets, tl, n)
    if n and il.min() < 0:
        raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value "
                           f"{il[il < 0][0]} {_CHECKING}")
    if n and il.max() > steps:
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got "
                           f"value {il[il > steps][0]} {_CHECKING}")
    used = padded[np.arange(padded.shape[1])[None, :] < tl[:, None]]
    if used.size and (used.min() < 0 or used.max() >= classes):
        # PyTorch's CPU kernel reads out of bounds here; a clear error instead
        bad = int(used[(used < 0) | (used >= classes)][0])
        raise RuntimeError(f"ctc_loss: target label {bad} is out of range for {classes} classes "
                           "(log_probs.size(-1)); labels must be in [0, C)")
    xp = xp_of(lp._data)
    plan = _CtcPlan(*(xp.asarray(a) for a in (padded, il, tl)), blank, xp)
    res = CtcLoss.apply(lp, plan=plan, zero_infinity=bool(zero_infinity))
    if zero_infinity:
        from ..pointwise.compare import where

        res = where(_t(xp.isposinf(res._data)), 0.0, res)
    if reduction == "mean":
        denom = _t(xp.maximum(xp.asarray(tl), 1).astype(res._data.dtype))
        return (res / denom).mean()
    if reduction == "sum":
        return res.sum()
    return res if batched else res.squeeze(0)
