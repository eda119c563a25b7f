"""VGG (Simonyan & Zisserman, 2014) and AlexNet (Krizhevsky, 2014's "one weird trick"
single-tower variant), laid out module for module as torchvision builds them.

State_dict keys equal torchvision's (``features.0.weight`` ... ``classifier.6.bias``), so its
checkpoints load unchanged.
"""

from __future__ import annotations

from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["VGG", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn", "AlexNet", "alexnet"]


def _block(widths: list[int]) -> list[str | int]:
    """Convolutions of the given widths followed by a 2x2 max pool ("M")."""
    return [*widths, "M"]


# The paper's configurations A (11 weight layers), B (13), D (16) and E (19): ints are 3x3
# convolution widths, "M" a max pool.
cfgs: dict[str, list[str | int]] = {
    "A": _block([64]) + _block([128]) + _block([256] * 2) + _block([512] * 2) * 2,
    "B": _block([64] * 2) + _block([128] * 2) + _block([256] * 2) + _block([512] * 2) * 2,
    "D": _block([64] * 2) + _block([128] * 2) + _block([256] * 3) + _block([512] * 3) * 2,
    "E": _block([64] * 2) + _block([128] * 2) + _block([256] * 4) + _block([512] * 4) * 2,
}


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """Build VGG's ``features`` from a configuration list on a 3-channel input: an int ``w``
    adds a padded 3x3 convolution to ``w`` channels (then BatchNorm if ``batch_norm``) and an
    in-place ReLU; ``"M"`` adds a 2x2 max pool with stride 2.

    Example:
        >>> make_layers([8, "M", 16])
        Sequential(
          (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (1): ReLU(inplace=True)
          (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
          (3): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (4): ReLU(inplace=True)
        )
    """
    layers: list[nn.Module] = []
    channels = 3
    for entry in cfg:
        if entry == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        width = int(entry)
        layers.append(nn.Conv2d(channels, width, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        channels = width
    return nn.Sequential(*layers)


def _mlp_head(in_features: int, num_classes: int, dropout: float,
              dropout_first: bool) -> nn.Sequential:
    """The 4096-4096 fully connected head both networks share. VGG drops out after each hidden
    ReLU; AlexNet drops out before each of the first two linear layers."""
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(2):
        hidden = [nn.Linear(width, 4096), nn.ReLU(inplace=True)]
        layers += [nn.Dropout(p=dropout), *hidden] if dropout_first else \
            [*hidden, nn.Dropout(p=dropout)]
        width = 4096
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: ``features`` (usually from :func:`make_layers`, ending in 512 channels), a 7x7
    adaptive average pool, and a three-layer ``classifier``.

    With ``init_weights`` the weights are re-drawn as torchvision does: convolutions
    Kaiming-normal (fan out, ReLU gain), linear layers N(0, 0.01), BatchNorm weight 1, all
    biases 0.

    Example:
        >>> model = VGG(make_layers([16, "M", 512]), num_classes=10)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = _mlp_head(512 * 7 * 7, num_classes, dropout, dropout_first=False)
        if init_weights:
            self._reinitialise()

    def _reinitialise(self) -> None:
        # module order, so the random draws follow torchvision's stream
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
            else:
                continue
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.avgpool(self.features(x))
        return self.classifier(flatten(pooled, 1))


def _vgg(name: str, cfg: str, batch_norm: bool, weights, kwargs: dict[str, Any]) -> VGG:
    _no_pretrained(name, weights, kwargs)
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration "A"). ``weights`` must be None (ember downloads nothing; load a
    saved state_dict with ``ember.load``).

    Example:
        >>> len(vgg11(num_classes=2).features)
        21
    """
    return _vgg("vgg11", "A", False, weights, kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with BatchNorm after each convolution. ``weights`` must be None.

    Example:
        >>> len(vgg11_bn(num_classes=2).features)
        29
    """
    return _vgg("vgg11_bn", "A", True, weights, kwargs)


def vgg13(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (configuration "B"). ``weights`` must be None.

    Example:
        >>> len(vgg13(num_classes=2).features)
        25
    """
    return _vgg("vgg13", "B", False, weights, kwargs)


def vgg13_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 with BatchNorm. ``weights`` must be None.

    Example:
        >>> len(vgg13_bn(num_classes=2).features)
        35
    """
    return _vgg("vgg13_bn", "B", True, weights, kwargs)


def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration "D"). ``weights`` must be None.

    Example:
        >>> len(vgg16(num_classes=2).features)
        31
    """
    return _vgg("vgg16", "D", False, weights, kwargs)


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with BatchNorm. ``weights`` must be None.

    Example:
        >>> len(vgg16_bn(num_classes=2).features)
        44
    """
    return _vgg("vgg16_bn", "D", True, weights, kwargs)


def vgg19(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (configuration "E"). ``weights`` must be None.

    Example:
        >>> len(vgg19(num_classes=2).features)
        37
    """
    return _vgg("vgg19", "E", False, weights, kwargs)


def vgg19_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 with BatchNorm. ``weights`` must be None.

    Example:
        >>> len(vgg19_bn(num_classes=2).features)
        53
    """
    return _vgg("vgg19_bn", "E", True, weights, kwargs)


class AlexNet(nn.Module):
    """AlexNet: five convolutions with three max pools (``features``), a 6x6 adaptive average
    pool and a dropout/linear ``classifier``; PyTorch's default initialisation.

    Example:
        >>> AlexNet(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()

        def pool() -> nn.Module:
            return nn.MaxPool2d(kernel_size=3, stride=2)

        def conv(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, kernel_size=k, stride=stride, padding=min(k // 2, 2)),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *conv(3, 64, 11, stride=4), pool(), *conv(64, 192, 5), pool(),
            *conv(192, 384, 3), *conv(384, 256, 3), *conv(256, 256, 3), pool())
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = _mlp_head(256 * 6 * 6, num_classes, dropout, dropout_first=True)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.avgpool(self.features(x))
        return self.classifier(flatten(pooled, 1))


def alexnet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """AlexNet. ``weights`` must be None (load a saved state_dict with ``ember.load``).

    Example:
        >>> alexnet(num_classes=3)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    _no_pretrained("alexnet", weights, kwargs)
    return AlexNet(**kwargs)
