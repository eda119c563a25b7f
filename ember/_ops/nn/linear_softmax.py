"""Neural-network ops: the fused linear layer, softmax / log-softmax, attention, embedding, and
the private primitives (exp, log, sqrt, pow, narrow) that activations and losses are built from.

Ops on the training hot path (linear, softmax, log-softmax) compute their first-order backward
on raw arrays when no graph is being built (``create_graph=False``), and with ember ops on
Tensors otherwise, so higher-order gradients still work.
"""

from __future__ import annotations

import math

import numpy as np

from ... import _autocast, _blas, _threads
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import add_at, get_array_module, is_host
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import (
    Op,
    array_tensor,
    mapped_by_vmap,
    set_node_name,
    set_vmapped_node_name,
    wrap_dim,
)
from .._dispatch import REFUSED as _REFUSED
from .._dispatch import refuse as _refuse

__all__ = ["softmax", "log_softmax"]

_state = grad_mode._state


_t = array_tensor  # the short name this family's raw backward paths use


# -- linear ---------------------------------------------------------------------------------

def _as_dtype(arr, dtype):
    """``arr`` in ``dtype``: ml_dtypes' bfloat16 matmul returns float32, which PyTorch rounds
    back to bfloat16."""
    return arr if arr.dtype is dtype or arr.dtype == dtype else arr.astype(dtype)


def _column_sum(g):
    """Sum over rows; 2-byte floats (bfloat16, float16) accumulate in float32, as PyTorch's."""
    if g.dtype.itemsize == 2 and g.dtype.kind in "fV":
        return g.sum(axis=0, dtype=np.float32)
    if type(g) is np.ndarray and g.dtype in _GEMV and g.flags.c_contiguous and g.shape[0] > 1:
        # a matrix-vector product: BLAS's 2-3x faster than NumPy's column reduction
        return np.ones(g.shape[0], g.dtype) @ g
    return g.sum(axis=0)


_GEMV = (np.dtype(np.float32), np.dtype(np.float64))

# Subnormal operands make OpenBLAS's GEMM kernels take a microcode assist per multiply: a
# cross-entropy gradient whose softmax underflowed (a third of it subnormal, as in the GPT
# benchmark's head) ran 512x256x128 in 10 ms instead of 0.2. Scaling by a power of two is
# exact, so the GEMM runs on normal numbers and its result is scaled back: the same bits
# wherever the unscaled GEMM had no subnormal intermediates, and no less accurate where it did.
_TINY = {dt: dt.type(np.finfo(dt).tiny) for dt in _GEMV}
# the largest scaled |operand| * |other operand| * inner dimension allowed (no overflow)
_LIFT_CEILING = {dt: float(np.finfo(dt).max) / 256 for dt in _GEMV}
# GEMM work (multiply-adds, g's size times the other operand's width) below which the check
# is skipped: there a subnormal GEMM costs little, and the check (~1% of the GEMM here) would
# be a tax on small layers (the MLP benchmark's) that never see subnormals
_LIFT_MIN_WORK = 1 << 23


def _subnormal_lift(g, others, inner):
    """``2**k`` such that ``g * 2**k`` has no subnormal numbers and GEMMs of it with ``others``
    (over ``inner`` terms) cannot overflow, or ``None`` when ``g`` holds none (or no such
    ``k`` exists). Only every 8th row of a tall ``g`` is searched: a miss costs speed, not
    accuracy (a softmax that underflows leaves subnormals in most rows)."""
    tiny = _TINY.get(g.dtype)
    if (tiny is None or type(g) is not np.ndarray or g.ndim != 2
            or g.size * max(o.shape[-1] for o in others) < _LIFT_MIN_WORK):
        return None
    sample = np.abs(g[::8] if g.shape[0] >= 64 else g)
    if not sample.min() < tiny:  # no zero and no subnormal (NaN compares False)
        return None
    if np.count_nonzero(sample < tiny) == sample.size - np.count_nonzero(sample):
        return None  # only zeros
    top = max(float(g.max()), -float(g.min()))
    for o in others:
        top_o = max(float(o.max()), -float(o.min())) if o.size else 0.0
        top *= max(top_o, 1.0)
    if not top * inner < _LIFT_CEILING[g.dtype]:  # inf or NaN somewhere: leave it to BLAS
        return None
    # the largest power of two keeping the bound, at most 2**64 (enough to lift every
    # subnormal float32 and its products with weights far below 1)
    k = min(64, int(np.floor(np.log2(_LIFT_CEILING[g.dtype] / max(top * inner, 1e-300)))))
    lift = np.finfo(g.dtype).nmant + 1  # what the smallest subnormal needs to become normal
    return g.dtype.type(2.0 ** k) if k >= lift else None


def _unlift(arr, scale):
    """``arr / scale`` in place (``arr`` is a fresh GEMM result) when a lift was applied."""
    if scale is not None:
        arr *= 1 / scale  # a power of two: exact unless the result is itself subnormal
    return arr


def _addmm_order(inputs) -> tuple:
    """PyTorch's addmm node lists the bias first: ``addmm(bias, input, weight.t())``."""
    return (2, 0, 1) if len(inputs) > 2 and inputs[2] is not None else (0, 1)


class Linear(Op):
    """``x @ w.T + b`` as one GEMM (leading dims folded into the batch) plus a bias add."""

    _name = "AddmmBackward0"
    # next_functions in addmm's order (bias, input, weight): what a program walking
    # ``loss.grad_fn.next_functions`` meets first, and the order leaves accumulate in
    listed_inputs = staticmethod(_addmm_order)

    @staticmethod
    def forward(ctx, x, w, b=None):
        # As PyTorch's addmm: the input only for the weight's gradient, the weight only for the
        # input's, the bias never. Saved hooks see the same tensors, and changing a bias (or a
        # weight whose input needs no gradient) in place before backward is no error.
        tx, tw = ctx.inputs[0], ctx.inputs[1]
        ctx.save_for_backward(tx if tw._requires_grad else None,
                              tw if tx._requires_grad else None)
        ctx.x_meta = (x.shape, x.dtype, tx._dtype)
        ctx.has_b = b is not None
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = x2 @ w.T
        if b is not None:
            out += b
        elif x.ndim == 2:
            ctx._name = "MmBackward0"  # PyTorch's node for a bias-free 2-D linear
        if x.ndim != 2:
            out = out.reshape(x.shape[:-1] + (w.shape[0],))
        return out if out.dtype is x.dtype else _as_dtype(out, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors  # each None when the other operand needs no gradient
        need = ctx.needs_input_grad
        has_b = ctx.has_b
        x_shape, x_np_dtype, dt = ctx.x_meta
        if not _state.enabled:
            g = grad._data
            g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
            wd = w._data if need[0] else None
            x2 = None
            if need[1]:
                xd = x._data
                x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim != 2 else xd
            if dt.is_complex:  # PyTorch's convention: grad times the conjugate derivative
                x2 = None if x2 is None else np.conj(x2)
                wd = None if wd is None else np.conj(wd)
            others = tuple(o for o in (wd, x2) if o is not None)
            scale = _subnormal_lift(g2, others, max(g2.shape)) \
                if others and g2.dtype is x_np_dtype else None
            if scale is not None:
                g2 = g2 * scale
            gx = _t(_as_dtype(_unlift((g2 @ wd).reshape(x_shape), scale), x_np_dtype),
                    dt) if need[0] else None
            if need[1]:
                # One row: an outer product. NumPy's matmul with an inner dimension of 1 leaves
                # BLAS (about 5x slower than broadcasting); BLAS's exact rank-one update beats
                # the broadcast multiply where it applies (see _blas.outer), else multiply.
                if g2.shape[0] == 1:
                    prod = _blas.outer(g2.reshape(-1), x2.reshape(-1))
                    prod = g2.T * x2 if prod is None else prod
                else:
                    prod = g2.T @ x2
                gw = _t(_as_dtype(_unlift(prod, scale), x_np_dtype), dt)
            else:
                gw = None
            gb = _t(_as_dtype(_unlift(_column_sum(g2), scale), x_np_dtype), dt) \
                if has_b and need[2] else None
        else:
            if dt.is_complex:
                from ..pointwise.complex import conj

                x = None if x is None else conj(x)
                w = None if w is None else conj(w)
            gx = grad @ w if need[0] else None
            g2 = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 and (
                need[1] or has_b and need[2]) else grad  # (jacrev: only gx is needed)
            gw = None
            if need[1]:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
                gw = g2.transpose(0, 1) @ x2
            gb = g2.sum(dim=0) if has_b and need[2] else None
        return (gx, gw, gb) if len(need) > 2 else (gx, gw)


_MM_REFUSED = _REFUSED["mm"]


def _title(dt) -> str:
    """PyTorch's title-case dtype name in messages: Float, Double, Half, BFloat16 ..."""
    return dt._legacy[:-6]


def _shape_error(input: Tensor, weight: Tensor):
    rows = 1 if input.ndim == 1 else math.prod(input.shape[:-1])
    raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                       f"and {weight.shape[1]}x{weight.shape[0]})")


def _check_bias_expands(input: Tensor, weight: Tensor, bias: Tensor) -> None:
    """torch adds a 1-d bias (or any bias of a 2-d input) as addmm does: expanded to the
    (rows, out_features) product, so a mismatch is an expand error, not a broadcast one."""
    rows = 1 if input.ndim == 1 else math.prod(input.shape[:-1])
    target = (rows, weight.shape[0])
    for i, size in enumerate(bias.shape):
        at = i + 2 - bias.ndim
        if size != 1 and size != target[at]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[at]}) must match the existing size "
                f"({size}) at non-singleton dimension {at}.  Target sizes: {list(target)}.  "
                f"Tensor sizes: {list(bias.shape)}")


def _check_linear_ranks(input: Tensor, weight: Tensor, bias) -> None:
    """torch's refusals of a weight that is not a matrix (a 1-d weight without a bias, or
    with one on a vector input, is a matmul there too)."""
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.ndim}D and {weight.ndim}D")
    if weight.ndim > 2:  # torch transposes the weight first
        raise with_hint(RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                                     f"{weight.ndim}D"),
                        "linear's weight is (out_features, in_features); for batched weights "
                        "use torch.matmul(input, weight.transpose(-1, -2))")
    if weight.ndim == 1 and bias is not None and input.ndim == 2:  # torch's addmm
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: the affine map of ``nn.Linear``.

    Example:
        >>> ember.nn.functional.linear(ember.ones(2, 3), ember.ones(4, 3)).shape
        torch.Size([2, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(linear, "linear", input, weight, bias)
    out = _linear(input, weight, bias)
    if (input._vmap_levels or weight._vmap_levels or bias is not None and bias._vmap_levels) \
            and (mapped_by_vmap(input) or mapped_by_vmap(weight) or mapped_by_vmap(bias)):
        set_vmapped_node_name(out, vmapped_linear_node(
            input.ndim, bias is not None, mapped_by_vmap(input), mapped_by_vmap(weight)))
    return out


def vmapped_linear_node(rank: int, has_bias: bool, input_mapped: bool,
                        weight_mapped: bool) -> str:
    """The node PyTorch's ``linear`` ends in under ``vmap`` (its batching rule decomposes
    linear into matmul and add), for a per-element input of ``rank`` dims; the loop and the
    batched path of ``ember.vmap`` both name their result so."""
    if rank >= 3:
        return "ViewBackward0" if has_bias else "UnsafeViewBackward0"
    if has_bias:
        return "AddBackward0"
    if rank == 1:
        return "SqueezeBackward5"
    return "CloneBackward0" if weight_mapped and not input_mapped else "UnsafeViewBackward0"


def _linear(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    # (linear without its vmap naming)
    if weight.ndim != 2 or input.ndim == 0:
        _check_linear_ranks(input, weight, bias)
        from ..linalg.matmul import matmul

        out = matmul(input, weight.t() if weight.ndim == 2 else weight)
        return out + bias if bias is not None else out
    if bias is not None and bias._dtype is not weight._dtype:  # torch's addmm checks these first
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_title(bias._dtype)} and {_title(weight._dtype)}")
    if bias is None and input._data.shape[-1] != weight._data.shape[1]:  # (input.ndim >= 1)
        _shape_error(input, weight)  # torch's bias-free path multiplies first, checks dtypes later
    if input._dtype is not weight._dtype:
        if bias is not None:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{_title(input._dtype)} and {_title(weight._dtype)}")
        from ..linalg.matmul import _dt_name

        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_dt_name(input._dtype)} != {_dt_name(weight._dtype)}")
    if input._dtype in _MM_REFUSED:  # bool, uint16/32/64, e8m0fnu: torch has no addmm loop
        _refuse("mm", input._dtype)
    if input._data.shape[-1] != weight._data.shape[1]:
        _shape_error(input, weight)
    if bias is not None:
        bias_shape = bias._data.shape
        # (the usual bias, one value per output, always expands: nothing to check)
        if len(bias_shape) != 1 or bias_shape[0] != weight._data.shape[0]:
            if len(bias_shape) <= 2 and (input.ndim <= 2 or len(bias_shape) == 1):
                _check_bias_expands(input, weight, bias)
            elif input.ndim > 2:  # torch: matmul, then a broadcasting add
                return Linear.apply(input, weight) + bias
    # One GEMM whatever the rank, its node named after the node PyTorch's output ends in:
    # with a bias, a view of one addmm over the flattened input (a contiguous input) or
    # matmul then add_; without, matmul's squeeze_ (vector) or _unsafe_view (rank > 2)
    if input.ndim == 1:
        if bias is not None:
            return set_node_name(Linear.apply(input.unsqueeze(0), weight, bias).squeeze(0),
                                 "ViewBackward0")
        return set_node_name(Linear.apply(input.unsqueeze(0), weight).squeeze(0),
                             "SqueezeBackward4")
    if bias is None:
        out = Linear.apply(input, weight)
        return out if input.ndim == 2 else set_node_name(out, "UnsafeViewBackward0")
    out = Linear.apply(input, weight, bias)
    if input.ndim > 2:
        set_node_name(out, "ViewBackward0" if input.is_contiguous() else "AddBackward0")
    return out


# -- softmax family -------------------------------------------------------------------------

def _row_max(x, axis):
    """``x.max(axis, keepdims=True)``. Over a short last axis with many rows NumPy's reduce
    pays per row (99 us for 2048 rows of 32 float32); reducing the transposed copy along
    axis 0 runs across rows instead (62 us), the same values, NaN included. From rows of 64
    on, the copy costs more than it saves (rows of 128: 31 us plain, 97 us so)."""
    n = x.shape[axis] if x.ndim else 1
    if (axis in (-1, x.ndim - 1) and x.ndim > 1 and 2 <= n < 64 and x.size >= 8192
            and x.flags.c_contiguous and is_host(x)):
        rows = np.ascontiguousarray(x.reshape(-1, n).T)
        return np.maximum.reduce(rows, axis=0).reshape(x.shape[:-1] + (1,))
    return x.max(axis=axis, keepdims=True)


def _row_sum(x, axis):
    """``x.sum(axis, keepdims=True)``. Over the last axis of a contiguous float32/float64 host
    array it is a matrix-vector product with ones: BLAS's GEMV sums 1024 rows of 32 in a sixth
    of the time NumPy's reduce takes, which pays per row."""
    n = x.shape[axis] if x.ndim else 1
    if (axis in (-1, x.ndim - 1) and x.ndim > 1 and type(x) is np.ndarray and x.dtype in _GEMV
            and x.flags.c_contiguous and x.size):
        return (x.reshape(-1, n) @ np.ones(n, x.dtype)).reshape(x.shape[:-1] + (1,))
    return x.sum(axis=axis, keepdims=True)


def _np_softmax(x, axis):
    if not x.size:
        return x.copy()
    with np.errstate(invalid="ignore", divide="ignore"):  # inf/NaN rows give NaN, silently
        e = x - _row_max(x, axis)
        np.exp(e, out=e)
        e /= _row_sum(e, axis)
    return e


def _np_log_softmax(x, axis, low=None):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``. ``low``: the float16/bfloat16
    dtype ``x`` (float32 here) came from; PyTorch's 2-byte kernel rounds the sum of
    exponentials and its log to that dtype before the float32 subtraction."""
    if not x.size:
        return x.copy()
    with np.errstate(invalid="ignore", divide="ignore"):  # as PyTorch: no warnings
        s = x - _row_max(x, axis)
        total = _row_sum(np.exp(s), axis)
        if low is None:
            s -= np.log(total)
        else:
            total = total.astype(low).astype(np.float32)
            s -= np.log(total).astype(low).astype(np.float32)
    return s


# torch's softmax kernels work on input.contiguous() (and grad.contiguous()): their output and
# the input's gradient are row-major whatever the input's layout (channels_last included)

class Softmax(Op):
    save_output = True
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)
    opmath_low_output = True
    _saved_fields = {"dim": ("attr", "dim"), "result": "result"}

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return _np_softmax(row_major(x), dim)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if not _state.enabled:
            yd, g = y._data, row_major(grad._data)
            gy = g * yd
            gy -= yd * _row_sum(gy, ctx.dim)
            return _t(gy, y._dtype)
        if _one_node_backward(grad, y):
            return SoftmaxBackwardData.apply(grad, y, dim=ctx.dim)
        gy = grad * y
        return gy - y * gy.sum(dim=ctx.dim, keepdim=True)


def _one_node_backward(grad, y) -> bool:
    """Whether a derivative built with create_graph=True takes its one-node op (float32 and
    float64, as the first-order arrays; 2-byte floats keep their rounding steps)."""
    return (y._dtype is D.float32 or y._dtype is D.float64) and grad._dtype is y._dtype


class SoftmaxBackwardData(Op):
    """PyTorch's ``_softmax_backward_data(grad, y, dim) = y * (grad - sum(grad * y))`` as one
    node, where a graph of softmax's derivative is built (create_graph=True; named
    SoftmaxBackwardDataBackward0 as PyTorch's). Its derivatives: the same op in ``grad``;
    in ``y``, PyTorch's ``softmax_double_backward``."""

    @staticmethod
    def forward(ctx, g, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(*ctx.inputs[:2])
        gy = row_major(g) * y
        gy -= y * _row_sum(gy, dim)
        return gy

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        dim = ctx.dim
        need_g, need_y = ctx.needs_input_grad[:2]
        d_g = SoftmaxBackwardData.apply(gg, y, dim=dim) if need_g else None
        d_y = None
        if need_y:
            d_y = g * gg - (y * g).sum(dim=dim, keepdim=True) * gg \
                - g * (y * gg).sum(dim=dim, keepdim=True)
        return d_g, d_y


class LogSoftmaxBackwardData(Op):
    """PyTorch's ``_log_softmax_backward_data(grad, y, dim) = grad - exp(y) * sum(grad)`` as
    one node (create_graph=True; LogSoftmaxBackwardDataBackward0 as PyTorch's), with
    PyTorch's derivatives of it."""

    @staticmethod
    def forward(ctx, g, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(*ctx.inputs[:2])
        g = row_major(g)
        return g - np.exp(y) * _row_sum(g, dim)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        dim = ctx.dim
        need_g, need_y = ctx.needs_input_grad[:2]
        d_g = gg - (gg * y.exp()).sum(dim=dim, keepdim=True) if need_g else None
        d_y = -g.sum(dim=dim, keepdim=True) * y.exp() * gg if need_y else None
        return d_g, d_y


class LogSoftmax(Op):
    save_output = True
    opmath = opmath_backward = True  # float16/bfloat16: float32, one rounding (_core)
    opmath_low_output = True
    _saved_fields = {"dim": ("attr", "dim"), "result": "result"}

    @staticmethod
    def forward(ctx, x, dim, low=None):
        ctx.dim = dim
        # only the output is kept (softmax = exp(output)), as PyTorch: the input may then be
        # changed in place
        return _np_log_softmax(row_major(x), dim, low)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if not _state.enabled:
            g = row_major(grad._data)
            return _t(g - np.exp(y._data) * _row_sum(g, ctx.dim), y._dtype)
        if _one_node_backward(grad, y):
            return LogSoftmaxBackwardData.apply(grad, y, dim=ctx.dim)
        return grad - y.exp() * grad.sum(dim=ctx.dim, keepdim=True)


class Attention(Op):
    """``softmax(q @ k^T * scale + bias) @ v`` as one op (``bias``: a constant additive mask or
    None): the scale and mask go into the score array in place, the softmax runs on it, and
    backward uses the saved probabilities, about half the passes and a fifth of the nodes of
    the composite."""

    @staticmethod
    def forward(ctx, q, k, v, bias=None, scale=1.0):
        ctx.save_for_backward(*ctx.inputs)
        # PyTorch's CPU kernel for 4-D inputs is the flash one; other ranks take its math path
        ctx._name = {4: "ScaledDotProductFlashAttentionForCpuBackward0",
                     2: "MmBackward0"}.get(q.ndim, "UnsafeViewBackward0")
        xp = get_array_module(q)
        out = _empty_in_layout(xp, q.shape[:-1] + (v.shape[-1],), q)
        scale_ = q.dtype.type(scale)
        if _keys_major(q, k):
            return _attention_keys_major(ctx, q, k, v, bias, scale_, out)
        scores = xp.empty(q.shape[:-1] + (k.shape[-2],), q.dtype)

        def rows(lo, hi):
            kk, vv, sc = _batch_slice(k, lo, hi), _batch_slice(v, lo, hi), scores[lo:hi]
            np.matmul(q[lo:hi], np.swapaxes(kk, -1, -2), out=sc)
            sc *= scale_
            if bias is not None:
                sc += _batch_slice(bias, lo, hi, q.ndim)
            with np.errstate(invalid="ignore", divide="ignore"):
                sc -= _finite_shift(_row_max(sc, -1))
                np.exp(sc, out=sc)
                sc /= _nonzero_total(_row_sum(sc, -1))
            np.matmul(sc, vv, out=out[lo:hi])

        _over_batch(rows, q, scores.nbytes)
        ctx.probs, ctx.probs_t, ctx.bias, ctx.scale = scores, None, bias, scale
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not _state.enabled and ctx.probs_t is not None:
            return _attention_keys_major_backward(ctx, grad, q, k, v, need)
        if not _state.enabled:
            p, g = ctx.probs, grad._data
            xp, qd, kd, vd = get_array_module(p), q._data, k._data, v._data
            gq = _empty_in_layout(xp, qd.shape, qd) if need[0] else None
            gk = _empty_in_layout(xp, kd.shape, kd) if need[1] else None
            gv = _empty_in_layout(xp, vd.shape, vd) if need[2] else None
            scale_ = p.dtype.type(ctx.scale)

            def rows(lo, hi):
                pp, gg = p[lo:hi], g[lo:hi]
                kk, vv = _batch_slice(kd, lo, hi), _batch_slice(vd, lo, hi)
                if gv is not None:
                    np.matmul(np.swapaxes(pp, -1, -2), gg, out=_batch_slice(gv, lo, hi))
                ds = np.matmul(gg, np.swapaxes(vv, -1, -2))  # d probs
                ds -= _row_sum(ds * pp, -1)
                ds *= pp
                ds *= scale_  # d scores, scaled for q @ k^T
                if gq is not None:
                    np.matmul(ds, kk, out=gq[lo:hi])
                if gk is not None:
                    np.matmul(np.swapaxes(ds, -1, -2), qd[lo:hi], out=_batch_slice(gk, lo, hi))

            _over_batch(rows, qd, p.nbytes)
            return (_t(gq, q._dtype) if need[0] else None, _t(gk, k._dtype) if need[1] else None,
                    _t(gv, v._dtype) if need[2] else None)
        # a graph of the gradient: the same formulas in ember ops, probabilities recomputed
        from ..linalg.matmul import Matmul

        scores = Matmul.apply(q, k.mT) * ctx.scale
        if ctx.bias is not None:
            scores = scores + Tensor._make(ctx.bias)
        p = Softmax.apply(scores, dim=scores.ndim - 1)
        dp = Matmul.apply(grad, v.mT)
        ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True)) * ctx.scale
        return (Matmul.apply(ds, k) if need[0] else None,
                Matmul.apply(ds.mT, q) if need[1] else None,
                Matmul.apply(p.mT, grad) if need[2] else None)




def _finite_shift(row_max):
    """The softmax's shift with fully masked rows' -inf made 0, so that their scores stay -inf
    (and their probabilities 0) instead of becoming NaN: PyTorch's safe softmax in attention,
    where a query that may attend to no key gets a zero output and no gradient. In place on
    the (small) array of row maxima."""
    row_max[row_max == -np.inf] = 0
    return row_max


def _nonzero_total(total):
    """Row sums with the fully masked rows' 0 made 1 (their probabilities are all 0)."""
    total[total == 0] = 1
    return total


def _keys_major(q, k) -> bool:
    """Whether attention runs with its scores stored keys-first (see
    :func:`_attention_keys_major`): batched host float arrays with something to attend."""
    return (q.ndim >= 3 and type(q) is np.ndarray and q.shape[-2] > 0 and k.shape[-2] > 0
            and q.size > 0)


def _attention_keys_major(ctx, q, k, v, bias, scale, out):
    """Attention with the score matrices transposed and stored keys-first, as one
    ``(keys, *batch, queries)`` array: the softmax's max and sum then reduce over the array's
    outermost axis, which NumPy runs as long passes across every batch and query at once,
    instead of a short reduction per score row (a fifth of the time for rows of 64). The
    products read the transposed scores directly (BLAS takes either layout), so nothing is
    copied; the arithmetic is the row-major path's, value for value."""
    n_k = k.shape[-2]
    buf = np.empty((n_k,) + q.shape[:-2] + (q.shape[-2],), q.dtype)
    probs_t = np.moveaxis(buf, 0, -2)  # (*batch, keys, queries): the scores' transpose

    def rows(lo, hi):
        kk, vv, st = _batch_slice(k, lo, hi), _batch_slice(v, lo, hi), probs_t[lo:hi]
        np.matmul(kk, np.swapaxes(q[lo:hi], -1, -2), out=st)
        st *= scale
        if bias is not None and bias.ndim <= 2:
            # one (queries, keys) matrix for every batch (the causal mask): added to the
            # buffer in its own memory order, which NumPy runs about twice as fast as the
            # same sum through the transposed view
            bt = np.swapaxes(bias.reshape((1,) * (2 - bias.ndim) + bias.shape), -1, -2)
            buf[:, lo:hi] += bt.reshape(bt.shape[:1] + (1,) * (q.ndim - 2) + bt.shape[1:])
        elif bias is not None:
            b = _batch_slice(bias, lo, hi, q.ndim)
            st += np.swapaxes(b.reshape((1,) * (2 - b.ndim) + b.shape), -1, -2)
        with np.errstate(invalid="ignore", divide="ignore"):
            st -= _finite_shift(st.max(axis=-2, keepdims=True))
            np.exp(st, out=st)
            st /= _nonzero_total(st.sum(axis=-2, keepdims=True))
        np.matmul(np.swapaxes(st, -1, -2), vv, out=out[lo:hi])

    _over_batch(rows, q, buf.nbytes)
    ctx.probs, ctx.probs_t, ctx.bias, ctx.scale = None, probs_t, bias, scale
    return out


def _attention_keys_major_backward(ctx, grad, q, k, v, need):
    """The first-order backward on the keys-first probabilities: d scores^T, also keys-first,
    so its row sums are again reductions over the outermost axis."""
    pt, g = ctx.probs_t, grad._data
    qd, kd, vd = q._data, k._data, v._data
    gq = _empty_in_layout(np, qd.shape, qd) if need[0] else None
    gk = _empty_in_layout(np, kd.shape, kd) if need[1] else None
    gv = _empty_in_layout(np, vd.shape, vd) if need[2] else None
    dst_all = np.moveaxis(np.empty((pt.shape[-2],) + pt.shape[:-2] + pt.shape[-1:], pt.dtype),
                          0, -2)
    scale = pt.dtype.type(ctx.scale)

    def rows(lo, hi):
        ptc, gg, dst = pt[lo:hi], g[lo:hi], dst_all[lo:hi]
        kk, vv = _batch_slice(kd, lo, hi), _batch_slice(vd, lo, hi)
        if gv is not None:
            np.matmul(ptc, gg, out=_batch_slice(gv, lo, hi))
        np.matmul(vv, np.swapaxes(gg, -1, -2), out=dst)  # d probs, transposed
        dst -= (dst * ptc).sum(axis=-2, keepdims=True)
        dst *= ptc
        dst *= scale  # d scores^T, scaled for q @ k^T
        if gq is not None:
            np.matmul(np.swapaxes(dst, -1, -2), kk, out=gq[lo:hi])
        if gk is not None:
            np.matmul(dst, qd[lo:hi], out=_batch_slice(gk, lo, hi))

    _over_batch(rows, qd, pt.nbytes)
    return (_t(gq, q._dtype) if need[0] else None, _t(gk, k._dtype) if need[1] else None,
            _t(gv, v._dtype) if need[2] else None)


def _empty_in_layout(xp, shape, like):
    """An uninitialised dense array of ``shape`` whose axes lie in memory in the order of
    ``like``'s strides, as PyTorch lays out attention's output and gradients: for heads split
    off a ``(B, T, C)`` projection, ``(B, H, T, D)`` over ``(B, T, H, D)`` memory, so that
    ``y.transpose(1, 2).contiguous().view(B, T, C)`` and the gradients' way back through the
    heads' views need no copies."""
    order = sorted(range(like.ndim), key=lambda d: -abs(like.strides[d]))  # stable on ties
    if order == list(range(like.ndim)):
        return xp.empty(shape, like.dtype)
    buf = xp.empty(tuple(shape[d] for d in order), like.dtype)
    return buf.transpose(tuple(order.index(d) for d in range(like.ndim)))


def _batch_slice(arr, lo, hi, ndim=None):
    """Rows ``lo:hi`` of ``arr``'s first batch axis, for an operand of attention whose batch
    axes are the query's: the whole array when the query has no batch axis (its rows are then
    the chunks) or when ``arr`` (a mask of rank ``ndim`` at most) broadcasts over that axis."""
    ndim = arr.ndim if ndim is None else ndim
    if ndim < 3 or arr.ndim < ndim or arr.shape[0] == 1:
        return arr
    return arr[lo:hi]


# Attention smaller than this (score bytes) runs as one call: a thread handoff costs ~30 µs,
# and a region stops OpenBLAS's pool, which the next GEMM restarts. At the GPT benchmark's
# 512 KiB of scores (8x4 heads of 64x64) two threads made the step 1-2 ms slower (2 cores).
_ATTENTION_PARALLEL_BYTES = 1 << 21


def _over_batch(rows, q, score_bytes: int) -> None:
    """``rows(lo, hi)`` over chunks of the query's first axis (its batch, or its rows for 2-D
    attention), on ember's threads when the work is big enough; every chunk does the same
    arithmetic as one call would, so the result does not depend on the thread count."""
    n = q.shape[0] if q.ndim else 1
    parts = min(n, _threads.num_threads()) if q.ndim >= 3 and is_host(q) else 1
    if score_bytes < _ATTENTION_PARALLEL_BYTES:
        parts = 1
    _threads.run_chunks(rows, [(i * n // parts, (i + 1) * n // parts) for i in range(parts)])


def _softmax_dim(ndim: int, name: str, stacklevel: int = 4) -> int:
    import warnings

    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


_SOFTMAX_DTYPES = frozenset((D.float16, D.bfloat16, D.float32, D.float64))


def _softmax_input(input: Tensor, dim, dtype, name: str):
    if dim is None:  # warn at the user's call of nn.functional.softmax (two frames up)
        dim = _softmax_dim(input.ndim, name, stacklevel=5)
    if dtype is not None:
        if not isinstance(dtype, D.dtype):  # torch: a dtype or Python's float/int/..., not a name
            from ..._factory_args import check_dtype

            check_dtype(name, dtype)
        input = input.to(D.to_dtype(dtype))
    dim = wrap_dim(dim, input.ndim)
    if input._dtype not in _SOFTMAX_DTYPES:  # no bool, integer, complex or float8 kernel
        kernel = f"{name}_lastdim_kernel_impl" if dim == input.ndim - 1 or input.ndim == 0 \
            else f"{name}_kernel_impl"
        raise with_hint(NotImplementedError(f'"{kernel}" not implemented for '
                                            f"'{input._dtype._legacy[:-6]}'"),
                        "convert first, e.g. x.float() or pass dtype=torch.float32")
    return input, dim


def softmax_any_dim(input: Tensor, dim, dtype) -> Tensor:
    """softmax over ``dim`` (None: the deprecated implicit dim, with its warning), the body of
    ``torch.softmax``, ``Tensor.softmax`` and ``nn.functional.softmax``."""
    input, dim = _softmax_input(input, dim, dtype, "softmax")
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), dim=0).reshape(())
    return Softmax.apply(input, dim=dim)


def _dim_not_none(name: str) -> None:
    raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably (the max is subtracted first).

    ``dim`` is required here, as in ``torch.softmax`` and ``Tensor.softmax``; only
    ``nn.functional.softmax`` still takes None (the deprecated implicit dim).

    Example:
        >>> ember.softmax(ember.tensor([0.0, 0.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    if dim is None:
        _dim_not_none("softmax")
    return softmax_any_dim(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``log(softmax(x, dim))`` without the overflow; ``dim`` is required (see ``softmax``).

    Example:
        >>> ember.log_softmax(ember.tensor([0.0, 0.0]), 0)
        tensor([-0.6931, -0.6931])
    """
    if dim is None:
        _dim_not_none("log_softmax")
    return log_softmax_any_dim(input, dim, dtype)


def log_softmax_any_dim(input: Tensor, dim, dtype) -> Tensor:
    """``log(softmax(x, dim))`` without the overflow: ``x - max - log(sum(exp(x - max)))``
    (None: the deprecated implicit dim, with its warning)."""
    input, dim = _softmax_input(input, dim, dtype, "log_softmax")
    low = input._dtype.np_dtype if input._dtype.itemsize == 2 else None  # float16/bfloat16
    if input.ndim == 0:
        return LogSoftmax.apply(input.reshape(1), dim=0, low=low).reshape(())
    return LogSoftmax.apply(input, dim=dim, low=low)


# -- private primitives the activations and losses are composed from ------------------------

class Exp(Op):
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Log(Op):
    _saved_fields = {"self": 0}

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.inputs[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.saved_tensors[0]


class Sqrt(Op):
    save_output = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad / (y * 2)


class PowScalar(Op):
    """``x ** p`` for a Python number ``p``."""

    _saved_fields = {"self": 0, "exponent": ("attr", "p")}

    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        ctx.save_for_backward(ctx.inputs[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(x, x.dtype.type(p))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return grad * 0
        if p == 1:
            return grad
        if p == 2:
            return grad * x * 2
        return grad * PowScalar.apply(x, p=p - 1) * p


class Narrow(Op):
    """``x`` sliced to ``[start, start + length)`` along ``dim`` (a copy)."""

    @staticmethod
    def forward(ctx, x, dim, start, length):
        ctx.args = (x.shape, dim, start)
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(start, start + length)
        return x[tuple(idx)].copy()

    @staticmethod
    def backward(ctx, grad):
        shape, dim, start = ctx.args
        return NarrowBackward.apply(grad, shape=shape, dim=dim, start=start)


class NarrowBackward(Op):
    """Zero-pad ``g`` back into ``shape`` (the adjoint of ``Narrow``)."""

    @staticmethod
    def forward(ctx, g, shape, dim, start):
        ctx.args = (dim, start, g.shape[dim])
        out = get_array_module(g).zeros(shape, g.dtype)
        idx = [slice(None)] * len(shape)
        idx[dim] = slice(start, start + g.shape[dim])
        out[tuple(idx)] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        dim, start, length = ctx.args
        return Narrow.apply(grad, dim=dim, start=start, length=length)


class Embedding(Op):
    """``weight[indices]``; the gradient is summed into the looked-up rows (or, with
    ``sparse``, is a sparse COO tensor of one entry per looked-up row; ``keep`` masks out
    lookups that are not part of the input, such as embedding_bag's padding slots)."""
    holds_saved = True  # keeps the indices on ctx; PyTorch saves them (Op._free)

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq, sparse=False, keep=None):
        ctx.args = (indices, weight.shape, padding_idx, scale_grad_by_freq, sparse, keep)
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        indices, shape, padding_idx, by_freq, sparse, keep = ctx.args
        if sparse:
            return _sparse_embedding_grad(grad, indices, shape, padding_idx, by_freq, keep)
        return EmbeddingBackward.apply(grad, indices=indices, shape=shape,
                                       padding_idx=padding_idx, scale_grad_by_freq=by_freq)


def _sparse_embedding_grad(grad, indices, shape, padding_idx, by_freq, keep):
    """PyTorch's sparse embedding gradient: indices ``(1, n)`` in lookup order, one row of
    ``grad`` per lookup, padding_idx's lookups left out; flagged coalesced only below two
    entries."""
    from ..._sparse_tensor import make_sparse

    if by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                           "gradients")
    idx = indices.reshape(-1).astype(np.int64, copy=False)
    rows = grad._data.reshape((-1,) + tuple(shape[1:]))
    take = np.ones(idx.shape, bool) if keep is None else keep.reshape(-1)
    if padding_idx is not None:
        take = take & (idx != padding_idx)
    picked = idx[take]
    return make_sparse(picked[None, :], rows[take], tuple(shape), picked.size < 2, grad._dtype)


class EmbeddingBackward(Op):
    """Sum gradient rows into a zero weight-shaped array (the adjoint of the lookup)."""

    @staticmethod
    def forward(ctx, grad, indices, shape, padding_idx, scale_grad_by_freq):
        idx = indices.reshape(-1) % shape[0]
        g = grad.reshape((-1,) + tuple(shape[1:]))
        factor = None  # per looked-up row: 1/count (scale_grad_by_freq), 0 at padding_idx
        if scale_grad_by_freq:
            factor = (1.0 / np.bincount(idx, minlength=shape[0])[idx]).astype(grad.dtype)
        if padding_idx is not None:
            keep = (idx != padding_idx).astype(grad.dtype)
            factor = keep if factor is None else factor * keep
        if factor is not None:
            g = g * factor.reshape((-1,) + (1,) * (g.ndim - 1))
        ctx.args = (idx, factor, grad.shape)
        out = get_array_module(grad).zeros(shape, grad.dtype)
        add_at(out, idx, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        idx, factor, grad_shape = ctx.args
        picked = Embedding.apply(grad, indices=idx, padding_idx=None, scale_grad_by_freq=False)
        if factor is not None:
            picked = picked * _t(factor.reshape((-1,) + (1,) * (picked.ndim - 1)))
        return picked.reshape(grad_shape)


def abs_(x: Tensor) -> Tensor:
    """``|x|``, PyTorch's one node (AbsBackward0, the subgradient 0 at 0), for the losses and
    activations composed from it (l1_loss, softsign ...)."""
    from ..pointwise.abs_round_clamp import abs as abs_op

    return abs_op(x)


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}
