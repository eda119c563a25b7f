"""SSDlite (Sandler et al., 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
with the MobileNetV3 backbone of "Searching for MobileNetV3"): SSD whose extra layers and
prediction heads use depthwise-separable convolutions
(torchvision.models.detection.ssdlite)."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from functools import partial
from typing import Any

from .... import nn
from ...ops.layers import Conv2dNormActivation
from .._api import _DETECTION_WEIGHT_ENUMS, _WEIGHT_ENUMS
from ..mobilenetv3 import mobilenet_v3_large
from . import _utils as det_utils
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _detection_classes
from .ssd import SSD, SSDScoringHead

__all__ = ["SSDLite320_MobileNet_V3_Large_Weights", "ssdlite320_mobilenet_v3_large"]

SSDLite320_MobileNet_V3_Large_Weights = \
    _DETECTION_WEIGHT_ENUMS["SSDLite320_MobileNet_V3_Large_Weights"]


def _normal_init(container: nn.Module) -> None:
    # SSDlite's layers (and an untrained backbone) start from N(0, 0.03) with zero bias
    for module in container.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, mean=0.0, std=0.03)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0.0)


def _prediction_block(in_channels: int, out_channels: int, kernel_size: int,
                      norm_layer) -> nn.Sequential:
    # depthwise conv-norm-ReLU6, then a biased pointwise conv giving the predictions
    return nn.Sequential(
        Conv2dNormActivation(in_channels, in_channels, kernel_size=kernel_size,
                             groups=in_channels, norm_layer=norm_layer,
                             activation_layer=nn.ReLU6),
        nn.Conv2d(in_channels, out_channels, 1))


def _extra_block(in_channels: int, out_channels: int, norm_layer) -> nn.Sequential:
    # 1x1 to half width, 3x3 stride-2 depthwise, 1x1 to the output width (all norm + ReLU6)
    mid = out_channels // 2
    act = nn.ReLU6
    return nn.Sequential(
        Conv2dNormActivation(in_channels, mid, kernel_size=1, norm_layer=norm_layer,
                             activation_layer=act),
        Conv2dNormActivation(mid, mid, kernel_size=3, stride=2, groups=mid,
                             norm_layer=norm_layer, activation_layer=act),
        Conv2dNormActivation(mid, out_channels, kernel_size=1, norm_layer=norm_layer,
                             activation_layer=act))


def _prediction_blocks(in_channels, num_anchors, columns: int, norm_layer) -> nn.ModuleList:
    blocks = nn.ModuleList([_prediction_block(c, a * columns, 3, norm_layer)
                            for c, a in zip(in_channels, num_anchors)])
    _normal_init(blocks)
    return blocks


class SSDLiteClassificationHead(SSDScoringHead):
    """SSDlite's class predictor: per feature map a 3x3 depthwise conv block and a 1x1 conv
    giving ``num_classes`` logits per default box.

    Example:
        >>> head = SSDLiteClassificationHead([8], [6], 3, nn.BatchNorm2d)
        >>> tuple(head([ember.rand(1, 8, 2, 2)]).shape)
        (1, 24, 3)
    """

    def __init__(self, in_channels, num_anchors, num_classes: int, norm_layer) -> None:
        super().__init__(_prediction_blocks(in_channels, num_anchors, num_classes, norm_layer),
                         num_classes)


class SSDLiteRegressionHead(SSDScoringHead):
    """SSDlite's box predictor: per feature map a 3x3 depthwise conv block and a 1x1 conv
    giving 4 offsets per default box.

    Example:
        >>> head = SSDLiteRegressionHead([8], [6], nn.BatchNorm2d)
        >>> tuple(head([ember.rand(1, 8, 2, 2)]).shape)
        (1, 24, 4)
    """

    def __init__(self, in_channels, num_anchors, norm_layer) -> None:
        super().__init__(_prediction_blocks(in_channels, num_anchors, 4, norm_layer), 4)


class SSDLiteHead(nn.Module):
    """The classification and regression heads of SSDlite.

    Args:
        in_channels (List[int]): channels of each feature map.
        num_anchors (List[int]): default boxes per cell of each map.
        num_classes (int): classes including the background.
        norm_layer (callable): the norm of the depthwise blocks.

    Example:
        >>> out = SSDLiteHead([8], [6], 3, nn.BatchNorm2d)([ember.rand(1, 8, 2, 2)])
        >>> {k: tuple(v.shape) for k, v in out.items()}
        {'bbox_regression': (1, 24, 4), 'cls_logits': (1, 24, 3)}
    """

    def __init__(self, in_channels, num_anchors, num_classes: int, norm_layer) -> None:
        super().__init__()
        self.classification_head = SSDLiteClassificationHead(in_channels, num_anchors,
                                                             num_classes, norm_layer)
        self.regression_head = SSDLiteRegressionHead(in_channels, num_anchors, norm_layer)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


class SSDLiteFeatureExtractorMobileNet(nn.Module):
    """SSDlite's MobileNet pyramid: the map inside block ``c4_pos`` (after its expansion
    conv), the backbone's last map, then four depthwise extra blocks halving the size each.

    Args:
        backbone (nn.Sequential): MobileNetV3's ``features``.
        c4_pos (int): index of the first block of the stride-16 stage.
        norm_layer (callable): the extra blocks' norm.
        width_mult (float): scales the extra blocks' widths (512, 256, 256, 128).
        min_depth (int): the smallest extra width.

    Example:
        >>> from ember.vision.models import mobilenet_v3_large
        >>> body = mobilenet_v3_large().features
        >>> extractor = SSDLiteFeatureExtractorMobileNet(body, 13, nn.BatchNorm2d).eval()
        >>> [tuple(v.shape[1:]) for v in extractor(ember.rand(1, 3, 64, 64)).values()][:3]
        [(672, 4, 4), (960, 2, 2), (512, 1, 1)]
    """

    def __init__(self, backbone: nn.Module, c4_pos: int, norm_layer, width_mult: float = 1.0,
                 min_depth: int = 16) -> None:
        super().__init__()
        if backbone[c4_pos].use_res_connect:
            raise AssertionError("the block at c4_pos must not have a residual connection")
        split = backbone[c4_pos].block
        self.features = nn.Sequential(
            nn.Sequential(*backbone[:c4_pos], split[0]),
            nn.Sequential(split[1:], *backbone[c4_pos + 1:]))

        def width(channels: int) -> int:
            return max(int(channels * width_mult), min_depth)

        widths = [backbone[-1].out_channels, width(512), width(256), width(256), width(128)]
        extra = nn.ModuleList([_extra_block(a, b, norm_layer)
                               for a, b in zip(widths[:-1], widths[1:])])
        _normal_init(extra)
        self.extra = extra

    def forward(self, x):
        maps = []
        for block in list(self.features) + list(self.extra):
            x = block(x)
            maps.append(x)
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def _mobilenet_extractor(backbone, trainable_layers: int,
                         norm_layer) -> SSDLiteFeatureExtractorMobileNet:
    features = backbone.features
    # stages start at the stem, at each downsampling block, and at the last conv
    starts = ([0] + [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)]
              + [len(features) - 1])
    if not 0 <= trainable_layers <= len(starts):
        raise AssertionError(f"trainable_layers should be in the range [0, {len(starts)}]. "
                             f"Instead got {trainable_layers}")
    frozen = len(features) if trainable_layers == 0 else starts[len(starts) - trainable_layers]
    for block in features[:frozen]:
        for p in block.parameters():
            p.requires_grad_(False)
    return SSDLiteFeatureExtractorMobileNet(features, starts[-2], norm_layer)


def ssdlite320_mobilenet_v3_large(
        *, weights=None, progress: bool = True, num_classes: int | None = None,
        weights_backbone=_WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].IMAGENET1K_V1,
        trainable_backbone_layers: int | None = None, norm_layer=None,
        **kwargs: Any) -> SSD:
    """SSDlite with a MobileNetV3-Large backbone at 320x320 (six maps, 6 default boxes per
    cell, 3234 in all).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Without backbone weights the
    backbone's last stage is halved (``reduced_tail``, as in the COCO checkpoint) and every
    conv starts from N(0, 0.03).

    Args:
        weights: must be ``None``. progress (bool): ignored.
        num_classes (int, optional): classes including the background. Default: 91.
        weights_backbone: must be ``None`` here (the default names ImageNet weights).
        trainable_backbone_layers (int, optional): 0 to 6.
        norm_layer (callable, optional): Default: ``BatchNorm2d(eps=0.001, momentum=0.03)``.
        **kwargs: passed to :class:`SSD` (``size`` is fixed) and to the backbone's
            :func:`mobilenet_v3_large`, which ignores the ones it does not know.

    Example:
        >>> model = ssdlite320_mobilenet_v3_large(weights_backbone=None, num_classes=3)
        >>> model.head.classification_head.module_list[0][1].out_channels
        18
    """
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.",
                      stacklevel=2)
    num_classes = _detection_classes("ssdlite320_mobilenet_v3_large", weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 6, 6)
    if norm_layer is None:
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    # without ImageNet weights the last stage is halved, as the COCO checkpoint has it; the
    # keywords reach the backbone too (``dilated=True`` dilates its last stage, as there)
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress,
                                  norm_layer=norm_layer, reduced_tail=weights_backbone is None,
                                  **kwargs)
    if weights_backbone is None:
        _normal_init(backbone)
    backbone = _mobilenet_extractor(backbone, trainable, norm_layer)
    size = (320, 320)
    anchor_generator = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95)
    out_channels = det_utils.retrieve_out_channels(backbone, size)
    if len(out_channels) != len(anchor_generator.aspect_ratios):
        raise AssertionError(
            f"The length of the output channels from the backbone {len(out_channels)} do not "
            f"match the length of the anchor generator aspect ratios "
            f"{len(anchor_generator.aspect_ratios)}")
    defaults = {"score_thresh": 0.001, "nms_thresh": 0.55, "detections_per_img": 300,
                "topk_candidates": 300,
                # the backbone's inputs in [-1, 1]
                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    kwargs = {**defaults, **kwargs}
    head = SSDLiteHead(out_channels, anchor_generator.num_anchors_per_location(), num_classes,
                       norm_layer)
    return SSD(backbone, anchor_generator, size, num_classes, head=head, **kwargs)
