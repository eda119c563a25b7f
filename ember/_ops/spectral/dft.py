"""The three DFT primitives every ``ember.fft`` transform is built from, as PyTorch builds them
(``_fft_c2c``, ``_fft_r2c``, ``_fft_c2r``), and the zero-pad/crop applied for ``n``/``s``.

Each backward is another transform, written with these ops so that higher derivatives work:

* c2c: the adjoint of a DFT is the DFT with the opposite sign and the same scale.
* r2c: the one-sided output's gradient is zero-filled back to the full length, transformed
  with the inverse sign, and its real part kept (the input was real).
* c2r: a one-sided r2c of the gradient, with the bins whose mirror image lies outside the
  one-sided half (1 .. n - n//2 - 1) doubled, since the forward used each of them twice.

Real inputs to c2c/c2r are promoted inside the op and get the real part of the gradient back,
as PyTorch's cast to complex does. NumPy (or CuPy on a GPU) computes; float32 stays float32.
"""

from __future__ import annotations

import numpy as np

from ..._backend import MetaArray, asarray_like, meta_array
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op
from ..pointwise.complex import real

# PyTorch's fft_norm_mode: how a transform is scaled, whatever its direction
NORM_NONE, NORM_BY_ROOT_N, NORM_BY_N = 0, 1, 2


def _numpy_norm(mode: int, forward: bool) -> str:
    """NumPy's ``norm=`` for a transform of the given direction scaled as ``mode`` says."""
    if mode == NORM_BY_ROOT_N:
        return "ortho"
    unscaled = "backward" if forward else "forward"  # NumPy names the direction that scales
    return unscaled if mode == NORM_NONE else ("forward" if forward else "backward")


def _complex_of(dt) -> np.dtype:
    return np.dtype(np.complex64) if dt in (np.float32, np.complex64) else \
        np.dtype(np.complex128)


class FftC2C(Op):
    @staticmethod
    def forward(ctx, x, dims, mode, forward):
        ctx.dims, ctx.mode, ctx.fwd = dims, mode, forward
        ctx.real_input = x.dtype.kind != "c"
        cdt = _complex_of(x.dtype)
        if isinstance(x, MetaArray):
            return meta_array(x.shape, cdt)
        if not dims:  # fftn over no dims: the promoted copy
            return x.astype(cdt)
        xp = xp_of(x)
        fn = xp.fft.fftn if forward else xp.fft.ifftn
        return fn(x, axes=dims, norm=_numpy_norm(mode, forward)).astype(cdt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        g = fft_c2c(grad, ctx.dims, ctx.mode, not ctx.fwd)
        return real(g) if ctx.real_input else g


class FftR2C(Op):
    holds_saved = True  # PyTorch's FftR2CBackward0 saves self (Op._free)

    @staticmethod
    def forward(ctx, x, dims, mode, onesided):
        ctx.dims, ctx.mode, ctx.onesided = dims, mode, onesided
        ctx.last_size = x.shape[dims[-1]]
        cdt = _complex_of(x.dtype)
        if isinstance(x, MetaArray):
            shape = list(x.shape)
            if onesided:
                shape[dims[-1]] = shape[dims[-1]] // 2 + 1
            return meta_array(shape, cdt)
        xp = xp_of(x)
        fn = xp.fft.rfftn if onesided else xp.fft.fftn
        return fn(x, axes=dims, norm=_numpy_norm(mode, True)).astype(cdt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.onesided:  # the dropped negative frequencies get zero gradient
            grad = fft_resize(grad, (ctx.dims[-1],), (ctx.last_size,))
        return real(fft_c2c(grad, ctx.dims, ctx.mode, False))


class FftC2R(Op):
    @staticmethod
    def forward(ctx, x, dims, mode, last_dim_size):
        ctx.dims, ctx.mode = dims, mode
        ctx.real_input = x.dtype.kind != "c"
        rdt = np.dtype(np.float32) if x.dtype in (np.float32, np.complex64) else \
            np.dtype(np.float64)
        sizes = [x.shape[d] for d in dims[:-1]] + [last_dim_size]
        if isinstance(x, MetaArray):
            shape = list(x.shape)
            shape[dims[-1]] = last_dim_size
            return meta_array(shape, rdt)
        out = xp_of(x).fft.irfftn(x, s=sizes, axes=dims, norm=_numpy_norm(mode, False))
        return out.astype(rdt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        last = ctx.dims[-1]
        gi = fft_r2c(grad, ctx.dims, ctx.mode, True)
        double = grad.shape[last] - gi.shape[last]
        if double > 0:  # bins 1..double stand for themselves and their mirror images
            w = np.ones(gi.shape[last], gi._dtype.to_real().np_dtype)
            w[1:1 + double] = 2
            w = w.reshape((-1,) + (1,) * (gi.ndim - 1 - last))
            gi = gi * Tensor._make(asarray_like(w, grad._data), gi._dtype.to_real())
        return real(gi) if ctx.real_input else gi


class FftResize(Op):
    """Crop or zero-pad ``dims`` to ``sizes`` (``n``/``s`` of a transform)."""

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims = dims
        ctx.old_sizes = tuple(x.shape[d] for d in dims)
        shape = list(x.shape)
        crop = [slice(None)] * x.ndim
        for d, n in zip(dims, sizes):
            shape[d] = n
            crop[d] = slice(0, min(n, x.shape[d]))
        if isinstance(x, MetaArray):
            return meta_array(shape, x.dtype)
        kept = x[tuple(crop)]
        if tuple(shape) == kept.shape:
            return kept.copy()
        out = xp_of(x).zeros(shape, x.dtype)
        out[tuple(slice(0, n) for n in kept.shape)] = kept
        return out

    @staticmethod
    def backward(ctx, grad):
        return fft_resize(grad, ctx.dims, ctx.old_sizes)


def fft_c2c(x: Tensor, dims: tuple, mode: int, forward: bool) -> Tensor:
    """The DFT of ``x`` over ``dims`` (sign by ``forward``, scale by ``mode``); complex out."""
    return FftC2C.apply(x, dims=tuple(dims), mode=mode, forward=forward)


def fft_r2c(x: Tensor, dims: tuple, mode: int, onesided: bool) -> Tensor:
    """The forward DFT of the real ``x``; ``onesided`` keeps ``n//2 + 1`` bins of ``dims[-1]``."""
    return FftR2C.apply(x, dims=tuple(dims), mode=mode, onesided=onesided)


def fft_c2r(x: Tensor, dims: tuple, mode: int, last_dim_size: int) -> Tensor:
    """The inverse DFT of a one-sided Hermitian ``x``: real, ``last_dim_size`` long in
    ``dims[-1]``."""
    return FftC2R.apply(x, dims=tuple(dims), mode=mode, last_dim_size=last_dim_size)


def fft_resize(x: Tensor, dims: tuple, sizes: tuple) -> Tensor:
    """``x`` cropped or zero-padded (at the end) to ``sizes`` along ``dims``; ``x`` itself when
    nothing changes."""
    if all(x.shape[d] == n for d, n in zip(dims, sizes)):
        return x
    return FftResize.apply(x, dims=tuple(dims), sizes=tuple(sizes))
