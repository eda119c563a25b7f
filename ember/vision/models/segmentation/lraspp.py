"""Lite R-ASPP (Howard et al., "Searching for MobileNetV3") on a dilated MobileNetV3-Large
(torchvision.models.segmentation.lraspp)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .... import nn
from ....nn import functional as F
from .._api import _WEIGHT_ENUMS
from .._utils import IntermediateLayerGetter
from ..mobilenetv3 import MobileNetV3
from ._utils import _resolve_weights, _segmentation_enum
from .deeplabv3 import _dilated_mobilenet, _mobilenet_stages

__all__ = ["LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "lraspp_mobilenet_v3_large"]

LRASPP_MobileNet_V3_Large_Weights = _segmentation_enum(
    "LRASPP_MobileNet_V3_Large_Weights", __name__)


class LRASPP(nn.Module):
    """Lite R-ASPP: ``backbone`` gives an ordered dict with a ``"low"`` (fine) and a
    ``"high"`` (coarse) feature map; :class:`LRASPPHead` (``classifier``) mixes them into class
    logits, upsampled bilinearly to the input size. The forward returns an ordered dict with
    ``"out"`` only.

    Args:
        backbone (nn.Module): the feature extractor.
        low_channels (int): channels of ``"low"``.
        high_channels (int): channels of ``"high"``.
        num_classes (int): output classes (with the background).
        inter_channels (int): the head's hidden width. Default: 128.

    Example:
        >>> model = lraspp_mobilenet_v3_large(weights_backbone=None, num_classes=3).eval()
        >>> model(ember.rand(1, 3, 32, 32))["out"].shape
        torch.Size([1, 3, 32, 32])
    """

    def __init__(self, backbone: nn.Module, low_channels: int, high_channels: int,
                 num_classes: int, inter_channels: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input):
        logits = self.classifier(self.backbone(input))
        result = OrderedDict()
        result["out"] = F.interpolate(logits, size=input.shape[-2:], mode="bilinear",
                                      align_corners=False)
        return result


class LRASPPHead(nn.Module):
    """The Lite R-ASPP head: the ``"high"`` map through a 1x1 conv + batch norm + ReLU
    (``cbr``), gated by a sigmoid of its pooled 1x1 conv (``scale``), upsampled to the
    ``"low"`` map's size and classified (``high_classifier``), plus a 1x1 classifier of
    ``"low"`` (``low_classifier``).

    Example:
        >>> head = LRASPPHead(4, 8, 3, 16)
        >>> head({"low": ember.rand(1, 4, 8, 8), "high": ember.rand(1, 8, 2, 2)}).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(self, low_channels: int, high_channels: int, num_classes: int,
                 inter_channels: int) -> None:
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input):
        low, high = input["low"], input["high"]
        gated = self.cbr(high) * self.scale(high)
        gated = F.interpolate(gated, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(gated)


def _lraspp_mobilenetv3(backbone: MobileNetV3, num_classes: int) -> LRASPP:
    features = backbone.features
    stages = _mobilenet_stages(features)
    # "low": the stride-8 block (three stages before the end); "high": the last block
    low_at, high_at = stages[-4], stages[-1]
    body = IntermediateLayerGetter(features, return_layers={str(low_at): "low",
                                                            str(high_at): "high"})
    return LRASPP(body, features[low_at].out_channels, features[high_at].out_channels,
                  num_classes)


def lraspp_mobilenet_v3_large(
        *, weights=None, progress: bool = True, num_classes: int | None = None,
        weights_backbone=_WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].IMAGENET1K_V1,
        **kwargs: Any) -> LRASPP:
    """Lite R-ASPP on a dilated MobileNetV3-Large.

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict``. The model has no auxiliary head: ``aux_loss=True`` raises
    ``NotImplementedError``; other keywords are ignored, as in torchvision.

    Args:
        weights (LRASPP_MobileNet_V3_Large_Weights, optional): must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): output classes. Default: 21 (Pascal VOC).
        weights_backbone (MobileNet_V3_Large_Weights, optional): must be ``None`` here.

    Example:
        >>> model = lraspp_mobilenet_v3_large(weights_backbone=None)
        >>> model.classifier.low_classifier.out_channels
        21
    """
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    weights = LRASPP_MobileNet_V3_Large_Weights.verify(weights)
    num_classes, _ = _resolve_weights("lraspp_mobilenet_v3_large", weights, num_classes, None,
                                      21)
    backbone = _dilated_mobilenet(weights_backbone, progress)
    return _lraspp_mobilenetv3(backbone, num_classes)
