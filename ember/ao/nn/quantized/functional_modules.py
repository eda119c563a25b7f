"""``FloatFunctional`` / ``QFunctional``: tensor arithmetic (add, mul, cat, add_relu ...) as
modules, so that ``prepare`` can observe its output and ``convert`` can give it a scale and
zero point (the skip connections of quantized ResNets and MobileNets)."""

from __future__ import annotations

import numpy as np

from .... import _dtype as D
from ...._quantized_tensor import QData, QuantizedTensor, per_tensor_affine, quantize_ints
from ...._tensor import Tensor
from ....nn.modules.linear import Identity
from ....nn.modules.module import Module

__all__ = ["FloatFunctional", "QFunctional"]


class FloatFunctional(Module):
    """Float ``add``, ``cat``, ``mul``, ``add_relu``, ``add_scalar``, ``mul_scalar`` and
    ``matmul`` whose results pass through ``activation_post_process`` (an observer after
    ``prepare``; ``Identity`` before). Call the methods, not the module.

    Example:
        >>> ff = ember.ao.nn.quantized.FloatFunctional()
        >>> ff.add(ember.ones(2), ember.ones(2))
        tensor([2., 2.])
    """

    def __init__(self):
        super().__init__()
        self.activation_post_process = Identity()

    def forward(self, x):
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use "
                           "the underlying operation")

    def _observed(self, r):
        return self.activation_post_process(r)

    def add(self, x, y):
        """``x + y``, observed."""
        return self._observed(x + y)

    def add_scalar(self, x, y):
        """``x + y`` for a number ``y`` (not observed: the output range follows the input's)."""
        return x + y

    def mul(self, x, y):
        """``x * y``, observed."""
        return self._observed(x * y)

    def mul_scalar(self, x, y):
        """``x * y`` for a number ``y`` (not observed)."""
        return x * y

    def cat(self, x, dim=0):
        """``torch.cat(x, dim)``, observed."""
        from .... import cat

        return self._observed(cat(x, dim=dim))

    def add_relu(self, x, y):
        """``relu(x + y)``, observed."""
        from ....nn import functional as F

        return self._observed(F.relu(x + y))

    def matmul(self, x, y):
        """``x @ y``, observed."""
        return self._observed(x @ y)


def _requantized(values: np.ndarray, scale: float, zero_point: int, dtype):
    ints = quantize_ints(values.astype(np.float32), np.float32(1) / np.float32(scale),
                         zero_point, dtype)
    return QuantizedTensor._make(QData(ints, per_tensor_affine, float(scale), int(zero_point)),
                                 dtype)


class QFunctional(Module):
    """The quantized ``FloatFunctional``: each operation dequantizes its inputs, computes in
    float and quantizes the result to the module's ``scale`` and ``zero_point``.

    Example:
        >>> qf = ember.ao.nn.quantized.QFunctional()
        >>> qf.scale, qf.zero_point = 0.1, 0
        >>> a = ember.quantize_per_tensor(ember.tensor([0.5, 1.0]), 0.1, 0, ember.quint8)
        >>> qf.add(a, a).dequantize()
        tensor([1., 2.])
    """

    def __init__(self):
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0
        self.activation_post_process = Identity()

    def _get_name(self):
        return "QFunctional"

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # PyTorch keeps the output qparams in the state dict as 0-d tensors
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = Tensor._make(np.array(self.scale, np.float32), D.float32)
        destination[prefix + "zero_point"] = Tensor._make(np.array(self.zero_point, np.int64),
                                                          D.int64)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        values = {}
        for name in ("scale", "zero_point"):
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor) or value.numel() != 1:
                error_msgs.append(f"{key} must be a one-element tensor")
                continue
            values[name] = value
        if len(values) == 2:
            self.scale = float(values["scale"].item())
            self.zero_point = int(values["zero_point"].item())
        rest = {k: v for k, v in state_dict.items()
                if k not in (prefix + "scale", prefix + "zero_point")}
        super()._load_from_state_dict(rest, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self):
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x):
        raise RuntimeError("Functional is not intended to use the 'forward'. Please use the "
                           "underlying operation")

    def _out(self, values, like):
        return _requantized(values, self.scale, self.zero_point, like.dtype)

    def add(self, x, y):
        """Quantized ``x + y``."""
        return self._out(x._data.floats() + y._data.floats(), x)

    def add_relu(self, x, y):
        """Quantized ``relu(x + y)``."""
        out = self.add(x, y)
        ints = np.maximum(out._data.ints, out._data.ints.dtype.type(self.zero_point))
        return QuantizedTensor._make(out._data.with_ints(ints), out.dtype)

    def mul(self, x, y):
        """Quantized ``x * y``."""
        return self._out(x._data.floats() * y._data.floats(), x)

    def cat(self, x, dim=0):
        """Quantized ``torch.cat(x, dim)``."""
        return self._out(np.concatenate([t._data.floats() for t in x], axis=dim), x[0])

    def add_scalar(self, x, y):
        """``x + y`` for a number ``y``: the same integers with the zero point moved."""
        data = x._data
        shifted = data.zero_point - int(np.rint(y / data.scale))
        if x.dtype.qmin <= shifted <= x.dtype.qmax:
            return QuantizedTensor._make(QData(data.ints.copy(), per_tensor_affine, data.scale,
                                               shifted), x.dtype)
        return _requantized(data.floats() + np.float32(y), data.scale, data.zero_point,
                            x.dtype)

    def mul_scalar(self, x, y):
        """``x * y`` for a number ``y``: the same integers with the scale multiplied."""
        data = x._data
        if y >= 0:
            return QuantizedTensor._make(QData(data.ints.copy(), per_tensor_affine,
                                               data.scale * y, data.zero_point), x.dtype)
        return _requantized(data.floats() * np.float32(y), data.scale * -y, data.zero_point,
                            x.dtype)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """A ``QFunctional`` with the scale and zero point ``mod``'s observer saw."""
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        out = cls()
        out.scale = float(scale._data.reshape(-1)[0])
        out.zero_point = int(zero_point._data.reshape(-1)[0])
        return out
