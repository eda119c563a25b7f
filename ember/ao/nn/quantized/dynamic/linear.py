"""The dynamically quantized ``Linear``: float in, float out.

Each call quantizes the input per tensor with qparams chosen from its own range (quint8,
levels 0..127 under the x86 engines' ``reduce_range``, 0..255 under ``qnnpack``: see
``ember.backends.quantized.engine``), multiplies the integers by the int8 weight
exactly (int64), and reads the sum back as ``acc * (x_scale * w_scale) + bias`` in float32.
PyTorch's FBGEMM kernel orders that last float step differently, so outputs agree to about
one float32 ulp, not bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..... import _dtype as D
from ....._quantized_tensor import choose_qparams, quantize_ints
from ....._tensor import Tensor
from .....backends import quantized as engine
from ..modules import Linear as _QuantizedLinear
from ..modules import _centred, _weight_scales, quantize_weight

__all__ = ["Linear"]


class Linear(_QuantizedLinear):
    """A linear layer with int8 weights and dynamically quantized activations.

    Args:
        in_features, out_features (int): as ``nn.Linear``.
        bias_ (bool): whether there is a (float) bias.
        dtype: the weight's dtype: ``ember.qint8``, or ``ember.float16`` (weights rounded to
            float16, kept and multiplied as float32, as PyTorch's FBGEMM float16 kernel does).

    Example:
        >>> m = ember.ao.nn.quantized.dynamic.Linear(4, 2)
        >>> m.extra_repr()
        'in_features=4, out_features=2, dtype=torch.qint8, qscheme=torch.per_tensor_affine'
        >>> m(ember.ones(3, 4)).shape
        torch.Size([3, 2])
    """

    _NAME = "DynamicQuantizedLinear"
    _version = 4

    def __init__(self, in_features, out_features, bias_=True, dtype=D.qint8):
        super().__init__(in_features, out_features, bias_, dtype)
        if dtype is D.float16:
            self._weight = Tensor._make(np.zeros((out_features, in_features), np.float32),
                                        D.float32)
        elif dtype is not D.qint8:
            raise RuntimeError(f"Unsupported dtype specified for dynamic quantized Linear: "
                               f"{dtype}")

    def extra_repr(self):
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._packed_dtype()}")
        if self._packed_dtype() is D.float16:
            return text
        return text + f", qscheme={self._weight.qscheme()}"

    def forward(self, x: Tensor) -> Tensor:
        flat = np.asarray(x.detach()._data, np.float32).reshape(-1, self.in_features)
        if self._packed_dtype() is D.float16:
            out = flat @ np.asarray(self._weight._data, np.float32).T
            out = Tensor._make(out.reshape(*x.shape[:-1], self.out_features), D.float32)
            # PyTorch adds the bias Parameter outside its kernel: the output has a grad_fn
            return out if self._bias is None else out + self._bias
        # x86 engines quantize activations to 7 bits (their int16 accumulation stays exact)
        qmin, qmax = (0, 127) if engine.reduce_range() else (0, 255)
        lo, hi = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 0.0)
        x_scale, x_zero = choose_qparams(lo, hi, qmin, qmax)
        xq = quantize_ints(flat, np.float32(1) / np.float32(x_scale), x_zero, D.quint8)
        acc = (xq.astype(np.int64) - x_zero) @ _centred(self._weight).T
        multiplier = np.float32(x_scale) * _weight_scales(self._weight).astype(np.float32)
        out = acc.astype(np.float32) * multiplier
        if self._bias is not None:
            out = out + np.asarray(self._bias._data, np.float32)
        out = out.astype(np.float32).reshape(*x.shape[:-1], self.out_features)
        return Tensor._make(out, D.float32)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized form of a float ``nn.Linear`` carrying a ``qconfig``."""
        from .....ao.quantization.qconfig import default_dynamic_qconfig

        qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
        observer = qconfig.weight()
        float_mod = mod[0] if hasattr(mod, "__getitem__") else mod
        observer(float_mod.weight)
        if observer.dtype not in (D.qint8, D.float16):
            raise AssertionError(f"The only supported dtypes for dynamic quantized linear are "
                                 f"qint8 and float16 got: {observer.dtype}")
        if observer.dtype is D.float16:
            # float16's range saturates (as FBGEMM does) instead of overflowing to inf
            w = np.clip(np.asarray(float_mod.weight.detach()._data, np.float32), -65504, 65504)
            qweight = Tensor._make(w.astype(np.float16).astype(np.float32), D.float32)
        else:
            qweight = quantize_weight(float_mod.weight.float(), observer)
        out = cls(float_mod.in_features, float_mod.out_features, dtype=observer.dtype)
        out.set_weight_bias(qweight, float_mod.bias)
        return out
