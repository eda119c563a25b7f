"""Functional form of the v2 transforms, as ``torchvision.transforms.v2.functional``.

Each function dispatches on what it is given: PIL images, plain tensors and ``Image`` go
through the v1 image kernels (``ember.vision.transforms.functional``), ``Video`` the same per
frame, ``Mask`` with nearest-neighbour resampling, and ``BoundingBoxes`` have their coordinates
moved (and their ``canvas_size`` updated). The result keeps the input's tv_tensor type.

Example:
    >>> from ember.vision.transforms.v2 import functional as F
    >>> flipped = F.horizontal_flip(boxes)      # x -> W - x, still BoundingBoxes
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .... import _dtype as D
from ...._tensor import Tensor
from ... import tv_tensors
from .. import functional as _F1
from .._functional_base import InterpolationMode, _interp, _is_pil_image
from ..functional import pil_to_tensor, to_pil_image  # noqa: F401  (v2 names them too)
from . import _keypoints as _kp
from ._keypoints import (  # noqa: F401  (the key-point kernels are public names of F)
    affine_keypoints,
    center_crop_keypoints,
    clamp_keypoints,
    crop_keypoints,
    get_size_keypoints,
    horizontal_flip_keypoints,
    pad_keypoints,
    perspective_keypoints,
    resize_keypoints,
    resized_crop_keypoints,
    rotate_keypoints,
    sanitize_keypoints,
    vertical_flip_keypoints,
)

__all__ = ["to_image", "to_pil_image", "pil_to_tensor", "to_dtype", "normalize", "resize",
           "crop", "center_crop", "resized_crop", "pad", "rotate", "affine", "perspective",
           "gaussian_blur", "rgb_to_grayscale", "erase",
           "horizontal_flip",
           "vertical_flip", "hflip", "vflip", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "clamp_bounding_boxes",
           "convert_bounding_box_format", "get_size", "get_dimensions", "InterpolationMode"]
__all__ += _kp.__all__

BF = tv_tensors.BoundingBoxFormat


def _plain(t: Tensor) -> Tensor:
    return t.as_subclass(Tensor) if type(t) is not Tensor else t


def _like(out: Tensor, inpt, **meta):
    """``out`` in ``inpt``'s tv_tensor type (plain tensors and PIL results stay as they are)."""
    if isinstance(inpt, tv_tensors.TVTensor):
        return tv_tensors.wrap(_plain(out), like=inpt, **meta)
    return out


def _no_keypoints(inpt, name: str) -> None:
    # torchvision registers no key-point kernel for the image-only functionals
    if isinstance(inpt, tv_tensors.KeyPoints):
        raise TypeError(f"Functional F.{name} supports inputs of type Image, Tensor, "
                        f"PIL.Image.Image and Video, but got {type(inpt)} instead.")


def _keypoints_op(inpt, kernel, *args, **kwargs):
    """A key-point kernel applied to ``KeyPoints`` (its canvas passed and updated)."""
    out = kernel(_plain(inpt), *args, **kwargs)
    if isinstance(out, tuple):
        out, canvas = out
        return tv_tensors.wrap(out, like=inpt, canvas_size=tuple(canvas))
    return tv_tensors.wrap(out, like=inpt)


def _image_op(inpt, fn):
    """Apply a v1 image kernel to PIL images, plain tensors, Images and Videos."""
    if _is_pil_image(inpt):
        return fn(inpt)
    return _like(fn(_plain(inpt)), inpt)


# --- conversion --------------------------------------------------------------------------------

def to_image(inpt) -> tv_tensors.Image:
    """A PIL image, NumPy ``(H, W[, C])`` array or tensor as an ``Image`` (``(C, H, W)``).

    Example:
        >>> to_image(np.zeros((4, 5, 3), np.uint8)).shape
        ember.Size([3, 4, 5])
    """
    from .... import from_numpy

    if isinstance(inpt, np.ndarray):
        arr = np.atleast_3d(inpt)  # (H, W) -> (H, W, 1)
        t = from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
        return tv_tensors.Image(t)
    if _is_pil_image(inpt):
        return tv_tensors.Image(pil_to_tensor(inpt))
    if isinstance(inpt, Tensor):
        return tv_tensors.Image(_plain(inpt))
    raise TypeError(f"Input can either be a pure Tensor, a numpy array, or a PIL image, "
                    f"but got {type(inpt)} instead.")


def _to_pure_tensor(inpt: Tensor) -> Tensor:
    # the data of a tv_tensor as a plain Tensor, shared (torchvision has no public function)
    return _plain(inpt)


def _scale_dtype(image: Tensor, dtype) -> Tensor:
    if not image.is_floating_point() and D.to_dtype(dtype).is_floating_point:
        # v2 multiplies by the reciprocal (v1 divides): 207 / 255 and 207 * (1 / 255) differ
        # in float32's last bit
        return image.to(dtype).mul_(1.0 / float(np.iinfo(image._data.dtype).max))
    return _F1.convert_image_dtype(image, dtype)


def to_dtype(inpt, dtype=None, scale: bool = False):
    """``inpt`` converted to ``dtype``; with ``scale`` an image's values are rescaled between
    integer ranges and float ``[0, 1]`` (masks and boxes are never rescaled).

    Example:
        >>> to_dtype(to_image(pil_img), ember.float32, scale=True).max() <= 1
        tensor(True)
    """
    dtype = D.float32 if dtype is None else dtype
    if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)) \
            or not scale:
        return _like(_plain(inpt).to(dtype), inpt)
    return _like(_scale_dtype(_plain(inpt), dtype), inpt)


def normalize(inpt, mean, std, inplace: bool = False):
    """``(inpt - mean) / std`` per channel on a float image (``Image``, ``Video`` or tensor).

    Example:
        >>> normalize(img, [0.5] * 3, [0.5] * 3)
    """
    _no_keypoints(inpt, "normalize")
    return _like(_F1.normalize(_plain(inpt), mean, std, inplace), inpt)


# --- sizes ----------------------------------------------------------------------------------

def get_size(inpt) -> list[int]:
    """``[H, W]`` of an image, video, mask, or a box set's canvas.

    Example:
        >>> get_size(tv_tensors.Image(ember.zeros(3, 4, 5)))
        [4, 5]
    """
    if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
        return list(inpt.canvas_size)
    if _is_pil_image(inpt):
        return [inpt.height, inpt.width]
    return [int(inpt.shape[-2]), int(inpt.shape[-1])]


def get_dimensions(inpt) -> list[int]:
    """``[C, H, W]`` of an image (or video frame).

    Example:
        >>> get_dimensions(tv_tensors.Image(ember.zeros(3, 4, 5)))
        [3, 4, 5]
    """
    _no_keypoints(inpt, "get_dimensions")
    return _F1.get_dimensions(inpt if _is_pil_image(inpt) else _plain(inpt))


# --- boxes ----------------------------------------------------------------------------------

def _box_format(fmt) -> BF:
    return BF[fmt.upper()] if isinstance(fmt, str) else fmt


def _rotated(fmt: BF) -> bool:
    return tv_tensors.is_rotated_bounding_format(fmt)


def _no_rotated(fmt: BF) -> None:
    # ember moves rotated boxes only through flips and pads so far; torchvision also fits
    # and clamps them into the canvas after crops, resizes, rotations and warps
    if _rotated(fmt):
        raise NotImplementedError(
            f"rotated bounding boxes ({fmt.value}) are only flipped and converted between "
            "rotated formats in ember yet, and padded, cropped or resized only when they stay "
            "inside the canvas or their clamping_mode is None")


def _convert(data: Tensor, old: BF, new: BF) -> Tensor:
    from .... import stack

    if old == new:
        return data
    if _rotated(old) or _rotated(new):
        if not (_rotated(old) and _rotated(new)):
            raise ValueError("Cannot convert between rotated and unrotated bounding boxes.")
        from ...ops._rotated_boxes import convert_rotated

        return convert_rotated(data, old.value.lower(), new.value.lower())
    a, b, c, d = data.unbind(-1)
    if old == BF.XYWH:
        a, b, c, d = a, b, a + c, b + d
    elif old == BF.CXCYWH:
        if data.is_floating_point():
            a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
        else:  # integer boxes halve by flooring division, keeping the integer dtype
            a, b, c, d = a - c // 2, b - d // 2, a - c // 2 + c, b - d // 2 + d
    # (a, b, c, d) are now XYXY corners
    if new == BF.XYWH:
        a, b, c, d = a, b, c - a, d - b
    elif new == BF.CXCYWH:
        if data.is_floating_point():
            a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
        else:
            a, b, c, d = (a + c) // 2, (b + d) // 2, c - a, d - b
    return stack([a, b, c, d], -1).to(data.dtype)


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace: bool = False):
    """Boxes rewritten in ``new_format`` (``old_format`` is taken from ``BoundingBoxes``).

    Example:
        >>> convert_bounding_box_format(boxes, new_format="XYWH").format
        <BoundingBoxFormat.XYWH: 'XYWH'>
    """
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: "
                        "'new_format'")
    new_format = _box_format(new_format)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be passed.")
        out = _convert(_plain(inpt), inpt.format, new_format)
        return tv_tensors.wrap(out, like=inpt, format=new_format)
    if old_format is None:
        raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
    return _convert(inpt, _box_format(old_format), new_format)


def _xyxy(boxes: tv_tensors.BoundingBoxes) -> Tensor:
    _no_rotated(boxes.format)
    return _convert(_plain(boxes), boxes.format, BF.XYXY)


def _back(xyxy: Tensor, boxes: tv_tensors.BoundingBoxes, canvas_size=None):
    # back to the boxes' format while still in float, then to their dtype (truncating, as
    # torchvision's integer boxes do: a resized XYWH box keeps its scaled width's integer part)
    out = _convert(xyxy, BF.XYXY, boxes.format).to(boxes.dtype)
    meta = {} if canvas_size is None else {"canvas_size": tuple(canvas_size)}
    return tv_tensors.wrap(out, like=boxes, **meta)


def _clamp_xyxy(xyxy: Tensor, canvas_size) -> Tensor:
    from .... import stack

    h, w = canvas_size
    x1, y1, x2, y2 = xyxy.unbind(-1)
    return stack([x1.clamp(0, w), y1.clamp(0, h), x2.clamp(0, w), y2.clamp(0, h)], -1)


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="auto"):
    """Boxes with their corners clamped into the canvas ``[0, W] x [0, H]``.

    ``clamping_mode`` ``"soft"`` or ``"hard"`` clamps (the two agree for these axis-aligned
    formats), ``None`` leaves the boxes as they are; ``"auto"`` takes the boxes' own mode.

    Example:
        >>> clamp_bounding_boxes(boxes)        # [[-3, -2, 4, 30]] on (10, 20) -> [[0, 0, 4, 10]]
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` "
                             "must not be passed.")
        mode = inpt.clamping_mode if clamping_mode == "auto" else clamping_mode
        if mode is None:
            return inpt
        return _back(_clamp_xyxy(_xyxy(inpt), inpt.canvas_size), inpt)
    if format is None or canvas_size is None or clamping_mode == "auto":
        raise ValueError("For pure tensor inputs, `format`, `canvas_size` and `clamping_mode` "
                         "have to be passed.")
    if clamping_mode is None:
        return inpt
    fmt = _box_format(format)
    _no_rotated(fmt)
    return _convert(_clamp_xyxy(_convert(inpt, fmt, BF.XYXY), canvas_size).to(inpt.dtype),
                    BF.XYXY, fmt)


def _affine_boxes(boxes, sx: float, sy: float, dx: float, dy: float, canvas_size,
                  clamp: bool):
    """Boxes under ``x -> sx * x + dx``, ``y -> sy * y + dy`` (corners re-sorted for flips)."""
    from .... import stack

    if _rotated(boxes.format):
        return _affine_rotated(boxes, sx, sy, dx, dy, canvas_size, clamp)
    data = _plain(boxes)
    if not data.is_floating_point():
        data = data.to(D.float32)
    x1, y1, x2, y2 = _convert(data, boxes.format, BF.XYXY).unbind(-1)
    nx1, nx2 = x1 * sx + dx, x2 * sx + dx
    ny1, ny2 = y1 * sy + dy, y2 * sy + dy
    if sx < 0:
        nx1, nx2 = nx2, nx1
    if sy < 0:
        ny1, ny2 = ny2, ny1
    out = stack([nx1, ny1, nx2, ny2], -1)
    if clamp:
        out = _clamp_xyxy(out, canvas_size)
    return _back(out, boxes, canvas_size)


def _affine_rotated(boxes, sx, sy, dx, dy, canvas_size, clamp):
    """The flips, shifts and stretches of ``_affine_boxes`` for rotated boxes (a mirror
    reverses the corner order, which ``flip_rotated`` accounts for; a stretch re-fits the
    rectangle, see ``scale_rotated``)."""
    from ...ops import _rotated_boxes as R

    fmt = boxes.format.value.lower()
    data = _plain(boxes)
    if (sx < 0 and sx != -1.0) or (sy < 0 and sy != -1.0):
        _no_rotated(boxes.format)  # no transform mirrors and stretches at once
    # flips never clamp; after pads, crops and resizes torchvision clamps turned boxes into
    # the canvas (soft and hard modes) by a rule ember lacks, which leaves boxes that end up
    # wholly inside alone: ember answers for those, and for boxes with clamping_mode None
    flip_only = (not clamp and abs(sx) == 1.0 and abs(sy) == 1.0
                 and (sx < 0 or dx == 0) and (sy < 0 or dy == 0))
    if sx > 0 and sy > 0 and (sx != 1.0 or sy != 1.0):
        data = R.scale_rotated(data, fmt, sx, sy)
        sx = sy = 1.0
    if sx < 0:
        data = R.flip_rotated(data, fmt, dx, horizontal=True)
        dx = 0.0
    if sy < 0:
        data = R.flip_rotated(data, fmt, dy, horizontal=False)
        dy = 0.0
    if dx or dy:
        data = R.shift_rotated(data, fmt, dx, dy)
    if not flip_only and boxes.clamping_mode is not None \
            and not R.inside(data, fmt, canvas_size):
        _no_rotated(boxes.format)
    return tv_tensors.wrap(data, like=boxes, canvas_size=tuple(canvas_size))


# --- geometry --------------------------------------------------------------------------------

def _mask_op(mask: Tensor, fn):
    # masks may be (H, W): the image kernels want a channel dimension
    t = _plain(mask)
    if t.ndim == 2:
        return _like(fn(t.unsqueeze(0)).squeeze(0), mask)
    return _like(fn(t), mask)


def horizontal_flip(inpt):
    """Mirror left-right; boxes follow (``x -> W - x``).

    Example:
        >>> horizontal_flip(tv_tensors.Image(ember.arange(3.).reshape(1, 1, 3)))
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _affine_boxes(inpt, -1.0, 1.0, float(inpt.canvas_size[1]), 0.0,
                             inpt.canvas_size, False)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, horizontal_flip_keypoints, inpt.canvas_size)
    return _image_op(inpt, _F1.hflip)


def vertical_flip(inpt):
    """Mirror top-bottom; boxes follow (``y -> H - y``).

    Example:
        >>> vertical_flip(tv_tensors.Mask(ember.eye(2)))
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _affine_boxes(inpt, 1.0, -1.0, 0.0, float(inpt.canvas_size[0]),
                             inpt.canvas_size, False)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, vertical_flip_keypoints, inpt.canvas_size)
    return _image_op(inpt, _F1.vflip)


hflip = horizontal_flip
vflip = vertical_flip


def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias=True):
    """Resize to ``size`` (``[h, w]``, or an int for the shorter side); masks use nearest
    neighbours and boxes are scaled onto the new canvas.

    Example:
        >>> resize(tv_tensors.Image(ember.zeros(3, 8, 10)), [4, 5]).shape
        ember.Size([3, 4, 5])
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        h, w = inpt.canvas_size
        nh, nw = _F1._output_size(h, w, size, max_size)
        return _affine_boxes(inpt, nw / w, nh / h, 0.0, 0.0, (nh, nw), False)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, resize_keypoints, size, inpt.canvas_size, max_size)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.resize(t, size, InterpolationMode.NEAREST,
                                                   max_size, antialias=False))
    return _image_op(inpt, lambda t: _resize_image(t, size, interpolation, max_size, antialias))


def _resize_image(img, size, interpolation, max_size, antialias):
    mode = _interp(interpolation)
    if isinstance(img, Tensor) and mode == InterpolationMode.LANCZOS and not antialias:
        raise ValueError("InterpolationMode.LANCZOS requires antialias=True")
    # torchvision resizes uint8 tensors with torch's own uint8 kernels (not in float), which
    # ``interpolate`` emulates exactly; lanczos tensors of other dtypes in float32 (rounded
    # back); the rest go through the v1 kernels
    kernel = {InterpolationMode.BILINEAR: "bilinear", InterpolationMode.BICUBIC: "bicubic",
              InterpolationMode.LANCZOS: "lanczos"}.get(mode)
    if isinstance(img, Tensor) and img.ndim >= 3 and (
            (img.dtype == D.uint8 and kernel) or mode == InterpolationMode.LANCZOS):
        from .... import nn

        h, w = int(img.shape[-2]), int(img.shape[-1])
        oh, ow = _F1._output_size(h, w, size, max_size)
        if (oh, ow) == (h, w) or img.numel() == 0:
            return img
        native = img.dtype in (D.uint8, D.float32, D.float64)
        x = img.reshape(-1, *img.shape[-3:])
        out = nn.functional.interpolate(x if native else x.float(), size=[oh, ow], mode=kernel,
                                        align_corners=False, antialias=bool(antialias))
        if not native:
            out = (out if img.dtype.is_floating_point else out.round_()).to(img.dtype)
        return out.reshape(*img.shape[:-2], oh, ow)
    return _F1.resize(img, size, interpolation, max_size, antialias=antialias)


def crop(inpt, top: int, left: int, height: int, width: int):
    """The ``height x width`` window at ``(top, left)``; boxes are shifted and clamped to it.

    Example:
        >>> crop(tv_tensors.Image(ember.zeros(3, 8, 10)), 1, 2, 4, 5).shape
        ember.Size([3, 4, 5])
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _affine_boxes(inpt, 1.0, 1.0, -float(left), -float(top), (height, width),
                             inpt.clamping_mode is not None)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, crop_keypoints, top, left, height, width)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.crop(t, top, left, height, width))
    return _image_op(inpt, lambda t: _F1.crop(t, top, left, height, width))


def pad(inpt, padding, fill=0, padding_mode: str = "constant"):
    """Pad by ``padding`` (int, ``[lr, tb]`` or ``[left, top, right, bottom]``); boxes are
    shifted onto the larger canvas (only with ``padding_mode="constant"``).

    Example:
        >>> pad(tv_tensors.Image(ember.zeros(3, 4, 5)), [1, 2]).shape
        ember.Size([3, 8, 7])
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("padding_mode should be either constant, edge, reflect or "
                             "symmetric")
        if padding_mode != "constant":
            raise ValueError(f"Padding mode '{padding_mode}' is not supported with bounding "
                             "boxes")
        left, top, right, bottom = _F1._parse_padding(padding)
        h, w = inpt.canvas_size
        return _affine_boxes(inpt, 1.0, 1.0, float(left), float(top),
                             (h + top + bottom, w + left + right), False)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, pad_keypoints, inpt.canvas_size, padding, padding_mode)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.pad(t, padding, fill, padding_mode))
    return _image_op(inpt, lambda t: _F1.pad(t, padding, fill, padding_mode))


def _rotate_boxes(boxes, angle: float, expand: bool, center):
    """Boxes around the rotated corners of each box (the image turns counter-clockwise about
    ``center``, default the canvas middle); ``expand`` moves them onto the grown canvas."""
    _no_rotated(boxes.format)
    from .... import stack
    from .. import _tensor_ops as TO

    h, w = boxes.canvas_size
    cx, cy = (w * 0.5, h * 0.5) if center is None else (float(center[0]), float(center[1]))
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    data = _plain(boxes)
    if not data.is_floating_point():
        data = data.to(D.float32)
    x1, y1, x2, y2 = _convert(data, boxes.format, BF.XYXY).unbind(-1)
    xs = stack([x1, x2, x2, x1], -1) - cx
    ys = stack([y1, y1, y2, y2], -1) - cy
    nx = xs * cos + ys * sin + cx
    ny = ys * cos - xs * sin + cy
    canvas = (h, w)
    if expand:
        # torchvision sizes the boxes' canvas with the rotation about the centre given in
        # pixels (not relative to the middle, as the image's size is): the two can differ by a
        # pixel, and the boxes keep torchvision's canvas
        matrix = TO.inverse_affine_matrix([cx, cy], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
        ow, oh = TO.affine_output_size(matrix, w, h)
        # torchvision moves the boxes so that the rotated canvas's corners start at 0 (float
        # extents, not the whole-pixel growth of the expanded image)
        corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        rx = [(x - cx) * cos + (y - cy) * sin + cx for x, y in corners]
        ry = [(y - cy) * cos - (x - cx) * sin + cy for x, y in corners]
        nx, ny = nx - min(rx), ny - min(ry)
        canvas = (oh, ow)
    out = stack([nx.amin(-1), ny.amin(-1), nx.amax(-1), ny.amax(-1)], -1)
    if boxes.clamping_mode is not None:
        out = _clamp_xyxy(out, canvas)
    return _back(out, boxes, canvas)


def rotate(inpt, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees; masks use nearest neighbours and boxes
    become the boxes around their rotated corners (clamped to the canvas).

    Example:
        >>> rotate(tv_tensors.Image(ember.zeros(3, 8, 6)), 90.0, expand=True).shape
        ember.Size([3, 6, 8])
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _rotate_boxes(inpt, float(angle), expand, center)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, rotate_keypoints, inpt.canvas_size, float(angle), expand,
                             center)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _rotate_image(t, angle, InterpolationMode.NEAREST,
                                                      expand, center, fill))
    return _image_op(inpt, lambda t: _rotate_image(t, angle, interpolation, expand, center, fill))


def _rotate_image(img, angle, interpolation, expand, center, fill):
    # torchvision v2 turns a tensor by a whole number of right angles with expand exactly (the
    # output is the transposed size, no resampling); v1's grid path would add a pixel per side
    if isinstance(img, Tensor) and expand and float(angle) % 90 == 0:
        from .... import rot90

        return rot90(img, int(float(angle) // 90) % 4, dims=(-2, -1))
    return _F1.rotate(img, angle, interpolation, expand, center, fill)


def _affine_boxes_matrix(boxes, angle, translate, scale, shear, center):
    """Boxes around each box's corners moved by the forward affine map (rotation, scale and
    shear about ``center``, default the canvas middle, then ``translate``), on the same canvas."""
    _no_rotated(boxes.format)
    from .... import stack
    from .. import _tensor_ops as TO

    h, w = boxes.canvas_size
    c = [w * 0.5, h * 0.5] if center is None else [float(center[0]), float(center[1])]
    # the image kernel's matrix maps output pixels to input pixels; boxes need its inverse
    a, b, tx, d, e, ty = TO.inverse_affine_matrix(c, float(angle), [float(t) for t in translate],
                                                  float(scale), [float(s) for s in shear])
    det = a * e - b * d
    fa, fb, fd, fe = e / det, -b / det, -d / det, a / det
    ftx, fty = -(fa * tx + fb * ty), -(fd * tx + fe * ty)
    data = _plain(boxes)
    if not data.is_floating_point():
        data = data.to(D.float32)
    x1, y1, x2, y2 = _convert(data, boxes.format, BF.XYXY).unbind(-1)
    xs = stack([x1, x2, x2, x1], -1)
    ys = stack([y1, y1, y2, y2], -1)
    nx = xs * fa + ys * fb + ftx
    ny = xs * fd + ys * fe + fty
    out = stack([nx.amin(-1), ny.amin(-1), nx.amax(-1), ny.amax(-1)], -1)
    if boxes.clamping_mode is not None:
        out = _clamp_xyxy(out, (h, w))
    return _back(out, boxes, (h, w))


def affine(inpt, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotate by ``angle`` degrees, translate, scale and shear (size kept); masks use nearest
    neighbours and boxes become the boxes around their moved corners (clamped to the canvas).

    Example:
        >>> affine(tv_tensors.Image(ember.zeros(3, 8, 8)), 30.0, [1, 0], 1.0, [0.0, 0.0]).shape
        ember.Size([3, 8, 8])
    """
    shear = [float(shear), 0.0] if isinstance(shear, (int, float)) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _affine_boxes_matrix(inpt, angle, translate, scale, shear, center)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, affine_keypoints, inpt.canvas_size, angle, translate, scale,
                             shear, center)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.affine(t, angle, list(translate), scale, shear,
                                                   InterpolationMode.NEAREST, fill, center))
    return _image_op(inpt, lambda t: _affine_image(t, angle, list(translate), scale, shear,
                                                   interpolation, fill, center))


def _affine_image(img, angle, translate, scale, shear, interpolation, fill, center):
    """v1's ``affine``, but on tensors with the grid summed in torch's order (see
    ``_tensor_ops.affine_grid``) so nearest-neighbour ties fall as in the v2 fixtures."""
    from .. import _functional_affine as A
    from .. import _tensor_ops as TO

    if _is_pil_image(img):
        return _F1.affine(img, angle, translate, scale, shear, interpolation, fill, center)
    # v1's argument checks and messages, run on a 1x1 corner (cheap) rather than copied
    _F1.affine(img[..., :1, :1], angle, translate, scale, shear, interpolation, None, center)
    arr = np.asarray(img._data)
    height, width = arr.shape[-2:]
    center_f = [0.0, 0.0] if center is None else [
        1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = TO.inverse_affine_matrix(center_f, angle, [1.0 * t for t in translate], scale,
                                      shear)
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    grid = TO.affine_grid(matrix, width, height, width, height, dtype, in_order=True)
    channels = arr.shape[-3] if arr.ndim >= 3 else 1
    out = TO.grid_transform(arr, grid, A._grid_mode(interpolation),
                            A._tensor_fill(fill, channels))
    return Tensor._make(np.ascontiguousarray(out), img.dtype)


def _perspective_boxes(boxes, startpoints, endpoints):
    """Boxes around each box's corners carried by the homography taking ``startpoints`` to
    ``endpoints`` (the image's warp runs the other way), on the same canvas."""
    _no_rotated(boxes.format)
    from .... import stack
    from .._functional_affine import _perspective_coeffs

    a, b, c, d, e, f, g, h_ = _perspective_coeffs(endpoints, startpoints)
    data = _plain(boxes)
    if not data.is_floating_point():
        data = data.to(D.float32)
    x1, y1, x2, y2 = _convert(data, boxes.format, BF.XYXY).unbind(-1)
    xs = stack([x1, x2, x2, x1], -1)
    ys = stack([y1, y1, y2, y2], -1)
    den = xs * g + ys * h_ + 1.0
    nx = (xs * a + ys * b + c) / den
    ny = (xs * d + ys * e + f) / den
    out = stack([nx.amin(-1), ny.amin(-1), nx.amax(-1), ny.amax(-1)], -1)
    if boxes.clamping_mode is not None:
        out = _clamp_xyxy(out, boxes.canvas_size)
    return _back(out, boxes, boxes.canvas_size)


def _points_for(inpt, startpoints, endpoints, coefficients):
    """``(startpoints, endpoints)`` of the warp, from the points or from ``coefficients`` (the
    output-to-input homography ``a..h``): then the canvas corners are the end points and the
    homography's images of them the start points, which give the same coefficients back."""
    if coefficients is None:
        if startpoints is None or endpoints is None:
            raise ValueError("Either the startpoints/endpoints or the coefficients must have "
                             "non `None` values.")
        return startpoints, endpoints
    if startpoints is not None and endpoints is not None:
        raise ValueError("The startpoints/endpoints and the coefficients shouldn't be defined "
                         "concurrently.")
    if len(coefficients) != 8:
        raise ValueError("Argument coefficients should have 8 float values")
    a, b, c, d, e, f, g, h_ = (float(v) for v in coefficients)
    h, w = get_size(inpt)
    ends = [[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]]
    starts = [[(a * x + b * y + c) / (g * x + h_ * y + 1.0),
               (d * x + e * y + f) / (g * x + h_ * y + 1.0)] for x, y in ends]
    return starts, ends


def perspective(inpt, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                fill=None, coefficients=None):
    """Warp so the four ``startpoints`` corners land on ``endpoints`` (or by the 8
    ``coefficients`` of the output-to-input homography instead); masks use nearest
    neighbours and boxes become the boxes around their warped corners.

    Example:
        >>> corners = [[0, 0], [7, 0], [7, 7], [0, 7]]
        >>> perspective(tv_tensors.Image(ember.zeros(3, 8, 8)), corners,
        ...             [[1, 0], [7, 1], [6, 7], [0, 6]]).shape
        ember.Size([3, 8, 8])
    """
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, perspective_keypoints, inpt.canvas_size, startpoints,
                             endpoints, coefficients)
    startpoints, endpoints = _points_for(inpt, startpoints, endpoints, coefficients)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        return _perspective_boxes(inpt, startpoints, endpoints)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.perspective(t, startpoints, endpoints,
                                                        InterpolationMode.NEAREST, fill))
    return _image_op(inpt, lambda t: _F1.perspective(t, startpoints, endpoints, interpolation,
                                                     fill))


def _center_crop_params(h: int, w: int, output_size) -> tuple[int, int, int, int]:
    ch, cw = _F1._pair(output_size, "size")
    return int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0)), ch, cw


def center_crop(inpt, output_size):
    """The central ``output_size`` window (padded with zeros where larger than the input).

    Example:
        >>> center_crop(tv_tensors.Image(ember.zeros(3, 8, 10)), [4, 4]).shape
        ember.Size([3, 4, 4])
    """
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        top, left, ch, cw = _center_crop_params(*inpt.canvas_size, output_size)
        return crop(inpt, top, left, ch, cw)
    if isinstance(inpt, tv_tensors.KeyPoints):
        return _keypoints_op(inpt, center_crop_keypoints, inpt.canvas_size, output_size)
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.center_crop(t, output_size))
    return _image_op(inpt, lambda t: _F1.center_crop(t, output_size))


def resized_crop(inpt, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """``crop`` then ``resize`` to ``size``.

    Example:
        >>> resized_crop(tv_tensors.Image(ember.zeros(3, 8, 10)), 0, 0, 4, 4, [2, 2]).shape
        ember.Size([3, 2, 2])
    """
    return resize(crop(inpt, top, left, height, width), size, interpolation,
                  antialias=antialias)


# --- colour ----------------------------------------------------------------------------------

def _color(fn):
    # torchvision names the factor after the operation (``brightness_factor`` ...)
    import inspect

    sig = inspect.Signature([
        inspect.Parameter("inpt", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter(fn.__name__.split("_", 1)[1] + "_factor",
                          inspect.Parameter.POSITIONAL_OR_KEYWORD)])

    def op(*args, **kwargs):
        inpt, factor = sig.bind(*args, **kwargs).arguments.values()
        if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes)):
            return inpt
        _no_keypoints(inpt, fn.__name__)
        return _image_op(inpt, lambda t: fn(t, factor))
    op.__name__ = fn.__name__
    op.__signature__ = sig
    op.__doc__ = (f"``{fn.__name__}`` of the v1 functional on images and videos (masks and "
                  "boxes are returned unchanged).\n\n    Example:\n        >>> "
                  f"{fn.__name__}(img, 0.5)\n    ")
    return op


def _uint8_blend(img: np.ndarray, other, ratio: float) -> np.ndarray:
    """``ratio * img + (1 - ratio) * other`` as torchvision v2 computes it on integer images
    (probed): the first product in float32, the second product and the sum fused (one
    rounding, emulated in float64), then clamped and truncated."""
    first = img.astype(np.float32) * np.float32(ratio)
    fused = first.astype(np.float64) + float(np.float32(1.0 - ratio)) * np.asarray(
        other, np.float32).astype(np.float64)
    return np.clip(fused.astype(np.float32), 0, 255).astype(img.dtype)


def _v2_color(v1_fn, other):
    """A v1 colour kernel for float tensors and PIL images, and v2's rounding on uint8 tensors
    (where torchvision v2's answer differs from v1's in the last unit)."""
    def fn(img, factor):
        if isinstance(img, Tensor) and img.dtype == D.uint8:
            _F1._check_factor(factor, v1_fn.__name__.split("_", 1)[1] + "_factor")
            arr = np.asarray(img._data)
            if arr.ndim < 3 or arr.shape[-3] not in (1, 3):
                return v1_fn(img, factor)
            ref = other(arr)
            if ref is None:
                return img
            return Tensor._make(np.ascontiguousarray(_uint8_blend(arr, ref, factor)), D.uint8)
        return v1_fn(img, factor)
    fn.__name__ = v1_fn.__name__
    return fn


def _gray_u8(arr: np.ndarray) -> np.ndarray:
    from .._tensor_image import grayscale

    return grayscale(arr)


def _contrast_mean(arr: np.ndarray):
    gray = _gray_u8(arr) if arr.shape[-3] == 3 else arr
    return gray.astype(np.float32).mean(axis=(-3, -2, -1), keepdims=True)


adjust_brightness = _color(_F1.adjust_brightness)
adjust_contrast = _color(_v2_color(_F1.adjust_contrast, _contrast_mean))
adjust_saturation = _color(_v2_color(
    _F1.adjust_saturation, lambda a: _gray_u8(a) if a.shape[-3] == 3 else None))
def _v2_hue(img, hue_factor: float):
    """v1's hue kernel, but a uint8 tensor enters float as torchvision v2 scales it: times
    ``float32(1 / 255)`` rather than divided by 255 (probed: the two differ in the last bit,
    which moves an occasional output value by one)."""
    if isinstance(img, Tensor) and img.dtype == D.uint8 and img.ndim >= 3 \
            and int(img.shape[-3]) == 3:
        arr = np.asarray(img._data)
        as_float = Tensor._make(arr.astype(np.float32) * np.float32(1.0 / 255.0), D.float32)
        out = np.asarray(_F1.adjust_hue(as_float, hue_factor)._data)
        # back to uint8 as convert_image_dtype does: scale by 256 - eps and truncate
        return Tensor._make(np.ascontiguousarray((out * np.float32(255.999)).astype(np.uint8)),
                            D.uint8)
    return _F1.adjust_hue(img, hue_factor)


_v2_hue.__name__ = "adjust_hue"
adjust_hue = _color(_v2_hue)


# --- filters, greyscale, erasing -----------------------------------------------------------------

def _images_only(inpt, name: str) -> None:
    if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(
            inpt, (tv_tensors.Image, tv_tensors.Video)):
        raise TypeError(f"Functional F.{name} supports inputs of type Image, Tensor, "
                        f"PIL.Image.Image and Video, but got {type(inpt)} instead.")


def gaussian_blur(inpt, kernel_size, sigma=None):
    """Blur images and videos (PIL images, plain tensors) with a Gaussian of odd
    ``kernel_size``; masks and boxes raise ``TypeError``, as in torchvision.

    Example:
        >>> gaussian_blur(tv_tensors.Image(ember.rand(3, 8, 8)), [3, 3], [1.0, 1.0]).shape
        ember.Size([3, 8, 8])
    """
    _images_only(inpt, "gaussian_blur")
    return _image_op(inpt, lambda t: _F1.gaussian_blur(t, kernel_size, sigma))


def rgb_to_grayscale(inpt, num_output_channels: int = 1):
    """Images and videos to greyscale (ITU-R 601-2 luma) with 1 or 3 channels; masks and boxes
    raise ``TypeError``, as in torchvision.

    Example:
        >>> rgb_to_grayscale(tv_tensors.Image(ember.rand(3, 4, 4))).shape
        ember.Size([1, 4, 4])
    """
    _images_only(inpt, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        # v2's own wording (v1 says "should be either 1 or 3"), for tensors and PIL alike
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}.")
    return _image_op(inpt, lambda t: _F1.rgb_to_grayscale(t, num_output_channels))


# torchvision's v2 keeps v1's name as the very same function (probed: ``is`` holds)
to_grayscale = rgb_to_grayscale
__all__ += ["to_grayscale"]


def erase(inpt, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Images and videos with the (h, w) rectangle at (i, j) set to ``v``; masks and boxes
    raise ``TypeError``, as in torchvision.

    Example:
        >>> erase(tv_tensors.Image(ember.ones(1, 4, 4)), 1, 1, 2, 2, ember.zeros(1)).sum()
        tensor(12.)
    """
    _images_only(inpt, "erase")
    return _image_op(inpt, lambda t: _F1.erase(t, i, j, h, w, v, inplace))


# --- the auto-augment colour ops -----------------------------------------------------------

# torchvision's parameter names (and defaults) of these functionals after ``inpt``
_IMAGE_KERNEL_PARAMS = {"adjust_sharpness": ["sharpness_factor"], "posterize": ["bits"],
                        "solarize": ["threshold"], "adjust_gamma": ["gamma", ("gain", 1)]}


def _image_kernel(fn, name: str, doc: str):
    import inspect

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("inpt", kind)]
    for p in _IMAGE_KERNEL_PARAMS.get(name, []):
        params.append(inspect.Parameter(p[0], kind, default=p[1]) if isinstance(p, tuple)
                      else inspect.Parameter(p, kind))
    sig = inspect.Signature(params)

    def op(*args, **kwargs):
        inpt, *rest = sig.bind(*args, **kwargs).arguments.values()
        _images_only(inpt, name)
        return _image_op(inpt, lambda t: fn(t, *rest))
    op.__name__ = op.__qualname__ = name
    op.__signature__ = sig
    op.__doc__ = doc
    return op


def _sharpness_kernel(img, factor: float):
    if not (isinstance(img, Tensor) and img.dtype == D.uint8) or factor < 0:
        return _F1.adjust_sharpness(img, factor)
    arr = np.asarray(img._data)
    if arr.ndim < 3 or arr.shape[-3] not in (1, 3) or min(arr.shape[-2:]) <= 2:
        return _F1.adjust_sharpness(img, factor)
    blurred = np.asarray(_F1.adjust_sharpness(img, 0.0)._data).astype(np.float64)
    # torchvision v2 blends integer images as ``lerp(img, blurred, 1 - factor)`` (probed),
    # product and sum fused (emulated in float64): from ``img`` while the weight is below 0.5,
    # negative weights (factor > 1, sharpening) included -- probed at factor 1.7, where
    # starting from ``blurred`` moves some pixels down by one
    x = arr.astype(np.float64)
    w = float(np.float32(1.0 - factor))
    if w < 0.5:
        out = x + w * (blurred - x)
    else:
        out = blurred - (blurred - x) * float(np.float32(1.0 - w))
    out = np.clip(out.astype(np.float32), 0, 255).astype(np.uint8)
    return Tensor._make(np.ascontiguousarray(out), D.uint8)


def _autocontrast_kernel(img):
    if not (isinstance(img, Tensor) and img.dtype == D.uint8):
        return _F1.autocontrast(img)
    arr = np.asarray(img._data)
    if arr.ndim < 3 or arr.shape[-3] not in (1, 3):
        return _F1.autocontrast(img)
    # v2 divides by ``(max - min) * (1 / 255)`` in float32 (probed), not multiplies by
    # ``255 / (max - min)`` as v1 does, which moves some exact values down by one
    lo = arr.min(axis=(-2, -1), keepdims=True).astype(np.float32)
    hi = arr.max(axis=(-2, -1), keepdims=True).astype(np.float32)
    flat = hi == lo
    lo = np.where(flat, np.float32(0), lo)
    inv = np.where(flat, np.float32(1), (hi - lo) * np.float32(1.0 / 255.0))
    out = np.clip((arr.astype(np.float32) - lo) / inv, 0, 255).astype(np.uint8)
    return Tensor._make(np.ascontiguousarray(out), D.uint8)


def _posterize_kernel(img, bits: int):
    if isinstance(img, Tensor) and img.is_floating_point():
        # v2 quantizes float images to ``2**bits`` levels of [0, 1) (probed: 1.0 lands on the
        # top level, not on 1)
        arr = np.asarray(img._data)
        levels = 2 ** bits
        out = np.clip(np.floor(arr * arr.dtype.type(levels)), 0, levels - 1)
        return Tensor._make(np.ascontiguousarray(out / arr.dtype.type(levels)), img.dtype)
    return _F1.posterize(img, bits)


def _equalize_kernel(img):
    if isinstance(img, Tensor) and img.is_floating_point():
        # v2 equalizes float images through uint8 (probed: identical to the round trip)
        as_uint8 = _scale_dtype(img, D.uint8)
        return _scale_dtype(_F1.equalize(as_uint8), img.dtype)
    return _F1.equalize(img)


adjust_sharpness = _image_kernel(_sharpness_kernel, "adjust_sharpness", """Sharpen
    (factor > 1) or blur (factor < 1) images and videos; masks and boxes raise ``TypeError``.

    Example:
        >>> adjust_sharpness(tv_tensors.Image(ember.rand(3, 4, 4)), 2.0).shape
        ember.Size([3, 4, 4])
    """)
posterize = _image_kernel(_posterize_kernel, "posterize", """Keep the top ``bits`` bits of each
    uint8 value of images and videos (float images: ``2**bits`` levels).

    Example:
        >>> posterize(tv_tensors.Image(ember.full((1, 2, 2), 255, dtype=ember.uint8)), 2)
    """)
solarize = _image_kernel(_F1.solarize, "solarize", """Invert the values at or above
    ``threshold`` of images and videos.

    Example:
        >>> solarize(tv_tensors.Image(ember.rand(3, 4, 4)), 0.5).shape
        ember.Size([3, 4, 4])
    """)
autocontrast = _image_kernel(_autocontrast_kernel, "autocontrast", """Stretch each channel of
    images and videos to the full value range.

    Example:
        >>> autocontrast(tv_tensors.Image(ember.rand(3, 4, 4))).shape
        ember.Size([3, 4, 4])
    """)
equalize = _image_kernel(_equalize_kernel, "equalize", """Equalize the histogram of each channel
    of images and videos (float images through uint8).

    Example:
        >>> equalize(tv_tensors.Image((ember.rand(3, 4, 4) * 255).to(ember.uint8))).shape
        ember.Size([3, 4, 4])
    """)
invert = _image_kernel(_F1.invert, "invert", """The negative of images and videos
    (``max - x``).

    Example:
        >>> invert(tv_tensors.Image(ember.zeros(1, 2, 2))).max()
        tensor(1.)
    """)
__all__ += ["adjust_sharpness", "posterize", "solarize", "autocontrast", "equalize", "invert"]

# v1's gamma correction is v2's too (probed: same uint8 truncation and float clamping); v2
# only adds the Image/Video wrapping and refuses masks and boxes
adjust_gamma = _image_kernel(_F1.adjust_gamma, "adjust_gamma", """Gamma-correct images and
    videos, ``gain * x ** gamma`` on intensities in [0, 1]; masks and boxes raise ``TypeError``.

    Example:
        >>> adjust_gamma(tv_tensors.Image(ember.full((1, 1, 1), 0.25)), 0.5)
        Image([[[0.5000]]], )
    """)
__all__ += ["adjust_gamma"]


# --- noise, multi-crops and the deprecated conversions ----------------------------------------

def gaussian_noise(inpt, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
    """``inpt`` plus Gaussian noise ``N(mean, sigma)`` (one ``randn`` draw of the image's
    shape). Float images are clamped to ``[0, 1]`` when ``clip``; uint8 images get the noise
    scaled by 255 and truncated to integers, then clamped to ``[0, 255]`` when ``clip``.

    Example:
        >>> ember.manual_seed(0)
        >>> gaussian_noise(ember.full((1, 2, 2), 0.5), sigma=0.0).tolist()
        [[[0.5, 0.5], [0.5, 0.5]]]
    """
    from .... import randn

    if _is_pil_image(inpt):
        raise ValueError("Gaussian Noise is not implemented for PIL images.")
    _images_only(inpt, "gaussian_noise")
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    img = _plain(inpt)
    if img.dtype.is_floating_point:
        noise = randn(*img.shape, dtype=img.dtype).mul(sigma).add(mean)
        out = img + noise
        return _like(out.clamp(0.0, 1.0) if clip else out, inpt)
    if img.dtype != D.uint8:
        raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, "
                         f"got dtype={img.dtype}")
    # uint8: the noise lives on the 0..255 scale and is cut toward zero to whole steps before
    # it is added (probed); without clipping the sum wraps modulo 256 like a uint8 cast
    noise = np.asarray(randn(*img.shape).mul(sigma).add(mean).mul(255.0)._data)
    total = np.asarray(img._data).astype(np.int64) + np.trunc(noise).astype(np.int64)
    total = np.clip(total, 0, 255) if clip else total
    return _like(Tensor._make(np.ascontiguousarray(total.astype(np.uint8)), D.uint8), inpt)


def _multi_crop_check(inpt, name: str) -> None:
    if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(
            inpt, (tv_tensors.Image, tv_tensors.Video)):
        raise TypeError(f"Functional F.{name} supports inputs of type Image, Tensor, "
                        f"PIL.Image.Image and Video, but got {type(inpt)} instead.")


def five_crop(inpt, size):
    """The crops ``(top_left, top_right, bottom_left, bottom_right, center)`` of ``size`` from
    an image or video (``size``: an int for a square, or ``(h, w)``).

    Example:
        >>> [c.flatten().tolist() for c in five_crop(ember.arange(16.0).reshape(1, 4, 4), 1)]
        [[0.0], [3.0], [12.0], [15.0], [10.0]]
    """
    _multi_crop_check(inpt, "five_crop")
    if _is_pil_image(inpt):
        return _F1.five_crop(inpt, size)
    return tuple(_like(c, inpt) for c in _F1.five_crop(_plain(inpt), size))


def ten_crop(inpt, size, vertical_flip: bool = False):
    """``five_crop`` of an image or video, then of its left-right (or, with ``vertical_flip``,
    top-bottom) mirror: ten crops.

    Example:
        >>> len(ten_crop(ember.rand(3, 8, 8), [4, 4]))
        10
    """
    _multi_crop_check(inpt, "ten_crop")
    if _is_pil_image(inpt):
        return _F1.ten_crop(inpt, size, vertical_flip)
    return tuple(_like(c, inpt) for c in _F1.ten_crop(_plain(inpt), size, vertical_flip))


def to_tensor(inpt) -> Tensor:
    """Deprecated: a PIL image or ``(H, W, C)`` array as a float ``(C, H, W)`` tensor in
    ``[0, 1]`` (v1's ``to_tensor``). Prefer ``to_image`` then ``to_dtype(..., scale=True)``.

    Example:
        >>> to_tensor(np.zeros((2, 2, 3), np.uint8)).shape
        torch.Size([3, 2, 2])
    """
    warnings.warn("The function `to_tensor(...)` is deprecated and will be removed in a future "
                  "release. Instead, please use `to_image(...)` followed by "
                  "`to_dtype(..., dtype=torch.float32, scale=True)`.", stacklevel=2)
    return _F1.to_tensor(inpt)


def convert_image_dtype(image: Tensor, dtype=D.float32) -> Tensor:
    """``image`` as ``dtype`` with its values rescaled between the integer range and float
    ``[0, 1]``; the result is a plain tensor (v1's ``convert_image_dtype``).

    Example:
        >>> convert_image_dtype(ember.full((1, 1, 1), 255, dtype=ember.uint8)).tolist()
        [[[1.0]]]
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"Input img should be Tensor Image, got {type(image)}")
    return _F1.convert_image_dtype(_plain(image), dtype)


__all__ += ["gaussian_noise", "five_crop", "ten_crop", "to_tensor", "convert_image_dtype"]


# --- elastic ---------------------------------------------------------------------------------

def _elastic_points(xy: np.ndarray, disp: np.ndarray, canvas_size, to_index) -> np.ndarray:
    """Points ``(..., 2)`` moved by the displacement at their pixel (``to_index`` picks it:
    truncation for key points, ceiling for box corners, as probed), clamped to the canvas.
    A point at pixel ``i`` goes where the inverse of the sampling grid puts it, i.e. to
    ``i - d * size / 2`` (``d`` in grid units), computed through the grid in float32."""
    h, w = canvas_size
    ix = np.clip(to_index(xy[..., 0]), 0, w - 1).astype(np.int64)
    iy = np.clip(to_index(xy[..., 1]), 0, h - 1).astype(np.int64)
    d = disp[0, iy, ix]  # (..., 2): x then y, in grid units
    f32 = np.float32
    gx = (2 * ix + 1).astype(f32) / f32(w) - f32(1) - d[..., 0]
    gy = (2 * iy + 1).astype(f32) / f32(h) - f32(1) - d[..., 1]
    return np.stack([(gx + f32(1)) * f32(w / 2) - f32(0.5),
                     (gy + f32(1)) * f32(h / 2) - f32(0.5)], axis=-1)


def _elastic_disp(displacement, h: int, w: int) -> np.ndarray:
    if not isinstance(displacement, Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    if tuple(displacement.shape) != (1, h, w, 2):
        raise ValueError(f"Argument displacement shape should be (1, {h}, {w}, 2), but given "
                         f"{displacement.shape}")
    return np.asarray(displacement._data).astype(np.float32)


def elastic(inpt, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Warp ``inpt`` by ``displacement`` (``(1, H, W, 2)``, x then y, in grid units where 2
    spans the image). Images and videos are resampled with ``interpolation``, masks with
    nearest neighbours; key points and box corners move by the displacement at their pixel.

    Example:
        >>> elastic(tv_tensors.Image(ember.rand(3, 4, 4)), ember.zeros(1, 4, 4, 2)).shape
        torch.Size([3, 4, 4])
    """
    if isinstance(inpt, (tv_tensors.KeyPoints, tv_tensors.BoundingBoxes)):
        h, w = inpt.canvas_size
        disp = _elastic_disp(displacement, h, w)
        if isinstance(inpt, tv_tensors.KeyPoints):
            xy = np.asarray(_plain(inpt)._data).astype(np.float32)
            moved = _elastic_points(xy, disp, (h, w), np.trunc)
            out = Tensor._make(np.ascontiguousarray(moved.astype(xy.dtype)), D.float32)
            return _like(out.to(inpt.dtype), inpt)
        xyxy = np.asarray(_xyxy(inpt)._data).astype(np.float32)
        corners = xyxy[..., [0, 1, 2, 1, 0, 3, 2, 3]].reshape(*xyxy.shape[:-1], 4, 2)
        moved = _elastic_points(corners, disp, (h, w), np.ceil)
        box = np.concatenate([moved.min(axis=-2), moved.max(axis=-2)], axis=-1)
        box = Tensor._make(np.ascontiguousarray(box.astype(np.float32)), D.float32)
        # the moved boxes are clamped to the canvas (probed: a corner pushed off to -0.9
        # comes back at 0)
        return _back(_clamp_xyxy(box, (h, w)), inpt)
    if not _is_pil_image(inpt):
        _elastic_disp(displacement, *get_size(inpt))
    if isinstance(inpt, tv_tensors.Mask):
        return _mask_op(inpt, lambda t: _F1.elastic_transform(
            t, displacement, InterpolationMode.NEAREST, fill))
    return _image_op(inpt, lambda t: _F1.elastic_transform(t, displacement, interpolation, fill))


elastic_transform = elastic

__all__ += ["elastic", "elastic_transform"]


# --- JPEG round trip -----------------------------------------------------------------------------

def _jpeg_round_trip(img: Tensor, quality: int) -> Tensor:
    # every (C, H, W) image of a batch goes through Pillow's encoder and back (ember.vision.io)
    from ... import io as _io

    if img.dtype != D.uint8:
        raise TypeError(f"Input tensor dtype should be uint8, but got {img.dtype}")
    if img.ndim < 3 or int(img.shape[-3]) not in (1, 3):
        raise ValueError(f"Expected an image of shape (..., 1 or 3, H, W), but got "
                         f"{tuple(img.shape)}")
    arr = np.asarray(img._data)
    flat = arr.reshape(-1, *arr.shape[-3:])
    out = np.empty_like(flat)
    for k, one in enumerate(flat):
        data = _io.encode_jpeg(Tensor._make(np.ascontiguousarray(one), D.uint8), quality)
        out[k] = np.asarray(_io.decode_jpeg(data)._data)
    return Tensor._make(out.reshape(arr.shape), D.uint8)


def jpeg(image, quality: int):
    """``image`` compressed as JPEG at ``quality`` (1..100) and decoded again, to simulate
    compression artefacts; uint8 images and videos (1 or 3 channels) and PIL images.

    Example:
        >>> jpeg(tv_tensors.Image(ember.zeros(3, 8, 8, dtype=ember.uint8)), 50).shape
        torch.Size([3, 8, 8])
    """
    _images_only(image, "jpeg")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got quality ={quality}")
    if _is_pil_image(image):
        import io as _pyio

        from PIL import Image as _PILImage

        buf = _pyio.BytesIO()
        image.save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        return _PILImage.open(buf).convert(image.mode)
    return _like(_jpeg_round_trip(_plain(image), int(quality)), image)


__all__ += ["jpeg"]


def uniform_temporal_subsample(inpt, num_samples: int):
    """``num_samples`` frames of a video ``(..., T, C, H, W)`` (a ``Video`` or plain tensor)
    spread evenly from the first to the last, as torchvision picks them
    (``linspace(0, T - 1, num_samples).long()``).

    Example:
        >>> uniform_temporal_subsample(tv_tensors.Video(ember.zeros(10, 3, 2, 2)), 4).shape
        ember.Size([4, 3, 2, 2])
    """
    from ._kernels import uniform_temporal_subsample_video

    return _like(uniform_temporal_subsample_video(_plain(inpt), num_samples), inpt)


def get_num_frames(inpt) -> int:
    """The number of frames ``T`` of a video ``(..., T, C, H, W)``.

    Example:
        >>> get_num_frames(tv_tensors.Video(ember.zeros(5, 3, 2, 2)))
        5
    """
    return int(_plain(inpt).shape[-4])


__all__ += ["uniform_temporal_subsample", "get_num_frames"]


# --- channels -------------------------------------------------------------------------------

def is_pure_tensor(inpt) -> bool:
    """Whether ``inpt`` is a plain ``Tensor`` (not a tv_tensor).

    Example:
        >>> is_pure_tensor(ember.zeros(3)), is_pure_tensor(tv_tensors.Mask(ember.zeros(2, 2)))
        (True, False)
    """
    return isinstance(inpt, Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def get_num_channels(inpt) -> int:
    """The number of channels ``C`` of an image ``(..., C, H, W)`` or video (1 for a bare
    ``(H, W)`` tensor); PIL images count their bands.

    Example:
        >>> get_num_channels(tv_tensors.Image(ember.zeros(3, 4, 5)))
        3
    """
    if _is_pil_image(inpt):
        return _F1.get_image_num_channels(inpt)
    from ._kernels import get_num_channels_image

    return get_num_channels_image(inpt)


def get_image_size(inpt) -> list[int]:
    """Deprecated: ``[W, H]`` of an image (v1's order); use ``get_size`` (``[H, W]``).

    Example:
        >>> get_image_size(ember.zeros(3, 4, 5))  # warns
        [5, 4]
    """
    warnings.warn("The function `get_image_size(...)` is deprecated and will be removed in a "
                  "future release. Instead, please use `get_size(...)` which returns `[h, w]` "
                  "instead of `[w, h]`.", stacklevel=2)
    return _F1.get_image_size(inpt if _is_pil_image(inpt) else _plain(inpt))


def grayscale_to_rgb(inpt):
    """Images (plain tensors, ``Image``, PIL) to RGB: one channel repeated three times; images
    that already have three or more channels come back as they are.

    Example:
        >>> grayscale_to_rgb(tv_tensors.Image(ember.zeros(1, 2, 2))).shape
        ember.Size([3, 2, 2])
    """
    if _is_pil_image(inpt):
        return inpt.convert(mode="RGB")
    from ._kernels import grayscale_to_rgb_image

    return _like(grayscale_to_rgb_image(inpt), inpt)


def permute_channels(inpt, permutation):
    """The channels (dim -3) of an image or video reordered: output channel ``k`` is input
    channel ``permutation[k]`` (``ValueError`` if its length is not the number of channels).

    Example:
        >>> permute_channels(ember.arange(3.).reshape(3, 1, 1), [2, 0, 1]).flatten()
        tensor([2., 0., 1.])
    """
    if _is_pil_image(inpt):
        from ._kernels import permute_channels_image

        return to_pil_image(permute_channels_image(pil_to_tensor(inpt), permutation))
    from ._kernels import permute_channels_image

    return _like(permute_channels_image(inpt, permutation), inpt)


__all__ += ["is_pure_tensor", "get_num_channels", "get_image_num_channels", "get_image_size",
            "grayscale_to_rgb", "permute_channels"]


# --- one kernel table: each functional looks up (functional, type of its input) -------------
# The letters name the built-in input types each functional serves, in torchvision's order
# (I Image, T plain Tensor, P PIL image, M Mask, K KeyPoints, B BoundingBoxes, V Video); the
# function body above is their kernel, and ``register_kernel`` adds kernels for custom types.
from ._registry import dispatching as _dispatching  # noqa: E402
from ._registry import register_kernel  # noqa: E402, F401  (public name of F)

_SERVED = {
    "horizontal_flip": "ITPMKBV", "vertical_flip": "ITPMKBV", "resize": "ITPMKBV",
    "pad": "ITPMKBV", "crop": "ITPKBMV", "center_crop": "ITPKBMV", "resized_crop": "ITPKBMV",
    "rotate": "ITPKBMV", "affine": "ITPKBMV", "perspective": "ITPKBMV", "elastic": "ITPKBMV",
    "adjust_brightness": "ITPV", "adjust_contrast": "ITPV", "adjust_gamma": "ITPV",
    "adjust_hue": "ITPV", "adjust_saturation": "ITPV", "adjust_sharpness": "ITPV",
    "autocontrast": "ITPV", "equalize": "ITPV", "invert": "ITPV", "posterize": "ITPV",
    "solarize": "ITPV", "gaussian_blur": "ITPV", "erase": "ITPV", "five_crop": "ITPV",
    "ten_crop": "ITPV", "get_dimensions": "ITPV", "gaussian_noise": "ITVP", "jpeg": "ITVP",
    "normalize": "ITV", "rgb_to_grayscale": "ITP",
    "to_dtype": "ITVMBK", "get_size": "ITPVMBK", "uniform_temporal_subsample": "VT",
    "get_num_frames": "VT", "get_num_channels": "ITPV", "grayscale_to_rgb": "ITP",
    "permute_channels": "ITPV",
}
for _name, _codes in _SERVED.items():
    if _name in globals():
        globals()[_name] = _dispatching(_codes)(globals()[_name])
del _name, _codes
hflip = horizontal_flip
vflip = vertical_flip
elastic_transform = elastic
to_grayscale = rgb_to_grayscale
# torchvision keeps the old name as the very same function
get_image_num_channels = get_num_channels
__all__ += ["register_kernel"]

# the per-type kernels (``resize_image``, ``crop_bounding_boxes`` ...): doors onto the bodies
# above for one input type each, on plain tensors (see ``_kernels``)
from . import _kernels  # noqa: E402

globals().update({_k: getattr(_kernels, _k) for _k in _kernels.KERNELS})
__all__ += _kernels.KERNELS
_kernels.install(_SERVED)
