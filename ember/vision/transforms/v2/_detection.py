"""The detection-training augmentations of ``transforms.v2`` (SSD's photometric distortion and
IoU crop, DETR / Mask R-CNN style scale jitter and multi-scale resizes).

Each draws its random numbers from the global stream exactly as torchvision 0.28 does (probed by
counting generator steps), so a seeded pipeline gives torchvision's outputs; the float32
arithmetic of the size computations is reproduced as well, since a size is truncated to an int.
"""

from __future__ import annotations

import numpy as np

from .... import empty, rand, randint, randperm
from ...._tensor import Tensor
from ... import tv_tensors
from .._functional_base import _interp, _is_pil_image
from . import functional as F
from ._transform import Transform, _flatten, _is_pure_tensor, query_size

_f32 = np.float32


def _fields_repr(fields) -> str:
    # torchvision prints these transforms' arguments as stored (an int interpolation stays an
    # int) and leaves out the ones that are None
    return ", ".join(f"{name}={value}" for name, value in fields if value is not None)


def _num_channels(flat_inputs) -> int:
    for x in flat_inputs:
        if isinstance(x, (tv_tensors.Image, tv_tensors.Video)) or _is_pure_tensor(x) \
                or _is_pil_image(x):
            return F.get_dimensions(x)[0]
    raise TypeError("No image or video was found in the sample")


def _permute_channels(inpt, permutation):
    """The channels (dim -3) of an image or video reordered by ``permutation``."""
    from .... import tensor

    if _is_pil_image(inpt):
        moved = _permute_channels(F.pil_to_tensor(inpt), permutation)
        return F.to_pil_image(moved, mode=inpt.mode)
    idx = tensor(permutation) if not isinstance(permutation, Tensor) else permutation
    out = F._plain(inpt).index_select(-3, idx)
    return F._like(out, inpt)


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortion: brightness, contrast, saturation and hue, each applied with
    probability ``p`` and a factor drawn from its range, contrast before or after the colour
    changes (a fair coin), then, with probability ``p``, a random channel order. Masks, boxes
    and key points pass through.

    Random draws, in order: four times a coin (``rand(1)``) and, where it falls below ``p``, a
    factor (``empty(1).uniform_``) for brightness, contrast, saturation and hue; one coin for
    contrast first; one coin for the permutation and then ``randperm(C)``.

    Example:
        >>> from ember.vision.transforms import v2
        >>> img = v2.RandomPhotometricDistort(p=1.0)(tv_tensors.Image(ember.rand(3, 8, 8)))
        >>> img.shape
        ember.Size([3, 8, 8])
    """

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5),
                 hue=(-0.05, 0.05), p: float = 0.5) -> None:
        super().__init__()
        # torchvision 0.28 stores the ranges as given, without checking them
        self.brightness = brightness
        self.contrast = contrast
        self.hue = hue
        self.saturation = saturation
        self.p = p

    def _factor(self, bounds):
        if float(rand(1).item()) >= self.p:
            return None
        return float(empty(1).uniform_(bounds[0], bounds[1]).item())

    def make_params(self, flat_inputs):
        channels = _num_channels(flat_inputs)
        params = {"brightness": self._factor(self.brightness),
                  "contrast": self._factor(self.contrast),
                  "saturation": self._factor(self.saturation),
                  "hue": self._factor(self.hue)}
        params["contrast_first"] = float(rand(1).item()) < 0.5
        params["permutation"] = randperm(channels) if float(rand(1).item()) < self.p else None
        return params

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(
                inpt, (tv_tensors.Image, tv_tensors.Video)):
            return inpt
        contrast = params["contrast"]
        factors = (params["brightness"], contrast, params["saturation"], params["hue"])
        if isinstance(inpt, Tensor) and any(f is not None for f in factors):
            channels = int(inpt.shape[-3]) if inpt.ndim >= 3 else 1
            if channels not in (1, 3):
                # torchvision's colour kernels accept only greyscale and RGB images
                raise TypeError("Input image tensor permitted channel values are 1 or 3, but "
                                f"found {channels}")
        if params["brightness"] is not None:
            inpt = F.adjust_brightness(inpt, params["brightness"])
        if contrast is not None and params["contrast_first"]:
            inpt = F.adjust_contrast(inpt, contrast)
        if params["saturation"] is not None:
            inpt = F.adjust_saturation(inpt, params["saturation"])
        if params["hue"] is not None:
            inpt = F.adjust_hue(inpt, params["hue"])
        if contrast is not None and not params["contrast_first"]:
            inpt = F.adjust_contrast(inpt, contrast)
        if params["permutation"] is not None:
            inpt = _permute_channels(inpt, params["permutation"])
        return inpt

    def extra_repr(self) -> str:
        return _fields_repr([("brightness", self.brightness), ("contrast", self.contrast),
                             ("hue", self.hue), ("saturation", self.saturation),
                             ("p", self.p)])


def _box_iou_max(boxes: np.ndarray, window: np.ndarray) -> float:
    """The largest IoU between ``boxes`` (XYXY, ``(N, 4)``) and one ``window``, in the boxes'
    dtype as torchvision computes it (float32 for float32 boxes)."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    win_area = (window[2] - window[0]) * (window[3] - window[1])
    lo = np.maximum(boxes[:, :2], window[:2])
    hi = np.minimum(boxes[:, 2:], window[2:])
    wh = np.maximum(hi - lo, 0)
    inter = wh[:, 0] * wh[:, 1]
    union = area + win_area - inter
    if boxes.dtype.kind != "f":  # integer boxes divide in the default float dtype
        inter, union = inter.astype(_f32), union.astype(_f32)
    return (inter / union).max()


class RandomIoUCrop(Transform):
    """SSD's random crop: pick a minimum IoU from ``sampler_options`` (``>= 1`` keeps the sample
    as it is) and try up to ``trials`` windows of relative size in ``[min_scale, max_scale]``
    and aspect ratio in ``[min_aspect_ratio, max_aspect_ratio]`` until one holds the centre of
    some box and overlaps one of those boxes by at least that IoU (if no trial succeeds, a new
    option is drawn). The sample is cropped to it, and the boxes whose centre fell outside are
    zeroed: follow with ``SanitizeBoundingBoxes`` to drop them.

    Example:
        >>> tf = v2.Compose([v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()])
        >>> img, target = tf(img, {"boxes": boxes, "labels": labels})
    """

    def __init__(self, min_scale: float = 0.3, max_scale: float = 1.0,
                 min_aspect_ratio: float = 0.5, max_aspect_ratio: float = 2.0,
                 sampler_options=None, trials: int = 40) -> None:
        super().__init__()
        self.min_scale = min_scale
        self.max_scale = max_scale
        self.min_aspect_ratio = min_aspect_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.options = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0] if sampler_options is None \
            else sampler_options
        self.trials = trials

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat = _flatten(sample, [])
        has_image = any(isinstance(x, tv_tensors.Image) or _is_pure_tensor(x)
                        or _is_pil_image(x) for x in flat)
        has_boxes = any(isinstance(x, tv_tensors.BoundingBoxes) for x in flat)
        if not (has_image and has_boxes):
            raise TypeError(f"{type(self).__name__}() requires input sample to contain tensor "
                            "or PIL images and bounding boxes. Sample can also contain masks.")
        return super().forward(*inputs)

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        boxes = next(x for x in flat_inputs if isinstance(x, tv_tensors.BoundingBoxes))
        xyxy = np.asarray(F._xyxy(boxes).numpy())
        if xyxy.ndim == 1:
            xyxy = xyxy[None]
        cx = (xyxy[:, 0] + xyxy[:, 2]) * 0.5
        cy = (xyxy[:, 1] + xyxy[:, 3]) * 0.5
        span = _f32(self.max_scale - self.min_scale)
        while True:
            # a new IoU floor each time all trials fail, as in SSD
            threshold = self.options[int(randint(len(self.options), ()).item())]
            if threshold >= 1.0:
                return {}
            for _ in range(self.trials):
                # the sizes are float32 products truncated to int, as torchvision's are
                scale = _f32(self.min_scale) + span * rand(2).numpy()
                new_w, new_h = int(_f32(width) * scale[0]), int(_f32(height) * scale[1])
                ratio = new_w / new_h
                if not self.min_aspect_ratio <= ratio <= self.max_aspect_ratio:
                    continue
                offset = rand(2).numpy()
                left = int(_f32(width - new_w) * offset[0])
                top = int(_f32(height - new_h) * offset[1])
                right, bottom = left + new_w, top + new_h
                if left == right or top == bottom:
                    continue
                inside = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
                if not inside.any():
                    continue
                window = np.array([left, top, right, bottom], dtype=xyxy.dtype)
                if _box_iou_max(xyxy[inside], window) < _f32(threshold):
                    continue
                return {"top": top, "left": left, "height": new_h, "width": new_w,
                        "inside": inside}

    def transform(self, inpt, params):
        if not params:
            return inpt
        out = F.crop(inpt, params["top"], params["left"], params["height"], params["width"])
        if isinstance(out, tv_tensors.BoundingBoxes):
            from .... import from_numpy

            outside = from_numpy(~params["inside"])
            if out.ndim == 1:
                outside = outside.reshape(())
            out = F._plain(out).clone()
            out[outside] = 0
            out = F._like(out, inpt, canvas_size=(params["height"], params["width"]))
        return out

    def extra_repr(self) -> str:
        return _fields_repr([("min_scale", self.min_scale), ("max_scale", self.max_scale),
                             ("min_aspect_ratio", self.min_aspect_ratio),
                             ("max_aspect_ratio", self.max_aspect_ratio),
                             ("options", self.options), ("trials", self.trials)])


class _RandomSizeResize(Transform):
    """Shared by the resizes below: a drawn output size, then ``F.resize`` on every leaf."""

    def __init__(self, interpolation, antialias) -> None:
        super().__init__()
        self.interpolation = interpolation  # kept as given (torchvision's repr shows it so)
        self.antialias = antialias

    def transform(self, inpt, params):
        return F.resize(inpt, params["size"], interpolation=_interp(self.interpolation),
                        antialias=self.antialias)


class ScaleJitter(_RandomSizeResize):
    """Resize by a random factor from ``scale_range`` times the ratio that fits the image into
    ``target_size`` (the large-scale jitter of "Simple Copy-Paste", arXiv:2012.07177).

    As in torchvision 0.28, the fitting ratio is ``min(target_size[1] / H, target_size[0] / W)``;
    the draw is one ``rand(1)``.

    Example:
        >>> v2.ScaleJitter(target_size=(1024, 1024), scale_range=(0.1, 2.0))
    """

    def __init__(self, target_size, scale_range=(0.1, 2.0), interpolation="bilinear",
                 antialias=True) -> None:
        super().__init__(interpolation, antialias)
        self.target_size = target_size
        self.scale_range = scale_range

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        lo, hi = self.scale_range
        # float32 arithmetic, as torchvision's (a tensor times Python numbers)
        scale = _f32(lo) + rand(1).numpy()[0] * _f32(hi - lo)
        ratio = _f32(min(self.target_size[1] / height, self.target_size[0] / width)) * scale
        return {"size": [int(_f32(height) * ratio), int(_f32(width) * ratio)]}

    def extra_repr(self) -> str:
        return _fields_repr([("target_size", self.target_size),
                             ("scale_range", self.scale_range),
                             ("interpolation", self.interpolation),
                             ("antialias", self.antialias)])


class RandomShortestSize(_RandomSizeResize):
    """Resize so the shorter side is one of ``min_size`` (picked by ``randint``), keeping the
    aspect ratio; with ``max_size`` the longer side is kept at or below it.

    Example:
        >>> v2.RandomShortestSize(min_size=[480, 512, 544, 576, 608], max_size=1333)
    """

    def __init__(self, min_size, max_size=None, interpolation="bilinear",
                 antialias=True) -> None:
        super().__init__(interpolation, antialias)
        self.min_size = [min_size] if isinstance(min_size, int) else list(min_size)
        self.max_size = max_size

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        shortest = self.min_size[int(randint(len(self.min_size), ()).item())]
        ratio = shortest / min(height, width)
        if self.max_size is not None:
            ratio = min(ratio, self.max_size / max(height, width))
        return {"size": [int(height * ratio), int(width * ratio)]}

    def extra_repr(self) -> str:
        return _fields_repr([("min_size", self.min_size), ("max_size", self.max_size),
                             ("interpolation", self.interpolation),
                             ("antialias", self.antialias)])


class RandomResize(_RandomSizeResize):
    """Resize the shorter side to a size drawn uniformly from ``[min_size, max_size)`` (one
    ``randint``), keeping the aspect ratio.

    Example:
        >>> v2.RandomResize(min_size=260, max_size=1040)
    """

    def __init__(self, min_size: int, max_size: int, interpolation="bilinear",
                 antialias=True) -> None:
        super().__init__(interpolation, antialias)
        self.min_size = min_size
        self.max_size = max_size

    def make_params(self, flat_inputs):
        return {"size": [int(randint(self.min_size, self.max_size, ()).item())]}

    def extra_repr(self) -> str:
        return _fields_repr([("min_size", self.min_size), ("max_size", self.max_size),
                             ("interpolation", self.interpolation),
                             ("antialias", self.antialias)])
