"""Image operations on raw arrays of shape (..., C, H, W): the tensor side of ``functional``.

Geometric resampling (resize, rotate) goes through Pillow's float ("F") mode one channel at a
time, so tensor and PIL images are resampled by the same code (PIL's antialiasing included).
"""

from __future__ import annotations

import numpy as np


def max_value(dtype: np.dtype) -> float:
    return 1.0 if np.issubdtype(dtype, np.floating) else float(np.iinfo(dtype).max)


def per_channel_pil(arr: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` (PIL image -> PIL image) to every (H, W) plane of ``arr``, in float32."""
    from PIL import Image

    planes = arr.reshape(-1, *arr.shape[-2:]).astype(np.float32, copy=False)
    out = [np.asarray(fn(Image.fromarray(p, mode="F")), np.float32) for p in planes]
    res = np.stack(out).reshape(*arr.shape[:-2], *out[0].shape)
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        res = np.clip(np.round(res), info.min, info.max)
    return res.astype(arr.dtype, copy=False)


def crop(arr: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Crop, padding with zeros where the box leaves the image (as torchvision does)."""
    h, w = arr.shape[-2:]
    if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
        return arr[..., top:top + height, left:left + width].copy()
    out = np.zeros((*arr.shape[:-2], height, width), arr.dtype)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + height, h), min(left + width, w)
    if t1 > t0 and l1 > l0:
        out[..., t0 - top:t1 - top, l0 - left:l1 - left] = arr[..., t0:t1, l0:l1]
    return out


def pad(arr: np.ndarray, left: int, top: int, right: int, bottom: int, fill,
        mode: str) -> np.ndarray:
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        if isinstance(fill, (tuple, list)) and arr.ndim >= 3:
            out = np.pad(arr, widths)
            inner = np.zeros(out.shape[-2:], bool)
            inner[top:top + arr.shape[-2], left:left + arr.shape[-1]] = True
            fills = np.asarray(fill, arr.dtype).reshape(-1, 1, 1)
            return np.where(inner, out, np.broadcast_to(fills, out.shape[-3:]))
        return np.pad(arr, widths, constant_values=fill)
    return np.pad(arr, widths, mode=mode)


def grayscale(arr: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma of (..., 3, H, W) as (..., 1, H, W), kept in the input dtype."""
    # the weighted sum runs in the image's float dtype, float32 for integer images (as torch
    # does; mixing in float64 moved rare uint8 pixels by one)
    work = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    r, g, b = (arr[..., c, :, :].astype(work) for c in range(3))
    gray = 0.2989 * r + 0.587 * g + 0.114 * b
    return gray.astype(arr.dtype)[..., None, :, :]


def blend(img1: np.ndarray, img2, ratio: float) -> np.ndarray:
    bound = max_value(img1.dtype)
    # a NumPy float64 ratio would promote the float32 work to float64 and move some integer
    # results by one; torch multiplies in the image's float dtype whatever the scalar's type
    ratio = float(ratio)
    # float images blend in their own dtype (float64 stays float64), integer ones in float32
    work = img1.dtype if np.issubdtype(img1.dtype, np.floating) else np.dtype(np.float32)
    out = ratio * img1.astype(work) + (1.0 - ratio) * np.asarray(img2, work)
    return np.clip(out, 0, bound).astype(img1.dtype)


def rgb_to_hsv(img: np.ndarray) -> np.ndarray:
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    # times a float32 sixth, not divided by six: torchvision's rounding (probed, bit for bit)
    h = np.fmod((hr + hg + hb) * (1.0 / 6.0) + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def hsv_to_rgb(img: np.ndarray) -> np.ndarray:
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s + s * f), 0.0, 1.0)  # this grouping rounds as torchvision does
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros((*h.shape[:-2], 3, *h.shape[-2:]), img.dtype)
    for k, (rr, gg, bb) in enumerate(choices):
        mask = i == k
        out[..., 0, :, :] += mask * rr
        out[..., 1, :, :] += mask * gg
        out[..., 2, :, :] += mask * bb
    return out


def adjust_hue(arr: np.ndarray, hue_factor: float) -> np.ndarray:
    orig = arr.dtype
    img = arr.astype(np.float32) / 255.0 if orig == np.uint8 else arr.astype(np.float32)
    hsv = rgb_to_hsv(img)
    hsv[..., 0, :, :] = np.fmod(hsv[..., 0, :, :] + hue_factor, 1.0)
    hsv[..., 0, :, :] = np.where(hsv[..., 0, :, :] < 0, hsv[..., 0, :, :] + 1.0,
                                 hsv[..., 0, :, :])
    rgb = hsv_to_rgb(hsv)
    if orig == np.uint8:  # convert_image_dtype's float -> uint8: scale by 256 - eps, truncate
        return (rgb * np.float32(255.999)).astype(np.uint8)
    return rgb.astype(orig)
