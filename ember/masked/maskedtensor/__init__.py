"""``torch.masked.maskedtensor``: the MaskedTensor class, its factories and its operations
(each module binds its methods onto the class when loaded)."""

from . import binary, passthrough, reductions, unary  # noqa: F401  (bind the methods)
from .core import MaskedTensor, is_masked_tensor
from .creation import as_masked_tensor, masked_tensor

__all__ = ["MaskedTensor", "as_masked_tensor", "is_masked_tensor", "masked_tensor"]
