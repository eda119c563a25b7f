"""The settings ``ember.save``/``ember.load`` read on every call (PyTorch's
``torch.utils.serialization.config``), and the ``skip_data`` state.

``load`` and ``save`` are plain namespaces whose attributes carry PyTorch's names and defaults;
the public setters in ``ember.serialization`` (``set_default_load_endianness``,
``set_default_mmap_options``, ``set_crc32_options``) write them, as PyTorch's do, so either way
of changing a setting is seen by the other.
"""

from __future__ import annotations

import enum
import mmap as _mmap
import threading
import types

# Windows has no MAP_PRIVATE/MAP_SHARED; the values are Linux's, as PyTorch reports them.
MAP_PRIVATE = getattr(_mmap, "MAP_PRIVATE", 2)
MAP_SHARED = getattr(_mmap, "MAP_SHARED", 1)


class LoadEndianness(enum.Enum):
    """The byte order ``load`` assumes for a checkpoint that does not record one.

    ``NATIVE`` is the machine's own order (what ``None``, the default, also means).

    Example:
        >>> ember.serialization.set_default_load_endianness(
        ...     ember.serialization.LoadEndianness.BIG)
    """

    NATIVE = 1
    LITTLE = 2
    BIG = 3


load = types.SimpleNamespace(
    mmap=False,                      # what load(mmap=None) does
    endianness=None,                 # a LoadEndianness, or None: the machine's order
    mmap_flags=MAP_PRIVATE,          # MAP_PRIVATE (copy-on-write) or MAP_SHARED
    calculate_storage_offsets=False,  # accepted for PyTorch's sake; offsets come from the zip
)
save = types.SimpleNamespace(
    compute_crc32=True,              # False: every record's CRC-32 is written as 0
    use_pinned_memory_for_d2h=False,  # accepted for PyTorch's sake (no pinned memory here)
    storage_alignment=64,            # where each storage's bytes start, as PyTorch aligns them
)


class _SkipState(threading.local):
    """Per thread, as in PyTorch: a ``skip_data`` block in one thread leaves others alone."""

    skip_data = False
    materialize_fake_tensors = False


skip_state = _SkipState()


def skipping_data() -> bool:
    """True inside a ``skip_data()`` block: storages are neither written nor read."""
    return skip_state.skip_data
