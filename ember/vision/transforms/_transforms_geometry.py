"""Random geometric transforms (``RandomAffine``, ``RandomPerspective``, ``ElasticTransform``)
and the multi-crop ones (``FiveCrop``, ``TenCrop``), re-exported by ``transforms``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ... import _random
from ...nn.modules.module import Module
from . import _tensor_ops as TO
from . import functional as F
from .functional import InterpolationMode, _interp
from .transforms import _coin, _randint, _setup_angle, _setup_size, _tensor_fill, _uniform

__all__ = ["RandomAffine", "RandomPerspective", "ElasticTransform", "FiveCrop", "TenCrop"]


def _check_pair(x, name: str) -> None:
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length 2.")
    if len(x) != 2:
        raise ValueError(f"{name} should be a sequence of length 2.")


def _check_fill(fill):
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError("Fill should be either a sequence or a number.")
    return fill


class RandomAffine(Module):
    """Random rotation, translation, scaling and shear, keeping the image size.

    ``degrees`` d means [-d, d]; ``translate`` = (a, b) shifts by at most a * width and
    b * height; ``scale`` = (lo, hi); ``shear`` is a number, (lo, hi) along x, or
    (xlo, xhi, ylo, yhi).

    Example:
        >>> RandomAffine(10, translate=(0.1, 0.1))(ember.rand(3, 16, 16)).shape
        torch.Size([3, 16, 16])
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None) -> None:
        super().__init__()
        self.degrees = _setup_angle(degrees, "degrees")
        if translate is not None:
            _check_pair(translate, "translate")
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_pair(scale, "scale")
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = _setup_angle(shear, "shear", (2, 4)) if shear is not None else shear
        self.interpolation = _interp(interpolation)
        self.fill = _check_fill(fill)
        if center is not None:
            _check_pair(center, "center")
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """Draw (angle, (tx, ty), scale, (shear_x, shear_y)) in torchvision's order."""
        angle = _uniform(float(degrees[0]), float(degrees[1]))
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            translations = (int(round(_uniform(-max_dx, max_dx))),
                            int(round(_uniform(-max_dy, max_dy))))
        else:
            translations = (0, 0)
        scale = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        _, height, width = F.get_dimensions(img)
        angle, translate, scale, shear = self.get_params(self.degrees, self.translate,
                                                         self.scale, self.shear, [width, height])
        return F.affine(img, angle, list(translate), scale, list(shear),
                        interpolation=self.interpolation, fill=fill, center=self.center)

    def __repr__(self) -> str:
        s = f"{self.__class__.__name__}(degrees={self.degrees}"
        for name in ("translate", "scale", "shear"):
            if getattr(self, name) is not None:
                s += f", {name}={getattr(self, name)}"
        if self.interpolation != InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        if self.fill != 0:
            s += f", fill={self.fill}"
        if self.center is not None:
            s += f", center={self.center}"
        return s + ")"


class RandomPerspective(Module):
    """With probability ``p``, move each corner inwards by up to ``distortion_scale`` of the
    half-size and warp the image accordingly.

    Example:
        >>> RandomPerspective(p=1.0)(ember.rand(3, 16, 16)).shape
        torch.Size([3, 16, 16])
    """

    def __init__(self, distortion_scale: float = 0.5, p: float = 0.5,
                 interpolation=InterpolationMode.BILINEAR, fill=0) -> None:
        super().__init__()
        self.p = p
        self.interpolation = _interp(interpolation)
        self.distortion_scale = distortion_scale
        self.fill = _check_fill(fill)

    @staticmethod
    def get_params(width: int, height: int, distortion_scale: float):
        """Draw the four moved corners: (startpoints, endpoints), each [[x, y]] * 4."""
        half_h, half_w = height // 2, width // 2
        dx = int(distortion_scale * half_w)
        dy = int(distortion_scale * half_h)
        topleft = [_randint(0, dx + 1), _randint(0, dy + 1)]
        topright = [_randint(width - dx - 1, width), _randint(0, dy + 1)]
        botright = [_randint(width - dx - 1, width), _randint(height - dy - 1, height)]
        botleft = [_randint(0, dx + 1), _randint(height - dy - 1, height)]
        startpoints = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        return startpoints, [topleft, topright, botright, botleft]

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        _, height, width = F.get_dimensions(img)
        if _coin(self.p):
            start, end = self.get_params(width, height, self.distortion_scale)
            return F.perspective(img, start, end, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


def _pair_floats(value, name: str):
    if not isinstance(value, (numbers.Number, Sequence)):
        raise TypeError(f"{name} should be float or a sequence of floats. Got {type(value)}")
    if isinstance(value, Sequence) and len(value) not in (1, 2):
        raise ValueError(f"If {name} is a sequence its length should be 1 or 2. Got "
                         f"{len(value)}")
    if isinstance(value, numbers.Number):
        return [float(value), float(value)]
    if len(value) == 1:
        return [value[0], value[0]]
    return value  # a pair is kept as given (and shows so in the repr)


def _blur_field(d, ksize: int, sigma: list[float]):
    """``F.gaussian_blur(d, [ksize, ksize], sigma)`` for the float32 (1, 1, H, W) field.

    Same kernel (the float32 outer product of the two 1-D Gaussians) and reflected borders,
    but the 'valid' correlation runs as one float64 FFT product instead of ``ksize**2``
    shifted passes (about 1700 for the default sigma=5): the float64 sums agree with the
    direct ones far below float32's resolution, so the rounded field is the same. Fields too
    small to reflect the kernel's half-width take the plain path (and its errors)."""
    from ..._tensor import Tensor

    pad = ksize // 2
    arr = np.asarray(d._data) if isinstance(d, Tensor) else None
    if arr is None or arr.dtype != np.float32 or pad >= min(arr.shape[-2:]):
        return F.gaussian_blur(d, [ksize, ksize], sigma)
    kx = TO.gaussian_kernel1d(ksize, sigma[0])
    ky = TO.gaussian_kernel1d(ksize, sigma[1])
    kernel = (ky[:, None] * kx[None, :]).astype(np.float32).astype(np.float64)
    padded = np.pad(arr, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="reflect")
    shape = padded.shape[-2:]
    spectrum = np.fft.rfft2(padded.astype(np.float64)) * np.conj(np.fft.rfft2(kernel, s=shape))
    # circular correlation; its first (H, W) entries never wrap around, so they are 'valid'
    out = np.fft.irfft2(spectrum, s=shape)[..., :arr.shape[-2], :arr.shape[-1]]
    return F._wrap(np.ascontiguousarray(out.astype(np.float32)))


class ElasticTransform(Module):
    """Displace pixels by a random field: uniform noise, Gaussian-smoothed by ``sigma`` and
    scaled by ``alpha`` (Simard et al. 2003).

    Example:
        >>> ElasticTransform(alpha=50.0)(ember.rand(3, 32, 32)).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, alpha=50.0, sigma=5.0, interpolation=InterpolationMode.BILINEAR,
                 fill=0) -> None:
        super().__init__()
        self.alpha = _pair_floats(alpha, "alpha")
        self.sigma = _pair_floats(sigma, "sigma")
        self.interpolation = _interp(interpolation)
        if isinstance(fill, (int, float)):
            fill = [float(fill)]
        elif isinstance(fill, (list, tuple)):
            fill = [float(f) for f in fill]
        else:
            raise TypeError(f"fill should be int or float or a list or tuple of them. Got "
                            f"{type(fill)}")
        self.fill = fill

    @staticmethod
    def get_params(alpha: list[float], sigma: list[float], size: list[int]):
        """The (1, H, W, 2) displacement field (x then y), drawn as torchvision draws it."""
        from ..._ops.shape.joining import cat

        fields = []
        for k in range(2):
            d = _random.rand(1, 1, *size) * 2 - 1
            if sigma[k] > 0.0:
                ksize = int(8 * sigma[k] + 1)
                ksize += 1 - ksize % 2  # an odd kernel covering +-4 sigma
                d = _blur_field(d, ksize, sigma)
            fields.append(d * alpha[k] / size[1 - k])  # x is scaled by the width, y by the height
        return cat(fields, 1).permute(0, 2, 3, 1)

    def forward(self, img):
        _, height, width = F.get_dimensions(img)
        displacement = self.get_params(self.alpha, self.sigma, [height, width])
        return F.elastic_transform(img, displacement, self.interpolation, self.fill)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(alpha={self.alpha}, sigma={self.sigma}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


class FiveCrop(Module):
    """The four corner crops and the central crop, as a tuple.

    Example:
        >>> len(FiveCrop(4)(ember.rand(3, 8, 8)))
        5
    """

    def __init__(self, size) -> None:
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def forward(self, img):
        return F.five_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class TenCrop(Module):
    """``FiveCrop`` of the image and of its mirror image (left-right, or top-bottom).

    Example:
        >>> len(TenCrop(4)(ember.rand(3, 8, 8)))
        10
    """

    def __init__(self, size, vertical_flip: bool = False) -> None:
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        self.vertical_flip = vertical_flip

    def forward(self, img):
        return F.ten_crop(img, self.size, self.vertical_flip)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, vertical_flip={self.vertical_flip})"
