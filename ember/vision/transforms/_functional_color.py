"""Colour functional transforms: ``adjust_*`` and greyscale (re-exported by ``functional``)."""

from __future__ import annotations

import numpy as np

from . import _tensor_image as TI
from ._functional_base import _check_img, _check_tensor_image, _is_pil_image, _wrap


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
    # float64 images keep their precision for the mean; others average in float32
    work = np.float64 if gray.dtype == np.float64 else np.float32
    mean = gray.astype(work).mean(axis=(-3, -2, -1), keepdims=True)
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


# -- point operations (AutoAugment's vocabulary) ---------------------------------------------------

def _pil_ops():
    from PIL import ImageOps

    return ImageOps


def _check_uint8(arr: np.ndarray) -> None:
    if arr.dtype != np.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found "
                        f"{_dtype_name(arr)}")


def _dtype_name(arr: np.ndarray) -> str:
    from ... import _dtype as D

    return str(D.from_numpy_dtype(arr.dtype))


def _channels_ok(arr: np.ndarray) -> None:
    if arr.ndim >= 3 and arr.shape[-3] not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found "
                        f"{arr.shape[-3]}")


def invert(img):
    """The negative: ``max - img`` (255 for uint8, 1.0 for float images).

    Example:
        >>> invert(ember.zeros(1, 2, 2))[0, 0, 0]
        tensor(1.)
    """
    _check_img(img, "invert")
    if _is_pil_image(img):
        return _pil_ops().invert(img)
    arr = _check_tensor_image(img, "invert")
    _channels_ok(arr)
    if np.issubdtype(arr.dtype, np.floating):
        return _wrap((arr.dtype.type(1.0) - arr).astype(arr.dtype))
    return _wrap(np.bitwise_not(arr) if arr.dtype == np.uint8 else
                 (TI.max_value(arr.dtype) - arr).astype(arr.dtype))


def posterize(img, bits: int):
    """Keep the top ``bits`` bits of every uint8 channel value.

    Example:
        >>> posterize(ember.full((1, 1, 1), 255, dtype=ember.uint8), 2).item()
        192
    """
    _check_img(img, "posterize")
    if _is_pil_image(img):
        return _pil_ops().posterize(img, bits)
    arr = _check_tensor_image(img, "posterize")
    _channels_ok(arr)
    _check_uint8(arr)
    mask = np.uint8((-int(2 ** (8 - bits))) & 0xFF)
    return _wrap(arr & mask)


def solarize(img, threshold: float):
    """Invert the values at or above ``threshold``.

    Example:
        >>> solarize(ember.tensor([[[0.2, 0.8]]]), 0.5)
        tensor([[[0.2000, 0.2000]]])
    """
    _check_img(img, "solarize")
    if _is_pil_image(img):
        return _pil_ops().solarize(img, threshold)
    arr = _check_tensor_image(img, "solarize")
    _channels_ok(arr)
    if threshold > TI.max_value(arr.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    inverted = np.asarray(invert(img)._data)
    return _wrap(np.where(arr >= threshold, inverted, arr))


def autocontrast(img):
    """Stretch every channel so its darkest value becomes 0 and its brightest the maximum.

    Example:
        >>> autocontrast(ember.tensor([[[0.25, 0.5]]]))
        tensor([[[0., 1.]]])
    """
    _check_img(img, "autocontrast")
    if _is_pil_image(img):
        return _pil_ops().autocontrast(img)
    arr = _check_tensor_image(img, "autocontrast")
    if arr.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found "
                        f"{arr.ndim}")
    _channels_ok(arr)
    bound = TI.max_value(arr.dtype)
    work = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    lo = arr.min(axis=(-2, -1), keepdims=True).astype(work)
    hi = arr.max(axis=(-2, -1), keepdims=True).astype(work)
    with np.errstate(divide="ignore", invalid="ignore"):
        # a scalar over a tensor is the scalar times the reciprocal (torch rounds it so)
        scale = work.type(bound) * (work.type(1) / (hi - lo))
    flat = ~np.isfinite(scale)  # a constant channel is left as it is
    lo = np.where(flat, work.type(0), lo)
    scale = np.where(flat, work.type(1), scale)
    out = np.clip((arr.astype(work) - lo) * scale, 0, bound)
    return _wrap(out.astype(arr.dtype))


def _equalize_plane(plane: np.ndarray) -> np.ndarray:
    hist = np.bincount(plane.ravel(), minlength=256).astype(np.float32)
    nonzero = hist[hist != 0]
    step = np.floor(nonzero[:-1].sum() / np.float32(255))
    if step == 0:
        return plane
    lut = np.floor((np.cumsum(hist) + np.floor(step / 2)) / step)
    lut = np.clip(np.concatenate([[0.0], lut[:-1]]), 0, 255)
    return lut[plane.astype(np.int64)].astype(np.uint8)


def equalize(img):
    """Equalise each channel's histogram (uint8 images).

    Example:
        >>> img = (ember.rand(3, 16, 16) * 64).to(ember.uint8)  # a dark image
        >>> int(equalize(img).max()) > 200
        True
    """
    _check_img(img, "equalize")
    if _is_pil_image(img):
        return _pil_ops().equalize(img)
    arr = _check_tensor_image(img, "equalize")
    if arr.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found "
                        f"{arr.ndim}")
    _channels_ok(arr)
    _check_uint8(arr)
    planes = arr.reshape(-1, *arr.shape[-2:])
    return _wrap(np.stack([_equalize_plane(p) for p in planes]).reshape(arr.shape))


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed copy: 0 blurs, 1 is the original, 2 sharpens.

    Example:
        >>> adjust_sharpness(ember.rand(3, 8, 8), 2.0).shape
        torch.Size([3, 8, 8])
    """
    _check_img(img, "adjust_sharpness")
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    if _is_pil_image(img):
        from PIL import ImageEnhance

        return ImageEnhance.Sharpness(img).enhance(sharpness_factor)
    arr = _check_tensor_image(img, "adjust_sharpness")
    _channels_ok(arr)
    if arr.shape[-1] <= 2 or arr.shape[-2] <= 2:
        return img
    from . import _tensor_ops as TO

    work = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    kernel = np.ones((3, 3), work)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()  # PIL's SMOOTH filter: the centre counts five times
    inner = TO.depthwise_conv(arr.astype(work), kernel)
    if not np.issubdtype(arr.dtype, np.floating):
        inner = np.round(inner)
    degenerate = arr.copy()
    degenerate[..., 1:-1, 1:-1] = inner.astype(arr.dtype)
    return _wrap(TI.blend(arr, degenerate, sharpness_factor))


def adjust_gamma(img, gamma: float, gain: float = 1):
    """Gamma correction ``gain * img ** gamma`` on intensities scaled to [0, 1].

    Example:
        >>> adjust_gamma(ember.full((1, 1, 1), 0.25), 0.5)
        tensor([[[0.5000]]])
    """
    _check_img(img, "adjust_gamma")
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    if _is_pil_image(img):
        mode = img.mode
        img = img.convert("RGB")
        # a lookup table over the 256 levels, rounded down as a float->uint8 conversion does
        table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)]
        return img.point(table * len(img.getbands())).convert(mode)
    arr = _check_tensor_image(img, "adjust_gamma")
    _channels_ok(arr)
    if np.issubdtype(arr.dtype, np.floating):
        work = arr
    else:
        work = arr.astype(np.float32) / np.float32(TI.max_value(arr.dtype))
    out = np.clip(work.dtype.type(gain) * work ** work.dtype.type(gamma), 0, 1).astype(work.dtype)
    if np.issubdtype(arr.dtype, np.floating):
        return _wrap(out)
    scale = np.float32(TI.max_value(arr.dtype) + 1.0 - 1e-3)
    return _wrap((out * scale).astype(arr.dtype))
