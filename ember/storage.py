"""``ember.storage``: the storage classes, ``UntypedStorage`` (what ``tensor.untyped_storage()``
returns) and ``TypedStorage`` (what ``tensor.storage()`` returns).

Example:
    >>> isinstance(ember.ones(2).untyped_storage(), ember.storage.UntypedStorage)
    True
"""

from ._storage import TypedStorage, UntypedStorage

__all__ = ["TypedStorage", "UntypedStorage"]
