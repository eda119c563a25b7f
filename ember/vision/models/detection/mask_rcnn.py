"""Mask R-CNN (He et al., 2017): Faster R-CNN plus a small fully convolutional mask branch
(torchvision.models.detection.mask_rcnn)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .... import nn
from ...ops import layers as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import _WEIGHT_ENUMS
from ..resnet import resnet50
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import FasterRCNN, _detection_classes

__all__ = ["MaskRCNN", "MaskRCNNHeads", "MaskRCNNPredictor", "maskrcnn_resnet50_fpn"]


class MaskRCNNHeads(nn.Sequential):
    """The mask head: 3x3 convolutions with ReLU (and an optional norm layer), one per entry
    of ``layers``, each wrapped in a ``Conv2dNormActivation``.

    Args:
        in_channels (int): the pooled features' channels.
        layers (Sequence[int]): each convolution's output channels.
        dilation (int): the convolutions' dilation (their padding equals it).
        norm_layer (callable, optional): a norm after each convolution; without one the
            convolutions have biases.

    Example:
        >>> head = MaskRCNNHeads(4, (8, 8), 1)
        >>> head(ember.rand(2, 4, 14, 14)).shape
        torch.Size([2, 8, 14, 14])
    """

    def __init__(self, in_channels: int, layers, dilation: int, norm_layer=None) -> None:
        blocks = []
        width = in_channels
        for out in layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(
                width, out, kernel_size=3, stride=1, padding=dilation, dilation=dilation,
                norm_layer=norm_layer))
            width = out
        super().__init__(*blocks)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    # version 2: the layers are Conv2dNormActivation blocks ("0.0.weight"); older
    # checkpoints named bare convolutions "mask_fcn1.weight", "mask_fcn2.weight", ...
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if (local_metadata.get("version") or 0) < 2:
            for i in range(len(self)):
                for kind in ("weight", "bias"):
                    old = f"{prefix}mask_fcn{i + 1}.{kind}"
                    if old in state_dict:
                        state_dict[f"{prefix}{i}.0.{kind}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class MaskRCNNPredictor(nn.Sequential):
    """The mask predictor: a stride-2 2x2 transposed convolution (``conv5_mask``) doubling
    the resolution, ReLU, and a 1x1 convolution (``mask_fcn_logits``) giving one mask logit
    map per class.

    Args:
        in_channels (int): the mask head's output channels.
        dim_reduced (int): the transposed convolution's output channels.
        num_classes (int): classes including the background.

    Example:
        >>> MaskRCNNPredictor(8, 4, 3)(ember.rand(2, 8, 14, 14)).shape
        torch.Size([2, 3, 28, 28])
    """

    def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        # only the weights are re-initialised; the biases keep their default draws
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


class MaskRCNN(FasterRCNN):
    """Mask R-CNN: :class:`FasterRCNN` whose RoI heads also predict a mask for each
    detection.

    Training targets additionally hold ``masks`` (``UInt8Tensor[N, H, W]``, one binary mask
    per box) and the losses include ``loss_mask``. In eval each image's dict also has
    ``masks`` (``FloatTensor[N, 1, H, W]``, probabilities pasted at the boxes in the input
    image; threshold them, e.g. at 0.5, for binary masks).

    Args:
        backbone, num_classes, and the remaining :class:`FasterRCNN` arguments.
        mask_roi_pool (MultiScaleRoIAlign, optional): default: 14x14 over ``"0"``-``"3"``.
        mask_head (nn.Module, optional): default: :class:`MaskRCNNHeads` of four 256-channel
            convolutions.
        mask_predictor (nn.Module, optional): default: :class:`MaskRCNNPredictor` (256, 256,
            ``num_classes``); then ``num_classes`` must be given.

    Example:
        >>> from ember.vision.models import mobilenet_v2
        >>> from ember.vision.models.detection.anchor_utils import AnchorGenerator
        >>> backbone = mobilenet_v2().features
        >>> backbone.out_channels = 1280
        >>> model = MaskRCNN(backbone, num_classes=2, min_size=64, max_size=64,
        ...                  rpn_anchor_generator=AnchorGenerator(((32, 64),), ((1.0,),)),
        ...                  box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        ...                  mask_roi_pool=MultiScaleRoIAlign(["0"], 14, 2)).eval()
        >>> sorted(model([ember.rand(3, 64, 64)])[0])
        ['boxes', 'labels', 'masks', 'scores']
    """

    def __init__(self, backbone: nn.Module, num_classes: int | None = None,
                 min_size: int = 800, max_size: int = 1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train: int = 2000,
                 rpn_pre_nms_top_n_test: int = 1000, rpn_post_nms_top_n_train: int = 2000,
                 rpn_post_nms_top_n_test: int = 1000, rpn_nms_thresh: float = 0.7,
                 rpn_fg_iou_thresh: float = 0.7, rpn_bg_iou_thresh: float = 0.3,
                 rpn_batch_size_per_image: int = 256, rpn_positive_fraction: float = 0.5,
                 rpn_score_thresh: float = 0.0, box_roi_pool=None, box_head=None,
                 box_predictor=None, box_score_thresh: float = 0.05,
                 box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 box_fg_iou_thresh: float = 0.5, box_bg_iou_thresh: float = 0.5,
                 box_batch_size_per_image: int = 512, box_positive_fraction: float = 0.25,
                 bbox_reg_weights=None, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, **kwargs: Any) -> None:
        if not isinstance(mask_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("mask_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(mask_roi_pool)}")
        if num_classes is not None and mask_predictor is not None:
            raise ValueError("num_classes should be None when mask_predictor is specified")
        channels = backbone.out_channels
        # the mask branch is built before the rest, as torchvision does, so a seeded model
        # draws the same initial weights
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                               output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        super().__init__(
            backbone, num_classes, min_size, max_size, image_mean, image_std,
            rpn_anchor_generator, rpn_head, rpn_pre_nms_top_n_train, rpn_pre_nms_top_n_test,
            rpn_post_nms_top_n_train, rpn_post_nms_top_n_test, rpn_nms_thresh,
            rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
            rpn_positive_fraction, rpn_score_thresh, box_roi_pool, box_head, box_predictor,
            box_score_thresh, box_nms_thresh, box_detections_per_img, box_fg_iou_thresh,
            box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction,
            bbox_reg_weights, **kwargs)
        self.roi_heads.mask_roi_pool = mask_roi_pool
        self.roi_heads.mask_head = mask_head
        self.roi_heads.mask_predictor = mask_predictor


def maskrcnn_resnet50_fpn(*, weights=None, progress: bool = True,
                          num_classes: int | None = None,
                          weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                          trainable_backbone_layers: int | None = None,
                          **kwargs: Any) -> MaskRCNN:
    """Mask R-CNN with a ResNet-50 FPN backbone ("Mask R-CNN").

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Without backbone weights the
    backbone uses ``BatchNorm2d`` and trains all its layers; with them, ``FrozenBatchNorm2d``
    and the last ``trainable_backbone_layers`` (default 3) stages.

    Args:
        weights: must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): classes including the background. Default: 91.
        weights_backbone: must be ``None`` here (the default names ImageNet weights).
        trainable_backbone_layers (int, optional): 0 to 5.
        **kwargs: passed to :class:`MaskRCNN`.

    Example (the finetuning tutorial's head swap):
        >>> from ember.vision.models.detection.faster_rcnn import FastRCNNPredictor
        >>> model = maskrcnn_resnet50_fpn(weights_backbone=None)
        >>> model.roi_heads.box_predictor = FastRCNNPredictor(1024, 2)
        >>> model.roi_heads.mask_predictor = MaskRCNNPredictor(256, 256, 2)
        >>> model.roi_heads.mask_predictor.mask_fcn_logits.out_channels
        2
    """
    num_classes = _detection_classes("maskrcnn_resnet50_fpn", weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable)
    return MaskRCNN(backbone, num_classes=num_classes, **kwargs)


# ---------------------------------------------------------------------------------------------
# Mask R-CNN v2: the Faster R-CNN v2 parts plus a mask head with batch norm
from .._api import _DETECTION_WEIGHT_ENUMS  # noqa: E402
from .faster_rcnn import (  # noqa: E402, F401  (FastRCNNConvFCHead: reachable here too)
    FastRCNNConvFCHead,
    _default_anchorgen,
    _v2_classes,
    _v2_parts,
)

__all__ += ["maskrcnn_resnet50_fpn_v2", "MaskRCNN_ResNet50_FPN_V2_Weights"]

MaskRCNN_ResNet50_FPN_V2_Weights = _DETECTION_WEIGHT_ENUMS["MaskRCNN_ResNet50_FPN_V2_Weights"]
MaskRCNN_ResNet50_FPN_V2_Weights.__module__ = __name__  # torchvision homes it in this module


def maskrcnn_resnet50_fpn_v2(*, weights=None, progress: bool = True,
                             num_classes: int | None = None, weights_backbone=None,
                             trainable_backbone_layers: int | None = None,
                             **kwargs: Any) -> MaskRCNN:
    """Mask R-CNN v2 with a ResNet-50 FPN backbone: the parts of
    :func:`~ember.vision.models.detection.faster_rcnn.fasterrcnn_resnet50_fpn_v2` plus a
    :class:`MaskRCNNHeads` whose four convolutions are followed by batch norm.

    ember cannot download weights: keep ``weights=None`` and ``weights_backbone=None`` (the
    default here, as in torchvision) and load a saved ``state_dict``. Arguments as for
    ``fasterrcnn_resnet50_fpn_v2``; ``**kwargs`` go to :class:`MaskRCNN`.

    Example:
        >>> model = maskrcnn_resnet50_fpn_v2(num_classes=3)
        >>> type(model.roi_heads.mask_head[0][1]).__name__
        'BatchNorm2d'
    """
    weights = MaskRCNN_ResNet50_FPN_V2_Weights.verify(weights)
    weights_backbone = _WEIGHT_ENUMS["ResNet50_Weights"].verify(weights_backbone)
    num_classes = _v2_classes("maskrcnn_resnet50_fpn_v2", weights, num_classes)
    backbone, rpn_head, box_head = _v2_parts(weights_backbone, progress,
                                             trainable_backbone_layers)
    mask_head = MaskRCNNHeads(backbone.out_channels, [256] * 4, 1, norm_layer=nn.BatchNorm2d)
    return MaskRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=_default_anchorgen(),
                    rpn_head=rpn_head, box_head=box_head, mask_head=mask_head, **kwargs)
