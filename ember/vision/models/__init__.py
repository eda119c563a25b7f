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

from .swin_transformer import (  # noqa: E402
    SwinTransformer,
    swin_b,
    swin_s,
    swin_t,
    swin_v2_b,
    swin_v2_s,
    swin_v2_t,
)

__all__ += ["SwinTransformer", "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s",
            "swin_v2_b"]
from .maxvit import MaxVit, maxvit_t  # noqa: E402

__all__ += ["MaxVit", "maxvit_t"]

# the further variants of the families above, and MNASNet
from .convnext import convnext_base, convnext_large, convnext_small  # noqa: E402
from .densenet import densenet161, densenet169, densenet201  # noqa: E402
from .efficientnet import (  # noqa: E402
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
)
from .mnasnet import MNASNet, mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3  # noqa: E402
from .regnet import (  # noqa: E402
    regnet_x_1_6gf,
    regnet_x_3_2gf,
    regnet_x_8gf,
    regnet_x_16gf,
    regnet_x_32gf,
    regnet_x_400mf,
    regnet_x_800mf,
    regnet_y_1_6gf,
    regnet_y_3_2gf,
    regnet_y_8gf,
    regnet_y_16gf,
    regnet_y_32gf,
    regnet_y_128gf,
    regnet_y_800mf,
)
from .resnet import resnext101_32x8d, resnext101_64x4d, wide_resnet101_2  # noqa: E402
from .shufflenetv2 import shufflenet_v2_x1_5, shufflenet_v2_x2_0  # noqa: E402
from .vision_transformer import vit_b_32, vit_h_14, vit_l_16, vit_l_32  # noqa: E402

__all__ += ["convnext_small", "convnext_base", "convnext_large", "densenet161", "densenet169",
            "densenet201", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
            "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "MNASNet", "mnasnet0_5",
            "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "regnet_x_400mf", "regnet_x_800mf",
            "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
            "regnet_x_32gf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf",
            "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf",
            "resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2", "shufflenet_v2_x1_5",
            "shufflenet_v2_x2_0", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"]

# GoogLeNet, Inception v3 and EfficientNetV2
from .efficientnet import efficientnet_v2_l, efficientnet_v2_m, efficientnet_v2_s  # noqa: E402
from .googlenet import GoogLeNet, GoogLeNetOutputs, _GoogLeNetOutputs, googlenet  # noqa: E402
from .inception import (  # noqa: E402
    Inception3,
    InceptionOutputs,
    _InceptionOutputs,
    inception_v3,
)

__all__ += ["GoogLeNet", "GoogLeNetOutputs", "_GoogLeNetOutputs", "googlenet", "Inception3",
            "InceptionOutputs", "_InceptionOutputs", "inception_v3", "efficientnet_v2_s",
            "efficientnet_v2_m", "efficientnet_v2_l"]

# the ``<Model>_Weights`` enums (``ResNet18_Weights``, ...): names and addresses only
globals().update(_WEIGHT_ENUMS)
# the semantic segmentation package (``models.segmentation.<builder>``), as torchvision's
from . import segmentation  # noqa: E402, F401

__all__ += ["Weights", "WeightsEnum", "get_model_weights", "get_weight", *_WEIGHT_ENUMS]

# torchvision.models imports its subpackages too: models.detection, models.optical_flow,
# models.quantization (the quantizable classifiers) and models.video
from . import detection, optical_flow, quantization, video  # noqa: E402, F401
