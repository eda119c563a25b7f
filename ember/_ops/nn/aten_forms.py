"""The nn functions PyTorch also exposes at the top level (``torch.embedding``,
``torch.kl_div``, ``torch.native_layer_norm`` ...), with the argument order, defaults and
return values of those ATen forms, which differ from ``torch.nn.functional``'s (weight before
indices, reductions as integers, tuples of saved statistics)."""

from __future__ import annotations

__all__: list = []
