"""``transforms.v2``'s PIL conversions: ``PILToTensor`` and ``ToPILImage``.

Both act on the image leaves of a sample and let the rest pass (probed): ``PILToTensor``
converts only PIL images, to a plain uint8 ``Tensor`` (an ``Image`` or plain tensor stays as
it is); ``ToPILImage`` converts ``Image``s, the plain image tensor and NumPy arrays, while
PIL images, masks, boxes, key points and videos pass through.
"""

from __future__ import annotations

import numpy as np

from ... import tv_tensors
from .._functional_base import _is_pil_image
from . import functional as F
from ._transform import Transform

__all__ = ["PILToTensor", "ToPILImage"]


class PILToTensor(Transform):
    """PIL images to plain uint8 ``Tensor``s of shape ``(C, H, W)``, values unscaled.

    Example:
        >>> from PIL import Image
        >>> v2.PILToTensor()(Image.new("RGB", (3, 2))).shape
        ember.Size([3, 2, 3])
    """

    def _needs(self, flat):
        return [_is_pil_image(x) for x in flat]

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToPILImage(Transform):
    """Images (``Image``, the plain image tensor, NumPy arrays) to PIL images of ``mode``
    (``None`` infers it from the channels and dtype).

    Example:
        >>> v2.ToPILImage()(tv_tensors.Image(ember.zeros(3, 2, 2, dtype=ember.uint8))).mode
        'RGB'
    """

    def __init__(self, mode: str | None = None) -> None:
        super().__init__()
        self.mode = mode

    def _needs(self, flat):
        needs = super()._needs(flat)
        return [(n or isinstance(x, np.ndarray)) and not _is_pil_image(x)
                and not isinstance(x, (tv_tensors.Mask, tv_tensors.BoundingBoxes,
                                       tv_tensors.KeyPoints, tv_tensors.Video))
                for x, n in zip(flat, needs)]

    def transform(self, inpt, params):
        return F.to_pil_image(inpt, mode=self.mode)

    def extra_repr(self) -> str:
        return "" if self.mode is None else f"mode={self.mode}"
