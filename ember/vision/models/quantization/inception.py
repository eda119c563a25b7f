"""Quantizable Inception v3 (torchvision.models.quantization.inception).

The float :class:`~ember.vision.models.inception.Inception3` built from quantizable blocks:
conv units with their own ReLU module (fusable), every concatenation a ``FloatFunctional``
(``myop``; block E has ``myop1``/``myop2`` for its split branches and ``myop3`` for the
output), quant/dequant stubs and ``fuse_model``.
"""

from __future__ import annotations

from typing import Any

from .... import nn
from ....ao.nn.quantized import FloatFunctional
from ....ao.quantization import DeQuantStub, QuantStub
from .. import inception as _float
from .._api import Inception_V3_Weights  # noqa: F401
from .utils import _check_weights, _fuse_modules, _quantized_weights, _replace_relu, quantize_model

__all__ = ["QuantizableInception3", "Inception_V3_QuantizedWeights", "inception_v3"]


class QuantizableBasicConv2d(_float.BasicConv2d):
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


def _with_cat(base, doc: str):
    """``base`` built of quantizable convs, concatenating its branches with ``self.myop``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, *args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop = FloatFunctional()

    def forward(self, x):
        return self.myop.cat(self._forward(x), 1)

    name = "Quantizable" + base.__name__
    return type(name, (base,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                "__module__": __name__, "__qualname__": name})


QuantizableInceptionA = _with_cat(_float.InceptionA, "Inception v3 block A (35x35), quantizable.")
QuantizableInceptionB = _with_cat(_float.InceptionB, "Inception v3 block B (grid reduction), "
                                  "quantizable.")
QuantizableInceptionC = _with_cat(_float.InceptionC, "Inception v3 block C (17x17), quantizable.")
QuantizableInceptionD = _with_cat(_float.InceptionD, "Inception v3 block D (grid reduction), "
                                  "quantizable.")


class QuantizableInceptionE(_float.InceptionE):
    """Inception v3 block E (8x8): the two split 3x3 branches concatenate through ``myop1``
    and ``myop2``, the four branches through ``myop3``.

    Example:
        >>> QuantizableInceptionE(8)(ember.randn(1, 8, 3, 3)).shape
        torch.Size([1, 2048, 3, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop1 = FloatFunctional()
        self.myop2 = FloatFunctional()
        self.myop3 = FloatFunctional()

    def _forward(self, x):
        mid = self.branch3x3_1(x)
        split = self.myop1.cat([self.branch3x3_2a(mid), self.branch3x3_2b(mid)], 1)
        deep = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        deep_split = self.myop2.cat([self.branch3x3dbl_3a(deep), self.branch3x3dbl_3b(deep)],
                                    1)
        pooled = nn.functional.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return [self.branch1x1(x), split, deep_split, self.branch_pool(pooled)]

    def forward(self, x):
        return self.myop3.cat(self._forward(x), 1)


class QuantizableInceptionAux(_float.InceptionAux):
    """The auxiliary classifier built of quantizable convs.

    Example:
        >>> QuantizableInceptionAux(8, 3).eval()(ember.randn(1, 8, 17, 17)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)


class QuantizableInception3(_float.Inception3):
    """:class:`~ember.vision.models.inception.Inception3` of quantizable blocks, framed by
    ``quant``/``dequant``.

    Example:
        >>> m = QuantizableInception3(num_classes=3, aux_logits=False, init_weights=False)
        >>> m.eval()(ember.randn(1, 3, 75, 75)).shape
        torch.Size([1, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["inception_blocks"] = [QuantizableBasicConv2d, QuantizableInceptionA,
                                      QuantizableInceptionB, QuantizableInceptionC,
                                      QuantizableInceptionD, QuantizableInceptionE,
                                      QuantizableInceptionAux]
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        x, aux = self._forward(self.quant(self._transform_input(x)))
        return self.eager_outputs(self.dequant(x), aux)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuse every conv+bn+relu unit, in place."""
        for module in self.modules():
            if type(module) is QuantizableBasicConv2d:
                module.fuse_model(is_qat)


Inception_V3_QuantizedWeights = _quantized_weights(
    "Inception_V3_QuantizedWeights", __name__, "IMAGENET1K_FBGEMM_V1",
    [("IMAGENET1K_FBGEMM_V1", "inception_v3_google_fbgemm-a2837893.pth", 27161264, "fbgemm",
      "Inception_V3_Weights.IMAGENET1K_V1", 75)])


def inception_v3(
        *, weights: Inception_V3_QuantizedWeights | Inception_V3_Weights | None = None,
        progress: bool = True, quantize: bool = False, **kwargs: Any
) -> QuantizableInception3:
    """Quantizable Inception v3. ``quantize=True`` returns it quantized for fbgemm (with
    ``weights=None`` the scales come from one random batch); ``weights`` must be ``None``.

    Example:
        >>> type(inception_v3(init_weights=False).Mixed_7b).__name__
        'QuantizableInceptionE'
    """
    from .. import _api

    _check_weights("inception_v3", weights, quantize, Inception_V3_QuantizedWeights,
                   _api.get_model_weights("inception_v3"), kwargs)
    model = QuantizableInception3(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, "fbgemm")
    return model
