"""``ember.autograd.Variable``: the wrapper of PyTorch before 0.4, kept as PyTorch keeps it.

``Variable(t, requires_grad=True)`` returns a plain tensor that shares ``t``'s memory (a
detached alias, a new leaf) and ``isinstance(x, Variable)`` is True for every tensor, so
old tutorials run unchanged.
"""

from __future__ import annotations

import warnings


class VariableMeta(type):
    """Makes ``isinstance(tensor, Variable)`` True for every ember tensor."""

    def __instancecheck__(cls, other):
        from .._tensor import Tensor

        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """Old-style wrapper: ``Variable(data, requires_grad=False, volatile=False)`` returns a
    tensor sharing ``data``'s memory, detached from its graph; ``volatile`` is gone (use
    ``ember.no_grad()``) and only warns.

    Example:
        >>> x = ember.autograd.Variable(ember.ones(2), requires_grad=True)
        >>> isinstance(x, ember.autograd.Variable), x.requires_grad, x.data
        (True, True, tensor([1., 1.]))
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        from .._creation import empty
        from .._tensor import Tensor

        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "ember.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            return empty(0, requires_grad=requires_grad)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if type(out) is not Tensor:  # a Parameter or subclass comes back as a plain tensor
            plain = Tensor._make(out._data, out._dtype)
            plain._vbox = out._vbox
            out = plain
        if requires_grad:
            out.requires_grad_(True)
        return out
