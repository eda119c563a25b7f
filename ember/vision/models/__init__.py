"""Model architectures, mirroring ``torchvision.models`` (names, arguments, state_dict keys).

Pretrained weights cannot be downloaded; load a saved ``state_dict`` instead (files written by
``torch.save(model.state_dict(), path)`` for the torchvision model load unchanged).

Example:
    >>> from ember.vision import models
    >>> model = models.resnet18(num_classes=10)
    >>> model.load_state_dict(ember.load("resnet18.pth"))
"""

from ._api import (
    _WEIGHT_ENUMS,
    Weights,
    WeightsEnum,
    get_model,
    get_model_builder,
    get_model_weights,
    get_weight,
    list_models,
)
from ._utils import Conv2dNormActivation
from .convnext import ConvNeXt, convnext_tiny
from .densenet import DenseNet, densenet121
from .efficientnet import EfficientNet, efficientnet_b0, efficientnet_b1
from .lenet import LeNet, lenet
from .mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2
from .mobilenetv3 import MobileNetV3, mobilenet_v3_large, mobilenet_v3_small
from .regnet import RegNet, regnet_y_400mf
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    wide_resnet50_2,
)
from .shufflenetv2 import ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0
from .squeezenet import Fire, SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import (
    VGG,
    AlexNet,
    alexnet,
    make_layers,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
from .vision_transformer import VisionTransformer, vit_b_16

__all__ = ["Conv2dNormActivation", "LeNet", "lenet", "InvertedResidual", "MobileNetV2",
           "mobilenet_v2", "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34",
           "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "VGG",
           "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn", "AlexNet", "alexnet", "get_model", "get_model_builder", "list_models",
           "SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1", "ShuffleNetV2",
           "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "MobileNetV3", "mobilenet_v3_small",
           "mobilenet_v3_large", "DenseNet", "densenet121", "EfficientNet", "efficientnet_b0",
           "efficientnet_b1", "ConvNeXt", "convnext_tiny",
           "VisionTransformer", "vit_b_16", "RegNet", "regnet_y_400mf"]

# the ``<Model>_Weights`` enums (``ResNet18_Weights``, ...): names and addresses only
globals().update(_WEIGHT_ENUMS)
__all__ += ["Weights", "WeightsEnum", "get_model_weights", "get_weight", *_WEIGHT_ENUMS]

# torchvision.models imports its detection package too (``models.detection.<builder>``)
from . import detection  # noqa: E402, F401
