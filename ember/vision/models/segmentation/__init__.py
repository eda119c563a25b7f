"""Semantic segmentation models, mirroring ``torchvision.models.segmentation``: FCN,
DeepLabV3 and Lite R-ASPP with their builders and checkpoint enums (names and addresses only:
ember downloads nothing).

Example:
    >>> from ember.vision.models.segmentation import lraspp_mobilenet_v3_large
    >>> model = lraspp_mobilenet_v3_large(weights_backbone=None, num_classes=2).eval()
    >>> model(ember.rand(1, 3, 32, 32))["out"].shape
    torch.Size([1, 2, 32, 32])
"""

from . import deeplabv3, fcn, lraspp
from .deeplabv3 import (
    DeepLabV3,
    DeepLabV3_MobileNet_V3_Large_Weights,
    DeepLabV3_ResNet50_Weights,
    DeepLabV3_ResNet101_Weights,
    deeplabv3_mobilenet_v3_large,
    deeplabv3_resnet50,
    deeplabv3_resnet101,
)
from .fcn import FCN, FCN_ResNet50_Weights, FCN_ResNet101_Weights, fcn_resnet50, fcn_resnet101
from .lraspp import LRASPP, LRASPP_MobileNet_V3_Large_Weights, lraspp_mobilenet_v3_large

__all__ = ["DeepLabV3", "DeepLabV3_MobileNet_V3_Large_Weights", "DeepLabV3_ResNet101_Weights",
           "DeepLabV3_ResNet50_Weights", "FCN", "FCN_ResNet101_Weights", "FCN_ResNet50_Weights",
           "LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "deeplabv3",
           "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101", "deeplabv3_resnet50", "fcn",
           "fcn_resnet101", "fcn_resnet50", "lraspp", "lraspp_mobilenet_v3_large"]
