"""The v2 transform classes. Random draws are torchvision's, in its order (``rand(1)`` for a
coin, ``empty(1).uniform_`` for a factor, ``randint`` for an offset, ``randperm(4)`` for the
colour order, ``multinomial`` for a choice), so a seeded run gives torchvision's outputs."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .... import _dtype as D
from ...._tensor import Tensor
from ... import tv_tensors
from .. import transforms as _v1
from .._functional_base import InterpolationMode, _interp, _is_pil_image
from . import functional as F
from ._transform import Transform, _flatten, _is_pure_tensor, _RandomApplyTransform, query_size


def _size_list(size, name="size") -> list[int]:
    if isinstance(size, int):
        return [size]
    if isinstance(size, Sequence) and len(size) in (1, 2):
        return list(size)
    raise ValueError(f"{name} can either be an integer or a sequence of one or two integers, "
                     f"but got {size} instead.")


def _crop_size(size):
    """torchvision's ``_setup_size``: a number n gives ``(n, n)``, a 1-sequence ``(s, s)``, a
    pair is kept as given (a list stays a list, and shows so in the repr)."""
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return size


# --- containers --------------------------------------------------------------------------------

class Compose(Transform):
    """Apply ``transforms`` one after another to the whole sample.

    Example:
        >>> tf = v2.Compose([v2.ToImage(), v2.ToDtype(ember.float32, scale=True)])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        self.transforms = transforms

    def forward(self, *inputs):
        needs_unpacking = len(inputs) > 1
        for t in self.transforms:
            outputs = t(*inputs)
            inputs = outputs if needs_unpacking else (outputs,)
        return outputs

    def extra_repr(self) -> str:
        # torchvision's: one line per transform, which Module's repr then indents (so nested
        # containers indent as there, and a single transform stays on one line)
        return "\n".join(f"    {t}" for t in self.transforms)


class RandomApply(Transform):
    """Apply all ``transforms`` with probability ``p`` (one ``rand(1)`` per call).

    Example:
        >>> v2.RandomApply([v2.ColorJitter(0.4)], p=0.3)
    """

    def __init__(self, transforms, p: float = 0.5) -> None:
        from ....nn import ModuleList

        super().__init__()
        if not isinstance(transforms, (Sequence, ModuleList)):
            raise TypeError("Argument transforms should be a sequence of callables or a "
                            "`nn.ModuleList`")
        if not transforms:
            raise ValueError("Pass at least one transform")
        self.transforms = transforms
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.p = p

    def forward(self, *inputs):
        from .... import rand

        needs_unpacking = len(inputs) > 1
        if float(rand(1).item()) >= self.p:
            return inputs if needs_unpacking else inputs[0]
        for t in self.transforms:  # several inputs are passed on unpacked, as torchvision
            outputs = t(*inputs)
            inputs = outputs if needs_unpacking else (outputs,)
        return outputs

    def extra_repr(self) -> str:
        return "\n".join(f"    {t}" for t in self.transforms)


class RandomChoice(Transform):
    """Apply one of ``transforms``, picked with weights ``p`` (uniform by default).

    Example:
        >>> v2.RandomChoice([v2.RandomHorizontalFlip(1.0), v2.RandomVerticalFlip(1.0)])
    """

    def __init__(self, transforms: Sequence[Callable], p: list[float] | None = None) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        if p is None:
            p = [1] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: "
                             f"{len(p)} != {len(transforms)}")
        self.transforms = transforms
        total = sum(p)
        self.p = [w / total for w in p]

    def forward(self, *inputs):
        from .... import multinomial, tensor

        idx = int(multinomial(tensor(self.p), 1).item())
        return self.transforms[idx](*inputs)

    def extra_repr(self) -> str:
        # torchvision's generic repr: the public list/tuple attributes
        return f"transforms={self.transforms}, p={self.p}"


class Identity(Transform):
    """Return the sample unchanged.

    Example:
        >>> v2.Identity()(3)
        3
    """

    def forward(self, *inputs):
        return inputs if len(inputs) > 1 else inputs[0]


class Lambda(Transform):
    """Apply ``lambd`` to every leaf of the sample that is an instance of ``types``
    (every leaf by default).

    Example:
        >>> v2.Lambda(lambda x: x * 2, ember.Tensor)
    """

    def __init__(self, lambd: Callable, *types: type) -> None:
        super().__init__()
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd
        self.types = types or (object,)

    def _needs(self, flat):
        return [True] * len(flat)

    def transform(self, inpt, params):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def extra_repr(self) -> str:
        name = getattr(self.lambd, "__name__", None)
        return f"{name}, types={[t.__name__ for t in self.types]}" if name else ""


# --- conversion ------------------------------------------------------------------------------

class ToImage(Transform):
    """PIL images, NumPy arrays and (image-like) plain tensors to ``tv_tensors.Image``.

    Example:
        >>> v2.ToImage()(pil_img).dtype
        ember.uint8
    """

    def _needs(self, flat):
        needs = super()._needs(flat)
        # NumPy arrays are images to this transform; an Image needs nothing
        return [(n or isinstance(x, np.ndarray)) and not isinstance(x, tv_tensors.TVTensor)
                for x, n in zip(flat, needs)]

    def transform(self, inpt, params):
        return F.to_image(inpt)


class ToPureTensor(Transform):
    """Every tv_tensor in the sample as a plain ``Tensor``.

    Example:
        >>> type(v2.ToPureTensor()(tv_tensors.Mask(ember.zeros(2, 2)))).__name__
        'Tensor'
    """

    def _needs(self, flat):
        return [isinstance(x, tv_tensors.TVTensor) for x in flat]

    def transform(self, inpt, params):
        return F._to_pure_tensor(inpt)


class ToDtype(Transform):
    """Convert dtypes. A single ``dtype`` converts images and videos only; a dict maps
    tv_tensor types (``ember.Tensor`` for the plain image tensor, ``"others"`` for the rest)
    to dtypes. ``scale`` rescales image values between integer ranges and ``[0, 1]``.

    Example:
        >>> v2.ToDtype({tv_tensors.Image: ember.float32, "others": None}, scale=True)
    """

    def __init__(self, dtype, scale: bool = False) -> None:
        super().__init__()
        if not isinstance(dtype, (dict, D.dtype)):
            raise ValueError(f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead")
        if (isinstance(dtype, dict) and Tensor in dtype
                and any(k in dtype for k in (tv_tensors.Image, tv_tensors.Video))):
            import warnings

            warnings.warn("Got `dtype` values for `torch.Tensor` and either `tv_tensors.Image` "
                          "or `tv_tensors.Video`. Note that a plain `torch.Tensor` will *not* "
                          "be transformed by this (or any other transformation) in case a "
                          "`tv_tensors.Image` or `tv_tensors.Video` is present in the input.",
                          stacklevel=2)
        self.dtype = dtype
        self.scale = scale

    def transform(self, inpt, params):
        if isinstance(self.dtype, D.dtype):
            if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
                return inpt
            dtype = self.dtype
        else:
            key = Tensor if _is_pure_tensor(inpt) else type(inpt)
            if key in self.dtype:
                dtype = self.dtype[key]
            elif "others" in self.dtype:
                dtype = self.dtype["others"]
            else:
                raise ValueError(f"No dtype was specified for type {type(inpt)}. If you only "
                                 "need to convert the dtype of images or videos, you can just "
                                 "pass e.g. dtype=torch.float32. If you're passing a dict as "
                                 "dtype, you can use 'others' as a catch-all key e.g. "
                                 "dtype={tv_tensors.Mask: torch.int64, 'others': None} to pass-"
                                 "through the rest of the inputs.")
            if dtype is None:
                return inpt
        scale = self.scale and (_is_pure_tensor(inpt)
                                or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)))
        return F.to_dtype(inpt, dtype, scale=scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class Normalize(Transform):
    """``(x - mean) / std`` per channel on float images and videos (not PIL images).

    Example:
        >>> v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        super().__init__()
        self.mean = list(mean)
        self.std = list(std)
        self.inplace = inplace

    def forward(self, *inputs):
        _refuse_pil(self, inputs)
        return super().forward(*inputs)

    def transform(self, inpt, params):
        if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
            return inpt
        return F.normalize(inpt, self.mean, self.std, self.inplace)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}, inplace={self.inplace}"


# --- geometry --------------------------------------------------------------------------------

class RandomHorizontalFlip(_RandomApplyTransform):
    """Mirror the sample left-right with probability ``p``; boxes and masks follow.

    Example:
        >>> img, boxes = v2.RandomHorizontalFlip(p=1.0)(img, boxes)
    """

    def transform(self, inpt, params):
        return F.horizontal_flip(inpt)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class RandomVerticalFlip(_RandomApplyTransform):
    """Mirror the sample top-bottom with probability ``p``; boxes and masks follow.

    Example:
        >>> img, mask = v2.RandomVerticalFlip(p=1.0)(img, mask)
    """

    def transform(self, inpt, params):
        return F.vertical_flip(inpt)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Resize(Transform):
    """Resize to ``size`` (``[h, w]``, or an int for the shorter side); masks use nearest
    neighbours, boxes are scaled.

    Example:
        >>> v2.Resize((224, 224), antialias=True)
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True) -> None:
        super().__init__()
        self.size = _size_list(size)
        self.interpolation = _interp(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def transform(self, inpt, params):
        return F.resize(inpt, self.size, self.interpolation, self.max_size, self.antialias)

    def extra_repr(self) -> str:
        s = f"size={self.size}, interpolation={self.interpolation.value}"
        if self.max_size is not None:
            s += f", max_size={self.max_size}"
        return s + f", antialias={self.antialias}"


class CenterCrop(Transform):
    """The central ``size`` window of the sample; boxes are shifted and clamped.

    Example:
        >>> v2.CenterCrop(224)
    """

    def __init__(self, size) -> None:
        super().__init__()
        self.size = _crop_size(size)

    def transform(self, inpt, params):
        return F.center_crop(inpt, list(self.size))

    def extra_repr(self) -> str:
        return f"size={self.size}"


def _fill_for(fill, inpt):
    """The fill for one leaf: ``fill`` may map tv_tensor types (``ember.Tensor`` for the plain
    image) to values."""
    if isinstance(fill, dict):
        key = Tensor if _is_pure_tensor(inpt) else type(inpt)
        fill = fill.get(key, fill.get("others", 0))
    return 0 if fill is None else fill


def _check_padding_mode(padding_mode: str) -> None:
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


def _padding_list(padding) -> list[int]:
    if isinstance(padding, int):
        return [padding] * 4
    if isinstance(padding, Sequence) and len(padding) in (1, 2, 4):
        p = list(padding)
        return p * 4 if len(p) == 1 else (p * 2 if len(p) == 2 else p)
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element of tuple or list, got "
                     f"{padding}")


class Pad(Transform):
    """Pad every part of the sample (boxes are shifted; ``fill`` may be a dict per type).

    Example:
        >>> v2.Pad(4, fill={tv_tensors.Image: 0, tv_tensors.Mask: 255})
    """

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        super().__init__()
        _padding_list(padding)
        _check_padding_mode(padding_mode)
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def transform(self, inpt, params):
        return F.pad(inpt, self.padding, _fill_for(self.fill, inpt), self.padding_mode)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode}"


class RandomCrop(Transform):
    """A random ``size`` window (same for every part of the sample), after optional padding:
    ``padding`` on the given sides, and with ``pad_if_needed`` the missing height or width on
    both sides.

    Example:
        >>> img, boxes = v2.RandomCrop(32, padding=4)(img, boxes)
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = _crop_size(size)
        _check_padding_mode(padding_mode)
        # [left, top, right, bottom], as torchvision shows it
        self.padding = None if padding is None else _padding_list(padding)
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        ch, cw = self.size
        left, top, right, bottom = self.padding or (0, 0, 0, 0)
        h, w = h + top + bottom, w + left + right
        if self.pad_if_needed and h < ch:
            diff = ch - h
            top, bottom, h = top + diff, bottom + diff, h + 2 * diff
        if self.pad_if_needed and w < cw:
            diff = cw - w
            left, right, w = left + diff, right + diff, w + 2 * diff
        if h < ch or w < cw:
            raise ValueError(f"Required crop size {(ch, cw)} is larger than input image size "
                             f"{(h, w)}.")
        # one randint per dimension that has room (none when the window fits exactly)
        crop_top = _v1._randint(0, h - ch + 1) if h > ch else 0
        crop_left = _v1._randint(0, w - cw + 1) if w > cw else 0
        return {"padding": [left, top, right, bottom], "top": crop_top, "left": crop_left,
                "height": ch, "width": cw}

    def transform(self, inpt, params):
        if any(params["padding"]):
            inpt = F.pad(inpt, params["padding"], _fill_for(self.fill, inpt), self.padding_mode)
        return F.crop(inpt, params["top"], params["left"], params["height"], params["width"])

    def extra_repr(self) -> str:
        # torchvision's generic repr leaves out attributes that are None
        padding = "" if self.padding is None else f"padding={self.padding}, "
        return (f"size={self.size}, {padding}pad_if_needed={self.pad_if_needed}, "
                f"fill={self.fill}, padding_mode={self.padding_mode}")


class RandomResizedCrop(Transform):
    """A random window of area ``scale`` and aspect ``ratio``, resized to ``size``.

    Example:
        >>> v2.RandomResizedCrop(size=(224, 224), antialias=True)
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True) -> None:
        super().__init__()
        self.size = _crop_size(size)
        if not isinstance(scale, Sequence) or len(scale) != 2:
            raise TypeError("Scale should be a sequence of two floats.")
        if not isinstance(ratio, Sequence) or len(ratio) != 2:
            raise TypeError("Ratio should be a sequence of two floats.")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        self.scale = scale
        self.ratio = ratio
        self.interpolation = _interp(interpolation)
        self.antialias = antialias

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        area = height * width
        log_ratio = _v1._log_ratio(self.ratio)
        for _ in range(10):
            target_area = area * _v1._uniform(self.scale[0], self.scale[1])
            aspect = _v1._exp_uniform(log_ratio[0], log_ratio[1])
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                i = _v1._randint(0, height - h + 1)
                j = _v1._randint(0, width - w + 1)
                return {"top": i, "left": j, "height": h, "width": w}
        in_ratio = float(width) / float(height)  # fallback: the central crop
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            w, h = width, height
        return {"top": (height - h) // 2, "left": (width - w) // 2, "height": h, "width": w}

    def transform(self, inpt, params):
        return F.resized_crop(inpt, **params, size=self.size, interpolation=self.interpolation,
                              antialias=self.antialias)

    def extra_repr(self) -> str:
        return (f"size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias}")


class RandomRotation(Transform):
    """Rotate the sample by an angle drawn uniformly from ``degrees`` (a number d means
    ``[-d, d]``); masks and boxes follow.

    Example:
        >>> img, boxes = v2.RandomRotation(degrees=15)(img, boxes)
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0) -> None:
        super().__init__()
        self.degrees = _v1._setup_angle(degrees, "degrees")
        self.interpolation = _interp(interpolation)
        self.expand = expand
        self.fill = fill
        self.center = center

    def make_params(self, flat_inputs):
        return {"angle": _v1._uniform(float(self.degrees[0]), float(self.degrees[1]))}

    def transform(self, inpt, params):
        fill = _fill_for(self.fill, inpt)
        if isinstance(inpt, Tensor) and isinstance(fill, (int, float)):
            fill = [float(fill)]  # a tensor's fill is a per-channel list (one value repeats)
        return F.rotate(inpt, params["angle"], self.interpolation, self.expand, self.center,
                        fill)

    def extra_repr(self) -> str:
        return (f"degrees={self.degrees}, interpolation={self.interpolation.value}, "
                f"expand={self.expand}, fill={self.fill}")


class RandomAffine(Transform):
    """A random affine map (rotation in ``degrees``, translation up to ``translate`` fractions,
    ``scale`` and ``shear`` ranges; v1's draws and order) applied to the whole sample: masks
    with nearest neighbours, boxes around their moved corners.

    Example:
        >>> img, boxes = v2.RandomAffine(degrees=10, translate=(0.1, 0.1))(img, boxes)
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None) -> None:
        super().__init__()
        # v1 validates the arguments the same way; keep its normalised values
        checked = _v1.RandomAffine(degrees, translate, scale, shear, interpolation, 0, center)
        self.degrees, self.translate = checked.degrees, checked.translate
        self.scale, self.shear = checked.scale, checked.shear
        self.interpolation, self.center = checked.interpolation, center
        self._interpolation_arg = interpolation
        self.fill = fill

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        angle, translate, scale, shear = _v1.RandomAffine.get_params(
            self.degrees, self.translate, self.scale, self.shear, [w, h])
        return {"angle": angle, "translate": list(translate), "scale": scale,
                "shear": list(shear)}

    def transform(self, inpt, params):
        fill = _fill_for(self.fill, inpt)
        if isinstance(inpt, Tensor) and isinstance(fill, (int, float)):
            fill = [float(fill)]  # a tensor's fill is a per-channel list (one value repeats)
        return F.affine(inpt, params["angle"], params["translate"], params["scale"],
                        params["shear"], self.interpolation, fill, self.center)

    def extra_repr(self) -> str:
        parts = [f"degrees={self.degrees}"]
        for name in ("translate", "scale", "shear"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        # torchvision shows the interpolation as given (its default as "nearest") and leaves a
        # per-type fill dict out
        given = self._interpolation_arg
        parts.append("interpolation=" + ("nearest" if given is InterpolationMode.NEAREST
                                         else str(given)))
        if not isinstance(self.fill, dict):
            parts.append(f"fill={self.fill}")
        if self.center is not None:
            parts.append(f"center={self.center}")
        return ", ".join(parts)


class RandomPerspective(_RandomApplyTransform):
    """With probability ``p``, move each image corner inwards by up to ``distortion_scale`` of
    the half-size (v1's draws) and warp the whole sample: masks with nearest neighbours, boxes
    around their warped corners.

    Example:
        >>> img, boxes = v2.RandomPerspective(distortion_scale=0.5, p=0.5)(img, boxes)
    """

    def __init__(self, distortion_scale: float = 0.5, p: float = 0.5,
                 interpolation=InterpolationMode.BILINEAR, fill=0) -> None:
        super().__init__(p=p)
        if not 0 <= distortion_scale <= 1:
            raise ValueError("Argument distortion_scale value should be between 0 and 1")
        self.distortion_scale = distortion_scale
        self.interpolation = _interp(interpolation)
        self._interpolation_arg = interpolation
        self.fill = fill

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        start, end = _v1.RandomPerspective.get_params(w, h, self.distortion_scale)
        return {"startpoints": start, "endpoints": end}

    def transform(self, inpt, params):
        fill = _fill_for(self.fill, inpt)
        if isinstance(inpt, Tensor) and isinstance(fill, (int, float)):
            fill = [float(fill)]  # a tensor's fill is a per-channel list (one value repeats)
        return F.perspective(inpt, params["startpoints"], params["endpoints"],
                             self.interpolation, fill)

    def extra_repr(self) -> str:
        # torchvision shows the interpolation as given (its default as "bilinear") and leaves a
        # per-type fill dict out
        given = self._interpolation_arg
        parts = [f"p={self.p}", f"distortion_scale={self.distortion_scale}",
                 "interpolation=" + ("bilinear" if given is InterpolationMode.BILINEAR
                                     else str(given))]
        if not isinstance(self.fill, dict):
            parts.append(f"fill={self.fill}")
        return ", ".join(parts)


# --- colour ----------------------------------------------------------------------------------

class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, in a random order, on the images of
    the sample (masks and boxes pass through).

    Example:
        >>> v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    """

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None) -> None:
        super().__init__()
        check = _v1.ColorJitter._check_input
        self.brightness = None if brightness is None else check(brightness, "brightness")
        self.contrast = None if contrast is None else check(contrast, "contrast")
        self.saturation = None if saturation is None else check(saturation, "saturation")
        self.hue = None if hue is None else check(hue, "hue", center=0, bound=(-0.5, 0.5),
                                                  clip_first_on_zero=False)

    def make_params(self, flat_inputs):
        fn_idx, b, c, s, h = _v1.ColorJitter.get_params(self.brightness, self.contrast,
                                                        self.saturation, self.hue)
        return {"fn_idx": fn_idx, "factors": (b, c, s, h)}

    def transform(self, inpt, params):
        if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
            return inpt
        fns = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for i in params["fn_idx"]:
            factor = params["factors"][i]
            if factor is not None:
                inpt = fns[i](inpt, factor)
        return inpt

    def extra_repr(self) -> str:
        parts = [f"{n}={getattr(self, n)}" for n in ("brightness", "contrast", "saturation",
                                                     "hue") if getattr(self, n) is not None]
        return ", ".join(parts)


# --- boxes -----------------------------------------------------------------------------------

class ClampBoundingBoxes(Transform):
    """Clamp every ``BoundingBoxes`` of the sample into its canvas (``clamping_mode="auto"``
    uses each box set's own mode; ``None`` leaves them unclamped).

    Example:
        >>> boxes = v2.ClampBoundingBoxes()(boxes)
    """

    def __init__(self, clamping_mode="auto") -> None:
        super().__init__()
        self.clamping_mode = clamping_mode

    def _needs(self, flat):
        return [isinstance(x, tv_tensors.BoundingBoxes) for x in flat]

    def transform(self, inpt, params):
        return F.clamp_bounding_boxes(inpt, clamping_mode=self.clamping_mode)

    def extra_repr(self) -> str:
        return f"clamping_mode={self.clamping_mode}"


class SetClampingMode(Transform):
    """Set the ``clamping_mode`` (``"soft"``, ``"hard"`` or ``None``) of every
    ``BoundingBoxes`` of the sample, for the transforms that follow; the boxes are copied,
    other leaves pass through.

    Example:
        >>> boxes = v2.SetClampingMode("hard")(boxes)
        >>> boxes.clamping_mode
        'hard'
    """

    def __init__(self, clamping_mode) -> None:
        super().__init__()
        self.clamping_mode = clamping_mode
        if self.clamping_mode not in (None, "soft", "hard"):
            raise ValueError(f"clamping_mode must be soft, hard or None, got {clamping_mode}")

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def transform(self, inpt, params):
        out = inpt.clone()
        out.clamping_mode = self.clamping_mode
        return out

    def extra_repr(self) -> str:
        # torchvision's repr lists the attribute only when it is a string
        return "" if self.clamping_mode is None else f"clamping_mode={self.clamping_mode}"


class ConvertBoundingBoxFormat(Transform):
    """Rewrite every ``BoundingBoxes`` of the sample in ``format`` (a ``BoundingBoxFormat`` or
    its name); images, masks and other leaves pass through.

    Example:
        >>> boxes = v2.ConvertBoundingBoxFormat("CXCYWH")(boxes)
        >>> boxes.format
        <BoundingBoxFormat.CXCYWH: 'CXCYWH'>
    """

    def __init__(self, format) -> None:
        super().__init__()
        self.format = format

    def _needs(self, flat):
        return [isinstance(x, tv_tensors.BoundingBoxes) for x in flat]

    def transform(self, inpt, params):
        return F.convert_bounding_box_format(inpt, new_format=self.format)

    def extra_repr(self) -> str:
        return f"format={self.format}"


class RandomZoomOut(_RandomApplyTransform):
    """With probability ``p``, place the sample on a larger canvas filled with ``fill`` (the
    "zoom out" of SSD's augmentation): the canvas side is the input's times a ratio drawn from
    ``side_range``, the input lands at a random offset, boxes move with it.

    Example:
        >>> img, boxes = v2.RandomZoomOut(fill={tv_tensors.Image: 124, "others": 0})(img, boxes)
    """

    def __init__(self, fill=0, side_range=(1.0, 4.0), p: float = 0.5) -> None:
        super().__init__(p=p)
        if side_range[0] < 1.0 or side_range[0] > side_range[1]:
            raise ValueError(f"Invalid side range provided {side_range}.")
        self.fill = fill
        self.side_range = side_range

    def make_params(self, flat_inputs):
        from .... import rand

        h, w = query_size(flat_inputs)
        lo, hi = self.side_range
        # two draws, in this order: the ratio, then the (left, top) offset fractions
        r = lo + float(rand(1).item()) * (hi - lo)
        canvas_w, canvas_h = int(w * r), int(h * r)
        frac = rand(2).tolist()
        left, top = int((canvas_w - w) * frac[0]), int((canvas_h - h) * frac[1])
        return {"padding": [left, top, canvas_w - (left + w), canvas_h - (top + h)]}

    def transform(self, inpt, params):
        return F.pad(inpt, params["padding"], _fill_for(self.fill, inpt))

    def extra_repr(self) -> str:
        # torchvision's repr leaves a per-type fill dict out
        fill = "" if isinstance(self.fill, dict) else f", fill={self.fill}"
        return f"p={self.p}{fill}, side_range={self.side_range}"


def _resolve_labels_getter(labels_getter):
    """``(getter, given as "default")`` for a sanitizing transform's ``labels_getter``."""
    if isinstance(labels_getter, str) and labels_getter == "default":
        return _default_labels, True
    if labels_getter is not None and not callable(labels_getter):
        raise ValueError("labels_getter should either be 'default', a callable, or None, "
                         f"but got {labels_getter}.")
    return labels_getter, False


def _label_ids(labels) -> set:
    """The ids of the label tensors a getter returned (one, several, or None)."""
    return {id(t) for t in (labels if isinstance(labels, (tuple, list)) else [labels])
            if t is not None}


def _refuse_pil(transform, inputs) -> None:
    """TypeError for a sample holding a PIL image, for transforms that work on tensors only."""
    sample = inputs if len(inputs) > 1 else inputs[0]
    if any(_is_pil_image(x) for x in _flatten(sample, [])):
        raise TypeError(f"{type(transform).__name__}() does not support PIL images.")


def _default_labels(sample):
    """torchvision's heuristic: the second item of a tuple or list (a plain tensor is the
    labels), else a mapping's ``labels`` key (any case), else its first key that contains
    ``label`` (``{"image": ..., "label": ...}``)."""
    from collections.abc import Mapping

    if isinstance(sample, (tuple, list)):
        sample = sample[1]
    if _is_pure_tensor(sample):
        return sample
    if not isinstance(sample, Mapping):
        raise ValueError("When using the default labels_getter, the input passed to forward "
                         "must be a dictionary or a two-tuple whose second item is a dictionary "
                         f"or a tensor, but got {sample} instead.")
    for key in sample.keys():
        if key.lower() == "labels":
            return sample[key]
    for key in sample.keys():
        if "label" in key.lower():
            return sample[key]
    raise ValueError("Could not infer where the labels are in the sample. Try passing a "
                     "callable as the labels_getter parameter?If there are no labels in the "
                     "sample by design, pass labels_getter=None.")


class SanitizeBoundingBoxes(Transform):
    """Drop boxes smaller than ``min_size`` (either side) or ``min_area``, or not inside the
    canvas, together with their labels (found by ``labels_getter``) and masks.

    Example:
        >>> sample = v2.SanitizeBoundingBoxes()({"boxes": boxes, "labels": labels})
    """

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0,
                 labels_getter="default") -> None:
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        self.min_size = min_size
        self.min_area = min_area
        # torchvision's repr names the getter only when it is the string "default"
        self.labels_getter, self._default_getter = _resolve_labels_getter(labels_getter)

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        labels = None if self.labels_getter is None else self.labels_getter(sample)
        flat = _flatten(sample, [])
        boxes = [x for x in flat if isinstance(x, tv_tensors.BoundingBoxes)]
        if len(boxes) != 1:
            raise ValueError("Found multiple bounding boxes instances in the sample" if boxes
                             else "No bounding box was found in the sample")
        valid = self._valid(boxes[0])
        label_ids = _label_ids(labels)
        out = []
        for x in flat:
            if isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask)) or id(x) in label_ids:
                keep = x[valid]
                x = tv_tensors.wrap(keep, like=x) if isinstance(x, tv_tensors.TVTensor) else keep
            out.append(x)
        from ._transform import _unflatten

        return _unflatten(sample, iter(out))

    def _valid(self, boxes) -> Tensor:
        xyxy = F._xyxy(boxes)
        if xyxy.ndim == 1:
            xyxy = xyxy.unsqueeze(0)
        h, w = boxes.canvas_size
        x1, y1, x2, y2 = xyxy.unbind(-1)
        ws, hs = x2 - x1, y2 - y1
        valid = (ws >= self.min_size) & (hs >= self.min_size) & (ws * hs >= self.min_area)
        valid = valid & (x1 >= 0) & (y1 >= 0) & (x2 <= w) & (y2 <= h)
        return valid

    def extra_repr(self) -> str:
        getter = ", labels_getter=default" if self._default_getter else ""
        return f"min_size={self.min_size}, min_area={self.min_area}{getter}"
