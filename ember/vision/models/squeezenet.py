"""SqueezeNet 1.0 and 1.1 (Iandola et al., 2016) with torchvision's module layout.

The network is a stem convolution followed by "Fire" modules (a 1x1 squeeze, then parallel
1x1 and 3x3 expands whose outputs are concatenated); the classifier is a 1x1 convolution to
``num_classes`` maps averaged over space. Keys read ``features.3.squeeze.weight`` ...
``classifier.1.weight`` exactly as torchvision's, so its checkpoints load unchanged.
"""

from __future__ import annotations

from typing import Any

from ... import cat, flatten, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """Squeeze to ``squeeze_planes`` channels with a 1x1 convolution, then expand with a 1x1
    and a 3x3 (padded) convolution side by side; the output has
    ``expand1x1_planes + expand3x3_planes`` channels and the input's spatial size.

    Example:
        >>> Fire(32, 8, 16, 16)(ember.randn(1, 32, 9, 9)).shape
        torch.Size([1, 32, 9, 9])
    """

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        # registration order fixes both the state_dict order and the random-init order
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU(True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU(True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(True)

    def forward(self, x: Tensor) -> Tensor:
        s = self.squeeze_activation(self.squeeze(x))
        wide = self.expand1x1_activation(self.expand1x1(s))
        spatial = self.expand3x3_activation(self.expand3x3(s))
        return cat([wide, spatial], 1)


# Per version: the stem convolution (out channels, kernel size), then the body as a list where
# "M" is a 3x3/2 ceil-mode max pool and a tuple is a Fire(in, squeeze, expand1x1, expand3x3).
# 1.1 uses a smaller stem and pools earlier, for 2.4x less computation at the same accuracy.
_LAYOUTS: dict[str, tuple[tuple[int, int], list]] = {
    "1_0": ((96, 7), ["M", (96, 16, 64, 64), (128, 16, 64, 64), (128, 32, 128, 128), "M",
                      (256, 32, 128, 128), (256, 48, 192, 192), (384, 48, 192, 192),
                      (384, 64, 256, 256), "M", (512, 64, 256, 256)]),
    "1_1": ((64, 3), ["M", (64, 16, 64, 64), (128, 16, 64, 64), "M", (128, 32, 128, 128),
                      (256, 32, 128, 128), "M", (256, 48, 192, 192), (384, 48, 192, 192),
                      (384, 64, 256, 256), (512, 64, 256, 256)]),
}


def _feature_stack(version: str) -> nn.Sequential:
    if version not in _LAYOUTS:
        raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
    (stem_out, stem_k), body = _LAYOUTS[version]
    layers: list[nn.Module] = [nn.Conv2d(3, stem_out, kernel_size=stem_k, stride=2),
                               nn.ReLU(inplace=True)]
    for item in body:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True) if item == "M"
                      else Fire(*item))
    return nn.Sequential(*layers)


class SqueezeNet(nn.Module):
    """SqueezeNet ``version`` ``"1_0"`` or ``"1_1"``: ``features`` (stem and Fire modules),
    then ``classifier`` (dropout, 1x1 conv to ``num_classes``, ReLU, global average pool).

    Convolutions start Kaiming-uniform, except the final one, which starts N(0, 0.01);
    all biases start at zero.

    Example:
        >>> model = SqueezeNet("1_1", num_classes=5)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 5])
    """

    def __init__(self, version: str = "1_0", num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = _feature_stack(version)
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        # one pass in module order, so the draws follow torchvision's random stream
        for module in self.modules():
            if not isinstance(module, nn.Conv2d):
                continue
            if module is final_conv:
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
            else:
                nn.init.kaiming_uniform_(module.weight)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return flatten(self.classifier(self.features(x)), 1)


def _squeezenet(version: str, name: str, weights: Any, kwargs: dict) -> SqueezeNet:
    _no_pretrained(name, weights, kwargs)
    return SqueezeNet(version, **kwargs)


def squeezenet1_0(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0 as in the paper. ``weights`` must be None: ember downloads nothing, so
    load a saved state_dict with ``ember.load`` instead.

    Example:
        >>> squeezenet1_0(num_classes=3)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    return _squeezenet("1_0", "squeezenet1_0", weights, kwargs)


def squeezenet1_1(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1: the same accuracy as 1.0 with fewer parameters and less computation.
    ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> squeezenet1_1(num_classes=3)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    return _squeezenet("1_1", "squeezenet1_1", weights, kwargs)
