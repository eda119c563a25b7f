"""Raw-array convolution kernels for ``conv``: im2col (one strided copy) + GEMM forward, the
scatter-free input gradient and the one-GEMM weight gradient, with reusable workspaces."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# -- workspaces -----------------------------------------------------------------------------
# Large temporaries (im2col columns, GEMM results, padded copies) are reused between calls:
# a fresh 50 MB array costs more in page faults than the copy that fills it. Buffers are keyed
# by a tag, shape and dtype; for zero-bordered buffers the key also pins the layout, so the
# parts never written stay zero across reuses.

_FREE: dict = {}
_MAX_KEYS = 32
_MIN_BYTES = 1 << 18  # small arrays are cheap to allocate; pool only the big ones


def _take(key, shape, dtype, zeros=False) -> np.ndarray:
    lst = _FREE.get(key)
    if lst:
        return lst.pop()
    return np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)


def _give(key, arr) -> None:
    if arr is None or arr.nbytes < _MIN_BYTES:
        return
    lst = _FREE.get(key)
    if lst is None:
        if len(_FREE) >= _MAX_KEYS:
            _FREE.clear()
        lst = _FREE[key] = []
    if len(lst) < 2:
        lst.append(arr)


# -- raw-array kernels ----------------------------------------------------------------------

def _pad_spatial(x: np.ndarray, pads, pooled=False) -> np.ndarray:
    """Zero-pad (positive) or crop (negative) the trailing spatial axes of ``x``."""
    nd = len(pads)
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    lead = x.ndim - nd
    crop = tuple(slice(max(-lo, 0), x.shape[lead + i] - max(-hi, 0))
                 for i, (lo, hi) in enumerate(pads))
    x = x[(slice(None),) * lead + crop]
    if all(lo <= 0 and hi <= 0 for lo, hi in pads):
        return x
    shape = x.shape[:lead] + tuple(x.shape[lead + i] + max(lo, 0) + max(hi, 0)
                                   for i, (lo, hi) in enumerate(pads))
    key = ("pad", shape, x.dtype, tuple(pads))
    out = _take(key, shape, x.dtype, zeros=True) if pooled else np.zeros(shape, dtype=x.dtype)
    inner = tuple(slice(max(lo, 0), max(lo, 0) + x.shape[lead + i])
                  for i, (lo, hi) in enumerate(pads))
    out[(slice(None),) * lead + inner] = x  # the border is never written: it stays zero
    return out


def _release_pad(xp, x, pads) -> None:
    if xp is not x and xp.base is None:
        _give(("pad", xp.shape, xp.dtype, tuple(pads)), xp)


def _out_size(size, k, s, pad, d):
    return [(n + lo + hi - d_ * (k_ - 1) - 1) // s_ + 1
            for n, k_, s_, (lo, hi), d_ in zip(size, k, s, pad, d)]


def _im2col(x: np.ndarray, ksize, stride, pad, dilation, groups):
    """Columns ``(G, Cg*K, N*L)`` of the padded input (one strided copy), the output size and
    the layout (``None``, or the flat strides and row length of the "wide" layout)."""
    xp = _pad_spatial(x, pad, pooled=True)
    n, c = xp.shape[:2]
    nd = len(ksize)
    sp = xp.shape[2:]
    osize = [(sp[i] - dilation[i] * (ksize[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    rows = c // groups * int(np.prod(ksize, dtype=np.int64))
    if nd > 1 and all(s == 1 for s in stride):
        # Stride 1: compute on the flattened image ("wide" rows that run past the right edge
        # and are dropped later), so the copy moves long contiguous runs instead of short rows.
        xp = np.ascontiguousarray(xp)
        item = xp.itemsize
        flat = [int(np.prod(sp[i + 1:], dtype=np.int64)) for i in range(nd)]
        length = sum((o - 1) * f for o, f in zip(osize, flat)) + 1
        shape = (c, *ksize, n, length)
        strides = (xp.strides[1], *(d * f * item for d, f in zip(dilation, flat)),
                   xp.strides[0], item)
        cols = _take(("cols", shape, xp.dtype), shape, xp.dtype)
        np.copyto(cols, as_strided(xp, shape, strides, writeable=False))
        _release_pad(xp, x, pad)
        return cols.reshape(groups, rows, n * length), osize, (flat, length)
    st = xp.strides
    # (C, *k, N, *out): windows along k step by the dilation, along out by the stride
    shape = (c, *ksize, n, *osize)
    strides = (st[1], *(st[2 + i] * dilation[i] for i in range(nd)), st[0],
               *(st[2 + i] * stride[i] for i in range(nd)))
    cols = _take(("cols", shape, xp.dtype), shape, xp.dtype)
    np.copyto(cols, as_strided(xp, shape, strides, writeable=False))
    _release_pad(xp, x, pad)
    return cols.reshape(groups, rows, n * int(np.prod(osize, dtype=np.int64))), osize, None


def _release_cols(cols) -> None:
    """Hand an im2col buffer (a reshaped view of the pooled array) back to the pool."""
    base = cols.base if cols.base is not None else cols
    _give(("cols", base.shape, base.dtype), base)


def _valid_view(a: np.ndarray, n: int, o: int, osize, wide, writeable=False) -> np.ndarray:
    """View ``a`` (contiguous, laid out ``(O, N, L)``) as ``(N, O, *out)``."""
    item = a.itemsize
    if wide is None:
        length = int(np.prod(osize, dtype=np.int64))
        flat = [int(np.prod(osize[i + 1:], dtype=np.int64)) for i in range(len(osize))]
    else:
        flat, length = wide
    strides = (length * item, n * length * item, *(f * item for f in flat))
    return as_strided(a, (n, o, *osize), strides, writeable=writeable)


def _conv_raw(x, w, b, stride, pad, dilation, groups, keep_cols=False):
    n = x.shape[0]
    o = w.shape[0]
    cols, osize, wide = _im2col(x, w.shape[2:], stride, pad, dilation, groups)
    wm = w.reshape(groups, o // groups, -1)
    if wm.dtype != cols.dtype:  # integer weights with an integer input, etc.: NumPy promotes
        wm = wm.astype(cols.dtype)
    okey = ("out", (groups, o // groups, cols.shape[-1]), cols.dtype)
    out = _take(okey, okey[1], cols.dtype)
    np.matmul(wm, cols, out=out)  # (G, Og, N*L): one GEMM per group
    src = _valid_view(out, n, o, osize, wide)
    y = np.empty((n, o, *osize), dtype=out.dtype)
    if b is not None:
        np.add(src, b.reshape((1, o) + (1,) * len(osize)), out=y)
    else:
        np.copyto(y, src)
    _give(okey, out)
    if keep_cols:
        return y, (cols, wide)
    _release_cols(cols)
    return y, None


def _conv_input_raw(g, w, in_size, stride, pad, dilation, groups):
    """Gradient of a convolution with respect to its input (= transposed convolution)."""
    nd = len(in_size)
    ksize = w.shape[2:]
    if any(s != 1 for s in stride):
        zshape = g.shape[:2] + tuple((o - 1) * s + 1 for o, s in zip(g.shape[2:], stride))
        zkey = ("dilate", zshape, g.dtype, tuple(stride))
        z = _take(zkey, zshape, g.dtype, zeros=True)  # off-stride entries stay zero
        z[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = g
    else:
        z = g
    pads = []
    for i in range(nd):
        ext = dilation[i] * (ksize[i] - 1)
        lo = pad[i][0]
        pads.append((ext - lo, in_size[i] + lo - z.shape[2 + i]))
    o, cg = w.shape[:2]
    og = o // groups
    wt = w.reshape(groups, og, cg, *ksize).swapaxes(1, 2)
    wt = wt[(Ellipsis,) + (slice(None, None, -1),) * nd].reshape(groups * cg, og, *ksize)
    y, _ = _conv_raw(z, wt, None, (1,) * nd, tuple(pads), dilation, groups)
    if z is not g:
        _give(zkey, z)
    return y


def _conv_weight_raw(x, g, ksize, stride, pad, dilation, groups, cols=None):
    """Gradient of a convolution with respect to its weight: one GEMM per group."""
    if cols is None:
        cols, _, wide = _im2col(x, ksize, stride, pad, dilation, groups)
    else:
        cols, wide = cols
    n, o = g.shape[:2]
    length = cols.shape[-1] // n if n else 0
    # the key pins the valid positions, so the never-written (wide) padding stays zero
    gkey = ("gt", (o, n, length), g.dtype, None if wide is None else tuple(wide[0]),
            tuple(g.shape[2:]))
    gt = _take(gkey, gkey[1], g.dtype, zeros=wide is not None)  # wide padding stays zero
    _valid_view(gt, n, o, g.shape[2:], wide, writeable=True)[...] = g
    gw = np.matmul(gt.reshape(groups, o // groups, n * length),
                   cols.transpose(0, 2, 1))  # (G, Og, Cg*K)
    _give(gkey, gt)
    _release_cols(cols)
    return gw.reshape(o, x.shape[1] // groups, *ksize)
