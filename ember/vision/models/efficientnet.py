"""EfficientNet B0 to B7 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks", 2019), built module for module like ``torchvision.models.efficientnet``.

The network is a stack of MBConv blocks (inverted residuals with depthwise convolutions and
squeeze-and-excitation); the variants scale the B0 table's channels by ``width_mult`` and its
block counts by ``depth_mult``. State_dict keys equal torchvision's
(``features.1.0.block.1.fc1.weight``, ..., ``classifier.1.weight``). The V2 family
(EfficientNetV2 S / M / L) starts with fused MBConv stages (:class:`FusedMBConv`).
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

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "efficientnet_b0", "efficientnet_b1",
           "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7"]


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
                any(not isinstance(c, (MBConvConfig, FusedMBConvConfig)) for c in setting):
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
                  weights: Any, kwargs: dict[str, Any], **fixed: Any) -> EfficientNet:
    _no_pretrained(name, weights, kwargs)
    rows = [MBConvConfig(*row, width_mult=width_mult, depth_mult=depth_mult)
            for row in _B0_ROWS]
    # ``fixed`` (B5-B7's norm layer) is not the caller's to change: a second value for it is
    # the TypeError of a keyword given twice
    return EfficientNet(rows, kwargs.pop("dropout", dropout), **fixed, **kwargs)


# B5-B7 were ported from TensorFlow checkpoints and keep TensorFlow's BatchNorm settings
_TF_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


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


def efficientnet_b2(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B2: width 1.1x, depth 1.2x, dropout 0.3; arguments as
    :func:`efficientnet_b0`.

    Example:
        >>> efficientnet_b2(num_classes=3).classifier[1]
        Linear(in_features=1408, out_features=3, bias=True)
    """
    return _efficientnet("efficientnet_b2", 1.1, 1.2, 0.3, weights, kwargs)


def efficientnet_b3(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B3: width 1.2x, depth 1.4x, dropout 0.3; arguments as
    :func:`efficientnet_b0`.

    Example:
        >>> efficientnet_b3(num_classes=3).classifier[1]
        Linear(in_features=1536, out_features=3, bias=True)
    """
    return _efficientnet("efficientnet_b3", 1.2, 1.4, 0.3, weights, kwargs)


def efficientnet_b4(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B4: width 1.4x, depth 1.8x, dropout 0.4; arguments as
    :func:`efficientnet_b0`.

    Example:
        >>> efficientnet_b4(num_classes=3).classifier[1]
        Linear(in_features=1792, out_features=3, bias=True)
    """
    return _efficientnet("efficientnet_b4", 1.4, 1.8, 0.4, weights, kwargs)


def efficientnet_b5(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B5: width 1.6x, depth 2.2x, dropout 0.4, BatchNorm with eps 1e-3 and
    momentum 0.01 (``norm_layer`` cannot be passed); otherwise as :func:`efficientnet_b0`.

    Example:
        >>> efficientnet_b5(num_classes=3).features[0][1].eps
        0.001
    """
    return _efficientnet("efficientnet_b5", 1.6, 2.2, 0.4, weights, kwargs, norm_layer=_TF_NORM)


def efficientnet_b6(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B6: width 1.8x, depth 2.6x, dropout 0.5, BatchNorm as
    :func:`efficientnet_b5`.

    Example:
        >>> efficientnet_b6(num_classes=3).classifier[1]
        Linear(in_features=2304, out_features=3, bias=True)
    """
    return _efficientnet("efficientnet_b6", 1.8, 2.6, 0.5, weights, kwargs, norm_layer=_TF_NORM)


def efficientnet_b7(*, weights: Any = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B7: width 2.0x, depth 3.1x, dropout 0.5, BatchNorm as
    :func:`efficientnet_b5`.

    Example:
        >>> efficientnet_b7(num_classes=3).classifier[1]
        Linear(in_features=2560, out_features=3, bias=True)
    """
    return _efficientnet("efficientnet_b7", 2.0, 3.1, 0.5, weights, kwargs, norm_layer=_TF_NORM)


# ---------------------------------------------------------------------------------------------
# EfficientNetV2 (Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", 2021)

__all__ += ["efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]


@dataclass(init=False)
class FusedMBConvConfig:
    """One fused-MBConv row of an EfficientNetV2 table: ``num_layers`` :class:`FusedMBConv`
    blocks. Unlike :class:`MBConvConfig` the channel and block counts are taken as given (the
    V2 tables are not scaled).

    Example:
        >>> cnf = FusedMBConvConfig(4, 3, 2, 24, 48, 4)
        >>> cnf.out_channels, cnf.block.__name__
        (48, 'FusedMBConv')
    """

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable[..., nn.Module]

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int,
                 block: Callable[..., nn.Module] | None = None) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.block = FusedMBConv if block is None else block

    adjust_channels = staticmethod(MBConvConfig.adjust_channels)


class FusedMBConv(nn.Module):
    """Fused MBConv: the expansion 1x1 and the depthwise conv of :class:`MBConv` merged into
    one full ``cnf.kernel`` conv carrying the stride (SiLU), followed by a 1x1 projection
    without activation; with ``expand_ratio`` 1 the single kxk conv maps straight to the
    output. No squeeze-and-excitation. The residual (after stochastic depth) is added when
    input and output shapes agree.

    Example:
        >>> block = FusedMBConv(FusedMBConvConfig(4, 3, 1, 16, 16, 1), 0.0, nn.BatchNorm2d)
        >>> [type(m).__name__ for m in block.block], block(ember.randn(2, 16, 8, 8)).shape
        (['Conv2dNormActivation', 'Conv2dNormActivation'], torch.Size([2, 16, 8, 8]))
    """

    def __init__(self, cnf: FusedMBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        if cnf.stride not in (1, 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels

        unit = partial(Conv2dNormActivation, norm_layer=norm_layer)
        wide = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        spatial_out = cnf.out_channels if wide == cnf.input_channels else wide
        layers: list[nn.Module] = [unit(cnf.input_channels, spatial_out,
                                        kernel_size=cnf.kernel, stride=cnf.stride,
                                        activation_layer=nn.SiLU)]
        if wide != cnf.input_channels:
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


# the V2 tables: leading fused rows, then MBConv rows (expand, kernel, stride, in, out, blocks)
_V2_ROWS = {
    "s": ([(1, 3, 1, 24, 24, 2), (4, 3, 2, 24, 48, 4), (4, 3, 2, 48, 64, 4)],
          [(4, 3, 2, 64, 128, 6), (6, 3, 1, 128, 160, 9), (6, 3, 2, 160, 256, 15)]),
    "m": ([(1, 3, 1, 24, 24, 3), (4, 3, 2, 24, 48, 5), (4, 3, 2, 48, 80, 5)],
          [(4, 3, 2, 80, 160, 7), (6, 3, 1, 160, 176, 14), (6, 3, 2, 176, 304, 18),
           (6, 3, 1, 304, 512, 5)]),
    "l": ([(1, 3, 1, 32, 32, 4), (4, 3, 2, 32, 64, 7), (4, 3, 2, 64, 96, 7)],
          [(4, 3, 2, 96, 192, 10), (6, 3, 1, 192, 224, 19), (6, 3, 2, 224, 384, 25),
           (6, 3, 1, 384, 640, 7)]),
}


def _efficientnet_v2(size: str, dropout: float, weights: Any,
                     kwargs: dict[str, Any]) -> EfficientNet:
    _no_pretrained(f"efficientnet_v2_{size}", weights, kwargs)
    fused, plain = _V2_ROWS[size]
    rows: list[Any] = [FusedMBConvConfig(*row) for row in fused]
    rows += [MBConvConfig(*row) for row in plain]
    # V2 fixes the head width and the norm (eps 1e-3); passing either again is the TypeError
    # of a keyword given twice, as in torchvision
    fixed = {"norm_layer": partial(nn.BatchNorm2d, eps=1e-03), "last_channel": 1280}
    return EfficientNet(rows, kwargs.pop("dropout", dropout), **fixed, **kwargs)


def efficientnet_v2_s(*, weights: Any = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-S: three fused-MBConv stages, three MBConv stages, a 1280-channel head,
    BatchNorm eps 1e-3 and dropout 0.2 (``norm_layer`` and ``last_channel`` cannot be
    passed).

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`EfficientNet` (``num_classes``, ``dropout``,
            ``stochastic_depth_prob``).

    Example:
        >>> model = efficientnet_v2_s(num_classes=10).eval()
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _efficientnet_v2("s", 0.2, weights, kwargs)


def efficientnet_v2_m(*, weights: Any = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-M: as :func:`efficientnet_v2_s` with the M table (seven stages) and
    dropout 0.3.

    Example:
        >>> efficientnet_v2_m(num_classes=3).classifier
        Sequential(
          (0): Dropout(p=0.3, inplace=True)
          (1): Linear(in_features=1280, out_features=3, bias=True)
        )
    """
    return _efficientnet_v2("m", 0.3, weights, kwargs)


def efficientnet_v2_l(*, weights: Any = None, progress: bool = True,
                      **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-L: as :func:`efficientnet_v2_s` with the L table (seven stages) and
    dropout 0.4.

    Example:
        >>> efficientnet_v2_l(num_classes=3).features[0][1].eps
        0.001
    """
    return _efficientnet_v2("l", 0.4, weights, kwargs)
