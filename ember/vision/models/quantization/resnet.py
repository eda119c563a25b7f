"""Quantizable ResNet / ResNeXt (torchvision.models.quantization.resnet).

The float model of :mod:`ember.vision.models.resnet` with what eager-mode quantization needs:
``QuantStub``/``DeQuantStub`` around the network, the residual sum done by a
``FloatFunctional`` (``add_relu``) so that it gets its own observer, one ReLU module per use
(fusable), and ``fuse_model``. State_dict keys equal the float model's, so a float checkpoint
loads unchanged.
"""

from __future__ import annotations

from typing import Any

from .... import flatten, nn
from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from .._api import (  # noqa: F401
    ResNet18_Weights,
    ResNet50_Weights,
    ResNeXt101_32X8D_Weights,
    ResNeXt101_64X4D_Weights,
)
from .._utils import _ovewrite_named_param
from ..resnet import BasicBlock, Bottleneck, ResNet
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableResNet", "ResNet18_QuantizedWeights", "ResNet50_QuantizedWeights",
           "ResNeXt101_32X8D_QuantizedWeights", "ResNeXt101_64X4D_QuantizedWeights", "resnet18",
           "resnet50", "resnext101_32x8d", "resnext101_64x4d"]


class QuantizableBasicBlock(BasicBlock):
    """:class:`~ember.vision.models.resnet.BasicBlock` whose shortcut sum and final ReLU are
    one ``FloatFunctional.add_relu`` (a single quantized op).

    Example:
        >>> QuantizableBasicBlock(8, 8)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_relu = FloatFunctional()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.add_relu.add_relu(out, shortcut)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse conv1+bn1+relu, conv2+bn2 and the projection's conv+bn, in place."""
        _fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]], is_qat, inplace=True)
        if self.downsample is not None:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableBottleneck(Bottleneck):
    """:class:`~ember.vision.models.resnet.Bottleneck` with a ReLU module per activation
    (``relu1``, ``relu2``; ``relu`` stays for the key layout) and the shortcut sum plus ReLU
    done by ``skip_add_relu``.

    Example:
        >>> down = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16))
        >>> QuantizableBottleneck(8, 4, downsample=down)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip_add_relu = FloatFunctional()
        self.relu1 = nn.ReLU(inplace=False)
        self.relu2 = nn.ReLU(inplace=False)

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.skip_add_relu.add_relu(out, shortcut)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse the three conv+bn(+relu) runs and the projection's conv+bn, in place."""
        _fuse_modules(self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"],
                             ["conv3", "bn3"]], is_qat, inplace=True)
        if self.downsample is not None:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableResNet(ResNet):
    """:class:`~ember.vision.models.resnet.ResNet` framed by ``quant``/``dequant`` stubs, so
    that ``prepare``/``convert`` can quantize it; build it with the quantizable blocks.

    Example:
        >>> m = QuantizableResNet(QuantizableBasicBlock, [1, 1, 1, 1], num_classes=3)
        >>> m.eval()(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.quant(x)))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.fc(flatten(self.avgpool(x), 1))
        return self.dequant(x)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse the stem's conv1+bn1+relu and every block's runs, in place (eval models fold
        BatchNorm into the conv; training ones, or ``is_qat=True``, keep it for QAT). The
        numerics do not change.

        Example:
            >>> m = QuantizableResNet(QuantizableBasicBlock, [1, 1, 1, 1]).eval()
            >>> m.fuse_model(); type(m.conv1).__name__
            'ConvReLU2d'
        """
        _fuse_modules(self, ["conv1", "bn1", "relu"], is_qat, inplace=True)
        for block in self.modules():
            if type(block) in (QuantizableBasicBlock, QuantizableBottleneck):
                block.fuse_model(is_qat)


_FB = "fbgemm"
ResNet18_QuantizedWeights = _quantized_weights(
    "ResNet18_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V1",
    [("IMAGENET1K_FBGEMM_V1", "resnet18_fbgemm_16fa66dd.pth", 11689512, _FB,
      "ResNet18_Weights.IMAGENET1K_V1", 1)])
ResNet50_QuantizedWeights = _quantized_weights(
    "ResNet50_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V2",
    [("IMAGENET1K_FBGEMM_V1", "resnet50_fbgemm_bf931d71.pth", 25557032, _FB,
      "ResNet50_Weights.IMAGENET1K_V1", 1),
     ("IMAGENET1K_FBGEMM_V2", "resnet50_fbgemm-23753f79.pth", 25557032, _FB,
      "ResNet50_Weights.IMAGENET1K_V2", 1)])
ResNeXt101_32X8D_QuantizedWeights = _quantized_weights(
    "ResNeXt101_32X8D_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V2",
    [("IMAGENET1K_FBGEMM_V1", "resnext101_32x8_fbgemm_09835ccf.pth", 88791336, _FB,
      "ResNeXt101_32X8D_Weights.IMAGENET1K_V1", 1),
     ("IMAGENET1K_FBGEMM_V2", "resnext101_32x8_fbgemm-ee16d00c.pth", 88791336, _FB,
      "ResNeXt101_32X8D_Weights.IMAGENET1K_V2", 1)])
ResNeXt101_64X4D_QuantizedWeights = _quantized_weights(
    "ResNeXt101_64X4D_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V1",
    [("IMAGENET1K_FBGEMM_V1", "resnext101_64x4d_fbgemm-605a1cb3.pth", 83455272, _FB,
      "ResNeXt101_64X4D_Weights.IMAGENET1K_V1", 1)])


def _resnet(name: str, block: type, layers: list[int], weights: Any, quantize: bool,
            quantized_enum, kwargs: dict[str, Any]) -> QuantizableResNet:
    from .. import _api

    float_enum = _api.get_model_weights(name)
    _check_weights(name, weights, quantize, quantized_enum, float_enum, kwargs)
    model = QuantizableResNet(block, layers, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "fbgemm")
    return model


def resnet18(
        *, weights: ResNet18_QuantizedWeights | ResNet18_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableResNet:
    """Quantizable ResNet-18. ``quantize=True`` returns it quantized for fbgemm (with
    ``weights=None`` the scales come from one random batch); ``weights`` must be ``None``
    (ember downloads nothing; load a saved state_dict).

    Example:
        >>> m = resnet18(num_classes=4).eval()
        >>> m.fuse_model(); type(m.layer1[0].conv1).__name__
        'ConvReLU2d'
    """
    return _resnet("resnet18", QuantizableBasicBlock, [2, 2, 2, 2], weights, quantize,
                   ResNet18_QuantizedWeights, kwargs)


def resnet50(
        *, weights: ResNet50_QuantizedWeights | ResNet50_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableResNet:
    """Quantizable ResNet-50 (see :func:`resnet18` for ``quantize``/``weights``).

    Example:
        >>> type(resnet50().layer1[0]).__name__
        'QuantizableBottleneck'
    """
    return _resnet("resnet50", QuantizableBottleneck, [3, 4, 6, 3], weights, quantize,
                   ResNet50_QuantizedWeights, kwargs)


def resnext101_32x8d(
        *, weights: ResNeXt101_32X8D_QuantizedWeights | ResNeXt101_32X8D_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableResNet:
    """Quantizable ResNeXt-101 32x8d (32 groups of width 8; see :func:`resnet18`).

    Example:
        >>> resnext101_32x8d().layer1[0].conv2.groups
        32
    """
    _ovewrite_named_param(kwargs, "groups", 32)
    _ovewrite_named_param(kwargs, "width_per_group", 8)
    return _resnet("resnext101_32x8d", QuantizableBottleneck, [3, 4, 23, 3], weights,
                   quantize, ResNeXt101_32X8D_QuantizedWeights, kwargs)


def resnext101_64x4d(
        *, weights: ResNeXt101_64X4D_QuantizedWeights | ResNeXt101_64X4D_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableResNet:
    """Quantizable ResNeXt-101 64x4d (64 groups of width 4; see :func:`resnet18`).

    Example:
        >>> resnext101_64x4d().layer1[0].conv2.groups
        64
    """
    _ovewrite_named_param(kwargs, "groups", 64)
    _ovewrite_named_param(kwargs, "width_per_group", 4)
    return _resnet("resnext101_64x4d", QuantizableBottleneck, [3, 4, 23, 3], weights,
                   quantize, ResNeXt101_64X4D_QuantizedWeights, kwargs)
