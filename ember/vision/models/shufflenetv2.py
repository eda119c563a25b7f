"""ShuffleNetV2 (Ma et al., 2018), module for module as torchvision builds it.

State_dict keys equal torchvision's (``conv1.0.weight``, ``stage2.0.branch1.0.weight``, ...,
``fc.weight``), so torchvision checkpoints load unchanged.
"""

from __future__ import annotations

from typing import Any

from ... import cat, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0"]


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` equal groups (so the branches mix next block)."""
    # indexed rather than unpacked, so the function also traces with ember.fx
    size = x.size()
    batch, channels, height, width = size[0], size[1], size[2], size[3]
    x = x.view(batch, groups, channels // groups, height, width)
    return x.transpose(1, 2).contiguous().view(batch, channels, height, width)


def _depthwise(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
               bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)


class InvertedResidual(nn.Module):
    """ShuffleNetV2 unit: split channels (stride 1) or run two branches (stride 2), then shuffle.

    Example:
        >>> InvertedResidual(24, 48, 2)(ember.randn(1, 24, 16, 16)).shape
        torch.Size([1, 48, 8, 8])
    """

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(f"Invalid combination of stride {stride}, inp {inp} and oup {oup} "
                             "values. If stride == 1 then inp should be equal to oup // 2 << 1.")
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            _depthwise(branch_features, branch_features, kernel_size=3, stride=self.stride,
                       padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            halves = x.chunk(2, dim=1)  # indexed, not unpacked: traceable with ember.fx
            x1, x2 = halves[0], halves[1]
            out = cat((x1, self.branch2(x2)), dim=1)
        else:
            out = cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 from per-stage repeats and output channels (5 entries: stem, 3 stages, conv5).

    Example:
        >>> model = ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int],
                 num_classes: int = 1000, inverted_residual: Any = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        input_channels = 3
        output_channels = self._stage_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True))
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, output_channels in zip(["stage2", "stage3", "stage4"], stages_repeats,
                                                  self._stage_out_channels[1:]):
            seq = [inverted_residual(input_channels, output_channels, 2)]
            for _ in range(repeats - 1):
                seq.append(inverted_residual(output_channels, output_channels, 1))
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels
        output_channels = self._stage_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True))
        self.fc = nn.Linear(output_channels, num_classes)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        x = x.mean([2, 3])  # global average pool
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def _shufflenetv2(name: str, weights: Any, kwargs: dict, *args: Any) -> ShuffleNetV2:
    _no_pretrained(name, weights, kwargs)
    return ShuffleNetV2(*args, **kwargs)


def shufflenet_v2_x0_5(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 0.5x output channels. ``weights`` must be None.

    Example:
        >>> ember.vision.models.shufflenet_v2_x0_5(num_classes=10).fc.out_features
        10
    """
    return _shufflenetv2("shufflenet_v2_x0_5", weights, kwargs, [4, 8, 4],
                         [24, 48, 96, 192, 1024])


def shufflenet_v2_x1_0(*, weights: Any = None, progress: bool = True,
                       **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNetV2 with 1.0x output channels. ``weights`` must be None.

    Example:
        >>> ember.vision.models.shufflenet_v2_x1_0(num_classes=10).fc.out_features
        10
    """
    return _shufflenetv2("shufflenet_v2_x1_0", weights, kwargs, [4, 8, 4],
                         [24, 116, 232, 464, 1024])
