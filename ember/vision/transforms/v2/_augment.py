"""v2 batch, colour and erasing augmentations: ``MixUp``, ``CutMix``, ``Grayscale``,
``RandomGrayscale``, ``GaussianBlur`` and ``RandomErasing``. Draws follow torchvision's order (a
``Beta`` sample for the mixing weight, then ``randint`` for CutMix's box centre x and y;
``rand(1)`` for a coin; ``empty(1).uniform_`` for a blur's sigma; v1's draws for an erased
rectangle), so a seeded run gives torchvision's outputs."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

from ...._tensor import Tensor
from ... import tv_tensors
from .. import functional as _F1
from .._functional_base import _is_pil_image
from ._transform import (
    Transform,
    _flatten,
    _needs_transform,
    _RandomApplyTransform,
    _unflatten,
    query_chw,
    query_size,
)
from ._transforms import _default_labels
from .functional import _image_op


def _is_image_or_video(x) -> bool:
    return isinstance(x, (tv_tensors.Image, tv_tensors.Video))


class _BaseMixUpCutMix(Transform):
    """Mix a batch with itself rolled by one: images (N, C, H, W) or videos, and their labels
    (class indices turned one-hot with ``num_classes``, or already one-hot/soft)."""

    def __init__(self, *, alpha: float = 1.0, num_classes: int | None = None,
                 labels_getter="default") -> None:
        from .... import tensor
        from ....distributions import Beta

        super().__init__()
        self.alpha = float(alpha)
        # built eagerly, as torchvision does, so a non-positive alpha fails here
        self._dist = Beta(tensor([self.alpha]), tensor([self.alpha]))
        self.num_classes = num_classes
        if labels_getter == "default":
            labels_getter = _default_labels
        elif not callable(labels_getter):
            raise ValueError("labels_getter should either be 'default', a callable, or None, "
                             f"but got {labels_getter}.")
        self._labels_getter = labels_getter

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat = _flatten(sample, [])
        name = type(self).__name__
        if any(_is_pil_image(x) or isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask,
                                                  tv_tensors.KeyPoints))
               for x in flat):
            raise ValueError(f"{name}() does not support PIL images, bounding boxes, "
                             "keypoints and masks.")
        labels = self._labels_getter(sample)  # (after that check, as in torchvision)
        # the images: torchvision's usual choice (Images and Videos, else the first plain tensor
        # of the sample), less the labels; if the labels come first, nothing else is mixed
        needs = [n and x is not labels for x, n in zip(flat, _needs_transform(flat))]
        images = [x for x, n in zip(flat, needs) if n]
        # torchvision's order: the labels are checked first, the images only after the
        # random draw (so a failing call consumes the same random numbers as there)
        if not isinstance(labels, Tensor):
            raise ValueError(f"The labels must be a tensor, but got {type(labels)} instead.")
        if labels.ndim not in (1, 2):
            raise ValueError("labels should be index based with shape (batch_size,) or "
                             "probability based with shape (batch_size, num_classes), but got "
                             f"a tensor of shape {labels.shape} instead.")
        if labels.ndim == 2 and self.num_classes is not None and (
                labels.shape[-1] != self.num_classes):
            raise ValueError("When passing 2D labels, the number of elements in last dimension "
                             f"must match num_classes: {labels.shape[-1]} != "
                             f"{self.num_classes}. You can Leave num_classes to None.")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes must be passed if the labels are index-based (1D)")
        params = {"labels": labels, "batch_size": labels.shape[0],
                  **self.make_params(images)}
        out = []
        for x, n in zip(flat, needs):
            if x is labels:
                x = self._mix_labels(x, params)
            elif n:
                _check_batched(x, labels.shape[0])
                x = self.transform(x, params)
            out.append(x)
        return _unflatten(sample, iter(out))

    def _mix_labels(self, labels: Tensor, params) -> Tensor:
        from ....nn.functional import one_hot

        if labels.ndim == 1:
            labels = one_hot(labels, num_classes=self.num_classes)
        if not labels.dtype.is_floating_point:
            labels = labels.float()
        lam = params["lam_adjusted"] if "lam_adjusted" in params else params["lam"]
        return labels.roll(1, 0).mul(1.0 - lam).add(labels.mul(lam))

    def _sample_lam(self) -> float:
        return float(self._dist.sample(()).item())

    def extra_repr(self) -> str:
        if self.num_classes is None:
            return f"alpha={self.alpha}"
        return f"alpha={self.alpha}, num_classes={self.num_classes}"


class MixUp(_BaseMixUpCutMix):
    """MixUp (Zhang et al., 2017): every image of the batch becomes ``lam * image + (1 - lam) *
    previous image`` (the batch rolled by one), and its one-hot label likewise, with ``lam``
    drawn from ``Beta(alpha, alpha)`` once per call. Place it after batching, e.g. in a
    ``collate_fn``.

    Example:
        >>> mix = v2.MixUp(num_classes=10)
        >>> images, labels = mix(ember.rand(8, 3, 32, 32), ember.randint(0, 10, (8,)))
        >>> labels.shape
        torch.Size([8, 10])
    """

    def make_params(self, flat_inputs):
        return {"lam": self._sample_lam()}

    def transform(self, inpt, params):
        lam = params["lam"]
        out = _plain(inpt).roll(1, 0).mul(1.0 - lam).add(_plain(inpt).mul(lam))
        if out.dtype != inpt.dtype:
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{_type_name(inpt.dtype)}")
        return _rewrap(out, inpt)


class CutMix(_BaseMixUpCutMix):
    """CutMix (Yun et al., 2019): a random box of every image of the batch is pasted from the
    previous image (the batch rolled by one); labels mix by the pasted area. The box's area is
    about ``1 - lam`` of the image with ``lam ~ Beta(alpha, alpha)``, centred at a uniformly drawn
    pixel and cut at the borders.

    Example:
        >>> cut = v2.CutMix(num_classes=10)
        >>> images, labels = cut(ember.rand(8, 3, 32, 32), ember.randint(0, 10, (8,)))
    """

    def make_params(self, flat_inputs):
        from .... import randint

        lam = self._sample_lam()
        h, w = query_size(flat_inputs)
        r_x = int(randint(w, (1,)).item())
        r_y = int(randint(h, (1,)).item())
        r = 0.5 * math.sqrt(1.0 - lam)
        r_w_half, r_h_half = int(r * w), int(r * h)
        x1, y1 = max(r_x - r_w_half, 0), max(r_y - r_h_half, 0)
        x2, y2 = min(r_x + r_w_half, w), min(r_y + r_h_half, h)
        lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (w * h))
        return {"box": (x1, y1, x2, y2), "lam_adjusted": lam_adjusted}

    def transform(self, inpt, params):
        x1, y1, x2, y2 = params["box"]
        src = _plain(inpt)
        out = src.clone()
        out[..., y1:y2, x1:x2] = src.roll(1, 0)[..., y1:y2, x1:x2]
        return _rewrap(out, inpt)


def _check_batched(inpt, batch_size: int) -> None:
    """An image batch (N, C, H, W) or video batch (N, T, C, H, W) of the labels' batch size."""
    want = 5 if isinstance(inpt, tv_tensors.Video) else 4
    if inpt.ndim != want:
        raise ValueError(f"Expected a batched input with {want} dims, but got {inpt.ndim} "
                         "dimensions instead.")
    if inpt.shape[0] != batch_size:
        raise ValueError(f"The batch size of the image or video does not match the batch size "
                         f"of the labels: {inpt.shape[0]} != {batch_size}.")


def _plain(t: Tensor) -> Tensor:
    return t.as_subclass(Tensor) if type(t) is not Tensor else t


def _rewrap(out: Tensor, like):
    return tv_tensors.wrap(out, like=like) if isinstance(like, tv_tensors.TVTensor) else out


def _type_name(dtype) -> str:
    return {"uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
            "int64": "Long", "bool": "Bool"}.get(str(dtype).split(".")[-1], str(dtype))


# --- colour and blur -----------------------------------------------------------------------------

def _leaves_masks_and_boxes(inpt) -> bool:
    return isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))


class Grayscale(Transform):
    """Images to greyscale (ITU-R 601-2 luma) with 1 or 3 output channels; masks and boxes pass
    through.

    Example:
        >>> v2.Grayscale(num_output_channels=3)(img)
    """

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        if _leaves_masks_and_boxes(inpt):
            return inpt
        return _image_op(inpt, lambda t: _F1.rgb_to_grayscale(t, self.num_output_channels))

    def extra_repr(self) -> str:
        return f"num_output_channels={self.num_output_channels}"


class RandomGrayscale(_RandomApplyTransform):
    """To greyscale with probability ``p`` (one ``rand(1)`` per call), keeping each image's
    number of channels.

    Example:
        >>> v2.RandomGrayscale(p=0.2)(img)
    """

    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p)

    def transform(self, inpt, params):
        if _leaves_masks_and_boxes(inpt):
            return inpt
        channels = _F1.get_dimensions(inpt)[0] if _is_pil_image(inpt) else inpt.shape[-3]
        return _image_op(inpt, lambda t: _F1.rgb_to_grayscale(t, channels))

    def extra_repr(self) -> str:
        return f"p={self.p}"



class RGB(Transform):
    """Images (plain tensors, ``Image``, PIL) to RGB: a one-channel image gets its channel
    repeated three times, others are left as they are; videos, masks and boxes pass through
    (torchvision has no video kernel for it).

    Example:
        >>> v2.RGB()(tv_tensors.Image(ember.zeros(1, 2, 2))).shape
        ember.Size([3, 2, 2])
    """

    def __init__(self) -> None:
        super().__init__()

    def transform(self, inpt, params):
        from .functional import grayscale_to_rgb

        return grayscale_to_rgb(inpt)


class RandomChannelPermutation(Transform):
    """Randomly reorder the channels of images and videos: one ``randperm(C)`` per call,
    shared by every image of the sample; masks and boxes pass through.

    Example:
        >>> v2.RandomChannelPermutation()(tv_tensors.Image(ember.rand(3, 4, 4))).shape
        ember.Size([3, 4, 4])
    """

    def make_params(self, flat_inputs):
        from .... import randperm

        num_channels, *_ = query_chw(flat_inputs)
        return {"permutation": randperm(num_channels)}

    def transform(self, inpt, params):
        from .functional import permute_channels

        return permute_channels(inpt, params["permutation"])


def _sigma_pair(sigma) -> list[float]:
    """``[min, max]`` from one number or a sequence of one or two, checked as torchvision
    checks it."""
    if isinstance(sigma, numbers.Real):
        sigma = [float(sigma), float(sigma)]
    elif isinstance(sigma, Sequence):
        if not all(isinstance(s, numbers.Real) for s in sigma):
            raise ValueError(f"sigma should be a sequence of numbers. Got {type(sigma)}")
        if len(sigma) not in (1, 2):
            raise ValueError(f"If sigma is a sequence its length should be 1 or 2. "
                             f"Got {len(sigma)}")
        sigma = [float(sigma[0]), float(sigma[-1])]
    else:
        raise TypeError(f"sigma should be a number or a sequence of numbers. Got {type(sigma)}")
    if not 0.0 < sigma[0] <= sigma[1]:
        raise ValueError(f"sigma values should be positive and of the form (min, max). "
                         f"Got {sigma}")
    return sigma


class GaussianBlur(Transform):
    """Blur images with a Gaussian of odd ``kernel_size`` whose sigma is drawn uniformly from
    ``sigma`` = (min, max) once per call; masks and boxes pass through.

    Example:
        >>> v2.GaussianBlur(kernel_size=5, sigma=(0.1, 2.0))(img)
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        super().__init__()
        if isinstance(kernel_size, numbers.Number):
            kernel_size = (int(kernel_size), int(kernel_size))
        elif isinstance(kernel_size, Sequence) and len(kernel_size) == 1:
            kernel_size = (kernel_size[0], kernel_size[0])
        elif not (isinstance(kernel_size, Sequence) and len(kernel_size) == 2):
            raise ValueError("Kernel size should be a tuple/list of two integers")
        for ks in kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        self.kernel_size = tuple(kernel_size)
        self.sigma = _sigma_pair(sigma)

    def make_params(self, flat_inputs):
        from .... import empty

        sigma = float(empty(1).uniform_(self.sigma[0], self.sigma[1]).item())
        return {"sigma": [sigma, sigma]}

    def transform(self, inpt, params):
        if _leaves_masks_and_boxes(inpt):
            return inpt
        return _image_op(inpt, lambda t: _F1.gaussian_blur(t, list(self.kernel_size),
                                                           params["sigma"]))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


# --- erasing -------------------------------------------------------------------------------------

class RandomErasing(_RandomApplyTransform):
    """With probability ``p``, erase one random rectangle of the images and videos (Zhong et
    al., 2017): its area a ``scale`` fraction of the image and its aspect ratio log-uniform in
    ``ratio``; filled with ``value`` (a number, one per channel, or ``"random"`` for normal
    noise). PIL images are erased too; boxes and masks pass through unchanged (with a warning,
    as torchvision does).

    Example:
        >>> v2.RandomErasing(p=0.5, scale=(0.02, 0.33), value=0)(ember.rand(3, 32, 32)).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0,
                 inplace: bool = False) -> None:
        super().__init__(p=p)
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        self.scale, self.ratio, self.inplace = scale, ratio, inplace
        if isinstance(value, (int, float)):
            self.value = [float(value)]
        elif isinstance(value, str):
            self.value = None
        else:
            self.value = [float(v) for v in value]

    def make_params(self, flat_inputs):
        from .. import transforms as _v1

        image = next(x for x in flat_inputs if not _leaves_masks_and_boxes(x))
        if _is_pil_image(image):
            image = _F1.pil_to_tensor(image)
        channels = image.shape[-3]
        if self.value is not None and len(self.value) not in (1, channels):
            raise ValueError("If value is a sequence, it should have either a single value or "
                             f"{channels} (number of inpt channels)")
        i, j, h, w, v = _v1.RandomErasing.get_params(_plain(image), self.scale, self.ratio,
                                                     self.value)
        return {"i": i, "j": j, "h": h, "w": w, "v": v}

    def transform(self, inpt, params):
        if _leaves_masks_and_boxes(inpt):
            warnings.warn(f"{type(self).__name__}() is currently passing through inputs of type "
                          f"tv_tensors.{type(inpt).__name__}. This will likely change in the "
                          "future.", stacklevel=2)
            return inpt
        if _is_pil_image(inpt):  # erased as a uint8 tensor and turned back into PIL
            return _F1.to_pil_image(self.transform(_F1.pil_to_tensor(inpt), params),
                                    mode=inpt.mode)
        if params["v"] is inpt or params["h"] == inpt.shape[-2] and params["w"] == inpt.shape[-1]:
            return inpt  # no rectangle fitted in 10 tries: torchvision leaves the image as is
        out = _F1.erase(_plain(inpt), params["i"], params["j"], params["h"], params["w"],
                        params["v"], self.inplace)
        return _rewrap(out, inpt)

    def extra_repr(self) -> str:
        value = "" if self.value is None else f", value={self.value}"
        return (f"p={self.p}, scale={self.scale}, ratio={self.ratio}{value}, "
                f"inplace={self.inplace}")
