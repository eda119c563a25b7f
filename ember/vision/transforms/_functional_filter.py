"""Convolution filters on images: ``gaussian_blur`` (re-exported by ``functional``)."""

from __future__ import annotations

import numpy as np

from . import _tensor_ops as TO
from ._functional_base import _check_img, _check_tensor_image, _is_pil_image, _wrap


def _blur_args(kernel_size, sigma) -> tuple[list[int], list[float]]:
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got "
                        f"{type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]  # OpenCV's rule of thumb
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    return list(kernel_size), list(sigma)


def gaussian_blur(img, kernel_size: list[int], sigma: list[float] | None = None):
    """Blur with a Gaussian of odd ``kernel_size`` [kx, ky] and ``sigma`` [sx, sy]; borders
    are reflected. ``sigma`` defaults to ``0.15 * k + 0.35`` per axis.

    Example:
        >>> gaussian_blur(ember.rand(3, 8, 8), [3, 3], [1.0, 1.0]).shape
        torch.Size([3, 8, 8])
    """
    _check_img(img, "gaussian_blur")
    kernel_size, sigma = _blur_args(kernel_size, sigma)
    was_pil = _is_pil_image(img)
    if was_pil:
        from .functional import pil_to_tensor

        img = pil_to_tensor(img)
    arr = _check_tensor_image(img, "gaussian_blur")
    work = arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    kx = TO.gaussian_kernel1d(kernel_size[0], sigma[0]).astype(work)
    ky = TO.gaussian_kernel1d(kernel_size[1], sigma[1]).astype(work)
    kernel = (ky[:, None] * kx[None, :]).astype(work)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    widths = [(0, 0)] * (arr.ndim - 2) + [(py, py), (px, px)]
    padded = np.pad(arr.astype(work), widths, mode="reflect")
    out = TO.depthwise_conv(padded, kernel)
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        out = np.clip(np.round(out), info.min, info.max)
    out = _wrap(out.astype(arr.dtype))
    if was_pil:
        from .functional import to_pil_image

        return to_pil_image(out)
    return out
