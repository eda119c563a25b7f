"""DenseNet (Huang et al., 2017) with torchvision's module names and nesting.

Inside a dense block every layer sees the concatenation of the block input and all earlier
layers' outputs, and adds ``growth_rate`` channels of its own; transitions between blocks
halve the channels and the resolution. State_dict keys equal torchvision's
(``features.denseblock1.denselayer1.norm1.weight`` ...), so its checkpoints load unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ... import cat, flatten, nn
from ..._tensor import Tensor
from ...utils.checkpoint import checkpoint
from ._utils import _no_pretrained

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]

_functional = nn.functional


class _DenseLayer(nn.Module):
    """Bottleneck layer: BN-ReLU-1x1 conv to ``bn_size * growth_rate`` channels, then
    BN-ReLU-3x3 conv to ``growth_rate`` channels, then dropout at ``drop_rate``.

    With ``memory_efficient`` the concatenation and the 1x1 stage are recomputed in backward
    (activation checkpointing) instead of being kept, which trades time for memory.
    """

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        narrow = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, narrow, 1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(narrow)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(narrow, growth_rate, 3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs: list[Tensor]) -> Tensor:
        """The bottleneck on the channel-wise concatenation of ``inputs``."""
        return self.conv1(self.relu1(self.norm1(cat(inputs, 1))))

    def any_requires_grad(self, input: list[Tensor]) -> bool:
        """Whether any of the feature maps takes part in autograd."""
        return any(t.requires_grad for t in input)

    def call_checkpoint_bottleneck(self, input: list[Tensor]) -> Tensor:
        """:meth:`bn_function` under activation checkpointing."""
        return checkpoint(lambda *maps: self.bn_function(list(maps)), *input,
                          use_reentrant=False)

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        maps = [input] if isinstance(input, Tensor) else input
        if self.memory_efficient and self.any_requires_grad(maps):
            squeezed = self.call_checkpoint_bottleneck(maps)
        else:
            squeezed = self.bn_function(maps)
        grown = self.conv2(self.relu2(self.norm2(squeezed)))
        if self.drop_rate > 0:
            grown = _functional.dropout(grown, p=self.drop_rate, training=self.training)
        return grown


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers (``denselayer1`` ...); the output concatenates the input
    with every layer's ``growth_rate`` new channels."""

    _version = 2

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        for index in range(num_layers):
            width = num_input_features + index * growth_rate
            self.add_module(f"denselayer{index + 1}",
                            _DenseLayer(width, growth_rate, bn_size, drop_rate,
                                        memory_efficient=memory_efficient))

    def forward(self, init_features: Tensor) -> Tensor:
        maps = [init_features]
        for layer in self.values():
            maps.append(layer(maps))
        return cat(maps, 1)


class _Transition(nn.Sequential):
    """Between blocks: BN-ReLU, a 1x1 conv to ``num_output_features``, 2x2 average pool."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(num_input_features)),
            ("relu", nn.ReLU(inplace=True)),
            ("conv", nn.Conv2d(num_input_features, num_output_features, 1, stride=1,
                               bias=False)),
            ("pool", nn.AvgPool2d(kernel_size=2, stride=2)),
        ]))


class DenseNet(nn.Module):
    """DenseNet-BC: a 7x7 stem, dense blocks of ``block_config`` layers joined by halving
    transitions, a final BatchNorm (all in ``features``), then ReLU, global average pool and
    a linear ``classifier``.

    ``growth_rate`` channels are added per layer, ``bn_size`` sets the bottleneck width
    (``bn_size * growth_rate``), ``drop_rate`` is the dropout after each layer, and
    ``memory_efficient`` checkpoints the bottlenecks (same values, less memory, slower).
    Convolutions start Kaiming-normal, BatchNorm at 1 and 0, the classifier's bias at 0.

    Example:
        >>> model = DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16,
        ...                  num_classes=3)
        >>> model(ember.randn(2, 3, 32, 32)).shape
        torch.Size([2, 3])
    """

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, int, int, int] = (
            6, 12, 24, 16), num_init_features: int = 64, bn_size: int = 4,
                 drop_rate: float = 0, num_classes: int = 1000,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        stem = OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ])
        self.features = nn.Sequential(stem)

        channels = num_init_features
        last = len(block_config) - 1
        for index, depth in enumerate(block_config):
            self.features.add_module(
                f"denseblock{index + 1}",
                _DenseBlock(depth, channels, bn_size=bn_size, growth_rate=growth_rate,
                            drop_rate=drop_rate, memory_efficient=memory_efficient))
            channels += depth * growth_rate
            if index < last:
                self.features.add_module(f"transition{index + 1}",
                                         _Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)

        # module order, so the Kaiming draws follow torchvision's random stream; the
        # classifier keeps its default weight
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                continue
            if isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
            if isinstance(module, (nn.BatchNorm2d, nn.Linear)):
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        maps = _functional.relu(self.features(x), inplace=True)
        pooled = _functional.adaptive_avg_pool2d(maps, (1, 1))
        return self.classifier(flatten(pooled, 1))


def densenet121(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-121: growth rate 32, blocks of (6, 12, 24, 16) layers, 64 stem channels.
    ``weights`` must be None (ember downloads nothing; load a saved state_dict with
    ``ember.load``).

    Example:
        >>> model = densenet121(num_classes=4)
        >>> model.classifier
        Linear(in_features=1024, out_features=4, bias=True)
    """
    _no_pretrained("densenet121", weights, kwargs)
    return DenseNet(32, (6, 12, 24, 16), 64, **kwargs)


def densenet161(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-161: growth rate 48, blocks of (6, 12, 36, 24) layers, 96 stem channels.
    Arguments as :func:`densenet121`.

    Example:
        >>> densenet161(num_classes=4).classifier
        Linear(in_features=2208, out_features=4, bias=True)
    """
    _no_pretrained("densenet161", weights, kwargs)
    return DenseNet(48, (6, 12, 36, 24), 96, **kwargs)


def densenet169(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-169: growth rate 32, blocks of (6, 12, 32, 32) layers, 64 stem channels.
    Arguments as :func:`densenet121`.

    Example:
        >>> densenet169(num_classes=4).classifier
        Linear(in_features=1664, out_features=4, bias=True)
    """
    _no_pretrained("densenet169", weights, kwargs)
    return DenseNet(32, (6, 12, 32, 32), 64, **kwargs)


def densenet201(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> DenseNet:
    """DenseNet-201: growth rate 32, blocks of (6, 12, 48, 32) layers, 64 stem channels.
    Arguments as :func:`densenet121`.

    Example:
        >>> densenet201(num_classes=4).classifier
        Linear(in_features=1920, out_features=4, bias=True)
    """
    _no_pretrained("densenet201", weights, kwargs)
    return DenseNet(32, (6, 12, 48, 32), 64, **kwargs)
