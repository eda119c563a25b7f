"""The functional ``ember.dropout``/``ember.dropout_`` (ATen's argument order: input, p, train)."""

from __future__ import annotations

import numpy as np

from ... import _random
from ..._backend import to_device_array
from ..._layout import like_layout
from ..._tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, train: bool = True) -> Tensor:
    """``torch.dropout``: the functional form of ``nn.functional.dropout`` (ATen's argument
    names). Example: ``ember.dropout(x, 0.5, train=True)``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        mask = np.zeros(input._data.shape, dt)
    else:
        if input._dtype.is_complex:  # PyTorch's Bernoulli kernel draws no complex mask
            from .._dispatch import not_implemented_for

            raise not_implemented_for("bernoulli_scalar_cpu_", input._dtype)
        keep = _random._gen(None).bernoulli(1.0 - p, input._data.shape)
        mask = keep.astype(dt) / dt.type(1.0 - p)
    # torch draws the mask into empty_like(input): a channels_last input, a channels_last mask
    mask = like_layout(to_device_array(mask, input.device), input._data)
    return input * Tensor._make(mask, input._dtype)


def dropout_(input: Tensor, p: float = 0.5, train: bool = True) -> Tensor:
    """In-place :func:`ember.dropout`: zeroes elements of ``input`` with probability ``p`` (when
    ``train``) and scales the rest by ``1 / (1 - p)``.
    """
    from ..inplace import apply_inplace

    return apply_inplace(input, dropout(input, p, train), "dropout_")


__all__ = ["dropout", "dropout_"]
