"""Quantizable MobileNetV3-Large (torchvision.models.quantization.mobilenetv3).

The float :class:`~ember.vision.models.mobilenetv3.MobileNetV3` with quant/dequant stubs,
``FloatFunctional`` for the squeeze-excitation product and the residual sum, and
``fuse_model``.
"""

from __future__ import annotations

from typing import Any

from .... import nn
from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from ...ops.layers import SqueezeExcitation
from .._api import MobileNet_V3_Large_Weights  # noqa: F401
from .._utils import Conv2dNormActivation
from ..mobilenetv3 import InvertedResidual, MobileNetV3, _mobilenet_v3_conf
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableMobileNetV3", "MobileNet_V3_Large_QuantizedWeights",
           "mobilenet_v3_large"]


class QuantizableSqueezeExcitation(SqueezeExcitation):
    """Squeeze-excitation (hard-sigmoid gate) whose gating product is ``skip_mul``.

    Example:
        >>> QuantizableSqueezeExcitation(8, 4)(ember.randn(1, 8, 3, 3)).shape
        torch.Size([1, 8, 3, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["scale_activation"] = nn.Hardsigmoid
        super().__init__(*args, **kwargs)
        self.skip_mul = FloatFunctional()

    def forward(self, input):
        return self.skip_mul.mul(self._scale(input), input)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse ``fc1`` with its ReLU, in place."""
        _fuse_modules(self, ["fc1", "activation"], is_qat, inplace=True)


class QuantizableInvertedResidual(InvertedResidual):
    """MobileNetV3's bottleneck with the quantizable squeeze-excitation and ``skip_add``.

    Example:
        >>> from ember.vision.models.mobilenetv3 import InvertedResidualConfig
        >>> cnf = InvertedResidualConfig(16, 3, 64, 16, True, "RE", 1, 1, 1.0)
        >>> QuantizableInvertedResidual(cnf, nn.BatchNorm2d)(ember.randn(1, 16, 4, 4)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, se_layer=QuantizableSqueezeExcitation, **kwargs)
        self.skip_add = FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.block(x))
        return self.block(x)


class QuantizableMobileNetV3(MobileNetV3):
    """:class:`~ember.vision.models.mobilenetv3.MobileNetV3` framed by ``quant``/``dequant``;
    build it with ``block=QuantizableInvertedResidual``.

    Example:
        >>> setting, last = _mobilenet_v3_conf("mobilenet_v3_large")
        >>> m = QuantizableMobileNetV3(setting, last, block=QuantizableInvertedResidual)
        >>> m.eval()(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 1000])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse conv+bn (+relu; Hardswish stays apart) of every ``Conv2dNormActivation`` and
        each squeeze-excitation's fc1+relu, in place."""
        for module in self.modules():
            if type(module) is Conv2dNormActivation:
                names = ["0", "1"]
                if len(module) == 3 and type(module[2]) is nn.ReLU:
                    names.append("2")
                _fuse_modules(module, names, is_qat, inplace=True)
            elif type(module) is QuantizableSqueezeExcitation:
                module.fuse_model(is_qat)


MobileNet_V3_Large_QuantizedWeights = _quantized_weights(
    "MobileNet_V3_Large_QuantizedWeights", __name__, "IMAGENET1K_QNNPACK_V1",
    [("IMAGENET1K_QNNPACK_V1", "mobilenet_v3_large_qnnpack-5bcacf28.pth", 5483032, "qnnpack",
      "MobileNet_V3_Large_Weights.IMAGENET1K_V1", 1)])


def mobilenet_v3_large(
        *, weights: MobileNet_V3_Large_QuantizedWeights | MobileNet_V3_Large_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableMobileNetV3:
    """Quantizable MobileNetV3-Large; ``width_mult``, ``reduced_tail``, ``dilated`` shape
    the table. ``quantize=True`` returns it fused, prepared and converted for qnnpack with no
    calibration run (every scale 1.0, as torchvision's ``weights=None`` path gives);
    ``weights`` must be ``None`` (ember downloads nothing).

    Example:
        >>> type(mobilenet_v3_large().features[4].block[2]).__name__
        'QuantizableSqueezeExcitation'
    """
    from .. import _api

    _check_weights("mobilenet_v3_large", weights, quantize, MobileNet_V3_Large_QuantizedWeights,
                   _api.get_model_weights("mobilenet_v3_large"), kwargs)
    table = {key: kwargs.pop(key) for key in ("width_mult", "reduced_tail", "dilated")
             if key in kwargs}
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_large", **table)
    model = QuantizableMobileNetV3(setting, last_channel, block=QuantizableInvertedResidual,
                                   **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "qnnpack", calibrate=False)
    return model
