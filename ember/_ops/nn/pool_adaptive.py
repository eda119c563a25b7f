"""Adaptive pooling, max-unpooling and the axis gather used by nearest interpolation.

Adaptive windows that tile the input evenly reuse the strided pooling ops of ``pool``; uneven
ones gather their elements by index (average, in PyTorch's order of additions) or gather at
per-window argmax (max).
"""

from __future__ import annotations

import itertools

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import MetaArray, asarray_like, meta_array
from ..._backend import get_array_module as xp_of
from ..._layout import channels_last_of, dense_in_format, empty_in_format, in_format
from ..._tensor import Tensor
from .._core import Op, named_node, tie_to, zeros_grad
from .._dispatch import not_implemented_for
from .pool import AdaptiveDivisor, AvgPool, MaxPool, PoolGather, _tuple

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices"]


# -- adaptive pooling -----------------------------------------------------------------------

def _adaptive_prepare(input, output_size, nd, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    max3d = name == "adaptive_max_pool3d"  # its checks word their messages differently
    if nd > 1 and not isinstance(output_size, (int, np.integer)) \
            and input.dim() <= len(output_size):
        # torch.nn.functional fills None sizes from the input first (_list_with_default)
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got"
                           f"{':' if max3d else ''} {list(input.shape)}")
    # torch's adaptive pooling is for floats; pooling to size 1 it takes a mean instead, which
    # computes on complex too and refuses the other dtypes in its own words
    cat = input._dtype.category
    to_one = name.startswith("adaptive_avg") and output_size in (1, (1,), [1], (1, 1), [1, 1])
    if (cat != D._FLOAT or (input._dtype in D.SHELL and not to_one)) \
            and not (cat == D._COMPLEX and to_one):  # (float8 has no pooling kernels)
        if to_one:
            from ..inplace import _type_title

            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be "
                               "either a floating point or complex dtype. Got: "
                               f"{_type_title(input._dtype)}")
        raise not_implemented_for(name + "_cpu" if nd == 3 else name.replace("1d", "2d"),
                                  input._dtype)
    # every window needs an input element; the 3-d pools also refuse an empty channel
    # dimension (every dimension after the first)
    for d in range(1 if nd == 3 else input.dim() - nd, input.dim()):
        if input.shape[d] == 0:
            shape, shown, dim = list(input.shape), name, d
            if name == "adaptive_avg_pool1d":  # torch runs it as 2-d over (..., 1, L)
                shape, shown, dim = shape[:-1] + [1] + shape[-1:], "adaptive_avg_pool2d", d + 1
            raise RuntimeError(f"{shown}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {shape} with dimension {dim} "
                               "being empty")
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size),) * nd
    if len(output_size) != nd:  # torch's words differ per kernel
        if nd == 1:
            raise RuntimeError(f"{name}() argument 'output_size' should contain one int "
                               f"(got {len(output_size)})")
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be {nd}"
                           if name.startswith("adaptive_max") else
                           f"{name}: output_size must be {nd}")
    osize = tuple(n if o is None else int(o) for o, n in zip(output_size, input.shape[2:]))
    if max3d and any(o < 0 for o in osize):
        shape = list(input.shape[:2]) + list(osize)
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(osize)}: {shape}")
    if any(o < 0 for o in osize):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to "
                           f"0 but received {list(osize)}")
    return input, unbatched, osize


def _bounds(n, o):
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)  # floor(i*n/o), ceil((i+1)*n/o)


def _adaptive_avg(input, output_size, nd, name):
    if input.is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.pool(_adaptive_avg, input, f"aten::{name}", output_size, nd, name)
    x, unbatched, osize = _adaptive_prepare(input, output_size, nd, name)
    size = x.shape[2:]
    if all(o == 1 for o in osize):
        out = x.mean(dim=tuple(range(2, 2 + nd)), keepdim=True)
    elif all(o > 0 and n % o == 0 for n, o in zip(size, osize)) \
            and x._data.dtype in (np.float32, np.float64):  # (2-byte floats: summed in float32)
        k = tuple(n // o for n, o in zip(size, osize))
        div = AdaptiveDivisor([np.full(o, kk) for o, kk in zip(osize, k)])
        out = AvgPool.apply(x, k, k, (0,) * nd, osize, div)
    else:  # uneven windows: gathered at their elements' indices
        op = AdaptiveAvgPoolInDtype if nd == 3 else AdaptiveAvgPool
        out = op.apply(x, size=size, osize=osize,
                       empty=_empty_grad_error(x.shape, osize, unbatched, name))
        if out.grad_fn is not None:  # PyTorch's adaptive pooling node saves self (Op._free)
            out.grad_fn.holds_saved = True
    return out.squeeze(0) if unbatched else out


def _empty_grad_error(shape, osize, unbatched, name):
    """PyTorch's backward refuses an empty output: its message (None where nothing is empty)."""
    if all(osize):
        return None
    sizes = list(shape[1 if unbatched else 0:2]) + list(osize)
    if name == "adaptive_avg_pool1d":  # torch runs it as 2-d over (..., 1, L)
        sizes, name = sizes[:-1] + [1] + sizes[-1:], "adaptive_avg_pool2d"
    dim = len(sizes) - len(osize) + min(i for i, o in enumerate(osize) if o == 0)
    return (f"{name}_backward(): Expected grad_output to have non-zero size for non-batch "
            f"dimensions, but grad_output has sizes {sizes} with dimension {dim} being empty")


def _window_taps(n: int, o: int) -> np.ndarray:
    """``(o, longest window)`` indices: the ``r``-th element of adaptive window ``j`` (``n -> o``)
    at ``[j, r]``, or ``n`` (an appended zero) past the window's end."""
    start, end = _bounds(n, o)
    r = np.arange((end - start).max(initial=0))
    return np.where(r < (end - start)[:, None], start[:, None] + r, n)


def _window_owners(n: int, o: int) -> np.ndarray:
    """``(n, most windows)`` indices: the ``q``-th of the adaptive windows (``n -> o``) holding
    element ``i``, in rising order, at ``[i, q]``, or ``o`` (an appended zero) after the last."""
    start, end = _bounds(n, o)
    i = np.arange(n)
    first = np.searchsorted(end, i, side="right")  # the first window ending after i
    count = np.searchsorted(start, i, side="right") - first
    q = np.arange(count.max(initial=0))
    return np.where(q < count[:, None], first[:, None] + q, o)


def _gather_sums(a, indices):
    """``sum over t`` of ``a[..., indices[0][:, t0], indices[1][:, t1], ...]`` over the spatial
    axes, the index tuples ``t`` taken in row-major order and added one after another to a
    zero, as PyTorch's adaptive pooling kernels add (``a`` gets a zero appended on each spatial
    axis, where the indices past a window point). Each axis is gathered once per index column
    (``take``), the later axes inside the earlier ones' loops: faster than gathering all the
    window elements at once, whose slices then add slowly."""
    nd = len(indices)
    xp = xp_of(a)
    lead = a.ndim - nd
    padded = xp.zeros(a.shape[:lead] + tuple(n + 1 for n in a.shape[lead:]), a.dtype)
    padded[(slice(None),) * lead + tuple(slice(0, n) for n in a.shape[lead:])] = a
    out = xp.zeros(a.shape[:lead] + tuple(ix.shape[0] for ix in indices), a.dtype)
    columns = [[asarray_like(np.ascontiguousarray(ix[:, t]), a) for t in range(ix.shape[1])]
               for ix in indices]

    def add_from(part, i):
        if i == nd:
            np.add(out, part, out=out)
            return
        for col in columns[i]:
            add_from(xp.take(part, col, axis=lead + i), i + 1)

    add_from(padded, 0)
    return out


def _window_lengths(size, osize):
    return [np.subtract(*_bounds(n, o)[::-1]) for n, o in zip(size, osize)]


class AdaptiveAvgPool(Op):
    """Adaptive average pooling over uneven windows, summed and divided as PyTorch's CPU kernels
    do (so bit for bit): each window's elements in row-major order, then ``AdaptiveDivisor``.
    float16/bfloat16 compute in float32 and round once, as torch's kernels accumulate (its
    backward kernels compute in the 2-byte dtype: so does ``AdaptiveAvgPoolBackward``)."""

    opmath = True

    @staticmethod
    def forward(ctx, x, size, osize, empty=None):
        ctx.args = (size, osize, empty)
        if isinstance(x, MetaArray):
            return meta_array(x.shape[:2] + tuple(osize), x.dtype)
        sums = _gather_sums(x, [_window_taps(n, o) for n, o in zip(size, osize)])
        # torch's 2-d kernel keeps channels_last; its 3-d one writes row-major
        fmt = channels_last_of(x) if x.ndim == 4 else None
        out = AdaptiveDivisor(_window_lengths(size, osize)).divide(sums, fmt is not None,
                                                                   in_place=True)
        return dense_in_format(out, fmt)

    @staticmethod
    def backward(ctx, grad):
        size, osize, empty = ctx.args
        if empty is not None:
            raise RuntimeError(empty)
        return AdaptiveAvgPoolBackward.apply(grad, ctx.inputs[0], size=size, osize=osize)


class AdaptiveAvgPoolInDtype(AdaptiveAvgPool):
    """``AdaptiveAvgPool`` computed in the input's dtype, float16/bfloat16 too: PyTorch's 3-d
    kernel adds and divides 2-byte floats in their own precision (each step rounded)."""

    opmath = False


class AdaptiveAvgPoolBackward(Op):
    """The gradient of ``AdaptiveAvgPool``: each output's gradient divided as the forward
    divides, then added to the elements of its window, the windows in row-major order (the
    order PyTorch's kernel adds them in). ``like``: the pooled input, for the layout (2-d)."""

    @staticmethod
    def forward(ctx, g, like, size, osize):
        ctx.args = (size, osize)
        if isinstance(g, MetaArray):
            return meta_array(g.shape[:2] + tuple(size), g.dtype)
        # torch: by the incoming gradient's layout (2-d; the 3-d kernel is row-major)
        shares = AdaptiveDivisor(_window_lengths(size, osize)).divide(
            g, g.ndim == 4 and channels_last_of(g) is not None)
        out = _gather_sums(shares, [_window_owners(n, o) for n, o in zip(size, osize)])
        # torch: the gradient in the input's format (2-d; the 3-d kernel is row-major)
        return dense_in_format(out, channels_last_of(like) if like.ndim == 4 else None)

    @staticmethod
    def backward(ctx, grad):
        size, osize = ctx.args
        # torch: the pooled input's derivative is zeros_like(self), not None
        like = zeros_grad(grad, ctx.inputs[1].shape) if ctx.needs_input_grad[1] else None
        op = AdaptiveAvgPoolInDtype if len(size) == 3 else AdaptiveAvgPool
        return op.apply(grad, size=size, osize=osize), like


@named_node("SqueezeBackward1")
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output length.

    Example:
        >>> F.adaptive_avg_pool1d(ember.tensor([[[1., 2., 3., 4.]]]), 2)
        tensor([[[1.5000, 3.5000]]])
    """
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed ``(H, W)``; ``None`` keeps that input size.

    Example:
        >>> F.adaptive_avg_pool2d(ember.randn(2, 3, 7, 5), (1, 1)).shape
        torch.Size([2, 3, 1, 1])
    """
    out = _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")
    if out.grad_fn is not None:  # PyTorch pools to 1x1 with a mean
        single = output_size in (1, (1, 1), [1, 1])
        out.grad_fn._name = "MeanBackward1" if single else "AdaptiveAvgPool2DBackward0"
    return out


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed ``(D, H, W)``; ``None`` keeps that input size.

    Example:
        >>> F.adaptive_avg_pool3d(ember.randn(2, 3, 4, 5, 6), (2, 2, 3)).shape
        torch.Size([2, 3, 2, 2, 3])
    """
    if _amp.active and _autocast.state.active:  # on torch's CPU float32 list, 1x1x1 too
        return _autocast.call(adaptive_avg_pool3d, "adaptive_avg_pool3d", input, output_size)
    if isinstance(input, Tensor) and (output_size == 1 or (
            isinstance(output_size, (tuple, list)) and tuple(output_size) == (1, 1, 1))):
        # PyTorch's shortcut, taken before any other check: a mean over the last three dims
        return input.mean((-1, -2, -3), keepdim=True)
    out = _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")
    if out.grad_fn is not None:
        out.grad_fn._name = "AdaptiveAvgPool3DBackward0"
    return out


def _adaptive_max(input, output_size, return_indices, nd, name):
    x, unbatched, osize = _adaptive_prepare(input, output_size, nd, name)
    size = x.shape[2:]
    if all(o > 0 and n % o == 0 for n, o in zip(size, osize)):
        k = tuple(n // o for n, o in zip(size, osize))
        # torch's adaptive_max_pool3d kernel is row-major; the 1-d and 2-d ones keep the format
        res = MaxPool.apply(x, k, k, (0,) * nd, (1,) * nd, osize, True, keep_format=nd != 3)
    else:
        data = x._data
        n, c = data.shape[:2]
        flat = [int(np.prod(size[i + 1:], dtype=np.int64)) for i in range(nd)]
        idx = xp_of(data).empty((n, c, *osize), dtype=np.int64)
        bounds = [_bounds(s, o) for s, o in zip(size, osize)]
        for pos in itertools.product(*(range(o) for o in osize)):
            lo = [bounds[i][0][p] for i, p in enumerate(pos)]
            hi = [bounds[i][1][p] for i, p in enumerate(pos)]
            win = data[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(lo, hi))]
            arg = win.reshape(n, c, int(np.prod([b - a for a, b in zip(lo, hi)]))).argmax(
                axis=2)  # sized explicitly: an empty batch or channel dimension is allowed
            coords = np.unravel_index(arg, tuple(b - a for a, b in zip(lo, hi)))
            idx[(slice(None), slice(None)) + pos] = sum(
                (co + a) * f for co, a, f in zip(coords, lo, flat))
        fmt = channels_last_of(data) if nd != 3 else None
        idx = in_format(idx, fmt)
        res = (PoolGather.apply(x, Tensor._make(idx), fmt=fmt), Tensor._make(idx))
    if unbatched:
        res = tuple(r.squeeze(0) for r in res)
    return res if return_indices else res[0]


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output length."""
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")


@named_node("AdaptiveMaxPool2DBackward0")
def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed ``(H, W)``.

    Example:
        >>> F.adaptive_max_pool2d(ember.randn(1, 2, 5, 7), (2, 3)).shape
        torch.Size([1, 2, 2, 3])
    """
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


@named_node("AdaptiveMaxPool3DBackward0")
def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed ``(D, H, W)``; ``None`` keeps that input size; indices are flat
    over ``D*H*W``.

    Example:
        >>> F.adaptive_max_pool3d(ember.randn(1, 2, 4, 5, 6), (2, 3, 3)).shape
        torch.Size([1, 2, 2, 3, 3])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(adaptive_max_pool3d, "adaptive_max_pool3d", input, output_size,
                              return_indices)
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool1d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> F.adaptive_max_pool1d_with_indices(ember.tensor([[[1., 3., 2., 5.]]]), 2)[1]
        tensor([[[1, 3]]])
    """
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> out, idx = F.adaptive_max_pool2d_with_indices(ember.randn(1, 1, 4, 4), 2)
        >>> idx.shape
        torch.Size([1, 1, 2, 2])
    """
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """``adaptive_max_pool3d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> out, idx = F.adaptive_max_pool3d_with_indices(ember.randn(1, 1, 4, 4, 4), 2)
        >>> idx.shape
        torch.Size([1, 1, 2, 2, 2])
    """
    return adaptive_max_pool3d(input, output_size, True)


# -- unpooling ------------------------------------------------------------------------------

class MaxUnpool(Op):
    """``out[n, c, idx[n, c, j]] = x[n, c, j]``, zeros elsewhere. Indices repeated by
    overlapping windows name the same input element (so the same value): it is stored once, as
    in PyTorch, never summed. The gradient gathers at the indices (every repeat gets its own)."""

    @staticmethod
    def forward(ctx, x, idx, size):
        n, c = x.shape[:2]
        total = int(np.prod(size, dtype=np.int64))
        per = int(np.prod(x.shape[2:], dtype=np.int64))
        out = xp_of(x).zeros((n, c, total), dtype=x.dtype)
        np.put_along_axis(out, asarray_like(idx, x).reshape(n, c, per), x.reshape(n, c, per),
                          axis=2)
        return out.reshape((n, c) + tuple(size))

    @staticmethod
    def backward(ctx, grad):
        # torch ties the gradient to the unpooled input (zeros as its second derivative)
        return tie_to(PoolGather.apply(grad, ctx.inputs[1]), ctx.inputs[0]), None


def _unpool_output_size(input, ksize, stride, pad, output_size, nd):
    """torch.nn.functional's ``_unpool_output_size``: the default size, or ``output_size``
    checked to lie strictly within a stride of it."""
    default = [(n - 1) * s + k - 2 * p
               for n, s, p, k in zip(input.shape[-nd:], stride, pad, ksize)]
    if output_size is None:
        return tuple(default)
    output_size = tuple(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between '
                             f'{lo} and {hi})')
    return tuple(int(v) for v in output_size)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd, name):
    ksize = _tuple(kernel_size, nd, "kernel_size")
    stride = ksize if stride is None else _tuple(stride, nd, "stride")
    pad = _tuple(padding, nd, "padding")
    if nd == 3:  # PyTorch's max_unpool3d checks, in its order and words
        size = _unpool_output_size(input, ksize, stride, pad, output_size, nd)
        if input.dim() not in (4, 5):
            raise RuntimeError(f"Input to max_unpooling3d should be a 4d or 5d Tensor, but got "
                               f"a tensor with {input.dim()} dimensions.")
        if indices._dtype is not D.int64:
            raise RuntimeError("elements in indices should be type int64")
        if tuple(indices.shape) != tuple(input.shape):
            raise RuntimeError(f"Expected shape of indices to be same as that of the input "
                               f"tensor ({list(input.shape)}) but got indices tensor with "
                               f"shape: {list(indices.shape)}")
        if any(s <= 0 for s in stride):
            raise RuntimeError(f"strides should be greater than zero, but got stride: "
                               f"{list(stride)}")
    unbatched = input.dim() == nd + 1
    if unbatched:
        input, indices = input.unsqueeze(0), indices.unsqueeze(0)
    if nd != 3:
        if output_size is None:
            size = tuple((i - 1) * s - 2 * p + k
                         for i, s, p, k in zip(input.shape[2:], stride, pad, ksize))
        else:
            size = tuple(int(v) for v in tuple(output_size)[-nd:])
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{name}: expected indices to have the same shape as input, got "
                           f"{list(indices.shape)} and {list(input.shape)}")
    if input._dtype.category != D._FLOAT:  # PyTorch's unpooling kernels are float-only
        raise not_implemented_for("max_unpool3d" if nd == 3 else "max_unpool2d", input._dtype)
    total = int(np.prod(size, dtype=np.int64))
    idx = indices._data
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        # torch's kernels keep the last bad index they meet (in flat order on one thread)
        flat = idx.reshape(-1)
        bad = int(flat[flat.size - 1 - ((flat < 0) | (flat >= total))[::-1].argmax()])
        shown = size + (1,) if nd == 1 else size  # 1-d runs as 2-d over (L, 1)
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, shown))})")
    out = MaxUnpool.apply(input, indices, size)
    return out.squeeze(0) if unbatched else out


@_autocast.hooked("max_unpool1d")
@named_node("SqueezeBackward1")  # torch runs 1-d unpooling as 2-d over (N, C, L, 1)
def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: put values back at their indices, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


@named_node("MaxUnpool2DBackward0")
def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d`` using its ``return_indices`` output.

    Example:
        >>> y, i = F.max_pool2d(ember.randn(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(y, i, 2).shape
        torch.Size([1, 1, 4, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(max_unpool2d, "max_unpool2d", input, indices, kernel_size, stride,
                              padding, output_size)
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")


@named_node("MaxUnpool3DBackward0")
def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d`` using its ``return_indices`` output (flat ``D*H*W``
    indices), zeros elsewhere.

    Example:
        >>> y, i = F.max_pool3d(ember.randn(1, 1, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(y, i, 2).shape
        torch.Size([1, 1, 4, 4, 4])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3,
                       "max_unpool3d")


# -- resampling along axes (interpolation) ---------------------------------------------------

class ResampleAxes(Op):
    """``x`` with each spatial axis ``2 + i`` multiplied by the ``(out, in)`` matrix
    ``mats[i]`` (None: left alone): linear, cubic and antialiased interpolation. Being
    linear, its backward is itself with the transposed matrices. ``fmt``: the output's format
    (None: row-major); ``grad_fmt``: where the input's gradient takes its layout from, as
    torch's kernel: "input" (the input's format), "grad" (upsampling follows the incoming
    gradient's), None (row-major); ``tie``: a differentiable gradient is tied to ``x``.
    float16/bfloat16: computed in float32 and rounded once, forward and backward, as torch's
    kernels accumulate (bit for bit for the common 2x upsampling; other ratios can still end
    one unit in the last place off, where torch rounds its weights differently)."""

    opmath = opmath_backward = True

    @staticmethod
    def forward(ctx, x, mats, fmt, grad_fmt, tie=False):
        ctx.args = (mats, grad_fmt, channels_last_of(x) if grad_fmt == "input" else None)
        ctx.tie = tie
        if isinstance(x, MetaArray):
            return meta_array(x.shape[:2] + tuple(n if m is None else m.shape[0] for n, m in
                                                  zip(x.shape[2:], mats)), x.dtype)
        out = x
        for i, m in enumerate(mats):
            if m is not None:
                m = asarray_like(m, x)
                out = xp_of(x).moveaxis(xp_of(x).tensordot(out, m, axes=([2 + i], [1])), -1,
                                        2 + i)
        out = dense_in_format(out, fmt)
        return out.copy() if out is x else out

    @staticmethod
    def backward(ctx, grad):
        mats, grad_fmt, in_fmt = ctx.args
        fmt = in_fmt if grad_fmt == "input" else \
            channels_last_of(grad._data) if grad_fmt == "grad" else None
        out = ResampleAxes.apply(grad, mats=[None if m is None else m.T for m in mats],
                                 fmt=fmt, grad_fmt="grad")
        # adaptive pooling: torch ties the gradient to the input (zeros_like(self))
        return tie_to(out, ctx.inputs[0]) if ctx.tie else out


# -- gathers along one axis (nearest-neighbour interpolation) --------------------------------

class IndexAxis(Op):
    """``np.take(x, idx, axis)`` for a sorted index (nearest-neighbour resampling). A
    channels_last input gives a channels_last output, as torch's upsampling kernels."""

    @staticmethod
    def forward(ctx, x, idx, axis):
        ctx.args = (idx, axis, x.shape[axis])
        ctx.save_for_backward(ctx.inputs[0])
        return in_format(np.take(x, asarray_like(idx, x), axis=axis), channels_last_of(x))

    @staticmethod
    def backward(ctx, grad):
        idx, axis, size = ctx.args
        return IndexAxisAdd.apply(grad, None, idx=idx, axis=axis, size=size)


class IndexAxisAdd(Op):
    """The adjoint of ``IndexAxis``: sum the runs of equal indices (``reduceat``, no
    ``np.add.at``). ``like`` only ties the result to the resampled input in the graph."""

    @staticmethod
    def forward(ctx, g, like, idx, axis, size):
        ctx.args = (idx, axis)
        uniq, starts = np.unique(idx, return_index=True)
        shape = list(g.shape)
        shape[axis] = size
        # torch's nearest upsampling backward lays the gradient out in the incoming one's
        # format (2-d; the 3-d kernel is row-major)
        fmt = channels_last_of(g) if g.ndim == 4 else None
        out = empty_in_format(xp_of(g), tuple(shape), g.dtype, fmt)
        out[...] = 0
        sums = np.add.reduceat(g, asarray_like(starts, g), axis=axis) if g.size else g
        sl = [slice(None)] * g.ndim
        sl[axis] = uniq
        out[tuple(sl)] = sums
        return out

    @staticmethod
    def backward(ctx, grad):
        idx, axis = ctx.args
        return IndexAxis.apply(grad, idx, axis), None
