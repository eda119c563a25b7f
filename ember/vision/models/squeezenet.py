"""SqueezeNet 1.0 / 1.1 (Iandola et al., 2016), module for module as torchvision builds it.

State_dict keys equal torchvision's (``features.3.squeeze.weight``, ...,
``classifier.1.weight``), so torchvision checkpoints load unchanged.
"""

from __future__ import annotations

from typing import Any

from ... import cat, flatten, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """A 1x1 "squeeze" conv, then 1x1 and 3x3 "expand" convs whose outputs are concatenated.

    Example:
        >>> Fire(96, 16, 64, 64)(ember.randn(1, 96, 8, 8)).shape
        torch.Size([1, 128, 8, 8])
    """

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)),
                    self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet; ``version`` is ``"1_0"`` or ``"1_1"`` (fewer FLOPs, same accuracy).

    The classifier is a 1x1 conv to ``num_classes`` channels, ReLU, and global average pooling.

    Example:
        >>> SqueezeNet("1_1", num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """

    def __init__(self, version: str = "1_0", num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")

        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        # re-drawn in module order after construction, so the random stream matches torchvision
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.classifier(x)
        return flatten(x, 1)


def _squeezenet(version: str, name: str, weights: Any, kwargs: dict) -> SqueezeNet:
    _no_pretrained(name, weights, kwargs)
    return SqueezeNet(version, **kwargs)


def squeezenet1_0(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0. ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> ember.vision.models.squeezenet1_0(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _squeezenet("1_0", "squeezenet1_0", weights, kwargs)


def squeezenet1_1(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1. ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> ember.vision.models.squeezenet1_1(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _squeezenet("1_1", "squeezenet1_1", weights, kwargs)
