"""DeepLabV3 (Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation") on
a dilated ResNet or MobileNetV3 (torchvision.models.segmentation.deeplabv3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .... import cat, nn
from ....nn import functional as F
from .._api import _WEIGHT_ENUMS
from .._utils import IntermediateLayerGetter
from ..mobilenetv3 import MobileNetV3, mobilenet_v3_large
from ..resnet import ResNet, resnet50, resnet101
from ._utils import _resolve_weights, _segmentation_enum, _SimpleSegmentationModel
from .fcn import FCNHead, _dilated_resnet

__all__ = ["DeepLabV3", "DeepLabV3_ResNet50_Weights", "DeepLabV3_ResNet101_Weights",
           "DeepLabV3_MobileNet_V3_Large_Weights", "deeplabv3_mobilenet_v3_large",
           "deeplabv3_resnet50", "deeplabv3_resnet101"]

DeepLabV3_ResNet50_Weights = _segmentation_enum("DeepLabV3_ResNet50_Weights", __name__)
DeepLabV3_ResNet101_Weights = _segmentation_enum("DeepLabV3_ResNet101_Weights", __name__)
DeepLabV3_MobileNet_V3_Large_Weights = _segmentation_enum(
    "DeepLabV3_MobileNet_V3_Large_Weights", __name__)


class DeepLabV3(_SimpleSegmentationModel):
    """DeepLabV3: ``backbone`` gives an ordered dict with ``"out"`` (and ``"aux"``), the
    classifier (usually a :class:`DeepLabHead`) turns ``"out"`` into class logits, upsampled
    bilinearly to the input size. The forward returns an ordered dict with ``"out"`` (and
    ``"aux"`` when ``aux_classifier`` is given).

    Args:
        backbone (nn.Module): the feature extractor.
        classifier (nn.Module): the head on ``"out"``.
        aux_classifier (nn.Module, optional): the head on ``"aux"`` (a training aid).

    Example:
        >>> model = deeplabv3_mobilenet_v3_large(weights_backbone=None, num_classes=3).eval()
        >>> model(ember.rand(1, 3, 32, 32))["out"].shape
        torch.Size([1, 3, 32, 32])
    """


class DeepLabHead(nn.Sequential):
    """DeepLabV3's head: :class:`ASPP` (256 channels), a 3x3 conv with batch norm and ReLU,
    then a 1x1 conv to ``num_classes``.

    Example:
        >>> DeepLabHead(8, 4, atrous_rates=(1, 2, 3))(ember.rand(2, 8, 5, 5)).shape
        torch.Size([2, 4, 5, 5])
    """

    def __init__(self, in_channels: int, num_classes: int,
                 atrous_rates: Sequence[int] = (12, 24, 36)) -> None:
        super().__init__(
            ASPP(in_channels, atrous_rates),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class ASPPConv(nn.Sequential):
    """One atrous branch of :class:`ASPP`: a 3x3 conv with the given ``dilation`` (padding
    equal to it, so the size is kept), batch norm and ReLU.

    Example:
        >>> ASPPConv(4, 6, dilation=2)(ember.rand(1, 4, 7, 7)).shape
        torch.Size([1, 6, 7, 7])
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation,
                      bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    """The image-level branch of :class:`ASPP`: global average pooling, a 1x1 conv with batch
    norm and ReLU, then bilinear upsampling back to the input's size.

    Example:
        >>> ASPPPooling(4, 6)(ember.rand(2, 4, 5, 3)).shape
        torch.Size([2, 6, 5, 3])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        pooled = super().forward(x)
        return F.interpolate(pooled, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling: a 1x1 branch, one :class:`ASPPConv` per rate of
    ``atrous_rates`` and an :class:`ASPPPooling` branch (all in ``convs``), concatenated and
    projected to ``out_channels`` by a 1x1 conv with batch norm, ReLU and dropout 0.5
    (``project``).

    Example:
        >>> ASPP(8, (1, 2, 3), out_channels=16)(ember.rand(2, 8, 6, 6)).shape
        torch.Size([2, 16, 6, 6])
    """

    def __init__(self, in_channels: int, atrous_rates: Sequence[int],
                 out_channels: int = 256) -> None:
        super().__init__()
        branches = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                  nn.BatchNorm2d(out_channels), nn.ReLU())]
        branches += [ASPPConv(in_channels, out_channels, rate) for rate in tuple(atrous_rates)]
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(cat([branch(x) for branch in self.convs], dim=1))


def _deeplabv3_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> DeepLabV3:
    layers = {"layer4": "out"}
    if aux:
        layers["layer3"] = "aux"
    body = IntermediateLayerGetter(backbone, return_layers=layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(2048, num_classes), aux_classifier)


def _mobilenet_stages(features: nn.Sequential) -> list[int]:
    # the first block, every block that halves the resolution (its "C" stage marker) and the
    # last block: the places where a segmentation model can tap MobileNetV3's features
    marked = [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)]
    return [0, *marked, len(features) - 1]


def _deeplabv3_mobilenetv3(backbone: MobileNetV3, num_classes: int,
                           aux: bool | None) -> DeepLabV3:
    features = backbone.features
    stages = _mobilenet_stages(features)
    # the main map is the last block's; the auxiliary one sits three stages earlier (stride 8)
    out_at, aux_at = stages[-1], stages[-4]
    layers = {str(out_at): "out"}
    if aux:
        layers[str(aux_at)] = "aux"
    body = IntermediateLayerGetter(features, return_layers=layers)
    aux_classifier = FCNHead(features[aux_at].out_channels, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(features[out_at].out_channels, num_classes),
                     aux_classifier)


def deeplabv3_resnet50(*, weights=None, progress: bool = True, num_classes: int | None = None,
                       aux_loss: bool | None = None,
                       weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                       **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 on a dilated ResNet-50 (output stride 8).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Other keywords are ignored,
    as in torchvision.

    Args:
        weights (DeepLabV3_ResNet50_Weights, optional): must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): output classes. Default: 21 (Pascal VOC).
        aux_loss (bool, optional): add an :class:`FCNHead` on ``layer3`` (output ``"aux"``).
        weights_backbone (ResNet50_Weights, optional): must be ``None`` here.

    Example:
        >>> model = deeplabv3_resnet50(weights_backbone=None, num_classes=2)
        >>> model.classifier[4].out_channels
        2
    """
    weights = DeepLabV3_ResNet50_Weights.verify(weights)
    num_classes, aux_loss = _resolve_weights("deeplabv3_resnet50", weights, num_classes,
                                             aux_loss, 21)
    backbone = _dilated_resnet(resnet50, "ResNet50_Weights", weights_backbone, progress)
    return _deeplabv3_resnet(backbone, num_classes, aux_loss)


def deeplabv3_resnet101(*, weights=None, progress: bool = True, num_classes: int | None = None,
                        aux_loss: bool | None = None,
                        weights_backbone=_WEIGHT_ENUMS["ResNet101_Weights"].IMAGENET1K_V1,
                        **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 on a dilated ResNet-101; arguments as for :func:`deeplabv3_resnet50`.

    Example:
        >>> model = deeplabv3_resnet101(weights_backbone=None, aux_loss=True)
        >>> model.aux_classifier[4].out_channels
        21
    """
    weights = DeepLabV3_ResNet101_Weights.verify(weights)
    num_classes, aux_loss = _resolve_weights("deeplabv3_resnet101", weights, num_classes,
                                             aux_loss, 21)
    backbone = _dilated_resnet(resnet101, "ResNet101_Weights", weights_backbone, progress)
    return _deeplabv3_resnet(backbone, num_classes, aux_loss)


def _dilated_mobilenet(weights_backbone, progress: bool) -> MobileNetV3:
    # the last stage trades its stride for dilation 2 (output stride 16)
    weights_backbone = _WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].verify(weights_backbone)
    return mobilenet_v3_large(weights=weights_backbone, progress=progress, dilated=True)


def deeplabv3_mobilenet_v3_large(
        *, weights=None, progress: bool = True, num_classes: int | None = None,
        aux_loss: bool | None = None,
        weights_backbone=_WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].IMAGENET1K_V1,
        **kwargs: Any) -> DeepLabV3:
    """DeepLabV3 on a dilated MobileNetV3-Large (its ``features``; the auxiliary head taps
    block 4, 40 channels). Arguments as for :func:`deeplabv3_resnet50`.

    Example:
        >>> model = deeplabv3_mobilenet_v3_large(weights_backbone=None, aux_loss=True)
        >>> model.backbone.return_layers
        {'16': 'out', '4': 'aux'}
    """
    weights = DeepLabV3_MobileNet_V3_Large_Weights.verify(weights)
    num_classes, aux_loss = _resolve_weights("deeplabv3_mobilenet_v3_large", weights,
                                             num_classes, aux_loss, 21)
    backbone = _dilated_mobilenet(weights_backbone, progress)
    return _deeplabv3_mobilenetv3(backbone, num_classes, aux_loss)
