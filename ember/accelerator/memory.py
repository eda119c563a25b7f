"""``ember.accelerator.memory``: how much accelerator memory ember holds, from CuPy's memory
pool (ember allocates GPU arrays through it). Without an accelerator each function raises
PyTorch's RuntimeError. Peak statistics (``max_memory_allocated`` …) are not kept: CuPy's
pool does not record them.
"""

from __future__ import annotations

__all__ = ["empty_cache", "get_memory_info", "memory_allocated", "memory_reserved"]


def _pool(device_index):
    from . import _cupy, _device_index

    cp = _cupy()
    return cp, _device_index(device_index)


def empty_cache() -> None:
    """Give the cached, unused blocks of CuPy's memory pool back to the driver.

    Example:
        >>> ember.accelerator.empty_cache()  # on a GPU machine
    """
    cp, index = _pool(None)
    with cp.cuda.Device(index):
        cp.get_default_memory_pool().free_all_blocks()


def memory_allocated(device_index=None, /) -> int:
    """Bytes held by live arrays on the device (CuPy pool's used bytes).

    Example:
        >>> ember.accelerator.memory_allocated()  # on a GPU machine
        0
    """
    cp, index = _pool(device_index)
    with cp.cuda.Device(index):
        return int(cp.get_default_memory_pool().used_bytes())


def memory_reserved(device_index=None, /) -> int:
    """Bytes the memory pool holds on the device, used or cached (CuPy pool's total bytes).

    Example:
        >>> ember.accelerator.memory_reserved()  # on a GPU machine
        0
    """
    cp, index = _pool(device_index)
    with cp.cuda.Device(index):
        return int(cp.get_default_memory_pool().total_bytes())


def get_memory_info(device_index=None, /) -> tuple[int, int]:
    """``(free, total)`` bytes of the device's memory, as the driver reports them.

    Example:
        >>> free, total = ember.accelerator.get_memory_info()  # on a GPU machine
    """
    cp, index = _pool(device_index)
    with cp.cuda.Device(index):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)
