"""EfficientNet B0 / B1 (Tan & Le, 2019), module for module as torchvision builds it.

State_dict keys equal torchvision's (``features.1.0.block.1.fc1.weight``, ...,
``classifier.1.weight``), so torchvision checkpoints load unchanged. The V2 family (fused
MBConv blocks) is not provided.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ..ops.layers import SqueezeExcitation
from ..ops.regularization import StochasticDepth
from ._utils import Conv2dNormActivation, _make_divisible, _no_pretrained, init_mobile_weights

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "efficientnet_b0", "efficientnet_b1"]


class MBConvConfig:
    """One stage's settings: expansion, kernel, first stride, channels and block count,
    scaled by ``width_mult`` (channels, rounded to 8) and ``depth_mult`` (blocks, rounded up).

    Example:
        >>> MBConvConfig(6, 3, 2, 16, 24, 2, width_mult=1.0, depth_mult=1.1).num_layers
        3
    """

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, width_mult: float = 1.0,
                 depth_mult: float = 1.0, block: Callable[..., nn.Module] | None = None) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = self.adjust_depth(num_layers, depth_mult)
        self.block = MBConv if block is None else block

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-excitation and stochastic depth on the residual.

    Example:
        >>> cnf = MBConvConfig(6, 3, 2, 16, 24, 1)
        >>> MBConv(cnf, 0.0, nn.BatchNorm2d)(ember.randn(1, 16, 8, 8)).shape
        torch.Size([1, 24, 4, 4])
    """

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = SqueezeExcitation) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        activation_layer = nn.SiLU
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded_channels, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        # the squeeze width follows the block's input channels, not the expanded ones
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded_channels, squeeze_channels,
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result = result + input
        return result


def _uniform_linear(m) -> None:
    """EfficientNet's classifier initialisation: U(-1/sqrt(out), 1/sqrt(out))."""
    init_range = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -init_range, init_range)


class EfficientNet(nn.Module):
    """EfficientNet from a list of stage configs; the drop probability of stochastic depth
    grows linearly over the blocks up to ``stochastic_depth_prob``.

    Example:
        >>> model = ember.vision.models.efficientnet_b0(num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """

    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        layers: list[nn.Module] = []
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers.append(Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3,
                                           stride=2, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                # blocks after the first of a stage keep the resolution and channel count
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = (last_channel if last_channel is not None
                                    else 4 * lastconv_input_channels)
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))

        init_mobile_weights(self, _uniform_linear)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def _efficientnet_conf(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    bneck_conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    # expand ratio, kernel, stride, input channels, output channels, blocks
    return [
        bneck_conf(1, 3, 1, 32, 16, 1),
        bneck_conf(6, 3, 2, 16, 24, 2),
        bneck_conf(6, 5, 2, 24, 40, 2),
        bneck_conf(6, 3, 2, 40, 80, 3),
        bneck_conf(6, 5, 1, 80, 112, 3),
        bneck_conf(6, 5, 2, 112, 192, 4),
        bneck_conf(6, 3, 1, 192, 320, 1),
    ]


def _efficientnet(name: str, width_mult: float, depth_mult: float, dropout: float,
                  weights: Any, kwargs: dict) -> EfficientNet:
    _no_pretrained(name, weights, kwargs)
    dropout = kwargs.pop("dropout", dropout)
    return EfficientNet(_efficientnet_conf(width_mult, depth_mult), dropout, **kwargs)


def efficientnet_b0(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B0. ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> ember.vision.models.efficientnet_b0(num_classes=10).classifier[1].out_features
        10
    """
    return _efficientnet("efficientnet_b0", 1.0, 1.0, 0.2, weights, kwargs)


def efficientnet_b1(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B1 (depth x1.1). ``weights`` must be None.

    Example:
        >>> ember.vision.models.efficientnet_b1(num_classes=10).classifier[1].out_features
        10
    """
    return _efficientnet("efficientnet_b1", 1.0, 1.1, 0.2, weights, kwargs)
