"""What the functional image transforms share: ``InterpolationMode``, input checks, sizes.

Re-exported by ``functional``, the public module.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor


class InterpolationMode(Enum):
    """How resizing and geometric transforms interpolate (torchvision's names and values).

    Example:
        >>> InterpolationMode.BILINEAR.value
        'bilinear'
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil_resample(mode: InterpolationMode):
    from PIL import Image

    r = Image.Resampling
    return {InterpolationMode.NEAREST: r.NEAREST, InterpolationMode.NEAREST_EXACT: r.NEAREST,
            InterpolationMode.BILINEAR: r.BILINEAR, InterpolationMode.BICUBIC: r.BICUBIC,
            InterpolationMode.BOX: r.BOX, InterpolationMode.HAMMING: r.HAMMING,
            InterpolationMode.LANCZOS: r.LANCZOS}[mode]


def _interp(mode) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, str):
        return InterpolationMode(mode)
    if isinstance(mode, int):  # a PIL constant
        names = {0: "nearest", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming", 1: "lanczos"}
        return InterpolationMode(names[mode])
    raise TypeError(f"interpolation should be an InterpolationMode, got {type(mode).__name__}")


def _is_pil_image(img: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:
        return False
    return isinstance(img, Image.Image)


def _check_img(img: Any, fn: str) -> None:
    if not (isinstance(img, Tensor) or _is_pil_image(img)):
        raise TypeError(f"{fn}: img should be a PIL Image or a Tensor of shape (..., C, H, W); "
                        f"got {type(img).__name__}")


def _check_tensor_image(t: Tensor, fn: str) -> np.ndarray:
    if t.ndim < 2:
        raise TypeError(f"{fn}: a tensor image needs at least 2 dimensions (..., H, W), got "
                        f"shape {tuple(t.shape)}")
    return np.asarray(t._data)


def _wrap(arr: np.ndarray) -> Tensor:
    return Tensor._make(np.ascontiguousarray(arr), D.from_numpy_dtype(arr.dtype))


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or a tensor image."""
    _check_img(img, "get_dimensions")
    if isinstance(img, Tensor):
        c = 1 if img.ndim == 2 else img.shape[-3]
        return [c, img.shape[-2], img.shape[-1]]
    return [len(img.getbands()), img.height, img.width]


def get_image_size(img) -> list[int]:
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]
