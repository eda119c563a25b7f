"""``Parameter``: a Tensor that a Module registers as learnable when assigned as an attribute;
``Buffer``; and the lazy modules' placeholders ``UninitializedParameter``/``UninitializedBuffer``
(shape unknown until the first forward)."""

from __future__ import annotations

import sys

from .. import _dtype as D
from .._errors import with_hint
from .._tensor import Tensor
from .._tensor_autograd import _refuse_inference_requires_grad

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _require_tensor(data) -> None:
    """torch's Parameter and Buffer call ``data.detach()`` first: anything else is an
    AttributeError there."""
    if not isinstance(data, Tensor):
        t = type(data)
        name = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
        raise with_hint(AttributeError(f"'{name}' object has no attribute 'detach'"),
                        "wrap the data first: torch.tensor(data)")


class Parameter(Tensor):
    """A Tensor that is a module parameter: it requires grad by default and appears in
    ``module.parameters()`` when assigned to a module attribute.

    It shares memory (and the version counter) with the tensor it wraps, as in PyTorch.

    Example:
        >>> p = ember.nn.Parameter(ember.zeros(2))
        >>> p.requires_grad
        True
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from .._creation import empty

            data = empty(0)
        _require_tensor(data)
        self = object.__new__(cls)
        self._init(data._data, data._dtype, False)
        self._vbox = data._vbox
        if requires_grad:
            if data._inference:  # the parameter itself is not marked, so check its data
                _refuse_inference_requires_grad()
            self._set_requires_grad(True, "Only Tensors of floating point and complex dtype")
        return self

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        # as torch: a fresh parameter from a copy of the data; .grad and attributes stay behind
        data = Tensor._make(self._data.copy(), self._dtype)
        new = type(self)(data, self.requires_grad)
        memo[id(self)] = new
        return new


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer when assigned as an attribute
    (``persistent=False`` keeps it out of ``state_dict``). Assignment stores a plain Tensor.

    Example:
        >>> m.running = ember.nn.Buffer(ember.zeros(3))
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from .._creation import empty

            data = empty(0)
        _require_tensor(data)
        self = object.__new__(cls)
        self._init(data._data, data._dtype, data.requires_grad and data._dtype.category >= D._FLOAT)
        self._vbox = data._vbox
        self.persistent = persistent
        return self

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass


# Tensor's ``_data`` slot. Uninitialized tensors hide it behind a property that raises, so every
# op (they all read ``x._data``) refuses them; the few allowed methods read the slot directly.
_DATA_SLOT = Tensor.__dict__["_data"]

# Conversions PyTorch allows on an uninitialized tensor (its ``_allowed_methods``).
_CONVERSIONS = ("to", "cpu", "cuda", "float", "double", "half", "bfloat16", "char", "short",
                "int", "long")


def _uninitialized_use(cls, frame) -> ValueError:
    """PyTorch's error for using an uninitialized parameter, naming the ember function that
    touched it (the op class when the caller is ``Op.apply``)."""
    code = frame.f_code
    op = frame.f_locals.get("cls") if code.co_name == "apply" else None
    where = op.__name__ if isinstance(op, type) else getattr(code, "co_qualname", code.co_name)
    return ValueError(
        f"Attempted to use an uninitialized parameter in {where}. This error happens when you "
        "are using a `LazyModule` or explicitly manipulating "
        f"`torch.nn.parameter.{cls.__name__}` objects. When using LazyModules Call `forward` "
        "with a dummy batch to initialize the parameters before calling torch functions")


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: no usable data until
    ``materialize(shape)``; only dtype/device conversions and a few queries are allowed.

    Example:
        >>> p = ember.nn.UninitializedParameter()
        >>> p.materialize((2, 3)); type(p).__name__, p.shape
        ('Parameter', torch.Size([2, 3]))
    """

    cls_to_become: type | None = None

    @property
    def _data(self):
        raise _uninitialized_use(type(self), sys._getframe(1))

    @_data.setter
    def _data(self, value):
        _DATA_SLOT.__set__(self, value)

    def _placeholder(self) -> Tensor:
        """The empty tensor standing in for the data (dtype and device only)."""
        return Tensor._make(_DATA_SLOT.__get__(self), self._dtype)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor uninitialized memory of ``shape`` (same device and dtype unless
        given) and turn it into its ``cls_to_become`` (``Parameter`` or ``Tensor``) in place.

        Example:
            >>> b = ember.nn.UninitializedBuffer(); b.materialize(4); type(b).__name__
            'Tensor'
        """
        from .._creation import empty

        held = self._placeholder()
        new = empty(shape, device=held.device if device is None else device,
                    dtype=held.dtype if dtype is None else dtype)
        _DATA_SLOT.__set__(self, new._data)
        self._dtype = new._dtype
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    # The queries PyTorch answers from the empty placeholder.
    def size(self, dim=None):
        return self._placeholder().size(dim)

    @property
    def ndim(self) -> int:
        return 1

    @property
    def device(self):
        return self._placeholder().device

    @property
    def nbytes(self) -> int:
        return 0

    # PyTorch lets the attribute be set but refuses the method (not in its allowed list).
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True):
        raise _uninitialized_use(type(self), sys._getframe(0))

    @property
    def data(self) -> Tensor:
        return self._placeholder()

    def _converted(self, how: str, args, kwargs):
        held = self._placeholder()
        out = getattr(held, how)(*args, **kwargs)
        if out.dtype == held.dtype and out.device == held.device:
            return self
        return self._conversion_result(out)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self._fresh(self._placeholder())
        return memo[id(self)]


def _conversion(how: str):
    def convert(self, *args, **kwargs):
        return self._converted(how, args, kwargs)

    convert.__name__ = how
    convert.__doc__ = f"``Tensor.{how}`` on the placeholder (allowed before materializing)."
    return convert


for _how in _CONVERSIONS:
    setattr(UninitializedTensorMixin, _how, _conversion(_how))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A ``Parameter`` whose shape is not known yet (lazy modules hold these until their first
    forward). Using it raises ``ValueError``, reading ``.shape`` raises ``RuntimeError``; only
    dtype/device conversions and ``materialize`` are allowed. A conversion that changes dtype or
    device returns a plain empty tensor, as in PyTorch (``Module.to`` swaps it in).

    Example:
        >>> p = ember.nn.UninitializedParameter(dtype=ember.float64)
        >>> p.materialize((3,)); p.shape, p.dtype
        (torch.Size([3]), torch.float64)
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        from .._creation import empty

        held = empty(0, device=device, dtype=dtype)
        self = object.__new__(cls)
        self._init(held._data, held._dtype, bool(requires_grad))
        return self

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def _fresh(self, held: Tensor):
        return type(self)(self.requires_grad, held.device, held.dtype)

    def _conversion_result(self, out: Tensor) -> Tensor:
        return out  # PyTorch's Parameter conversions return plain tensors


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (lazy batch/instance norm's running statistics).
    Conversions keep it uninitialized; ``materialize(shape)`` makes it a plain Tensor.

    Example:
        >>> b = ember.nn.UninitializedBuffer().double(); b, b.dtype
        (<UninitializedBuffer>, torch.float64)
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        from .._creation import empty

        held = empty(0, device=device, dtype=dtype)
        self = object.__new__(cls)
        self._init(held._data, held._dtype, bool(requires_grad))
        self.persistent = persistent
        return self

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True):
        pass

    def _fresh(self, held: Tensor):
        return type(self)(self.requires_grad, held.device, held.dtype,
                          getattr(self, "persistent", True))

    _conversion_result = _fresh  # a converted buffer stays uninitialized


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``.

    Example:
        >>> ember.nn.parameter.is_lazy(ember.nn.UninitializedParameter())
        True
    """
    return isinstance(param, UninitializedTensorMixin)
