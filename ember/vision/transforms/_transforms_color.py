"""Colour, padding, random-choice and erasing transforms (``ColorJitter``, ``Grayscale``,
``Pad``, ``RandomApply``, ``RandomChoice``, ``RandomOrder``, ``RandomErasing``), re-exported by
``transforms``."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import _random
from ..._tensor import Tensor
from ...nn.modules.module import Module
from . import functional as F
from .transforms import Compose, _coin, _exp_uniform, _log_ratio, _rand, _randint, _uniform

__all__ = ["ColorJitter", "Grayscale", "Pad", "RandomApply", "RandomChoice", "RandomOrder",
           "RandomErasing", "RandomGrayscale", "GaussianBlur", "RandomInvert", "RandomPosterize",
           "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize"]


class ColorJitter(Module):
    """Random brightness, contrast, saturation and hue changes, applied in random order.

    Example:
        >>> ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                     clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        # a number v means the range [center - v, center + v]; a pair is taken as given. A
        # range that is just ``center`` means "leave this property alone" (None).
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            low, high = center - float(value), center + float(value)
            if clip_first_on_zero:
                low = max(low, 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            low, high = float(value[0]), float(value[1])
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        lo_bound, hi_bound = bound
        if not lo_bound <= low <= high <= hi_bound:
            raise ValueError(f"{name} values should be between {bound}, but got {[low, high]}.")
        return None if low == high == center else (low, high)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        fn_idx = _random.randperm(4).tolist()
        b = None if brightness is None else _uniform(brightness[0], brightness[1])
        c = None if contrast is None else _uniform(contrast[0], contrast[1])
        s = None if saturation is None else _uniform(saturation[0], saturation[1])
        h = None if hue is None else _uniform(hue[0], hue[1])
        return fn_idx, b, c, s, h

    def forward(self, img):
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation,
                                             self.hue)
        for fn_id in fn_idx:
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(brightness={self.brightness}, "
                f"contrast={self.contrast}, saturation={self.saturation}, hue={self.hue})")


class Grayscale(Module):
    """To greyscale with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class Pad(Module):
    """Pad the borders (``constant``, ``edge``, ``reflect`` or ``symmetric``)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        super().__init__()
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        F._parse_padding(padding)
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomApply(Module):
    """Apply the list of ``transforms`` (all of them) with probability ``p``."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, img):
        if np.float32(self.p) < np.float32(_rand()):
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        s = self.__class__.__name__ + "(" + f"\n    p={self.p}"
        for t in self.transforms:
            s += "\n" + f"    {t}"
        return s + "\n)"


class RandomChoice:
    """Apply one transform picked at random (weights ``p``, uniform by default)."""

    def __init__(self, transforms: Sequence[Callable], p: list[float] | None = None) -> None:
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(transforms)}")
        self.transforms = transforms
        total = sum(p) if p is not None else None
        self.p = [x / total for x in p] if p is not None else None

    def __call__(self, *args: Any):
        # torchvision picks with Python's ``random`` module (seed it with ``random.seed``)
        t = random.choices(self.transforms, weights=self.p)[0]
        return t(*args)

    def __repr__(self) -> str:
        return f"{Compose.__repr__(self)}(p={self.p})"


class RandomOrder(Compose):
    """Apply the transforms in a random order."""

    def __call__(self, img):
        order = list(range(len(self.transforms)))
        random.shuffle(order)  # Python's ``random``, as torchvision's RandomOrder
        for i in order:
            img = self.transforms[i](img)
        return img


class RandomErasing(Module):
    """Erase a random rectangle of a tensor image with probability ``p`` (Zhong et al. 2017).

    ``value`` is a number, a per-channel tuple, or ``"random"`` (normal noise).

    Example:
        >>> RandomErasing(p=1.0)(ember.rand(3, 32, 32)).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img: Tensor, scale, ratio, value=None):
        img_c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = _exp_uniform(log_ratio[0], log_ratio[1])
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                # torchvision draws float32 noise whatever the image dtype
                v = _random.randn(img_c, h, w)
            else:
                from ... import _creation

                v = _creation.tensor(value, dtype=img.dtype).reshape(-1, 1, 1)
            return _randint(0, img_h - h + 1), _randint(0, img_w - w + 1), h, w, v
        return 0, 0, img_h, img_w, img

    def forward(self, img: Tensor) -> Tensor:
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing works on tensor images (apply it after ToTensor()); "
                            f"got {type(img).__name__}")
        if _coin(self.p):
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = list(self.value)
            if value is not None and len(value) not in (1, img.shape[-3]):
                raise ValueError("If value is a sequence, it should have either a single value "
                                 f"or {img.shape[-3]} (number of input channels)")
            x, y, h, w, v = self.get_params(img, self.scale, self.ratio, value)
            return F.erase(img, x, y, h, w, v, self.inplace)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")


class RandomGrayscale(Module):
    """To greyscale with probability ``p``, keeping the number of channels.

    Example:
        >>> RandomGrayscale(p=1.0)(ember.rand(3, 4, 4)).shape
        torch.Size([3, 4, 4])
    """

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def forward(self, img):
        channels, _, _ = F.get_dimensions(img)
        if _coin(self.p):
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class GaussianBlur(Module):
    """Blur with a Gaussian whose sigma is drawn uniformly from ``sigma`` = (min, max).

    Example:
        >>> GaussianBlur(3, sigma=(0.1, 2.0))(ember.rand(3, 8, 8)).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        super().__init__()
        # one number means a square kernel; a pair is kept as given (a list stays a list, as
        # torchvision's repr shows it)
        if isinstance(kernel_size, numbers.Number):
            kernel_size = (int(kernel_size), int(kernel_size))
        elif isinstance(kernel_size, Sequence) and len(kernel_size) == 1:
            kernel_size = (kernel_size[0], kernel_size[0])
        elif not isinstance(kernel_size, Sequence) or len(kernel_size) != 2:
            raise ValueError("Kernel size should be a tuple/list of two integers")
        if any(k <= 0 or k % 2 == 0 for k in kernel_size):
            raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (float(sigma), float(sigma))
        elif not isinstance(sigma, Sequence) or len(sigma) != 2:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        elif not 0.0 < sigma[0] <= sigma[1]:
            raise ValueError("sigma values should be positive and of the form (min, max).")
        self.kernel_size, self.sigma = kernel_size, sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        return _uniform(sigma_min, sigma_max)

    def forward(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, list(self.kernel_size), [sigma, sigma])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class _RandomPoint(Module):
    """Apply ``_apply`` with probability ``p`` (one float32 ``rand(1)`` per call)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def _apply(self, img):
        raise NotImplementedError

    def forward(self, img):
        if _coin(self.p):
            return self._apply(img)
        return img

    def _extra(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._extra()}p={self.p})"


class RandomInvert(_RandomPoint):
    """Invert the colours with probability ``p``.

    Example:
        >>> RandomInvert(p=1.0)(ember.zeros(1, 2, 2))[0, 0, 0]
        tensor(1.)
    """

    def _apply(self, img):
        return F.invert(img)


class RandomPosterize(_RandomPoint):
    """Keep ``bits`` bits per channel with probability ``p`` (uint8 images).

    Example:
        >>> RandomPosterize(bits=2, p=1.0)(ember.full((1, 1, 1), 255, dtype=ember.uint8)).item()
        192
    """

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p)
        self.bits = bits

    def _apply(self, img):
        return F.posterize(img, self.bits)

    def _extra(self) -> str:
        return f"bits={self.bits},"


class RandomSolarize(_RandomPoint):
    """Invert the values at or above ``threshold`` with probability ``p``.

    Example:
        >>> RandomSolarize(0.5, p=1.0)(ember.tensor([[[0.2, 0.8]]]))
        tensor([[[0.2000, 0.2000]]])
    """

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = threshold

    def _apply(self, img):
        return F.solarize(img, self.threshold)

    def _extra(self) -> str:
        return f"threshold={self.threshold},"


class RandomAdjustSharpness(_RandomPoint):
    """``adjust_sharpness(img, sharpness_factor)`` with probability ``p``.

    Example:
        >>> RandomAdjustSharpness(2, p=1.0)(ember.rand(3, 8, 8)).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _apply(self, img):
        return F.adjust_sharpness(img, self.sharpness_factor)

    def _extra(self) -> str:
        return f"sharpness_factor={self.sharpness_factor},"


class RandomAutocontrast(_RandomPoint):
    """Stretch each channel to the full range with probability ``p``.

    Example:
        >>> RandomAutocontrast(p=1.0)(ember.tensor([[[0.25, 0.5]]]))
        tensor([[[0., 1.]]])
    """

    def _apply(self, img):
        return F.autocontrast(img)


class RandomEqualize(_RandomPoint):
    """Equalise the histogram with probability ``p`` (uint8 images).

    Example:
        >>> RandomEqualize(p=1.0)(ember.zeros(1, 2, 2, dtype=ember.uint8)).shape
        torch.Size([1, 2, 2])
    """

    def _apply(self, img):
        return F.equalize(img)
