"""Geometric functional transforms: resize, crop, flip, pad, rotate (see ``functional``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import _tensor_image as TI
from . import _tensor_ops as TO
from ._functional_base import (
    InterpolationMode,
    _check_img,
    _check_tensor_image,
    _interp,
    _is_pil_image,
    _pil_resample,
    _wrap,
    get_dimensions,
)

# modes torchvision resizes tensors with ``interpolate`` (the others go through Pillow here)
_TENSOR_RESIZE = {InterpolationMode.NEAREST: "nearest",
                  InterpolationMode.NEAREST_EXACT: "nearest-exact",
                  InterpolationMode.BILINEAR: "bilinear", InterpolationMode.BICUBIC: "bicubic"}


def _output_size(h: int, w: int, size, max_size: int | None) -> list[int]:
    if isinstance(size, int) or len(size) == 1:
        requested = size if isinstance(size, int) else size[0]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return [new_h, new_w]
    return [size[0], size[1]]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size`` (h, w), or make the shorter side ``size`` when it is an int.

    Example:
        >>> resize(ember.rand(3, 40, 60), 20).shape
        torch.Size([3, 20, 30])
    """
    _check_img(img, "resize")
    mode = _interp(interpolation)
    if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
        raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a "
                         f"{len(size)} element tuple/list")
    if not isinstance(size, (int, list, tuple)):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if _is_pil_image(img):
        return img.resize((ow, oh), _pil_resample(mode))
    arr = _check_tensor_image(img, "resize")
    if mode in _TENSOR_RESIZE:  # torchvision's tensor backend: interpolate in float, round back
        return _wrap(TO.resize(arr, oh, ow, _TENSOR_RESIZE[mode], antialias))
    return _wrap(TI.per_channel_pil(arr, lambda p: p.resize((ow, oh), _pil_resample(mode))))


def crop(img, top: int, left: int, height: int, width: int):
    """The box at (top, left) of size (height, width); zero-padded where it leaves the image."""
    _check_img(img, "crop")
    if _is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    return _wrap(TI.crop(_check_tensor_image(img, "crop"), top, left, height, width))


def _pair(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


def center_crop(img, output_size):
    """The central (h, w) crop, zero-padded first when the image is smaller."""
    _check_img(img, "center_crop")
    crop_h, crop_w = _pair(output_size, "size")
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        padding = [(crop_w - w) // 2 if crop_w > w else 0, (crop_h - h) // 2 if crop_h > h else 0,
                   (crop_w - w + 1) // 2 if crop_w > w else 0,
                   (crop_h - h + 1) // 2 if crop_h > h else 0]
        img = pad(img, padding, fill=0)
        _, h, w = get_dimensions(img)
        if crop_w == w and crop_h == h:
            return img
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left-right."""
    _check_img(img, "hflip")
    if _is_pil_image(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _wrap(_check_tensor_image(img, "hflip")[..., ::-1])


def vflip(img):
    """Mirror top-bottom."""
    _check_img(img, "vflip")
    if _is_pil_image(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return _wrap(_check_tensor_image(img, "vflip")[..., ::-1, :])


def _parse_padding(padding) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if isinstance(padding, Sequence) and len(padding) in (1, 2, 4):
        p = [int(x) for x in padding]
        if len(p) == 1:
            return p[0], p[0], p[0], p[0]
        if len(p) == 2:
            return p[0], p[1], p[0], p[1]
        return p[0], p[1], p[2], p[3]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not {padding!r}")


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad by ``padding`` (int, (lr, tb) or (left, top, right, bottom)) with ``padding_mode``.

    Example:
        >>> pad(ember.ones(1, 2, 2), 1).shape
        torch.Size([1, 4, 4])
    """
    _check_img(img, "pad")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _parse_padding(padding)
    if _is_pil_image(img):
        from PIL import Image

        arr = np.asarray(img)
        chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        out = TI.pad(chw, left, top, right, bottom, fill, padding_mode)
        out = out[0] if arr.ndim == 2 else out.transpose(1, 2, 0)
        res = Image.fromarray(np.ascontiguousarray(out), mode=img.mode)
        if img.mode == "P":
            res.putpalette(img.getpalette())
        return res
    arr = _check_tensor_image(img, "pad")
    return _wrap(TI.pad(arr, left, top, right, bottom, fill, padding_mode))


def five_crop(img, size):
    """The four corner crops and the central crop of ``size`` (an int for a square, or
    ``(h, w)``), as a tuple ``(top_left, top_right, bottom_left, bottom_right, center)``.

    Example:
        >>> img = ember.arange(16.0).reshape(1, 4, 4)
        >>> [c.flatten().tolist() for c in five_crop(img, 1)]
        [[0.0], [3.0], [12.0], [15.0], [10.0]]
    """
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    _, height, width = get_dimensions(img)
    crop_h, crop_w = size
    if crop_w > width or crop_h > height:
        raise ValueError(f"Requested crop size {size} is bigger than input size "
                         f"{(height, width)}")
    # The corners, row by row; the far ones start where a crop ends flush with the edge.
    bottom, right = height - crop_h, width - crop_w
    corners = tuple(crop(img, top, left, crop_h, crop_w)
                    for top in (0, bottom) for left in (0, right))
    return (*corners, center_crop(img, [crop_h, crop_w]))


def ten_crop(img, size, vertical_flip: bool = False):
    """``five_crop`` of the image, then of its mirror (left-right, or top-bottom).

    Example:
        >>> len(ten_crop(ember.rand(3, 8, 8), 4))
        10
    """
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    first = five_crop(img, size)
    flipped = vflip(img) if vertical_flip else hflip(img)
    return first + five_crop(flipped, size)
