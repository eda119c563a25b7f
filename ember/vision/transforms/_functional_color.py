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
