"""Quantizable MobileNetV2 (torchvision.models.quantization.mobilenetv2).

The float :class:`~ember.vision.models.mobilenet.MobileNetV2` with quant/dequant stubs, the
residual sum as a ``FloatFunctional`` and ``fuse_model``. The builder swaps every ReLU6 for a
plain ReLU (the quantized kernels fuse conv+ReLU only), as torchvision does.
"""

from __future__ import annotations

from typing import Any

from .... import nn
from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from .._api import MobileNet_V2_Weights  # noqa: F401
from .._utils import Conv2dNormActivation
from ..mobilenet import InvertedResidual, MobileNetV2
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableMobileNetV2", "MobileNet_V2_QuantizedWeights", "mobilenet_v2"]


class QuantizableInvertedResidual(InvertedResidual):
    """MobileNetV2's bottleneck with its skip sum done by ``skip_add`` (observable).

    Example:
        >>> QuantizableInvertedResidual(8, 8, 1, 6)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip_add = FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.conv(x))
        return self.conv(x)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse the projection conv with its BatchNorm, in place."""
        for index, layer in enumerate(self.conv):
            if type(layer) is nn.Conv2d:
                _fuse_modules(self.conv, [str(index), str(index + 1)], is_qat, inplace=True)


class QuantizableMobileNetV2(MobileNetV2):
    """:class:`~ember.vision.models.mobilenet.MobileNetV2` framed by ``quant``/``dequant``;
    build it with ``block=QuantizableInvertedResidual``.

    Example:
        >>> m = QuantizableMobileNetV2(num_classes=3, block=QuantizableInvertedResidual)
        >>> m.eval()(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse every conv+bn+relu (``Conv2dNormActivation``) and each block's projection
        conv+bn, in place.

        Example:
            >>> m = mobilenet_v2(num_classes=3).eval(); m.fuse_model()
            >>> type(m.features[0][0]).__name__
            'ConvReLU2d'
        """
        for module in self.modules():
            if type(module) is Conv2dNormActivation:
                _fuse_modules(module, ["0", "1", "2"], is_qat, inplace=True)
            if type(module) is QuantizableInvertedResidual:
                module.fuse_model(is_qat)


MobileNet_V2_QuantizedWeights = _quantized_weights(
    "MobileNet_V2_QuantizedWeights", __name__, "IMAGENET1K_QNNPACK_V1",
    [("IMAGENET1K_QNNPACK_V1", "mobilenet_v2_qnnpack_37f702c5.pth", 3504872, "qnnpack",
      "MobileNet_V2_Weights.IMAGENET1K_V1", 1)])


def mobilenet_v2(
        *, weights: MobileNet_V2_QuantizedWeights | MobileNet_V2_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableMobileNetV2:
    """Quantizable MobileNetV2 (ReLU6 replaced by ReLU). ``quantize=True`` returns it
    quantized for qnnpack (with ``weights=None`` the scales come from one random batch);
    ``weights`` must be ``None`` (ember downloads nothing).

    Example:
        >>> mobilenet_v2().features[0][2]
        ReLU()
    """
    from .. import _api

    _check_weights("mobilenet_v2", weights, quantize, MobileNet_V2_QuantizedWeights,
                   _api.get_model_weights("mobilenet_v2"), kwargs)
    model = QuantizableMobileNetV2(block=QuantizableInvertedResidual, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "qnnpack")
    return model
