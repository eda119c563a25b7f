"""Inception v3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
2015), laid out module for module like ``torchvision.models.inception`` so its checkpoints load
unchanged (keys ``Conv2d_1a_3x3.conv.weight`` ... ``Mixed_7c.branch_pool.bn.running_var``,
``AuxLogits.fc.weight``, ``fc.weight``).

The network expects 299x299 images but runs on any size from 75x75 up (in training mode the
auxiliary head needs larger maps). Blocks A-E are the paper's figure 5/6/7 modules and the
two grid reductions; every convolution is a :class:`BasicConv2d`.
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
from .googlenet import BasicConv2d as _GoogLeNetConv
from .googlenet import _rescale_input

__all__ = ["Inception3", "InceptionOutputs", "_InceptionOutputs", "Inception_V3_Weights",
           "inception_v3"]

Inception_V3_Weights = _WEIGHT_ENUMS["Inception_V3_Weights"]

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])
InceptionOutputs.__doc__ = """Training-mode result of an :class:`Inception3` with its auxiliary
classifier: ``(logits, aux_logits)``; unpack it as ``outputs, aux = model(x)``.

Example:
    >>> logits, aux = InceptionOutputs(ember.zeros(1, 2), ember.zeros(1, 2))
    >>> aux.shape
    torch.Size([1, 2])
"""
InceptionOutputs.__annotations__ = {"logits": Tensor, "aux_logits": Tensor | None}
# the older spelling torchvision keeps for backward compatibility
_InceptionOutputs = InceptionOutputs


class BasicConv2d(_GoogLeNetConv):
    """``Conv2d`` (no bias; ``**kwargs`` go to it) -> ``BatchNorm2d(eps=0.001)`` -> ReLU
    (the same unit as GoogLeNet's).

    Example:
        >>> BasicConv2d(3, 8, kernel_size=(1, 3), padding=(0, 1))(ember.randn(1, 3, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """


def _avg3(x: Tensor) -> Tensor:
    # the pooling branch of blocks A, C and E: 3x3 average keeping the size (pads counted)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)


class InceptionA(nn.Module):
    """35x35 block (paper figure 5): 1x1 (64), 1x1 -> 5x5 (64), 1x1 -> 3x3 -> 3x3 (96) and
    average pool -> 1x1 (``pool_features``) branches, concatenated.

    Example:
        >>> InceptionA(16, pool_features=8)(ember.randn(1, 16, 9, 9)).shape
        torch.Size([1, 232, 9, 9])
    """

    def __init__(self, in_channels: int, pool_features: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch1x1 = conv(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = conv(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = conv(in_channels, pool_features, kernel_size=1)

    def _forward(self, x: Tensor) -> list[Tensor]:
        wide = self.branch5x5_2(self.branch5x5_1(x))
        deep = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), wide, deep, self.branch_pool(_avg3(x))]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17: a stride-2 3x3 (384), 1x1 -> 3x3 -> stride-2 3x3 (96) and a
    stride-2 3x3 max pool, concatenated (``in_channels + 480`` channels).

    Example:
        >>> InceptionB(16)(ember.randn(1, 16, 9, 9)).shape
        torch.Size([1, 496, 4, 4])
    """

    def __init__(self, in_channels: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch3x3 = conv(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = conv(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, stride=2)

    def _forward(self, x: Tensor) -> list[Tensor]:
        deep = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch3x3(x), deep, F.max_pool2d(x, kernel_size=3, stride=2)]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionC(nn.Module):
    """17x17 block (paper figure 6) with the 7x7 convolutions factored into 1x7 and 7x1:
    1x1 (192), 1x1 -> 1x7 -> 7x1 (192), 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 (192) and average
    pool -> 1x1 (192); ``channels_7x7`` is the width inside the factored branches.

    Example:
        >>> InceptionC(16, channels_7x7=8)(ember.randn(1, 16, 7, 7)).shape
        torch.Size([1, 768, 7, 7])
    """

    def __init__(self, in_channels: int, channels_7x7: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        c7 = channels_7x7
        row, col = {"kernel_size": (1, 7), "padding": (0, 3)}, \
            {"kernel_size": (7, 1), "padding": (3, 0)}
        self.branch1x1 = conv(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = conv(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = conv(c7, c7, **row)
        self.branch7x7_3 = conv(c7, 192, **col)
        self.branch7x7dbl_1 = conv(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = conv(c7, c7, **col)
        self.branch7x7dbl_3 = conv(c7, c7, **row)
        self.branch7x7dbl_4 = conv(c7, c7, **col)
        self.branch7x7dbl_5 = conv(c7, 192, **row)
        self.branch_pool = conv(in_channels, 192, kernel_size=1)

    def _forward(self, x: Tensor) -> list[Tensor]:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            double = layer(double)
        return [self.branch1x1(x), single, double, self.branch_pool(_avg3(x))]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8: 1x1 -> stride-2 3x3 (320), 1x1 -> 1x7 -> 7x1 -> stride-2 3x3
    (192) and a stride-2 3x3 max pool, concatenated (``in_channels + 512`` channels).

    Example:
        >>> InceptionD(16)(ember.randn(1, 16, 9, 9)).shape
        torch.Size([1, 528, 4, 4])
    """

    def __init__(self, in_channels: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch3x3_1 = conv(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = conv(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv(192, 192, kernel_size=3, stride=2)

    def _forward(self, x: Tensor) -> list[Tensor]:
        short = self.branch3x3_2(self.branch3x3_1(x))
        long = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            long = layer(long)
        return [short, long, F.max_pool2d(x, kernel_size=3, stride=2)]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionE(nn.Module):
    """8x8 block (paper figure 7) whose 3x3 branches split into parallel 1x3 and 3x1 convs:
    1x1 (320), 1x1 -> [1x3, 3x1] (768), 1x1 -> 3x3 -> [1x3, 3x1] (768) and average pool ->
    1x1 (192): 2048 channels.

    Example:
        >>> InceptionE(16)(ember.randn(1, 16, 5, 5)).shape
        torch.Size([1, 2048, 5, 5])
    """

    def __init__(self, in_channels: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.branch1x1 = conv(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = conv(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = conv(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = conv(in_channels, 192, kernel_size=1)

    def _forward(self, x: Tensor) -> list[Tensor]:
        mid = self.branch3x3_1(x)
        split = cat([self.branch3x3_2a(mid), self.branch3x3_2b(mid)], 1)
        deep = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        deep_split = cat([self.branch3x3dbl_3a(deep), self.branch3x3dbl_3b(deep)], 1)
        return [self.branch1x1(x), split, deep_split, self.branch_pool(_avg3(x))]

    def forward(self, x: Tensor) -> Tensor:
        return cat(self._forward(x), 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on the 17x17 maps: 5x5 stride-3 average pool, 1x1 conv (128),
    5x5 conv (768), global average pool and ``fc``. ``conv1`` and ``fc`` carry a ``stddev``
    attribute (0.01, 0.001) that :class:`Inception3`'s initialisation reads.

    Example:
        >>> InceptionAux(16, 5).eval()(ember.randn(1, 16, 17, 17)).shape
        torch.Size([1, 5])
    """

    def __init__(self, in_channels: int, num_classes: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = BasicConv2d if conv_block is None else conv_block
        self.conv0 = conv(in_channels, 128, kernel_size=1)
        self.conv1 = conv(128, 768, kernel_size=5)
        self.conv1.stddev = 0.01
        self.fc = nn.Linear(768, num_classes)
        self.fc.stddev = 0.001

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    """Inception v3 for 3-channel images.

    Args:
        num_classes (int): Default: 1000.
        aux_logits (bool): build the auxiliary classifier ``AuxLogits`` (run in training mode
            only). Default: True.
        transform_input (bool): rescale ImageNet-normalized input to the [-1, 1] range the
            original weights expect. Default: False.
        inception_blocks (list, optional): the 7 classes ``[conv_block, InceptionA,
            InceptionB, InceptionC, InceptionD, InceptionE, InceptionAux]``.
        init_weights (bool, optional): draw every conv and linear weight from a normal
            truncated at +-2 with std ``module.stddev`` (0.1 where absent) and reset batch
            norms; ``None`` means True with a ``FutureWarning``, as in torchvision.
        dropout (float): before ``fc``. Default: 0.5.

    In training mode with ``aux_logits`` the forward returns ``InceptionOutputs(logits,
    aux_logits)``; otherwise the logits tensor.

    Example:
        >>> model = Inception3(num_classes=10, init_weights=False).eval()
        >>> model(ember.randn(1, 3, 75, 75)).shape
        torch.Size([1, 10])
    """

    __constants__ = ["aux_logits", "transform_input"]

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False,
                 inception_blocks: list[Callable[..., nn.Module]] | None = None,
                 init_weights: bool | None = None, dropout: float = 0.5) -> None:
        super().__init__()
        if inception_blocks is None:
            inception_blocks = [BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD,
                                InceptionE, InceptionAux]
        if init_weights is None:
            warnings.warn(
                "The default weight initialization of inception_v3 will be changed in future "
                "releases of torchvision. If you wish to keep the old behavior (which leads to "
                "long initialization times due to scipy/scipy#11299), please set "
                "init_weights=True.", FutureWarning, stacklevel=2)
            init_weights = True
        if len(inception_blocks) != 7:
            raise ValueError(
                f"length of inception_blocks should be 7 instead of {len(inception_blocks)}")
        conv, block_a, block_b, block_c, block_d, block_e, aux_block = inception_blocks

        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = block_a(192, pool_features=32)
        self.Mixed_5c = block_a(256, pool_features=64)
        self.Mixed_5d = block_a(288, pool_features=64)
        self.Mixed_6a = block_b(288)
        self.Mixed_6b = block_c(768, channels_7x7=128)
        self.Mixed_6c = block_c(768, channels_7x7=160)
        self.Mixed_6d = block_c(768, channels_7x7=160)
        self.Mixed_6e = block_c(768, channels_7x7=192)
        self.AuxLogits: nn.Module | None = aux_block(768, num_classes) if aux_logits else None
        self.Mixed_7a = block_d(768)
        self.Mixed_7b = block_e(1280)
        self.Mixed_7c = block_e(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)

        if init_weights:
            # one draw per weight in ``modules()`` order; the std is the module's own
            # ``stddev`` (only the aux ``fc`` has one on a Linear/Conv2d itself), else 0.1
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    std = float(getattr(m, "stddev", 0.1))
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        return _rescale_input(x) if self.transform_input else x

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        for layer in (self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3,
                      self.maxpool1, self.Conv2d_3b_1x1, self.Conv2d_4a_3x3, self.maxpool2,
                      self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a,
                      self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
            x = layer(x)
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.dropout(self.avgpool(x))
        return self.fc(flatten(x, 1)), aux

    def eager_outputs(self, x: Tensor, aux: Tensor | None) -> InceptionOutputs | Tensor:
        """The forward's result from its parts: ``InceptionOutputs(x, aux)`` in training mode
        with ``aux_logits``, else ``x`` alone.

        Example:
            >>> model = Inception3(num_classes=2, init_weights=False).eval()
            >>> model.eager_outputs(ember.zeros(1, 2), None).shape
            torch.Size([1, 2])
        """
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x

    def forward(self, x: Tensor) -> InceptionOutputs | Tensor:
        x, aux = self._forward(self._transform_input(x))
        return self.eager_outputs(x, aux)


def inception_v3(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> Inception3:
    """Inception v3 from "Rethinking the Inception Architecture for Computer Vision".

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead (torchvision's
            ``IMAGENET1K_V1`` checkpoint expects ``transform_input=True``).
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`Inception3` (``num_classes``, ``aux_logits``,
            ``transform_input``, ``init_weights``, ``dropout``, ...).

    Example:
        >>> model = inception_v3(num_classes=10, init_weights=False).eval()
        >>> model(ember.randn(1, 3, 75, 75)).shape
        torch.Size([1, 10])
        >>> model.train().AuxLogits.fc.out_features  # train mode: logits, aux = model(x)
        10
    """
    _no_pretrained("inception_v3", weights, kwargs)
    return Inception3(**kwargs)
