"""torch's uint8 bilinear and antialiased bicubic resize (what ``v2.functional.resize`` uses on
uint8 tensors): separable passes, horizontal then vertical, with the filter's weights in int16 fixed
point and integer accumulation. Float interpolation rounded back differs from it by a few grey
levels here and there, so it is emulated exactly."""

from __future__ import annotations

import numpy as np


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(x))


def _cubic(a: float):
    def f(x: np.ndarray) -> np.ndarray:
        x = np.abs(x)
        near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
        return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))
    return f


def _windowed(in_size: int, out_size: int, filt, filt_support: float, antialias: bool):
    """Taps and float weights of the window filter: with ``antialias`` a downscale widens the
    filter by the scale; the window is cut at the borders and its weights renormalised."""
    scale = in_size / out_size
    widen = antialias and scale >= 1.0
    support = filt_support * scale if widen else filt_support
    invscale = 1.0 / scale if widen else 1.0
    taps, weights = [], []
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        idx = np.arange(xmin, xmax)
        w = filt((idx - center + 0.5) * invscale)
        total = w.sum()
        if total != 0.0:
            w = w / total
        taps.append(idx)
        weights.append(w)
    return taps, weights


def _fixed_point(weights: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """int16 weights: the most bits (up to 22) for which the largest weight still fits."""
    max_weight = max(float(w.max()) for w in weights if w.size)
    precision = 0
    while precision < 22:
        if int(0.5 + max_weight * (1 << (precision + 1))) >= (1 << 15):
            break
        precision += 1
    scale = float(1 << precision)
    fixed = [np.where(w < 0, w * scale - 0.5, w * scale + 0.5).astype(np.int64) for w in weights]
    return fixed, precision


def _pass(arr: np.ndarray, out_size: int, axis: int, mode: str, antialias: bool) -> np.ndarray:
    """Resample ``arr`` (integer, ..., H, W) along ``axis`` (-1 or -2) to ``out_size``."""
    in_size = arr.shape[axis]
    if mode == "bilinear":
        taps, weights = _windowed(in_size, out_size, _triangle, 1.0, antialias)
    else:  # antialiased bicubic uses Pillow's a = -0.5
        taps, weights = _windowed(in_size, out_size, _cubic(-0.5), 2.0, True)
    fixed, precision = _fixed_point(weights)
    src = np.moveaxis(arr.astype(np.int64), axis, -1)
    out = np.empty(src.shape[:-1] + (out_size,), np.int64)
    for i, (idx, w) in enumerate(zip(taps, fixed)):
        out[..., i] = ((src[..., idx] * w).sum(-1) + (1 << (precision - 1))) >> precision
    return np.moveaxis(np.clip(out, 0, 255), -1, axis)


def resize_uint8(arr: np.ndarray, oh: int, ow: int, mode: str, antialias: bool) -> np.ndarray:
    """A uint8 ``(..., H, W)`` array resized to ``(oh, ow)`` as torch's ``interpolate`` does
    on uint8 (``mode`` ``"bilinear"``, or ``"bicubic"`` with ``antialias``;
    ``align_corners=False``). torch's plain (not antialiased) uint8 bicubic is not emulated."""
    out = arr
    if arr.shape[-1] != ow:
        out = _pass(out, ow, -1, mode, antialias)
    if arr.shape[-2] != oh:
        out = _pass(out, oh, -2, mode, antialias)
    return out.astype(np.uint8)
