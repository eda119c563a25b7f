"""The MaskedTensor factories: ``masked_tensor`` (a new leaf, as ``torch.tensor``) and
``as_masked_tensor`` (keeps the data's autograd history, as ``torch.as_tensor``)."""

import warnings

from .core import _PROTOTYPE_WARNING, MaskedTensor, _is_plain_tensor

__all__ = ["as_masked_tensor", "masked_tensor"]


def masked_tensor(data, mask, requires_grad=False):
    """A MaskedTensor of a copy of ``data`` with ``mask`` (a new autograd leaf).

    Example:
        >>> ember.masked.masked_tensor(ember.tensor([1, 2, 3]), ember.tensor([True, False, True]))
        MaskedTensor(
          [1,       --, 3]
        )
    """
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data, mask):
    """A MaskedTensor over ``data`` itself: gradients flow back into ``data``.

    Example:
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> ember.masked.as_masked_tensor(x, ember.tensor([True, False])).sum().backward()
        >>> x.grad
        tensor([1., 1.])
    """
    if not _is_plain_tensor(data):
        raise TypeError("data must be a Tensor")
    if not _is_plain_tensor(mask):
        raise TypeError("mask must be a Tensor")
    warnings.warn(_PROTOTYPE_WARNING, UserWarning, stacklevel=2)
    return MaskedTensor._wrap(data, mask.clone())
