"""EfficientNet B0 / B1 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks", 2019), built module for module like ``torchvision.models.efficientnet``.

The network is a stack of MBConv blocks (inverted residuals with depthwise convolutions and
squeeze-and-excitation); the variants scale the B0 table's channels by ``width_mult`` and its
block counts by ``depth_mult``. State_dict keys equal torchvision's
(``features.1.0.block.1.fc1.weight``, ..., ``classifier.1.weight``). The V2 family (fused MBConv
blocks) is not provided.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ..ops.layers import SqueezeExcitation
from ..ops.regularization import StochasticDepth
from ._utils import Conv2dNormActivation, _make_divisible, _no_pretrained, init_mobile_weights

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "efficientnet_b0", "efficientnet_b1"]


@dataclass(init=False)
class MBConvConfig:
    """One row of the EfficientNet table: a stage of ``num_layers`` MBConv blocks.

    Channel counts are scaled by ``width_mult`` (rounded to multiples of 8) and the block count
    by ``depth_mult`` (rounded up) when the config is made; the stored values are the scaled
    ones. ``block`` is the block class (default :class:`MBConv`).

    Example:
        >>> cnf = MBConvConfig(6, 3, 2, 16, 24, 2, width_mult=1.1, depth_mult=1.2)
        >>> cnf.input_channels, cnf.out_channels, cnf.num_layers
        (16, 24, 3)
    """

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable[..., nn.Module]

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
        """``channels * width_mult`` rounded to a multiple of 8 (never 10% below it).

        Example:
            >>> MBConvConfig.adjust_channels(30, 1.1)
            32
        """
        return _make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        """``num_layers * depth_mult`` rounded up.

        Example:
            >>> MBConvConfig.adjust_depth(3, 1.1)
            4
        """
        return int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    """Mobile inverted bottleneck: optional 1x1 expansion (by ``cnf.expand_ratio``), depthwise
    ``cnf.kernel`` conv carrying the stride, squeeze-and-excitation, 1x1 projection without
    activation; SiLU activations. When input and output shapes agree the input is added back,
    after stochastic depth (rows dropped with probability ``stochastic_depth_prob`` in
    training).

    Example:
        >>> block = MBConv(MBConvConfig(6, 3, 1, 16, 16, 1), 0.0, nn.BatchNorm2d)
        >>> block(ember.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = SqueezeExcitation) -> None:
        super().__init__()
        if cnf.stride not in (1, 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels

        unit = partial(Conv2dNormActivation, norm_layer=norm_layer)
        wide = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if wide != cnf.input_channels:
            layers.append(unit(cnf.input_channels, wide, kernel_size=1,
                               activation_layer=nn.SiLU))
        layers.append(unit(wide, wide, kernel_size=cnf.kernel, stride=cnf.stride, groups=wide,
                           activation_layer=nn.SiLU))
        # the excitation's bottleneck is a quarter of the block's input, not of ``wide``
        layers.append(se_layer(wide, max(1, cnf.input_channels // 4),
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(unit(wide, cnf.out_channels, kernel_size=1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        out = self.block(input)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out += input
        return out


def _classifier_init(linear: nn.Linear) -> None:
    # EfficientNet's head: U(-r, r) with r = 1 / sqrt(out_features) (fan-out, not fan-in)
    bound = 1.0 / math.sqrt(linear.out_features)
    nn.init.uniform_(linear.weight, -bound, bound)


class EfficientNet(nn.Module):
    """An EfficientNet: a stride-2 3x3 stem, one ``Sequential`` of blocks per config row, a 1x1
    conv to ``last_channel`` (default 4x the last row's output), global average pooling,
    dropout and a linear classifier.

    Stochastic depth grows linearly over the blocks, from 0 for the first to
    ``stochastic_depth_prob * (n - 1) / n`` for the last of ``n``.

    Args:
        inverted_residual_setting (sequence of MBConvConfig): the stages.
        dropout (float): dropout probability before the classifier.
        stochastic_depth_prob (float): Default: 0.2.
        num_classes (int): Default: 1000.
        norm_layer (callable, optional): Default: ``nn.BatchNorm2d``.
        last_channel (int, optional): channels of the final 1x1 conv.

    Example:
        >>> setting = [MBConvConfig(1, 3, 1, 32, 16, 1), MBConvConfig(6, 3, 2, 16, 24, 2)]
        >>> model = EfficientNet(setting, dropout=0.2, num_classes=5)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 5])
    """

    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 last_channel: int | None = None) -> None:
        super().__init__()
        setting = inverted_residual_setting
        if not setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not isinstance(setting, Sequence) or \
                any(not isinstance(c, MBConvConfig) for c in setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer

        stem = Conv2dNormActivation(3, setting[0].input_channels, kernel_size=3, stride=2,
                                    norm_layer=norm_layer, activation_layer=nn.SiLU)
        stages: list[nn.Module] = [stem]
        total = sum(cnf.num_layers for cnf in setting)
        done = 0
        for cnf in setting:
            blocks = []
            for i in range(cnf.num_layers):
                own = copy.copy(cnf)
                if i > 0:  # only a stage's first block changes channels or resolution
                    own.input_channels, own.stride = own.out_channels, 1
                blocks.append(own.block(own, stochastic_depth_prob * float(done) / total,
                                        norm_layer))
                done += 1
            stages.append(nn.Sequential(*blocks))
        head_in = setting[-1].out_channels
        head_out = 4 * head_in if last_channel is None else last_channel
        stages.append(Conv2dNormActivation(head_in, head_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(head_out, num_classes))
        init_mobile_weights(self, _classifier_init)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


# EfficientNet-B0's table: expand ratio, kernel, stride, in / out channels, blocks
_B0_ROWS = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
            (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
            (6, 3, 1, 192, 320, 1)]


def _efficientnet(name: str, width_mult: float, depth_mult: float, dropout: float,
                  weights: Any, kwargs: dict[str, Any]) -> EfficientNet:
    _no_pretrained(name, weights, kwargs)
    rows = [MBConvConfig(*row, width_mult=width_mult, depth_mult=depth_mult)
            for row in _B0_ROWS]
    return EfficientNet(rows, kwargs.pop("dropout", dropout), **kwargs)


def efficientnet_b0(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B0 (width and depth multipliers 1.0, dropout 0.2).

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`EfficientNet` (``num_classes``, ``dropout``,
            ``stochastic_depth_prob``, ...).

    Example:
        >>> model = efficientnet_b0(num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _efficientnet("efficientnet_b0", 1.0, 1.0, 0.2, weights, kwargs)


def efficientnet_b1(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B1: B0's table with 1.1x the blocks (width 1.0, dropout 0.2); arguments
    as :func:`efficientnet_b0`.

    Example:
        >>> [len(stage) for stage in efficientnet_b1(num_classes=3).features[1:-1]]
        [2, 3, 3, 4, 4, 5, 2]
    """
    return _efficientnet("efficientnet_b1", 1.0, 1.1, 0.2, weights, kwargs)
