"""Grid-resampling functional transforms: ``affine``, ``rotate``, ``perspective``,
``elastic_transform`` (re-exported by ``functional``).

Tensor images are resampled as torchvision's tensor backend does (an inverse map evaluated on
pixel centres, ``grid_sample`` with ``align_corners=False``, ``fill`` painted through a sampled
mask), so seeded pipelines give torchvision's pixels; PIL images go through Pillow.
"""

from __future__ import annotations

import numbers

import numpy as np

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

_GRID_MODES = {InterpolationMode.NEAREST: "nearest", InterpolationMode.BILINEAR: "bilinear"}


def _grid_mode(interpolation) -> str:
    mode = _interp(interpolation)
    if mode not in _GRID_MODES:
        raise ValueError(f"Interpolation mode '{mode.value}' is unsupported with Tensor input")
    return _GRID_MODES[mode]


def _tensor_fill(fill, channels: int):
    if fill is None:
        return None
    if isinstance(fill, (int, float)):
        return [float(fill)] * channels
    fill = [float(f) for f in fill]
    if len(fill) not in (1, channels):
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the number "
                         f"of channels of the image ({len(fill)} != {channels})")
    return fill


def _pil_fill(fill, img):
    """``fill`` as Pillow's ``fillcolor`` for ``img``, checked as torchvision checks it: one
    value per band (a single value is repeated), ints except on a float ('F') image."""
    if fill is None:
        return None
    bands = len(img.getbands())
    cast = float if img.mode == "F" else int
    if isinstance(fill, (int, float)):
        values = [cast(fill)] * bands
    else:
        values = [cast(v) for v in fill]
        if len(values) == 1:
            values *= bands
        elif len(values) != bands:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(values)} != {bands})")
    return values[0] if bands == 1 else tuple(values)


def _shear_xy(shear) -> list:
    """``affine``'s shear as ``[x, y]`` degrees: one number shears along x only, a
    one-element sequence by the same angle along both axes."""
    if isinstance(shear, numbers.Number):
        return [shear, 0.0]
    if not isinstance(shear, (list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    pair = list(shear) * 2 if len(shear) == 1 else list(shear)
    if len(pair) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {pair}")
    return pair


def affine(img, angle: float, translate: list[int], scale: float, shear: list[float],
           interpolation=InterpolationMode.NEAREST, fill: list[float] | None = None,
           center: list[int] | None = None):
    """Rotate by ``angle`` degrees, translate, scale and shear, keeping the image size.

    Example:
        >>> affine(ember.rand(3, 8, 8), angle=30.0, translate=[1, 0], scale=1.0,
        ...        shear=[0.0, 0.0]).shape
        torch.Size([3, 8, 8])
    """
    _check_img(img, "affine")
    # torchvision's checks, in its order (each error names the first bad argument)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    shear = _shear_xy(shear)
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    angle, translate = float(angle), list(translate)
    _, height, width = get_dimensions(img)
    if _is_pil_image(img):
        from PIL import Image

        pil_center = [width * 0.5, height * 0.5] if center is None else list(center)
        matrix = TO.inverse_affine_matrix(pil_center, angle, translate, scale, shear)
        return img.transform((width, height), Image.Transform.AFFINE, matrix,
                             _pil_resample(_interp(interpolation)), fillcolor=_pil_fill(fill, img))
    arr = _check_tensor_image(img, "affine")
    mode = _grid_mode(interpolation)
    center_f = [0.0, 0.0] if center is None else [
        1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = TO.inverse_affine_matrix(center_f, angle, [1.0 * t for t in translate], scale, shear)
    return _wrap(_grid_apply(arr, matrix, width, height, width, height, mode, fill))


def _grid_apply(arr, matrix, w, h, ow, oh, mode, fill):
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    grid = TO.affine_grid(matrix, w, h, ow, oh, dtype)
    channels = arr.shape[-3] if arr.ndim >= 3 else 1
    return TO.grid_transform(arr, grid, mode, _tensor_fill(fill, channels))


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center: list[int] | None = None, fill: list[float] | None = None):
    """Rotate counter-clockwise by ``angle`` degrees around ``center`` (default: the middle).

    Example:
        >>> rotate(ember.rand(3, 8, 6), 90.0, expand=True).shape
        torch.Size([3, 6, 8])
    """
    _check_img(img, "rotate")
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if _is_pil_image(img):
        return img.rotate(angle, _pil_resample(_interp(interpolation)), expand, center,
                          fillcolor=_pil_fill(fill, img))
    arr = _check_tensor_image(img, "rotate")
    mode = _grid_mode(interpolation)
    h, w = arr.shape[-2:]
    center_f = [0.0, 0.0] if center is None else [
        1.0 * (c - s * 0.5) for c, s in zip(center, [w, h])]
    # the tensor map is written in y-down pixel coordinates, so a counter-clockwise turn is -angle
    matrix = TO.inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = TO.affine_output_size(matrix, w, h) if expand else (w, h)
    return _wrap(_grid_apply(arr, matrix, w, h, ow, oh, mode, fill))


def _perspective_coeffs(startpoints, endpoints) -> list[float]:
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} "
                         f"startpoints and {len(endpoints)} endpoints.")
    a = np.zeros((8, 8), np.float64)
    for i, (p1, p2) in enumerate(zip(endpoints, startpoints)):
        a[2 * i] = [p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]]
        a[2 * i + 1] = [0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]]
    b = np.asarray(startpoints, np.float64).reshape(8)
    # solved in float64, handed on as float32 values (as torchvision's coefficients are)
    return np.linalg.lstsq(a, b, rcond=None)[0].astype(np.float32).tolist()


def perspective(img, startpoints: list[list[int]], endpoints: list[list[int]],
                interpolation=InterpolationMode.BILINEAR, fill: list[float] | None = None):
    """Warp so the four ``startpoints`` corners land on ``endpoints`` ([x, y] each).

    Example:
        >>> corners = [[0, 0], [7, 0], [7, 7], [0, 7]]
        >>> perspective(ember.rand(3, 8, 8), corners, [[1, 0], [7, 1], [6, 7], [0, 6]]).shape
        torch.Size([3, 8, 8])
    """
    _check_img(img, "perspective")
    coeffs = _perspective_coeffs(startpoints, endpoints)
    if _is_pil_image(img):
        from PIL import Image

        return img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs,
                             _pil_resample(_interp(interpolation)), fillcolor=_pil_fill(fill, img))
    arr = _check_tensor_image(img, "perspective")
    mode = _grid_mode(interpolation)
    h, w = arr.shape[-2:]
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    grid = TO.perspective_grid(coeffs, w, h, dtype)
    channels = arr.shape[-3] if arr.ndim >= 3 else 1
    return _wrap(TO.grid_transform(arr, grid, mode, _tensor_fill(fill, channels)))


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR,
                      fill: list[float] | None = None):
    """Move every pixel by ``displacement`` (1, H, W, 2), in grid units (2 = the image width).

    Example:
        >>> elastic_transform(ember.rand(3, 8, 8), ember.zeros(1, 8, 8, 2)).shape
        torch.Size([3, 8, 8])
    """
    from ..._tensor import Tensor

    _check_img(img, "elastic_transform")
    if not isinstance(displacement, Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    was_pil = _is_pil_image(img)
    if was_pil:
        from .functional import pil_to_tensor

        img = pil_to_tensor(img)
    arr = _check_tensor_image(img, "elastic_transform")
    h, w = arr.shape[-2:]
    if tuple(displacement.shape) != (1, h, w, 2):
        raise ValueError(f"Argument displacement shape should be {[1, h, w, 2]}, but given "
                         f"{list(displacement.shape)}")
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    ys = TO._linspace((-h + 1) / h, (h - 1) / h, h, dtype)
    xs = TO._linspace((-w + 1) / w, (w - 1) / w, w, dtype)
    identity = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), axis=-1)[None]
    grid = identity + np.asarray(displacement._data).astype(dtype)
    channels = arr.shape[-3] if arr.ndim >= 3 else 1
    out = _wrap(TO.grid_transform(arr, grid, _grid_mode(interpolation),
                                  _tensor_fill(fill, channels)))
    if was_pil:
        from .functional import to_pil_image

        return to_pil_image(out)
    return out


__all__ = ["affine", "rotate", "perspective", "elastic_transform"]
