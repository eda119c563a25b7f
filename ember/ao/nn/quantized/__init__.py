"""``ember.ao.nn.quantized``: modules that compute on quantized tensors (``convert`` puts them
in place of float modules): ``Quantize``, ``DeQuantize``, ``Linear``, ``Conv1d``/``2d``/``3d``,
``ReLU6``, ``ELU``, ``LeakyReLU``, the fused ``LinearReLU``/``ConvReLU1d``/``2d``/``3d``, and
``FloatFunctional``/``QFunctional`` (add, cat ... as modules). ``dynamic`` holds the
dynamic-quantization ones.

Integer arithmetic is done exactly (int64, or float64 for convolution, where every partial sum
of 8-bit products is an exact integer); the requantization to the output's scale is
``round(acc * x_scale * w_scale + bias) / scale`` in float, so results may differ from
PyTorch's FBGEMM kernels by one quantum where a value falls on a rounding boundary.
"""

from .functional_modules import FloatFunctional, QFunctional  # noqa: F401
from .modules import (  # noqa: F401
    ELU,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvReLU1d,
    ConvReLU2d,
    ConvReLU3d,
    DeQuantize,
    Hardswish,
    LeakyReLU,
    Linear,
    LinearReLU,
    Quantize,
    ReLU6,
)

__all__ = ["Quantize", "DeQuantize", "Linear", "Conv1d", "Conv2d", "Conv3d", "ReLU6",
           "LinearReLU", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "FloatFunctional",
           "QFunctional", "dynamic", "functional", "Hardswish", "ELU", "LeakyReLU"]


def __getattr__(name):
    if name in ("dynamic", "functional"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
