"""Unary math on a MaskedTensor (``sin``, ``exp``, ``clamp``, ``abs`` ...): the op runs on the
data, the mask is kept. The names are torch's MaskedTensor unary table, less those ember's
Tensor lacks; each in-place form (``sin_``) changes the data in place."""

from .core import MaskedTensor, _result

__all__: list = []

UNARY_NAMES = [
    "abs", "absolute", "acos", "arccos", "acosh", "arccosh", "angle", "asin", "arcsin", "asinh",
    "arcsinh", "atan", "arctan", "atanh", "arctanh", "bitwise_not", "ceil", "clamp", "clip",
    "conj_physical", "cos", "cosh", "deg2rad", "digamma", "erf", "erfc", "erfinv", "exp",
    "exp2", "expm1", "fix", "floor", "frac", "lgamma", "log", "log10", "log1p", "log2",
    "logit", "i0", "isnan", "nan_to_num", "neg", "negative", "positive", "pow", "rad2deg",
    "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sgn", "signbit", "sin", "sinc", "sinh",
    "sqrt", "square", "tan", "tanh", "trunc",
    # conj: std/var of a MaskedTensor multiply by the conjugate, as torch's do
    "conj",
]
INPLACE_UNARY_NAMES = [n + "_" for n in UNARY_NAMES
                       if n not in {"angle", "positive", "signbit", "isnan", "conj"}]


def _unary(name):
    def method(self, *args, **kwargs):
        return _result(getattr(self._masked_data, name)(*args, **kwargs), self._masked_mask)

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data; the mask is kept."
    return method


def _inplace_unary(name):
    def method(self, *args, **kwargs):
        getattr(self._masked_data, name)(*args, **kwargs)
        return self

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data, in place; the mask is kept."
    return method


def _bind():
    from ember import Tensor

    for name in UNARY_NAMES:
        if hasattr(Tensor, name):
            setattr(MaskedTensor, name, _unary(name))
    for name in INPLACE_UNARY_NAMES:
        if hasattr(Tensor, name):
            setattr(MaskedTensor, name, _inplace_unary(name))
    MaskedTensor.__neg__ = MaskedTensor.neg
    MaskedTensor.__abs__ = MaskedTensor.abs
    MaskedTensor.__pos__ = MaskedTensor.positive
    MaskedTensor.__invert__ = MaskedTensor.bitwise_not


_bind()
