"""Backbones for the detection models: a classification network cut into stages, with a
Feature Pyramid Network on top (torchvision.models.detection.backbone_utils)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

from .... import nn
from ...ops import layers as misc_nn_ops
from ...ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool
from .. import mobilenet, mobilenetv3, resnet
from .._utils import IntermediateLayerGetter

__all__ = ["BackboneWithFPN", "resnet_fpn_backbone", "mobilenet_backbone"]


class BackboneWithFPN(nn.Module):
    """A backbone's intermediate outputs fed through a Feature Pyramid Network.

    Args:
        backbone (nn.Module): the network to cut (its children are run in order).
        return_layers (Dict[str, str]): child name -> pyramid level name.
        in_channels_list (List[int]): channels of each returned output.
        out_channels (int): channels of every pyramid level (kept as ``self.out_channels``,
            which the detection heads read).
        extra_blocks (ExtraFPNBlock, optional): extra levels. Default: ``LastLevelMaxPool``.
        norm_layer (callable, optional): a norm in the FPN's blocks.

    Example:
        >>> body = BackboneWithFPN(resnet.resnet18(), {"layer3": "0", "layer4": "1"},
        ...                        [256, 512], 32)
        >>> {k: tuple(v.shape) for k, v in body(ember.rand(1, 3, 64, 64)).items()}
        {'0': (1, 32, 4, 4), '1': (1, 32, 2, 2), 'pool': (1, 32, 1, 1)}
    """

    def __init__(self, backbone: nn.Module, return_layers: dict[str, str],
                 in_channels_list: list[int], out_channels: int,
                 extra_blocks: ExtraFPNBlock | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        self.body = IntermediateLayerGetter(backbone, return_layers=return_layers)
        self.fpn = FeaturePyramidNetwork(in_channels_list=in_channels_list,
                                         out_channels=out_channels, extra_blocks=extra_blocks,
                                         norm_layer=norm_layer)
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


def _validate_trainable_layers(is_trained: bool, trainable_backbone_layers: int | None,
                               max_value: int, default_value: int) -> int:
    # without pretrained weights every layer trains: a request to freeze some is overruled
    if not is_trained:
        if trainable_backbone_layers is not None:
            warnings.warn("Changing trainable_backbone_layers has no effect if neither "
                          "pretrained nor pretrained_backbone have been set to True, falling "
                          f"back to trainable_backbone_layers={max_value} so that all layers "
                          "are trainable", stacklevel=3)
        trainable_backbone_layers = max_value
    if trainable_backbone_layers is None:
        trainable_backbone_layers = default_value
    if not 0 <= trainable_backbone_layers <= max_value:
        raise ValueError(f"Trainable backbone layers should be in the range [0,{max_value}], "
                         f"got {trainable_backbone_layers} ")
    return trainable_backbone_layers


def _resnet_fpn_extractor(backbone: resnet.ResNet, trainable_layers: int,
                          returned_layers: list[int] | None = None,
                          extra_blocks: ExtraFPNBlock | None = None,
                          norm_layer: Callable[..., nn.Module] | None = None) -> BackboneWithFPN:
    # the last ``trainable_layers`` stages train (all five also train the stem's norm)
    if not 0 <= trainable_layers <= 5:
        raise ValueError(f"Trainable layers should be in the range [0,5], got {trainable_layers}")
    trained = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        trained.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(prefix) for prefix in trained):
            parameter.requires_grad_(False)
    if returned_layers is None:
        returned_layers = [1, 2, 3, 4]
    if min(returned_layers) <= 0 or max(returned_layers) >= 5:
        raise ValueError(f"Each returned layer should be in the range [1,4]. Got {returned_layers}")
    return_layers = {f"layer{k}": str(v) for v, k in enumerate(returned_layers)}
    # stage i of a ResNet has (final channels / 8) * 2**(i - 1) channels
    stage2 = backbone.inplanes // 8
    in_channels_list = [stage2 * 2 ** (i - 1) for i in returned_layers]
    return BackboneWithFPN(backbone, return_layers, in_channels_list, 256,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


def resnet_fpn_backbone(*, backbone_name: str, weights, norm_layer: Callable[..., nn.Module]
                        = misc_nn_ops.FrozenBatchNorm2d, trainable_layers: int = 3,
                        returned_layers: list[int] | None = None,
                        extra_blocks: ExtraFPNBlock | None = None) -> BackboneWithFPN:
    """A ResNet (``backbone_name``, e.g. ``"resnet50"``) with an FPN of 256 channels on
    ``returned_layers`` (default: all four stages) and a max-pool level.

    Args:
        backbone_name (str): a builder of ``ember.vision.models.resnet``.
        weights: must be ``None`` (ember cannot download weights).
        norm_layer (callable): Default: ``FrozenBatchNorm2d``.
        trainable_layers (int): stages that train, from the last (0 to 5). Default: 3.
        returned_layers (List[int], optional): stages (1 to 4) fed to the FPN.
        extra_blocks (ExtraFPNBlock, optional): Default: ``LastLevelMaxPool``.

    Example:
        >>> body = resnet_fpn_backbone(backbone_name="resnet18", weights=None,
        ...                            returned_layers=[3, 4])
        >>> list(body(ember.rand(1, 3, 64, 64)))
        ['0', '1', 'pool']
    """
    backbone = getattr(resnet, backbone_name)(weights=weights, norm_layer=norm_layer)
    return _resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks)


def _mobilenet_extractor(backbone, fpn: bool, trainable_layers: int,
                         returned_layers: list[int] | None = None,
                         extra_blocks: ExtraFPNBlock | None = None,
                         norm_layer: Callable[..., nn.Module] | None = None) -> nn.Module:
    features = backbone.features
    # stages start at the stem, at every striding block, and end with the last layer
    stage_indices = [0] + [i for i, block in enumerate(features)
                           if getattr(block, "_is_cn", False)] + [len(features) - 1]
    num_stages = len(stage_indices)
    if trainable_layers < 0 or trainable_layers > num_stages:
        raise ValueError(f"Trainable layers should be in the range [0,{num_stages}], got "
                         f"{trainable_layers} ")
    frozen_until = len(features) if trainable_layers == 0 \
        else stage_indices[num_stages - trainable_layers]
    for block in features[:frozen_until]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    out_channels = 256
    if not fpn:
        head = nn.Sequential(features, nn.Conv2d(features[-1].out_channels, out_channels, 1))
        head.out_channels = out_channels
        return head
    if returned_layers is None:
        returned_layers = [num_stages - 2, num_stages - 1]
    if min(returned_layers) < 0 or max(returned_layers) >= num_stages:
        raise ValueError(f"Each returned layer should be in the range [0,{num_stages - 1}], got "
                         f"{returned_layers} ")
    return_layers = {f"{stage_indices[k]}": str(v) for v, k in enumerate(returned_layers)}
    in_channels_list = [features[stage_indices[i]].out_channels for i in returned_layers]
    return BackboneWithFPN(features, return_layers, in_channels_list, out_channels,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


def mobilenet_backbone(*, backbone_name: str, weights, fpn: bool,
                       norm_layer: Callable[..., nn.Module] = misc_nn_ops.FrozenBatchNorm2d,
                       trainable_layers: int = 2, returned_layers: list[int] | None = None,
                       extra_blocks: ExtraFPNBlock | None = None) -> nn.Module:
    """A MobileNetV3 (``"mobilenet_v3_large"`` or ``"mobilenet_v3_small"``) feature extractor:
    with ``fpn``, an FPN of 256 channels on the last two stages; without, one 1x1 conv to 256
    channels after the features.

    Example:
        >>> body = mobilenet_backbone(backbone_name="mobilenet_v3_small", weights=None,
        ...                           fpn=False)
        >>> tuple(body(ember.rand(1, 3, 64, 64)).shape)
        (1, 256, 2, 2)
    """
    # torchvision looks the name up in ``torchvision.models.mobilenet`` (V2 and V3 together)
    builder = getattr(mobilenetv3, backbone_name, None) or getattr(mobilenet, backbone_name)
    backbone = builder(weights=weights, norm_layer=norm_layer)
    return _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers, extra_blocks)
