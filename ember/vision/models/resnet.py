"""Residual networks: ResNet (He et al., 2015), ResNeXt (Xie et al., 2017) and Wide ResNet
(Zagoruyko & Komodakis, 2016), built module for module like ``torchvision.models.resnet``.

Attribute names and nesting follow torchvision, so its ``state_dict`` files load unchanged, and
the construction and initialisation order is the same, so a seeded build draws the same
numbers. The stride of a bottleneck block sits on its 3x3 convolution ("ResNet v1.5").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ... import flatten, nn
from ..._tensor import Tensor
from ._utils import _no_pretrained, _ovewrite_named_param

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
           "wide_resnet50_2", "wide_resnet101_2"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    """A bias-free 3x3 convolution whose padding keeps the size at stride 1 for any dilation.

    Example:
        >>> conv3x3(8, 16, stride=2)(ember.randn(1, 8, 10, 10)).shape
        torch.Size([1, 16, 5, 5])
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     dilation=dilation, groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """A bias-free pointwise (1x1) convolution.

    Example:
        >>> conv1x1(8, 4)(ember.randn(1, 8, 6, 6)).shape
        torch.Size([1, 4, 6, 6])
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _shortcut_then_relu(block: nn.Module, x: Tensor, out: Tensor) -> Tensor:
    # The projection (when there is one) runs after the residual branch, as torchvision's does:
    # traced graphs then list their nodes in the same order.
    out += x if block.downsample is None else block.downsample(x)
    return block.relu(out)


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch-norm layers with an identity (or projected) shortcut: the unit of
    ResNet-18/34. Its output has ``planes * BasicBlock.expansion`` (= ``planes``) channels.

    Args:
        inplanes (int): input channels.
        planes (int): output channels.
        stride (int): stride of the first convolution. Default: 1.
        downsample (nn.Module, optional): maps the input onto the output's shape when they
            differ (torchvision builds a 1x1 conv + norm).
        groups, base_width: accepted for a uniform block signature; only 1 and 64 work here.
        dilation (int): only 1 is supported.
        norm_layer (callable, optional): Default: ``nn.BatchNorm2d``.

    Example:
        >>> block = BasicBlock(16, 16)
        >>> block(ember.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        return _shortcut_then_relu(self, x, self.bn2(self.conv2(y)))


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (strided, grouped, dilated) -> 1x1 expand, each followed by batch
    norm, plus the shortcut: the unit of ResNet-50 and deeper, ResNeXt and Wide ResNet.

    The inner width is ``int(planes * base_width / 64) * groups``; the output has
    ``planes * Bottleneck.expansion`` (= ``4 * planes``) channels.

    Example:
        >>> down = nn.Sequential(conv1x1(16, 32), nn.BatchNorm2d(32))
        >>> block = Bottleneck(16, 8, downsample=down)
        >>> block(ember.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 8, 8])
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        inner = int(planes * (base_width / 64.0)) * groups
        outer = planes * self.expansion
        self.conv1 = conv1x1(inplanes, inner)
        self.bn1 = norm(inner)
        self.conv2 = conv3x3(inner, inner, stride, groups, dilation)
        self.bn2 = norm(inner)
        self.conv3 = conv1x1(inner, outer)
        self.bn3 = norm(outer)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return _shortcut_then_relu(self, x, self.bn3(self.conv3(y)))


class ResNet(nn.Module):
    """A residual network: a 7x7 stem, four stages of ``block`` (64, 128, 256, 512 planes,
    the last three halving the resolution), global average pooling and a linear classifier.

    Args:
        block (type): :class:`BasicBlock` or :class:`Bottleneck`.
        layers (list of int): blocks per stage.
        num_classes (int): Default: 1000.
        zero_init_residual (bool): zero the last norm weight of every block, so each residual
            branch starts as the identity. Default: False.
        groups (int): convolution groups in the bottlenecks (ResNeXt). Default: 1.
        width_per_group (int): channels per group in the bottlenecks. Default: 64.
        replace_stride_with_dilation (list of 3 bools, optional): for stages 2-4, dilate
            instead of striding (keeps the resolution, e.g. for segmentation backbones).
        norm_layer (callable, optional): Default: ``nn.BatchNorm2d``.

    Example:
        >>> model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 5])
    """

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: Sequence[int],
                 num_classes: int = 1000, zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64,
                 replace_stride_with_dilation: Sequence[bool] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        dilate = [False] * 3 if replace_stride_with_dilation is None \
            else replace_stride_with_dilation
        if len(dilate) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element "
                             f"tuple, got {dilate}")
        self._norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        # running state read by _make_layer: channels so far and the current dilation
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group

        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # He-normal convolutions scaled by fan-out, unit norms; the classifier keeps Linear's
        # own default. One pass in module order keeps the random draws in torchvision's order.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (Bottleneck, BasicBlock)):
                    last = m.bn3 if isinstance(m, Bottleneck) else m.bn2
                    if last.weight is not None:  # a norm built with affine=False has none
                        nn.init.zeros_(last.weight)

    def _make_layer(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int,
                    stride: int = 1, dilate: bool = False) -> nn.Sequential:
        norm = self._norm_layer
        entry_dilation = self.dilation
        if dilate:  # trade this stage's stride for dilation from here on
            self.dilation *= stride
            stride = 1
        width = planes * block.expansion
        shortcut = None
        if stride != 1 or self.inplanes != width:
            shortcut = nn.Sequential(conv1x1(self.inplanes, width, stride), norm(width))
        shared = {"groups": self.groups, "base_width": self.base_width, "norm_layer": norm}
        stage = [block(self.inplanes, planes, stride, shortcut, dilation=entry_dilation,
                       **shared)]
        self.inplanes = width
        stage += [block(width, planes, dilation=self.dilation, **shared)
                  for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return self.fc(flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def _resnet(name: str, block: type[BasicBlock | Bottleneck], layers: list[int], weights: Any,
            kwargs: dict[str, Any]) -> ResNet:
    _no_pretrained(name, weights, kwargs)
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18 ("Deep Residual Learning for Image Recognition"): basic blocks, [2, 2, 2, 2].

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`ResNet` (``num_classes``, ``norm_layer``, ...).

    Example:
        >>> model = resnet18(num_classes=10)
        >>> model(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 10])
    """
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, kwargs)


def resnet34(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: basic blocks, [3, 4, 6, 3]; arguments as :func:`resnet18`.

    Example:
        >>> resnet34(num_classes=3)(ember.randn(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, kwargs)


def resnet50(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50: bottleneck blocks, [3, 4, 6, 3]; arguments as :func:`resnet18`.

    Example:
        >>> resnet50(num_classes=3).fc
        Linear(in_features=2048, out_features=3, bias=True)
    """
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, kwargs)


def resnet101(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: bottleneck blocks, [3, 4, 23, 3]; arguments as :func:`resnet18`.

    Example:
        >>> len(resnet101(num_classes=3).layer3)
        23
    """
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def resnet152(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: bottleneck blocks, [3, 8, 36, 3]; arguments as :func:`resnet18`.

    Example:
        >>> len(resnet152(num_classes=3).layer3)
        36
    """
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, kwargs)


def resnext50_32x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d ("Aggregated Residual Transformations"): ResNet-50 whose 3x3 convs have
    32 groups of 4 channels per base plane. ``groups``/``width_per_group`` are fixed.

    Example:
        >>> resnext50_32x4d(num_classes=3).layer1[0].conv2.groups
        32
    """
    _ovewrite_named_param(kwargs, "groups", 32)
    _ovewrite_named_param(kwargs, "width_per_group", 4)
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, kwargs)


def wide_resnet50_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2 ("Wide Residual Networks"): ResNet-50 with bottlenecks twice as wide
    (``width_per_group=128``, fixed); the outer widths stay those of ResNet-50.

    Example:
        >>> wide_resnet50_2(num_classes=3).layer1[0].conv2.out_channels
        128
    """
    _ovewrite_named_param(kwargs, "width_per_group", 64 * 2)
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, kwargs)


def resnext101_32x8d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d: ResNet-101's layout ([3, 4, 23, 3]) whose 3x3 convs have 32 groups of
    8 channels per base plane. ``groups``/``width_per_group`` are fixed.

    Example:
        >>> resnext101_32x8d(num_classes=3).layer1[0].conv2
        Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=32, bias=False)
    """
    _ovewrite_named_param(kwargs, "groups", 32)
    _ovewrite_named_param(kwargs, "width_per_group", 8)
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def resnext101_64x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d: ResNet-101's layout with 64 groups of 4 channels per base plane in
    the 3x3 convs. ``groups``/``width_per_group`` are fixed.

    Example:
        >>> resnext101_64x4d(num_classes=3).layer1[0].conv2.groups
        64
    """
    _ovewrite_named_param(kwargs, "groups", 64)
    _ovewrite_named_param(kwargs, "width_per_group", 4)
    return _resnet("resnext101_64x4d", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def wide_resnet101_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide (``width_per_group=128``,
    fixed); the outer widths stay those of ResNet-101.

    Example:
        >>> wide_resnet101_2(num_classes=3).layer3[0].conv2.out_channels
        512
    """
    _ovewrite_named_param(kwargs, "width_per_group", 64 * 2)
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, kwargs)
