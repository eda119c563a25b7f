"""``torch.utils.serialization.config``: the ``load`` and ``save`` settings that
``ember.load``/``ember.save`` read on every call (the same objects the setters in
``ember.serialization`` change).

Example:
    >>> from ember.utils.serialization import config
    >>> config.save.compute_crc32
    True
"""

from ..._serialization.config import load, save

__all__ = ["load", "save"]
