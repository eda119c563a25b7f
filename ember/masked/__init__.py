"""``torch.masked``: masked reductions and normalizations (``ember.masked.sum(x, dim,
mask=m)`` ...) and the prototype ``MaskedTensor``.

Example:
    >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> ember.masked.amax(x, 1, mask=ember.tensor([[True, False], [True, True]]))
    tensor([1., 4.])
"""

from ._ops import (
    amax,
    amin,
    argmax,
    argmin,
    cumprod,
    cumsum,
    log_softmax,
    logaddexp,
    logsumexp,
    mean,
    median,
    norm,
    normalize,
    prod,
    softmax,
    softmin,
    std,
    sum,
    var,
)
from .maskedtensor import MaskedTensor, as_masked_tensor, is_masked_tensor, masked_tensor

__all__ = ["amax", "amin", "argmax", "argmin", "as_masked_tensor", "cumprod", "cumsum",
           "is_masked_tensor", "log_softmax", "logaddexp", "logsumexp", "masked_tensor",
           "MaskedTensor", "mean", "median", "norm", "normalize", "prod", "softmax", "softmin",
           "std", "sum", "var"]
