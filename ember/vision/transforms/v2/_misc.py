"""Assorted ``transforms.v2`` classes: ``GaussianNoise``, ``RandomOrder``, the multi-crops
``FiveCrop`` and ``TenCrop``, the linear whitening ``LinearTransformation`` and the deprecated
conversions ``ToTensor`` and ``ConvertImageDtype``; ``ElasticTransform`` and ``JPEG``.

Random draws follow torchvision's (one ``randn`` of the image's shape for the noise, one
``randperm`` for ``RandomOrder``), so a seeded run reproduces torchvision's outputs.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from .... import _dtype as D
from ...._tensor import Tensor
from ... import tv_tensors
from .._functional_base import InterpolationMode, _interp, _is_pil_image
from ..transforms import check_whitening, check_whitening_input
from . import functional as F
from ._transform import Transform, _flatten, query_size
from ._transforms import _refuse_pil

__all__ = ["ElasticTransform", "GaussianNoise", "RandomOrder", "FiveCrop", "TenCrop",
           "LinearTransformation", "JPEG",
           "ToTensor", "ConvertImageDtype"]

_NOT_IMAGES = (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)


class GaussianNoise(Transform):
    """Add Gaussian noise ``N(mean, sigma)`` to images and videos (see
    ``functional.gaussian_noise``); masks, boxes and key points pass through.

    Example:
        >>> v2.GaussianNoise(sigma=0.05)(tv_tensors.Image(ember.rand(3, 4, 4))).shape
        torch.Size([3, 4, 4])
    """

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip=True) -> None:
        super().__init__()
        self.mean, self.sigma, self.clip = mean, sigma, clip

    def transform(self, inpt, params):
        if isinstance(inpt, _NOT_IMAGES):
            return inpt
        return F.gaussian_noise(inpt, mean=self.mean, sigma=self.sigma, clip=self.clip)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, sigma={self.sigma}, clip={self.clip}"


class RandomOrder(Transform):
    """Apply all ``transforms`` in a random order (one ``randperm`` per call).

    Example:
        >>> tf = v2.RandomOrder([v2.RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0)])
        >>> tf(ember.rand(3, 4, 4)).shape
        torch.Size([3, 4, 4])
    """

    def __init__(self, transforms: Sequence) -> None:
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs):
        from .... import randperm

        sample = inputs if len(inputs) > 1 else inputs[0]
        for idx in randperm(len(self.transforms)).tolist():
            sample = self.transforms[idx](sample)
        return sample

    def extra_repr(self) -> str:
        return f"transforms={list(self.transforms)}"


def _crop_size(size):
    if isinstance(size, numbers.Number):
        return (int(size), int(size))
    if isinstance(size, Sequence) and len(size) == 1:
        return (size[0], size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return size  # a pair is kept as given (a list stays a list in the repr, as torchvision)


def _warn_keypoints(tf) -> None:
    warnings.warn(f"{type(tf).__name__}() is currently passing through inputs of type "
                  "tv_tensors.KeyPoints. This will likely change in the future.", stacklevel=3)


class _MultiCrop(Transform):
    # each image leaf becomes a tuple of crops; boxes and masks cannot follow, so they are
    # refused up front (key points pass through untouched, as torchvision does)
    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        if any(isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask))
               for x in _flatten(sample, [])):
            raise TypeError(f"BoundingBoxes'es and Mask's are not supported by "
                            f"{type(self).__name__}()")
        return super().forward(*inputs)


class FiveCrop(_MultiCrop):
    """The four corner crops and the central crop of ``size`` of each image or video, as a
    tuple ``(top_left, top_right, bottom_left, bottom_right, center)``.

    Example:
        >>> len(v2.FiveCrop(2)(tv_tensors.Image(ember.rand(3, 4, 4))))
        5
    """

    def __init__(self, size) -> None:
        super().__init__()
        self.size = _crop_size(size)

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.KeyPoints):
            _warn_keypoints(self)
            return inpt
        return F.five_crop(inpt, self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class TenCrop(_MultiCrop):
    """``FiveCrop`` of each image or video and of its mirror (left-right, or top-bottom with
    ``vertical_flip``): a tuple of ten crops.

    Example:
        >>> len(v2.TenCrop(2)(tv_tensors.Image(ember.rand(3, 4, 4))))
        10
    """

    def __init__(self, size, vertical_flip: bool = False) -> None:
        super().__init__()
        self.size = _crop_size(size)
        self.vertical_flip = vertical_flip

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.KeyPoints):
            _warn_keypoints(self)
            return inpt
        return F.ten_crop(inpt, self.size, vertical_flip=self.vertical_flip)

    def extra_repr(self) -> str:
        return f"size={self.size}, vertical_flip={self.vertical_flip}"


class LinearTransformation(Transform):
    """Flatten each image (``C * H * W`` values; leading dims are a batch), subtract
    ``mean_vector`` and multiply by the square ``transformation_matrix``: ZCA whitening, for
    instance. Boxes, masks and key points pass through; PIL images raise ``TypeError``.

    Example:
        >>> lt = v2.LinearTransformation(ember.eye(12), ember.zeros(12))
        >>> lt(tv_tensors.Image(ember.rand(3, 2, 2))).shape
        torch.Size([3, 2, 2])
    """

    def __init__(self, transformation_matrix: Tensor, mean_vector: Tensor) -> None:
        super().__init__()
        check_whitening(transformation_matrix, mean_vector)
        self.transformation_matrix = transformation_matrix
        self.mean_vector = mean_vector

    def forward(self, *inputs):
        _refuse_pil(self, inputs)
        return super().forward(*inputs)

    def transform(self, inpt, params):
        if isinstance(inpt, _NOT_IMAGES):
            return inpt
        shape = tuple(inpt.shape)
        n = check_whitening_input(inpt, self.transformation_matrix, self.mean_vector)
        # the whole image is one row vector; the product is taken in the matrix's dtype
        rows = F._plain(inpt).reshape(-1, n) - self.mean_vector
        out = rows.to(self.transformation_matrix.dtype) @ self.transformation_matrix
        return F._like(out.reshape(shape), inpt)


class ToTensor(Transform):
    """Deprecated: PIL images and NumPy ``(H, W, C)`` arrays become float ``(C, H, W)`` tensors
    in ``[0, 1]``; everything else passes through. Prefer
    ``v2.Compose([v2.ToImage(), v2.ToDtype(ember.float32, scale=True)])``.

    Example:
        >>> v2.ToTensor()(np.zeros((2, 2, 3), np.uint8)).shape
        torch.Size([3, 2, 2])
    """

    def __init__(self) -> None:
        warnings.warn("The transform `ToTensor()` is deprecated and will be removed in a future "
                      "release. Instead, please use `v2.Compose([v2.ToImage(), "
                      "v2.ToDtype(torch.float32, scale=True)])`.Output is equivalent up to "
                      "float precision.", stacklevel=2)
        super().__init__()

    def _needs(self, flat: list) -> list[bool]:
        return [_is_pil_image(x) or isinstance(x, np.ndarray) for x in flat]

    def transform(self, inpt, params):
        from .. import functional as _F1

        return _F1.to_tensor(inpt)


class ConvertImageDtype(Transform):
    """Deprecated: convert images to ``dtype``, rescaling values between integer ranges and
    float ``[0, 1]`` (masks and boxes change dtype without rescaling; PIL images pass
    through). Prefer ``v2.ToDtype(dtype, scale=True)``.

    Example:
        >>> img = tv_tensors.Image(ember.full((1, 1, 1), 255, dtype=ember.uint8))
        >>> v2.ConvertImageDtype(ember.float32)(img).tolist()
        [[[1.0]]]
    """

    def __init__(self, dtype=D.float32) -> None:
        super().__init__()
        self.dtype = dtype

    def transform(self, inpt, params):
        if _is_pil_image(inpt):
            return inpt
        return F.to_dtype(inpt, dtype=self.dtype, scale=True)



class ElasticTransform(Transform):
    """Warp the sample by a random displacement field (uniform noise smoothed by a Gaussian of
    ``sigma`` and scaled by ``alpha``; Simard et al., 2003), drawn once per call as v1's
    ``ElasticTransform`` draws it: images resampled with ``interpolation``, masks with nearest
    neighbours, boxes and key points moved along. ``fill`` may be a dict per type.

    Example:
        >>> v2.ElasticTransform(alpha=20.0)(tv_tensors.Image(ember.rand(3, 32, 32))).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, alpha=50.0, sigma=5.0, interpolation=InterpolationMode.BILINEAR,
                 fill=0) -> None:
        from .._transforms_geometry import _pair_floats

        for value, name in ((alpha, "alpha"), (sigma, "sigma")):
            if isinstance(value, str) or not isinstance(value, (numbers.Number, Sequence)):
                raise ValueError(f"{name} should be a sequence of numbers. Got {type(value)}")
        super().__init__()
        # stored as lists of floats (the repr shows ``alpha=[50.0, 50.0]``)
        self.alpha = [float(a) for a in _pair_floats(alpha, "alpha")]
        self.sigma = [float(s) for s in _pair_floats(sigma, "sigma")]
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def make_params(self, flat_inputs):
        from .._transforms_geometry import ElasticTransform as _V1Elastic

        size = list(query_size(flat_inputs))
        return {"displacement": _V1Elastic.get_params(self.alpha, self.sigma, size)}

    def transform(self, inpt, params):
        from ._transforms import _fill_for

        fill = _fill_for(self.fill, inpt)
        if isinstance(fill, (int, float)):
            fill = [float(fill)]  # a tensor's fill is a per-channel list (one value repeats)
        return F.elastic(inpt, params["displacement"], self.interpolation, fill)

    def extra_repr(self) -> str:
        # torchvision leaves a per-type fill dict out of the repr (probed)
        text = f"alpha={self.alpha}, sigma={self.sigma}, interpolation={self.interpolation.value}"
        return text if isinstance(self.fill, dict) else f"{text}, fill={self.fill}"


class JPEG(Transform):
    """Compress images and videos as JPEG and decode them again (``functional.jpeg``, through
    Pillow), at a quality drawn uniformly from ``quality`` (an int, or ``[min, max]``, both in
    1..100) with one ``randint`` per call; masks, boxes and key points pass through.

    Example:
        >>> img = tv_tensors.Image(ember.randint(0, 256, (3, 16, 16), dtype=ember.uint8))
        >>> v2.JPEG((50, 90))(img).shape
        torch.Size([3, 16, 16])
    """

    def __init__(self, quality) -> None:
        super().__init__()
        if isinstance(quality, int) and not isinstance(quality, bool):
            quality = [quality, quality]
        elif isinstance(quality, Sequence):
            if len(quality) != 2:
                raise ValueError("quality should be a sequence of length 2.")
        else:
            raise TypeError("quality should be a sequence of length 2.")
        if not 1 <= quality[0] <= quality[1] <= 100:
            raise ValueError(f"quality must be an integer from 1 to 100, got quality ={quality}")
        self.quality = quality

    def make_params(self, flat_inputs):
        from .... import randint

        return {"quality": int(randint(self.quality[0], self.quality[1] + 1, ()).item())}

    def transform(self, inpt, params):
        if isinstance(inpt, _NOT_IMAGES):
            return inpt
        return F.jpeg(inpt, params["quality"])

    def extra_repr(self) -> str:
        return f"quality={self.quality}"
