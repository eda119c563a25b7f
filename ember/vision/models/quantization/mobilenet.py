"""``models.quantization.mobilenet``: MobileNetV2 and V3 together, as torchvision lists them."""

from .mobilenetv2 import MobileNet_V2_QuantizedWeights, QuantizableMobileNetV2, mobilenet_v2
from .mobilenetv3 import (
    MobileNet_V3_Large_QuantizedWeights,
    QuantizableMobileNetV3,
    mobilenet_v3_large,
)

__all__ = ["QuantizableMobileNetV2", "MobileNet_V2_QuantizedWeights", "mobilenet_v2",
           "QuantizableMobileNetV3", "MobileNet_V3_Large_QuantizedWeights",
           "mobilenet_v3_large"]
