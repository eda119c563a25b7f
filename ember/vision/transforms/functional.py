"""Functional image transforms on PIL images and on tensors (..., C, H, W), as torchvision's.

Example:
    >>> t = F.to_tensor(pil_image)                  # uint8 HWC -> float CHW in [0, 1]
    >>> t = F.normalize(t, (0.5,) * 3, (0.5,) * 3)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from . import _tensor_image as TI

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize",
           "resize", "crop", "center_crop", "resized_crop", "hflip", "vflip", "rotate", "pad",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "to_grayscale", "rgb_to_grayscale", "erase", "convert_image_dtype",
           "get_image_size", "get_dimensions", "get_image_num_channels"]


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


# -- conversion --------------------------------------------------------------------------------

def to_tensor(pic) -> Tensor:
    """PIL image or ndarray (H, W, C) to a tensor (C, H, W); uint8 is scaled to float [0, 1].

    Example:
        >>> to_tensor(np.full((2, 2, 3), 255, np.uint8)).max()
        tensor(1.)
    """
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray) and pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    fdt = D.get_default_dtype()
    if isinstance(pic, np.ndarray):
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if arr.dtype == np.uint8:
            return Tensor._make((arr.astype(fdt.np_dtype) / fdt.np_dtype.type(255)), fdt)
        return _wrap(arr)
    mode_to_dtype = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    arr = np.array(pic, mode_to_dtype.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        arr = 255 * arr
    arr = np.ascontiguousarray(arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
                               .transpose(2, 0, 1))
    if arr.dtype == np.uint8:
        return Tensor._make(arr.astype(fdt.np_dtype) / fdt.np_dtype.type(255), fdt)
    return _wrap(arr)


def pil_to_tensor(pic) -> Tensor:
    """PIL image to a tensor (C, H, W) with its own dtype (no scaling)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return _wrap(arr.transpose(2, 0, 1))


def to_pil_image(pic, mode: str | None = None):
    """Tensor (C, H, W) or ndarray (H, W, C) to a PIL image; float is scaled by 255.

    Example:
        >>> to_pil_image(ember.rand(3, 8, 8)).size
        (8, 8)
    """
    from PIL import Image

    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = np.asarray(pic._data)
        arr = arr[None] if arr.ndim == 2 else arr
        if pic.is_floating_point() and mode != "F":
            arr = np.clip(arr * 255, 0, 255).astype(np.uint8)
        arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    if arr.shape[-1] == 1:
        arr = arr[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(arr.dtype)
        if mode is not None and expected is not None and mode != expected and not (
                mode == "1" and expected == "L"):
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. "
                             f"Should be {expected}")
        mode = mode or expected
    else:
        mode = mode or {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
        if arr.dtype != np.uint8:
            raise TypeError(f"Input type {arr.dtype} is not supported for {mode} images: "
                            "convert to uint8 (or float in [0, 1]) first")
    if mode is None:
        raise TypeError(f"Input type {arr.dtype} is not supported")
    return Image.fromarray(np.ascontiguousarray(arr), mode=mode)


def convert_image_dtype(image: Tensor, dtype=None) -> Tensor:
    """Convert a tensor image's dtype, rescaling values (float [0, 1] <-> integer range)."""
    dtype = D.to_dtype(dtype) if dtype is not None else D.float32
    arr = np.asarray(image._data)
    if image.dtype is dtype:
        return image
    src_float = image.is_floating_point()
    if src_float and dtype.is_floating_point:
        return _wrap(arr.astype(dtype.np_dtype))
    if src_float:
        imax = float(np.iinfo(dtype.np_dtype).max)
        return _wrap((arr * (imax + 1.0 - 0.001)).astype(dtype.np_dtype))
    smax = float(np.iinfo(arr.dtype).max)
    if dtype.is_floating_point:
        return _wrap((arr.astype(dtype.np_dtype) / smax).astype(dtype.np_dtype))
    dmax = float(np.iinfo(dtype.np_dtype).max)
    if smax > dmax:
        factor = int((smax + 1) // (dmax + 1))
        return _wrap((arr // factor).astype(dtype.np_dtype))
    factor = int((dmax + 1) // (smax + 1))
    return _wrap(arr.astype(dtype.np_dtype) * factor)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float tensor (..., C, H, W).

    Example:
        >>> normalize(ember.ones(3, 2, 2), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))[0, 0, 0]
        tensor(1.)
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(tensor.shape)}")
    np_dt = tensor.dtype.np_dtype
    m = np.asarray(mean, np_dt).reshape(-1, 1, 1)
    s = np.asarray(std, np_dt).reshape(-1, 1, 1)
    if (s == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         "division by zero.")
    if m.shape[0] not in (1, tensor.shape[-3]) or s.shape[0] not in (1, tensor.shape[-3]):
        raise ValueError(f"mean has {m.shape[0]} and std {s.shape[0]} values but the image has "
                         f"{tensor.shape[-3]} channels")
    mt, st = Tensor._make(m, tensor.dtype), Tensor._make(s, tensor.dtype)
    if inplace:
        return tensor.sub_(mt).div_(st)
    return tensor.sub(mt).div(st)  # ember ops: gradients flow through normalize


# -- geometry ----------------------------------------------------------------------------------

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


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center: list[int] | None = None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees around ``center`` (default: the middle)."""
    _check_img(img, "rotate")
    resample = _pil_resample(_interp(interpolation))
    if _is_pil_image(img):
        if isinstance(fill, (int, float)) and len(img.getbands()) > 1:
            fill = tuple([int(fill)] * len(img.getbands()))
        return img.rotate(angle, resample, expand, center, fillcolor=fill)
    arr = _check_tensor_image(img, "rotate")
    if isinstance(fill, (list, tuple)) and len(set(fill)) > 1:
        planes = arr.reshape(-1, arr.shape[-3], *arr.shape[-2:])
        out = [TI.per_channel_pil(planes[:, c], lambda p, f=fill[c]: p.rotate(
            angle, resample, expand, center, fillcolor=float(f))) for c in range(arr.shape[-3])]
        res = np.stack(out, axis=1)
        return _wrap(res.reshape(*arr.shape[:-2], *res.shape[-2:]))
    f = float(fill[0] if isinstance(fill, (list, tuple)) else (fill or 0))
    return _wrap(TI.per_channel_pil(arr, lambda p: p.rotate(angle, resample, expand, center,
                                                            fillcolor=f)))


# -- colour ------------------------------------------------------------------------------------

def _check_factor(factor: float, name: str) -> None:
    if factor < 0:
        raise ValueError(f"{name} ({factor}) is not non-negative.")


def adjust_brightness(img, brightness_factor: float):
    """Scale intensities by ``brightness_factor`` (0 gives black, 1 the original)."""
    _check_img(img, "adjust_brightness")
    _check_factor(brightness_factor, "brightness_factor")
    if _is_pil_image(img):
        from PIL import ImageEnhance

        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    arr = _check_tensor_image(img, "adjust_brightness")
    return _wrap(TI.blend(arr, 0.0, brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0 gives flat grey, 1 the original)."""
    _check_img(img, "adjust_contrast")
    _check_factor(contrast_factor, "contrast_factor")
    if _is_pil_image(img):
        from PIL import ImageEnhance

        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    arr = _check_tensor_image(img, "adjust_contrast")
    gray = TI.grayscale(arr) if arr.shape[-3] == 3 else arr
    mean = gray.astype(np.float32).mean(axis=(-3, -2, -1), keepdims=True)
    return _wrap(TI.blend(arr, mean, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the greyscale image (0 gives grey, 1 the original)."""
    _check_img(img, "adjust_saturation")
    _check_factor(saturation_factor, "saturation_factor")
    if _is_pil_image(img):
        from PIL import ImageEnhance

        return ImageEnhance.Color(img).enhance(saturation_factor)
    arr = _check_tensor_image(img, "adjust_saturation")
    if arr.shape[-3] == 1:
        return img
    return _wrap(TI.blend(arr, TI.grayscale(arr), saturation_factor))


def adjust_hue(img, hue_factor: float):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5])."""
    _check_img(img, "adjust_hue")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_pil_image(img):
        from PIL import Image

        if img.mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        np_h = (np_h.astype(np.int16) + int(hue_factor * 255)) % 256
        h = Image.fromarray(np_h.astype(np.uint8), "L")
        return Image.merge("HSV", (h, s, v)).convert(img.mode)
    arr = _check_tensor_image(img, "adjust_hue")
    if arr.shape[-3] == 1:
        return img
    return _wrap(TI.adjust_hue(arr, hue_factor))


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """ITU-R 601-2 luma; ``num_output_channels`` 1 or 3 (the grey repeated)."""
    _check_img(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if _is_pil_image(img):
        gray = img.convert("L")
        if num_output_channels == 3:
            from PIL import Image

            g = np.asarray(gray)
            gray = Image.fromarray(np.dstack([g, g, g]), "RGB")
        return gray
    arr = _check_tensor_image(img, "rgb_to_grayscale")
    gray = TI.grayscale(arr) if arr.shape[-3] == 3 else arr.copy()
    if num_output_channels == 3:
        gray = np.concatenate([gray] * 3, axis=-3)
    return _wrap(gray)


to_grayscale = rgb_to_grayscale


def erase(img: Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False) -> Tensor:
    """Overwrite the box at (i, j) of size (h, w) of a tensor image with ``v``."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    value = np.asarray(v._data if isinstance(v, Tensor) else v)
    arr = np.array(img._data)
    arr[..., i:i + h, j:j + w] = value
    if inplace:
        from ..._ops.inplace import write_inplace

        return write_inplace(img, arr)
    return _wrap(arr)

