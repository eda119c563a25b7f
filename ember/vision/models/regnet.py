"""RegNet (Radosavovic et al., "Designing Network Design Spaces", 2020), built module for module
like ``torchvision.models.regnet``, with its RegNetX and RegNetY builders.

A RegNet is fixed by a few numbers: the per-block widths grow linearly (``w_0 + w_a * j``) and
are then snapped to a geometric grid (powers of ``w_m``), and runs of equal width form the
stages. :class:`BlockParams` does that arithmetic; :class:`RegNet` stacks the stages.
State_dict keys equal torchvision's (``stem.0.weight``,
``trunk_output.block1.block1-0.f.se.fc1.weight``, ..., ``fc.weight``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from itertools import groupby
from typing import Any

import numpy as np

from ... import flatten, nn
from ..._tensor import Tensor
from ..ops.layers import SqueezeExcitation
from ._utils import Conv2dNormActivation, _make_divisible, _no_pretrained

__all__ = ["RegNet", "BlockParams", "regnet_y_400mf", "regnet_x_400mf", "regnet_x_800mf",
           "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf",
           "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
           "regnet_y_32gf", "regnet_y_128gf"]


class SimpleStemIN(Conv2dNormActivation):
    """The RegNet stem: one stride-2 3x3 convolution, a norm and an activation.

    Example:
        >>> stem = SimpleStemIN(3, 32, nn.BatchNorm2d, nn.ReLU)
        >>> stem(ember.randn(1, 3, 16, 16)).shape
        torch.Size([1, 32, 8, 8])
    """

    def __init__(self, width_in: int, width_out: int, norm_layer: Callable[..., nn.Module],
                 activation_layer: Callable[..., nn.Module]) -> None:
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """The residual branch of a RegNet block, as named children ``a``, ``b``, ``se``, ``c``:
    1x1 conv to the bottleneck width, grouped 3x3 conv (carrying the stride), optional
    squeeze-and-excitation, then a 1x1 conv to ``width_out`` with no activation.

    The bottleneck width is ``round(width_out * bottleneck_multiplier)``, split into groups of
    ``group_width`` channels; the SE bottleneck has ``round(se_ratio * width_in)`` channels.

    Example:
        >>> f = BottleneckTransform(16, 32, 2, nn.BatchNorm2d, nn.ReLU, 8, 1.0, 0.25)
        >>> f(ember.randn(1, 16, 8, 8)).shape
        torch.Size([1, 32, 4, 4])
    """

    def __init__(self, width_in: int, width_out: int, stride: int,
                 norm_layer: Callable[..., nn.Module], activation_layer: Callable[..., nn.Module],
                 group_width: int, bottleneck_multiplier: float, se_ratio: float | None) -> None:
        inner = int(round(width_out * bottleneck_multiplier))
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer)
        parts: OrderedDict[str, nn.Module] = OrderedDict()
        parts["a"] = conv(width_in, inner, kernel_size=1, activation_layer=activation_layer)
        parts["b"] = conv(inner, inner, kernel_size=3, stride=stride,
                          groups=inner // group_width, activation_layer=activation_layer)
        if se_ratio:
            # the squeeze width follows the block's input, not the bottleneck
            parts["se"] = SqueezeExcitation(inner, int(round(se_ratio * width_in)),
                                            activation=activation_layer)
        parts["c"] = conv(inner, width_out, kernel_size=1, activation_layer=None)
        super().__init__(parts)


class ResBottleneckBlock(nn.Module):
    """A RegNet block: ``activation(shortcut(x) + f(x))``, where the shortcut is the identity,
    or a strided 1x1 conv + norm (``proj``) when the shape changes.

    Example:
        >>> block = ResBottleneckBlock(16, 32, 2, nn.BatchNorm2d, nn.ReLU, group_width=8)
        >>> block(ember.randn(1, 16, 8, 8)).shape
        torch.Size([1, 32, 4, 4])
    """

    def __init__(self, width_in: int, width_out: int, stride: int,
                 norm_layer: Callable[..., nn.Module], activation_layer: Callable[..., nn.Module],
                 group_width: int = 1, bottleneck_multiplier: float = 1.0,
                 se_ratio: float | None = None) -> None:
        super().__init__()
        self.proj = None
        if stride != 1 or width_in != width_out:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer,
                                     group_width, bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks of equal width; only the first changes width and resolution.
    Children are named ``block{stage_index}-{i}`` as in torchvision.

    Example:
        >>> stage = AnyStage(16, 32, 2, 2, ResBottleneckBlock, nn.BatchNorm2d, nn.ReLU, 8, 1.0,
        ...                  stage_index=1)
        >>> [name for name, _ in stage.named_children()]
        ['block1-0', 'block1-1']
    """

    def __init__(self, width_in: int, width_out: int, stride: int, depth: int,
                 block_constructor: Callable[..., nn.Module],
                 norm_layer: Callable[..., nn.Module], activation_layer: Callable[..., nn.Module],
                 group_width: int, bottleneck_multiplier: float, se_ratio: float | None = None,
                 stage_index: int = 0) -> None:
        super().__init__()
        for i in range(depth):
            first = i == 0
            block = block_constructor(width_in if first else width_out, width_out,
                                      stride if first else 1, norm_layer, activation_layer,
                                      group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """Per-stage settings of a RegNet: lists of equal length, one entry per stage.

    Args:
        depths (list of int): blocks per stage.
        widths (list of int): output channels per stage.
        group_widths (list of int): channels per group in the 3x3 convs.
        bottleneck_multipliers (list of float): bottleneck width / stage width.
        strides (list of int): stride of each stage's first block.
        se_ratio (float, optional): squeeze-and-excitation ratio (RegNetY); None for none.

    Example:
        >>> p = BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09,
        ...                                  group_width=8, se_ratio=0.25)
        >>> p.depths, p.widths
        ([1, 3, 6, 6], [48, 104, 208, 440])
    """

    def __init__(self, depths: list[int], widths: list[int], group_widths: list[int],
                 bottleneck_multipliers: list[float], strides: list[int],
                 se_ratio: float | None = None) -> None:
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                         bottleneck_multiplier: float = 1.0, se_ratio: float | None = None,
                         **kwargs: Any) -> BlockParams:
        """Derive the stages from the paper's design-space parameters: ``depth`` blocks with
        initial width ``w_0`` (a multiple of 8), slope ``w_a >= 0`` and width multiplier
        ``w_m > 1``. Extra keyword arguments are ignored (builders pass theirs through).

        Example:
            >>> BlockParams.from_init_params(depth=13, w_0=24, w_a=36.44, w_m=2.49,
            ...                              group_width=8).widths
            [24, 56, 152, 368]
        """
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        # float32 arithmetic as torchvision's tensors do: the rounding below can land on the
        # other side of .5 in float64 for some settings.
        f32 = np.float32
        linear = np.arange(depth, dtype=f32) * f32(w_a) + f32(w_0)
        steps = np.round(np.log(linear / f32(w_0)) / f32(math.log(w_m)))
        snapped = np.round(f32(w_0) * np.power(f32(w_m), steps) / f32(8)) * 8
        runs = [(int(w), len(list(run))) for w, run in groupby(snapped.astype(np.int64))]
        n = len(runs)
        widths, groups = cls._fit_groups([w for w, _ in runs], [bottleneck_multiplier] * n,
                                         [group_width] * n)
        return cls(depths=[d for _, d in runs], widths=widths, group_widths=groups,
                   bottleneck_multipliers=[bottleneck_multiplier] * n, strides=[2] * n,
                   se_ratio=se_ratio)

    def _get_expanded_params(self):
        """(width, stride, depth, group width, bottleneck multiplier) for each stage."""
        return zip(self.widths, self.strides, self.depths, self.group_widths,
                   self.bottleneck_multipliers)

    @staticmethod
    def _fit_groups(widths: list[int], multipliers: list[float],
                    group_widths: list[int]) -> tuple[list[int], list[int]]:
        # A group cannot be wider than the bottleneck, and the bottleneck must split into
        # whole groups: round it to a multiple of the group width, then map back to the
        # stage width.
        fitted_widths, fitted_groups = [], []
        for width, mult, group in zip(widths, multipliers, group_widths):
            inner = int(width * mult)
            group = min(group, inner)
            fitted_widths.append(int(_make_divisible(inner, group) / mult))
            fitted_groups.append(group)
        return fitted_widths, fitted_groups


class RegNet(nn.Module):
    """A RegNet: stem, the stages described by ``block_params`` (``trunk_output``), global
    average pooling and a linear classifier ``fc``.

    Args:
        block_params (BlockParams): the stages.
        num_classes (int): Default: 1000.
        stem_width (int): channels out of the stem. Default: 32.
        stem_type (callable, optional): Default: :class:`SimpleStemIN`.
        block_type (callable, optional): Default: :class:`ResBottleneckBlock`.
        norm_layer (callable, optional): Default: ``nn.BatchNorm2d`` (eps 1e-5, momentum 0.1).
        activation (callable, optional): Default: ``nn.ReLU``.

    Example:
        >>> params = BlockParams([1, 1], [16, 32], [8, 8], [1.0, 1.0], [2, 2], se_ratio=0.25)
        >>> RegNet(params, num_classes=4)(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 4])
    """

    def __init__(self, block_params: BlockParams, num_classes: int = 1000, stem_width: int = 32,
                 stem_type: Callable[..., nn.Module] | None = None,
                 block_type: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
        activation = activation or nn.ReLU
        self.stem = (stem_type or SimpleStemIN)(3, stem_width, norm_layer, activation)
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        width = stem_width
        for index, (width_out, stride, depth, group_width, mult) in enumerate(
                block_params._get_expanded_params(), start=1):
            stages[f"block{index}"] = AnyStage(
                width, width_out, stride, depth, block_type or ResBottleneckBlock, norm_layer,
                activation, group_width, mult, block_params.se_ratio, stage_index=index)
            width = width_out
        self.trunk_output = nn.Sequential(stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # He-normal with fan-out counted over all output channels (groups ignored); conv biases
        # (the SE layers') keep their defaults. Module order keeps torchvision's random stream.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (kh * kw * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(flatten(x, start_dim=1))


def regnet_y_400mf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-400MF: depth 16, ``w_0=48``, ``w_a=27.89``, ``w_m=2.09``, groups of 8 channels,
    squeeze-and-excitation ratio 0.25 (stages of 1, 3, 6, 6 blocks; 48 to 440 channels).

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`RegNet` (``num_classes``, ``norm_layer``, ...).

    Example:
        >>> model = regnet_y_400mf(num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    _no_pretrained("regnet_y_400mf", weights, kwargs)
    params = BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8,
                                          se_ratio=0.25, **kwargs)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return RegNet(params, **kwargs)


def _regnet(name: str, weights: Any, kwargs: dict[str, Any], **design: Any) -> RegNet:
    # ``design`` holds the paper's design-space numbers of one variant; the caller's keywords
    # reach both ``from_init_params`` (which ignores the ones it does not know) and RegNet
    _no_pretrained(name, weights, kwargs)
    params = BlockParams.from_init_params(**design, **kwargs)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return RegNet(params, **kwargs)


def regnet_x_400mf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-400MF: depth 22, ``w_0=24``, ``w_a=24.48``, ``w_m=2.54``, groups of 16 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=22, w_0=24, w_a=24.48, w_m=2.54,
        ...                              group_width=16).depths
        [1, 2, 7, 12]
    """
    return _regnet("regnet_x_400mf", weights, kwargs, depth=22, w_0=24, w_a=24.48, w_m=2.54,
                   group_width=16)


def regnet_x_800mf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-800MF: depth 16, ``w_0=56``, ``w_a=35.73``, ``w_m=2.28``, groups of 16 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=16, w_0=56, w_a=35.73, w_m=2.28,
        ...                              group_width=16).depths
        [1, 3, 7, 5]
    """
    return _regnet("regnet_x_800mf", weights, kwargs, depth=16, w_0=56, w_a=35.73, w_m=2.28,
                   group_width=16)


def regnet_x_1_6gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-1.6GF: depth 18, ``w_0=80``, ``w_a=34.01``, ``w_m=2.25``, groups of 24 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=18, w_0=80, w_a=34.01, w_m=2.25,
        ...                              group_width=24).depths
        [2, 4, 10, 2]
    """
    return _regnet("regnet_x_1_6gf", weights, kwargs, depth=18, w_0=80, w_a=34.01, w_m=2.25,
                   group_width=24)


def regnet_x_3_2gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-3.2GF: depth 25, ``w_0=88``, ``w_a=26.31``, ``w_m=2.25``, groups of 48 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=25, w_0=88, w_a=26.31, w_m=2.25,
        ...                              group_width=48).depths
        [2, 6, 15, 2]
    """
    return _regnet("regnet_x_3_2gf", weights, kwargs, depth=25, w_0=88, w_a=26.31, w_m=2.25,
                   group_width=48)


def regnet_x_8gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-8GF: depth 23, ``w_0=80``, ``w_a=49.56``, ``w_m=2.88``, groups of 120 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=23, w_0=80, w_a=49.56, w_m=2.88,
        ...                              group_width=120).depths
        [2, 5, 15, 1]
    """
    return _regnet("regnet_x_8gf", weights, kwargs, depth=23, w_0=80, w_a=49.56, w_m=2.88,
                   group_width=120)


def regnet_x_16gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-16GF: depth 22, ``w_0=216``, ``w_a=55.59``, ``w_m=2.1``, groups of 128 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=22, w_0=216, w_a=55.59, w_m=2.1,
        ...                              group_width=128).depths
        [2, 6, 13, 1]
    """
    return _regnet("regnet_x_16gf", weights, kwargs, depth=22, w_0=216, w_a=55.59, w_m=2.1,
                   group_width=128)


def regnet_x_32gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetX-32GF: depth 23, ``w_0=320``, ``w_a=69.86``, ``w_m=2.0``, groups of 168 channels,
    no squeeze-and-excitation. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=23, w_0=320, w_a=69.86, w_m=2.0,
        ...                              group_width=168).depths
        [2, 7, 13, 1]
    """
    return _regnet("regnet_x_32gf", weights, kwargs, depth=23, w_0=320, w_a=69.86, w_m=2.0,
                   group_width=168)


def regnet_y_800mf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-800MF: depth 14, ``w_0=56``, ``w_a=38.84``, ``w_m=2.4``, groups of 16 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=14, w_0=56, w_a=38.84, w_m=2.4,
        ...                              group_width=16).depths
        [1, 3, 8, 2]
    """
    return _regnet("regnet_y_800mf", weights, kwargs, depth=14, w_0=56, w_a=38.84, w_m=2.4,
                   group_width=16, se_ratio=0.25)


def regnet_y_1_6gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-1.6GF: depth 27, ``w_0=48``, ``w_a=20.71``, ``w_m=2.65``, groups of 24 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=27, w_0=48, w_a=20.71, w_m=2.65,
        ...                              group_width=24).depths
        [2, 6, 17, 2]
    """
    return _regnet("regnet_y_1_6gf", weights, kwargs, depth=27, w_0=48, w_a=20.71, w_m=2.65,
                   group_width=24, se_ratio=0.25)


def regnet_y_3_2gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-3.2GF: depth 21, ``w_0=80``, ``w_a=42.63``, ``w_m=2.66``, groups of 24 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=21, w_0=80, w_a=42.63, w_m=2.66,
        ...                              group_width=24).depths
        [2, 5, 13, 1]
    """
    return _regnet("regnet_y_3_2gf", weights, kwargs, depth=21, w_0=80, w_a=42.63, w_m=2.66,
                   group_width=24, se_ratio=0.25)


def regnet_y_8gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-8GF: depth 17, ``w_0=192``, ``w_a=76.82``, ``w_m=2.19``, groups of 56 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=17, w_0=192, w_a=76.82, w_m=2.19,
        ...                              group_width=56).depths
        [2, 4, 10, 1]
    """
    return _regnet("regnet_y_8gf", weights, kwargs, depth=17, w_0=192, w_a=76.82, w_m=2.19,
                   group_width=56, se_ratio=0.25)


def regnet_y_16gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-16GF: depth 18, ``w_0=200``, ``w_a=106.23``, ``w_m=2.48``, groups of 112 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=18, w_0=200, w_a=106.23, w_m=2.48,
        ...                              group_width=112).depths
        [2, 4, 11, 1]
    """
    return _regnet("regnet_y_16gf", weights, kwargs, depth=18, w_0=200, w_a=106.23, w_m=2.48,
                   group_width=112, se_ratio=0.25)


def regnet_y_32gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-32GF: depth 20, ``w_0=232``, ``w_a=115.89``, ``w_m=2.53``, groups of 232 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=20, w_0=232, w_a=115.89, w_m=2.53,
        ...                              group_width=232).depths
        [2, 5, 12, 1]
    """
    return _regnet("regnet_y_32gf", weights, kwargs, depth=20, w_0=232, w_a=115.89, w_m=2.53,
                   group_width=232, se_ratio=0.25)


def regnet_y_128gf(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> RegNet:
    """RegNetY-128GF: depth 27, ``w_0=456``, ``w_a=160.83``, ``w_m=2.52``, groups of 264 channels,
    squeeze-and-excitation ratio 0.25. Arguments as :func:`regnet_y_400mf`.

    Example:
        >>> BlockParams.from_init_params(depth=27, w_0=456, w_a=160.83, w_m=2.52,
        ...                              group_width=264).depths
        [2, 7, 17, 1]
    """
    return _regnet("regnet_y_128gf", weights, kwargs, depth=27, w_0=456, w_a=160.83, w_m=2.52,
                   group_width=264, se_ratio=0.25)
