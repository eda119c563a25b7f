"""GoogLeNet / Inception v1 (Szegedy et al., "Going Deeper with Convolutions", 2014), laid out
module for module like ``torchvision.models.googlenet`` so its checkpoints load unchanged.

Every convolution is a :class:`BasicConv2d` (conv without bias, batch norm with eps 1e-3,
ReLU). Nine :class:`Inception` blocks (``inception3a`` ... ``inception5b``) sit between
ceil-mode max pools; two auxiliary classifiers (``aux1`` after ``inception4a``, ``aux2`` after
``inception4d``) only run in training mode. Note that the "5x5" branch of each block uses a 3x3
kernel, as torchvision's port of the original weights does.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from collections.abc import Callable
from typing import Any

from ... import cat, flatten, nn
from ..._tensor import Tensor
from ...nn import functional as F
from ._api import _WEIGHT_ENUMS
from ._utils import _no_pretrained

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "_GoogLeNetOutputs", "GoogLeNet_Weights",
           "googlenet"]

GoogLeNet_Weights = _WEIGHT_ENUMS["GoogLeNet_Weights"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = """Training-mode result of a :class:`GoogLeNet` with auxiliary
classifiers: the main ``logits``, then ``aux_logits2`` (from ``aux2``) and ``aux_logits1``.

Example:
    >>> out = GoogLeNetOutputs(ember.zeros(1, 2), None, None)
    >>> out.logits.shape
    torch.Size([1, 2])
"""
GoogLeNetOutputs.__annotations__ = {"logits": Tensor, "aux_logits2": Tensor | None,
                                    "aux_logits1": Tensor | None}
# the older spelling torchvision keeps for backward compatibility
_GoogLeNetOutputs = GoogLeNetOutputs

# ImageNet channel statistics; ``transform_input`` maps images normalized with them onto the
# [-1, 1] scaling the original (Google) weights were trained with
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _rescale_input(x: Tensor) -> Tensor:
    # per channel: x * std / 0.5 + (mean - 0.5) / 0.5
    planes = [x[:, c:c + 1] * (_STD[c] / 0.5) + (_MEAN[c] - 0.5) / 0.5 for c in range(3)]
    return cat(planes, 1)


class BasicConv2d(nn.Module):
    """``Conv2d`` (no bias; ``**kwargs`` go to it) -> ``BatchNorm2d(eps=0.001)`` -> ReLU.

    Example:
        >>> BasicConv2d(3, 8, kernel_size=3, padding=1)(ember.randn(1, 3, 5, 5)).shape
        torch.Size([1, 8, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """One GoogLeNet block: four parallel branches concatenated along channels: a 1x1 conv
    (``ch1x1``), 1x1 reduce (``ch3x3red``) then 3x3 (``ch3x3``), 1x1 reduce (``ch5x5red``) then
    3x3 (``ch5x5``), and a 3x3 stride-1 max pool followed by a 1x1 conv (``pool_proj``).

    Example:
        >>> block = Inception(16, 4, 4, 8, 2, 4, 4)
        >>> block(ember.randn(1, 16, 7, 7)).shape
        torch.Size([1, 20, 7, 7])
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch1 = conv(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv(in_channels, ch3x3red, kernel_size=1),
                                     conv(ch3x3red, ch3x3, kernel_size=3, padding=1))
        # torchvision's "5x5" branch is a 3x3 conv (a bug kept for its released weights)
        self.branch3 = nn.Sequential(conv(in_channels, ch5x5red, kernel_size=1),
                                     conv(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     conv(in_channels, pool_proj, kernel_size=1))

    def _forward(self, x: Tensor) -> list[Tensor]:
        return [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive average pool to 4x4, 1x1 conv to 128 channels, then
    ``fc1`` (2048 -> 1024) with ReLU, dropout (``dropout``, default 0.7) and ``fc2``.

    Example:
        >>> InceptionAux(32, 5)(ember.randn(2, 32, 9, 9)).shape
        torch.Size([2, 5])
    """

    def __init__(self, in_channels: int, num_classes: int,
                 conv_block: Callable[..., nn.Module] | None = None,
                 dropout: float = 0.7) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.conv = conv(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


# (in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj) of inception3a ... inception5b
_BLOCKS = {"3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
           "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
           "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
           "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
           "5b": (832, 384, 192, 384, 48, 128, 128)}


def _ceil_max_pool(size: int) -> nn.MaxPool2d:
    return nn.MaxPool2d(size, stride=2, ceil_mode=True)


class GoogLeNet(nn.Module):
    """GoogLeNet for 3-channel images (224x224 in the paper; any size of about 15 and up).

    Args:
        num_classes (int): Default: 1000.
        aux_logits (bool): build the two auxiliary classifiers (used in training mode only).
            Default: True.
        transform_input (bool): rescale ImageNet-normalized input to the [-1, 1] range the
            original weights expect. Default: False.
        init_weights (bool, optional): draw conv and linear weights from a normal with std
            0.01 (truncated at +-2) and reset batch norms; ``None`` means True with a
            ``FutureWarning``, as in torchvision.
        blocks (list, optional): ``[conv_block, inception_block, inception_aux_block]``.
        dropout (float): before ``fc``. Default: 0.2.
        dropout_aux (float): inside the auxiliary classifiers. Default: 0.7.

    In training mode with ``aux_logits`` the forward returns
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; otherwise the logits tensor.

    Example:
        >>> model = GoogLeNet(num_classes=10, init_weights=False).eval()
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """

    __constants__ = ["aux_logits", "transform_input"]

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 blocks: list[Callable[..., nn.Module]] | None = None, dropout: float = 0.2,
                 dropout_aux: float = 0.7) -> None:
        super().__init__()
        if init_weights is None:
            warnings.warn(
                "The default weight initialization of GoogleNet will be changed in future "
                "releases of torchvision. If you wish to keep the old behavior (which leads to "
                "long initialization times due to scipy/scipy#11299), please set "
                "init_weights=True.", FutureWarning, stacklevel=2)
            init_weights = True
        chosen = [BasicConv2d, Inception, InceptionAux] if blocks is None else blocks
        if len(chosen) != 3:
            raise ValueError(f"blocks length should be 3 instead of {len(chosen)}")
        conv_block, inception_block, aux_block = chosen
        self.aux_logits, self.transform_input = aux_logits, transform_input

        # stem: 7x7/2 conv, pool, 1x1 and 3x3 convs, pool (every pool rounds its size up)
        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = _ceil_max_pool(3)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = _ceil_max_pool(3)
        for key in ("3a", "3b"):
            setattr(self, "inception" + key, inception_block(*_BLOCKS[key]))
        self.maxpool3 = _ceil_max_pool(3)
        for key in ("4a", "4b", "4c", "4d", "4e"):
            setattr(self, "inception" + key, inception_block(*_BLOCKS[key]))
        self.maxpool4 = _ceil_max_pool(2)
        for key in ("5a", "5b"):
            setattr(self, "inception" + key, inception_block(*_BLOCKS[key]))

        if aux_logits:
            self.aux1 = aux_block(512, num_classes, dropout=dropout_aux)
            self.aux2 = aux_block(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights:
            # one draw per weight, in ``modules()`` order, after construction's own draws
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        return _rescale_input(x) if self.transform_input else x

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(flatten(self.avgpool(x), 1)))
        return x, aux2, aux1

    def eager_outputs(self, x: Tensor, aux2: Tensor | None,
                      aux1: Tensor | None) -> GoogLeNetOutputs | Tensor:
        """The forward's result from its parts: the namedtuple in training mode with
        ``aux_logits``, else ``x`` alone.

        Example:
            >>> model = GoogLeNet(num_classes=2, init_weights=False).eval()
            >>> model.eager_outputs(ember.zeros(1, 2), None, None).shape
            torch.Size([1, 2])
        """
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x

    def forward(self, x: Tensor) -> GoogLeNetOutputs | Tensor:
        x, aux2, aux1 = self._forward(self._transform_input(x))
        return self.eager_outputs(x, aux2, aux1)


def googlenet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> GoogLeNet:
    """GoogLeNet (Inception v1) from "Going Deeper with Convolutions".

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead (torchvision's
            ``IMAGENET1K_V1`` checkpoint expects ``transform_input=True``).
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`GoogLeNet` (``num_classes``, ``aux_logits``,
            ``transform_input``, ``init_weights``, ``dropout``, ...).

    Example:
        >>> model = googlenet(num_classes=10, init_weights=True).eval()
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    _no_pretrained("googlenet", weights, kwargs)
    return GoogLeNet(**kwargs)
