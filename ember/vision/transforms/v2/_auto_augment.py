"""``AutoAugment``, ``RandAugment``, ``TrivialAugmentWide`` and ``AugMix`` of
``transforms.v2``.

They pick ops and magnitudes from v1's tables (``transforms._transforms_augment``) but draw
them as torchvision's v2 does (probed): one ``rand`` per applied signed op for the sign (where
v1 draws ``randint(2)``), AutoAugment one ``rand`` per step for its probability and a sign only
for the steps it applies, and Solarize's threshold as a fraction of the image's top value.
The one image-like leaf of the sample is transformed (PIL image, plain tensor, ``Image`` or
``Video``); boxes and masks are refused with ``TypeError``, other leaves pass through.
"""

from __future__ import annotations

import numpy as np

from .... import _random
from ...._tensor import Tensor
from ... import tv_tensors
from .. import _transforms_augment as _A1
from .._functional_base import InterpolationMode, _interp
from . import functional as F
from ._transform import Transform, _needs_transform

AutoAugmentPolicy = _A1.AutoAugmentPolicy

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


def _randint(n: int) -> int:
    return int(_random.randint(n, (1,)).item())


def _rand() -> float:
    return float(_random.rand(1).item())


def _apply_op(img, op_name: str, magnitude: float, interpolation, fill):
    # v1's dispatch, with v2's functionals (their rounding) and v2's Solarize threshold
    return _A1._apply_op(img, op_name, magnitude, interpolation, fill, functional=F,
                         solarize_threshold=_solarize_threshold)


def _solarize_threshold(img, magnitude: float) -> float:
    # v2's Solarize bins run from 1 to 0 (float32) and scale by the image's top value (255 for
    # uint8 and PIL, 1 for float) in float32 (probed: bin 0.4 gives 102.00001, which keeps
    # 102, and bin 2/3 gives exactly 170)
    from ...._tensor import Tensor

    if isinstance(img, Tensor) and img.is_floating_point():
        return magnitude
    return float(np.float32(magnitude) * np.float32(255.0))


def _v2_space(space: dict) -> dict:
    """v1's op table with Solarize's bins as fractions of the top value."""
    magnitudes, signed = space["Solarize"]
    return {**space, "Solarize": (_A1._bins(1.0, 0.0, len(magnitudes)), signed)}


class _AutoAugmentBase(Transform):
    _default_interpolation = InterpolationMode.NEAREST

    def __init__(self, interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self._interpolation_arg = interpolation
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def _repr_parts(self) -> list[str]:
        return []

    def extra_repr(self) -> str:
        # torchvision lists the interpolation as given (its default by value: "nearest"), then
        # the fill
        # unless it is None, then the transform's own settings
        given = self._interpolation_arg
        default = self._default_interpolation
        parts = ["interpolation=" + (given.value if given is default else str(given))]
        if self.fill is not None:
            parts.append(f"fill={self.fill}")
        return ", ".join(parts + self._repr_parts())

    def _fill(self, img):
        if isinstance(self.fill, dict):
            for kind, value in self.fill.items():
                if isinstance(kind, type) and isinstance(img, kind):
                    return _A1._fill_for(img, value)
            return None
        return _A1._fill_for(img, self.fill)

    def forward(self, *inputs):
        from ._transform import _flatten, _unflatten

        sample = inputs if len(inputs) > 1 else inputs[0]
        flat = _flatten(sample, [])
        for x in flat:
            if isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)):
                raise TypeError(f"Inputs of type {type(x).__name__} are not supported by "
                                f"{type(self).__name__}()")
        needs = _needs_transform(flat)
        idx = [i for i, n in enumerate(needs) if n]
        if not idx:
            raise TypeError("Found no image in the sample.")
        if len(idx) > 1:
            raise TypeError(f"Auto augment transformations are only properly defined for a "
                            f"single image or video, but found {len(idx)}.")
        out = list(flat)
        out[idx[0]] = self._augment(flat[idx[0]])
        return _unflatten(sample, iter(out))

    @staticmethod
    def _signed(magnitude: float, signed: bool) -> float:
        # v2 draws the sign as one uniform number: at most 0.5 turns the magnitude negative
        if signed and _rand() <= 0.5:
            return -magnitude
        return magnitude


class AutoAugment(_AutoAugmentBase):
    """Apply one randomly chosen sub-policy of a learned ``policy`` (two ops, each with its own
    probability and magnitude), as ``torchvision.transforms.v2.AutoAugment``.

    Example:
        >>> img = tv_tensors.Image((ember.rand(3, 32, 32) * 255).to(ember.uint8))
        >>> v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)(img).shape
        ember.Size([3, 32, 32])
    """

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET,
                 interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__(interpolation, fill)
        self.policy = policy
        self._policies = _A1.AutoAugment._get_policies(self, policy)

    def _augment(self, img):
        _, height, width = F.get_dimensions(img)
        op_meta = _v2_space({**_A1._image_ops(10, (height, width)),
                             "Invert": (_A1._NONE, False)})
        fill = self._fill(img)
        for op_name, p, magnitude_id in self._policies[_randint(len(self._policies))]:
            if not _rand() <= p:
                continue
            magnitudes, signed = op_meta[op_name]
            magnitude = _A1._pick(magnitudes, magnitude_id) if magnitude_id is not None else 0.0
            img = _apply_op(img, op_name, self._signed(magnitude, signed),
                            self.interpolation, fill)
        return img

    def _repr_parts(self) -> list[str]:
        return [f"policy={self.policy}"]


class RandAugment(_AutoAugmentBase):
    """Apply ``num_ops`` ops drawn uniformly, all at the fixed ``magnitude`` bin (of
    ``num_magnitude_bins``), as ``torchvision.transforms.v2.RandAugment``.

    Example:
        >>> img = tv_tensors.Image((ember.rand(3, 32, 32) * 255).to(ember.uint8))
        >>> v2.RandAugment(num_ops=2, magnitude=9)(img).shape
        ember.Size([3, 32, 32])
    """

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__(interpolation, fill)
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def _augment(self, img):
        _, height, width = F.get_dimensions(img)
        op_meta = _v2_space({"Identity": (_A1._NONE, False),
                             **_A1._image_ops(self.num_magnitude_bins, (height, width))})
        names = list(op_meta)
        fill = self._fill(img)
        for _ in range(self.num_ops):
            op_name = names[_randint(len(names))]
            magnitudes, signed = op_meta[op_name]
            magnitude = _A1._pick(magnitudes, self.magnitude)
            img = _apply_op(img, op_name, self._signed(magnitude, signed),
                            self.interpolation, fill)
        return img

    def _repr_parts(self) -> list[str]:
        return [f"num_ops={self.num_ops}", f"magnitude={self.magnitude}",
                f"num_magnitude_bins={self.num_magnitude_bins}"]


class TrivialAugmentWide(_AutoAugmentBase):
    """Apply one op drawn uniformly at a magnitude bin drawn uniformly, as
    ``torchvision.transforms.v2.TrivialAugmentWide``.

    Example:
        >>> img = tv_tensors.Image((ember.rand(3, 32, 32) * 255).to(ember.uint8))
        >>> v2.TrivialAugmentWide()(img).shape
        ember.Size([3, 32, 32])
    """

    def __init__(self, num_magnitude_bins: int = 31, interpolation=InterpolationMode.NEAREST,
                 fill=None) -> None:
        super().__init__(interpolation, fill)
        self.num_magnitude_bins = num_magnitude_bins

    def _augment(self, img):
        op_meta = _v2_space(_A1.TrivialAugmentWide._augmentation_space(
            self, self.num_magnitude_bins))
        names = list(op_meta)
        op_name = names[_randint(len(names))]
        magnitudes, signed = op_meta[op_name]
        magnitude = (_A1._pick(magnitudes, _randint(len(magnitudes)))
                     if magnitudes.ndim > 0 else 0.0)
        return _apply_op(img, op_name, self._signed(magnitude, signed), self.interpolation,
                         self._fill(img))

    def _repr_parts(self) -> list[str]:
        return [f"num_magnitude_bins={self.num_magnitude_bins}"]


class AugMix(_AutoAugmentBase):
    """Mix the image with ``mixture_width`` chains of random ops (``chain_depth`` ops each, or
    1-3 when it is -1), as ``torchvision.transforms.v2.AugMix``: chain weights from
    Dirichlet(``alpha``), the share of the original from Dirichlet(``alpha``, ``alpha``).

    Example:
        >>> img = tv_tensors.Image((ember.rand(3, 32, 32) * 255).to(ember.uint8))
        >>> v2.AugMix()(img).shape
        ember.Size([3, 32, 32])
    """

    _default_interpolation = InterpolationMode.BILINEAR

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1,
                 alpha: float = 1.0, all_ops: bool = True,
                 interpolation=InterpolationMode.BILINEAR, fill=None) -> None:
        super().__init__(interpolation, fill)
        self._PARAMETER_MAX = _A1.AugMix._PARAMETER_MAX
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got "
                             f"{severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops

    def _augment(self, orig):
        from .._functional_base import _is_pil_image

        was_pil = _is_pil_image(orig)
        img = F.pil_to_tensor(orig) if was_pil else orig
        _, height, width = F.get_dimensions(img)
        op_meta = _v2_space(_A1.AugMix._augmentation_space(
            self, self._PARAMETER_MAX, (height, width)))
        names = list(op_meta)
        fill = self._fill(img)
        plain = img.as_subclass(Tensor) if type(img) is not Tensor else img
        dims = list(plain.shape)
        # one mix per sample: a video's frames (T, C, H, W) share theirs (probed)
        sample_ndim = 5 if isinstance(img, tv_tensors.Video) else 4
        batch = plain.reshape([1] * max(sample_ndim - plain.ndim, 0) + dims)

        def random_op(aug):
            op_name = names[_randint(len(names))]
            magnitudes, signed = op_meta[op_name]
            magnitude = (_A1._pick(magnitudes, _randint(self.severity))
                         if magnitudes.ndim > 0 else 0.0)
            return _apply_op(aug, op_name, self._signed(magnitude, signed), self.interpolation,
                             fill)

        mix = _A1.mix_chains(self, batch, random_op)
        out = mix.reshape(dims).to(plain.dtype)
        if was_pil:
            return F.to_pil_image(out)
        return F._like(out, img)

    @staticmethod
    def _sample_dirichlet(params: Tensor) -> Tensor:
        """One Dirichlet sample per row of ``params`` (a hook, as in torchvision)."""
        return _A1.AugMix._sample_dirichlet(params)

    def _repr_parts(self) -> list[str]:
        return [f"severity={self.severity}", f"mixture_width={self.mixture_width}",
                f"chain_depth={self.chain_depth}", f"alpha={self.alpha}",
                f"all_ops={self.all_ops}"]
