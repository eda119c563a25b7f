"""The probability-gated colour transforms of ``transforms.v2``: ``RandomInvert``,
``RandomPosterize``, ``RandomSolarize``, ``RandomAdjustSharpness``, ``RandomAutocontrast`` and
``RandomEqualize``.

Each draws one ``rand(1)`` per call (applied when it is below ``p``) and then runs the matching
``v2.functional`` op on every image-like leaf of the sample; masks, boxes and key points pass
through. Like torchvision (probed), the constructors check only ``p``.
"""

from __future__ import annotations

from ... import tv_tensors
from . import functional as F
from ._transform import _RandomApplyTransform

__all__ = ["RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize"]


class _RandomColor(_RandomApplyTransform):
    # extra constructor argument shown after ``p`` in the repr, as torchvision prints it
    _arg: str | None = None

    def _op(self, inpt):
        raise NotImplementedError

    def transform(self, inpt, params):
        if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
            return inpt
        return self._op(inpt)

    def extra_repr(self) -> str:
        if self._arg is None:
            return f"p={self.p}"
        return f"p={self.p}, {self._arg}={getattr(self, self._arg)}"


class RandomInvert(_RandomColor):
    """Invert the colours (``max - x``) with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.zeros(3, 2, 2, dtype=ember.uint8))
        >>> v2.RandomInvert(p=1.0)(img).unique().tolist()
        [255]
    """

    def _op(self, inpt):
        return F.invert(inpt)


class RandomPosterize(_RandomColor):
    """Keep the top ``bits`` bits of each channel with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.full((3, 2, 2), 200, dtype=ember.uint8))
        >>> v2.RandomPosterize(bits=2, p=1.0)(img).unique().tolist()
        [192]
    """

    _arg = "bits"

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.bits = bits

    def _op(self, inpt):
        return F.posterize(inpt, self.bits)


class RandomSolarize(_RandomColor):
    """Invert the pixels at or above ``threshold`` with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.tensor([[[10, 200]]], dtype=ember.uint8))
        >>> v2.RandomSolarize(threshold=128, p=1.0)(img).tolist()
        [[[10, 55]]]
    """

    _arg = "threshold"

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.threshold = threshold

    def _op(self, inpt):
        return F.solarize(inpt, self.threshold)


class RandomAdjustSharpness(_RandomColor):
    """Sharpen (``sharpness_factor`` > 1) or blur (< 1) with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.rand(3, 8, 8))
        >>> v2.RandomAdjustSharpness(sharpness_factor=2.0, p=1.0)(img).shape
        ember.Size([3, 8, 8])
    """

    _arg = "sharpness_factor"

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.sharpness_factor = sharpness_factor

    def _op(self, inpt):
        return F.adjust_sharpness(inpt, self.sharpness_factor)


class RandomAutocontrast(_RandomColor):
    """Stretch each channel to the full range with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.tensor([[[50, 100]]], dtype=ember.uint8))
        >>> v2.RandomAutocontrast(p=1.0)(img).tolist()
        [[[0, 255]]]
    """

    def _op(self, inpt):
        return F.autocontrast(inpt)


class RandomEqualize(_RandomColor):
    """Equalize each channel's histogram with probability ``p``.

    Example:
        >>> img = tv_tensors.Image(ember.randint(0, 256, (3, 8, 8), dtype=ember.uint8))
        >>> v2.RandomEqualize(p=1.0)(img).dtype
        ember.uint8
    """

    def _op(self, inpt):
        return F.equalize(inpt)
