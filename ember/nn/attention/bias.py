"""Causal attention masks as objects (``torch.nn.attention.bias``): ``causal_upper_left``
and ``causal_lower_right`` give a ``CausalBias`` to pass as ``attn_mask`` to
``F.scaled_dot_product_attention``.

PyTorch's ``CausalBias`` holds no data and reroutes attention to causal kernels; ember's is
the boolean mask itself (``True`` = attend, shape ``(seq_len_q, seq_len_kv)``), which
attention takes as any boolean mask, so the results are the same. Because of that, passing
one together with ``is_causal=True`` raises attention's RuntimeError (PyTorch: ValueError).

Example:
    >>> from ember.nn.attention.bias import causal_lower_right
    >>> out = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(3, 5))
"""

from __future__ import annotations

import warnings
from enum import IntEnum, auto

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(IntEnum):
    """Where the causal triangle is anchored: ``UPPER_LEFT`` (query i sees keys 0..i) or
    ``LOWER_RIGHT`` (the last query sees every key; keys shift by ``seq_len_kv - seq_len_q``).

    Example:
        >>> int(CausalVariant.LOWER_RIGHT)
        2
    """

    UPPER_LEFT = auto()
    LOWER_RIGHT = auto()


class CausalBias(Tensor):
    """A causal attention mask of ``variant`` for ``seq_len_q`` queries and ``seq_len_kv``
    keys: a boolean tensor (``True`` = attend) to pass as ``attn_mask``.

    Example:
        >>> CausalBias(CausalVariant.UPPER_LEFT, 2, 3)
        tensor([[ True, False, False],
                [ True,  True, False]])
    """

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant = variant
        self.seq_len_q = seq_len_q
        self.seq_len_kv = seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warnings.warn("Lower right causal bias will produce NaNs in the output when "
                          "seq_len_q > seq_len_kv!", stacklevel=2)
        offset = seq_len_kv - seq_len_q if variant == CausalVariant.LOWER_RIGHT else 0
        self._init(np.tri(seq_len_q, seq_len_kv, offset, dtype=bool), D.bool)

    def _materialize(self, device=None) -> Tensor:
        """The mask as a plain boolean tensor (on ``device``, CPU by default)."""
        mask = Tensor._make(self._data.copy(), D.bool)
        return mask if device is None else mask.to(device)


def causal_upper_left(*size) -> CausalBias:
    """The upper-left causal mask of ``size = (seq_len_q, seq_len_kv)``: query ``i`` attends
    to keys ``0..i``.

    Example:
        >>> causal_upper_left(2, 3)
        tensor([[ True, False, False],
                [ True,  True, False]])
    """
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.UPPER_LEFT, seq_len_q, seq_len_kv)


def causal_lower_right(*size) -> CausalBias:
    """The lower-right causal mask of ``size = (seq_len_q, seq_len_kv)``: the last query
    attends to every key.

    Example:
        >>> causal_lower_right(2, 3)
        tensor([[ True,  True, False],
                [ True,  True,  True]])
    """
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.LOWER_RIGHT, seq_len_q, seq_len_kv)
