"""Quantizable ShuffleNet V2 (torchvision.models.quantization.shufflenetv2).

The float :class:`~ember.vision.models.shufflenetv2.ShuffleNetV2` with quant/dequant stubs,
the branch concatenation as a ``FloatFunctional`` (``cat``) and ``fuse_model``.
"""

from __future__ import annotations

from typing import Any

from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from .._api import (  # noqa: F401
    ShuffleNet_V2_X0_5_Weights,
    ShuffleNet_V2_X1_0_Weights,
    ShuffleNet_V2_X1_5_Weights,
    ShuffleNet_V2_X2_0_Weights,
)
from ..shufflenetv2 import _CONFIGS, InvertedResidual, ShuffleNetV2, channel_shuffle
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableShuffleNetV2", "ShuffleNet_V2_X0_5_QuantizedWeights",
           "ShuffleNet_V2_X1_0_QuantizedWeights", "ShuffleNet_V2_X1_5_QuantizedWeights",
           "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
           "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


class QuantizableInvertedResidual(InvertedResidual):
    """ShuffleNet V2 unit whose branch concatenation is ``self.cat`` (observable).

    Example:
        >>> QuantizableInvertedResidual(8, 8, 1)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cat = FloatFunctional()

    def forward(self, x):
        if self.stride == 1:
            halves = x.chunk(2, dim=1)
            merged = self.cat.cat([halves[0], self.branch2(halves[1])], dim=1)
        else:
            merged = self.cat.cat([self.branch1(x), self.branch2(x)], dim=1)
        return channel_shuffle(merged, 2)


class QuantizableShuffleNetV2(ShuffleNetV2):
    """:class:`~ember.vision.models.shufflenetv2.ShuffleNetV2` with quantizable units,
    framed by ``quant``/``dequant``.

    Example:
        >>> m = QuantizableShuffleNetV2([1, 1, 1], [8, 16, 32, 64, 128], num_classes=3)
        >>> m.eval()(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, inverted_residual=QuantizableInvertedResidual,  # type: ignore
                         **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse the stem and ``conv5`` (conv+bn+relu) and every unit's conv+bn(+relu) runs,
        in place.

        Example:
            >>> m = shufflenet_v2_x0_5().eval(); m.fuse_model()
            >>> type(m.conv1[0]).__name__
            'ConvReLU2d'
        """
        for name in ("conv1", "conv5"):
            _fuse_modules(getattr(self, name), ["0", "1", "2"], is_qat, inplace=True)
        for unit in self.modules():
            if type(unit) is not QuantizableInvertedResidual:
                continue
            if len(unit.branch1) > 0:
                _fuse_modules(unit.branch1, [["0", "1"], ["2", "3", "4"]], is_qat,
                              inplace=True)
            _fuse_modules(unit.branch2, [["0", "1", "2"], ["3", "4"], ["5", "6", "7"]],
                          is_qat, inplace=True)


def _quantized(enum_name: str, file: str, num_params: int, float_enum: str):
    return _quantized_weights(enum_name, __name__, "IMAGENET1K_FBGEMM_V1",
                              [("IMAGENET1K_FBGEMM_V1", file, num_params, "fbgemm",
                                f"{float_enum}.IMAGENET1K_V1", 1)])


ShuffleNet_V2_X0_5_QuantizedWeights = _quantized(
    "ShuffleNet_V2_X0_5_QuantizedWeights", "shufflenetv2_x0.5_fbgemm-00845098.pth", 1366792,
    "ShuffleNet_V2_X0_5_Weights")
ShuffleNet_V2_X1_0_QuantizedWeights = _quantized(
    "ShuffleNet_V2_X1_0_QuantizedWeights", "shufflenetv2_x1_fbgemm-1e62bb32.pth", 2278604,
    "ShuffleNet_V2_X1_0_Weights")
ShuffleNet_V2_X1_5_QuantizedWeights = _quantized(
    "ShuffleNet_V2_X1_5_QuantizedWeights", "shufflenetv2_x1_5_fbgemm-d7401f05.pth", 3503624,
    "ShuffleNet_V2_X1_5_Weights")
ShuffleNet_V2_X2_0_QuantizedWeights = _quantized(
    "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenetv2_x2_0_fbgemm-5cac526c.pth", 7393996,
    "ShuffleNet_V2_X2_0_Weights")


def _shufflenetv2(name: str, quantized_enum, weights: Any, quantize: bool,
                  kwargs: dict) -> QuantizableShuffleNetV2:
    from .. import _api

    _check_weights(name, weights, quantize, quantized_enum, _api.get_model_weights(name),
                   kwargs)
    model = QuantizableShuffleNetV2(*_CONFIGS[name], **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "fbgemm")
    return model


def shufflenet_v2_x0_5(
        *, weights: ShuffleNet_V2_X0_5_QuantizedWeights | ShuffleNet_V2_X0_5_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x0.5. ``quantize=True`` returns it quantized for fbgemm
    (with ``weights=None`` the scales come from one random batch); ``weights`` must be
    ``None`` (ember downloads nothing).

    Example:
        >>> shufflenet_v2_x0_5(num_classes=3).fc.out_features
        3
    """
    return _shufflenetv2("shufflenet_v2_x0_5", ShuffleNet_V2_X0_5_QuantizedWeights, weights,
                         quantize, kwargs)


def shufflenet_v2_x1_0(
        *, weights: ShuffleNet_V2_X1_0_QuantizedWeights | ShuffleNet_V2_X1_0_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x1.0 (see :func:`shufflenet_v2_x0_5`).

    Example:
        >>> shufflenet_v2_x1_0().stage2[0].branch2[0].out_channels
        58
    """
    return _shufflenetv2("shufflenet_v2_x1_0", ShuffleNet_V2_X1_0_QuantizedWeights, weights,
                         quantize, kwargs)


def shufflenet_v2_x1_5(
        *, weights: ShuffleNet_V2_X1_5_QuantizedWeights | ShuffleNet_V2_X1_5_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x1.5 (see :func:`shufflenet_v2_x0_5`).

    Example:
        >>> shufflenet_v2_x1_5().stage2[0].branch2[0].out_channels
        88
    """
    return _shufflenetv2("shufflenet_v2_x1_5", ShuffleNet_V2_X1_5_QuantizedWeights, weights,
                         quantize, kwargs)


def shufflenet_v2_x2_0(
        *, weights: ShuffleNet_V2_X2_0_QuantizedWeights | ShuffleNet_V2_X2_0_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x2.0 (see :func:`shufflenet_v2_x0_5`).

    Example:
        >>> shufflenet_v2_x2_0().conv5[0].out_channels
        2048
    """
    return _shufflenetv2("shufflenet_v2_x2_0", ShuffleNet_V2_X2_0_QuantizedWeights, weights,
                         quantize, kwargs)
