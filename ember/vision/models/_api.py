"""``get_model`` / ``get_model_builder``: build a model from its name, as torchvision's
training reference scripts do (``--model resnet18``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from functools import partial
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
    # Swin Transformer v1/v2 (models.swin_transformer)
    from . import swin_transformer

    for name in _SWIN_BUILDERS:
        found[name] = getattr(swin_transformer, name)
    from .maxvit import maxvit_t

    found["maxvit_t"] = maxvit_t
    # the semantic segmentation builders (models.segmentation)
    from . import segmentation

    for name in _SEGMENTATION_WEIGHTS:
        found[name] = getattr(segmentation, name)
    # the further variants of the families above, and MNASNet (models.<family>.<builder>)
    import importlib

    for module_name, variant_names in _VARIANT_BUILDERS.items():
        module = importlib.import_module(f".{module_name}", __package__)
        for name in variant_names:
            found[name] = getattr(module, name)
    # GoogLeNet, Inception v3 (their modules' names are shadowed by the builders, as in
    # torchvision) and EfficientNetV2
    from .googlenet import googlenet
    from .inception import inception_v3

    found.update(googlenet=googlenet, inception_v3=inception_v3)
    for name in ("efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"):
        found[name] = getattr(efficientnet, name)
    # the video classification builders (models.video); names ember lacks are skipped
    from . import video

    for name in _VIDEO_BUILDERS:
        if hasattr(video, name):
            found[name] = getattr(video, name)
    # the optical flow builders (models.optical_flow.raft)
    from . import optical_flow

    for name in _OPTICAL_FLOW_BUILDERS:
        found[name] = getattr(optical_flow, name)
    # the quantizable classifiers, registered as "quantized_<builder>" (models.quantization)
    for name, builder in _quantized_builders().items():
        found["quantized_" + name] = builder
    return found


def _quantized_builders() -> dict[str, Callable[..., nn.Module]]:
    from . import quantization

    return {name: getattr(quantization, name) for name in _QUANTIZED_BUILDERS
            if hasattr(quantization, name)}


_QUANTIZED_BUILDERS = ("resnet18", "resnet50", "resnext101_32x8d", "resnext101_64x4d",
                       "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x0_5",
                       "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
                       "googlenet", "inception_v3")


_VIDEO_BUILDERS = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s",
                   "swin3d_t", "swin3d_s", "swin3d_b")


_OPTICAL_FLOW_BUILDERS = ("raft_large", "raft_small")


def _optical_flow_weight_enums() -> dict[str, type[WeightsEnum]]:
    # Raft_Large_Weights / Raft_Small_Weights live in models.optical_flow.raft
    from .optical_flow import raft

    return {"Raft_Large_Weights": raft.Raft_Large_Weights,
            "Raft_Small_Weights": raft.Raft_Small_Weights}


def _video_weight_enums() -> dict[str, type[WeightsEnum]]:
    # the video enums live in their own modules (models.video.<module>.<Enum>)
    from . import video

    return {k: v for k, v in vars(video).items()
            if isinstance(v, type) and issubclass(v, WeightsEnum) and v is not WeightsEnum}


_DETECTION_BUILDERS = ("fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
                       "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn",
                       "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2",
                       "fcos_resnet50_fpn")
# the v2 R-CNNs (conv + norm heads, "Benchmarking Detection Transfer Learning with ViTs")
_DETECTION_BUILDERS += ("fasterrcnn_resnet50_fpn_v2", "maskrcnn_resnet50_fpn_v2")
# the low-resolution (320 pixel) MobileNetV3 Faster R-CNN
_DETECTION_BUILDERS += ("fasterrcnn_mobilenet_v3_large_320_fpn",)
# SSD and SSDlite
_DETECTION_BUILDERS += ("ssd300_vgg16", "ssdlite320_mobilenet_v3_large")
# module -> the builders of the family variants (and MNASNet) it adds
_VARIANT_BUILDERS = {
    "convnext": ("convnext_small", "convnext_base", "convnext_large"),
    "densenet": ("densenet161", "densenet169", "densenet201"),
    "efficientnet": ("efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
                     "efficientnet_b6", "efficientnet_b7"),
    "regnet": ("regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
               "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_800mf",
               "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
               "regnet_y_32gf", "regnet_y_128gf"),
    "resnet": ("resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2"),
    "shufflenetv2": ("shufflenet_v2_x1_5", "shufflenet_v2_x2_0"),
    "vision_transformer": ("vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"),
    "mnasnet": ("mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"),
}


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
    of its patterns. ``module`` naming a torchvision subpackage ember lacks (optical_flow,
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

    def __init__(self, value: Weights) -> None:
        # each member takes its checkpoint's preset transform and label names from
        # _weights_meta (an alias such as DEFAULT shares its member's value)
        if value.transforms is _no_transforms:
            _attach_meta(f"{type(self).__name__}.{self._name_}", value)

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


def _preset_table() -> dict[str, tuple[str, ...]]:
    from . import _weights_meta

    global _PRESET_ROWS
    if _PRESET_ROWS is None:
        _PRESET_ROWS = {row.split()[0]: tuple(row.split()[1:])
                        for row in _weights_meta._PRESETS.strip().splitlines()}
    return _PRESET_ROWS


_PRESET_ROWS: dict[str, tuple[str, ...]] | None = None
_PRESET_CLASSES = {"C": "ImageClassification", "D": "ObjectDetection",
                   "S": "SemanticSegmentation", "V": "VideoClassification", "F": "OpticalFlow"}
_NORMS = {"swag": ((0.48235, 0.45882, 0.40784), (1 / 255,) * 3),
          "half": ((0.5,) * 3, (0.5,) * 3), "kin": ((0.45,) * 3, (0.225,) * 3),
          "imnet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}


def _categories(code: str) -> list[str] | None:
    from . import _weights_meta

    if code == "0":
        return None
    names = {"i": "_IMAGENET", "c": "_COCO", "p": "_COCO_PERSON", "k": "_KINETICS"}[code]
    return getattr(_weights_meta, names).split("|")


def _size(text: str):
    return [int(v) for v in text.split(",")] if "," in text else int(text)


def _attach_meta(key: str, value: Weights) -> None:
    """Give ``value`` its preset transform (a ``functools.partial`` of the preset class, as
    torchvision's ``weights.transforms`` is) and its ``meta["categories"]``."""
    row = _preset_table().get(key)
    if row is None:
        return
    kind, cats, crop, resize, *extra = row
    kwargs: dict[str, Any] = {}
    if crop != "-":
        kwargs["crop_size"] = _size(crop)
    if resize != "-":
        kwargs["resize_size"] = _size(resize)
    from ..transforms import _presets
    from ..transforms.functional import InterpolationMode

    for item in extra:
        if item.startswith("n="):
            kwargs["mean"], kwargs["std"] = _NORMS[item[2:]]
        else:
            kwargs["interpolation"] = InterpolationMode(item)
    value.transforms = partial(getattr(_presets, _PRESET_CLASSES[kind]), **kwargs)
    if cats == "v":  # (VOC: segmentation._utils fills it)
        return
    if cats != "-":
        value.meta.setdefault("categories", _categories(cats))
    if cats == "p":
        value.meta.setdefault("keypoint_names", [
            "nose", *(f"{side}_{part}" for part in ("eye", "ear", "shoulder", "elbow", "wrist",
                                                    "hip", "knee", "ankle")
                      for side in ("left", "right"))])


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
    "ssd300_vgg16": ("SSD300_VGG16_Weights", "COCO_V1",
                     [("COCO_V1", "ssd300_vgg16_coco-b556d3b4.pth", 35641826, 1)]),
    "ssdlite320_mobilenet_v3_large": (
        "SSDLite320_MobileNet_V3_Large_Weights", "COCO_V1",
        [("COCO_V1", "ssdlite320_mobilenet_v3_large_coco-a79551df.pth", 3440060, 1)]),
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


_SWIN_BUILDERS = ("swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b")
_WEIGHTS.update({
    "swin_t": ("Swin_T_Weights", "IMAGENET1K_V1",
               [("IMAGENET1K_V1", "swin_t-704ceda3.pth", 28288354, 224)]),
    "swin_s": ("Swin_S_Weights", "IMAGENET1K_V1",
               [("IMAGENET1K_V1", "swin_s-5e29d889.pth", 49606258, 224)]),
    "swin_b": ("Swin_B_Weights", "IMAGENET1K_V1",
               [("IMAGENET1K_V1", "swin_b-68c6b09e.pth", 87768224, 224)]),
    "swin_v2_t": ("Swin_V2_T_Weights", "IMAGENET1K_V1",
                  [("IMAGENET1K_V1", "swin_v2_t-b137f0e2.pth", 28351570, 256)]),
    "swin_v2_s": ("Swin_V2_S_Weights", "IMAGENET1K_V1",
                  [("IMAGENET1K_V1", "swin_v2_s-637d8ceb.pth", 49737442, 256)]),
    "swin_v2_b": ("Swin_V2_B_Weights", "IMAGENET1K_V1",
                  [("IMAGENET1K_V1", "swin_v2_b-781e5279.pth", 87930848, 256)]),
    "maxvit_t": ("MaxVit_T_Weights", "IMAGENET1K_V1",
                 [("IMAGENET1K_V1", "maxvit_t-bc5ab103.pth", 30919624, 224)]),
})
# the family variants' and MNASNet's checkpoints
_WEIGHTS.update({
    "convnext_small": ("ConvNeXt_Small_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "convnext_small-0c510722.pth", 50223688, 32)]),
    "convnext_base": ("ConvNeXt_Base_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "convnext_base-6075fbad.pth", 88591464, 32)]),
    "convnext_large": ("ConvNeXt_Large_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "convnext_large-ea097f82.pth", 197767336, 32)]),
    "densenet161": ("DenseNet161_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "densenet161-8d451a50.pth", 28681000, 29)]),
    "densenet169": ("DenseNet169_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "densenet169-b2777c0a.pth", 14149480, 29)]),
    "densenet201": ("DenseNet201_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "densenet201-c1103571.pth", 20013928, 29)]),
    "efficientnet_b2": ("EfficientNet_B2_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b2_rwightman-c35c1473.pth", 9109994, 1)]),
    "efficientnet_b3": ("EfficientNet_B3_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b3_rwightman-b3899882.pth", 12233232, 1)]),
    "efficientnet_b4": ("EfficientNet_B4_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b4_rwightman-23ab8bcd.pth", 19341616, 1)]),
    "efficientnet_b5": ("EfficientNet_B5_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b5_lukemelas-1a07897c.pth", 30389784, 1)]),
    "efficientnet_b6": ("EfficientNet_B6_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b6_lukemelas-24a108a5.pth", 43040704, 1)]),
    "efficientnet_b7": ("EfficientNet_B7_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "efficientnet_b7_lukemelas-c5b4e57e.pth", 66347960, 1)]),
    "regnet_x_400mf": ("RegNet_X_400MF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_400mf-adf1edd5.pth", 5495976, 1),
         ("IMAGENET1K_V2", "regnet_x_400mf-62229a5f.pth", 5495976, 1)]),
    "regnet_x_800mf": ("RegNet_X_800MF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_800mf-ad17e45c.pth", 7259656, 1),
         ("IMAGENET1K_V2", "regnet_x_800mf-94a99ebd.pth", 7259656, 1)]),
    "regnet_x_1_6gf": ("RegNet_X_1_6GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_1_6gf-e3633e7f.pth", 9190136, 1),
         ("IMAGENET1K_V2", "regnet_x_1_6gf-a12f2b72.pth", 9190136, 1)]),
    "regnet_x_3_2gf": ("RegNet_X_3_2GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_3_2gf-f342aeae.pth", 15296552, 1),
         ("IMAGENET1K_V2", "regnet_x_3_2gf-7071aa85.pth", 15296552, 1)]),
    "regnet_x_8gf": ("RegNet_X_8GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_8gf-03ceed89.pth", 39572648, 1),
         ("IMAGENET1K_V2", "regnet_x_8gf-2b70d774.pth", 39572648, 1)]),
    "regnet_x_16gf": ("RegNet_X_16GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_16gf-2007eb11.pth", 54278536, 1),
         ("IMAGENET1K_V2", "regnet_x_16gf-ba3796d7.pth", 54278536, 1)]),
    "regnet_x_32gf": ("RegNet_X_32GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_x_32gf-9d47f8d0.pth", 107811560, 1),
         ("IMAGENET1K_V2", "regnet_x_32gf-6eb8fdc6.pth", 107811560, 1)]),
    "regnet_y_800mf": ("RegNet_Y_800MF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_800mf-1b27b58c.pth", 6432512, 1),
         ("IMAGENET1K_V2", "regnet_y_800mf-58fc7688.pth", 6432512, 1)]),
    "regnet_y_1_6gf": ("RegNet_Y_1_6GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_1_6gf-b11a554e.pth", 11202430, 1),
         ("IMAGENET1K_V2", "regnet_y_1_6gf-0d7bc02a.pth", 11202430, 1)]),
    "regnet_y_3_2gf": ("RegNet_Y_3_2GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_3_2gf-b5a9779c.pth", 19436338, 1),
         ("IMAGENET1K_V2", "regnet_y_3_2gf-9180c971.pth", 19436338, 1)]),
    "regnet_y_8gf": ("RegNet_Y_8GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_8gf-d0d0e4a8.pth", 39381472, 1),
         ("IMAGENET1K_V2", "regnet_y_8gf-dc2b1b54.pth", 39381472, 1)]),
    "regnet_y_16gf": ("RegNet_Y_16GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_16gf-9e6ed7dd.pth", 83590140, 1),
         ("IMAGENET1K_V2", "regnet_y_16gf-3e4a00f9.pth", 83590140, 1),
         ("IMAGENET1K_SWAG_E2E_V1", "regnet_y_16gf_swag-43afe44d.pth", 83590140, 1),
         ("IMAGENET1K_SWAG_LINEAR_V1", "regnet_y_16gf_lc_swag-f3ec0043.pth", 83590140, 1)]),
    "regnet_y_32gf": ("RegNet_Y_32GF_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "regnet_y_32gf-4dee3f7a.pth", 145046770, 1),
         ("IMAGENET1K_V2", "regnet_y_32gf-8db6d4b5.pth", 145046770, 1),
         ("IMAGENET1K_SWAG_E2E_V1", "regnet_y_32gf_swag-04fdfa75.pth", 145046770, 1),
         ("IMAGENET1K_SWAG_LINEAR_V1", "regnet_y_32gf_lc_swag-e1583746.pth", 145046770, 1)]),
    "regnet_y_128gf": ("RegNet_Y_128GF_Weights", "IMAGENET1K_SWAG_E2E_V1",
        [("IMAGENET1K_SWAG_E2E_V1", "regnet_y_128gf_swag-c8ce3e52.pth", 644812894, 1),
         ("IMAGENET1K_SWAG_LINEAR_V1", "regnet_y_128gf_lc_swag-cbe8ce12.pth", 644812894, 1)]),
    "resnext101_32x8d": ("ResNeXt101_32X8D_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "resnext101_32x8d-8ba56ff5.pth", 88791336, 1),
         ("IMAGENET1K_V2", "resnext101_32x8d-110c445d.pth", 88791336, 1)]),
    "resnext101_64x4d": ("ResNeXt101_64X4D_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "resnext101_64x4d-173b62eb.pth", 83455272, 1)]),
    "wide_resnet101_2": ("Wide_ResNet101_2_Weights", "IMAGENET1K_V2",
        [("IMAGENET1K_V1", "wide_resnet101_2-32ee1156.pth", 126886696, 1),
         ("IMAGENET1K_V2", "wide_resnet101_2-d733dc28.pth", 126886696, 1)]),
    "shufflenet_v2_x1_5": ("ShuffleNet_V2_X1_5_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "shufflenetv2_x1_5-3c479a10.pth", 3503624, 1)]),
    "shufflenet_v2_x2_0": ("ShuffleNet_V2_X2_0_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "shufflenetv2_x2_0-8be3c8ee.pth", 7393996, 1)]),
    "vit_b_32": ("ViT_B_32_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "vit_b_32-d86f8d99.pth", 88224232, 224)]),
    "vit_l_16": ("ViT_L_16_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "vit_l_16-852ce7e3.pth", 304326632, 224),
         ("IMAGENET1K_SWAG_E2E_V1", "vit_l_16_swag-4f3808c9.pth", 305174504, 512),
         ("IMAGENET1K_SWAG_LINEAR_V1", "vit_l_16_lc_swag-4d563306.pth", 304326632, 224)]),
    "vit_l_32": ("ViT_L_32_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "vit_l_32-c7638314.pth", 306535400, 224)]),
    "vit_h_14": ("ViT_H_14_Weights", "IMAGENET1K_SWAG_E2E_V1",
        [("IMAGENET1K_SWAG_E2E_V1", "vit_h_14_swag-80465313.pth", 633470440, 518),
         ("IMAGENET1K_SWAG_LINEAR_V1", "vit_h_14_lc_swag-c1eb923e.pth", 632045800, 224)]),
    "mnasnet0_5": ("MNASNet0_5_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "mnasnet0.5_top1_67.823-3ffadce67e.pth", 2218512, 1)]),
    "mnasnet0_75": ("MNASNet0_75_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "mnasnet0_75-7090bc5f.pth", 3170208, 1)]),
    "mnasnet1_0": ("MNASNet1_0_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "mnasnet1.0_top1_73.512-f206786ef8.pth", 4383312, 1)]),
    "mnasnet1_3": ("MNASNet1_3_Weights", "IMAGENET1K_V1",
        [("IMAGENET1K_V1", "mnasnet1_3-a4c69d6f.pth", 6282256, 1)]),
})
# GoogLeNet, Inception v3 and EfficientNetV2
_WEIGHTS.update({
    "googlenet": ("GoogLeNet_Weights", "IMAGENET1K_V1",
                  [("IMAGENET1K_V1", "googlenet-1378be20.pth", 6624904, 15)]),
    "inception_v3": ("Inception_V3_Weights", "IMAGENET1K_V1",
                     [("IMAGENET1K_V1", "inception_v3_google-0cc3c7bd.pth", 27161264, 75)]),
    "efficientnet_v2_s": ("EfficientNet_V2_S_Weights", "IMAGENET1K_V1",
                          [("IMAGENET1K_V1", "efficientnet_v2_s-dd5fe13b.pth", 21458488, 33)]),
    "efficientnet_v2_m": ("EfficientNet_V2_M_Weights", "IMAGENET1K_V1",
                          [("IMAGENET1K_V1", "efficientnet_v2_m-dc08266a.pth", 54139356, 33)]),
    "efficientnet_v2_l": ("EfficientNet_V2_L_Weights", "IMAGENET1K_V1",
                          [("IMAGENET1K_V1", "efficientnet_v2_l-59c71312.pth", 118515272, 33)]),
})
_WEIGHT_ENUMS = _make_weight_enums()
globals().update(_WEIGHT_ENUMS)
_DETECTION_WEIGHTS.update({
    "fasterrcnn_resnet50_fpn_v2": ("FasterRCNN_ResNet50_FPN_V2_Weights", "COCO_V1",
                                   [("COCO_V1", "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
                                     43712278, 1)]),
    "maskrcnn_resnet50_fpn_v2": ("MaskRCNN_ResNet50_FPN_V2_Weights", "COCO_V1",
                                 [("COCO_V1", "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth",
                                   46359409, 1)]),
})
_DETECTION_WEIGHTS["fasterrcnn_mobilenet_v3_large_320_fpn"] = (
    "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "COCO_V1",
    [("COCO_V1", "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth", 19386354, 1)])
_DETECTION_WEIGHT_ENUMS = _make_weight_enums(_DETECTION_WEIGHTS)
# segmentation checkpoints (COCO images, Pascal VOC's 21 labels); the enums live in
# ``models.segmentation`` only, as in torchvision
_SEGMENTATION_WEIGHTS: dict[str, tuple[str, str, list[tuple[str, str, int, int]]]] = {
    "fcn_resnet50": ("FCN_ResNet50_Weights", "COCO_WITH_VOC_LABELS_V1",
                     [("COCO_WITH_VOC_LABELS_V1", "fcn_resnet50_coco-1167a1af.pth", 35322218,
                       1)]),
    "fcn_resnet101": ("FCN_ResNet101_Weights", "COCO_WITH_VOC_LABELS_V1",
                      [("COCO_WITH_VOC_LABELS_V1", "fcn_resnet101_coco-7ecb50ca.pth", 54314346,
                        1)]),
    "deeplabv3_resnet50": ("DeepLabV3_ResNet50_Weights", "COCO_WITH_VOC_LABELS_V1",
                           [("COCO_WITH_VOC_LABELS_V1", "deeplabv3_resnet50_coco-cd0a2569.pth",
                             42004074, 1)]),
    "deeplabv3_resnet101": ("DeepLabV3_ResNet101_Weights", "COCO_WITH_VOC_LABELS_V1",
                            [("COCO_WITH_VOC_LABELS_V1",
                              "deeplabv3_resnet101_coco-586e9e4e.pth", 60996202, 1)]),
    "deeplabv3_mobilenet_v3_large": (
        "DeepLabV3_MobileNet_V3_Large_Weights", "COCO_WITH_VOC_LABELS_V1",
        [("COCO_WITH_VOC_LABELS_V1", "deeplabv3_mobilenet_v3_large-fc3c493d.pth", 11029328,
          1)]),
    "lraspp_mobilenet_v3_large": (
        "LRASPP_MobileNet_V3_Large_Weights", "COCO_WITH_VOC_LABELS_V1",
        [("COCO_WITH_VOC_LABELS_V1", "lraspp_mobilenet_v3_large-d234d4ea.pth", 3221538, 1)]),
}
_SEGMENTATION_WEIGHT_ENUMS = _make_weight_enums(_SEGMENTATION_WEIGHTS)


def get_model_weights(name: Callable[..., nn.Module] | str) -> type[WeightsEnum]:
    """The weights enum of a builder, given by name or as the function.

    Example:
        >>> get_model_weights("resnet18")
        <enum 'ResNet18_Weights'>
    """
    if callable(name):
        # a quantizable builder shares its float twin's name: its module tells them apart
        quantized = ".quantization." in getattr(name, "__module__", "")
        name = ("quantized_" if quantized else "") + name.__name__
    builder_name = name.lower()
    if builder_name.startswith("quantized_"):
        get_model_builder(builder_name)
        return _quantized_weight_enum(builder_name[len("quantized_"):])
    get_model_builder(builder_name)  # "Unknown model ..." for a name ember lacks
    if builder_name in _DETECTION_WEIGHTS:
        return _DETECTION_WEIGHT_ENUMS[_DETECTION_WEIGHTS[builder_name][0]]
    if builder_name in _SEGMENTATION_WEIGHTS:
        return _SEGMENTATION_WEIGHT_ENUMS[_SEGMENTATION_WEIGHTS[builder_name][0]]
    if builder_name in _VIDEO_BUILDERS:
        # the builder's ``weights`` annotation names its enum ("R3D_18_Weights | None")
        import inspect
        import sys

        builder = get_model_builder(builder_name)
        annotation = inspect.signature(builder).parameters["weights"].annotation
        enum_name = str(getattr(annotation, "__name__", annotation)).split("|")[0].strip()
        return getattr(sys.modules[builder.__module__], enum_name)
    if builder_name in _OPTICAL_FLOW_BUILDERS:
        enum_name = {"raft_large": "Raft_Large_Weights", "raft_small": "Raft_Small_Weights"}
        return _optical_flow_weight_enums()[enum_name[builder_name]]
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
    enums.update(_SEGMENTATION_WEIGHT_ENUMS)
    enums.update(_video_weight_enums())
    enums.update(_optical_flow_weight_enums())
    enums.update({_quantized_weight_enum(n).__name__: _quantized_weight_enum(n)
                  for n in _quantized_builders()})
    if enum_name not in enums:
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                         "retrieved.")
    return enums[enum_name][value_name]


def _quantized_weight_enum(builder_name: str) -> type[WeightsEnum]:
    # the builder's ``weights`` annotation names its quantized enum first
    import inspect
    import sys

    builder = _quantized_builders()[builder_name]
    annotation = inspect.signature(builder).parameters["weights"].annotation
    enum_name = str(getattr(annotation, "__name__", annotation)).split("|")[0].strip()
    return getattr(sys.modules[builder.__module__], enum_name)
