"""Transform classes, as torchvision's: ``Compose([ToTensor(), Normalize(...)])`` and friends.

Random transforms draw from ember's default generator with torchvision's calls, in its order,
so after ``ember.manual_seed(s)`` a pipeline gives the images torchvision gives after
``torch.manual_seed(s)`` (and DataLoader workers, seeded per worker, draw different
augmentations). ``RandomChoice`` and ``RandomOrder`` use Python's ``random``, as torchvision's do.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from ... import _random
from ..._tensor import Tensor
from ...nn.modules.module import Module
from . import functional as F
from .functional import InterpolationMode, _interp

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Normalize",
           "Lambda", "Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "ColorJitter",
           "Grayscale", "Pad", "RandomApply", "RandomChoice", "RandomOrder", "RandomErasing",
           "InterpolationMode", "LinearTransformation", "RandomGrayscale", "GaussianBlur",
           "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize", "RandomAffine", "RandomPerspective",
           "ElasticTransform", "FiveCrop", "TenCrop", "AutoAugmentPolicy", "AutoAugment",
           "RandAugment", "TrivialAugmentWide", "AugMix"]


# Every draw below is the call torchvision makes (a float32 ``rand(1)``, ``empty(1).uniform_``,
# ``randint(lo, hi, (1,))``), in its order, so a seeded pipeline reproduces torchvision's images.

def _rand() -> float:
    """One float32 ``rand(1)``, as a Python float."""
    return float(_random.rand(1).item())


def _coin(p: float) -> bool:
    """``rand(1) < p`` with the comparison in float32, as a float32 tensor compares."""
    return bool(np.float32(_rand()) < np.float32(p))


def _uniform(a: float, b: float) -> float:
    """``empty(1).uniform_(a, b)``: one float32 draw in [a, b)."""
    from ... import _creation

    return float(_creation.empty(1).uniform_(a, b).item())


def _exp_uniform(log_lo: float, log_hi: float) -> float:
    """``exp(empty(1).uniform_(lo, hi))`` computed in float32."""
    return float(np.exp(np.float32(_uniform(log_lo, log_hi))))


def _log_ratio(ratio) -> tuple[float, float]:
    """``log(tensor(ratio))``: the bounds are float32 values."""
    logs = np.log(np.asarray(ratio, np.float32))
    return float(logs[0]), float(logs[1])


def _randint(low: int, high: int) -> int:
    return int(_random.randint(low, high, (1,)).item())


def _tensor_fill(img, fill):
    """Transforms hand tensor images a per-channel float list (PIL images keep ``fill``)."""
    if isinstance(img, Tensor):
        if isinstance(fill, (int, float)):
            return [float(fill)] * F.get_dimensions(img)[0]
        return [float(f) for f in fill]
    return fill


def _setup_size(size, error_msg: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size[0], size[1]


class Compose:
    """Apply transforms one after another.

    Example:
        >>> Compose([ToTensor(), Normalize((0.5,), (0.5,))])
        Compose(
            ToTensor()
            Normalize(mean=(0.5,), std=(0.5,))
        )
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        s = self.__class__.__name__ + "("
        for t in self.transforms:
            s += "\n" + f"    {t}"
        return s + "\n)"


class _Simple:
    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class ToTensor(_Simple):
    """PIL image / ndarray (H, W, C) to a float tensor (C, H, W), uint8 scaled to [0, 1]."""

    def __call__(self, pic) -> Tensor:
        return F.to_tensor(pic)


class PILToTensor(_Simple):
    """PIL image to a tensor (C, H, W) of the same dtype, unscaled."""

    def __call__(self, pic) -> Tensor:
        return F.pil_to_tensor(pic)


class ToPILImage:
    """Tensor (C, H, W) or ndarray (H, W, C) to a PIL image."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()" if self.mode is None else (
            f"{self.__class__.__name__}(mode={self.mode})")


class ConvertImageDtype(Module):
    """Convert a tensor image to ``dtype``, rescaling its values."""

    def __init__(self, dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, image: Tensor) -> Tensor:
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(dtype={self.dtype})"


class Normalize(Module):
    """``(x - mean[c]) / std[c]`` for each channel of a float tensor image.

    Example:
        >>> Normalize((0.1307,), (0.3081,))(ember.rand(1, 28, 28)).shape
        torch.Size([1, 28, 28])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        super().__init__()
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def forward(self, tensor: Tensor) -> Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


def check_whitening(transformation_matrix: Tensor, mean_vector: Tensor) -> None:
    """torchvision's checks of a ``LinearTransformation``'s matrix and mean (v1 and v2)."""
    rows, cols = transformation_matrix.shape[:2]
    if rows != cols:
        raise ValueError(f"transformation_matrix should be square. Got ({rows}, {cols}) "
                         "rectangular matrix.")
    if mean_vector.size(0) != rows:
        raise ValueError(f"mean_vector should have the same length {mean_vector.size(0)} as "
                         "any one of the dimensions of the transformation_matrix "
                         f"[{tuple(transformation_matrix.size())}]")
    if transformation_matrix.device != mean_vector.device:
        raise ValueError("Input tensors should be on the same device. Got "
                         f"{transformation_matrix.device} and {mean_vector.device}")
    if transformation_matrix.dtype != mean_vector.dtype:
        raise ValueError("Input tensors should have the same dtype. Got "
                         f"{transformation_matrix.dtype} and {mean_vector.dtype}")


def check_whitening_input(tensor: Tensor, transformation_matrix: Tensor,
                          mean_vector: Tensor) -> int:
    """The checks of an image against a ``LinearTransformation``; returns C * H * W, the
    length of the vector each image becomes."""
    c, h, w = tensor.shape[-3], tensor.shape[-2], tensor.shape[-1]
    size = c * h * w
    if size != transformation_matrix.shape[0]:
        raise ValueError("Input tensor and transformation matrix have incompatible shape."
                         f"[{c} x {h} x {w}] != {transformation_matrix.shape[0]}")
    if tensor.device.type != mean_vector.device.type:
        raise ValueError("Input tensor should be on the same device as transformation matrix "
                         f"and mean vector. Got {tensor.device} vs {mean_vector.device}")
    return size


class LinearTransformation(Module):
    """Flatten a tensor image, subtract ``mean_vector`` and multiply by
    ``transformation_matrix`` (D x D, D = C * H * W): ZCA whitening, for instance.

    Example:
        >>> LinearTransformation(ember.eye(12), ember.zeros(12))(ember.rand(3, 2, 2)).shape
        torch.Size([3, 2, 2])
    """

    def __init__(self, transformation_matrix: Tensor, mean_vector: Tensor) -> None:
        super().__init__()
        check_whitening(transformation_matrix, mean_vector)
        self.transformation_matrix, self.mean_vector = transformation_matrix, mean_vector

    def forward(self, tensor: Tensor) -> Tensor:
        # the last three dimensions (C, H, W) are one vector; any leading ones are a batch
        size = check_whitening_input(tensor, self.transformation_matrix, self.mean_vector)
        rows = tensor.reshape(-1, size) - self.mean_vector
        whitened = rows @ self.transformation_matrix.to(rows.dtype)
        return whitened.reshape(tensor.shape)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(transformation_matrix="
                f"{self.transformation_matrix.tolist()}, mean_vector={self.mean_vector.tolist()})")


class Lambda:
    """Wrap any callable as a transform (torchvision's ``Lambda``).

    Example:
        >>> Lambda(lambda x: x * 2)(3)
        6
    """

    def __init__(self, lambd: Callable) -> None:
        if callable(lambd):
            self.lambd = lambd
            return
        raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Resize(Module):
    """Resize to (h, w), or the shorter side to ``size`` when it is an int."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = _interp(interpolation)
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop(Module):
    """The central crop of ``size``."""

    def __init__(self, size) -> None:
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class RandomCrop(Module):
    """A crop of ``size`` at a random place, after optional ``padding``/``pad_if_needed``.

    Example:
        >>> RandomCrop(32, padding=4)(ember.rand(3, 32, 32)).shape
        torch.Size([3, 32, 32])
    """

    @staticmethod
    def get_params(img, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = tuple(_setup_size(size, "Please provide only two dimensions (h, w) for "
                                            "size."))
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop(Module):
    """A random crop (area fraction in ``scale``, aspect ratio in ``ratio``) resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        self.interpolation = _interp(interpolation)
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(img, scale, ratio) -> tuple[int, int, int, int]:
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = _exp_uniform(log_ratio[0], log_ratio[1])
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)  # fallback: the central crop
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation,
                              antialias=self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class _RandomFlip(Module):
    _fn: Callable

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, img):
        F._check_img(img, self.__class__.__name__)
        if _coin(self.p):
            return type(self)._fn(img)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""

    _fn = staticmethod(F.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""

    _fn = staticmethod(F.vflip)


def _setup_angle(x, name: str, req_sizes=(2,)) -> list[float]:
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        return [float(-x), float(x)]
    sizes = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {sizes}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {sizes}.")
    return [float(d) for d in x]


class RandomRotation(Module):
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means [-d, d])."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0) -> None:
        super().__init__()
        self.degrees = _setup_angle(degrees, "degrees")
        self.interpolation = _interp(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    @staticmethod
    def get_params(degrees: list[float]) -> float:
        return _uniform(float(degrees[0]), float(degrees[1]))

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        s = (f"{self.__class__.__name__}(degrees={self.degrees}, "
             f"interpolation={self.interpolation.value}, expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        return s + f", fill={self.fill})"


# Colour, padding, random-choice and erasing transforms live in _transforms_color.py.
from ._transforms_augment import (  # noqa: E402
    AugMix,
    AutoAugment,
    AutoAugmentPolicy,
    RandAugment,
    TrivialAugmentWide,
)
from ._transforms_color import (  # noqa: E402
    ColorJitter,
    GaussianBlur,
    Grayscale,
    Pad,
    RandomAdjustSharpness,
    RandomApply,
    RandomAutocontrast,
    RandomChoice,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomInvert,
    RandomOrder,
    RandomPosterize,
    RandomSolarize,
)

# Random geometry and multi-crop transforms live in _transforms_geometry.py, the automatic
# augmentation policies in _transforms_augment.py.
from ._transforms_geometry import (  # noqa: E402
    ElasticTransform,
    FiveCrop,
    RandomAffine,
    RandomPerspective,
    TenCrop,
)
