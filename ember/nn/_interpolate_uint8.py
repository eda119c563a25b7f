"""torch's uint8 resampling on the CPU: ``F.interpolate`` on a 4-D uint8 tensor in the
'bilinear', 'bicubic' and 'lanczos' modes (and torchvision's ``resize`` of uint8 images, which
calls it). torch does not interpolate in float and round: it runs separable passes, the last
(horizontal) axis first, then the vertical one, each rounded back to uint8, with the filter's
weights in int16 fixed point and integer accumulation. Float interpolation rounded back differs
from it by a grey level here and there, so it is emulated exactly.

The weights follow ``HelperInterpBase`` in ATen's ``UpSampleKernel.cpp``: with ``antialias``
Pillow's stretched, renormalised window (``_compute_indices_min_size_weights_aa``); without it
the plain 2- or 4-tap rule of the float kernels, whose taps past a border are folded onto the
edge pixel (``_compute_indices_min_size_weights``, Keys' a = -0.75 for bicubic)."""

from __future__ import annotations

import math

import numpy as np

# taps of the filter at scale 1 (torch's ``interp_size``)
_INTERP_SIZE = {"bilinear": 2, "bicubic": 4, "lanczos": 6}


def _scale(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> float:
    """``area_pixel_compute_scale``: input pixels per output pixel."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _aa_taps(n_in, n_out, r, mode):
    """First tap, float weights per output pixel and the largest weight, antialiased."""
    from .functional_conv import _AA_FILTERS

    half, kernel = _AA_FILTERS[mode]
    support = half * r if r >= 1.0 else half
    max_taps = int(math.ceil(support)) * 2 + 1
    invscale = 1.0 / r if r >= 1.0 else 1.0
    starts, weights, w_max = [], [], 0.0
    for i in range(n_out):
        center = r * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)  # int() truncates, as the C++ cast does
        size = min(max(min(int(center + support + 0.5), n_in) - lo, 0), max_taps)
        w = kernel((np.arange(lo, lo + size) - center + 0.5) * invscale)
        total = 0.0
        for v in w.tolist():  # summed in order, as the C++ loop does
            total += v
        if total != 0.0:
            w = w / total
            w_max = max(w_max, float(w.max(initial=0.0)))
        starts.append(lo)
        weights.append(w)
    return starts, weights, w_max


def _plain_taps(n_in, n_out, r, mode, align_corners):
    """First tap, float weights per output pixel and the largest weight, not antialiased:
    taps before the first / past the last pixel add their weight to that edge pixel."""
    from .functional_conv import _keys_cubic

    n_taps = _INTERP_SIZE[mode]
    cubic = n_taps > 2
    support = n_taps // 2
    starts, weights, w_max = [], [], 0.0
    for i in range(n_out):
        if align_corners:
            real = r * i
        else:
            real = r * (i + 0.5) - 0.5
            real = 0.0 if not cubic and real < 0 else real
        index = min(int(math.floor(np.float32(real))), n_in - 1)  # floorf, as in ATen
        lam = min(max(real - index, 0.0), 1.0)
        lo_unbound = index - support + 1
        lo = max(lo_unbound, 0)
        size = min(max(min(index + support + 1, n_in) - lo, 0), n_taps)
        w = [0.0] * n_taps
        k = 0
        for j in range(n_taps):
            x = float(j + 1 - support) - lam
            v = float(_keys_cubic(x, -0.75)) if cubic else max(0.0, 1.0 - abs(x))
            if lo_unbound + j <= 0:
                k = 0
            elif lo_unbound + j >= n_in - 1:
                k = size - 1
            w[k] += v
            w_max = max(w_max, w[k])
            k += 1
        starts.append(lo)
        weights.append(np.array(w[:size]))
    return starts, weights, w_max


def _fixed_point(weights, w_max):
    """int16 weights: the most bits (up to 22) for which the largest weight still fits."""
    precision = 0
    while precision < 22:
        if int(0.5 + w_max * (1 << (precision + 1))) >= (1 << 15):
            break
        precision += 1
    scale = float(1 << precision)
    fixed = [np.where(w < 0, w * scale - 0.5, w * scale + 0.5).astype(np.int64)
             for w in weights]  # astype truncates toward zero, as the C++ (int) cast
    return fixed, precision


def _pass(arr, out_size, axis, mode, align_corners, scale, antialias):
    """Resample ``arr`` (int64, ..., H, W) along ``axis`` (-1 or -2) to ``out_size``."""
    n_in = arr.shape[axis]
    r = _scale(n_in, out_size, align_corners, scale)
    if antialias:
        starts, weights, w_max = _aa_taps(n_in, out_size, r, mode)
    else:
        starts, weights, w_max = _plain_taps(n_in, out_size, r, mode, align_corners)
    fixed, precision = _fixed_point(weights, w_max)
    width = max(1, max(len(w) for w in fixed))
    idx = np.zeros((out_size, width), np.int64)
    wts = np.zeros((out_size, width), np.int64)
    for i, (lo, w) in enumerate(zip(starts, fixed)):
        idx[i, :len(w)] = np.arange(lo, lo + len(w))
        wts[i, :len(w)] = w
    src = np.moveaxis(arr, axis, -1)
    acc = (src[..., idx] * wts).sum(-1) + (1 << (precision - 1))
    return np.moveaxis(np.clip(acc >> precision, 0, 255), -1, axis)


def resize_uint8(arr: np.ndarray, out_hw, mode: str, align_corners: bool = False,
                 scales=(None, None), antialias: bool = False) -> np.ndarray:
    """A uint8 ``(..., H, W)`` array resized to ``out_hw`` as torch's uint8 kernels do.

    ``mode`` is 'bilinear', 'bicubic' or 'lanczos' (antialiased only); ``scales`` are the
    ``(h, w)`` scale factors ``interpolate`` was given (None: from the sizes).

    Example:
        >>> resize_uint8(np.full((1, 1, 2, 2), 200, np.uint8), (3, 3), "bilinear")[0, 0, 0]
        array([200, 200, 200], dtype=uint8)
    """
    oh, ow = out_hw
    out = arr.astype(np.int64)
    if arr.shape[-1] != ow:
        out = _pass(out, ow, -1, mode, align_corners, scales[1], antialias)
    if arr.shape[-2] != oh:
        out = _pass(out, oh, -2, mode, align_corners, scales[0], antialias)
    return out.astype(np.uint8)
