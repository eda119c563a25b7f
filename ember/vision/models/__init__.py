"""Model architectures, mirroring ``torchvision.models`` (names, arguments, state_dict keys).

Pretrained weights cannot be downloaded; load a saved ``state_dict`` instead (files written by
``torch.save(model.state_dict(), path)`` for the torchvision model load unchanged).

Example:
    >>> from ember.vision import models
    >>> model = models.resnet18(num_classes=10)
    >>> model.load_state_dict(ember.load("resnet18.pth"))
"""

from ._api import get_model, get_model_builder
from ._utils import Conv2dNormActivation
from .lenet import LeNet, lenet
from .mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2
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

__all__ = ["Conv2dNormActivation", "LeNet", "lenet", "InvertedResidual", "MobileNetV2",
           "mobilenet_v2", "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34",
           "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "VGG",
           "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn", "AlexNet", "alexnet", "get_model", "get_model_builder"]
