"""The per-type kernels of ``v2.functional`` (``resize_image``, ``resize_mask``,
``resize_bounding_boxes``, ``horizontal_flip_video`` ...), as torchvision 0.28 names them.

A kernel serves one input type and works on plain tensors: it takes the data as a ``Tensor``
(a tv_tensor is read as its plain data) plus the metadata the type would carry (a box kernel
gets ``format`` and ``canvas_size``, a key-point kernel ``canvas_size``) and returns a plain
``Tensor``. Kernels whose operation changes the canvas return ``(tensor, canvas_size)``, the
same split torchvision makes (``crop_bounding_boxes`` does, ``affine_bounding_boxes`` does
not).

Each kernel is a thin door onto the code of its dispatching functional: it dresses the data as
the type it serves, runs the functional's built-in branch for that type, and undresses the
answer. The arithmetic therefore lives in one place and the kernel and the functional cannot
drift apart. A ``*_video`` kernel is its ``*_image`` twin under the parameter name ``video``
(frames are images along a leading dimension).

Example:
    >>> from ember.vision.transforms.v2 import functional as F
    >>> F.resize_image(ember.zeros(3, 8, 10), [4, 5]).shape
    ember.Size([3, 4, 5])
    >>> F.crop_bounding_boxes(ember.tensor([[1., 1., 6., 6.]]), "XYXY", 2, 2, 3, 3)
    (tensor([[0., 0., 3., 3.]]), (3, 3))
"""

from __future__ import annotations

import ast
import functools
import inspect
import re

from .... import _dtype as D
from ...._tensor import Tensor
from ... import tv_tensors
from .._functional_base import InterpolationMode
from . import functional as _F


class _Bodies:
    """The functionals' own bodies (what ``dispatching`` wrapped): a kernel runs the body, not
    the dispatcher, since the dispatcher's table entry for the type is the kernel itself."""

    def __getattr__(self, name):
        fn = getattr(_F, name)
        return getattr(fn, "__wrapped__", fn)


_B = _Bodies()

NEAREST = InterpolationMode.NEAREST
BILINEAR = InterpolationMode.BILINEAR


def _plain(t):
    return t.as_subclass(Tensor) if isinstance(t, Tensor) and type(t) is not Tensor else t


def _fmt(format):
    fmt = tv_tensors.BoundingBoxFormat
    return fmt[format.upper()] if isinstance(format, str) else format


def _boxes(data, format, canvas_size, clamping_mode="soft"):
    return tv_tensors.BoundingBoxes(_plain(data), format=_fmt(format),
                                    canvas_size=tuple(canvas_size), clamping_mode=clamping_mode)


def _with_canvas(out):
    return _plain(out), tuple(out.canvas_size)


def _mask(data):
    return tv_tensors.Mask(_plain(data))


def _keypoints(data, canvas_size):
    return tv_tensors.KeyPoints(_plain(data), canvas_size=tuple(canvas_size))


def _video_of(image_kernel, **defaults):
    """``image_kernel`` under the name ``<op>_video`` with its first parameter called
    ``video`` (torchvision's video kernels run the image kernel on every frame at once)."""
    @functools.wraps(image_kernel)
    def kernel(video, *args, **kwargs):
        return image_kernel(video, *args, **kwargs)

    sig = inspect.signature(image_kernel)
    params = list(sig.parameters.values())
    params[0] = params[0].replace(name="video")
    params = [p.replace(default=defaults[p.name]) if p.name in defaults else p for p in params]
    kernel.__signature__ = sig.replace(parameters=params)
    kernel.__name__ = kernel.__qualname__ = image_kernel.__name__[:-len("image")] + "video"
    kernel.__doc__ = (f"``{image_kernel.__name__}`` on a video ``(..., T, C, H, W)``, every "
                      f"frame alike.\n\n    Example:\n{_video_example(image_kernel)}    ")
    return kernel


def _video_example(image_kernel) -> str:
    """The image kernel's example call, on a two-frame video (its printed answer dropped)."""
    lines = [ln for ln in (image_kernel.__doc__ or "").splitlines()
             if ln.strip().startswith((">>>", "..."))]
    text = "\n".join(lines).replace(image_kernel.__name__ + "(",
                                     image_kernel.__name__[:-len("image")] + "video(")
    # one frame dimension in front of the example image's shape
    text = re.sub(r"ember\.(zeros|rand|ones)\(", r"ember.\1(2, ", text, count=1)
    text = re.sub(r"ember\.full\(\(", "ember.full((2, ", text, count=1)
    text = re.sub(r"\.reshape\(", ".reshape(1, ", text, count=1)
    return text + "\n"


# --- flips -----------------------------------------------------------------------------------

def horizontal_flip_image(image: Tensor) -> Tensor:
    """An image ``(..., C, H, W)`` mirrored left-right.

    Example:
        >>> horizontal_flip_image(ember.arange(3.).reshape(1, 1, 3)).flatten().tolist()
        [2.0, 1.0, 0.0]
    """
    return _B.horizontal_flip(_plain(image))


def horizontal_flip_mask(mask: Tensor) -> Tensor:
    """A mask (``(H, W)`` or ``(..., H, W)``) mirrored left-right.

    Example:
        >>> horizontal_flip_mask(ember.eye(2)).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    return _plain(_B.horizontal_flip(_mask(mask)))


def horizontal_flip_bounding_boxes(bounding_boxes: Tensor, format, canvas_size) -> Tensor:
    """Boxes in ``format`` mirrored left-right on a ``canvas_size = (H, W)`` canvas.

    Example:
        >>> horizontal_flip_bounding_boxes(ember.tensor([[1., 0., 3., 2.]]), "XYXY", (4, 10))
        tensor([[7., 0., 9., 2.]])
    """
    return _plain(_B.horizontal_flip(_boxes(bounding_boxes, format, canvas_size)))


def vertical_flip_image(image: Tensor) -> Tensor:
    """An image ``(..., C, H, W)`` mirrored top-bottom.

    Example:
        >>> vertical_flip_image(ember.arange(3.).reshape(1, 3, 1)).flatten().tolist()
        [2.0, 1.0, 0.0]
    """
    return _B.vertical_flip(_plain(image))


def vertical_flip_mask(mask: Tensor) -> Tensor:
    """A mask mirrored top-bottom.

    Example:
        >>> vertical_flip_mask(ember.eye(2)).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    return _plain(_B.vertical_flip(_mask(mask)))


def vertical_flip_bounding_boxes(bounding_boxes: Tensor, format, canvas_size) -> Tensor:
    """Boxes in ``format`` mirrored top-bottom on a ``canvas_size = (H, W)`` canvas.

    Example:
        >>> vertical_flip_bounding_boxes(ember.tensor([[1., 0., 3., 2.]]), "XYXY", (4, 10))
        tensor([[1., 2., 3., 4.]])
    """
    return _plain(_B.vertical_flip(_boxes(bounding_boxes, format, canvas_size)))


# --- resizing, cropping, padding -------------------------------------------------------------

def resize_image(image: Tensor, size, interpolation=BILINEAR, max_size=None,
                 antialias=True) -> Tensor:
    """An image resized to ``size`` (``[h, w]``, or the shorter side's length).

    Example:
        >>> resize_image(ember.zeros(3, 8, 10), [4, 5]).shape
        ember.Size([3, 4, 5])
    """
    return _B.resize(_plain(image), size, interpolation, max_size, antialias)


def resize_mask(mask: Tensor, size, interpolation=BILINEAR, max_size=None) -> Tensor:
    """A mask resized to ``size`` with nearest neighbours (``interpolation`` is accepted for
    torchvision's signature; a mask's labels are never blended).

    Example:
        >>> resize_mask(ember.eye(2), [4, 4]).shape
        ember.Size([4, 4])
    """
    return _plain(_B.resize(_mask(mask), size, NEAREST, max_size))


def resize_bounding_boxes(bounding_boxes: Tensor, canvas_size, size, max_size=None,
                          format=tv_tensors.BoundingBoxFormat.XYXY, clamping_mode="soft"):
    """Boxes scaled as their canvas is resized to ``size``: ``(boxes, new_canvas_size)``.

    Example:
        >>> resize_bounding_boxes(ember.tensor([[2., 2., 4., 4.]]), (8, 8), [4, 4])
        (tensor([[1., 1., 2., 2.]]), (4, 4))
    """
    return _with_canvas(_B.resize(_boxes(bounding_boxes, format, canvas_size, clamping_mode),
                                  size, max_size=max_size))


def crop_image(image: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The ``height x width`` window of an image at ``(top, left)`` (zero-padded outside).

    Example:
        >>> crop_image(ember.zeros(3, 8, 10), 1, 2, 4, 5).shape
        ember.Size([3, 4, 5])
    """
    return _B.crop(_plain(image), top, left, height, width)


def crop_mask(mask: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The ``height x width`` window of a mask at ``(top, left)``.

    Example:
        >>> crop_mask(ember.eye(4), 1, 1, 2, 2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    return _plain(_B.crop(_mask(mask), top, left, height, width))


def crop_bounding_boxes(bounding_boxes: Tensor, format, top: int, left: int, height: int,
                        width: int, clamping_mode="soft"):
    """Boxes moved into the crop window and clamped to it: ``(boxes, (height, width))``.

    Example:
        >>> crop_bounding_boxes(ember.tensor([[1., 1., 6., 6.]]), "XYXY", 2, 2, 3, 3)
        (tensor([[0., 0., 3., 3.]]), (3, 3))
    """
    # the input canvas plays no part in a crop: any canvas holding the window will do
    canvas = (max(top + height, 1), max(left + width, 1))
    boxes = _boxes(bounding_boxes, format, canvas, clamping_mode)
    return _with_canvas(_B.crop(boxes, top, left, height, width))


def center_crop_image(image: Tensor, output_size) -> Tensor:
    """The central ``output_size`` window of an image.

    Example:
        >>> center_crop_image(ember.zeros(3, 8, 10), [4, 4]).shape
        ember.Size([3, 4, 4])
    """
    return _B.center_crop(_plain(image), output_size)


def center_crop_mask(mask: Tensor, output_size) -> Tensor:
    """The central ``output_size`` window of a mask.

    Example:
        >>> center_crop_mask(ember.eye(4), [2, 2]).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    return _plain(_B.center_crop(_mask(mask), output_size))


def center_crop_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, output_size,
                               clamping_mode="soft"):
    """Boxes moved into the central ``output_size`` window: ``(boxes, new_canvas_size)``.

    Example:
        >>> center_crop_bounding_boxes(ember.tensor([[2., 2., 6., 6.]]), "XYXY", (8, 8), [4, 4])
        (tensor([[0., 0., 4., 4.]]), (4, 4))
    """
    return _with_canvas(_B.center_crop(
        _boxes(bounding_boxes, format, canvas_size, clamping_mode), output_size))


def resized_crop_image(image: Tensor, top: int, left: int, height: int, width: int, size,
                       interpolation=BILINEAR, antialias=True) -> Tensor:
    """``crop_image`` then ``resize_image`` to ``size``.

    Example:
        >>> resized_crop_image(ember.zeros(3, 8, 10), 0, 0, 4, 4, [2, 2]).shape
        ember.Size([3, 2, 2])
    """
    return _B.resized_crop(_plain(image), top, left, height, width, size, interpolation,
                           antialias)


def resized_crop_mask(mask: Tensor, top: int, left: int, height: int, width: int,
                      size) -> Tensor:
    """``crop_mask`` then ``resize_mask`` to ``size``.

    Example:
        >>> resized_crop_mask(ember.eye(4), 0, 0, 2, 2, [4, 4]).shape
        ember.Size([4, 4])
    """
    return _plain(_B.resized_crop(_mask(mask), top, left, height, width, size))


def resized_crop_bounding_boxes(bounding_boxes: Tensor, format, top: int, left: int,
                                height: int, width: int, size, clamping_mode="soft"):
    """``crop_bounding_boxes`` then a resize of the window to ``size``: ``(boxes, size)``.

    Example:
        >>> resized_crop_bounding_boxes(ember.tensor([[0., 0., 2., 2.]]), "XYXY", 0, 0, 4, 4,
        ...                             [8, 8])
        (tensor([[0., 0., 4., 4.]]), (8, 8))
    """
    canvas = (max(top + height, 1), max(left + width, 1))
    boxes = _boxes(bounding_boxes, format, canvas, clamping_mode)
    return _with_canvas(_B.resized_crop(boxes, top, left, height, width, size))


def pad_image(image: Tensor, padding, fill=None, padding_mode: str = "constant") -> Tensor:
    """An image padded by ``padding`` (``fill=None`` pads with zeros).

    Example:
        >>> pad_image(ember.zeros(3, 4, 5), [1, 2]).shape
        ember.Size([3, 8, 7])
    """
    return _B.pad(_plain(image), padding, 0 if fill is None else fill, padding_mode)


def pad_mask(mask: Tensor, padding, fill=None, padding_mode: str = "constant") -> Tensor:
    """A mask padded by ``padding`` (``fill=None`` pads with zeros).

    Example:
        >>> pad_mask(ember.eye(2), [1]).shape
        ember.Size([4, 4])
    """
    return _plain(_B.pad(_mask(mask), padding, 0 if fill is None else fill, padding_mode))


def pad_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, padding,
                       padding_mode: str = "constant", clamping_mode="soft"):
    """Boxes shifted onto the padded canvas: ``(boxes, new_canvas_size)``.

    Example:
        >>> pad_bounding_boxes(ember.tensor([[0., 0., 2., 2.]]), "XYXY", (4, 4), [1, 2])
        (tensor([[1., 2., 3., 4.]]), (8, 6))
    """
    boxes = _boxes(bounding_boxes, format, canvas_size, clamping_mode)
    return _with_canvas(_B.pad(boxes, padding, padding_mode=padding_mode))


# --- rotations and warps ---------------------------------------------------------------------

def rotate_image(image: Tensor, angle: float, interpolation=NEAREST, expand: bool = False,
                 center=None, fill=None) -> Tensor:
    """An image turned counter-clockwise by ``angle`` degrees.

    Example:
        >>> rotate_image(ember.zeros(3, 8, 6), 90.0, expand=True).shape
        ember.Size([3, 6, 8])
    """
    return _B.rotate(_plain(image), angle, interpolation, expand, center, fill)


def rotate_mask(mask: Tensor, angle: float, expand: bool = False, center=None,
                fill=None) -> Tensor:
    """A mask turned counter-clockwise by ``angle`` degrees (nearest neighbours).

    Example:
        >>> rotate_mask(ember.eye(2), 90.0).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    return _plain(_B.rotate(_mask(mask), angle, NEAREST, expand, center, fill))


def rotate_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, angle: float,
                          expand: bool = False, center=None, clamping_mode="soft"):
    """The boxes around each box's rotated corners: ``(boxes, new_canvas_size)``.

    Example:
        >>> rotate_bounding_boxes(ember.tensor([[0., 0., 2., 4.]]), "XYXY", (4, 4), 90.0)
        (tensor([[0., 2., 4., 4.]]), (4, 4))
    """
    boxes = _boxes(bounding_boxes, format, canvas_size, clamping_mode)
    return _with_canvas(_B.rotate(boxes, angle, expand=expand, center=center))


def affine_image(image: Tensor, angle, translate, scale: float, shear, interpolation=NEAREST,
                 fill=None, center=None) -> Tensor:
    """An image rotated, translated, scaled and sheared (size kept).

    Example:
        >>> affine_image(ember.zeros(3, 8, 8), 30.0, [1, 0], 1.0, [0.0, 0.0]).shape
        ember.Size([3, 8, 8])
    """
    return _B.affine(_plain(image), angle, translate, scale, shear, interpolation, fill, center)


def affine_mask(mask: Tensor, angle, translate, scale: float, shear, fill=None,
                center=None) -> Tensor:
    """A mask under ``affine_image``'s map (nearest neighbours).

    Example:
        >>> affine_mask(ember.eye(4), 0.0, [1, 0], 1.0, [0.0, 0.0]).shape
        ember.Size([4, 4])
    """
    return _plain(_B.affine(_mask(mask), angle, translate, scale, shear, NEAREST, fill, center))


def affine_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, angle, translate,
                          scale: float, shear, center=None, clamping_mode="soft") -> Tensor:
    """The boxes around each box's corners under the affine map (same canvas).

    Example:
        >>> affine_bounding_boxes(ember.tensor([[0., 0., 2., 2.]]), "XYXY", (8, 8), 0.0,
        ...                       [1, 1], 1.0, [0.0, 0.0])
        tensor([[1., 1., 3., 3.]])
    """
    boxes = _boxes(bounding_boxes, format, canvas_size, clamping_mode)
    return _plain(_B.affine(boxes, angle, translate, scale, shear, center=center))


def perspective_image(image: Tensor, startpoints, endpoints, interpolation=BILINEAR, fill=None,
                      coefficients=None) -> Tensor:
    """An image warped so ``startpoints`` land on ``endpoints``.

    Example:
        >>> c = [[0, 0], [7, 0], [7, 7], [0, 7]]
        >>> perspective_image(ember.zeros(3, 8, 8), c, c).shape
        ember.Size([3, 8, 8])
    """
    return _B.perspective(_plain(image), startpoints, endpoints, interpolation, fill,
                          coefficients)


def perspective_mask(mask: Tensor, startpoints, endpoints, fill=None,
                     coefficients=None) -> Tensor:
    """A mask warped as ``perspective_image`` warps (nearest neighbours).

    Example:
        >>> c = [[0, 0], [3, 0], [3, 3], [0, 3]]
        >>> perspective_mask(ember.eye(4), c, c).shape
        ember.Size([4, 4])
    """
    return _plain(_B.perspective(_mask(mask), startpoints, endpoints, NEAREST, fill,
                                 coefficients))


def perspective_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, startpoints,
                               endpoints, coefficients=None, clamping_mode="soft") -> Tensor:
    """The boxes around each box's warped corners (same canvas).

    Example:
        >>> c = [[0, 0], [7, 0], [7, 7], [0, 7]]
        >>> perspective_bounding_boxes(ember.tensor([[1., 1., 3., 3.]]), "XYXY", (8, 8), c, c)
        tensor([[1., 1., 3., 3.]])
    """
    boxes = _boxes(bounding_boxes, format, canvas_size, clamping_mode)
    return _plain(_B.perspective(boxes, startpoints, endpoints, coefficients=coefficients))


def elastic_image(image: Tensor, displacement: Tensor, interpolation=BILINEAR,
                  fill=None) -> Tensor:
    """An image resampled along ``displacement`` (``(1, H, W, 2)``).

    Example:
        >>> elastic_image(ember.rand(3, 4, 4), ember.zeros(1, 4, 4, 2)).shape
        ember.Size([3, 4, 4])
    """
    return _B.elastic(_plain(image), displacement, interpolation, fill)


def elastic_mask(mask: Tensor, displacement: Tensor, fill=None) -> Tensor:
    """A mask resampled along ``displacement`` (nearest neighbours).

    Example:
        >>> elastic_mask(ember.eye(4), ember.zeros(1, 4, 4, 2)).shape
        ember.Size([4, 4])
    """
    return _plain(_B.elastic(_mask(mask), displacement, NEAREST, fill))


def elastic_bounding_boxes(bounding_boxes: Tensor, format, canvas_size, displacement: Tensor,
                           clamping_mode="soft") -> Tensor:
    """Boxes whose corners move by the displacement at their pixel (same canvas).

    Example:
        >>> elastic_bounding_boxes(ember.tensor([[1., 1., 3., 3.]]), "XYXY", (4, 4),
        ...                        ember.zeros(1, 4, 4, 2))
        tensor([[1., 1., 3., 3.]])
    """
    boxes = _boxes(bounding_boxes, format, canvas_size, clamping_mode)
    return _plain(_B.elastic(boxes, displacement))


def elastic_keypoints(keypoints: Tensor, canvas_size, displacement: Tensor) -> Tensor:
    """Key points ``(..., 2)`` moved by the displacement at their pixel.

    Example:
        >>> elastic_keypoints(ember.tensor([[1., 2.]]), (4, 4), ember.zeros(1, 4, 4, 2))
        tensor([[1., 2.]])
    """
    return _plain(_B.elastic(_keypoints(keypoints, canvas_size), displacement))


# --- colour and value kernels (images; videos through _video_of) ------------------------------

def _image_door(functional_name: str, signature: str, doc_call: str):
    """An ``<op>_image`` kernel: the functional's plain-tensor branch, under torchvision's
    parameter names (``signature`` lists them after ``image``)."""
    names = [p.strip().split("=")[0].strip() for p in signature.split(",") if p.strip()]

    def kernel(image, *args, **kwargs):
        return getattr(_B, functional_name)(_plain(image), *args, **kwargs)

    params = [inspect.Parameter("image", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for item in signature.split(","):
        if not item.strip():
            continue
        name, sep, default = item.partition("=")
        extra = {"default": ast.literal_eval(default.strip())} if sep else {}
        params.append(inspect.Parameter(name.strip(), inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        **extra))
    kernel.__signature__ = inspect.Signature(params)
    kernel.__name__ = kernel.__qualname__ = functional_name + "_image"
    kernel.__doc__ = (f"``{functional_name}`` of an image tensor ``(..., C, H, W)``; "
                      f"parameters {', '.join(names) or 'none'}.\n\n    Example:\n"
                      f"        >>> {kernel.__name__}({doc_call})\n    ")
    return kernel


adjust_brightness_image = _image_door("adjust_brightness", "brightness_factor",
                                      "ember.rand(3, 4, 4), 1.5")
adjust_contrast_image = _image_door("adjust_contrast", "contrast_factor",
                                    "ember.rand(3, 4, 4), 0.5")
adjust_saturation_image = _image_door("adjust_saturation", "saturation_factor",
                                      "ember.rand(3, 4, 4), 0.5")
adjust_hue_image = _image_door("adjust_hue", "hue_factor", "ember.rand(3, 4, 4), 0.1")
adjust_gamma_image = _image_door("adjust_gamma", "gamma, gain=1.0", "ember.rand(3, 4, 4), 2.0")
adjust_sharpness_image = _image_door("adjust_sharpness", "sharpness_factor",
                                     "ember.rand(3, 4, 4), 2.0")
autocontrast_image = _image_door("autocontrast", "", "ember.rand(3, 4, 4)")
equalize_image = _image_door("equalize", "", "ember.rand(3, 4, 4)")
invert_image = _image_door("invert", "", "ember.rand(3, 4, 4)")
posterize_image = _image_door("posterize", "bits",
                              "ember.zeros(3, 4, 4, dtype=ember.uint8), 3")
solarize_image = _image_door("solarize", "threshold", "ember.rand(3, 4, 4), 0.5")
gaussian_blur_image = _image_door("gaussian_blur", "kernel_size, sigma=None",
                                  "ember.rand(3, 8, 8), [3, 3], [1.0, 1.0]")
gaussian_noise_image = _image_door("gaussian_noise", "mean=0.0, sigma=0.1, clip=True",
                                   "ember.rand(3, 4, 4)")
erase_image = _image_door("erase", "i, j, h, w, v, inplace=False",
                          "ember.ones(1, 4, 4), 1, 1, 2, 2, ember.zeros(1)")
normalize_image = _image_door("normalize", "mean, std, inplace=False",
                              "ember.rand(3, 4, 4), [0.5] * 3, [0.5] * 3")
jpeg_image = _image_door("jpeg", "quality", "ember.zeros(3, 8, 8, dtype=ember.uint8), 50")
five_crop_image = _image_door("five_crop", "size", "ember.rand(3, 8, 8), [4, 4]")
ten_crop_image = _image_door("ten_crop", "size, vertical_flip=False",
                             "ember.rand(3, 8, 8), [4, 4]")
get_dimensions_image = _image_door("get_dimensions", "", "ember.zeros(3, 4, 5)")
get_size_image = _image_door("get_size", "", "ember.zeros(3, 4, 5)")
rgb_to_grayscale_image = _image_door("rgb_to_grayscale", "num_output_channels=1",
                                     "ember.rand(3, 4, 4)")


def to_dtype_image(image: Tensor, dtype=D.float32, scale: bool = False) -> Tensor:
    """An image as ``dtype``; with ``scale`` its values move between the integer range and
    float ``[0, 1]``.

    Example:
        >>> to_dtype_image(ember.full((1, 1, 1), 255, dtype=ember.uint8), scale=True).tolist()
        [[[1.0]]]
    """
    return _B.to_dtype(_plain(image), dtype, scale)


def get_num_channels_image(image: Tensor) -> int:
    """The number of channels of an image ``(..., C, H, W)`` (1 for a bare ``(H, W)``).

    Example:
        >>> get_num_channels_image(ember.zeros(3, 4, 5))
        3
    """
    chw = tuple(image.shape[-3:])
    if len(chw) == 3:
        return int(chw[0])
    if len(chw) == 2:
        return 1
    raise TypeError(f"Input tensor should have at least two dimensions, but got {len(chw)}")


def grayscale_to_rgb_image(image: Tensor) -> Tensor:
    """A one-channel image repeated into three channels (images with three or more channels
    come back as they are).

    Example:
        >>> grayscale_to_rgb_image(ember.zeros(1, 2, 2)).shape
        ember.Size([3, 2, 2])
    """
    image = _plain(image)
    channels = int(image.shape[-3])
    if channels >= 3:
        return image
    if channels != 1:
        # torchvision unpacks three channels here and fails the same way
        raise ValueError(f"not enough values to unpack (expected 3, got {channels})")
    return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).clone()


def permute_channels_image(image: Tensor, permutation) -> Tensor:
    """An image's channels reordered: output channel ``k`` is input channel
    ``permutation[k]``.

    Example:
        >>> permute_channels_image(ember.arange(3.).reshape(3, 1, 1), [2, 0, 1]).flatten()
        tensor([2., 0., 1.])
    """
    from .... import tensor as _tensor

    image = _plain(image)
    channels = int(image.shape[-3])
    if len(permutation) != channels:
        raise ValueError(f"Length of permutation does not match number of channels: "
                         f"{len(permutation)} != {channels}")
    if isinstance(permutation, Tensor):
        index = _plain(permutation).to(D.int64)
    else:
        index = _tensor([int(k) for k in permutation], dtype=D.int64)
    return image.index_select(-3, index)


def get_num_frames_video(video: Tensor) -> int:
    """The number of frames ``T`` of a video ``(..., T, C, H, W)``.

    Example:
        >>> get_num_frames_video(ember.zeros(5, 3, 2, 2))
        5
    """
    return int(video.shape[-4])


def uniform_temporal_subsample_video(video: Tensor, num_samples: int) -> Tensor:
    """``num_samples`` frames spread evenly over the video, first and last included (frame
    indices ``linspace(0, T - 1, num_samples)`` cut to integers).

    Example:
        >>> uniform_temporal_subsample_video(ember.arange(10.).reshape(10, 1, 1, 1), 4).flatten()
        tensor([0., 3., 6., 9.])
    """
    from .... import linspace

    video = _plain(video)
    # torch's float32 linspace, truncated (NumPy's float32 linspace rounds differently and
    # picks other frames now and then, e.g. 3 frames subsampled to 15)
    picks = linspace(0, int(video.shape[-4]) - 1, num_samples).long()
    return video.index_select(-4, picks)


# --- sizes of the other types ----------------------------------------------------------------

def get_size_mask(mask: Tensor) -> list[int]:
    """``[H, W]`` of a mask.

    Example:
        >>> get_size_mask(ember.zeros(2, 4, 5))
        [4, 5]
    """
    return [int(mask.shape[-2]), int(mask.shape[-1])]


def get_size_bounding_boxes(bounding_box) -> list[int]:
    """``[H, W]`` of a ``BoundingBoxes``' canvas.

    Example:
        >>> get_size_bounding_boxes(tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY",
        ...                                                  canvas_size=(7, 8)))
        [7, 8]
    """
    return list(bounding_box.canvas_size)


def sanitize_bounding_boxes(bounding_boxes: Tensor, format=None, canvas_size=None,
                            min_size: float = 1.0, min_area: float = 1.0):
    """``(kept boxes, valid)``: boxes with both sides at least ``min_size``, area at least
    ``min_area`` and all corners inside the canvas; ``valid`` marks them.

    Example:
        >>> sanitize_bounding_boxes(ember.tensor([[0., 0., 5., 5.], [1., 1., 1.5, 9.]]),
        ...                         "XYXY", (10, 10))
        (tensor([[0., 0., 5., 5.]]), tensor([ True, False]))
    """
    if isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError(f"format and canvas_size must be None when bounding_boxes is a "
                             f"tv_tensors.BoundingBoxes. Got format={format} and "
                             f"canvas_size={canvas_size}.")
        format, canvas_size = bounding_boxes.format, bounding_boxes.canvas_size
    elif format is None or canvas_size is None:
        raise ValueError(f"format and canvas_size cannot be None if bounding_boxes is a pure "
                         f"tensor. Got format={format} and canvas_size={canvas_size}.Set those "
                         f"to appropriate values or pass bounding_boxes as a "
                         f"tv_tensors.BoundingBoxes object.")
    from ._transforms import SanitizeBoundingBoxes

    boxes = _boxes(bounding_boxes, format, canvas_size)
    # one rule for the transform and this functional: the transform's own validity test
    judge = SanitizeBoundingBoxes.__new__(SanitizeBoundingBoxes)
    judge.min_size, judge.min_area = min_size, min_area
    valid = judge._valid(boxes)
    kept = bounding_boxes[valid]
    return kept, valid


KERNELS = [
    "horizontal_flip_image", "horizontal_flip_mask", "horizontal_flip_bounding_boxes",
    "vertical_flip_image", "vertical_flip_mask", "vertical_flip_bounding_boxes",
    "resize_image", "resize_mask", "resize_bounding_boxes", "crop_image", "crop_mask",
    "crop_bounding_boxes", "center_crop_image", "center_crop_mask", "center_crop_bounding_boxes",
    "resized_crop_image", "resized_crop_mask", "resized_crop_bounding_boxes", "pad_image",
    "pad_mask", "pad_bounding_boxes", "rotate_image", "rotate_mask", "rotate_bounding_boxes",
    "affine_image", "affine_mask", "affine_bounding_boxes", "perspective_image",
    "perspective_mask", "perspective_bounding_boxes", "elastic_image", "elastic_mask",
    "elastic_bounding_boxes", "elastic_keypoints", "adjust_brightness_image",
    "adjust_contrast_image", "adjust_saturation_image", "adjust_hue_image",
    "adjust_gamma_image", "adjust_sharpness_image", "autocontrast_image", "equalize_image",
    "invert_image", "posterize_image", "solarize_image", "gaussian_blur_image",
    "gaussian_noise_image", "erase_image", "normalize_image", "jpeg_image", "five_crop_image",
    "ten_crop_image", "get_dimensions_image", "get_size_image", "rgb_to_grayscale_image",
    "to_dtype_image", "get_num_channels_image", "grayscale_to_rgb_image",
    "permute_channels_image", "get_num_frames_video", "uniform_temporal_subsample_video",
    "get_size_mask", "get_size_bounding_boxes", "sanitize_bounding_boxes",
]

# every image kernel that torchvision also offers for videos, under the video name
_VIDEO_TWINS = ["adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
                "adjust_saturation", "adjust_sharpness", "affine", "autocontrast",
                "center_crop", "crop", "elastic", "equalize", "erase", "five_crop",
                "gaussian_blur", "gaussian_noise", "get_dimensions", "get_num_channels",
                "get_size", "horizontal_flip", "invert", "jpeg", "normalize", "pad",
                "permute_channels", "perspective", "posterize", "resize", "resized_crop",
                "rotate", "solarize", "ten_crop", "to_dtype", "vertical_flip"]
for _op in _VIDEO_TWINS:
    # torchvision writes adjust_gamma_video's gain default as the int 1
    _extra = {"gain": 1} if _op == "adjust_gamma" else {}
    globals()[_op + "_video"] = _video_of(globals()[_op + "_image"], **_extra)
    KERNELS.append(_op + "_video")
del _op, _extra


# --- the table's built-in entries ------------------------------------------------------------

_SUFFIX = {"I": "_image", "T": "_image", "V": "_video", "M": "_mask",
           "B": "_bounding_boxes", "K": "_keypoints"}
# these take the tv_tensor itself (torchvision's signature), so their functional keeps its body
_WHOLE_OBJECT = {"get_size_bounding_boxes", "get_size_keypoints"}


def _entry(kernel, code: str):
    """The table entry through which a functional serves one built-in type with ``kernel``:
    the tv_tensor's data and metadata go in as plain values, the answer comes back in the
    input's type (a new ``canvas_size`` taken from kernels that return one)."""
    params = inspect.signature(kernel).parameters

    def entry(inpt, **kwargs):
        given = {k: v for k, v in kwargs.items() if k in params}
        if code in "BK":
            meta = {"canvas_size": inpt.canvas_size}
            if code == "B":
                meta.update(format=inpt.format, clamping_mode=inpt.clamping_mode)
            given.update({k: v for k, v in meta.items() if k in params})
        out = kernel(_plain(inpt), **given)
        if code == "T" or not isinstance(out, (Tensor, tuple)):
            return out  # plain tensors stay plain; sizes and counts are plain values
        if isinstance(out, tuple):
            if code in "BK":
                data, canvas = out
                return tv_tensors.wrap(data, like=inpt, canvas_size=tuple(canvas))
            return tuple(tv_tensors.wrap(o, like=inpt) for o in out)
        return tv_tensors.wrap(out, like=inpt)

    entry.__name__ = kernel.__name__
    entry.kernel = kernel
    return entry


def install(served: dict) -> None:
    """Point each functional's row (``served``: functional name -> type letters, as in
    ``functional._SERVED``) at the public kernels: ``F.resize(mask)`` runs ``resize_mask``.
    PIL images, and types without a kernel of torchvision's, keep the functional's body."""
    from . import _registry as R

    for name, codes in served.items():
        functional = getattr(_F, name)
        row = R._KERNELS[functional]
        for code in codes:
            if code in "TI":
                # plain tensors and Images keep the functional's own body, which the image
                # kernel runs too: the same answer without the kernel's unwrap/bind/wrap steps
                # on the most common call
                continue
            kernel = getattr(_F, name + _SUFFIX[code], None) if code in _SUFFIX else None
            if kernel is None or kernel.__name__ in _WHOLE_OBJECT:
                continue
            for cls in R._type_codes(code):
                row[cls] = _entry(kernel, code)
