"""Detection and segmentation operators, mirroring ``torchvision.ops``.

Boxes (IoU family, conversions, ``nms``), detection losses, RoI pooling and the layers
torchvision's models are built from.

Example:
    >>> import ember
    >>> from ember.vision import ops
    >>> boxes = ember.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    >>> ops.nms(boxes, ember.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    tensor([0, 2])
"""

from .boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
    masks_to_boxes,
    nms,
    remove_small_boxes,
)
from .deform_conv import DeformConv2d, deform_conv2d
from .feature_pyramid_network import FeaturePyramidNetwork
from .layers import (
    MLP,
    Conv2dNormActivation,
    Conv3dNormActivation,
    FrozenBatchNorm2d,
    Permute,
    SqueezeExcitation,
)
from .losses import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    sigmoid_focal_loss,
)
from .poolers import MultiScaleRoIAlign
from .ps_roi import PSRoIAlign, PSRoIPool, ps_roi_align, ps_roi_pool
from .regularization import (
    DropBlock2d,
    DropBlock3d,
    StochasticDepth,
    drop_block2d,
    drop_block3d,
    stochastic_depth,
)
from .roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = [
    "masks_to_boxes", "box_area", "box_convert", "box_iou", "generalized_box_iou",
    "distance_box_iou", "complete_box_iou", "clip_boxes_to_image", "batched_nms", "nms",
    "remove_small_boxes", "roi_align", "RoIAlign", "roi_pool", "RoIPool", "MultiScaleRoIAlign",
    "ps_roi_align", "PSRoIAlign", "ps_roi_pool", "PSRoIPool",
    "sigmoid_focal_loss", "generalized_box_iou_loss", "distance_box_iou_loss",
    "complete_box_iou_loss", "Conv2dNormActivation", "Conv3dNormActivation",
    "FrozenBatchNorm2d", "SqueezeExcitation", "MLP", "Permute", "FeaturePyramidNetwork",
    "StochasticDepth", "stochastic_depth", "DropBlock2d", "DropBlock3d", "drop_block2d",
    "drop_block3d", "deform_conv2d", "DeformConv2d",
]


def _alias_torchvision_modules():
    # torchvision's module paths that ember files under a concept name: programs write
    # ``from torchvision.ops.misc import FrozenBatchNorm2d``, so the same paths import here.
    # (``roi_align`` and the like stay functions: there torchvision's name is both.)
    import sys

    from . import layers, losses, regularization

    for name, module in (("misc", layers), ("focal_loss", losses), ("giou_loss", losses),
                         ("diou_loss", losses), ("ciou_loss", losses),
                         ("drop_block", regularization)):
        sys.modules.setdefault(f"{__name__}.{name}", module)
        # torchvision's package imports these submodules, so ``torchvision.ops.misc.MLP``
        # works as an attribute chain without an import of its own
        globals().setdefault(name, module)


_alias_torchvision_modules()
