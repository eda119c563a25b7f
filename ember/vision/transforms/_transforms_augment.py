"""Learned and random augmentation policies: ``AutoAugment`` (Cubuk et al. 2019),
``RandAugment`` (Cubuk et al. 2020), ``TrivialAugmentWide`` (Müller & Hutter 2021) and
``AugMix`` (Hendrycks et al. 2020), re-exported by ``transforms``.

Each op draws its magnitude from a table of bins; tables, draw calls and their order are
torchvision's, so seeded runs pick the same ops and magnitudes. Tensor images should be uint8
(as torchvision requires for Posterize/Equalize); PIL images work too.
"""

from __future__ import annotations

import math
from enum import Enum

import numpy as np

from ... import _random
from ..._tensor import Tensor
from ...nn.modules.module import Module
from . import functional as F
from ._tensor_ops import _linspace
from .functional import InterpolationMode, _interp

_F1 = F  # v1's functional module, _apply_op's default

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


def _apply_op(img, op_name: str, magnitude: float, interpolation, fill, functional=None,
              solarize_threshold=None):
    """One augmentation op by name. ``functional`` is the functional module that does the
    work (v1's by default; v2 passes its own, which rounds as torchvision's v2 does), and
    ``solarize_threshold(img, magnitude)`` maps Solarize's magnitude to its threshold (v1:
    the magnitude itself)."""
    F = functional or _F1
    if op_name == "ShearX":
        # shear about the top-left corner, as PIL's affine does, so both backends agree
        return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0,
                        shear=[math.degrees(math.atan(magnitude)), 0.0],
                        interpolation=interpolation, fill=fill, center=[0, 0])
    if op_name == "ShearY":
        return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0,
                        shear=[0.0, math.degrees(math.atan(magnitude))],
                        interpolation=interpolation, fill=fill, center=[0, 0])
    if op_name == "TranslateX":
        return F.affine(img, angle=0.0, translate=[int(magnitude), 0], scale=1.0,
                        interpolation=interpolation, shear=[0.0, 0.0], fill=fill)
    if op_name == "TranslateY":
        return F.affine(img, angle=0.0, translate=[0, int(magnitude)], scale=1.0,
                        interpolation=interpolation, shear=[0.0, 0.0], fill=fill)
    if op_name == "Rotate":
        return F.rotate(img, magnitude, interpolation=interpolation, fill=fill)
    if op_name == "Brightness":
        return F.adjust_brightness(img, 1.0 + magnitude)
    if op_name == "Color":
        return F.adjust_saturation(img, 1.0 + magnitude)
    if op_name == "Contrast":
        return F.adjust_contrast(img, 1.0 + magnitude)
    if op_name == "Sharpness":
        return F.adjust_sharpness(img, 1.0 + magnitude)
    if op_name == "Posterize":
        return F.posterize(img, int(magnitude))
    if op_name == "Solarize":
        threshold = magnitude if solarize_threshold is None else \
            solarize_threshold(img, magnitude)
        return F.solarize(img, threshold)
    if op_name == "AutoContrast":
        return F.autocontrast(img)
    if op_name == "Equalize":
        return F.equalize(img)
    if op_name == "Invert":
        return F.invert(img)
    if op_name == "Identity":
        return img
    raise ValueError(f"The provided operator {op_name} is not recognized.")


def _bins(start: float, end: float, n: int) -> np.ndarray:
    return _linspace(start, end, n, np.float32)


def _posterize_bins(n: int, top: int, steps: int) -> np.ndarray:
    # ``top - round(i / ((n - 1) / steps))``: bits fall in ``steps`` even steps over the bins
    idx = np.arange(n).astype(np.float32) / np.float32((n - 1) / steps)
    return (top - np.round(idx).astype(np.int32)).astype(np.int32)


_NONE = np.array(0.0, np.float32)  # ops without a magnitude


def _fill_for(img, fill):
    if isinstance(img, Tensor):
        channels = F.get_dimensions(img)[0]
        if isinstance(fill, (int, float)):
            return [float(fill)] * channels
        if fill is not None:
            return [float(f) for f in fill]
    return fill


def _pick(magnitudes: np.ndarray, index) -> float:
    return float(magnitudes[index]) if magnitudes.ndim > 0 else 0.0


class AutoAugmentPolicy(Enum):
    """The policies learned on ImageNet, CIFAR10 and SVHN.

    Example:
        >>> AutoAugmentPolicy("cifar10")
        <AutoAugmentPolicy.CIFAR10: 'cifar10'>
    """

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# Each sub-policy: two (op, probability, magnitude bin) steps; the tables are the papers'.
_POLICIES = {
    "imagenet": """Posterize .4 8, Rotate .6 9 | Solarize .6 5, AutoContrast .6 - |
        Equalize .8 -, Equalize .6 - | Posterize .6 7, Posterize .6 6 |
        Equalize .4 -, Solarize .2 4 | Equalize .4 -, Rotate .8 8 | Solarize .6 3, Equalize .6 - |
        Posterize .8 5, Equalize 1 - | Rotate .2 3, Solarize .6 8 | Equalize .6 -, Posterize .4 6 |
        Rotate .8 8, Color .4 0 | Rotate .4 9, Equalize .6 - | Equalize 0 -, Equalize .8 - |
        Invert .6 -, Equalize 1 - | Color .6 4, Contrast 1 8 | Rotate .8 8, Color 1 2 |
        Color .8 8, Solarize .8 7 | Sharpness .4 7, Invert .6 - | ShearX .6 5, Equalize 1 - |
        Color .4 0, Equalize .6 - | Equalize .4 -, Solarize .2 4 |
        Solarize .6 5, AutoContrast .6 - | Invert .6 -, Equalize 1 - | Color .6 4, Contrast 1 8 |
        Equalize .8 -, Equalize .6 -""",
    "cifar10": """Invert .1 -, Contrast .2 6 | Rotate .7 2, TranslateX .3 9 |
        Sharpness .8 1, Sharpness .9 3 | ShearY .5 8, TranslateY .7 9 |
        AutoContrast .5 -, Equalize .9 - | ShearY .2 7, Posterize .3 7 |
        Color .4 3, Brightness .6 7 | Sharpness .3 9, Brightness .7 9 |
        Equalize .6 -, Equalize .5 - | Contrast .6 7, Sharpness .6 5 |
        Color .7 7, TranslateX .5 8 | Equalize .3 -, AutoContrast .4 - |
        TranslateY .4 3, Sharpness .2 6 | Brightness .9 6, Color .2 8 |
        Solarize .5 2, Invert 0 - | Equalize .2 -, AutoContrast .6 - |
        Equalize .2 -, Equalize .6 - |
        Color .9 9, Equalize .6 - | AutoContrast .8 -, Solarize .2 8 |
        Brightness .1 3, Color .7 0 | Solarize .4 5, AutoContrast .9 - |
        TranslateY .9 9, TranslateY .7 9 | AutoContrast .9 -, Solarize .8 3 |
        Equalize .8 -, Invert .1 - | TranslateY .7 9, AutoContrast .9 -""",
    "svhn": """ShearX .9 4, Invert .2 - | ShearY .9 8, Invert .7 - | Equalize .6 -, Solarize .6 6 |
        Invert .9 -, Equalize .6 - | Equalize .6 -, Rotate .9 3 | ShearX .9 4, AutoContrast .8 - |
        ShearY .9 8, Invert .4 - | ShearY .9 5, Solarize .2 6 | Invert .9 -, AutoContrast .8 - |
        Equalize .6 -, Rotate .9 3 | ShearX .9 4, Solarize .3 3 | ShearY .8 8, Invert .7 - |
        Equalize .9 -, TranslateY .6 6 | Invert .9 -, Equalize .6 - | Contrast .3 3, Rotate .8 4 |
        Invert .8 -, TranslateY 0 2 | ShearY .7 6, Solarize .4 8 | Invert .6 -, Rotate .8 4 |
        ShearY .3 7, TranslateX .9 3 | ShearX .1 6, Invert .6 - | Solarize .7 2, TranslateY .6 7 |
        ShearY .8 4, Invert .8 - | ShearX .7 9, TranslateY .8 3 |
        ShearY .8 5, AutoContrast .7 - | ShearX .7 2, Invert .1 -""",
}


def _parse_policy(text: str):
    policy = []
    for sub in text.split("|"):
        steps = []
        for step in sub.split(","):
            name, prob, mag = step.split()
            steps.append((name, float(prob), None if mag == "-" else int(mag)))
        policy.append(tuple(steps))
    return policy


def _image_ops(num_bins: int, image_size) -> dict:
    """The operations AutoAugment and RandAugment share, in torchvision's order, each with its
    magnitude bins and whether the magnitude's sign is drawn."""
    return {
        "ShearX": (_bins(0.0, 0.3, num_bins), True),
        "ShearY": (_bins(0.0, 0.3, num_bins), True),
        "TranslateX": (_bins(0.0, 150.0 / 331.0 * image_size[1], num_bins), True),
        "TranslateY": (_bins(0.0, 150.0 / 331.0 * image_size[0], num_bins), True),
        "Rotate": (_bins(0.0, 30.0, num_bins), True),
        "Brightness": (_bins(0.0, 0.9, num_bins), True),
        "Color": (_bins(0.0, 0.9, num_bins), True),
        "Contrast": (_bins(0.0, 0.9, num_bins), True),
        "Sharpness": (_bins(0.0, 0.9, num_bins), True),
        "Posterize": (_posterize_bins(num_bins, 8, 4), False),
        "Solarize": (_bins(255.0, 0.0, num_bins), False),
        "AutoContrast": (_NONE, False),
        "Equalize": (_NONE, False),
    }


class AutoAugment(Module):
    """Apply one randomly chosen sub-policy of a learned ``policy`` (two ops, each with its own
    probability and magnitude).

    Example:
        >>> img = (ember.rand(3, 32, 32) * 255).to(ember.uint8)
        >>> AutoAugment(AutoAugmentPolicy.CIFAR10)(img).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET,
                 interpolation=InterpolationMode.NEAREST, fill: list[float] | None = None):
        super().__init__()
        self.policy = policy
        self.interpolation = _interp(interpolation)
        self.fill = fill
        self.policies = self._get_policies(policy)

    def _get_policies(self, policy):
        if not isinstance(policy, AutoAugmentPolicy) or policy.value not in _POLICIES:
            raise ValueError(f"The provided policy {policy} is not recognized.")
        return _parse_policy(_POLICIES[policy.value])

    def _augmentation_space(self, num_bins: int, image_size) -> dict:
        return {**_image_ops(num_bins, image_size), "Invert": (_NONE, False)}

    @staticmethod
    def get_params(transform_num: int):
        """Draw (sub-policy index, two probabilities, two signs)."""
        policy_id = int(_random.randint(transform_num, (1,)).item())
        probs = _random.rand(2)
        signs = _random.randint(2, (2,))
        return policy_id, probs, signs

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        policy_id, probs, signs = self.get_params(len(self.policies))
        probs, signs = np.asarray(probs._data), np.asarray(signs._data)
        op_meta = self._augmentation_space(10, (height, width))
        for i, (op_name, p, magnitude_id) in enumerate(self.policies[policy_id]):
            if probs[i] <= np.float32(p):
                magnitudes, signed = op_meta[op_name]
                magnitude = _pick(magnitudes, magnitude_id) if magnitude_id is not None else 0.0
                if signed and signs[i] == 0:
                    magnitude *= -1.0
                img = _apply_op(img, op_name, magnitude, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(policy={self.policy}, fill={self.fill})"


class RandAugment(Module):
    """Apply ``num_ops`` ops drawn uniformly, all at the fixed ``magnitude`` bin (of
    ``num_magnitude_bins``).

    Example:
        >>> img = (ember.rand(3, 32, 32) * 255).to(ember.uint8)
        >>> RandAugment(num_ops=2, magnitude=9)(img).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation=InterpolationMode.NEAREST, fill: list[float] | None = None):
        super().__init__()
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def _augmentation_space(self, num_bins: int, image_size) -> dict:
        # the order is part of the draw: an index picks the op
        return {"Identity": (_NONE, False), **_image_ops(num_bins, image_size)}

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        op_meta = self._augmentation_space(self.num_magnitude_bins, (height, width))
        names = list(op_meta)
        for _ in range(self.num_ops):
            op_name = names[int(_random.randint(len(op_meta), (1,)).item())]
            magnitudes, signed = op_meta[op_name]
            magnitude = _pick(magnitudes, self.magnitude)
            if signed and int(_random.randint(2, (1,)).item()):
                magnitude *= -1.0
            img = _apply_op(img, op_name, magnitude, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


class TrivialAugmentWide(Module):
    """Apply one op drawn uniformly at a magnitude bin drawn uniformly.

    Example:
        >>> img = (ember.rand(3, 32, 32) * 255).to(ember.uint8)
        >>> TrivialAugmentWide()(img).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, num_magnitude_bins: int = 31, interpolation=InterpolationMode.NEAREST,
                 fill: list[float] | None = None) -> None:
        super().__init__()
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def _augmentation_space(self, num_bins: int) -> dict:
        return {
            "Identity": (_NONE, False),
            "ShearX": (_bins(0.0, 0.99, num_bins), True),
            "ShearY": (_bins(0.0, 0.99, num_bins), True),
            "TranslateX": (_bins(0.0, 32.0, num_bins), True),
            "TranslateY": (_bins(0.0, 32.0, num_bins), True),
            "Rotate": (_bins(0.0, 135.0, num_bins), True),
            "Brightness": (_bins(0.0, 0.99, num_bins), True),
            "Color": (_bins(0.0, 0.99, num_bins), True),
            "Contrast": (_bins(0.0, 0.99, num_bins), True),
            "Sharpness": (_bins(0.0, 0.99, num_bins), True),
            "Posterize": (_posterize_bins(num_bins, 8, 6), False),
            "Solarize": (_bins(255.0, 0.0, num_bins), False),
            "AutoContrast": (_NONE, False),
            "Equalize": (_NONE, False),
        }

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        op_meta = self._augmentation_space(self.num_magnitude_bins)
        op_name = list(op_meta)[int(_random.randint(len(op_meta), (1,)).item())]
        magnitudes, signed = op_meta[op_name]
        magnitude = (_pick(magnitudes, int(_random.randint(len(magnitudes), (1,)).item()))
                     if magnitudes.ndim > 0 else 0.0)
        if signed and int(_random.randint(2, (1,)).item()):
            magnitude *= -1.0
        return _apply_op(img, op_name, magnitude, self.interpolation, fill)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


def mix_chains(augmix, batch: Tensor, random_op) -> Tensor:
    """AugMix's mixture of ``batch`` (N, ...) with ``augmix.mixture_width`` chains of
    ``random_op`` calls, in torchvision's order of random draws; v1 and v2 differ only in
    ``random_op`` (how an op and its magnitude are drawn and applied)."""
    from ... import _creation

    n = batch.shape[0]
    batch_dims = [n] + [1] * (batch.ndim - 1)
    alpha = augmix.alpha
    m = augmix._sample_dirichlet(_creation.tensor([alpha, alpha]).expand(n, -1))
    weights = augmix._sample_dirichlet(
        _creation.tensor([alpha] * augmix.mixture_width).expand(n, -1)) * m[:, 1].reshape(n, -1)
    mix = m[:, 0].reshape(batch_dims) * batch
    for i in range(augmix.mixture_width):
        aug = batch
        depth = (augmix.chain_depth if augmix.chain_depth > 0
                 else int(_random.randint(1, 4, (1,)).item()))
        for _ in range(depth):
            aug = random_op(aug)
        mix = mix + weights[:, i].reshape(batch_dims) * aug
    return mix


class AugMix(Module):
    """Mix the image with ``mixture_width`` chains of random ops (``chain_depth`` ops each, or
    1-3 when it is -1); chain weights come from Dirichlet(``alpha``), the mix with the original
    from Beta(``alpha``, ``alpha``).

    Example:
        >>> img = (ember.rand(3, 32, 32) * 255).to(ember.uint8)
        >>> AugMix()(img).shape
        torch.Size([3, 32, 32])
    """

    _PARAMETER_MAX = 10

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1,
                 alpha: float = 1.0, all_ops: bool = True,
                 interpolation=InterpolationMode.BILINEAR, fill: list[float] | None = None):
        super().__init__()
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got "
                             f"{severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def _augmentation_space(self, num_bins: int, image_size) -> dict:
        space = {
            "ShearX": (_bins(0.0, 0.3, num_bins), True),
            "ShearY": (_bins(0.0, 0.3, num_bins), True),
            "TranslateX": (_bins(0.0, image_size[1] / 3.0, num_bins), True),
            "TranslateY": (_bins(0.0, image_size[0] / 3.0, num_bins), True),
            "Rotate": (_bins(0.0, 30.0, num_bins), True),
            "Posterize": (_posterize_bins(num_bins, 4, 4), False),
            "Solarize": (_bins(255.0, 0.0, num_bins), False),
            "AutoContrast": (_NONE, False),
            "Equalize": (_NONE, False),
        }
        if self.all_ops:  # the ops that overlap ImageNet-C's corruptions
            space.update({
                "Brightness": (_bins(0.0, 0.9, num_bins), True),
                "Color": (_bins(0.0, 0.9, num_bins), True),
                "Contrast": (_bins(0.0, 0.9, num_bins), True),
                "Sharpness": (_bins(0.0, 0.9, num_bins), True),
            })
        return space

    @staticmethod
    def _sample_dirichlet(params: Tensor) -> Tensor:
        from ...distributions._sampling import sample_dirichlet

        return sample_dirichlet(params)

    def forward(self, orig_img):
        img = orig_img
        was_pil = F._is_pil_image(img)
        if was_pil:
            img = F.pil_to_tensor(img)
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        op_meta = self._augmentation_space(self._PARAMETER_MAX, (height, width))
        names = list(op_meta)
        orig_dims = list(img.shape)
        batch = img.reshape([1] * max(4 - img.ndim, 0) + orig_dims)

        def random_op(aug):
            op_name = names[int(_random.randint(len(op_meta), (1,)).item())]
            magnitudes, signed = op_meta[op_name]
            magnitude = (_pick(magnitudes, int(_random.randint(self.severity, (1,)).item()))
                         if magnitudes.ndim > 0 else 0.0)
            if signed and int(_random.randint(2, (1,)).item()):
                magnitude *= -1.0
            return _apply_op(aug, op_name, magnitude, self.interpolation, fill)

        mix = mix_chains(self, batch, random_op)
        out = mix.reshape(orig_dims).to(img.dtype)
        if was_pil:
            return F.to_pil_image(out)
        return out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(severity={self.severity}, "
                f"mixture_width={self.mixture_width}, chain_depth={self.chain_depth}, "
                f"alpha={self.alpha}, all_ops={self.all_ops}, "
                f"interpolation={self.interpolation}, fill={self.fill})")
