"""Convolution filters on images: ``gaussian_blur`` (re-exported by ``functional``)."""

from __future__ import annotations

import numpy as np

from . import _tensor_ops as TO
from ._functional_base import _check_img, _check_tensor_image, _is_pil_image, _wrap


def _blur_args(kernel_size, sigma) -> tuple[list[int], list[float]]:
    """``gaussian_blur``'s arguments checked and made pairs (x, y), as torchvision does: an int
    kernel size is square, and a missing sigma follows from each kernel size (OpenCV's rule,
    ``0.3 * ((k - 1) / 2 - 1) + 0.8``)."""
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    elif isinstance(kernel_size, (list, tuple)):
        if len(kernel_size) != 2:
            raise ValueError("If kernel_size is a sequence its length should be 2. Got "
                             f"{len(kernel_size)}")
        kernel_size = list(kernel_size)
    else:
        raise TypeError("kernel_size should be int or a sequence of integers. Got "
                        f"{type(kernel_size)}")
    if any(k <= 0 or k % 2 == 0 for k in kernel_size):
        raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")

    if sigma is None:
        sigma = [0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in kernel_size]
    elif isinstance(sigma, (int, float)):
        sigma = [float(sigma)] * 2
    elif isinstance(sigma, (list, tuple)):
        if len(sigma) not in (1, 2):
            raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
        sigma = [float(s) for s in sigma] * (3 - len(sigma))  # one value serves both axes
    else:
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if any(s <= 0.0 for s in sigma):
        raise ValueError(f"sigma should have positive values. Got {sigma}")
    return kernel_size, sigma


def _check_reflect_pad(shape, px: int, py: int) -> None:
    """torchvision pads the (1, C, H, W) batch with ``F.pad(mode="reflect")``, which refuses a
    kernel half-width not smaller than the image: run that check (on a meta tensor, no data)."""
    from ... import empty
    from ...nn import functional as F

    shape4 = (1,) * max(0, 4 - len(shape)) + tuple(shape)
    F.pad(empty(shape4, device="meta"), [px, px, py, py], mode="reflect")


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
    kx = TO.gaussian_kernel1d(kernel_size[0], sigma[0], work)
    ky = TO.gaussian_kernel1d(kernel_size[1], sigma[1], work)
    kernel = (ky[:, None] * kx[None, :]).astype(work)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    _check_reflect_pad(arr.shape, px, py)
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
