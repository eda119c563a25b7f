"""``make_grid`` and ``save_image``: tile a batch of images, write it as a PNG (Pillow);
``draw_bounding_boxes``, ``draw_keypoints`` and ``draw_segmentation_masks``: paint boxes or
keypoints (Pillow) or boolean masks over an RGB image."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, BinaryIO

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor

__all__ = ["draw_bounding_boxes", "draw_keypoints", "draw_segmentation_masks", "make_grid",
           "save_image"]
__all__ += ["flow_to_image"]


def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a (B, C, H, W) batch (or list of images) into one (3, H', W') image, ``nrow`` wide.

    ``normalize`` shifts each image (``scale_each``) or the batch into [0, 1] using
    ``value_range`` (default: its min and max).

    Example:
        >>> make_grid(ember.rand(16, 3, 8, 8), nrow=4).shape
        torch.Size([3, 42, 42])
    """
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        arr = np.stack([np.asarray(t._data) for t in tensor])
        dtype = tensor[0].dtype
    elif isinstance(tensor, Tensor):
        arr = np.asarray(tensor._data)
        dtype = tensor.dtype
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = np.concatenate([arr] * 3, 0) if arr.shape[0] == 1 else arr
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = np.concatenate([arr] * 3, 1)
    if arr.ndim != 4:
        raise ValueError(f"make_grid expects images of shape (B, C, H, W), (C, H, W) or (H, W); "
                         f"got {arr.ndim} dimensions")
    if normalize:
        arr = arr.astype(np.result_type(arr.dtype, np.float32), copy=True)

        def norm_range(t: np.ndarray) -> np.ndarray:
            low, high = value_range if value_range is not None else (float(t.min()),
                                                                     float(t.max()))
            return (np.clip(t, low, high) - low) / max(high - low, 1e-5)

        if scale_each:
            arr = np.stack([norm_range(a) for a in arr])
        else:
            arr = norm_range(arr)
        dtype = D.from_numpy_dtype(arr.dtype)
    if arr.shape[0] == 1:
        return Tensor._make(np.ascontiguousarray(arr[0]), dtype)
    nmaps = arr.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = arr.shape[2] + padding, arr.shape[3] + padding
    grid = np.full((arr.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   arr.dtype)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding: y * height + padding + arr.shape[2],
                 x * width + padding: x * width + padding + arr.shape[3]] = arr[k]
            k += 1
    return Tensor._make(grid, dtype)


def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike | BinaryIO,
               format: str | None = None, **kwargs: Any) -> None:
    """Save a tensor (or batch, tiled by ``make_grid``) with values in [0, 1] as an image file.

    Example:
        >>> save_image(ember.rand(4, 3, 8, 8), "samples.png", nrow=2)
    """
    from PIL import Image

    grid = make_grid(tensor, **kwargs)
    arr = np.asarray(grid._data, np.float32)
    ndarr = np.clip(arr * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    if ndarr.shape[2] == 1:
        ndarr = ndarr[:, :, 0]
    Image.fromarray(np.ascontiguousarray(ndarr)).save(fp, format=format)


def _palette(count: int) -> list[tuple[int, int, int]]:
    # torchvision's default colours: object k gets (k * P) mod 255 for three fixed Mersenne
    # numbers P = 2**25-1, 2**15-1, 2**21-1 (so object 0 is black).
    primes = (2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1)
    return [tuple((k * p) % 255 for p in primes) for k in range(count)]


def _rgb(color) -> tuple[int, int, int]:
    if isinstance(color, str):
        from PIL import ImageColor

        return tuple(ImageColor.getrgb(color))[:3]
    return tuple(int(c) for c in color)


def _check_rgb_image(image) -> None:
    """torchvision's checks (and messages) for the image the mask and keypoint drawers take."""
    if not isinstance(image, Tensor):
        raise TypeError(f"The image must be a tensor, got {type(image)}")
    if not (image.dtype == D.uint8 or image.dtype.is_floating_point):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.shape[0] != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")


def draw_segmentation_masks(image: Tensor, masks: Tensor, alpha: float = 0.8,
                            colors=None) -> Tensor:
    """Blend boolean ``masks`` (N, H, W) or (H, W) over an RGB ``image`` (3, H, W).

    ``image`` is uint8 (0..255) or floating (0..1); every pixel becomes
    ``image * (1 - alpha) + painted * alpha``, where ``painted`` holds mask k's colour on its
    pixels, black where two or more masks overlap, and the image elsewhere. ``colors`` is one
    colour (a name or an RGB tuple) for all masks or one per mask; by default each mask gets a
    colour of torchvision's fixed palette. The result has the image's dtype (uint8 truncates).

    Example:
        >>> img = ember.zeros(3, 4, 4, dtype=ember.uint8)
        >>> mask = ember.zeros(4, 4, dtype=ember.bool)
        >>> mask[:2] = True
        >>> draw_segmentation_masks(img, mask, alpha=0.5, colors="red")[0, 0]
        tensor([127, 127, 127, 127], dtype=torch.uint8)
    """
    _check_rgb_image(image)
    if masks.dim() == 2:
        masks = masks[None]
    if masks.dim() != 3:
        raise ValueError("masks must be of shape (H, W) or (batch_size, H, W)")
    if masks.dtype != D.bool:
        raise ValueError(f"The masks must be of dtype bool. Got {masks.dtype}")
    if tuple(masks.shape[-2:]) != tuple(image.shape[-2:]):
        raise ValueError("The image and the masks must have the same height and width")
    count = masks.shape[0]
    if count == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn", stacklevel=2)
        return image.clone()
    if colors is None:
        rgb = _palette(count)
    else:
        listed = colors if isinstance(colors, list) else [colors]
        if not all(isinstance(c, (str, tuple)) for c in listed):
            raise ValueError("colors must be a tuple or a string, or a list thereof, but got "
                             f"{colors}.")
        if len(listed) < count:
            raise ValueError("Number of colors must be equal or larger than the number of "
                             f"objects, but got {len(listed)} < {count}.")
        rgb = [_rgb(c) for c in listed[:count]]
    img = np.asarray(image.detach().cpu()._data)
    work = img.astype(np.float32) if img.dtype == np.uint8 else img
    palette = np.asarray(rgb, np.uint8).astype(work.dtype)
    if img.dtype != np.uint8:
        palette = palette / work.dtype.type(255)
    m = np.asarray(masks.detach().cpu()._data)
    painted = work.copy()
    for k in range(count):
        painted[:, m[k]] = palette[k][:, None]
    painted[:, m.sum(0) > 1] = 0  # overlapping masks are painted black
    out = work * work.dtype.type(1 - alpha) + painted * work.dtype.type(alpha)
    return Tensor._make(np.ascontiguousarray(out.astype(img.dtype)), image.dtype)


def _colour_list(colors, count: int, name: str = "colors") -> list[tuple[int, int, int]]:
    if colors is None:
        return _palette(count)
    listed = colors if isinstance(colors, list) else [colors] * count
    if not all(isinstance(c, (str, tuple)) for c in listed):
        raise ValueError(f"{name} must be a tuple or a string, or a list thereof, but got "
                         f"{colors}.")
    if len(listed) < count:
        raise ValueError("Number of colors must be equal or larger than the number of objects, "
                         f"but got {len(listed)} < {count}.")
    return [_rgb(c) for c in listed[:count]]


def draw_bounding_boxes(image: Tensor, boxes: Tensor, labels: list[str] | None = None,
                        colors=None, fill: bool | None = False, width: int = 1,
                        font: str | None = None, font_size: int | None = None,
                        label_colors=None, label_background_colors=None,
                        fill_labels: bool = False) -> Tensor:
    """Draw (xmin, ymin, xmax, ymax) ``boxes`` (N, 4) on an image (C, H, W) with Pillow.

    ``image`` is uint8 or floating (values in [0, 1]) with 1 or 3 channels; the result is a
    3-channel image of the same dtype. Coordinates are truncated to integers; each box is an
    outline ``width`` pixels wide (``fill=True`` also shades it with its colour at alpha
    100/255), with an optional text label at its top-left corner (Pillow's default font unless
    ``font`` names a TrueType file, then of ``font_size``, default 10). ``colors``,
    ``label_colors`` and ``label_background_colors`` are one colour (a name or RGB tuple) or
    one per box; ``fill_labels`` puts each label on a box of its background colour.

    Example:
        >>> img = ember.zeros(3, 8, 10, dtype=ember.uint8)
        >>> out = draw_bounding_boxes(img, ember.tensor([[1, 1, 6, 5]]), colors="red")
        >>> out[0, 1].tolist()
        [0, 255, 255, 255, 255, 255, 255, 0, 0, 0]
    """
    from PIL import ImageDraw, ImageFont

    if not isinstance(image, Tensor):
        raise TypeError(f"Tensor expected, got {type(image)}")
    if not (image.dtype == D.uint8 or image.dtype.is_floating_point):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.shape[0] not in (1, 3):
        raise ValueError("Only grayscale and RGB images are supported")
    box_arr = np.asarray(boxes.detach().cpu()._data)
    if box_arr.ndim == 2 and box_arr.shape[1] >= 4 and (
            (box_arr[:, 0] > box_arr[:, 2]).any() or (box_arr[:, 1] > box_arr[:, 3]).any()):
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use "
                         "torchvision.ops.box_convert to convert them")
    count = box_arr.shape[0]
    if count == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn", stacklevel=2)
        return image.clone()
    if labels is None:
        labels = [None] * count
    elif len(labels) != count:
        raise ValueError(f"Number of boxes ({count}) and labels ({len(labels)}) mismatch. "
                         "Please specify labels for each box.")
    box_colours = _colour_list(colors, count)
    if label_colors is not None:
        text_colours = _colour_list(label_colors, count, "label_colors")
    else:  # on a filled label box (the box's colour by default) the text is black
        text_colours = [(0, 0, 0)] * count if fill_labels else box_colours
    back_colours = (box_colours if label_background_colors is None
                    else _colour_list(label_background_colors, count,
                                      "label_background_colors"))
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.",
                          stacklevel=2)
        text_font = ImageFont.load_default()
    else:
        text_font = ImageFont.truetype(font=font, size=font_size or 10)

    canvas = _to_pil_rgb(image)
    draw = ImageDraw.Draw(canvas, "RGBA" if fill else None)
    for box, colour, label, text_colour, back_colour in zip(
            box_arr.astype(np.int64).tolist(), box_colours, labels, text_colours,
            back_colours):
        if fill:
            draw.rectangle(box, width=width, outline=colour, fill=colour + (100,))
        else:
            draw.rectangle(box, width=width, outline=colour)
        if label is not None:
            margin = width + 1
            origin = (box[0] + margin, box[1] + margin)
            if fill_labels:
                left, top, right, bottom = draw.textbbox(origin, label, font=text_font)
                draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=back_colour)
            draw.text(origin, label, fill=text_colour, font=text_font)
    return _from_pil_rgb(canvas, image.dtype)


def _to_pil_rgb(image: Tensor):
    from PIL import Image

    img = np.asarray(image.detach().cpu()._data)
    if img.shape[0] == 1:
        img = np.tile(img, (3, 1, 1))
    if image.dtype.is_floating_point:
        # float images go through uint8 as ``convert_image_dtype`` scales them, by
        # 256 - 0.001 and a wrapping uint8 cast (values outside [0, 1] wrap around)
        img = np.asarray((Tensor._make(np.ascontiguousarray(img), image.dtype) * 255.999)
                         .to(D.uint8)._data)
    return Image.fromarray(np.ascontiguousarray(img.transpose(1, 2, 0)))


def _from_pil_rgb(canvas, dtype) -> Tensor:
    out = np.asarray(canvas).transpose(2, 0, 1)
    if dtype.is_floating_point:
        out = out.astype(dtype.np_dtype) * dtype.np_dtype.type(1 / 255)
    return Tensor._make(np.ascontiguousarray(out), dtype)


def draw_keypoints(image: Tensor, keypoints: Tensor,
                   connectivity: list[tuple[int, int]] | None = None, colors=None,
                   radius: int = 2, width: int = 3, visibility: Tensor | None = None) -> Tensor:
    """Draw ``keypoints`` (num_instances, K, 2) of (x, y) on an RGB image (3, H, W) with Pillow.

    Each visible keypoint is a disc of ``radius`` in ``colors`` (one colour: a name or an RGB
    tuple); each ``connectivity`` pair ``(i, j)`` whose two ends are visible is joined by a
    white line ``width`` pixels wide (torchvision's lines ignore ``colors``). ``visibility``
    (num_instances, K) hides keypoints (default: all shown). ``image`` is uint8 or floating
    (values in [0, 1]); the dtype is kept.

    Example:
        >>> img = ember.zeros(3, 6, 6, dtype=ember.uint8)
        >>> out = draw_keypoints(img, ember.tensor([[[2.0, 2.0]]]), colors="red", radius=1)
        >>> out[0, 1:4, 1:4].tolist()
        [[0, 255, 0], [255, 255, 255], [0, 255, 0]]
    """
    from PIL import ImageDraw

    _check_rgb_image(image)
    if keypoints.dim() != 3:
        raise ValueError("keypoints must be of shape (num_instances, K, 2)")
    if visibility is None:
        visible = np.ones(tuple(keypoints.shape[:2]), dtype=bool)
    else:
        if visibility.dim() == 3 and visibility.shape[-1] == 1:
            visibility = visibility[..., 0]  # (num_instances, K, 1) is accepted too
        if visibility.dim() != 2:
            raise ValueError("visibility must be of shape (num_instances, K). Got "
                             f"ndim={visibility.dim()}")
        if tuple(visibility.shape) != tuple(keypoints.shape[:2]):
            raise ValueError("keypoints and visibility must have the same dimensionality for "
                             "num_instances and K. Got visibility.shape="
                             f"{visibility.shape} and keypoints.shape={keypoints.shape}")
        visible = np.asarray(visibility.detach().cpu()._data).astype(bool)
    canvas = _to_pil_rgb(image)
    draw = ImageDraw.Draw(canvas)
    points = np.asarray(keypoints.detach().cpu()._data).tolist()
    for instance, shown in zip(points, visible.tolist()):
        for (x, y), on in zip(instance, shown):
            if on:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors,
                             outline=None, width=0)
        for start, end in connectivity or []:
            if shown[start] and shown[end]:
                # torchvision draws the connections in Pillow's default ink (white), not in
                # ``colors``
                draw.line([tuple(instance[start]), tuple(instance[end])], width=width)
    return _from_pil_rgb(canvas, image.dtype)


def _flow_colour_wheel() -> np.ndarray:
    # the Middlebury flow colour code (Baker et al., "A Database and Evaluation Methodology for
    # Optical Flow"): hue ramps red > yellow > green > cyan > blue > magenta > red, with more
    # steps where the eye tells hues apart best
    ramps = []
    for steps, fixed, rising, falling in ((15, 0, 1, None), (6, 1, None, 0), (4, 1, 2, None),
                                          (11, 2, None, 1), (13, 2, 0, None), (6, 0, None, 2)):
        part = np.zeros((steps, 3))
        part[:, fixed] = 255
        ramp = np.floor(255 * np.arange(steps) / steps)
        if rising is not None:
            part[:, rising] = ramp
        else:
            part[:, falling] = 255 - ramp
        ramps.append(part)
    return np.concatenate(ramps)


def flow_to_image(flow: Tensor) -> Tensor:
    """Colour an optical flow field: hue gives the direction, saturation the magnitude.

    ``flow`` is float32, (2, H, W) or (N, 2, H, W) (e.g. a RAFT prediction); the result is
    uint8 RGB, (3, H, W) or (N, 3, H, W). Magnitudes are scaled by the largest one in ``flow``.

    Example:
        >>> image = flow_to_image(ember.zeros(2, 4, 4))
        >>> image.dtype, tuple(image.shape), int(image.min())
        (torch.uint8, (3, 4, 4), 255)
    """
    if flow.dtype != D.float32:
        raise ValueError(f"Flow should be of dtype torch.float, got {flow.dtype}.")
    single = flow.ndim == 3
    if flow.ndim not in (3, 4) or flow.shape[-3] != 2:
        raise ValueError(f"Input flow should have shape (2, H, W) or (N, 2, H, W), got "
                         f"{flow.shape}.")
    if single:
        flow = flow[None]
    values = flow.detach().numpy().astype(np.float32)
    largest = np.sqrt(np.square(values).sum(axis=1)).max()
    values = values / (largest + np.finfo(np.float32).eps)
    u, v = values[:, 0], values[:, 1]
    radius = np.sqrt(u * u + v * v)
    wheel = _flow_colour_wheel().astype(np.float32)
    count = len(wheel)
    # the angle picks a position on the wheel, blended between its two nearest colours
    position = (np.arctan2(-v, -u) / np.float32(np.pi) + 1) / 2 * (count - 1)
    lower = np.floor(position).astype(np.int64)
    upper = lower + 1
    upper[upper == count] = 0
    frac = position - lower
    colour = (1 - frac[..., None]) * wheel[lower] / 255 + frac[..., None] * wheel[upper] / 255
    # small motions fade to white
    colour = 1 - radius[..., None] * (1 - colour)
    image = np.floor(255 * colour).astype(np.uint8).transpose(0, 3, 1, 2)
    return Tensor._make(np.ascontiguousarray(image[0] if single else image), D.uint8)
