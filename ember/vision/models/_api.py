"""``get_model`` / ``get_model_builder``: build a model from its name, as torchvision's
training reference scripts do (``--model resnet18``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

from ... import nn


def _builders() -> dict[str, Callable[..., nn.Module]]:
    # torchvision's classification builders that ember provides (``lenet`` is ember's own and
    # not a torchvision model, so it is not reachable by name, as in torchvision)
    from . import (
        convnext,
        densenet,
        efficientnet,
        mobilenet,
        mobilenetv3,
        regnet,
        resnet,
        shufflenetv2,
        squeezenet,
        vgg,
        vision_transformer,
    )

    names = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
             "wide_resnet50_2", "mobilenet_v2", "alexnet", "vgg11", "vgg11_bn", "vgg13",
             "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "squeezenet1_0",
             "squeezenet1_1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "mobilenet_v3_small",
             "mobilenet_v3_large", "densenet121", "efficientnet_b0", "efficientnet_b1",
             "convnext_tiny", "vit_b_16", "regnet_y_400mf"]
    found = {}
    for module in (resnet, mobilenet, vgg, squeezenet, shufflenetv2, mobilenetv3, densenet,
                   efficientnet, convnext, vision_transformer, regnet):
        for name in names:
            if hasattr(module, name):
                found[name] = getattr(module, name)
    # the detection builders ember provides (torchvision's list_models(module=detection)
    # names more; those ember lacks are simply absent)
    from . import detection

    for name in _DETECTION_BUILDERS:
        if hasattr(detection, name):
            found[name] = getattr(detection, name)
    return found


_DETECTION_BUILDERS = ("fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
                       "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn",
                       "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2",
                       "fcos_resnet50_fpn")


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    """The builder function registered under ``name`` (case-insensitive).

    Example:
        >>> get_model_builder("resnet18") is resnet18
        True
    """
    name = name.lower()
    try:
        return _builders()[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> nn.Module:
    """Build the model registered under ``name`` (case-insensitive) with keyword ``config``.

    Example:
        >>> model = get_model("resnet18", weights=None, num_classes=3)
        >>> model.fc.out_features
        3
    """
    return get_model_builder(name)(**config)


def _patterns(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def list_models(module: ModuleType | None = None,
                include: str | Iterable[str] | None = None,
                exclude: str | Iterable[str] | None = None) -> list[str]:
    """The sorted names ``get_model`` accepts, optionally filtered.

    ``module`` keeps the builders defined in that module (or a module below it), as
    torchvision's ``list_models(module=torchvision.models.quantization)``; ``include`` keeps
    names matching any of its ``fnmatch`` patterns, then ``exclude`` drops names matching any
    of its patterns. ``module`` naming a torchvision subpackage ember lacks (quantization,
    ...) gives ``[]``.

    Example:
        >>> list_models(include="resnet*")
        ['resnet101', 'resnet152', 'resnet18', 'resnet34', 'resnet50']
        >>> list_models(include=["vgg1*", "alexnet"], exclude="*_bn")
        ['alexnet', 'vgg11', 'vgg13', 'vgg16', 'vgg19']
    """
    builders = _builders()
    names = set(builders)
    if module is not None:
        prefix = module.__name__
        # torchvision answers for its own module path; the alias maps it onto ember's
        if prefix.startswith("torchvision.models"):
            prefix = "ember.vision.models" + prefix[len("torchvision.models"):]
        names = {n for n in names
                 if builders[n].__module__ == prefix
                 or builders[n].__module__.startswith(prefix + ".")}
    include_p, exclude_p = _patterns(include), _patterns(exclude)
    if include_p:
        names = {n for n in names if any(fnmatch.fnmatch(n, p) for p in include_p)}
    if exclude_p:
        names = {n for n in names if not any(fnmatch.fnmatch(n, p) for p in exclude_p)}
    return sorted(names)


# ---------------------------------------------------------------------------------------------
# Weight enums. ember downloads nothing, so these carry torchvision's names and checkpoint
# addresses only: ``weights=None`` builds a model, ``get_state_dict`` says how to load a file.

@dataclass
class Weights:
    """A checkpoint's description: its download ``url``, its ``transforms`` and ``meta``.

    Example:
        >>> ResNet18_Weights.IMAGENET1K_V1.value.url.endswith("resnet18-f37072fd.pth")
        True
    """

    url: str
    transforms: Callable[..., Any] | None
    meta: dict[str, Any]

    def __eq__(self, other: object) -> bool:
        # compared by address so two enum members are aliases only when they name one file
        return isinstance(other, Weights) and self.url == other.url

    def __hash__(self) -> int:
        return hash(self.url)


def _no_transforms(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(
        "ember does not provide torchvision's preset inference transforms "
        "(weights.transforms()); compose ember.vision.transforms.Resize, CenterCrop, "
        "ToTensor and Normalize instead")


class WeightsEnum(Enum):
    """Base of the ``<Model>_Weights`` enums (``ResNet18_Weights.DEFAULT``, ...).

    Example:
        >>> ResNet50_Weights.DEFAULT
        ResNet50_Weights.IMAGENET1K_V2
        >>> ResNet50_Weights.verify("IMAGENET1K_V1")
        ResNet50_Weights.IMAGENET1K_V1
    """

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``None`` stays None; a member name (str) becomes the member; another enum's member
        raises ``TypeError``."""
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but "
                                f"received {obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """Always raises: ember downloads nothing. Load a saved file instead."""
        raise RuntimeError(
            f"{self!r}.get_state_dict(): ember does not download pretrained weights. Download "
            f"{self.url} yourself (or save one with torch.save(model.state_dict(), path)) and "
            f"load it with model.load_state_dict(ember.load(path)).")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    @property
    def transforms(self) -> Callable[..., Any]:
        return self.value.transforms


_URL = "https://download.pytorch.org/models/"
# builder -> (enum name, DEFAULT member, [(member, checkpoint file, num_params, min_size)]),
# as torchvision 0.28 lists them
_WEIGHTS: dict[str, tuple[str, str, list[tuple[str, str, int, int]]]] = {
    "alexnet": ("AlexNet_Weights", "IMAGENET1K_V1",
                [("IMAGENET1K_V1", "alexnet-owt-7be5be79.pth", 61100840, 63)]),
    "convnext_tiny": ("ConvNeXt_Tiny_Weights", "IMAGENET1K_V1",
                      [("IMAGENET1K_V1", "convnext_tiny-983f1562.pth", 28589128, 32)]),
    "densenet121": ("DenseNet121_Weights", "IMAGENET1K_V1",
                    [("IMAGENET1K_V1", "densenet121-a639ec97.pth", 7978856, 29)]),
    "efficientnet_b0": ("EfficientNet_B0_Weights", "IMAGENET1K_V1",
                        [("IMAGENET1K_V1", "efficientnet_b0_rwightman-7f5810bc.pth", 5288548,
                          1)]),
    "efficientnet_b1": ("EfficientNet_B1_Weights", "IMAGENET1K_V2",
                        [("IMAGENET1K_V1", "efficientnet_b1_rwightman-bac287d4.pth", 7794184, 1),
                         ("IMAGENET1K_V2", "efficientnet_b1-c27df63c.pth", 7794184, 1)]),
    "mobilenet_v2": ("MobileNet_V2_Weights", "IMAGENET1K_V2",
                     [("IMAGENET1K_V1", "mobilenet_v2-b0353104.pth", 3504872, 1),
                      ("IMAGENET1K_V2", "mobilenet_v2-7ebf99e0.pth", 3504872, 1)]),
    "mobilenet_v3_large": ("MobileNet_V3_Large_Weights", "IMAGENET1K_V2",
                           [("IMAGENET1K_V1", "mobilenet_v3_large-8738ca79.pth", 5483032, 1),
                            ("IMAGENET1K_V2", "mobilenet_v3_large-5c1a4163.pth", 5483032, 1)]),
    "mobilenet_v3_small": ("MobileNet_V3_Small_Weights", "IMAGENET1K_V1",
                           [("IMAGENET1K_V1", "mobilenet_v3_small-047dcff4.pth", 2542856, 1)]),
    "regnet_y_400mf": ("RegNet_Y_400MF_Weights", "IMAGENET1K_V2",
                       [("IMAGENET1K_V1", "regnet_y_400mf-c65dace8.pth", 4344144, 1),
                        ("IMAGENET1K_V2", "regnet_y_400mf-e6988f5f.pth", 4344144, 1)]),
    "resnet101": ("ResNet101_Weights", "IMAGENET1K_V2",
                  [("IMAGENET1K_V1", "resnet101-63fe2227.pth", 44549160, 1),
                   ("IMAGENET1K_V2", "resnet101-cd907fc2.pth", 44549160, 1)]),
    "resnet152": ("ResNet152_Weights", "IMAGENET1K_V2",
                  [("IMAGENET1K_V1", "resnet152-394f9c45.pth", 60192808, 1),
                   ("IMAGENET1K_V2", "resnet152-f82ba261.pth", 60192808, 1)]),
    "resnet18": ("ResNet18_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "resnet18-f37072fd.pth", 11689512, 1)]),
    "resnet34": ("ResNet34_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "resnet34-b627a593.pth", 21797672, 1)]),
    "resnet50": ("ResNet50_Weights", "IMAGENET1K_V2",
                 [("IMAGENET1K_V1", "resnet50-0676ba61.pth", 25557032, 1),
                  ("IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 25557032, 1)]),
    "resnext50_32x4d": ("ResNeXt50_32X4D_Weights", "IMAGENET1K_V2",
                        [("IMAGENET1K_V1", "resnext50_32x4d-7cdf4587.pth", 25028904, 1),
                         ("IMAGENET1K_V2", "resnext50_32x4d-1a0047aa.pth", 25028904, 1)]),
    "shufflenet_v2_x0_5": ("ShuffleNet_V2_X0_5_Weights", "IMAGENET1K_V1",
                           [("IMAGENET1K_V1", "shufflenetv2_x0.5-f707e7126e.pth", 1366792, 1)]),
    "shufflenet_v2_x1_0": ("ShuffleNet_V2_X1_0_Weights", "IMAGENET1K_V1",
                           [("IMAGENET1K_V1", "shufflenetv2_x1-5666bf0f80.pth", 2278604, 1)]),
    "squeezenet1_0": ("SqueezeNet1_0_Weights", "IMAGENET1K_V1",
                      [("IMAGENET1K_V1", "squeezenet1_0-b66bff10.pth", 1248424, 21)]),
    "squeezenet1_1": ("SqueezeNet1_1_Weights", "IMAGENET1K_V1",
                      [("IMAGENET1K_V1", "squeezenet1_1-b8a52dc0.pth", 1235496, 17)]),
    "vgg11": ("VGG11_Weights", "IMAGENET1K_V1",
              [("IMAGENET1K_V1", "vgg11-8a719046.pth", 132863336, 32)]),
    "vgg11_bn": ("VGG11_BN_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "vgg11_bn-6002323d.pth", 132868840, 32)]),
    "vgg13": ("VGG13_Weights", "IMAGENET1K_V1",
              [("IMAGENET1K_V1", "vgg13-19584684.pth", 133047848, 32)]),
    "vgg13_bn": ("VGG13_BN_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "vgg13_bn-abd245e5.pth", 133053736, 32)]),
    "vgg16": ("VGG16_Weights", "IMAGENET1K_V1",
              [("IMAGENET1K_V1", "vgg16-397923af.pth", 138357544, 32),
               ("IMAGENET1K_FEATURES", "vgg16_features-amdegroot-88682ab5.pth", 138357544, 32)]),
    "vgg16_bn": ("VGG16_BN_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "vgg16_bn-6c64b313.pth", 138365992, 32)]),
    "vgg19": ("VGG19_Weights", "IMAGENET1K_V1",
              [("IMAGENET1K_V1", "vgg19-dcbb9e9d.pth", 143667240, 32)]),
    "vgg19_bn": ("VGG19_BN_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "vgg19_bn-c79401a0.pth", 143678248, 32)]),
    "vit_b_16": ("ViT_B_16_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "vit_b_16-c867db91.pth", 86567656, 224),
                  ("IMAGENET1K_SWAG_E2E_V1", "vit_b_16_swag-9ac1b537.pth", 86859496, 384),
                  ("IMAGENET1K_SWAG_LINEAR_V1", "vit_b_16_lc_swag-4e70ced5.pth", 86567656,
                   224)]),
    "wide_resnet50_2": ("Wide_ResNet50_2_Weights", "IMAGENET1K_V2",
                        [("IMAGENET1K_V1", "wide_resnet50_2-95faca4d.pth", 68883240, 1),
                         ("IMAGENET1K_V2", "wide_resnet50_2-9ba9bcbe.pth", 68883240, 1)]),
}


# detection checkpoints (COCO); their enums live in ``models.detection`` only, as in torchvision
_DETECTION_WEIGHTS: dict[str, tuple[str, str, list[tuple[str, str, int, int]]]] = {
    "fasterrcnn_resnet50_fpn": ("FasterRCNN_ResNet50_FPN_Weights", "COCO_V1",
                                [("COCO_V1", "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
                                  41755286, 1)]),
    "fasterrcnn_mobilenet_v3_large_fpn": (
        "FasterRCNN_MobileNet_V3_Large_FPN_Weights", "COCO_V1",
        [("COCO_V1", "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", 19386354, 1)]),
    "maskrcnn_resnet50_fpn": ("MaskRCNN_ResNet50_FPN_Weights", "COCO_V1",
                              [("COCO_V1", "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", 44401393,
                                1)]),
    "keypointrcnn_resnet50_fpn": ("KeypointRCNN_ResNet50_FPN_Weights", "COCO_V1",
                                  [("COCO_LEGACY", "keypointrcnn_resnet50_fpn_coco-9f466800.pth",
                                    59137258, 1),
                                   ("COCO_V1", "keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
                                    59137258, 1)]),
    "retinanet_resnet50_fpn": ("RetinaNet_ResNet50_FPN_Weights", "COCO_V1",
                               [("COCO_V1", "retinanet_resnet50_fpn_coco-eeacb38b.pth",
                                 34014999, 1)]),
    "retinanet_resnet50_fpn_v2": ("RetinaNet_ResNet50_FPN_V2_Weights", "COCO_V1",
                                  [("COCO_V1", "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth",
                                    38198935, 1)]),
    "fcos_resnet50_fpn": ("FCOS_ResNet50_FPN_Weights", "COCO_V1",
                          [("COCO_V1", "fcos_resnet50_fpn_coco-99b0c9b7.pth", 32269600, 1)]),
}


def _make_weight_enums(table=None) -> dict[str, type[WeightsEnum]]:
    enums = {}
    for enum_name, default, members in (_WEIGHTS if table is None else table).values():
        values = {name: Weights(_URL + file, _no_transforms,
                                {"num_params": n, "min_size": (size, size)})
                  for name, file, n, size in members}
        # an equal value makes DEFAULT an alias of that member, as in torchvision
        values["DEFAULT"] = values[default]
        enum = WeightsEnum(enum_name, list(values.items()))
        enum.__module__ = __name__
        enums[enum_name] = enum
    return enums


_WEIGHT_ENUMS = _make_weight_enums()
globals().update(_WEIGHT_ENUMS)
_DETECTION_WEIGHT_ENUMS = _make_weight_enums(_DETECTION_WEIGHTS)


def get_model_weights(name: Callable[..., nn.Module] | str) -> type[WeightsEnum]:
    """The weights enum of a builder, given by name or as the function.

    Example:
        >>> get_model_weights("resnet18")
        <enum 'ResNet18_Weights'>
    """
    if callable(name):
        name = name.__name__
    builder_name = name.lower()
    get_model_builder(builder_name)  # "Unknown model ..." for a name ember lacks
    if builder_name in _DETECTION_WEIGHTS:
        return _DETECTION_WEIGHT_ENUMS[_DETECTION_WEIGHTS[builder_name][0]]
    return _WEIGHT_ENUMS[_WEIGHTS[builder_name][0]]


def get_weight(name: str) -> WeightsEnum:
    """A weights enum member from its full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``.

    Example:
        >>> get_weight("ResNet50_Weights.DEFAULT")
        ResNet50_Weights.IMAGENET1K_V2
    """
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    enums = {**_WEIGHT_ENUMS, **_DETECTION_WEIGHT_ENUMS}
    if enum_name not in enums:
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                         "retrieved.")
    return enums[enum_name][value_name]
