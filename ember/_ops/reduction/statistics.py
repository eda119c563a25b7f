"""Variance, standard deviation, ``logsumexp``, ``cov`` and ``corrcoef``."""

from __future__ import annotations

import builtins
import os
import sys
import warnings

import numpy as np

from ... import _dtype as D
from ..._backend import get_array_module
from ..._layout import row_major
from ..._tensor import Tensor
from .._core import NOT_GIVEN, Op, _arg_type_name, _named, bool_arg
from .._dispatch import not_implemented_for
from ..inplace import _type_title
from .sums import Mean, SafeDiv, _axes, expand_reduced, quiet_numpy, reduced_count

__all__ = ["var", "std", "var_mean", "std_mean", "logsumexp", "cov", "corrcoef"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _user_stacklevel() -> int:
    """The ``stacklevel`` (seen from the caller) of the first frame outside ember: torch's
    warnings point at the user's line, whatever wrappers (method, alias, dispatch) ember's
    call went through."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_EMBER_DIR):
        frame, level = frame.f_back, level + 1
    return level


# -- variance and standard deviation --------------------------------------------------------

class Var(Op):
    opmath = True  # float16/bfloat16: float32 arithmetic, rounded once (_core.opmath_forward)

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
        few = reduced_count(x.shape, axes) <= correction  # NaN, not NumPy's RuntimeWarning
        with np.errstate(divide="ignore", invalid="ignore"), quiet_numpy(few):
            return row_major(np.var(x, axis=axes, ddof=correction, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        n = builtins.max(reduced_count(x.shape, ctx.axes) - ctx.correction, 0)
        g = expand_reduced(grad, x.shape, ctx.axes, ctx.keepdim)
        return g * (2.0 / n if n else float("inf")) * (x - x.mean(ctx.axes, keepdim=True))


class Std(Op):
    save_output = True
    opmath = True  # float16/bfloat16: float32 arithmetic, rounded once (_core.opmath_forward)

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
        few = reduced_count(x.shape, axes) <= correction  # NaN, not NumPy's RuntimeWarning
        with np.errstate(divide="ignore", invalid="ignore"), quiet_numpy(few):
            return row_major(np.std(x, axis=axes, ddof=correction, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        n = builtins.max(reduced_count(x.shape, ctx.axes) - ctx.correction, 0)
        g = expand_reduced(SafeDiv.apply(grad, out), x.shape, ctx.axes, ctx.keepdim)
        return g * (1.0 / n if n else float("inf")) * (x - x.mean(ctx.axes, keepdim=True))


def _var_args(name, input, dim, unbiased, keepdim, correction):
    given_none = unbiased is None  # (not left out): torch has no such overload
    if unbiased is NOT_GIVEN:
        unbiased = None
    if isinstance(dim, bool):  # std(x, False): the old positional ``unbiased``
        dim, unbiased = None, dim
    if given_none or not (unbiased is None or unbiased is True or unbiased is False) or not (
            keepdim is False or keepdim is True):  # torch: Python bools (not 1, np.True_)
        got = ", ".join(f"{k}={_arg_type_name(v)}" for k, v in
                        (("unbiased", unbiased), ("keepdim", keepdim))
                        if (given_none and k == "unbiased") or
                        not (v is None or v is True or v is False))
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), "
                        "but expected one of:\n * (Tensor input, tuple of ints dim, bool "
                        "unbiased = True, bool keepdim = False)\n * (Tensor input, tuple of "
                        "ints dim = None, *, Number correction = None, bool keepdim = False)")
    if input._dtype.category < D._FLOAT:
        which = name if name.endswith("_mean") else "std and var"
        raise RuntimeError(f"{which} only support floating point and complex dtypes")
    if correction is not None and unbiased is not None:
        raise RuntimeError(f"{name}(): cannot specify both 'unbiased' and 'correction'")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(input, dim)
    if input._dtype in D.FLOAT8:  # torch's whole-tensor std/var kernel says it differently
        if name in ("std", "var") and len(axes) == input.ndim:
            raise RuntimeError(f"std_var_all: Unsupported dtype {_type_title(input._dtype)}")
        raise not_implemented_for("std_cpu", input._dtype)
    # torch's reduction factor is input numel / output numel, which is 0 for an empty input
    if reduced_count(input.shape, axes) - correction <= 0 or not input.numel():
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=_user_stacklevel())
    return axes, correction, keepdim


def var(input: Tensor, dim=None, unbiased: bool | None = NOT_GIVEN, keepdim: bool = False, *,
        correction: int | float | None = None) -> Tensor:
    """Variance over ``dim`` with Bessel's correction by default (``correction=1``).

    Example:
        >>> ember.tensor([1., 2., 3., 4.]).var()
        tensor(1.6667)
    """
    axes, c, keepdim = _var_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, axes=axes, correction=c, keepdim=keepdim)


def std(input: Tensor, dim=None, unbiased: bool | None = NOT_GIVEN, keepdim: bool = False, *,
        correction: int | float | None = None) -> Tensor:
    """Standard deviation over ``dim`` (``correction=1`` by default).

    Example:
        >>> ember.tensor([1., 2., 3., 4.]).std()
        tensor(1.2910)
    """
    axes, c, keepdim = _var_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, axes=axes, correction=c, keepdim=keepdim)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = NOT_GIVEN, keepdim: bool = False, *,
             correction: int | float | None = None) -> tuple:
    """``(var, mean)`` over ``dim``.

    Example:
        >>> v, m = ember.var_mean(ember.tensor([1., 3.]))
    """
    axes, c, keepdim = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    # torch makes both results in one node; ember's two carry that node's name
    return (_named(Var.apply(input, axes=axes, correction=c, keepdim=keepdim), "VarMeanBackward0"),
            _named(Mean.apply(input, axes=axes, keepdim=keepdim), "VarMeanBackward0"))


def std_mean(input: Tensor, dim=None, unbiased: bool | None = NOT_GIVEN, keepdim: bool = False, *,
             correction: int | float | None = None) -> tuple:
    """``(std, mean)`` over ``dim``.

    Example:
        >>> s, m = ember.std_mean(ember.tensor([1., 3.]))
    """
    axes, c, keepdim = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    # torch makes both results in one node; ember's two carry that node's name
    return (_named(Std.apply(input, axes=axes, correction=c, keepdim=keepdim), "StdMeanBackward0"),
            _named(Mean.apply(input, axes=axes, keepdim=keepdim), "StdMeanBackward0"))


# -- logsumexp ------------------------------------------------------------------------------

class LogSumExp(Op):
    _name = "LogsumexpBackward0"
    save_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.axes, ctx.keepdim = axes, keepdim
        if x.size == 0:
            return get_array_module(x).full(np.sum(x, axis=axes, keepdims=keepdim).shape,
                                            -np.inf, x.dtype)
        m = np.max(x, axis=axes, keepdims=True)
        # Shift by the max for stability; an infinite max would give inf - inf = nan.
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        from ..pointwise.unary import exp

        x, out = ctx.saved_tensors
        g = expand_reduced(grad, x.shape, ctx.axes, ctx.keepdim)
        softmax = exp(x - expand_reduced(out, x.shape, ctx.axes, ctx.keepdim))
        if softmax._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
            from ..pointwise.complex import conj

            softmax = conj(softmax)
        return g * softmax


_NO_DIM = object()  # logsumexp's dim left out: torch's parser names it, not Python's


def logsumexp(input: Tensor, dim=_NO_DIM, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` computed stably; integers give the default float dtype.

    Example:
        >>> ember.logsumexp(ember.tensor([0., 0.]), 0)
        tensor(0.6931)
    """
    if dim is _NO_DIM:
        raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "logsumexp")
    if input._dtype.category < D._FLOAT:
        input = input.to(D.get_default_dtype())
    if input._dtype in D.FLOAT8:  # torch's logsumexp starts with amax
        raise not_implemented_for("max_values_cpu", input._dtype)
    if dim is None:  # unlike sum/mean, torch's logsumexp has no "every dim" default
        raise TypeError("logsumexp(): argument 'dim' must be tuple of ints, not NoneType")
    if (not keepdim and isinstance(dim, (tuple, list)) and not dim and input.ndim
            and input.numel()):
        # torch reduces every dim for dim=() but then fails writing its kept-dims result into
        # a 0-d output (only keepdim=True, 0-d and empty inputs get through); mirror that.
        ones = ", ".join(["1"] * input.ndim)
        raise RuntimeError(f"output with shape [] doesn't match the broadcast shape [{ones}]")
    return LogSumExp.apply(input, axes=_axes(input, dim), keepdim=keepdim)


def _check_cov_weights(name: str, w: Tensor, n_obs: int, category: int, kind: str):
    """torch's checks on ``fweights`` (integers, bool not) and ``aweights`` (floating), in order."""
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w.ndim} dimensions")
    if w._dtype.category != category or w._dtype is D.bool:
        raise RuntimeError(f"cov(): expected {name} to have {kind} dtype but got {name} with "
                           f"{_type_title(w._dtype)} dtype")
    if w.numel() != n_obs:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w.numel()} != {n_obs}")
    if (w._data < 0).any():
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in columns).

    Example:
        >>> ember.cov(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    if isinstance(correction, Tensor) and not correction._dtype.is_floating_point and \
            correction._dtype is not D.bool and correction.ndim == 0:
        correction = correction.item()
    if isinstance(correction, bool) or not isinstance(correction, (int, np.integer)):
        raise TypeError(f"cov(): argument 'correction' must be int, not "
                        f"{type(correction).__name__}")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    if input._dtype is D.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not (x._dtype.is_floating_point or x._dtype.is_complex):
        x = x.to(D.get_default_dtype())
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _check_cov_weights("fweights", fweights, n_obs, D._INT, "integral")
        w = fweights
    if aweights is not None:
        _check_cov_weights("aweights", aweights, n_obs, D._FLOAT, "floating point")
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        w_sum = n_obs
        norm = n_obs - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
    if (norm <= 0) if not isinstance(norm, Tensor) else bool((norm <= 0).item()):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", stacklevel=_user_stacklevel())
        norm = norm * 0 if isinstance(norm, Tensor) else 0
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = (xw @ (xm.t().conj() if xm._dtype.is_complex else xm.t())) / norm
    # one variable (a vector or a single row) gives torch's 0-d variance, not a 1x1 matrix;
    # torch squeezes in every case, so its node is a squeeze even for a matrix result
    return c.squeeze() if input.ndim < 2 or input.shape[0] == 1 else _named(c, "SqueezeBackward0")


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (values clipped to [-1, 1]).

    Example:
        >>> ember.corrcoef(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    std = d.sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c.clamp(-1, 1) if not c._dtype.is_complex else c

TENSOR_METHODS = {
    "var": var, "std": std, "logsumexp": logsumexp, "cov": cov, "corrcoef": corrcoef,
}
