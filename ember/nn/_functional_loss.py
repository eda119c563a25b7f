"""Loss functions of ``ember.nn.functional``.

Cross-entropy and NLL are fused ops (``ember/_ops/nn/loss.py``), CTC an op of its own there,
next to the multi-class margin losses; binary cross-entropy has its own op for PyTorch's clamped
logarithms; the rest are compositions of differentiable ops.
Every loss takes ``reduction='mean'|'sum'|'none'`` (and the deprecated ``size_average`` /
``reduce`` pair).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _autocast
from .. import _dtype as D
from .._autocast import hot as _amp
from .._errors import with_hint
from .._ops._core import set_node_name
from .._ops._dispatch import not_implemented_for
from .._ops.inplace import _type_title
from .._ops.nn import activation as A
from .._ops.nn.linear_softmax import Exp, Log, _t, abs_
from .._ops.nn.loss import (
    BinaryCrossEntropy,
    HuberLoss,
    MseLoss,
    SmoothL1Loss,
    _check_reduction,
    _dt_title,
    _legacy_reduction,
    bce_with_logits,
    cross_entropy,
    ctc_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    nll_loss,
    regression_loss,
    soft_margin,
)
from .._ops.pointwise.abs_round_clamp import clamp_min as _clamp_min
from .._tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
           "margin_ranking_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "soft_margin_loss",
           "multilabel_soft_margin_loss", "hinge_embedding_loss", "multi_margin_loss",
           "multilabel_margin_loss", "ctc_loss", "linear_cross_entropy"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss




def _reduction(size_average, reduce, reduction) -> str:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return reduction


def _float_target(input: Tensor, target: Tensor, name: str) -> None:
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}(): argument 'target' must be Tensor, not {type(target).__name__}")
    if target._dtype.category < D._FLOAT and input._dtype.category >= D._FLOAT:
        raise RuntimeError(
            f"Found dtype {_dt_title(target._dtype)} but expected {_dt_title(input._dtype)}: "
            f"{name} needs a floating point target of the input's dtype; call "
            f"target.{'double' if input._dtype is D.float64 else 'float'}()")


def _promoted_pair(input: Tensor, target: Tensor, kernel: str, name: str) -> tuple:
    """``input`` and ``target`` in their promoted dtype, as torch's pointwise loss kernels
    (mse, smooth_l1) compute: a float input with an int or bool target is fine, and an int
    input with a float target too; an integer promotion meets the kernel's NotImplementedError.
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}(): argument 'target' must be Tensor, not {type(target).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    common = D.promote_types(input._dtype, target._dtype)
    if common.category != D._FLOAT:
        raise not_implemented_for(kernel, common)
    return input.to(common), target.to(common)


def _float_kernel(input: Tensor, kernel: str) -> None:
    """torch's loss kernels take floating inputs only: NotImplementedError naming the kernel."""
    if isinstance(input, Tensor) and input._dtype.category != D._FLOAT:
        raise not_implemented_for(kernel, input._dtype)


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({_size(target.shape)}) that is different to the input size "
            f"({_size(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


def _size(shape) -> str:
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str,
              normalized: bool) -> Tensor:
    """``loss * weight`` reduced as PyTorch does for the elementwise losses' ``weight``: the
    weight must have the input's size, and with ``normalized`` the mean is
    ``sum(weight * loss) / sum(weight)`` (mse_loss and l1_loss; huber_loss takes the plain
    mean)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and normalized:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target)**2``, reduced.

    Example:
        >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
        tensor(2.)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(mse_loss, "mse_loss", input, target, size_average, reduce, reduction,
                              weight)
    reduction = _reduction(size_average, reduce, reduction)
    input, target = _promoted_pair(input, target, "mse_cpu", "mse_loss")
    _warn_size(input, target)
    if weight is None:
        out = regression_loss(MseLoss, input, target, reduction)
        if out is not None:
            return out
    d = input - target
    loss = d * d
    if weight is not None:
        return _weighted(loss, weight, input, reduction, normalized=True)
    return set_node_name(_reduce(loss, reduction), "MseLossBackward0")


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(l1_loss, "l1_loss", input, target, size_average, reduce, reduction,
                              weight)
    reduction = _reduction(size_average, reduce, reduction)
    if not isinstance(target, Tensor):  # (an int target promotes, as torch's subtraction)
        raise TypeError(f"l1_loss(): argument 'target' must be Tensor, not "
                        f"{type(target).__name__}")
    _warn_size(input, target)
    loss = abs_(input - target)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, normalized=True)
    if reduction == "none":
        return set_node_name(loss, "AbsBackward0")
    return _reduce(loss, reduction)


def _huber(d: Tensor, delta: float, scale: float) -> Tensor:
    """0.5 d^2 * scale where |d| < delta, else (|d| - 0.5 delta) * delta * scale."""
    from .._ops.pointwise.compare import where

    small = _t(np.abs(d._data) < delta)
    # selects, with the quadratic branch fed only small d: an infinite d then meets no
    # 0 * inf, forward or backward
    ds = where(small, d, 0.0)
    quad = ds * ds * (0.5 * scale)
    lin = (abs_(d) - 0.5 * delta) * (delta * scale)
    return where(small, quad, lin)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(smooth_l1_loss, "smooth_l1_loss", input, target, size_average, reduce,
                              reduction, beta)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _promoted_pair(input, target, "smooth_l1_cpu", "smooth_l1_loss")
    _warn_size(input, target)
    if beta > 0:
        out = regression_loss(SmoothL1Loss, input, target, reduction, beta)
        if out is not None:
            return out
    d = input - target
    loss = abs_(d) if beta == 0 else _huber(d, beta, 1.0 / beta)
    return set_node_name(_reduce(loss, reduction), "SmoothL1LossBackward0")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(huber_loss, "huber_loss", input, target, reduction, delta, weight)
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if not isinstance(target, Tensor):
        raise TypeError(f"huber_loss(): argument 'target' must be Tensor, not "
                        f"{type(target).__name__}")
    common = D.promote_types(input._dtype, target._dtype)
    if not D.can_cast(common, input._dtype):  # torch's huber writes into input's dtype
        raise RuntimeError(f"result type {_type_title(common)} can't be cast to the desired "
                           f"output type {_type_title(input._dtype)}")
    _float_kernel(input, "huber_cpu")
    target = target.to(input._dtype)  # (a float64 target gives a float32 loss, as torch)
    _warn_size(input, target)
    if weight is None:
        out = regression_loss(HuberLoss, input, target, reduction, delta)
        if out is not None:
            return out
    loss = _huber(input - target, delta, 1.0)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, normalized=False)
    return set_node_name(_reduce(loss, reduction), "HuberLossBackward0")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) on probabilities ``input``; logs clamped at -100.

    Example:
        >>> F.binary_cross_entropy(ember.tensor([0.5]), ember.tensor([1.0]))
        tensor(0.6931)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(binary_cross_entropy, "binary_cross_entropy", input, target, weight,
                              size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({_size(target.shape)}) that is different to the input size "
            f"({_size(input.shape)}) is deprecated. Please ensure they have the same size.")
    _float_kernel(input, "binary_cross_entropy")
    if target._dtype is not input._dtype:  # torch's kernel takes no mixed dtypes, not even floats
        cast = {D.float64: "double", D.float16: "half", D.bfloat16: "bfloat16"}.get(
            input._dtype, "float")
        raise with_hint(RuntimeError(f"Found dtype {_dt_title(target._dtype)} but expected "
                                     f"{_dt_title(input._dtype)}"),
                        f"binary_cross_entropy needs a target of the input's dtype; call "
                        f"target.{cast}()")
    if weight is None or _constant_weight(weight, input):
        # one node, weight and reduction included, as PyTorch's
        return BinaryCrossEntropy.apply(input, target, weight=None if weight is None
                                        else weight._data, reduction=reduction)
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return set_node_name(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


def _constant_weight(weight, input: Tensor) -> bool:
    """Whether ``weight`` can go into the loss's node as a constant: a tensor of the input's
    dtype and kind of array, needing no gradient, broadcasting to the input's shape."""
    if not (isinstance(weight, Tensor) and not weight.requires_grad
            and weight._dtype is input._dtype and type(weight._data) is type(input._data)):
        return False
    try:
        return np.broadcast_shapes(weight._data.shape, input._data.shape) == input._data.shape
    except ValueError:
        return False


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression; ``pos_weight`` weighs
    positives per class.

    Example:
        >>> F.binary_cross_entropy_with_logits(ember.tensor([0.0]), ember.tensor([1.0]))
        tensor(0.6931)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
                              input, target, weight, size_average, reduce, reduction, pos_weight)
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({_size(target.shape)}) must be the same as input size "
                         f"({_size(input.shape)})")
    _float_kernel(input, "log_sigmoid_cpu")
    _float_target(input, target, "binary_cross_entropy_with_logits")
    out = bce_with_logits(input, target, weight, pos_weight, reduction)
    if out is not None:
        return out
    sp = A.Softplus.apply(-input, beta=1.0, threshold=None)  # log(1 + exp(-x))
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    if loss._dtype is not target._dtype and target._dtype.is_floating_point:
        loss = loss.to(target._dtype)  # torch builds the loss in place from 1 - target
    return set_node_name(_reduce(loss, reduction), "BinaryCrossEntropyWithLogitsBackward0")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` as log-probabilities: ``target * (log target - input)``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(kl_div, "kl_div", input, target, size_average, reduce, reduction,
                              log_target)
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2)
    if reduction != "batchmean":
        reduction = _reduction(size_average, reduce, reduction)
    for t in (input, target):
        if t._dtype.is_complex:
            raise RuntimeError("kl_div: Complex inputs not supported.")
        if t._dtype.category < D._FLOAT:
            raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = Exp.apply(target) * (target - input)
    else:
        from .._ops.pointwise.binary_math import xlogy

        # xlogy(target, target): 0 where target is 0, NaN where it is negative, and its
        # gradient (NaN at a zero target, as PyTorch's) flows to a target that needs one
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(x) - t x (``log_input``) or x - t log(x + eps)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(poisson_nll_loss, "poisson_nll_loss", input, target, log_input, full,
                              size_average, eps, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:  # exp of an integer input is in the default float dtype, as torch's
        x = input if input._dtype.category >= D._FLOAT else input.to(D.get_default_dtype())
        loss = Exp.apply(x) - target * input
    else:
        loss = input - target * Log.apply(input + eps)
    if full:
        t = target._data
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = t * np.log(t) - t + 0.5 * np.log(2 * math.pi * t)
        loss = loss + _t(np.where(t > 1, stirling, 0).astype(t.dtype))
    return _reduce(loss, reduction)


# the C++ type names torch's in-place clamp names in its cast error
_C_TYPE_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
                 "int16": "short int", "int32": "int", "int64": "long int"}


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var), var clamped to eps (gradient unclamped)."""
    if not isinstance(var, Tensor):
        from .._creation import full as _full

        var = _full(tuple(input.shape), float(var), dtype=input.dtype)
    # torch's order of checks: negative entries, var's size, the reduction, var's dtype
    if var._dtype.is_complex or var._dtype in D.SHELL:  # torch has no ``var < 0`` kernel
        raise not_implemented_for("lt_cpu", var._dtype)
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:  # one dimension short: homoscedastic over the last
            var = var.unsqueeze(-1)
        # else the same rank with the mismatched sizes of var summing to one (torch's test:
        # one dimension of size 1 to broadcast, as (4, 1, 32, 32) against (4, 3, 32, 32))
        elif not (len(in_shape) == len(var_shape)
                  and sum(y for x, y in zip(in_shape, var_shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not valid")
    if not var._dtype.is_floating_point:  # torch clamps a clone of var in place to eps
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_C_TYPE_NAMES.get(var._dtype.name, var._dtype.name)}")
    v = var._data
    var = var + _t((np.maximum(v, eps) - v).astype(v.dtype))  # clamp outside autograd
    d = input - target
    loss = (Log.apply(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) for target 1; max(0, cos(x1, x2) - margin) for target -1."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(cosine_embedding_loss, "cosine_embedding_loss", input1, input2,
                              target, margin, size_average, reduce, reduction)
    from .._ops.nn.linear_softmax import Sqrt

    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise RuntimeError(f"{target.ndim}D target tensor expects {target.ndim + 1}D input "
                           f"tensors, but found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
    if input1._dtype.is_complex or input2._dtype.is_complex:  # torch clamps cos - margin at 0
        raise NotImplementedError("clamp is not supported for complex types")
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim=dim)
    m1 = (input1 * input1).sum(dim=dim) + 1e-12
    m2 = (input2 * input2).sum(dim=dim) + 1e-12
    cos = prod / Sqrt.apply(m1 * m2)
    from .._ops.pointwise.compare import where

    # torch clamps with clamp_min, whose gradient passes where cos == margin (relu's would
    # not), and selects the two terms by target
    t = target._data
    loss = (where(_t(t == 1), 1 - cos, 0.0)
            + where(_t(t == -1), _clamp_min(cos - margin, 0), 0.0))
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (x1 - x2) + margin)."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(margin_ranking_loss, "margin_ranking_loss", input1, input2, target,
                              margin, size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {_size(input1.shape)}, input2: {_size(input2.shape)}, target: "
            f"{_size(target.shape)} ")
    # clamp_min, as torch: at a tie on the margin the gradient passes (a hinge with margin 0
    # still trains from equal, e.g. zero-initialised, scores)
    return _reduce(_clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """x for target 1, max(0, margin - x) for target -1."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(hinge_embedding_loss, "hinge_embedding_loss", input, target, margin,
                              size_average, reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    from .._creation import full_like, zeros_like
    from .._ops.pointwise.compare import where

    # PyTorch's selects: the margin term where target != 1, x where target != -1 (a target
    # that is neither gets both), and no 0 * inf where x is infinite; the margin is filled
    # into a tensor of the input's dtype first (an integer input keeps its dtype)
    t = target._data
    zeros = zeros_like(input)
    margin_part = where(_t(t != 1), _clamp_min(full_like(input, margin) - input, 0), zeros)
    return _reduce(margin_part + where(_t(t != -1), input, zeros), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input))."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(soft_margin_loss, "soft_margin_loss", input, target, size_average,
                              reduce, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    # torch writes -input into a tensor of input's dtype, then exp_ and log1p_ in place
    if input._dtype is D.bool:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if input._dtype in D.SHELL:
        raise not_implemented_for("neg_cpu", input._dtype)
    if input._dtype.category == D._INT:
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_type_title(input._dtype)}")
    out = soft_margin(input, target, reduction)
    if out is not None:
        return out
    loss = A.Softplus.apply(-target * input, beta=1.0, threshold=None)
    return set_node_name(_reduce(loss, reduction), "SoftMarginLossBackward0")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-class logistic loss averaged over classes: -(t log s(x) + (1-t) log s(-x))."""
    reduction = _reduction(size_average, reduce, reduction)
    _float_kernel(input, "log_sigmoid_cpu")
    loss = (target * A.Softplus.apply(-input, beta=1.0, threshold=None)
            + (1 - target) * A.Softplus.apply(input, beta=1.0, threshold=None))
    if weight is not None:
        loss = loss * weight
    if input.ndim == 0:  # torch sums over the class dimension, input.size(-1)
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with the p-norm pairwise distance."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(triplet_margin_loss, "triplet_margin_loss", anchor, positive,
                              negative, margin, p, eps, swap, size_average, reduce, reduction)
    from .functional import pairwise_distance

    reduction = _reduction(size_average, reduce, reduction)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs")
    from .._ops.pointwise.binary_math import minimum

    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:  # torch's at::min: a tie shares the gradient between the two distances
        d_an = minimum(d_an, pairwise_distance(positive, negative, p, eps))
    # torch's order of terms and clamp_min (the gradient passes at the hinge, relu's would not)
    return _reduce(_clamp_min(margin + d_ap - d_an, 0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) for any distance ``d`` (default: the 2-norm
    ``pairwise_distance``); ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.

    Example:
        >>> a, p, n = ember.randn(4, 3), ember.randn(4, 3), ember.randn(4, 3)
        >>> F.triplet_margin_with_distance_loss(
        ...     a, p, n, distance_function=lambda x, y: 1 - F.cosine_similarity(x, y)).shape
        torch.Size([])
    """
    from .._ops.pointwise.abs_round_clamp import clamp_min
    from .._ops.pointwise.binary_math import minimum
    from .functional import pairwise_distance

    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs")
    if distance_function is None:
        distance_function = pairwise_distance
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    if swap:
        dist_neg = minimum(dist_neg, distance_function(positive, negative))
    return _reduce(clamp_min(margin + dist_pos - dist_neg, 0), reduction)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` with PyTorch's
    checks. ``input`` is (N, in) or (in,); ``linear_weight`` is (C, *out_features, in), the
    extra dims giving a K-dimensional loss. ``ignore_index=None`` means -100 for class
    targets and must stay None for probability targets. ember computes the reference path
    whatever ``options`` says (PyTorch's chunked kernel gives the same values).

    Example:
        >>> F.linear_cross_entropy(ember.randn(4, 8), ember.randn(10, 8),
        ...                        ember.tensor([1, 2, 3, 4])).shape
        torch.Size([])
    """
    from .functional import linear  # functional imports this module

    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None and (out_features or reduction not in ("mean", "sum", "none")
                                or label_smoothing != 0.0 or target.dtype != D.int64):
        bias_shape = tuple(linear_bias.shape) if linear_bias is not None else None
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features "
            f"== (). Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
            f"target.dtype={target.dtype}, out_features={out_features}, tracing=False, "
            f"linear_bias.shape={bias_shape}.", stacklevel=2)
    if out_features:
        rows = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape(rows, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(rows)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)
