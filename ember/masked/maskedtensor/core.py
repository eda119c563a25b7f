"""``MaskedTensor`` (``torch.masked.MaskedTensor``): a tensor whose elements are each either
specified (mask ``True``) or masked out.

A ``MaskedTensor`` is a ``Tensor`` subclass, so ``isinstance(mt, ember.Tensor)`` holds as in
torch. It holds two ordinary ember tensors, the data and the bool mask of the same shape; its
own ``_data`` is a ``MaskedPayload``, which answers ``shape``/``ndim``/``size``/``dtype`` and
refuses every other array use with :class:`MaskedOperand`, so an ember op that has no masked
meaning cannot silently compute on the raw data. The masked meanings live on the class as
methods and operators (unary math, binary ops between tensors of one mask, the reductions,
indexing and reshaping), each written with ember ops on the data tensor.

Autograd runs on the data tensor: ``requires_grad``, ``grad``, ``backward`` and ``is_leaf``
are the data's, and ``grad`` comes back as a ``MaskedTensor`` with the same mask, as torch
shows it.

Example:
    >>> mt = ember.masked.masked_tensor(ember.tensor([1.0, 2.0, 3.0]),
    ...                                 ember.tensor([True, False, True]))
    >>> mt.sum()
    MaskedTensor(  4.0000, True)
"""

from __future__ import annotations

import warnings

import ember
from ember._tensor import Tensor

__all__ = ["MaskedTensor", "is_masked_tensor"]

_PROTOTYPE_WARNING = (
    "The PyTorch API of MaskedTensors is in prototype stage and will change in the near "
    "future. Please open a Github issue for features requests and see our documentation on "
    "the torch.masked module for further information about the project.")

# the dtypes torch's MaskedTensor accepts
_SUPPORTED = {ember.float16, ember.float32, ember.float64, ember.bool, ember.int8, ember.int16,
              ember.int32, ember.int64}


class MaskedOperand(TypeError, AttributeError):
    """An ember op met a MaskedTensor that has no masked version of it (a TypeError, as torch
    raises for an op MaskedTensor does not support; also an AttributeError, so that
    ``hasattr`` probes of the payload answer False)."""


def _refusal(what: str) -> MaskedOperand:
    return MaskedOperand(
        f"{what} is not supported for MaskedTensor in ember; use the MaskedTensor's own "
        "methods (unary math, binary ops, sum/mean/amax/amin/argmax/argmin/prod/all/var/std, "
        "indexing), the ember.masked functions, or .get_data()/.to_tensor(value)")


class MaskedPayload:
    """A MaskedTensor's ``_data``: its shape and dtype, and a refusal for any array use."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __getattr__(self, name):
        raise _refusal(f"array attribute {name!r} of a MaskedTensor's payload")

    def __array__(self, *args, **kwargs):
        raise _refusal("converting a MaskedTensor to an array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _refusal(f"the operation {ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        raise _refusal(f"the operation {func.__name__}")

    def __repr__(self) -> str:
        return f"MaskedPayload(shape={self.shape})"


def _refuse_operator(self, *args):
    raise _refusal("this operation")


for _form in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__pow__", "__matmul__",
              "__rmatmul__", "__neg__", "__abs__", "__invert__", "__and__", "__or__", "__xor__",
              "__lt__", "__le__", "__gt__", "__ge__", "__getitem__", "__setitem__", "__iter__",
              "__len__", "__bool__", "__float__", "__int__", "__index__"):
    setattr(MaskedPayload, _form, _refuse_operator)


def is_masked_tensor(obj, /) -> bool:
    """Whether ``obj`` is a MaskedTensor.

    Example:
        >>> ember.masked.is_masked_tensor(ember.ones(2))
        False
    """
    return isinstance(obj, MaskedTensor)


def _tensors_match(a, b) -> bool:
    if a.dtype != b.dtype:
        b = b.to(a.dtype)
    return a.dim() == b.dim() and a.shape == b.shape and bool(ember.eq(a, b).all().item())


def _masks_match(a, b) -> bool:
    if is_masked_tensor(a) and is_masked_tensor(b):
        return _tensors_match(a.get_mask(), b.get_mask())
    return True


def _masked_tensor_str(data, mask, formatter: str) -> str:
    """torch's MaskedTensor text: nested brackets, ``--`` for masked-out elements."""
    if data.dim() == 1:
        items = data.tolist()
        shown = mask.tolist()
        formatted = [formatter.format(d) if isinstance(d, float) else str(d) for d in items]
        max_len = max(8 if not m else len(e) for e, m in zip(formatted, shown))
        return "[" + ", ".join(e if m else "--".rjust(max_len)
                               for e, m in zip(formatted, shown)) + "]"
    subs = [_masked_tensor_str(d, m, formatter) for d, m in zip(data, mask)]
    subs = ["\n".join("  " + line for line in s.split("\n")) for s in subs]
    return "[\n" + ",\n".join(subs) + "\n]"


class MaskedTensor(Tensor):
    """A tensor of data and a same-shaped bool mask: masked-out elements (mask ``False``)
    take no part in its operations (``torch.masked.MaskedTensor``; a prototype in torch, and
    constructing one warns as torch does).

    Args:
        data (Tensor): the values (float16/32/64, bool, int8/16/32/64).
        mask (Tensor): bool, the same shape as ``data``.
        requires_grad (bool): whether gradients are recorded for the data.

    Example:
        >>> mt = ember.masked.MaskedTensor(ember.tensor([1.0, 2.0]), ember.tensor([True, False]))
        >>> mt
        MaskedTensor(
          [  1.0000,       --]
        )
    """

    __slots__ = ("_masked_data", "_masked_mask")

    def __init__(self, data, mask, requires_grad=False):
        if not _is_plain_tensor(data):
            raise TypeError("data must be a Tensor")
        if not _is_plain_tensor(mask):
            raise TypeError("mask must be a Tensor")
        warnings.warn(_PROTOTYPE_WARNING, UserWarning, stacklevel=2)
        if data.requires_grad:
            warnings.warn(
                "It is not recommended to create a MaskedTensor with a tensor that "
                "requires_grad. To avoid this, you can use data.detach().clone()",
                UserWarning, stacklevel=2)
        # a fresh leaf, as torch copies the data: the new tensor starts its own graph
        self._setup(data.detach().clone().requires_grad_(bool(requires_grad)), mask.clone())

    def _setup(self, data, mask):
        _validate(data, mask)
        self._masked_data = data
        self._masked_mask = mask
        self._data = MaskedPayload(data.shape, data._data.dtype)
        self._dtype = data.dtype
        self._requires_grad = False  # the data tensor carries autograd (see requires_grad)
        self._vbox = [0]

    @classmethod
    def _wrap(cls, data, mask):
        """A MaskedTensor around ``data`` itself (no copy, no warning): the result of an
        operation, whose autograd history ``data`` carries on."""
        self = object.__new__(cls)
        self._setup(data, mask)
        return self

    # -- the data, the mask, and conversions ------------------------------------------------
    def get_data(self):
        """The data, masked-out elements included (differentiable).

        Example:
            >>> mt = ember.masked.masked_tensor(ember.tensor([1.0, 2.0]),
            ...                                 ember.tensor([True, False]))
            >>> mt.get_data()
            tensor([1., 2.])
        """
        return self._masked_data.view_as(self._masked_data)

    def get_mask(self):
        """The bool mask (``True`` where an element is specified).

        Example:
            >>> mt = ember.masked.masked_tensor(ember.tensor([1.0, 2.0]),
            ...                                 ember.tensor([True, False]))
            >>> mt.get_mask()
            tensor([ True, False])
        """
        return self._masked_mask

    def to_tensor(self, value):
        """An ordinary tensor with the masked-out elements set to ``value``.

        Example:
            >>> mt = ember.masked.masked_tensor(ember.tensor([1.0, 2.0]),
            ...                                 ember.tensor([True, False]))
            >>> mt.to_tensor(0)
            tensor([1., 0.])
        """
        return self.get_data().masked_fill(~self.get_mask(), value)

    def is_sparse_coo(self) -> bool:
        """False: ember's MaskedTensor holds strided data."""
        return False

    def is_sparse_csr(self) -> bool:
        """False: ember's MaskedTensor holds strided data."""
        return False

    @property
    def is_sparse(self) -> bool:
        """False: ember's MaskedTensor holds strided data."""
        return False

    @property
    def device(self):
        return self._masked_data.device

    # -- autograd, on the data tensor -------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._masked_data.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self._masked_data.requires_grad = value

    def requires_grad_(self, requires_grad: bool = True):
        self._masked_data.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._masked_data.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._masked_data.is_leaf

    @property
    def grad(self):
        g = self._masked_data.grad
        return None if g is None else MaskedTensor._wrap(g, self._masked_mask)

    @grad.setter
    def grad(self, value):
        self._masked_data.grad = value._masked_data if is_masked_tensor(value) else value

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if is_masked_tensor(gradient):
            gradient = gradient._masked_data
        if inputs is not None:
            inputs = [t._masked_data if is_masked_tensor(t) else t
                      for t in ((inputs,) if isinstance(inputs, Tensor) else inputs)]
        self._masked_data.backward(gradient, retain_graph, create_graph, inputs)

    def numpy(self, *, force=False):
        raise RuntimeError(".numpy() is not supported for tensor subclasses.")

    def detach(self):
        return _result(self._masked_data.detach(), self._masked_mask)

    # -- printing ---------------------------------------------------------------------------
    def __repr__(self, *, tensor_contents=None) -> str:
        formatter = "{0:8.4f}"
        if self.dim() == 0:
            value = self._masked_data.item()
            text = formatter.format(value) if isinstance(value, float) else str(value)
            shown = bool(self._masked_mask.item())
            return f"MaskedTensor({text if shown else '--'}, {shown})"
        s = _masked_tensor_str(self._masked_data.detach(), self._masked_mask, formatter)
        s = "\n".join("  " + line for line in s.split("\n"))
        return "MaskedTensor(\n" + s + "\n)"

    __str__ = __repr__

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        raise _refusal("pickling")


def _validate(data, mask):
    if mask.dtype != ember.bool:
        raise TypeError("mask must have dtype bool.")
    if data.dtype not in _SUPPORTED:
        raise TypeError(f"{data.dtype} is not supported in MaskedTensor.")
    if data.dim() != mask.dim():
        raise ValueError("data.dim() must equal mask.dim()")
    if data.size() != mask.size():
        raise ValueError("data.size() must equal mask.size()")


def _is_plain_tensor(x) -> bool:
    return isinstance(x, Tensor) and not is_masked_tensor(x)


def _result(data, mask):
    """Wrap an operation's result (a tensor, or a tuple/list of them) with its mask; torch
    builds each result through the MaskedTensor constructor, so each warns as a new one."""
    if isinstance(data, (tuple, list)):
        return type(data)(_result(d, m) for d, m in zip(data, mask))
    warnings.warn(_PROTOTYPE_WARNING, UserWarning, stacklevel=3)
    return MaskedTensor._wrap(data, mask)

