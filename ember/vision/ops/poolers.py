"""Multi-scale RoI Align: pool each box from the pyramid level that suits its size (FPN)."""

from __future__ import annotations

import math

import numpy as np

import ember

from ... import nn
from .boxes import box_area
from .roi import roi_align

__all__ = ["MultiScaleRoIAlign"]


def _float32(v: float) -> float:
    return float(np.float32(v))


def _infer_scale(feature, original_size) -> float:
    # the power of two nearest to the feature map's size over the image's (height decides)
    approx = _float32(float(feature.shape[-2]) / float(original_size[0]))
    return 2.0 ** float(np.round(np.log2(np.float32(approx))))


class LevelMapper:
    """Map boxes to FPN levels by their size: ``floor(k0 + log2(sqrt(area) / s0))``
    (equation 1 of the FPN paper), clamped to ``[k_min, k_max]`` and counted from ``k_min``.

    Args:
        k_min (int): the finest level.
        k_max (int): the coarsest level.
        canonical_scale (int): ``s0``. Default: 224.
        canonical_level (int): ``k0``. Default: 4.
        eps (float): guards the floor against rounding. Default: 1e-6.

    Example:
        >>> mapper = LevelMapper(2, 5)
        >>> mapper([ember.tensor([[0., 0, 224, 224], [0, 0, 32, 32]])])
        tensor([2, 0])
    """

    def __init__(self, k_min: int, k_max: int, canonical_scale: int = 224,
                 canonical_level: int = 4, eps: float = 1e-6):
        self.k_min = k_min
        self.k_max = k_max
        self.s0 = canonical_scale
        self.lvl0 = canonical_level
        self.eps = eps

    def __call__(self, boxlists):
        s = ember.sqrt(ember.cat([box_area(b) for b in boxlists]))
        levels = ember.floor(self.lvl0 + ember.log2(s / self.s0) + self.eps)
        levels = ember.clamp(levels, min=self.k_min, max=self.k_max)
        return (levels.to(ember.int64) - self.k_min).to(ember.int64)


def _rois_from_list(boxes):
    ids = [ember.full_like(b[:, :1], i) for i, b in enumerate(boxes)]
    return ember.cat([ember.cat(ids), ember.cat(boxes)], dim=1)


class MultiScaleRoIAlign(nn.Module):
    """RoI Align over a feature pyramid: each box is pooled from one level, chosen by its
    area (:class:`LevelMapper`); the levels' scales are inferred from the image sizes.

    Args:
        featmap_names (List[str]): the keys of the feature dict to pool from.
        output_size (int or Tuple[int, int]): the pooled size.
        sampling_ratio (int): as for :func:`roi_align`.
        canonical_scale (int): a box of this side maps to ``canonical_level``. Default: 224.
        canonical_level (int): Default: 4.

    Forward takes ``(x: Dict[str, Tensor], boxes: List[Tensor[L, 4]], image_shapes:
    List[Tuple[int, int]])`` and returns ``Tensor[K, C, output_size[0], output_size[1]]``.

    Example:
        >>> pool = MultiScaleRoIAlign(["a", "b"], 3, 2)
        >>> x = {"a": ember.randn(1, 4, 16, 16), "b": ember.randn(1, 4, 8, 8)}
        >>> pool(x, [ember.tensor([[0., 0, 20, 20], [4, 4, 60, 60]])], [(64, 64)]).shape
        torch.Size([2, 4, 3, 3])
    """

    def __init__(self, featmap_names: list[str], output_size, sampling_ratio: int, *,
                 canonical_scale: int = 224, canonical_level: int = 4):
        super().__init__()
        if isinstance(output_size, int):  # one number: a square window
            output_size = (output_size, output_size)
        self.featmap_names, self.output_size = featmap_names, tuple(output_size)
        self.sampling_ratio = sampling_ratio
        self.canonical_scale, self.canonical_level = canonical_scale, canonical_level
        # Both depend on the sizes of the inputs, so every forward sets them afresh.
        self.scales = self.map_levels = None

    def _setup_scales(self, features, image_shapes):
        if not image_shapes:
            raise ValueError("images list should not be empty")
        original = (max(s[0] for s in image_shapes), max(s[1] for s in image_shapes))
        scales = [_infer_scale(f, original) for f in features]
        lvl_min = -math.log2(_float32(scales[0]))
        lvl_max = -math.log2(_float32(scales[-1]))
        self.scales = scales
        self.map_levels = LevelMapper(int(lvl_min), int(lvl_max), self.canonical_scale,
                                      self.canonical_level)

    def forward(self, x, boxes, image_shapes):
        # the levels in the dict's order, as torchvision filters the dict
        features = [v for k, v in x.items() if k in self.featmap_names]
        self._setup_scales(features, image_shapes)
        rois = _rois_from_list(boxes)
        if len(features) == 1:
            return roi_align(features[0], rois, self.output_size,
                             spatial_scale=self.scales[0], sampling_ratio=self.sampling_ratio)
        levels = self.map_levels(boxes).numpy()
        outs, order = [], []
        for level, (feature, scale) in enumerate(zip(features, self.scales)):
            rows = np.nonzero(levels == level)[0]
            if len(rows) == 0:
                continue
            idx = ember.from_numpy(rows).to(rois.device)
            outs.append(roi_align(feature, rois[idx], self.output_size, spatial_scale=scale,
                                  sampling_ratio=self.sampling_ratio))
            order.append(rows)
        if not outs:
            h, w = self.output_size
            return ember.zeros((0, features[0].shape[1], h, w), dtype=features[0].dtype,
                               device=features[0].device)
        order = np.concatenate(order)
        out = ember.cat(outs)
        return out[ember.from_numpy(np.argsort(order)).to(out.device)]

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(featmap_names={self.featmap_names}, "
                f"output_size={self.output_size}, sampling_ratio={self.sampling_ratio})")
