"""``ember.multiprocessing``: Python's ``multiprocessing`` (everything it exports) plus
PyTorch's ``spawn``, ``start_processes`` and the sharing-strategy switches.

ember tensors are NumPy arrays underneath and travel between processes by pickling, that is
as copies, unless ``share_memory_()`` (or ``Module.share_memory()``) moved them into shared
memory: forked children inherit that memory and spawned ones open it by name, so their updates
reach the parent (Hogwild). Shared tensors always travel by name (PyTorch's ``file_system``
strategy); the sharing strategy is recorded for programs that set it and changes nothing.

Example:
    >>> ember.multiprocessing.get_sharing_strategy()
    'file_descriptor'
    >>> ember.multiprocessing.cpu_count() >= 1
    True
"""

import multiprocessing
import sys
from multiprocessing import *  # noqa: F403

from .spawn import (  # noqa: F401  (public here, as in PyTorch, though not in __all__)
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__

if sys.platform in ("darwin", "win32"):
    _sharing_strategy = "file_system"
    _all_sharing_strategies = {"file_system"}
else:
    _sharing_strategy = "file_descriptor"
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    """Set the strategy for sharing CPU tensors: one of ``get_all_sharing_strategies()``.

    Example:
        >>> ember.multiprocessing.set_sharing_strategy("file_system")
    """
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, "
                             f"expected one of {_all_sharing_strategies}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The current sharing strategy (``"file_descriptor"`` by default on Linux).

    Example:
        >>> ember.multiprocessing.get_sharing_strategy() in ("file_descriptor", "file_system")
        True
    """
    return _sharing_strategy


def get_all_sharing_strategies() -> set:
    """The sharing strategies this system supports.

    Example:
        >>> sorted(ember.multiprocessing.get_all_sharing_strategies())  # on Linux
        ['file_descriptor', 'file_system']
    """
    return _all_sharing_strategies
