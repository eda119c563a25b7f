"""LeNet-5 (LeCun et al., 1998) for small grayscale images; ember's own (torchvision has none).

Layout: conv(6, 5x5) -> ReLU -> maxpool 2 -> conv(16, 5x5) -> ReLU -> maxpool 2 ->
linear 120 -> ReLU -> linear 84 -> ReLU -> linear ``num_classes``. ReLU and max pooling replace
the original's tanh and subsampling, as in most modern re-implementations.
"""

from __future__ import annotations

from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained

__all__ = ["LeNet", "lenet"]


class LeNet(nn.Module):
    """LeNet-5 for ``in_channels x input_size x input_size`` images (28 for MNIST, 32 classic).

    For ``input_size < 32`` the first conv pads by 2 (28x28 MNIST then follows the original
    32x32 geometry exactly); otherwise it does not pad. Either way the flattened features have
    ``16 * s * s`` entries, with ``s = 5`` for inputs of 28 or 32.

    Example:
        >>> model = LeNet(num_classes=10)
        >>> model(ember.randn(4, 1, 28, 28)).shape
        torch.Size([4, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1,
                 input_size: int = 28) -> None:
        super().__init__()
        padding = 2 if input_size < 32 else 0
        side = ((input_size + 2 * padding - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet needs input_size >= 16 (got {input_size}): the two 5x5 "
                             "convs and 2x2 pools would leave no spatial positions")
        self.input_size = input_size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (3, 4) or x.shape[-1] != self.input_size \
                or x.shape[-2] != self.input_size:
            raise ValueError(f"LeNet(input_size={self.input_size}) expects input of shape "
                             f"(N, C, {self.input_size}, {self.input_size}), got "
                             f"{tuple(x.shape)}; build LeNet(input_size=...) to match")
        x = self.features(x)
        return self.classifier(flatten(x, x.dim() - 3))


def lenet(*, weights: Any = None, **kwargs: Any) -> LeNet:
    """Build a :class:`LeNet`; ``weights`` must be None. Example: ``lenet(num_classes=10)``."""
    _no_pretrained("lenet", weights, kwargs)
    return LeNet(**kwargs)
