"""ShuffleNet V2 (Ma et al., 2018) with torchvision's module names.

A stem (``conv1``, ``maxpool``), three stages of shuffle units (``stage2`` .. ``stage4``), a
1x1 ``conv5`` and a linear ``fc`` on the spatially averaged features. State_dict keys equal
torchvision's (``stage2.0.branch1.0.weight`` ...), so its checkpoints load unchanged. The
layers keep PyTorch's default initialisation, as torchvision does for this family.
"""

from __future__ import annotations

from typing import Any

from ... import cat, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"]


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` equal groups: channel ``g * n + i`` (group ``g``,
    position ``i``) moves to ``i * groups + g``, so information crosses the two branches.

    Example:
        >>> channel_shuffle(ember.arange(6.0).reshape(1, 6, 1, 1), 2).flatten()
        tensor([0., 3., 1., 4., 2., 5.])
    """
    # written with size()/view() so that a traced graph (feature extraction) has the same
    # nodes as torchvision's: (n, c, h, w) -> (n, groups, c/groups, h, w) -> swap the two
    # channel axes -> fold back
    dims = x.size()
    n, c, h, w = dims[0], dims[1], dims[2], dims[3]
    split = x.view(n, groups, c // groups, h, w)
    return split.transpose(1, 2).contiguous().view(n, c, h, w)


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, *, depthwise: bool = False,
             relu: bool = True) -> list[nn.Module]:
    """A bias-free convolution and its BatchNorm, optionally followed by an in-place ReLU."""
    if depthwise:
        conv = InvertedResidual.depthwise_conv(cin, cout, kernel, stride, kernel // 2)
    else:
        conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
    tail: list[nn.Module] = [nn.ReLU(inplace=True)] if relu else []
    return [conv, nn.BatchNorm2d(cout), *tail]


class InvertedResidual(nn.Module):
    """One ShuffleNet V2 unit with ``oup`` output channels (half from each branch).

    With ``stride == 1`` the input is split in two channel halves: one passes through, the
    other goes through ``branch2`` (1x1, depthwise 3x3, 1x1). With ``stride > 1`` both
    branches see the whole input and downsample it: ``branch1`` (depthwise 3x3, 1x1) and
    ``branch2``. The halves are concatenated and channel-shuffled.

    Example:
        >>> InvertedResidual(24, 48, stride=2)(ember.randn(1, 24, 8, 8)).shape
        torch.Size([1, 48, 4, 4])
    """

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2, 3):
            raise ValueError("illegal stride value")
        self.stride = stride
        half = oup // 2
        if stride == 1 and inp != half << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             "values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if stride > 1:
            self.branch1 = nn.Sequential(*_conv_bn(inp, inp, 3, stride, depthwise=True,
                                                   relu=False),
                                         *_conv_bn(inp, half, 1))
        else:
            self.branch1 = nn.Sequential()  # no parameters, but keeps the attribute present
        branch2_in = inp if stride > 1 else half
        self.branch2 = nn.Sequential(*_conv_bn(branch2_in, half, 1),
                                     *_conv_bn(half, half, 3, stride, depthwise=True,
                                               relu=False),
                                     *_conv_bn(half, half, 1))

    @staticmethod
    def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       bias: bool = False) -> nn.Conv2d:
        """A convolution with one group per input channel (``groups=i``).

        Example:
            >>> InvertedResidual.depthwise_conv(4, 4, 3, padding=1).groups
            4
        """
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            # indexed, not unpacked: a traced Proxy cannot be iterated
            halves = x.chunk(2, dim=1)
            merged = cat((halves[0], self.branch2(halves[1])), dim=1)
        else:
            merged = cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(merged, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNet V2 from ``stages_repeats`` (units in stages 2-4) and
    ``stages_out_channels`` (channels of the stem, the three stages and ``conv5``).

    Example:
        >>> model = ShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 128], num_classes=4)
        >>> model(ember.randn(2, 3, 32, 32)).shape
        torch.Size([2, 4])
    """

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int],
                 num_classes: int = 1000, inverted_residual: Any = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels

        stem = stages_out_channels[0]
        self.conv1 = nn.Sequential(*_conv_bn(3, stem, 3, 2))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        channels = stem
        for index, (repeats, width) in enumerate(zip(stages_repeats, stages_out_channels[1:4])):
            # the first unit of a stage halves the resolution; the rest keep it
            units = [inverted_residual(channels, width, 2)]
            units += [inverted_residual(width, width, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{index + 2}", nn.Sequential(*units))
            channels = width

        last = stages_out_channels[-1]
        self.conv5 = nn.Sequential(*_conv_bn(channels, last, 1))
        self.fc = nn.Linear(last, num_classes)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x).mean([2, 3])  # global average pool
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


# builder -> (stage repeats, stage channels), the configurations of the paper's Table 5
_CONFIGS = {
    "shufflenet_v2_x0_5": ([4, 8, 4], [24, 48, 96, 192, 1024]),
    "shufflenet_v2_x1_0": ([4, 8, 4], [24, 116, 232, 464, 1024]),
    "shufflenet_v2_x1_5": ([4, 8, 4], [24, 176, 352, 704, 1024]),
    # the widest variant also doubles the final 1x1 convolution
    "shufflenet_v2_x2_0": ([4, 8, 4], [24, 244, 488, 976, 2048]),
}


def _shufflenetv2(name: str, weights: Any, kwargs: dict, *args: Any) -> ShuffleNetV2:
    _no_pretrained(name, weights, kwargs)
    return ShuffleNetV2(*(args or _CONFIGS[name]), **kwargs)


def shufflenet_v2_x0_5(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 0.5x output channels. ``weights`` must be None (ember downloads
    nothing; load a saved state_dict with ``ember.load``).

    Example:
        >>> shufflenet_v2_x0_5(num_classes=3)(ember.randn(2, 3, 64, 64)).shape
        torch.Size([2, 3])
    """
    return _shufflenetv2("shufflenet_v2_x0_5", weights, kwargs)


def shufflenet_v2_x1_0(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.0x output channels. ``weights`` must be None (load a saved
    state_dict with ``ember.load``).

    Example:
        >>> shufflenet_v2_x1_0(num_classes=3)(ember.randn(2, 3, 64, 64)).shape
        torch.Size([2, 3])
    """
    return _shufflenetv2("shufflenet_v2_x1_0", weights, kwargs)


def shufflenet_v2_x1_5(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.5x output channels (stages of 176, 352, 704). ``weights`` must be
    None (load a saved state_dict with ``ember.load``).

    Example:
        >>> shufflenet_v2_x1_5(num_classes=3).stage2[0].branch2[0]
        Conv2d(24, 88, kernel_size=(1, 1), stride=(1, 1), bias=False)
    """
    return _shufflenetv2("shufflenet_v2_x1_5", weights, kwargs)


def shufflenet_v2_x2_0(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet V2 with 2.0x output channels (stages of 244, 488, 976, then 2048 before the
    classifier). ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> shufflenet_v2_x2_0(num_classes=3).fc
        Linear(in_features=2048, out_features=3, bias=True)
    """
    return _shufflenetv2("shufflenet_v2_x2_0", weights, kwargs)
