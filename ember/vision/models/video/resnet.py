"""Video ResNets (Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action
Recognition", 2018), built module for module like ``torchvision.models.video.resnet``.

Three 18-layer variants differ only in how each 3x3 convolution is lifted to clips:
``r3d_18`` uses full 3x3x3 kernels, ``mc3_18`` ("mixed convolutions") keeps full 3-D kernels in
the first stage and purely spatial 1x3x3 kernels afterwards, and ``r2plus1d_18`` factors each
kernel into a spatial 1x3x3 convolution followed by a temporal 3x1x1 one, with the hidden
width chosen so that the parameter count matches the full 3-D kernel.
State_dict keys equal torchvision's (``stem.0.weight``, ``layer1.0.conv1.0.weight``, ...,
``fc.weight``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .... import flatten, nn
from ...._tensor import Tensor
from .. import _api
from .._utils import _no_pretrained, _ovewrite_named_param

__all__ = ["VideoResNet", "R3D_18_Weights", "MC3_18_Weights", "R2Plus1D_18_Weights", "r3d_18",
           "mc3_18", "r2plus1d_18"]


class Conv3DSimple(nn.Conv3d):
    """A full 3x3x3 convolution without bias (``midplanes`` is accepted and ignored, so that
    all three convolution makers share one signature).

    Example:
        >>> conv = Conv3DSimple(3, 8, stride=2)
        >>> conv(ember.randn(1, 3, 4, 8, 8)).shape
        torch.Size([1, 8, 2, 4, 4])
    """

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None,
                 stride: int = 1, padding: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride,
                         padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of the 1x1x1 shortcut matching this maker: every axis strided."""
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """A (2+1)-D convolution: spatial 1x3x3 to ``midplanes`` channels, norm, ReLU, then
    temporal 3x1x1 to ``out_planes`` (the caller adds the final norm and activation).

    Example:
        >>> conv = Conv2Plus1D(4, 8, midplanes=6)
        >>> conv(ember.randn(1, 4, 3, 8, 8)).shape
        torch.Size([1, 8, 3, 8, 8])
    """

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1,
                 padding: int = 1) -> None:
        spatial = nn.Conv3d(in_planes, midplanes, kernel_size=(1, 3, 3),
                            stride=(1, stride, stride), padding=(0, padding, padding),
                            bias=False)
        temporal = nn.Conv3d(midplanes, out_planes, kernel_size=(3, 1, 1),
                             stride=(stride, 1, 1), padding=(padding, 0, 0), bias=False)
        super().__init__(spatial, nn.BatchNorm3d(midplanes), nn.ReLU(inplace=True), temporal)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of the 1x1x1 shortcut matching this maker: every axis strided."""
        return stride, stride, stride


class Conv3DNoTemporal(nn.Conv3d):
    """A purely spatial 1x3x3 convolution without bias; time is neither mixed nor strided.

    Example:
        >>> conv = Conv3DNoTemporal(3, 8, stride=2)
        >>> conv(ember.randn(1, 3, 4, 8, 8)).shape
        torch.Size([1, 8, 4, 4, 4])
    """

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None,
                 stride: int = 1, padding: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(1, 3, 3), stride=(1, stride, stride),
                         padding=(0, padding, padding), bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of the 1x1x1 shortcut matching this maker: only height and width."""
        return 1, stride, stride


def _zero_bias(m: nn.Module) -> None:
    if m.bias is not None:
        nn.init.zeros_(m.bias)


def _init_video_resnet(model: nn.Module, zero_init_residual: bool) -> None:
    # He-normal convolutions (fan-out), identity norms, a narrow normal classifier, all biases
    # zero; one pass in module order keeps the random draws in torchvision's order
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            _zero_bias(m)
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            _zero_bias(m)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.01)
            _zero_bias(m)
    if not zero_init_residual:
        return
    # torchvision 0.28's behaviour, kept as it is: basic blocks are left unchanged, and a
    # bottleneck block fails looking for a ``bn3`` attribute these blocks do not have
    for m in model.modules():
        if isinstance(m, Bottleneck):
            raise AttributeError(f"'{type(m).__name__}' object has no attribute 'bn3'")


def _mid_width(inplanes: int, planes: int) -> int:
    # the (2+1)-D hidden width that gives the factored pair about as many weights as one
    # inplanes x planes x 3x3x3 kernel: in*out*27 = mid * (in*9 + out*3)
    return (inplanes * planes * 27) // (inplanes * 9 + planes * 3)


def _conv_bn(conv: nn.Module, width: int, relu: bool) -> nn.Sequential:
    layers = [conv, nn.BatchNorm3d(width)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two lifted 3x3 convolutions with a residual connection (``expansion = 1``).

    ``conv_builder`` is one of :class:`Conv3DSimple`, :class:`Conv3DNoTemporal` or
    :class:`Conv2Plus1D`; ``downsample`` (if given) maps the input onto the output's shape.

    Example:
        >>> block = BasicBlock(8, 8, Conv3DSimple)
        >>> block(ember.randn(1, 8, 2, 4, 4)).shape
        torch.Size([1, 8, 2, 4, 4])
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, conv_builder: Callable[..., nn.Module],
                 stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        mid = _mid_width(inplanes, planes)
        self.conv1 = _conv_bn(conv_builder(inplanes, planes, mid, stride), planes, relu=True)
        self.conv2 = _conv_bn(conv_builder(planes, planes, mid), planes, relu=False)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class Bottleneck(nn.Module):
    """1x1x1 reduction, a lifted 3x3 convolution, 1x1x1 expansion (``expansion = 4``), with a
    residual connection.

    Example:
        >>> block = Bottleneck(16, 4, Conv3DSimple)
        >>> block(ember.randn(1, 16, 2, 4, 4)).shape
        torch.Size([1, 16, 2, 4, 4])
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, conv_builder: Callable[..., nn.Module],
                 stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        mid = _mid_width(inplanes, planes)
        wide = planes * self.expansion
        self.conv1 = _conv_bn(nn.Conv3d(inplanes, planes, kernel_size=1, bias=False), planes,
                              relu=True)
        self.conv2 = _conv_bn(conv_builder(planes, planes, mid, stride), planes, relu=True)
        self.conv3 = _conv_bn(nn.Conv3d(planes, wide, kernel_size=1, bias=False), wide,
                              relu=False)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class BasicStem(nn.Sequential):
    """The R3D / MC3 stem: a 3x7x7 convolution (spatial stride 2) to 64 channels, norm, ReLU.

    Example:
        >>> BasicStem()(ember.randn(1, 3, 2, 16, 16)).shape
        torch.Size([1, 64, 2, 8, 8])
    """

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3),
                      bias=False),
            nn.BatchNorm3d(64), nn.ReLU(inplace=True))


class R2Plus1dStem(nn.Sequential):
    """The R(2+1)D stem: a spatial 1x7x7 convolution (stride 2) to 45 channels, then a
    temporal 3x1x1 one to 64, each followed by a norm and ReLU.

    Example:
        >>> R2Plus1dStem()(ember.randn(1, 3, 2, 16, 16)).shape
        torch.Size([1, 64, 2, 8, 8])
    """

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3),
                      bias=False),
            nn.BatchNorm3d(45), nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0),
                      bias=False),
            nn.BatchNorm3d(64), nn.ReLU(inplace=True))


class VideoResNet(nn.Module):
    """A residual network over clips ``(N, 3, T, H, W)``: stem, four stages (64, 128, 256, 512
    planes; the last three halve the resolution), global average pooling and a linear head.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        conv_makers: one convolution maker per stage (see :class:`BasicBlock`).
        layers: the number of blocks per stage.
        stem: a callable building the stem module (:class:`BasicStem`, :class:`R2Plus1dStem`).
        num_classes (int): classifier outputs (400 for Kinetics-400).
        zero_init_residual (bool): as in torchvision 0.28, changes nothing for basic blocks
            and raises ``AttributeError`` for bottleneck blocks.

    Example:
        >>> model = VideoResNet(BasicBlock, [Conv3DSimple] * 4, [1, 1, 1, 1], BasicStem, 7)
        >>> model.eval()(ember.randn(1, 3, 4, 16, 16)).shape
        torch.Size([1, 7])
    """

    def __init__(self, block: type[BasicBlock | Bottleneck],
                 conv_makers: Sequence[type[Conv3DSimple | Conv3DNoTemporal | Conv2Plus1D]],
                 layers: list[int], stem: Callable[..., nn.Module], num_classes: int = 400,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        self.inplanes = 64
        self.stem = stem()
        # four stages of 64, 128, 256, 512 planes; all but the first halve the grid
        for index, planes in enumerate((64, 128, 256, 512)):
            stage = self._make_layer(block, conv_makers[index], planes, layers[index],
                                     stride=2 if index else 1)
            setattr(self, f"layer{index + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_video_resnet(self, zero_init_residual)

    def _make_layer(self, block: type[BasicBlock | Bottleneck],
                    conv_builder: type[Conv3DSimple | Conv3DNoTemporal | Conv2Plus1D],
                    planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        width = planes * block.expansion
        shortcut = None
        if stride != 1 or self.inplanes != width:
            shortcut = nn.Sequential(
                nn.Conv3d(self.inplanes, width, kernel_size=1,
                          stride=conv_builder.get_downsample_stride(stride), bias=False),
                nn.BatchNorm3d(width))
        stage = [block(self.inplanes, planes, conv_builder, stride, shortcut)]
        self.inplanes = width
        stage += [block(width, planes, conv_builder) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return self.fc(flatten(self.avgpool(x), 1))


_KINETICS = "https://github.com/pytorch/vision/tree/main/references/video_classification"


def _video_enum(name: str, module: str, members: list[tuple[str, str, dict[str, Any]]],
                default: str = "KINETICS400_V1") -> type[_api.WeightsEnum]:
    # names, addresses and metadata only: ember downloads nothing
    values = {member: _api.Weights(_api._URL + file, _api._no_transforms, dict(meta))
              for member, file, meta in members}
    values["DEFAULT"] = values[default]  # an equal value makes DEFAULT an alias
    enum = _api.WeightsEnum(name, list(values.items()))
    enum.__module__ = module
    enum.__doc__ = (f"The Kinetics-400 checkpoints of torchvision's ``{name}`` (names, "
                    "addresses and metadata; ember downloads nothing).\n\n    Example:\n"
                    f"        >>> {name}.DEFAULT.url.startswith('https://')\n        True\n")
    return enum


def _kinetics_meta(num_params: int, top1: float, top5: float) -> dict[str, Any]:
    return {"min_size": (1, 1), "num_params": num_params, "recipe": _KINETICS,
            "_metrics": {"Kinetics-400": {"acc@1": top1, "acc@5": top5}}}


R3D_18_Weights = _video_enum("R3D_18_Weights", __name__, [
    ("KINETICS400_V1", "r3d_18-b3b3357e.pth", _kinetics_meta(33371472, 63.2, 83.479))])
MC3_18_Weights = _video_enum("MC3_18_Weights", __name__, [
    ("KINETICS400_V1", "mc3_18-a90a0ba3.pth", _kinetics_meta(11695440, 63.96, 84.13))])
R2Plus1D_18_Weights = _video_enum("R2Plus1D_18_Weights", __name__, [
    ("KINETICS400_V1", "r2plus1d_18-91a641e6.pth", _kinetics_meta(31505325, 67.463, 86.175))])


def _check_weights(name: str, enum: type[_api.WeightsEnum], weights: Any,
                   kwargs: dict[str, Any]) -> None:
    # as torchvision: a foreign enum member is a TypeError, a checkpoint pins num_classes to
    # its 400 Kinetics classes; then ember refuses to download it
    weights = enum.verify(weights)
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", 400)
    _no_pretrained(name, weights, kwargs)


def _video_resnet(name: str, enum: type[_api.WeightsEnum], weights: Any,
                  conv_makers: list[type[nn.Module]], stem: Callable[..., nn.Module],
                  kwargs: dict[str, Any]) -> VideoResNet:
    _check_weights(name, enum, weights, kwargs)
    return VideoResNet(BasicBlock, conv_makers, [2, 2, 2, 2], stem, **kwargs)


def r3d_18(*, weights: R3D_18_Weights | None = None, progress: bool = True,
           **kwargs: Any) -> VideoResNet:
    """R3D-18: an 18-layer ResNet with full 3x3x3 convolutions throughout.

    Args:
        weights: must be None; ember cannot download pretrained weights. Build the model and
            ``load_state_dict`` a saved torchvision ``state_dict`` instead.
        progress (bool): accepted for torchvision compatibility; unused.
        **kwargs: passed on to :class:`VideoResNet` (``num_classes``, ``zero_init_residual``).

    Example:
        >>> model = r3d_18(num_classes=5).eval()
        >>> model(ember.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 5])
    """
    return _video_resnet("r3d_18", R3D_18_Weights, weights, [Conv3DSimple] * 4, BasicStem,
                         kwargs)


def mc3_18(*, weights: MC3_18_Weights | None = None, progress: bool = True,
           **kwargs: Any) -> VideoResNet:
    """MC3-18: full 3-D convolutions in the first stage, spatial-only 1x3x3 ones after it;
    arguments as :func:`r3d_18`.

    Example:
        >>> mc3_18(num_classes=5).eval()(ember.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 5])
    """
    return _video_resnet("mc3_18", MC3_18_Weights, weights,
                         [Conv3DSimple] + [Conv3DNoTemporal] * 3, BasicStem, kwargs)


def r2plus1d_18(*, weights: R2Plus1D_18_Weights | None = None, progress: bool = True,
                **kwargs: Any) -> VideoResNet:
    """R(2+1)D-18: every 3-D convolution factored into spatial then temporal parts;
    arguments as :func:`r3d_18`.

    Example:
        >>> r2plus1d_18(num_classes=5).eval()(ember.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 5])
    """
    return _video_resnet("r2plus1d_18", R2Plus1D_18_Weights, weights, [Conv2Plus1D] * 4,
                         R2Plus1dStem, kwargs)
