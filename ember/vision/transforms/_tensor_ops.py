"""Tensor-image arithmetic that must reproduce torchvision's tensor backend pixel for pixel.

torchvision resamples tensor images with ``interpolate`` and ``grid_sample`` in float32 and
rounds back to integer dtypes; the helpers here do the same on raw (..., C, H, W) arrays, using
ember's own ``interpolate``/``grid_sample`` so both libraries sample with the same kernels.
"""

from __future__ import annotations

import math

import numpy as np

_FLOATS = (np.float32, np.float64)


def to_work_dtype(arr: np.ndarray) -> tuple[np.ndarray, np.dtype, tuple[int, ...]]:
    """(N, C, H, W) float copy of ``arr`` (float32 unless it is float32/64), with how to undo."""
    lead = arr.shape[:-3] if arr.ndim >= 3 else ()
    planes = arr.reshape(-1, *arr.shape[-3:]) if arr.ndim >= 3 else arr[None, None]
    if planes.dtype.type not in _FLOATS:
        planes = planes.astype(np.float32)
    return planes, arr.dtype, lead if arr.ndim >= 3 else None


def from_work_dtype(out: np.ndarray, dtype: np.dtype, lead) -> np.ndarray:
    """Undo ``to_work_dtype``: integer images are rounded (and clamped) back to ``dtype``."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(np.round(out), info.min, info.max)
    out = out.astype(dtype, copy=False)
    if lead is None:
        return out[0, 0]
    return out.reshape(*lead, *out.shape[-3:])


def resize(arr: np.ndarray, oh: int, ow: int, mode: str, antialias: bool) -> np.ndarray:
    from ... import nn
    from ..._dtype import from_numpy_dtype
    from ..._tensor import Tensor

    planes, dtype, lead = to_work_dtype(arr)
    if mode == "bilinear" and not antialias and np.issubdtype(dtype, np.integer):
        # rounding back to integers exposes float32 last-bit differences, so follow torch's
        # float32 operation order exactly here
        return from_work_dtype(_bilinear_f32(planes, oh, ow), dtype, lead)
    x = Tensor._make(np.ascontiguousarray(planes), from_numpy_dtype(planes.dtype))
    kw = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    aa = bool(antialias) and mode in ("bilinear", "bicubic")
    out = nn.functional.interpolate(x, size=[oh, ow], mode=mode, antialias=aa, **kw)
    return from_work_dtype(np.asarray(out._data), dtype, lead)


def _fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 ``a * b + c`` rounded once, as a fused multiply-add: the float32 product is exact
    in float64, and the float64 sum rounds to the same float32 except in vanishingly rare
    double-rounding ties."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def _linear_taps(n_in: int, n_out: int):
    """Source taps and float32 weights of torch's bilinear (``align_corners=False``) along one
    axis: the scale is a float32 ratio, the source coordinate is formed in double and rounded
    to float32 (measured against torch, 841 of 841 size pairs match bit for bit)."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = (np.float64(scale) * (np.arange(n_out) + 0.5) - 0.5).astype(np.float32)
    src = np.maximum(src, np.float32(0.0))
    i0 = src.astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = (src - i0.astype(np.float32)).astype(np.float32)
    return i0, i1, (np.float32(1.0) - l1).astype(np.float32), l1


def _bilinear_f32(planes: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """torch's float32 bilinear resize (no antialias) of (N, C, H, W) ``planes``, bit for bit:
    the four corner weights are float32 products and are accumulated with fused multiply-adds
    in torch's order (top-right, top-left, bottom-left, bottom-right)."""
    h0, h1, hl0, hl1 = _linear_taps(planes.shape[-2], oh)
    w0, w1, wl0, wl1 = _linear_taps(planes.shape[-1], ow)
    x = planes.astype(np.float32, copy=False)
    rows0, rows1 = h0[:, None], h1[:, None]
    a0, a1 = hl0[:, None], hl1[:, None]
    acc = (a0 * wl1) * x[..., rows0, w1]
    acc = _fma32(a0 * wl0, x[..., rows0, w0], acc)
    acc = _fma32(a1 * wl0, x[..., rows1, w0], acc)
    return _fma32(a1 * wl1, x[..., rows1, w1], acc)


# -- affine grids --------------------------------------------------------------------------------

def inverse_affine_matrix(center, angle, translate, scale, shear) -> list[float]:
    """The 2x3 matrix (row-major, 6 numbers) taking output pixels back to input pixels.

    The forward map is T(translate) C(center) R(angle) Sh(shear) S(scale) C^-1; its inverse is
    written out in closed form so it is exact in float64, as torchvision computes it."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def _base_grid(oh: int, ow: int, dtype, x0: float, y0: float) -> np.ndarray:
    """(oh*ow, 3) rows (x, y, 1) of pixel centres, x counting from ``x0`` and y from ``y0``."""
    base = np.ones((oh, ow, 3), dtype)
    base[..., 0] = _linspace(x0, x0 + ow - 1.0, ow, dtype)[None, :]
    base[..., 1] = _linspace(y0, y0 + oh - 1.0, oh, dtype)[:, None]
    return base.reshape(-1, 3)


def _linspace(start: float, end: float, steps: int, dtype) -> np.ndarray:
    """``torch.linspace`` in ``dtype``, bit for bit: the step is computed in ``dtype``; the first
    half counts up from ``start`` and the second half down from ``end`` (so both ends are
    exact), each point with a single rounding (a fused multiply-add)."""
    if steps == 1:
        return np.array([start], dtype)
    start_d, end_d = np.asarray(start, dtype), np.asarray(end, dtype)
    step = ((end_d - start_d) / np.asarray(steps - 1, dtype)).astype(dtype)
    idx = np.arange(steps)
    wide = np.float64 if np.dtype(dtype).itemsize < 8 else np.longdouble
    up = wide(start_d) + wide(step) * idx
    down = wide(end_d) - wide(step) * (steps - 1 - idx)
    return np.where(idx < steps // 2, up, down).astype(dtype)


def affine_grid(matrix: list[float], w: int, h: int, ow: int, oh: int, dtype,
                in_order: bool = False) -> np.ndarray:
    theta = np.asarray(matrix, dtype).reshape(2, 3)
    base = _base_grid(oh, ow, dtype, -ow * 0.5 + 0.5, -oh * 0.5 + 0.5)  # centred
    scaled = theta.T / np.asarray([0.5 * w, 0.5 * h], dtype)
    if in_order:
        # the torch 2.13 CPU build the v2 fixtures come from sums x*s0 + y*s1 + s2 left to
        # right, each step rounded in ``dtype`` (probed); NumPy's matmul (which the v1 fixture's
        # torch agreed with) can round a nearest-neighbour tie the other way
        grid = (base[:, 0:1] * scaled[0] + base[:, 1:2] * scaled[1]).astype(dtype) + scaled[2]
        return grid.astype(dtype).reshape(1, oh, ow, 2)
    return (base @ scaled).astype(dtype).reshape(1, oh, ow, 2)


def perspective_grid(coeffs: list[float], ow: int, oh: int, dtype) -> np.ndarray:
    c = coeffs
    theta1 = np.asarray([[c[0], c[1], c[2]], [c[3], c[4], c[5]]], dtype)
    theta2 = np.asarray([[c[6], c[7], 1.0], [c[6], c[7], 1.0]], dtype)
    base = _base_grid(oh, ow, dtype, 0.5, 0.5)  # from the top-left corner
    num = base @ (theta1.T / np.asarray([0.5 * ow, 0.5 * oh], dtype))
    den = base @ theta2.T
    return (num / den - np.asarray(1.0, dtype)).astype(dtype).reshape(1, oh, ow, 2)


def affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """(width, height) that holds the whole rotated image (``rotate(expand=True)``).

    The output keeps the input's centre and grows (or shrinks) by whole pixels on both sides,
    so its size differs from the input's by an even number."""
    half = np.array([0.5 * w, 0.5 * h], np.float32)
    pts = np.array([[-half[0], -half[1], 1.0], [-half[0], half[1], 1.0],
                    [half[0], half[1], 1.0], [half[0], -half[1], 1.0]], np.float32)
    theta = np.asarray(matrix, np.float32).reshape(2, 3)
    new = pts @ theta.T
    tol = np.float32(1e-4)  # snap away float noise (cos 90 degrees) before rounding outwards
    grow_hi = np.ceil(np.trunc((new.max(axis=0) - half) / tol) * tol)
    grow_lo = np.floor(np.trunc((new.min(axis=0) + half) / tol) * tol)
    size = np.array([w, h]) + grow_hi - grow_lo
    return int(size[0]), int(size[1])


def grid_transform(arr: np.ndarray, grid: np.ndarray, mode: str, fill) -> np.ndarray:
    """Sample ``arr`` at ``grid`` (zeros outside), then paint ``fill`` where nothing was read.

    With a fill, a channel of ones is sampled alongside: its value says how much of each
    output pixel came from inside the image (nearest: inside iff >= 0.5; bilinear: blend)."""
    from ... import nn
    from ..._dtype import from_numpy_dtype
    from ..._tensor import Tensor

    planes, dtype, lead = to_work_dtype(arr)
    n = planes.shape[0]
    if fill is not None:
        planes = np.concatenate([planes, np.ones((n, 1, *planes.shape[-2:]), planes.dtype)], 1)
    g = np.broadcast_to(grid.astype(planes.dtype), (n, *grid.shape[1:]))
    dt = from_numpy_dtype(planes.dtype)
    out = nn.functional.grid_sample(Tensor._make(np.ascontiguousarray(planes), dt),
                                    Tensor._make(np.ascontiguousarray(g), dt), mode=mode,
                                    padding_mode="zeros", align_corners=False)
    out = np.array(out._data)
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        mask = np.broadcast_to(mask, out.shape)
        fills = list(fill) if isinstance(fill, (list, tuple)) else [float(fill)]
        fill_img = np.asarray(fills, out.dtype).reshape(1, -1, 1, 1)
        fill_img = np.broadcast_to(fill_img, out.shape) if len(fills) > 1 else \
            np.broadcast_to(fill_img[:, :1], out.shape)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    return from_work_dtype(out.astype(planes.dtype, copy=False), dtype, lead)


# -- filters -------------------------------------------------------------------------------------

def gaussian_kernel1d(size: int, sigma: float, dtype=np.float32) -> np.ndarray:
    # built in the image's float dtype: torchvision blurs a float64 image with a float64 kernel
    dtype = np.dtype(dtype)
    half = (size - 1) * 0.5
    x = _linspace(-half, half, size, dtype)
    pdf = np.exp(dtype.type(-0.5) * (x / dtype.type(sigma)) ** 2)
    return (pdf / pdf.sum(dtype=dtype)).astype(dtype)


def depthwise_conv(planes: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'valid' correlation of every (H, W) plane with one (kh, kw) kernel, summed in float64
    (so the float32 result is the correctly rounded one)."""
    kh, kw = kernel.shape
    oh, ow = planes.shape[-2] - kh + 1, planes.shape[-1] - kw + 1
    acc = np.zeros((*planes.shape[:-2], oh, ow), np.float64)
    for i in range(kh):
        for j in range(kw):
            acc += float(kernel[i, j]) * planes[..., i:i + oh, j:j + ow]
    return acc.astype(planes.dtype)

