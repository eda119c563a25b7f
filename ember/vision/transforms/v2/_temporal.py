"""Temporal transforms of ``torchvision.transforms.v2`` for videos ``(..., T, C, H, W)``."""

from __future__ import annotations

from ...._tensor import Tensor
from . import functional as F
from ._transform import Transform


class UniformTemporalSubsample(Transform):
    """Keep ``num_samples`` evenly spaced frames of each video (first and last included;
    more samples than frames repeat frames, nearest-neighbour style). Plain tensors count as
    videos; other tv_tensors (images, boxes, masks) pass through.

    Args:
        num_samples (int): the number of frames to keep.

    Example:
        >>> clip = tv_tensors.Video(ember.rand(16, 3, 8, 8))
        >>> v2.UniformTemporalSubsample(4)(clip).shape
        ember.Size([4, 3, 8, 8])
    """

    _transformed_types = (Tensor,)

    def __init__(self, num_samples: int):
        super().__init__()
        self.num_samples = num_samples

    def transform(self, inpt, params: dict):
        return F.uniform_temporal_subsample(inpt, self.num_samples)

    def extra_repr(self) -> str:
        return f"num_samples={self.num_samples}"
