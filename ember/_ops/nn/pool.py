"""Pooling over strided views: max and average pooling (adaptive pooling and unpooling are in
``pool_adaptive.py``).

Forward passes combine the ``k`` strided views of the padded input (one per kernel offset) with
``np.maximum`` or ``+``; backward passes add the gradient back through the same views (slice
adds, never ``np.add.at``). Each op's backward is written with ops whose own backward is known,
so second-order gradients work: average pooling's two halves are each other's adjoint, and max
pooling's second-order path goes through a gather/scatter pair on the argmax indices.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

from ... import _autocast, _threads
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import asarray_like, is_host
from ..._backend import get_array_module as xp_of
from ..._errors import with_hint
from ..._layout import channels_last_of, dense_in_format, empty_in_format, in_format
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, named_node, set_node_name, zeros_grad
from .._dispatch import not_implemented_for
from ..reduction._sum_order import vector_width

# Only the names torch also exposes at top level (torch.max_pool2d, ...) become ember.<name>;
# the rest are reached through ember.nn.functional.
__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices"]


# -- geometry -------------------------------------------------------------------------------

def _pool_out(n, k, s, p, d, ceil):
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    o = (num + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1  # the last window must start inside the input or its left padding
    return o


def _views(xp, ksize, stride, dilation, osize):
    """Yield (offset index, slice tuple) for every kernel offset, in row-major kernel order."""
    lead = (slice(None),) * (xp.ndim - len(ksize))
    for offs in itertools.product(*(range(k) for k in ksize)):
        yield offs, lead + tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                                 for o, d, s, n in zip(offs, dilation, stride, osize))


def _pad_to(x, pad, osize, ksize, stride, dilation, value):
    """Pad the spatial axes on the left by ``pad`` and on the right as far as the windows reach."""
    nd = len(ksize)
    lead = x.ndim - nd
    need = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(osize, stride, dilation, ksize)]
    if all(p == 0 for p in pad) and all(n <= m for n, m in zip(need, x.shape[lead:])):
        return x
    shape = x.shape[:lead] + tuple(max(nd_, p + n) for nd_, p, n in zip(need, pad,
                                                                          x.shape[lead:]))
    out = xp_of(x).full(shape, value, dtype=x.dtype)
    out[(slice(None),) * lead + tuple(slice(p, p + n) for p, n in zip(pad, x.shape[lead:]))] = x
    return out


def _crop(xp, pad, size):
    lead = xp.ndim - len(size)
    return xp[(slice(None),) * lead + tuple(slice(p, p + n) for p, n in zip(pad, size))]


def _lowest(dtype):
    return -np.inf if dtype.kind in "fV" else np.iinfo(dtype).min  # "V": ml_dtypes' bfloat16


# -- max pooling ----------------------------------------------------------------------------

class MaxPool(Op):
    @staticmethod
    def forward(ctx, x, ksize, stride, pad, dilation, osize, want_indices, keep_format=True):
        ctx.save_for_backward(ctx.inputs[0])  # version check only; the padded copy is kept
        xp = _pad_to(x, pad, osize, ksize, stride, dilation, _lowest(x.dtype))
        # torch: a channels_last input gives a channels_last output, indices and gradient
        # (keep_format=False: adaptive_max_pool3d, whose kernel is row-major)
        fmt = channels_last_of(x) if keep_format else None
        out = empty_in_format(xp_of(x), x.shape[:-len(ksize)] + tuple(osize), x.dtype, fmt)
        views = list(_views(xp, ksize, stride, dilation, osize))
        # For windows that do not overlap, the offset of each window's first maximum is kept
        # (one byte per output) when a backward may follow: backward then reads it instead of
        # the whole input, which by then has usually left the cache.
        arg = None
        if (getattr(ctx, "_record", True) and len(views) < 256
                and all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, ksize))):
            arg = xp_of(x).zeros(out.shape, dtype=np.uint8)

        def chunk(lo, hi):
            o, xc = out[lo:hi], xp[lo:hi]
            a = None if arg is None else arg[lo:hi]
            m = None
            for i, (_, sl) in enumerate(views):
                if i == 0:
                    np.copyto(o, xc[sl])
                    continue
                if a is not None:  # strictly greater: ties keep the first maximum
                    m = np.greater(xc[sl], o, out=m)
                    mi = m.view(np.uint8)  # offsets rise, so the last new maximum's is largest
                    np.multiply(mi, np.uint8(i), out=mi)
                    np.maximum(a, mi, out=a)
                np.maximum(o, xc[sl], out=o)

        _batch_chunks(chunk, xp)
        if arg is not None and out.dtype.kind == "f" and np.isnan(out).any():
            arg = None  # NaN windows: the comparisons above do not locate a NaN maximum
        ctx.xp, ctx.out, ctx.arg, ctx.fmt = xp, out, arg, fmt
        ctx.args = (x.shape, ksize, stride, pad, dilation, osize)
        if want_indices:
            return out, in_format(_argmax_indices(ctx), fmt)
        return out

    non_differentiable_outputs = (1,)

    @staticmethod
    def backward(ctx, grad, *_):
        ctx.saved_tensors  # noqa: B018 -- raises if the input was modified in place
        in_shape, ksize, stride, pad, dilation, osize = ctx.args
        if grad_mode._state.enabled:  # create_graph: a gather/scatter pair on the argmax
            idx = _argmax_indices(ctx)
            return PoolScatter.apply(grad, ctx.inputs[0], idx=idx, in_shape=in_shape,
                                     fmt=ctx.fmt)
        xp, out, g = ctx.xp, ctx.out, grad._data
        # windows that do not overlap write disjoint slices: plain stores, no read-modify-add
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, ksize))
        # ... and when they also tile the (padded) input, every element is stored: no zero-fill
        tiled = disjoint and all(s == k and d == 1 and o * k == n for s, d, k, o, n in
                                 zip(stride, dilation, ksize, osize, xp.shape[2:]))
        gxp = (xp_of(g).empty if tiled else xp_of(g).zeros)(xp.shape, dtype=g.dtype)
        views = list(_views(xp, ksize, stride, dilation, osize))
        arg = ctx.arg

        def chunk_arg(lo, hi):  # disjoint windows with the argmax offsets kept by forward
            ac, gc, gx = arg[lo:hi], g[lo:hi], gxp[lo:hi]
            hit = None
            for i, (_, sl) in enumerate(views):
                hit = np.equal(ac, i, out=hit)
                np.multiply(gc, hit, out=gx[sl])

        def chunk(lo, hi):
            xc, oc, gc, gx = xp[lo:hi], out[lo:hi], g[lo:hi], gxp[lo:hi]
            free = hit = None  # free: outputs whose maximum no earlier offset has claimed
            for _, sl in views:
                hit = np.equal(xc[sl], oc, out=hit)
                if free is None:
                    free = ~hit
                else:  # the gradient goes to the first maximum, as in PyTorch
                    np.logical_and(hit, free, out=hit)
                    np.logical_xor(free, hit, out=free)
                if disjoint:
                    np.multiply(gc, hit, out=gx[sl])
                else:
                    gx[sl] += gc * hit

        _batch_chunks(chunk if arg is None else chunk_arg, gxp)
        # torch: the input's gradient in the input's format (channels_last stays so)
        return Tensor._make(dense_in_format(_crop(gxp, pad, in_shape[2:]), ctx.fmt), grad._dtype)


def _batch_chunks(fn, like: np.ndarray) -> None:
    """``fn(lo, hi)`` over cache-sized chunks of the batch axis, on the thread pool (the
    chunks write disjoint outputs)."""
    n = like.shape[0] if like.ndim else 0
    if n == 0:
        return
    if not is_host(like):  # one pass over the whole batch on a GPU
        fn(0, n)
        return
    per = like.nbytes // n
    _threads.run_chunks(fn, _threads.split(n, per, target=1 << 20), blas=False)


def _argmax_indices(ctx) -> np.ndarray:
    """Flat input index (over the spatial dims) of each window's first maximum."""
    in_shape, ksize, stride, pad, dilation, osize = ctx.args
    xp, out = ctx.xp, ctx.out
    nd = len(ksize)
    flat = [int(np.prod(in_shape[2 + i + 1:], dtype=np.int64)) for i in range(nd)]
    base = np.zeros(osize, dtype=np.int64)
    for i in range(nd):
        pos = np.arange(osize[i]) * stride[i] - pad[i]
        base = base + (pos * flat[i]).reshape((-1,) + (1,) * (nd - 1 - i))
    idx = xp_of(out).zeros(out.shape, dtype=np.int64)
    taken = xp_of(out).zeros(out.shape, dtype=bool)
    for offs, sl in _views(xp, ksize, stride, dilation, osize):
        hit = (xp[sl] == out) & ~taken
        taken |= hit
        shift = sum(o * d * f for o, d, f in zip(offs, dilation, flat))
        idx += hit * shift
    return idx + asarray_like(base, idx)


class PoolGather(Op):
    """``out[n, c, j] = x[n, c, idx[n, c, j]]`` over flattened spatial dims; ``fmt``: the
    format of the output and of the input's gradient (None: row-major)."""

    @staticmethod
    def forward(ctx, x, idx, fmt=None):
        ctx.in_shape, ctx.fmt = x.shape, fmt
        n, c = x.shape[:2]
        # sizes spelled out: -1 cannot be inferred when the batch or channel dimension is empty
        flat = x.reshape(n, c, int(np.prod(x.shape[2:], dtype=np.int64)))
        per = int(np.prod(idx.shape[2:], dtype=np.int64))
        out = np.take_along_axis(flat, idx.reshape(n, c, per), axis=2).reshape(idx.shape)
        return in_format(out, fmt)

    @staticmethod
    def backward(ctx, grad):
        return PoolScatter.apply(grad, ctx.inputs[0], idx=ctx.inputs[1]._data,
                                 in_shape=ctx.in_shape, fmt=ctx.fmt), None


class PoolScatter(Op):
    """The adjoint of ``PoolGather``: add each value into its input position. ``like`` (the
    pooled input, or None) only ties the result to it in the graph, as PyTorch's node does;
    ``fmt``: the result's format (None: row-major)."""

    @staticmethod
    def forward(ctx, g, like, idx, in_shape, fmt=None):
        ctx.idx, ctx.fmt = idx, fmt
        n, c = in_shape[:2]
        size = int(np.prod(in_shape[2:], dtype=np.int64))
        rows = xp_of(g).arange(n * c, dtype=np.int64).reshape(n, c, 1) * size
        per = int(np.prod(idx.shape[2:], dtype=np.int64))
        flat = (asarray_like(idx, g).reshape(n, c, per) + rows).ravel()
        # bincount sums duplicates (overlapping windows) in one pass; it computes in float64
        out = np.bincount(flat, weights=g.ravel(), minlength=n * c * size)
        return in_format(out.astype(g.dtype, copy=False).reshape(in_shape), fmt)

    @staticmethod
    def backward(ctx, grad):
        # torch: the pooled input's derivative is zeros_like(self), not None
        like = zeros_grad(grad, ctx.inputs[1].shape) if ctx.needs_input_grad[1] else None
        return PoolGather.apply(grad, Tensor._make(ctx.idx), fmt=ctx.fmt), like


# -- average pooling ------------------------------------------------------------------------

def _divisor(in_size, ksize, stride, pad, osize, count_include_pad, override, dtype):
    if override:
        return dtype.type(override)
    div = np.ones((), dtype=dtype)
    for i, (n, k, s, p, o) in enumerate(zip(in_size, ksize, stride, pad, osize)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)  # windows stop at the right padding
        if not count_include_pad:
            cnt = np.minimum(end, n) - np.maximum(start, 0)
        else:
            cnt = end - start
        div = div * cnt.astype(dtype).reshape((-1,) + (1,) * (len(osize) - 1 - i))
    return div


class AdaptiveDivisor:
    """How PyTorch's adaptive average pooling kernels turn window sums into means: divided by
    the window's length along each axis in turn (``sum / kh / kw``), except that its
    channels_last kernels divide the channels that fill whole vectors by the window's size at
    once (``sum / (kh * kw)``), leaving the 0 to ``lanes - 1`` last ones to the first way.

    Example:
        >>> AdaptiveDivisor([np.array([3]), np.array([3])]).divide(
        ...     np.full((1, 1, 1, 1), 9, np.float32), False).item()
        1.0
    """

    def __init__(self, lengths):
        self.lengths = tuple(np.asarray(n, dtype=np.int64) for n in lengths)  # one per axis

    def __eq__(self, other):  # (graph capture compares the arguments of two traces)
        return isinstance(other, AdaptiveDivisor) and len(self.lengths) == len(other.lengths) \
            and all(np.array_equal(a, b) for a, b in zip(self.lengths, other.lengths))

    def __hash__(self):
        return hash(tuple(tuple(n.tolist()) for n in self.lengths))

    def __repr__(self):
        return f"AdaptiveDivisor({[n.tolist() for n in self.lengths]})"

    def divide(self, sums, channels_last: bool, in_place: bool = False):
        """``sums`` ``(N, C, *windows)`` divided, as the kernel for that layout does (into
        ``sums`` itself with ``in_place``)."""
        nd = len(self.lengths)
        dt = sums.dtype
        # (a length shared by every window of an axis divides as a scalar: faster)
        per_axis = [dt.type(n[0]) if n.size and (n == n[0]).all() else
                    asarray_like(n.reshape((-1,) + (1,) * (nd - 1 - i)).astype(dt), sums)
                    for i, n in enumerate(self.lengths)]
        lanes = vector_width(dt) or 32 // dt.itemsize
        whole = sums.shape[1] - sums.shape[1] % lanes if channels_last else 0
        if whole:  # (computed first: an in-place division overwrites the sums)
            size = per_axis[0]
            for n in per_axis[1:]:
                size = size * n  # exact: small whole numbers
            vectors = sums[:, :whole] / size
        out = sums if in_place else None
        for n in per_axis:
            if not (np.ndim(n) == 0 and n == 1):  # (x / 1 is x)
                out = np.divide(sums if out is None else out, n, out=out)
        if out is None:
            out = sums.copy()
        if whole:
            out[:, :whole] = vectors
        return out


class AvgPool(Op):
    @staticmethod
    def forward(ctx, x, ksize, stride, pad, osize, div):
        ctx.args = (x.shape, ksize, stride, pad, osize, div)
        xp = _pad_to(x, pad, osize, ksize, stride, (1,) * len(ksize), 0)
        if not isinstance(div, AdaptiveDivisor):
            div = asarray_like(div, x)  # a host number or array of counts
        # torch: channels_last in, channels_last out (2-d only: its 3-d kernel is row-major);
        # order "K" adds a channels_last input's windows up in its own layout
        fmt = channels_last_of(x) if x.ndim == 4 else None
        order = "K" if fmt is not None else "C"
        # torch adds each window's elements in row-major order: the views, one per kernel
        # offset in that order, are added one after another
        views = [xp[sl] for _, sl in _views(xp, ksize, stride, (1,) * len(ksize), osize)]
        if len(views) == 1:
            out = views[0].copy(order=order)
        elif is_host(xp):
            out = np.add(views[0], views[1], order=order)
        else:  # (CuPy's ufuncs take no order: a device result is row-major)
            out = views[0] + views[1]
        for v in views[2:]:
            np.add(out, v, out=out)
        if out.dtype.kind != "f":
            return in_format((out / div).astype(out.dtype), fmt)
        np.add(out, 0, out=out)  # torch's sums start at +0, so a window of -0s gives +0
        if isinstance(div, AdaptiveDivisor):
            out = div.divide(out, fmt is not None, in_place=True)
        else:
            out /= div
        return in_format(out, fmt)

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolBackward.apply(grad, ctx.inputs[0], args=ctx.args)


class AvgPoolBackward(Op):
    @staticmethod
    def forward(ctx, g, like, args):  # like: the pooled input, a graph tie only
        ctx.args = args
        in_shape, ksize, stride, pad, osize, div = args
        nd = len(ksize)
        need = [max(p + n, (o - 1) * s + k) for p, n, o, s, k in
                zip(pad, in_shape[2:], osize, stride, ksize)]
        gxp = xp_of(g).zeros(in_shape[:2] + tuple(need), dtype=g.dtype)
        if isinstance(div, AdaptiveDivisor):  # torch: by the incoming gradient's layout
            gd = div.divide(g, g.ndim == 4 and channels_last_of(g) is not None)
        else:
            gd = g / asarray_like(div, g)
        # torch adds the gradient of each output in turn, in row-major order, to every element
        # of its window: an element gets its shares in that order when the kernel offsets run
        # backwards (a later offset reaches it from an earlier output)
        for _, sl in reversed(list(_views(gxp, ksize, stride, (1,) * nd, osize))):
            gxp[sl] += gd
        # torch: in the input's format (2-d: its 3-d kernel is row-major), as the forward
        fmt = channels_last_of(like) if like.ndim == 4 else None
        return dense_in_format(_crop(gxp, pad, in_shape[2:]), fmt)

    @staticmethod
    def backward(ctx, grad):
        _, ksize, stride, pad, osize, div = ctx.args
        # torch: the pooled input's derivative is zeros_like(self), not None
        like = zeros_grad(grad, ctx.inputs[1].shape) if ctx.needs_input_grad[1] else None
        return AvgPool.apply(grad, ksize, stride, pad, osize, div), like


# -- public functions -----------------------------------------------------------------------

def _tuple(v, nd: int, name: str, op: str | None = None) -> tuple:
    """``v`` (an int or a sequence of 1 or ``nd`` ints) as ``nd`` ints; a wrong length raises
    the message torch's ``op`` (e.g. ``"max_pool3d"``) raises for argument ``name``."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise RuntimeError(_length_message(op, name, nd, len(v)) if op else
                           f"{name} must either be a single int, or a tuple of {nd} ints")
    return v


def _length_message(op: str, name: str, nd: int, got: int) -> str:
    """torch's words for a pooling argument of the wrong length: each kernel has its own."""
    if op == "max_pool1d":
        allowed = {"stride": "be None, an int, list of ints,",
                   "padding": "be an int, list of ints,"}.get(name, "be an int, list of ints")
        return (f"max_pool1d() {name} must {allowed} or tuple of ints of size 1 but got size "
                f"{got}")
    if nd == 1:  # avg_pool1d, lp_pool1d (which calls it)
        return f"avg_pool1d() argument '{name}' should contain one int (got {got})"
    count = {2: "two", 3: "three"}[nd]
    either = "" if op == "avg_pool3d" else "either "
    if name == "stride":
        return f"{op}: stride must {either}be omitted, a single int, or a tuple of {count} ints"
    if name == "dilation":  # (max pooling only)
        return f"{op}: dilation must be either a single int, or a tuple of {count} ints"
    return f"{op}: {name} must {either}be a single int, or a tuple of {count} ints"


_INT_MAX = 2**31 - 1


def _half_toward_zero(v: int) -> int:
    return v // 2 if v >= 0 else -(-v // 2)


def _check_window(name, ksize, stride, pad, dilation) -> None:
    """PyTorch's checks of a pooling window, in its order and with its messages.

    1-d avg/lp pooling runs as 2-d over ``(N, C, 1, L)`` in torch, so its messages name ``kH: 1``.
    """
    if any(abs(v) > _INT_MAX for v in (*ksize, *stride, *pad, *dilation)):
        raise RuntimeError("value cannot be converted to type int without overflow")
    if len(ksize) == 1:
        ksize, stride, pad, dilation = (1, *ksize), (1, *stride), (0, *pad), (1, *dilation)
    for k, s, p, d in zip(ksize, stride, pad, dilation):  # torch's pooling_output_shape
        if s == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > _half_toward_zero((k - 1) * d + 1):
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    axes = ("T", "H", "W")[-len(ksize):]
    for what, label, values in (("kernel size", "k", ksize), ("stride", "d", stride),
                                ("dilation", "dilation", dilation)):
        if any(v <= 0 for v in values):
            got = " ".join(f"{label}{a}: {v}" for a, v in zip(axes, values))
            raise RuntimeError(f"{what} should be greater than zero, but got {got}")
    if any(p > k // 2 for k, p in zip(ksize, pad)):
        if len(ksize) == 2:
            got = (f"padW = {pad[1]}, padH = {pad[0]}, kW = {ksize[1]}, kH = {ksize[0]}")
        else:  # sic: torch's 3-d message labels (W, H) in this order
            got = (f"kT: {ksize[0]} kW: {ksize[2]} kH: {ksize[1]} "
                   f"padT: {pad[0]} padW: {pad[2]} padH: {pad[1]}")
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                           f"got {got}")


def _check_max_pool1d(k: int, s: int, p: int, d: int) -> None:
    """torch's own checks for max_pool1d (its messages differ from the 2-d/3-d ones)."""
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={p} and kernel_size={k}")


def _refuse_rank(input: Tensor, nd: int, name: str):
    """torch's error for an input of the wrong rank or with an empty dimension other than the
    batch one; its 1-d and 2-d average pools word theirs differently (the 2-d one reads
    ``input.size(-3)`` first)."""
    dims = input.dim()
    if name == "avg_pool2d" and dims < 3:
        if dims == 0:
            raise IndexError("Dimension specified as -3 but tensor has no dimensions")
        raise IndexError(f"Dimension out of range (expected to be in range of [-{dims}, "
                         f"{dims - 1}], but got -3)")
    if name == "avg_pool1d" and dims not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {dims}-dimensional tensor for "
                           "argument #1 'self' (while checking arguments for avg_pool1d)")
    shape = list(input.shape)
    if name == "max_pool1d":
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{shape}")
    if dims in (nd + 1, nd + 2):  # an empty dimension other than the batch one
        if nd == 3:  # torch names dimension 0 whichever is empty
            kernel = "max_pool3d_with_indices_out_cpu_template" if name.startswith("max") \
                else name
            empty = shape[dims - nd - 1:].index(0)
            raise RuntimeError(f"{kernel}(): Expected input's non-batch dimensions to have "
                               f"positive length, but input has a shape of {shape} and "
                               f"non-batch dimension 0 has length zero! (non-batch dimension "
                               f"{empty} is the empty one)")
        if nd == 1:  # torch pools (C, L) as (C, 1, L)
            shape = shape[:-1] + [1] + shape[-1:]
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got:{shape}")
    raise with_hint(RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor "
                                 "expected for input"),
                    f"{name} got an input of size {list(input.shape)}")


def _prepare(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode, nd, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (nd + 1, nd + 2) or 0 in input.shape[input.dim() - nd - 1:]:
        _refuse_rank(input, nd, name)  # (only the batch dimension may be empty)
    ksize = _tuple(kernel_size, nd, "kernel_size", name)
    stride = ksize if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, nd, "stride", name)
    pad = _tuple(padding, nd, "padding", name)
    dilation = _tuple(dilation, nd, "dilation", name)
    if name == "max_pool1d":
        _check_max_pool1d(ksize[0], stride[0], pad[0], dilation[0])
    else:
        _check_window(name, ksize, stride, pad, dilation)
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    size = input.shape[2:]
    if name == "avg_pool3d" and any(n < k for n, k in zip(size, ksize)):
        raise RuntimeError(f"input image (T: {size[0]} H: {size[1]} W: {size[2]}) smaller than "
                           f"kernel size (kT: {ksize[0]} kH: {ksize[1]} kW: {ksize[2]})")
    osize = tuple(_pool_out(n, k, s, p, d, ceil_mode)
                  for n, k, s, p, d in zip(size, ksize, stride, pad, dilation))
    if any(o <= 0 for o in osize):
        if name == "max_pool1d":
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {osize[0]}")
        c = input.shape[1]
        if nd == 1:  # torch pools 1-d inputs as (N, C, 1, L) and reports that shape
            size, osize = (1, *size), (1, *osize)
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c, *size)))}). Calculated "
                           f"output size: ({'x'.join(map(str, (c, *osize)))}). Output size is "
                           "too small")
    return input, unbatched, ksize, stride, pad, dilation, osize


def _pool_dtype(input, kernel: str, ints: bool) -> None:
    """torch's pooling kernels take floating tensors (max/avg pooling also integers)."""
    if isinstance(input, Tensor):
        cat = input._dtype.category
        if not (cat == D._FLOAT or (ints and cat == D._INT)):
            raise not_implemented_for(kernel, input._dtype)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd,
              name):
    if input.is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.pool(_max_pool, input, f"aten::{name}", kernel_size, stride,
                                   padding, dilation, ceil_mode, return_indices, nd, name)
    # PyTorch's 1-d kernel is float-only; with indices it runs the 2-d one, which takes ints
    _pool_dtype(input, "max_pool1d_impl" if nd == 1 else name, ints=nd != 1 or return_indices)
    x, unbatched, ksize, stride, pad, dilation, osize = _prepare(
        input, kernel_size, stride, padding, dilation, ceil_mode, nd, name)
    res = MaxPool.apply(x, ksize, stride, pad, dilation, osize, bool(return_indices))
    if unbatched:
        res = tuple(r.squeeze(0) for r in res) if return_indices else res.squeeze(0)
    return res


@named_node("SqueezeBackward1")
def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-d max pooling over ``(N, C, L)``.

    Example:
        >>> F.max_pool1d(ember.tensor([[[1., 3., 2., 5.]]]), 2)
        tensor([[[3., 5.]]])
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


@named_node("MaxPool2DWithIndicesBackward0")
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-d max pooling over ``(N, C, H, W)``; ``return_indices`` gives flat ``H*W`` indices.

    Example:
        >>> F.max_pool2d(ember.randn(1, 3, 8, 8), 2).shape
        torch.Size([1, 3, 4, 4])
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


@named_node("MaxPool3DWithIndicesBackward0")
def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-d max pooling over ``(N, C, D, H, W)``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(max_pool3d, "max_pool3d", input, kernel_size, stride, padding,
                              dilation, ceil_mode, return_indices)
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     3, "max_pool3d")


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool1d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> F.max_pool1d_with_indices(ember.tensor([[[1., 3., 2., 5.]]]), 2)[1]
        tensor([[[1, 3]]])
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool2d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> out, idx = F.max_pool2d_with_indices(ember.randn(1, 1, 4, 4), 2)
        >>> idx.shape
        torch.Size([1, 1, 2, 2])
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool3d`` returning ``(output, indices)`` whatever ``return_indices`` is.

    Example:
        >>> out, idx = F.max_pool3d_with_indices(ember.randn(1, 1, 4, 4, 4), 2)
        >>> idx.shape
        torch.Size([1, 1, 2, 2, 2])
    """
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool_dtype(input, nd: int) -> None:
    """torch's CPU average pooling takes float32/float64 and int64 (not the smaller integers:
    ``img.float()`` first), and float16/bfloat16 in 1-d and 2-d only."""
    if isinstance(input, Tensor):
        dt = input._dtype
        if not (dt in (D.float32, D.float64, D.int64)
                or (nd < 3 and dt in (D.float16, D.bfloat16))):
            raise not_implemented_for("avg_pool3d_out_frame" if nd == 3 else "avg_pool2d", dt)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd, name):
    if input.is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.pool(_avg_pool, input, f"aten::{name}", kernel_size, stride,
                                   padding, ceil_mode, count_include_pad, divisor_override, nd,
                                   name)
    _avg_pool_dtype(input, nd)
    x, unbatched, ksize, stride, pad, _, osize = _prepare(
        input, kernel_size, stride, padding, 1, ceil_mode, nd, name)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    dt = x._data.dtype if x._data.dtype.kind == "f" else np.dtype(np.float64)
    div = _divisor(x.shape[2:], ksize, stride, pad, osize, count_include_pad,
                   divisor_override, dt)
    out = AvgPool.apply(x, ksize, stride, pad, osize, div)
    return out.squeeze(0) if unbatched else out


@named_node("SqueezeBackward1")
def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over ``(N, C, L)``.

    Example:
        >>> F.avg_pool1d(ember.tensor([[[1., 3., 2., 6.]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1, "avg_pool1d")


@named_node("AvgPool2DBackward0")
def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-d average pooling over ``(N, C, H, W)``.

    Example:
        >>> F.avg_pool2d(ember.ones(1, 1, 4, 4), 2).shape
        torch.Size([1, 1, 2, 2])
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


@named_node("AvgPool3DBackward0")
def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over ``(N, C, D, H, W)``."""
    if _amp.active and _autocast.state.active:
        return _autocast.call(avg_pool3d, "avg_pool3d", input, kernel_size, stride, padding,
                              ceil_mode, count_include_pad, divisor_override)
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3, "avg_pool3d")


# -- fractional max pooling -----------------------------------------------------------------

def _fractional_starts(samples, in_size: int, out_size: int, k: int) -> np.ndarray:
    """PyTorch's ``generate_intervals``: window starts ``int((i + u) * a) - int(u * a)`` with
    ``a = (in - k) / (out - 1)``, the last window flush with the end. It computes in the
    input's dtype, so float32 samples give float32 starts here too."""
    xp, dt = xp_of(samples), samples.dtype.type
    u = samples[..., None]
    starts = xp.empty(samples.shape + (out_size,), dtype=np.int64)
    if out_size > 1:
        alpha = dt(dt(in_size - k) / dt(out_size - 1))
        i = xp.arange(out_size - 1).astype(samples.dtype)
        starts[..., :-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    starts[..., -1] = in_size - k
    return starts


def _fractional_indices(x: np.ndarray, samples: np.ndarray, ksize, osize) -> np.ndarray:
    """Flat spatial index of each window's maximum (the first in row-major order; a NaN
    wins, as in PyTorch's ``val > max || isnan(val)``). ``samples`` is ``(N, C, nd)`` with
    PyTorch's axis order: (W, H) in 2-d, (T, H, W) in 3-d."""
    nd = len(ksize)
    n, c = x.shape[:2]
    in_size = x.shape[2:]
    order = (1, 0) if nd == 2 else (0, 1, 2)  # which sample column drives each spatial axis
    starts = [_fractional_starts(samples[:n, :, order[a]], in_size[a], osize[a], ksize[a])
              for a in range(nd)]
    strides = [int(np.prod(in_size[a + 1:], dtype=np.int64)) for a in range(nd)]
    flat_x = x.reshape(n, c, int(np.prod(in_size, dtype=np.int64)))
    xp, best, best_idx = xp_of(x), None, None
    for offs in itertools.product(*(range(k) for k in ksize)):
        idx = xp.zeros((n, c) + tuple(osize), dtype=np.int64)
        for a in range(nd):
            shape = (n, c) + tuple(osize[b] if b == a else 1 for b in range(nd))
            idx = idx + ((starts[a] + offs[a]) * strides[a]).reshape(shape)
        per = int(np.prod(osize, dtype=np.int64))  # spelled out: an empty batch has no -1
        val = xp.take_along_axis(flat_x, idx.reshape(n, c, per), axis=2).reshape(idx.shape)
        if best is None:
            best, best_idx = val, idx
            continue
        take = val > best
        if val.dtype.kind in "fc":
            take |= xp.isnan(val)
        best = xp.where(take, val, best)
        best_idx = xp.where(take, idx, best_idx)
    return best_idx


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices,
                         _random_samples, nd):
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        # as torch's functional: the 2-d form takes len() (a plain float raises TypeError),
        # the 3-d form repeats a scalar ratio; a too-short sequence fails on indexing (the
        # nn.FractionalMaxPool modules expand a scalar ratio first)
        if nd == 2 and len(output_ratio) > nd:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple "
                             "of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, Iterable) else (output_ratio,) * nd
        output_size = [int(input.size(a - nd) * ratio[a]) for a in range(nd)]
    if _random_samples is None:
        from ... import _random

        n_batch = 1 if input.dim() == nd + 1 else input.size(0)
        _random_samples = _random.rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype)
    ksize = (int(kernel_size),) * nd if isinstance(kernel_size, (int, np.integer)) \
        else tuple(int(v) for v in kernel_size)
    osize = (int(output_size),) * nd if isinstance(output_size, (int, np.integer)) \
        else tuple(int(v) for v in output_size)
    what = "three Ints" if nd == 3 else "Ints"
    if len(ksize) == 1:
        ksize = ksize * nd
    if len(osize) == 1:
        osize = osize * nd
    if len(ksize) != nd:
        raise RuntimeError(f"{name}: kernel_size must either be a single Int or tuple of {what}")
    if len(osize) != nd:
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of {what}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(input.shape)} with dimension {i} "
                               "being empty.")
    in_size = input.shape[-nd:]
    labels = ("height", "width") if nd == 2 else ("time", "height", "width")
    prefix = f"{name}()" if nd == 2 else "fractional_max_pool3d_out()"
    for o, k, n_, lab in zip(osize, ksize, in_size, labels):
        if o + k - 1 > n_:
            raise RuntimeError(f"{prefix}: pool {lab} {k} too large relative to input {lab} "
                               f"{n_}")
    s = _random_samples
    if s._dtype is not input._dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if s.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to be 3D tensor, got: {s.dim()}D tensor.")
    if s.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {s.shape[2]}.")
    if s.shape[0] < x.shape[0]:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if s.shape[1] != x.shape[1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    _pool_dtype(input, name, ints=False)
    idx = _fractional_indices(x._data, s._data, ksize, osize)
    out, ind = PoolGather.apply(x, Tensor._make(idx)), Tensor._make(idx)
    if unbatched:  # PyTorch's kernel takes unbatched input itself: one node either way
        out, ind = out.squeeze(0), ind.squeeze(0)
    out = set_node_name(out, f"FractionalMaxPool{nd}DBackward0")
    return (out, ind) if return_indices else out


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    """``fractional_max_pool2d`` returning ``(output, indices)`` (flat ``H*W`` indices).

    Example:
        >>> out, idx = F.fractional_max_pool2d_with_indices(ember.randn(1, 2, 7, 7), 2,
        ...                                                 output_size=3)
        >>> idx.shape
        torch.Size([1, 2, 3, 3])
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, True,
                                _random_samples, 2)


@_autocast.hooked("fractional_max_pool2d")
def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling (Graham, 2014) over ``(N, C, H, W)``: pseudo-random window
    starts from ``_random_samples`` (``(N, C, 2)`` in ``[0, 1)``, drawn when None), giving
    ``output_size`` or ``input size * output_ratio``.

    Example:
        >>> F.fractional_max_pool2d(ember.randn(1, 2, 9, 9), 3, output_ratio=(0.5, 0.5)).shape
        torch.Size([1, 2, 4, 4])
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices,
                                _random_samples, 2)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    """``fractional_max_pool3d`` returning ``(output, indices)`` (flat ``T*H*W`` indices).

    Example:
        >>> out, idx = F.fractional_max_pool3d_with_indices(ember.randn(1, 2, 5, 5, 5), 2,
        ...                                                 output_size=3)
        >>> idx.shape
        torch.Size([1, 2, 3, 3, 3])
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, True,
                                _random_samples, 3)


@_autocast.hooked("fractional_max_pool3d")
def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling over ``(N, C, T, H, W)``; ``_random_samples`` is ``(N, C, 3)``.

    Example:
        >>> F.fractional_max_pool3d(ember.randn(1, 2, 6, 6, 6), 2, output_size=3).shape
        torch.Size([1, 2, 3, 3, 3])
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices,
                                _random_samples, 3)
