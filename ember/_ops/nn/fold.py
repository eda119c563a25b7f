"""``unfold`` (im2col: sliding blocks to columns) and ``fold`` (col2im: columns summed back
into an image). Each is the other's adjoint, so each backward is the other op."""

from __future__ import annotations

import itertools

from ..._backend import as_strided, ascontiguousarray
from ..._backend import get_array_module as xp_of
from .._core import Op
from .._dispatch import refuse


def _blocks(size, ksize, dilation, pad, stride):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, ksize, dilation, pad, stride))


class Unfold(Op):
    """``(N, C, H, W) -> (N, C*kh*kw, L)``: one strided copy of the zero-padded input; an
    unbatched ``(C, H, W)`` input gives ``(C*kh*kw, L)`` in the same node, as torch's im2col."""

    _name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, *, ksize, dilation, pad, stride):
        refuse("im2col", ctx.inputs[0]._dtype)  # torch's im2col has no integer loop
        batched = x.ndim == 4
        x = x if batched else x[None]
        ctx.args = (x.shape[2:], ksize, dilation, pad, stride)
        n, c, h, w = x.shape
        if any(pad):
            padded = xp_of(x).zeros((n, c, h + 2 * pad[0], w + 2 * pad[1]), dtype=x.dtype)
            padded[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
        else:
            padded = x
        oh, ow = _blocks((h, w), ksize, dilation, pad, stride)
        s = padded.strides
        win = as_strided(padded, (n, c, ksize[0], ksize[1], oh, ow),
                         (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1], s[2] * stride[0],
                          s[3] * stride[1]), writeable=False)
        out = ascontiguousarray(win).reshape(n, c * ksize[0] * ksize[1], oh * ow)
        return out if batched else out[0]

    @staticmethod
    def backward(ctx, grad):
        size, ksize, dilation, pad, stride = ctx.args
        return Fold.apply(grad, size=size, ksize=ksize, dilation=dilation, pad=pad,
                          stride=stride)


class Fold(Op):
    """``(N, C*kh*kw, L) -> (N, C, H, W)``: overlapping blocks are summed (slice adds); an
    unbatched ``(C*kh*kw, L)`` input gives ``(C, H, W)``, as torch's col2im."""

    _name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, *, size, ksize, dilation, pad, stride):
        refuse("col2im", ctx.inputs[0]._dtype)
        ctx.args = (ksize, dilation, pad, stride)
        batched = cols.ndim == 3
        cols = cols if batched else cols[None]
        n, ck, _ = cols.shape
        kk = ksize[0] * ksize[1]
        c = ck // kk
        oh, ow = _blocks(size, ksize, dilation, pad, stride)
        hp, wp = size[0] + 2 * pad[0], size[1] + 2 * pad[1]
        out = xp_of(cols).zeros((n, c, hp, wp), dtype=cols.dtype)
        blocks = cols.reshape(n, c, ksize[0], ksize[1], oh, ow)
        for i, j in itertools.product(range(ksize[0]), range(ksize[1])):
            r, q = i * dilation[0], j * dilation[1]
            out[:, :, r:r + (oh - 1) * stride[0] + 1:stride[0],
                q:q + (ow - 1) * stride[1] + 1:stride[1]] += blocks[:, :, i, j]
        out = ascontiguousarray(out[:, :, pad[0]:pad[0] + size[0], pad[1]:pad[1] + size[1]])
        return out if batched else out[0]

    @staticmethod
    def backward(ctx, grad):
        ksize, dilation, pad, stride = ctx.args
        return Unfold.apply(grad, ksize=ksize, dilation=dilation, pad=pad, stride=stride)
