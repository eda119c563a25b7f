"""``ember.ao.nn.quantized``: modules that compute on quantized tensors (``convert`` puts them
in place of float modules): ``Quantize``, ``DeQuantize``, ``Linear``, ``Conv2d``, ``ReLU6``,
the fused ``LinearReLU``/``ConvReLU2d``, and ``FloatFunctional``/``QFunctional`` (add, cat ...
as modules). ``dynamic`` holds the dynamic-quantization ones.

Integer arithmetic is done exactly (int64, or float64 for convolution, where every partial sum
of 8-bit products is an exact integer); the requantization to the output's scale is
``round(acc * x_scale * w_scale + bias) / scale`` in float, so results may differ from
PyTorch's FBGEMM kernels by one quantum where a value falls on a rounding boundary.
"""

from .functional_modules import FloatFunctional, QFunctional  # noqa: F401
from .modules import (  # noqa: F401
    Conv2d,
    ConvReLU2d,
    DeQuantize,
    Hardswish,
    Linear,
    LinearReLU,
    Quantize,
    ReLU6,
)

__all__ = ["Quantize", "DeQuantize", "Linear", "Conv2d", "ReLU6", "LinearReLU", "ConvReLU2d",
           "FloatFunctional", "QFunctional", "dynamic", "Hardswish"]


def __getattr__(name):
    if name == "dynamic":
        import importlib

        return importlib.import_module(f"{__name__}.dynamic")
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
