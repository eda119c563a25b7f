"""PyTorch's out-of-place twins of its view ops (``view_copy``, ``permute_copy``,
``diagonal_copy`` ...: the view's values in fresh memory) and the ops that embed a source into
a view of a copy of the input (``diagonal_scatter``, ``select_scatter``, ``slice_scatter``,
``as_strided_scatter``)."""

from __future__ import annotations

__all__: list = []
TENSOR_METHODS: dict = {}
