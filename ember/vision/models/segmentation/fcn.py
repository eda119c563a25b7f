"""FCN (Long et al., "Fully Convolutional Networks for Semantic Segmentation") on a dilated
ResNet (torchvision.models.segmentation.fcn)."""

from __future__ import annotations

from typing import Any

from .... import nn
from .._api import _WEIGHT_ENUMS
from .._utils import IntermediateLayerGetter
from ..resnet import ResNet, resnet50, resnet101
from ._utils import _resolve_weights, _segmentation_enum, _SimpleSegmentationModel

__all__ = ["FCN", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "fcn_resnet50",
           "fcn_resnet101"]

FCN_ResNet50_Weights = _segmentation_enum("FCN_ResNet50_Weights", __name__)
FCN_ResNet101_Weights = _segmentation_enum("FCN_ResNet101_Weights", __name__)


class FCN(_SimpleSegmentationModel):
    """Fully convolutional segmentation: ``backbone`` gives an ordered dict with ``"out"``
    (and ``"aux"`` when ``aux_classifier`` is given); each head turns its map into class
    logits, upsampled bilinearly to the input size. The forward returns an ordered dict with
    ``"out"`` (and ``"aux"``), each ``Tensor[N, num_classes, H, W]``.

    Args:
        backbone (nn.Module): the feature extractor.
        classifier (nn.Module): the head on ``"out"``.
        aux_classifier (nn.Module, optional): the head on ``"aux"`` (a training aid).

    Example:
        >>> model = fcn_resnet50(weights_backbone=None, num_classes=3).eval()
        >>> model(ember.rand(1, 3, 32, 32))["out"].shape
        torch.Size([1, 3, 32, 32])
    """


class FCNHead(nn.Sequential):
    """FCN's head: a 3x3 conv to a quarter of ``in_channels`` with batch norm, ReLU and
    dropout 0.1, then a 1x1 conv to ``channels`` outputs.

    Example:
        >>> FCNHead(16, 5)(ember.rand(2, 16, 4, 4)).shape
        torch.Size([2, 5, 4, 4])
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        hidden = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(hidden, channels, 1),
        )


def _fcn_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> FCN:
    # C5 is the main map; C4 (1024 channels) feeds the auxiliary head
    layers = {"layer4": "out"}
    if aux:
        layers["layer3"] = "aux"
    body = IntermediateLayerGetter(backbone, return_layers=layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(body, FCNHead(2048, num_classes), aux_classifier)


def _dilated_resnet(build, enum_name: str, weights_backbone, progress: bool) -> ResNet:
    # the last two stages keep stride 8 overall, trading their stride for dilation
    weights_backbone = _WEIGHT_ENUMS[enum_name].verify(weights_backbone)
    return build(weights=weights_backbone, progress=progress,
                 replace_stride_with_dilation=[False, True, True])


def fcn_resnet50(*, weights=None, progress: bool = True, num_classes: int | None = None,
                 aux_loss: bool | None = None,
                 weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                 **kwargs: Any) -> FCN:
    """FCN on a dilated ResNet-50 (output stride 8).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Other keywords are ignored,
    as in torchvision.

    Args:
        weights (FCN_ResNet50_Weights, optional): must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): output classes. Default: 21 (Pascal VOC).
        aux_loss (bool, optional): add the auxiliary head on ``layer3`` (output ``"aux"``).
        weights_backbone (ResNet50_Weights, optional): must be ``None`` here.

    Example:
        >>> model = fcn_resnet50(weights_backbone=None, aux_loss=True).eval()
        >>> sorted(model(ember.rand(1, 3, 24, 24)))
        ['aux', 'out']
    """
    weights = FCN_ResNet50_Weights.verify(weights)
    num_classes, aux_loss = _resolve_weights("fcn_resnet50", weights, num_classes, aux_loss, 21)
    backbone = _dilated_resnet(resnet50, "ResNet50_Weights", weights_backbone, progress)
    return _fcn_resnet(backbone, num_classes, aux_loss)


def fcn_resnet101(*, weights=None, progress: bool = True, num_classes: int | None = None,
                  aux_loss: bool | None = None,
                  weights_backbone=_WEIGHT_ENUMS["ResNet101_Weights"].IMAGENET1K_V1,
                  **kwargs: Any) -> FCN:
    """FCN on a dilated ResNet-101; arguments as for :func:`fcn_resnet50`.

    Example:
        >>> model = fcn_resnet101(weights_backbone=None, num_classes=4)
        >>> model.classifier[4].out_channels
        4
    """
    weights = FCN_ResNet101_Weights.verify(weights)
    num_classes, aux_loss = _resolve_weights("fcn_resnet101", weights, num_classes, aux_loss,
                                             21)
    backbone = _dilated_resnet(resnet101, "ResNet101_Weights", weights_backbone, progress)
    return _fcn_resnet(backbone, num_classes, aux_loss)
