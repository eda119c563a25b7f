"""Shape and indexing ops on a MaskedTensor (indexing, ``reshape``, ``view``, ``transpose``,
``unsqueeze``, ``expand``, ``select``, ``split``): the op runs on the data and on the mask
alike. Dtype conversions (``to``, ``float`` ...) convert the data and keep the mask."""

from .core import MaskedTensor, _result

__all__: list = []

PASSTHROUGH_NAMES = ["__getitem__", "reshape", "view", "transpose", "unsqueeze", "expand",
                     "select", "split", "unfold"]
CONVERSION_NAMES = ["to", "float", "double", "half", "int", "long", "short", "bool", "clone",
                    "contiguous"]


def _passthrough(name):
    def method(self, *args, **kwargs):
        data = getattr(self._masked_data, name)(*args, **kwargs)
        mask = getattr(self._masked_mask, name)(*args, **kwargs)
        return _result(data, mask)

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data and of the mask alike."
    return method


def _conversion(name):
    def method(self, *args, **kwargs):
        return _result(getattr(self._masked_data, name)(*args, **kwargs), self._masked_mask)

    method.__name__ = name
    method.__doc__ = f"``Tensor.{name}`` of the data; the mask is kept."
    return method


for _name in PASSTHROUGH_NAMES:
    setattr(MaskedTensor, _name, _passthrough(_name))
for _name in CONVERSION_NAMES:
    setattr(MaskedTensor, _name, _conversion(_name))
