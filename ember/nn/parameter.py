"""``Parameter``: a Tensor that a Module registers as learnable when assigned as an attribute."""

from __future__ import annotations

from .. import _dtype as D
from .._tensor import Tensor, user_attributes

__all__ = ["Parameter", "Buffer", "is_lazy"]


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
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        self = object.__new__(cls)
        self._init(data._data, data._dtype, False)
        self._version = data._version
        if requires_grad:
            self.requires_grad_(True)
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
        data = Tensor._make(self._data.copy(), self._dtype)
        new = type(self)(data, self.requires_grad)
        new.__dict__.update(user_attributes(self))
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
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
        self = object.__new__(cls)
        self._init(data._data, data._dtype, data.requires_grad and data._dtype.category >= D._FLOAT)
        self._version = data._version
        self.persistent = persistent
        return self

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass


def is_lazy(param) -> bool:
    return False
