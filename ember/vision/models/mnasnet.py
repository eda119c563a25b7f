"""MNASNet (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", 2019),
the B1 network of the paper built module for module like ``torchvision.models.mnasnet``.

The network is one ``layers`` Sequential: a 3x3 stride-2 stem, a depthwise-separable
convolution, six stacks of inverted residual blocks (ReLU, 3x3 or 5x5 depthwise kernels) and a
1x1 convolution to 1280 channels; then global average pooling and a dropout + Linear
``classifier``. ``alpha`` scales every width except the final 1280. State_dict keys equal
torchvision's (``layers.8.0.layers.0.weight``, ..., ``classifier.1.weight``).
"""

from __future__ import annotations

import warnings
from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["MNASNet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"]

# the paper trains with TensorFlow's BatchNorm decay of 0.9997, i.e. a PyTorch momentum of
# 1 - 0.9997 (the running statistics move very slowly)
_BN_MOMENTUM = 1 - 0.9997

# the widths of the stem, the separable conv and the six stacks at alpha = 1
_BASE_DEPTHS = (32, 16, 24, 40, 80, 96, 192, 320)
# per stack: kernel size, stride of its first block, expansion factor, number of blocks
_STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1))


class _InvertedResidual(nn.Module):
    """An MNASNet block: 1x1 expansion by ``expansion_factor``, a ``kernel_size`` depthwise
    conv carrying the stride, a linear 1x1 projection (BatchNorm after each, ReLU after the
    first two); the input is added back when the shape is unchanged.

    Example:
        >>> block = _InvertedResidual(16, 16, 3, 1, 3)
        >>> block.apply_residual, block(ember.randn(1, 16, 8, 8)).shape
        (True, torch.Size([1, 16, 8, 8]))
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int,
                 expansion_factor: int, bn_momentum: float = 0.1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size should be 3 or 5 instead of {kernel_size}")
        wide = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1

        def norm(channels: int) -> nn.BatchNorm2d:
            return nn.BatchNorm2d(channels, momentum=bn_momentum)

        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, wide, 1, bias=False), norm(wide), nn.ReLU(inplace=True),
            nn.Conv2d(wide, wide, kernel_size, padding=kernel_size // 2, stride=stride,
                      groups=wide, bias=False),
            norm(wide), nn.ReLU(inplace=True),
            nn.Conv2d(wide, out_ch, 1, bias=False), norm(out_ch))

    def forward(self, input: Tensor) -> Tensor:
        out = self.layers(input)
        return out + input if self.apply_residual else out


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int,
           repeats: int, bn_momentum: float) -> nn.Sequential:
    """``repeats`` blocks; the first changes the width and carries the stride."""
    if repeats < 1:
        raise ValueError(f"repeats should be >= 1, instead got {repeats}")
    blocks = [_InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor,
                                bn_momentum=bn_momentum)]
    blocks += [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor,
                                 bn_momentum=bn_momentum) for _ in range(repeats - 1)]
    return nn.Sequential(*blocks)


def _round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """``val`` to the nearest multiple of ``divisor`` (at least ``divisor``), one step higher
    when the nearest lies more than ``1 - round_up_bias`` below ``val``.

    Example:
        >>> _round_to_multiple_of(24.0, 8), _round_to_multiple_of(41.6, 8)
        (24, 40)
    """
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError(f"round_up_bias should be greater than 0.0 and smaller than 1.0 "
                         f"instead of {round_up_bias}")
    nearest = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return nearest if nearest >= round_up_bias * val else nearest + divisor


def _get_depths(alpha: float) -> list[int]:
    """The eight scaled widths (stem, separable conv, six stacks) for ``alpha``.

    Example:
        >>> _get_depths(0.75)
        [24, 16, 24, 32, 64, 72, 144, 240]
    """
    return [_round_to_multiple_of(depth * alpha, 8) for depth in _BASE_DEPTHS]


def _stem(first: int, second: int) -> list[nn.Module]:
    # stride-2 3x3 conv, then a depthwise-separable conv without activation at its end
    def norm(channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, momentum=_BN_MOMENTUM)

    return [nn.Conv2d(3, first, 3, padding=1, stride=2, bias=False), norm(first),
            nn.ReLU(inplace=True),
            nn.Conv2d(first, first, 3, padding=1, stride=1, groups=first, bias=False),
            norm(first), nn.ReLU(inplace=True),
            nn.Conv2d(first, second, 1, padding=0, stride=1, bias=False), norm(second)]


class MNASNet(nn.Module):
    """MNASNet with width multiplier ``alpha`` (> 0).

    Convolutions start Kaiming-normal (fan-out, ReLU gain), BatchNorm at 1 and 0, the
    classifier's weight Kaiming-uniform by fan-out with the sigmoid gain; biases at 0.

    Checkpoints of the first MNASNet layout (state_dict version 1) kept the stem at its
    alpha = 1 widths (32 and 16) for every ``alpha``; loading one into a model with
    ``alpha != 1`` rebuilds the stem that way and warns, so the old file still loads. A
    state_dict without version metadata is refused (``ValueError``), as in torchvision.

    Args:
        alpha (float): width multiplier.
        num_classes (int): Default: 1000.
        dropout (float): dropout before the classifier. Default: 0.2.

    Example:
        >>> model = MNASNet(0.5, num_classes=3)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """

    # version 2: the stem scales with alpha
    _version = 2

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha should be greater than 0.0 instead of {alpha}")
        self.alpha = alpha
        self.num_classes = num_classes
        depths = _get_depths(alpha)
        layers = _stem(depths[0], depths[1])
        for (kernel, stride, expand, repeats), cin, cout in zip(_STACKS, depths[1:],
                                                                depths[2:]):
            layers.append(_stack(cin, cout, kernel, stride, expand, repeats, _BN_MOMENTUM))
        layers += [nn.Conv2d(depths[7], 1280, 1, padding=0, stride=1, bias=False),
                   nn.BatchNorm2d(1280, momentum=_BN_MOMENTUM), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(1280, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # module order, so the random draws follow torchvision's stream
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
            else:
                continue
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers(x).mean([2, 3])  # global average pool
        return self.classifier(x)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        version = local_metadata.get("version", None)
        if version not in (1, 2):
            raise ValueError(f"version should be set to 1 or 2 instead of {version}")
        if version == 1 and self.alpha != 1.0:
            # a version-1 file: stem at the alpha = 1 widths, and the first stack fed 16
            # channels
            depths = _get_depths(self.alpha)
            old = _stem(32, 16)
            for index, module in enumerate(old):
                self.layers[index] = module
            kernel, stride, expand, repeats = _STACKS[0]
            self.layers[8] = _stack(16, depths[2], kernel, stride, expand, repeats,
                                    _BN_MOMENTUM)
            self._version = 1
            warnings.warn(
                "A new version of MNASNet model has been implemented. Your checkpoint was saved "
                "using the previous version. This checkpoint will load and work as before, but "
                "you may want to upgrade by training a newer model or transfer learning from an "
                "updated ImageNet checkpoint.", UserWarning, stacklevel=2)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def _mnasnet(name: str, alpha: float, weights: Any, kwargs: dict[str, Any]) -> MNASNet:
    _no_pretrained(name, weights, kwargs)
    # ``alpha`` is the variant's own: passing it again is a TypeError, as in torchvision
    return MNASNet(alpha, **kwargs)


def mnasnet0_5(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MNASNet:
    """MNASNet with width multiplier 0.5.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`MNASNet` (``num_classes``, ``dropout``).

    Example:
        >>> mnasnet0_5(num_classes=3)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    return _mnasnet("mnasnet0_5", 0.5, weights, kwargs)


def mnasnet0_75(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MNASNet:
    """MNASNet with width multiplier 0.75; arguments as :func:`mnasnet0_5`.

    Example:
        >>> mnasnet0_75(num_classes=3).layers[0]
        Conv2d(3, 24, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    """
    return _mnasnet("mnasnet0_75", 0.75, weights, kwargs)


def mnasnet1_0(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MNASNet:
    """MNASNet with width multiplier 1.0 (the paper's MnasNet-B1); arguments as
    :func:`mnasnet0_5`.

    Example:
        >>> mnasnet1_0(num_classes=3).layers[0]
        Conv2d(3, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    """
    return _mnasnet("mnasnet1_0", 1.0, weights, kwargs)


def mnasnet1_3(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MNASNet:
    """MNASNet with width multiplier 1.3; arguments as :func:`mnasnet0_5`.

    Example:
        >>> mnasnet1_3(num_classes=3).layers[0]
        Conv2d(3, 40, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    """
    return _mnasnet("mnasnet1_3", 1.3, weights, kwargs)
