"""Normalization: one fused op (normalize over some axes, then scale and shift) behind batch,
layer, instance and group norm, with the closed-form backward.

The first-order backward runs on raw arrays. When a graph of the gradient is wanted
(``create_graph=True``) the same closed form is written with ember ops on recomputed
statistics, so second derivatives are exact.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import asarray_like
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._layout import like_layout, row_major
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, set_node_name, tie_operands
from .._dispatch import not_implemented_for
from .normalization_low import (
    batch_norm_low,
    instance_norm_low,
    low_batch_norm_backward,
    low_batch_norm_forward,
)

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"]


class Rsqrt(Op):
    """``1 / sqrt(x)`` (private; keeps this module free of the unary family)."""

    save_output = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / np.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        d = (y * y * y) * -0.5
        if d._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
            from ..pointwise.complex import conj

            d = conj(d)
        return grad * d


def _gemv_rows(x, axes):
    """``(rows, width)`` when ``x``'s statistics can be taken as matrix-vector products (the
    reduced axes are its trailing ones, as in layer norm; a float32/float64 host array), else
    None. A GEMV against a vector of 1/width sums 512 rows of 128 about 5x faster than
    NumPy's mean over a short last axis, which pays per row."""
    k = len(axes)
    if (k == 0 or axes != tuple(range(x.ndim - k, x.ndim)) or type(x) is not np.ndarray
            or x.dtype not in _GEMV_DTYPES or not x.flags.c_contiguous or x.size == 0):
        return None
    width = 1
    for d in x.shape[x.ndim - k:]:
        width *= d
    return x.size // width, width


_GEMV_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _row_means(a, rows, width, keep_shape):
    """Means of ``a``'s rows (``a`` viewed as ``rows x width``), shaped ``keep_shape``."""
    return (a.reshape(rows, width) @ np.full(width, 1.0 / width, a.dtype)).reshape(keep_shape)


def _column_sums(a, rows, width):
    return np.ones(rows, a.dtype) @ a.reshape(rows, width)


class NormAffine(Op):
    """``(x - mean) * invstd * w + b`` with statistics over ``axes`` (or fixed ones).

    ``pshape`` is the broadcast shape of ``w``/``b``; ``fixed`` holds (mean, var) arrays for
    evaluation with running statistics; ``stats`` (a dict) receives the batch mean and biased
    variance for running-statistics updates. ``contiguous``: the output and the input's
    gradient are row-major, as torch's layer and instance norm make them; otherwise they keep
    the input's layout (batch and group norm keep a channels_last input channels_last).
    """

    @staticmethod
    def forward(ctx, x, w, b, axes, eps, pshape, fixed=None, stats=None, contiguous=False):
        ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
        ctx.contiguous = contiguous
        if contiguous:
            x = row_major(x)
        gemv = _gemv_rows(x, axes) if fixed is None else None
        if gemv is not None:
            keep = x.shape[:x.ndim - len(axes)] + (1,) * len(axes)
            mean = _row_means(x, *gemv, keep)
            xc = x - mean
            var = _row_means(np.square(xc), *gemv, keep)
        elif fixed is None:
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = np.mean(np.square(xc), axis=axes, keepdims=True)
        else:
            mean, var = fixed
            xc = x - mean
        invstd = 1.0 / np.sqrt(var + eps)
        if stats is not None:
            stats["mean"], stats["var"] = mean, var
        xc *= invstd
        ctx.xhat, ctx.invstd = xc, invstd
        ctx.args = (axes, eps, pshape, fixed)
        if w is None and b is None:  # order "K" keeps a channels_last input's layout, as torch
            return xc.copy(order="K") if ctx.inputs[0]._requires_grad else xc
        y = xc * w.reshape(pshape) if w is not None else xc.copy(order="K")
        if b is not None:
            y += b.reshape(pshape)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        axes, eps, pshape, fixed = ctx.args
        need = ctx.needs_input_grad
        paxes = tuple(i for i, s in enumerate(pshape) if s == 1)
        if grad_mode._state.enabled:
            return _backward_graph(ctx, grad, x, w, axes, eps, pshape, fixed, paxes)
        g = grad._data
        xhat, invstd = ctx.xhat, ctx.invstd
        dt = grad._dtype
        # the input's gradient: row-major, or laid out as the input (xhat is, densely)
        layout = row_major if ctx.contiguous else lambda a: like_layout(a, xhat)
        gx = gw = gb = None
        gemv = _gemv_rows(g, axes) if fixed is None and g.dtype == xhat.dtype else None
        if need[0]:
            gy = g * w._data.reshape(pshape) if w is not None else g
            if gemv is not None:
                keep = invstd.shape
                t = gy - _row_means(gy, *gemv, keep)
                t -= xhat * _row_means(gy * xhat, *gemv, keep)
                t *= invstd
                gx = Tensor._make(layout(t), dt)
            elif fixed is None:
                t = gy - gy.mean(axis=axes, keepdims=True)
                t -= xhat * np.mean(gy * xhat, axis=axes, keepdims=True)
                t *= invstd
                gx = Tensor._make(layout(t), dt)
            else:
                gx = Tensor._make(layout(gy * invstd), dt)
        # with trailing statistics axes the parameters' axes are the leading ones: column sums,
        # again as matrix-vector products
        columns = gemv if gemv is not None and paxes == tuple(range(g.ndim - len(axes))) \
            else None
        if len(need) > 1 and need[1]:
            gxh = g * xhat
            gw = Tensor._make(row_major(_column_sums(gxh, *columns) if columns else
                                        np.sum(gxh, axis=paxes)).reshape(w.shape), dt)
        if len(need) > 2 and need[2]:
            b = ctx.inputs[2]
            gb = Tensor._make(row_major(_column_sums(g, *columns) if columns else
                                        np.sum(g, axis=paxes)).reshape(b.shape), dt)
        return gx, gw, gb


class LowNormAffine(NormAffine):
    """``NormAffine`` for float16/bfloat16 layer and group norm: PyTorch's kernels compute the
    statistics, the normalization and the affine step in float32 and round the result once;
    their backward kernels likewise (see _core.opmath_graph)."""

    opmath = opmath_backward = True


class LowBatchNormAffine(NormAffine):
    """``NormAffine`` for float16/bfloat16 batch and instance norm with parameters of the
    input's dtype: PyTorch's kernel rounds its statistics to the 2-byte dtype, and its
    backward kernel sums in float32 in its own order (see normalization_low)."""

    opmath = opmath_backward = True
    forward = staticmethod(low_batch_norm_forward)

    @staticmethod
    def backward(ctx, grad):
        if grad_mode._state.enabled:  # create_graph: NormAffine's differentiable formula
            return NormAffine.backward(ctx, grad)
        dt = grad._dtype
        return tuple(None if g is None else Tensor._make(g, dt)
                     for g in low_batch_norm_backward(ctx, grad))


def _norm_affine(input: Tensor):
    low = input._dtype is D.float16 or input._dtype is D.bfloat16
    return LowNormAffine if low else NormAffine


def _backward_graph(ctx, grad, x, w, axes, eps, pshape, fixed, paxes):
    """The closed-form gradient as ember ops, so it can itself be differentiated."""
    need = ctx.needs_input_grad
    if fixed is None:
        mean = x.mean(dim=axes, keepdim=True)
        xc = x - mean
        invstd = Rsqrt.apply((xc * xc).mean(dim=axes, keepdim=True) + eps)
    else:
        xc = x - Tensor._make(fixed[0])
        invstd = Tensor._make(ctx.invstd)
    xhat = xc * invstd
    gx = gw = gb = None
    if need[0]:
        gy = grad * w.reshape(pshape) if w is not None else grad
        if fixed is None:
            gx = (gy - gy.mean(dim=axes, keepdim=True)
                  - xhat * (gy * xhat).mean(dim=axes, keepdim=True)) * invstd
        else:
            gx = gy * invstd
    if len(need) > 1 and need[1]:
        gw = grad * xhat
        gw = (gw.sum(dim=paxes) if paxes else gw).reshape(w.shape)
    if len(need) > 2 and need[2]:
        gb = (grad.sum(dim=paxes) if paxes else grad).reshape(ctx.inputs[2].shape)
    # torch's double-backward node makes each gradient a function of the input and weight,
    # even one that does not depend on them (the bias's; the input's with fixed statistics)
    gx, gw, gb = (tie_operands(g, x, w) if g is not None and not g._requires_grad else g
                  for g in (gx, gw, gb))
    # torch's double-backward node, named after the first-order one (batch and layer norm)
    name = _DOUBLE_BACKWARD_NAMES.get(ctx.name())
    if name is not None:
        for g in (gx, gw, gb):
            node = g.grad_fn if g is not None else None
            if node is not None and all(node is not t.grad_fn for t in (grad, x, w)
                                        if t is not None):
                node._name = name  # a node of the composite (never an input's own)
    return gx, gw, gb


_DOUBLE_BACKWARD_NAMES = {"NativeBatchNormBackward0": "NativeBatchNormBackwardBackward0",
                          "NativeLayerNormBackward0": "NativeLayerNormBackwardBackward0"}


# -- public functions -----------------------------------------------------------------------

# the dtypes torch's CPU norm kernels have loops for; every other one (bool, integers, complex,
# float8) gets their NotImplementedError, naming the kernel (``kernel``) as torch does
_NORM_DTYPES = frozenset((D.float16, D.bfloat16, D.float32, D.float64))


def _check_float(input, name, kernel=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._dtype not in _NORM_DTYPES:
        if name == "rms_norm" and input._dtype.is_complex:  # torch's rms_norm takes complex
            return
        raise not_implemented_for(kernel or name, input._dtype)


def _check_param_dtypes(input: Tensor, names: str, *params) -> None:
    """torch's CPU norm kernels take parameters of the input's dtype, or float32 ones for a
    bfloat16/float16 input (mixed precision); its message depends on which one differs."""
    dt = input._dtype
    for p in params:  # the common case, one dtype, costs this loop only
        if p is not None and p._dtype is not dt:
            break
    else:
        return
    given = [(n, p) for n, p in zip(names.split(), params) if p is not None]
    first = given[0][1]._dtype
    if dt in (D.bfloat16, D.float16) and first is D.float32 and \
            all(p._dtype is D.float32 for _, p in given):
        return
    name, other = next((n, p._dtype) for n, p in given if p._dtype is not dt)
    hint = (f"input is {input.dtype}, {name} is {other}; convert the module or the input "
            "with .to(dtype)")
    if first is dt:
        raise with_hint(RuntimeError(f"expected scalar type {D.SCALAR_TYPE[dt.name]} but found "
                                     f"{D.SCALAR_TYPE[other.name]}"), hint)
    # torch's mixed-dtype check: the parameters must be float32, then the input bf16/fp16
    if any(p._dtype is not D.float32 for _, p in given):
        raise with_hint(RuntimeError("mixed dtype (CPU): expect parameter to have scalar type "
                                     "of Float"), hint)
    raise with_hint(RuntimeError("mixed dtype (CPU): all inputs must share same datatype."),
                    hint)


def _mixed_first(input, *params) -> bool:
    """Whether the first given parameter's dtype is not the input's: torch's layer and group
    norms then run their mixed-dtype check, before the kernel refuses the input's dtype."""
    first = next((p for p in params if p is not None), None)
    return isinstance(input, Tensor) and first is not None and first._dtype is not input._dtype


def _mixed_precision(input: Tensor, *params) -> bool:
    """PyTorch's CPU norms take a bfloat16/float16 input with float32 parameters (a half-
    precision activation in a float32 model, as autocast makes): they compute in float32 and
    return the input's dtype."""
    return input._dtype in (D.bfloat16, D.float16) and any(
        p is not None and p._dtype is D.float32 for p in params)


def _update_running(running, batch, momentum, unbias=1.0):
    """``running = (1 - momentum) * running + momentum * batch * unbias``, in place."""
    if running is None:
        return
    data = running._data
    with np.errstate(divide="ignore", invalid="ignore"):
        new = batch.reshape(data.shape) * unbias
    data *= 1.0 - momentum
    data += (momentum * new).astype(data.dtype, copy=False)
    running._vbox[0] += 1


def _refuse_rank(input: Tensor, training: bool, running_mean) -> None:
    """torch's errors for a 0-d or 1-d batch norm input: it takes the channel count from
    ``input.shape[1]``, which is missing (training) or counted as 0 (evaluation)."""
    hint = f"batch_norm expects an (N, C, *) input, got {input.dim()}-D"
    if not training:
        if running_mean is None:
            raise with_hint(RuntimeError("running_mean must be defined in evaluation mode"), hint)
        raise with_hint(RuntimeError("running_mean should contain 0 elements not "
                                     f"{running_mean.numel()}"), hint)
    if input.dim() == 0:
        raise with_hint(IndexError("tuple index out of range"), hint)
    raise with_hint(IndexError("Dimension out of range (expected to be in range of [-1, 0], but "
                               "got 1)"), hint)


_VMAP_RUNNING_STATS_ERROR = (
    "Batch norm got a batched tensor as input while the running_mean or running_var, which "
    "will be updated in place, were not batched.\nIf you are using a module and do not need "
    "eval mode, please set `track_running_stats` to be False.If you are using a prebuilt "
    "module and do not need eval mode, please see the functorch website for resources on how "
    "to patch your module to work with vmap")


def _refuse_unbatched_running_stats(input: Tensor, running_mean, running_var) -> None:
    """torch's vmap error for training-mode statistics of an input mapped by a running vmap
    call whose running statistics (updated in place) are not mapped by that call."""
    levels = [lv for lv in input._vmap_levels if lv.active]
    for stat in (running_mean, running_var):
        if stat is not None and any(lv not in stat._vmap_levels for lv in levels):
            raise RuntimeError(_VMAP_RUNNING_STATS_ERROR)


def _empty_batch_norm(input: Tensor, weight, bias, c: int) -> Tensor:
    """An empty input normalizes to an empty result of its dtype, as in torch: no statistics
    (the running ones stay as they are) and no size checks, except that torch picks element 0
    of the affine parameters, which an empty one lacks."""
    for t in (weight, bias):
        if t is not None and t.numel() == 0:
            raise IndexError("select(): index 0 out of range for tensor of size [0] at "
                             "dimension 0")
    pshape = (1, c) + (1,) * (input.dim() - 2)
    out = input * 0.0
    # the parameters join the graph when they fit, so their gradients are zeros, not None
    if weight is not None and weight.numel() == c:
        out = out * weight.to(input.dtype).reshape(pshape)
    if bias is not None and bias.numel() == c:
        out = out + bias.to(input.dtype).reshape(pshape)
    return out


def batch_norm_functional(input: Tensor, running_mean: Tensor | None,
                          running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over ``(N, C, *)`` per channel ``C``.

    In training the batch statistics normalize and (when given) update the running ones in
    place with the unbiased variance; otherwise the running statistics are used.

    Example:
        >>> F.batch_norm(ember.randn(4, 3), None, None, training=True).shape
        torch.Size([4, 3])
    """
    _check_float(input, "batch_norm")
    _check_param_dtypes(input, "weight bias running_mean running_var", weight, bias,
                        running_mean, running_var)
    if _mixed_precision(input, weight, bias, running_mean, running_var):
        return batch_norm_functional(input.float(), running_mean, running_var, weight, bias,
                                     training, momentum, eps).to(input.dtype)
    if input.dim() < 2:
        _refuse_rank(input, training, running_mean)
    c = input.shape[1]
    if input.numel() == 0:
        return _empty_batch_norm(input, weight, bias, c)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise with_hint(
                RuntimeError(f"{'running_mean' if name.startswith('running') else name} "
                             f"should contain {c} elements not {t.numel()}"),
                f"{name} needs one value per channel of input {list(input.shape)}")
    pshape = (1, c) + (1,) * (input.dim() - 2)
    axes = (0,) + tuple(range(2, input.dim()))
    if training:
        count = input.numel() // c
        if count == 1:
            raise with_hint(
                ValueError("Expected more than 1 value per channel when training, got input "
                           f"size {input.shape}"),
                "Batch statistics need at least two values per channel: use a batch larger "
                "than 1, or call model.eval() for inference.")
        _refuse_unbatched_running_stats(input, running_mean, running_var)
        if input._dtype is D.float16 or input._dtype is D.bfloat16:  # torch's 2-byte kernel
            return set_node_name(batch_norm_low(
                LowBatchNormAffine, input, running_mean, running_var, weight, bias, axes,
                pshape, True, momentum, eps), "NativeBatchNormBackward0")
        stats = {} if running_mean is not None or running_var is not None else None
        out = set_node_name(NormAffine.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                      stats=stats), "NativeBatchNormBackward0")
        if stats is not None:
            _update_running(running_mean, stats["mean"], momentum)
            _update_running(running_var, stats["var"], momentum, count / (count - 1))
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError(f"{'running_mean' if running_mean is None else 'running_var'} must "
                           "be defined in evaluation mode (or pass training=True to use batch "
                           "statistics)")
    if input._dtype is D.float16 or input._dtype is D.bfloat16:  # torch's 2-byte kernel
        return set_node_name(batch_norm_low(
            LowBatchNormAffine, input, running_mean, running_var, weight, bias, axes, pshape,
            False, momentum, eps), "NativeBatchNormBackward0")
    dt = input._data.dtype
    fixed = (running_mean._data.astype(dt, copy=False).reshape(pshape),
             running_var._data.astype(dt, copy=False).reshape(pshape))
    return set_node_name(NormAffine.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                   fixed=fixed), "NativeBatchNormBackward0")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions.

    Example:
        >>> F.layer_norm(ember.randn(2, 5), (5,)).shape
        torch.Size([2, 5])
    """
    if _mixed_first(input, weight, bias):  # torch's mixed-dtype check precedes its kernel's
        _check_param_dtypes(input, "weight bias", weight, bias)
    _check_float(input, "layer_norm", "LayerNormKernelImpl")
    _check_param_dtypes(input, "weight bias", weight, bias)
    if _mixed_precision(input, weight, bias):
        return layer_norm(input.float(), normalized_shape, weight, bias, eps).to(input.dtype)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(v) for v in normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != ns or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size"
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"layer_norm: expected {name} of shape {list(ns)}, got "
                               f"{list(t.shape)}")
    pshape = (1,) * (input.dim() - k) + ns
    axes = tuple(range(input.dim() - k, input.dim()))
    op = _norm_affine(input)
    return set_node_name(op.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                  contiguous=True), "NativeLayerNormBackward0")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize ``(N, C, *)`` over groups of ``C / num_groups`` channels, then scale per
    channel.

    Example:
        >>> F.group_norm(ember.randn(2, 6, 4), 3).shape
        torch.Size([2, 6, 4])
    """
    if _mixed_first(input, weight, bias):  # torch's mixed-dtype check precedes its kernel's
        _check_param_dtypes(input, "weight bias", weight, bias)
    _check_float(input, "group_norm", "GroupNormKernelImpl")
    _check_param_dtypes(input, "weight bias", weight, bias)
    if _mixed_precision(input, weight, bias):
        return group_norm(input.float(), num_groups, weight, bias, eps).to(input.dtype)
    if input.dim() < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    n, c = input.shape[:2]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            # torch's bias message shows the weight's shape (a quirk kept, it is what prints)
            shown = list(weight.shape) if weight is not None else [0]
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{list(t.shape) if name == 'weight' else shown} and input of "
                               f"shape {list(input.shape)}")
    # (N, G, C/G, *): a view of a channels_last input too, whose layout the result keeps
    x = input.reshape(n, num_groups, c // num_groups, *input.shape[2:])
    if _norm_affine(input) is LowNormAffine and weight is not None and bias is not None:
        # 2-byte floats: the per-channel affine step inside the one float32 evaluation
        gshape = (1, num_groups, c // num_groups) + (1,) * (input.dim() - 2)
        y = LowNormAffine.apply(x, weight, bias, axes=tuple(range(2, x.ndim)), eps=eps,
                                pshape=gshape)
        return set_node_name(y.reshape(input.shape), "NativeGroupNormBackward0")
    y = _norm_affine(input).apply(x, None, None, axes=tuple(range(2, x.ndim)), eps=eps,
                                  pshape=(1,) * x.ndim)
    y = y.reshape(input.shape)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(pshape)
    if bias is not None:
        y = y + bias.reshape(pshape)
    return set_node_name(y, "NativeGroupNormBackward0")




def instance_norm_functional(input: Tensor, running_mean: Tensor | None = None,
                             running_var: Tensor | None = None,
                             weight: Tensor | None = None, bias: Tensor | None = None,
                             use_input_stats: bool = True, momentum: float = 0.1,
                             eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample over its spatial dimensions.

    Example:
        >>> F.instance_norm(ember.randn(2, 3, 5)).shape
        torch.Size([2, 3, 5])
    """
    _check_float(input, "instance_norm", "batch_norm")
    if input.dim() < 3:
        raise ValueError(f"instance_norm expects a batched input with spatial dimensions "
                         f"(N, C, *), got {list(input.shape)}")
    _check_param_dtypes(input, "weight bias", weight, bias)
    if _mixed_precision(input, weight, bias):
        return instance_norm_functional(input.float(), running_mean, running_var, weight, bias,
                                        use_input_stats, momentum, eps).to(input.dtype)
    n, c = input.shape[:2]
    if input.numel() == 0:  # torch batch-normalizes the (1, N*C, *) view: weight repeated N times
        flat = input.reshape(1, n * c, *input.shape[2:])
        return _empty_batch_norm(flat, None if weight is None else weight.repeat(n),
                                 None if bias is None else bias.repeat(n), n * c
                                 ).reshape(input.shape)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    axes = tuple(range(2, input.dim()))
    if not use_input_stats:  # torch normalizes input.contiguous(): a row-major result
        # and reads running statistics of any float dtype (they are not updated here)
        rm, rv = (t if t is None or t._dtype is input._dtype else t.to(input._dtype)
                  for t in (running_mean, running_var))
        # torch batch-normalizes a (1, N*C, *) view and views it back: its node is a view
        return set_node_name(batch_norm_functional(input.contiguous(), rm, rv, weight, bias,
                                                   False, momentum, eps), "ViewBackward0")
    count = int(np.prod(input.shape[2:]))
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape!r}")  # torch shows the Size: torch.Size([...])
    _refuse_unbatched_running_stats(input, running_mean, running_var)
    if input._dtype is D.float16 or input._dtype is D.bfloat16:  # torch's 2-byte kernel
        return set_node_name(instance_norm_low(
            LowBatchNormAffine, input, running_mean, running_var, weight, bias, axes, pshape,
            momentum, eps), "ViewBackward0")
    stats = {} if running_mean is not None or running_var is not None else None
    out = set_node_name(NormAffine.apply(input, weight, bias, axes=axes, eps=eps, pshape=pshape,
                                         stats=stats, contiguous=True), "ViewBackward0")
    if stats is not None:
        _update_running(running_mean, stats["mean"].mean(axis=0), momentum)
        _update_running(running_var, stats["var"].mean(axis=0), momentum, count / (count - 1))
    return out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape``.

    Example:
        >>> F.rms_norm(ember.randn(2, 4), (4,)).shape
        torch.Size([2, 4])
    """
    _check_float(input, "rms_norm")
    if isinstance(normalized_shape, (int, np.integer)):  # (nn.RMSNorm(4) makes it a tuple)
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    ns = tuple(int(v) for v in normalized_shape)
    k = len(ns)
    # torch's checks, in its order (its message writes the shape as "[*3, 4]", kept verbatim)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(ns)}")
    if input.dim() < k:
        raise ValueError(f"Input tensor must have at least {k} dimensions, but got "
                         f"{input.dim()}")
    if tuple(input.shape[input.dim() - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*{', '.join(map(str, ns))}], but got input of size"
                           f"{list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    axes = tuple(range(input.dim() - k, input.dim()))
    # x * x, not |x|^2, for a complex x too (torch's values)
    y = input * Rsqrt.apply((input * input).mean(dim=axes, keepdim=True) + eps)
    if weight is None:
        return y
    y = y * weight
    # the result keeps the input's dtype whatever the weight's (torch casts back)
    return y if y._dtype is input._dtype else y.to(input._dtype)


# -- torch.batch_norm / torch.instance_norm: the top-level forms take the affine parameters
# before the running statistics (unlike torch.nn.functional), so they get their own wrappers.

def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool = True) -> Tensor:
    """``torch.batch_norm`` (argument order of the ATen op; see ``F.batch_norm``)."""
    return batch_norm_functional(input, running_mean, running_var, weight, bias, training,
                                 momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool = True) -> Tensor:
    """``torch.instance_norm`` (argument order of the ATen op; see ``F.instance_norm``)."""
    return instance_norm_functional(input, running_mean, running_var, weight, bias,
                                    use_input_stats, momentum, eps)


# -- cross-map response normalization (PyTorch's legacy CrossMapLRN2d) ------------------------

def _cross_map_windows(channels: int, size: int) -> np.ndarray:
    """``(C, C)`` counts: which squared channels PyTorch's running-sum recurrence adds into
    each channel's scale. It is a port from Lua's 1-based code and drifts from a centred
    window (channel 0 is never taken out again); reproduced step by step so the values agree."""
    pre_pad = int((size - 1) / 2 + 1)
    m = np.zeros((channels, channels), dtype=np.int64)
    if channels == 0:
        return m
    m[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        m[c] = m[c - 1]
        if c < channels - pre_pad + 1:
            m[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            m[c, c - pre_pad] -= 1
    return m


class CrossMapLRN2d(Op):
    """``x * (k + alpha / size * S) ** -beta`` with ``S`` PyTorch's running sum of squares
    across channels. The backward is PyTorch's own formula (a window of ``size`` ratios that
    is not the exact derivative of the forward), so gradients agree with PyTorch's."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        n, c = x.shape[:2]
        m = asarray_like(_cross_map_windows(c, size), x, dtype=x.dtype)
        sq = (x * x).reshape(n, c, int(np.prod(x.shape[2:], dtype=np.int64)))
        scale = (np.matmul(m, sq).reshape(x.shape) * (alpha / size) + k).astype(x.dtype)
        out = x * scale ** -beta
        ctx.scale, ctx.out, ctx.args = scale, out, (size, alpha, beta)
        return out

    @staticmethod
    def backward(ctx, grad):
        if grad_mode._state.enabled:
            raise RuntimeError("CrossMapLRN2d has no second derivative (PyTorch's legacy "
                               "function has none either); use F.local_response_norm")
        size, alpha, beta = ctx.args
        x, g, scale, out = ctx.inputs[0]._data, grad._data, ctx.scale, ctx.out
        n, c, h, w = x.shape
        inv = int(size - (size - 1) / 2)
        if inv + c > c + size - 1:  # size 1: PyTorch's narrow runs past its padded buffer
            raise RuntimeError(f"start ({inv}) + length ({c}) exceeds dimension size "
                               f"({c + size - 1}).")
        xp = xp_of(x)
        padded = xp.zeros((n, c + size - 1, h, w), dtype=x.dtype)
        padded[:, inv:inv + c] = g * out / scale
        # accum[c] = padded[c] + ... + padded[c + size - 1], from a running sum
        run = xp.concatenate([xp.zeros((n, 1, h, w), dtype=x.dtype),
                              xp.cumsum(padded, axis=1)], axis=1)
        accum = run[:, size:size + c] - run[:, :c]
        gi = scale ** -beta * g - (2 * alpha * beta / size) * x * accum
        return Tensor._make(gi.astype(x.dtype, copy=False), grad._dtype)


def cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                    k: float = 1) -> Tensor:
    """PyTorch's ``CrossMapLRN2d`` function over a 4-d ``(N, C, H, W)`` input (private: torch
    exposes it only through ``nn.CrossMapLRN2d``)."""
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    # PyTorch's checks as its legacy code meets them: in-place float results into the input's
    # dtype, then a select of channel 0
    if input._dtype.category not in (D._FLOAT, D._COMPLEX):
        kind = "Long" if input._dtype is D.bool else "Float"
        raise RuntimeError(f"result type {kind} can't be cast to the desired output type "
                           f"{input._dtype._legacy[:-6]}")
    if input.shape[1] == 0:
        raise IndexError(f"select(): index 0 out of range for tensor of size "
                         f"{list(input.shape)} at dimension 1")
    return set_node_name(CrossMapLRN2d.apply(input, int(size), alpha, beta, k),
                         "CrossMapLRN2dBackward")
