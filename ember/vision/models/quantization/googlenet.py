"""Quantizable GoogLeNet (torchvision.models.quantization.googlenet).

The float :class:`~ember.vision.models.googlenet.GoogLeNet` built from quantizable blocks:
each conv unit owns its ReLU module (fusable), each Inception block concatenates through a
``FloatFunctional``, the auxiliary heads use ReLU/Dropout modules; quant/dequant stubs frame
the network and ``fuse_model`` fuses every conv+bn+relu.
"""

from __future__ import annotations

from typing import Any

from .... import flatten, nn
from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from .._api import GoogLeNet_Weights  # noqa: F401
from ..googlenet import BasicConv2d, GoogLeNet, Inception, InceptionAux
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableGoogLeNet", "GoogLeNet_QuantizedWeights", "googlenet"]


class QuantizableBasicConv2d(BasicConv2d):
    """Conv -> BatchNorm -> ``self.relu`` (a module, so that the three can fuse).

    Example:
        >>> QuantizableBasicConv2d(3, 4, kernel_size=1)(ember.randn(1, 3, 2, 2)).shape
        torch.Size([1, 4, 2, 2])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse conv+bn+relu, in place."""
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


class QuantizableInception(Inception):
    """GoogLeNet block whose branch concatenation is ``self.cat``.

    Example:
        >>> QuantizableInception(8, 2, 2, 2, 2, 2, 2)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.cat = FloatFunctional()

    def forward(self, x):
        return self.cat.cat(self._forward(x), 1)


class QuantizableInceptionAux(InceptionAux):
    """Auxiliary classifier with ``relu`` and ``dropout`` as modules.

    Example:
        >>> QuantizableInceptionAux(8, 3)(ember.randn(1, 8, 4, 4)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv(nn.functional.adaptive_avg_pool2d(x, (4, 4)))
        x = self.relu(self.fc1(flatten(x, 1)))
        return self.fc2(self.dropout(x))


class QuantizableGoogLeNet(GoogLeNet):
    """:class:`~ember.vision.models.googlenet.GoogLeNet` of quantizable blocks, framed by
    ``quant``/``dequant``.

    Example:
        >>> m = QuantizableGoogLeNet(num_classes=3, aux_logits=False, init_weights=False)
        >>> m.eval()(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["blocks"] = [QuantizableBasicConv2d, QuantizableInception,
                            QuantizableInceptionAux]
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x, aux2, aux1 = self._forward(self.quant(self._transform_input(x)))
        x = self.dequant(x)
        return self.eager_outputs(x, aux2, aux1)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse every conv+bn+relu unit, in place."""
        for module in self.modules():
            if type(module) is QuantizableBasicConv2d:
                module.fuse_model(is_qat)


GoogLeNet_QuantizedWeights = _quantized_weights(
    "GoogLeNet_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V1",
    [("IMAGENET1K_FBGEMM_V1", "googlenet_fbgemm-c81f6644.pth", 6624904, "fbgemm",
      "GoogLeNet_Weights.IMAGENET1K_V1", 15)])


def googlenet(
        *, weights: GoogLeNet_QuantizedWeights | GoogLeNet_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableGoogLeNet:
    """Quantizable GoogLeNet. ``quantize=True`` returns it quantized for fbgemm (with
    ``weights=None`` the scales come from one random batch); ``weights`` must be ``None``.

    Example:
        >>> type(googlenet(init_weights=False).inception3a).__name__
        'QuantizableInception'
    """
    from .. import _api

    _check_weights("googlenet", weights, quantize, GoogLeNet_QuantizedWeights,
                   _api.get_model_weights("googlenet"), kwargs)
    model = QuantizableGoogLeNet(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "fbgemm")
    return model
