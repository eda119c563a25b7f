"""``torch.utils.data._utils``'s import paths: PyTorch's docs teach extending the default
collation with ``from torch.utils.data._utils.collate import collate, default_collate_fn_map``.
The code lives in ``ember.utils.data.collate``; these modules only re-export it.

Example:
    >>> from ember.utils.data._utils.collate import collate, default_collate_fn_map
"""

from . import collate

__all__ = ["collate"]
