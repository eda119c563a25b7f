"""Binary ops on MaskedTensors (``+``, ``*``, ``<``, ``maximum`` ...): both operands must have
the same mask (or one is a plain tensor or a number); the op runs on the data and the result
takes that mask. Different masks raise torch's ``ValueError``."""

import ember
from ember._tensor import Tensor

from .core import MaskedTensor, _masks_match, _result, is_masked_tensor

__all__: list = []

BINARY_NAMES = [
    "add", "atan2", "arctan2", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
    "bitwise_right_shift", "div", "divide", "floor_divide", "fmod", "logaddexp", "logaddexp2",
    "mul", "multiply", "nextafter", "remainder", "sub", "subtract", "true_divide", "eq", "ne",
    "le", "ge", "greater", "greater_equal", "gt", "less_equal", "lt", "less", "maximum",
    "minimum", "fmax", "fmin", "not_equal",
]
INPLACE_BINARY_NAMES = [n + "_" for n in BINARY_NAMES
                        if n not in {"logaddexp", "logaddexp2", "fmin", "minimum", "maximum",
                                     "fmax"}]

# Python's operators, run as the same operator on the data (so numbers on either side
# promote as they do for ember tensors); the in-place ones change the data in place
OPERATORS = ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
             "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
             "__rmod__", "__pow__", "__rpow__", "__and__", "__rand__", "__or__", "__ror__",
             "__xor__", "__rxor__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]
INPLACE_OPERATORS = ["__iadd__", "__isub__", "__imul__", "__itruediv__"]
# a reflected operator with a plain tensor on the left runs that tensor's own operator
REFLECTED = {form: "__" + form[3:] for form in OPERATORS if form.startswith("__r")}
# torch's MaskedTensor has no reflected form of these with a number on the left (``2 - mt``
# raises); a tensor on the left works, except for ``**``
NO_NUMBER_ON_THE_LEFT = {"__rsub__", "__rpow__", "__rfloordiv__", "__rmod__"}


def _data(x):
    return x._masked_data if is_masked_tensor(x) else x


class _MaskedGradient(ember.autograd.Function):
    """Identity forward; backward keeps the gradient only where the mask is set. A plain
    tensor meeting a MaskedTensor in a binary op receives the gradient of the masked-in
    elements only, as in torch, where that gradient arrives as a MaskedTensor and its
    broadcasting sum is a masked sum."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        ctx.mark_non_differentiable(mask)
        return x.clone()

    @staticmethod
    def backward(ctx, grad_output):
        return ember.where(ctx.mask, grad_output, ember.zeros_like(grad_output)), None


def _mask_plain_gradient(a, b):
    """``a`` and ``b`` with a plain tensor operand that requires grad expanded to the result
    shape behind :class:`_MaskedGradient`."""
    masked = a if is_masked_tensor(a) else b
    out = []
    for x in (a, b):
        if isinstance(x, Tensor) and not is_masked_tensor(x) and x.requires_grad:
            shape = ember.broadcast_shapes(x.shape, masked.shape)
            mask = masked._masked_mask.expand(shape)
            x = _MaskedGradient.apply(x.expand(shape), mask)
        out.append(x)
    return out


def _binary_data(name, a, b, args, kwargs):
    if kwargs:
        raise ValueError("len(kwargs) must equal 0")
    if any(isinstance(x, Tensor) for x in args):
        raise TypeError("MaskedTensor binary ops do not support Tensor arguments aside from "
                        "the lhs and rhs")
    if not _masks_match(a, b):
        raise ValueError("Input masks must match. If you need support for this, please open "
                         "an issue on Github.")
    a, b = _mask_plain_gradient(a, b)
    return getattr(_data(a), name)(_data(b), *args)


def _binary(name):
    def method(self, other, *args, **kwargs):
        if name == "__rpow__" or (name in NO_NUMBER_ON_THE_LEFT
                                  and not isinstance(other, Tensor)):
            return NotImplemented  # Python raises "unsupported operand type(s)", as for torch
        if name in REFLECTED and isinstance(other, Tensor):
            # a plain tensor on the left: its own operator, with the data on the right
            data = _binary_data(REFLECTED[name], other, self, args, kwargs)
        else:
            data = _binary_data(name, self, other, args, kwargs)
        if not isinstance(data, Tensor):  # the data's operator declined (NotImplemented)
            return data
        return _result(data, self._masked_mask.expand_as(data))

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data (masks must match); the mask is kept."
    return method


def _inplace_binary(name):
    def method(self, other, *args, **kwargs):
        _binary_data(name, self, other, args, kwargs)
        return self

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data, in place (masks must match)."
    return method


def _bind():
    for name in BINARY_NAMES:
        if hasattr(Tensor, name):
            setattr(MaskedTensor, name, _binary(name))
    for name in INPLACE_BINARY_NAMES:
        if hasattr(Tensor, name):
            setattr(MaskedTensor, name, _inplace_binary(name))
    for form in OPERATORS:
        setattr(MaskedTensor, form, _binary(form))
    for form in INPLACE_OPERATORS:
        setattr(MaskedTensor, form, _inplace_binary(form))


_bind()


def apply_masked(cls, inputs: tuple, kwargs: dict, refusal: Exception):
    """An ember op called with MaskedTensors (``ember.sin(mt)``, ``ember.add(mt, mt2)``, which
    ``Op.apply`` hands here with the payload's ``refusal``): elementwise ops run on the data
    under the common mask, as torch's MaskedTensor does; sums and means use its methods; other
    ops raise the refusal, which names the methods that handle masks.

    Example:
        >>> mt = ember.masked.masked_tensor(ember.tensor([1.0, 2.0]),
        ...                                 ember.tensor([True, False]))
        >>> ember.exp(mt)
    """
    from ..._ops.reduction.sums import Mean, Sum

    masked = [x for x in (*inputs, *kwargs.values()) if is_masked_tensor(x)]
    if issubclass(cls, (Sum, Mean)) and len(inputs) == 1:  # ember.sum(mt), ember.mean(mt, 1)
        axes, keepdim = kwargs.get("axes"), kwargs.get("keepdim", False)
        method = getattr(masked[0], "sum" if issubclass(cls, Sum) else "mean")
        if axes is None or len(axes) == masked[0].dim():
            return method() if not keepdim else method(dim=tuple(axes), keepdim=True)
        return method(dim=tuple(axes), keepdim=keepdim)
    from ..._ops.pointwise.power import Pow

    if not getattr(cls, "elementwise", False) or (
            issubclass(cls, Pow) and not is_masked_tensor(inputs[0])):
        # no masked meaning (matmul, cumsum ...), or torch's refusal of tensor ** MaskedTensor
        raise refusal
    first = masked[0]
    for other in masked[1:]:
        if not _masks_match(first, other):
            raise ValueError("Input masks must match. If you need support for this, please "
                             "open an issue on Github.")
    args = [x._masked_data if is_masked_tensor(x) else x for x in inputs]
    kw = {k: v._masked_data if is_masked_tensor(v) else v for k, v in kwargs.items()}
    data = cls.apply(*args, **kw)
    mask = first._masked_mask
    return _result(data, mask if tuple(mask.shape) == tuple(data.shape) else
                   mask.expand_as(data))
