"""Reductions of a MaskedTensor (``sum``, ``mean``, ``amax``, ``amin``, ``argmax``,
``argmin``, ``prod``, ``all``, ``var``, ``std``): the ``ember.masked`` function with the
tensor's own mask. Over everything, the result is a 0-d MaskedTensor, masked in where any
element was; over ``dim``, an element of the result is masked in where any element it
reduces was."""

import ember

from .. import _ops
from .core import MaskedTensor
from .creation import as_masked_tensor

__all__: list = []

REDUCE_NAMES = ["sum", "mean", "amin", "amax", "argmin", "argmax", "prod", "all", "var", "std"]


def _masked_all(data, dim=None, keepdim=False, mask=None):
    filled = data.masked_fill(~mask, True)  # masked-out elements do not make all() False
    return filled.all() if dim is None else ember.all(filled, dim=dim, keepdim=keepdim)


def _multidim_any(mask, dim, keepdim):
    for d in sorted((dim,) if isinstance(dim, int) else dim, reverse=True):
        mask = ember.any(mask, dim=d, keepdim=keepdim)
    return mask


def _reduce_all(name, self):
    mask = self.get_mask()
    if name == "all":
        data = _masked_all(self._masked_data, mask=mask)
    else:
        data = getattr(_ops, name)(self, mask=mask)
    return _wrap(data, ember.any(mask))


def _reduce_dim(name, self, dim, keepdim=False, dtype=None):
    mask = self.get_mask()
    if name == "all":
        data = _masked_all(self._masked_data, dim=dim, keepdim=keepdim, mask=mask)
    else:
        data = getattr(_ops, name)(self, dim=dim, keepdim=keepdim, dtype=dtype, mask=mask)
    return _wrap(data, _multidim_any(mask, dim, keepdim))


def _wrap(data, mask):
    return as_masked_tensor(data, mask)  # warns, as each of torch's results does


def _reduction(name):
    def method(self, *args, **kwargs):
        if not args and not kwargs:
            return _reduce_all(name, self)
        return _reduce_dim(name, self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = (f"Masked ``{name}``: over everything (a 0-d MaskedTensor) or over "
                      f"``dim`` with ``keepdim`` and ``dtype``.")
    return method


for _name in REDUCE_NAMES:
    setattr(MaskedTensor, _name, _reduction(_name))
