"""Functional image transforms on PIL images and on tensors (..., C, H, W), as torchvision's.

Conversion, ``normalize`` and ``erase`` are defined here; resize, crop, flip, pad and the
multi-crops live in ``_functional_geometry``; grid resampling (affine, rotate, perspective,
elastic) in ``_functional_affine``; the colour and point operations (``adjust_*``, greyscale,
invert, posterize, solarize, autocontrast, equalize, sharpness) in ``_functional_color``;
``gaussian_blur`` in ``_functional_filter``; and what they share (``InterpolationMode``, input
checks, image sizes) in ``_functional_base``. Every name is importable from this module.

Example:
    >>> t = F.to_tensor(pil_image)                  # uint8 HWC -> float CHW in [0, 1]
    >>> t = F.normalize(t, (0.5,) * 3, (0.5,) * 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from ._functional_affine import affine, elastic_transform, perspective, rotate
from ._functional_base import (  # noqa: F401  (private helpers stay importable from here)
    InterpolationMode,
    _check_img,
    _check_tensor_image,
    _interp,
    _is_pil_image,
    _pil_resample,
    _wrap,
    get_dimensions,
    get_image_num_channels,
    get_image_size,
)
from ._functional_color import (  # noqa: F401
    _check_factor,
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    autocontrast,
    equalize,
    invert,
    posterize,
    rgb_to_grayscale,
    solarize,
    to_grayscale,
)
from ._functional_filter import gaussian_blur
from ._functional_geometry import (  # noqa: F401
    _output_size,
    _pair,
    _parse_padding,
    center_crop,
    crop,
    five_crop,
    hflip,
    pad,
    resize,
    resized_crop,
    ten_crop,
    vflip,
)

InterpolationMode.__module__ = __name__  # pickles name the public path, as torchvision's do

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize",
           "resize", "crop", "center_crop", "resized_crop", "hflip", "vflip", "rotate", "pad",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "to_grayscale", "rgb_to_grayscale", "erase", "convert_image_dtype",
           "get_image_size", "get_dimensions", "get_image_num_channels", "affine",
           "perspective", "elastic_transform", "gaussian_blur", "adjust_sharpness",
           "autocontrast", "equalize", "posterize", "solarize", "invert", "five_crop",
           "ten_crop", "adjust_gamma"]


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
            # torchvision scales with ``pic.mul(255).byte()``: values outside [0, 1] wrap
            # modulo 256 as a uint8 cast does (FakeData's normal noise relies on it)
            arr = np.asarray((pic.detach() * 255).to(D.uint8)._data)
            arr = arr[None] if arr.ndim == 2 else arr
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


# -- erasing -----------------------------------------------------------------------------------

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
