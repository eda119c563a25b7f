"""Dropout layers: active in training mode, identity in eval mode.

Each module only holds ``p`` and ``inplace`` and hands the work to its function in
``ember.nn.functional`` with the module's ``training`` flag; the functions own the masks, the
scaling and torch's warnings and errors for unusual input ranks.
"""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """What the dropout modules share: the drop probability ``p`` (checked to lie in
    ``[0, 1]``), the ``inplace`` flag and their repr."""

    __constants__ = ["p", "inplace"]

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        # compared as given (no float()), so an invalid type fails the way torch's does and
        # NaN gets through, as it does there
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element independently with probability ``p`` and scale the
    rest by ``1 / (1 - p)``, so the expected value is unchanged; in eval mode, pass the input
    through.

    Args:
        p (float): the probability that an element is zeroed. Default: 0.5.
        inplace (bool): overwrite the input instead of allocating. Default: False.

    Example:
        >>> drop = ember.nn.Dropout(p=0.5)
        >>> x = ember.ones(4, 6)
        >>> set(drop(x).flatten().tolist()) <= {0.0, 2.0}
        True
        >>> drop.eval()(x).equal(x)
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Drop whole channels of 1-d signals: in training each channel of an ``(N, C, L)`` or
    ``(C, L)`` input is zeroed with probability ``p``, the others scaled by ``1 / (1 - p)``.

    Args:
        p (float): the probability that a channel is zeroed. Default: 0.5.
        inplace (bool): overwrite the input. Default: False.

    Example:
        >>> out = ember.nn.Dropout1d(p=0.5)(ember.ones(2, 3, 5))
        >>> bool((out == out[..., :1]).all())  # a channel is kept or dropped as a whole
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Drop whole feature maps: in training each channel of an ``(N, C, H, W)`` input is
    zeroed with probability ``p``, the others scaled by ``1 / (1 - p)``. Neighbouring pixels of
    a convolution's output are correlated, so dropping single pixels regularises little.

    A 3-d input is read as ``(N, C, L)`` with a warning, as torch does (use
    :class:`Dropout1d` for that).

    Args:
        p (float): the probability that a channel is zeroed. Default: 0.5.
        inplace (bool): overwrite the input. Default: False.

    Example:
        >>> out = ember.nn.Dropout2d(p=0.5)(ember.ones(2, 3, 4, 4))
        >>> bool((out == out[..., :1, :1]).all())
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Drop whole volumes: in training each channel of an ``(N, C, D, H, W)`` or
    ``(C, D, H, W)`` input is zeroed with probability ``p``, the others scaled by
    ``1 / (1 - p)``.

    Args:
        p (float): the probability that a channel is zeroed. Default: 0.5.
        inplace (bool): overwrite the input. Default: False.

    Example:
        >>> out = ember.nn.Dropout3d(p=0.5)(ember.ones(2, 3, 2, 2, 2))
        >>> bool((out == out[..., :1, :1, :1]).all())
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for self-normalising networks (SELU): in training a dropped element takes
    SELU's negative saturation value instead of 0, and an affine correction keeps the mean and
    variance of a zero-mean, unit-variance input.

    Args:
        p (float): the probability that an element is dropped. Default: 0.5.
        inplace (bool): overwrite the input. Default: False.

    Example:
        >>> drop = ember.nn.AlphaDropout(p=0.2)
        >>> drop(ember.randn(3, 4)).shape
        torch.Size([3, 4])
        >>> x = ember.randn(3, 4)
        >>> drop.eval()(x).equal(x)
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        # ``inplace`` is not passed on: torch's module always returns a new tensor here
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` applied to whole channels: in training every element of a
    dropped channel (dim 1 of a batched input) takes the SELU saturation value, then the same
    affine correction as :class:`AlphaDropout` applies.

    Args:
        p (float): the probability that a channel is dropped. Default: 0.5.
        inplace (bool): overwrite the input. Default: False.

    Example:
        >>> out = ember.nn.FeatureAlphaDropout(p=0.5)(ember.ones(2, 3, 4))
        >>> bool((out == out[..., :1]).all())
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        # as for AlphaDropout, ``inplace`` only shows in the repr
        return F.feature_alpha_dropout(input, self.p, self.training)
