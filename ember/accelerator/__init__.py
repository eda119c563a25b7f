"""``ember.accelerator``: PyTorch's device-generic accelerator API, over CuPy's GPUs.

On a machine without CuPy or without a GPU, ``is_available()`` is False,
``current_accelerator()`` is None and ``device_count()`` is 0, as PyTorch's CPU build
answers; the functions that need a device then raise PyTorch's RuntimeError. Where CuPy
sees a GPU, the accelerator is ``cuda``.

Example:
    >>> device = (ember.accelerator.current_accelerator().type
    ...           if ember.accelerator.is_available() else "cpu")
"""

from __future__ import annotations

import warnings

from .._backend import Device, cuda_available, cuda_device_count
from . import memory
from .memory import (
    empty_cache,
    get_memory_info,
    memory_allocated,
    memory_reserved,
)

__all__ = [
    "current_accelerator", "current_device_idx", "current_device_index", "device_count",
    "device_index", "empty_cache", "get_memory_info", "is_available", "memory",
    "memory_allocated", "memory_reserved", "set_device_idx", "set_device_index",
    "synchronize",
]


def _cupy():
    """CuPy, when it sees a GPU; PyTorch's RuntimeError otherwise."""
    if not cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    import cupy

    return cupy


def _cupy_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("cupy") is not None


def _device_index(device, optional: bool = True) -> int:
    """A device argument (int, "cuda:1", ember.device) as an index; None: the current one."""
    if isinstance(device, int):
        return device
    if isinstance(device, str):
        device = Device(device)
    index = None
    if isinstance(device, Device):
        acc = current_accelerator()
        if acc is None:
            raise RuntimeError("Accelerator expected")
        if acc.type != device.type:
            raise ValueError(f"{device.type} doesn't match the current accelerator {acc}.")
        index = device.index
    elif device is not None:
        raise TypeError(f"expected a device (int, str or ember.device), got "
                        f"{type(device).__name__}")
    if index is None:
        if not optional:
            raise ValueError("Expected a torch.device with a specified index or an integer, "
                             f"but got:{device}")
        return current_device_index()
    return index


def is_available() -> bool:
    """True when an accelerator can be used now: CuPy installed and a GPU visible.

    Example:
        >>> ember.accelerator.is_available()  # on a machine without a GPU
        False
    """
    return cuda_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator's device type (``device(type='cuda')``, no index), or None.

    Without ``check_available`` it answers what ember was "built" with, as PyTorch does: the
    ``cuda`` device when CuPy is installed, whether or not a GPU is visible now; with it, only
    when ``is_available()`` too.

    Example:
        >>> ember.accelerator.current_accelerator(check_available=True) is None  # no GPU
        True
    """
    if check_available:
        return Device("cuda") if cuda_available() else None
    return Device("cuda") if cuda_available() or _cupy_installed() else None


def device_count() -> int:
    """The number of accelerator devices (0 without one).

    Example:
        >>> ember.accelerator.device_count()  # on a machine without a GPU
        0
    """
    return cuda_device_count()


def current_device_index() -> int:
    """The index of the current accelerator device (CuPy's current GPU).

    Example:
        >>> ember.accelerator.current_device_index()  # on a GPU machine
        0
    """
    return int(_cupy().cuda.runtime.getDevice())


def current_device_idx() -> int:
    """Deprecated alias of ``current_device_index`` (warns, as PyTorch does)."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_index(device, /) -> None:
    """Make ``device`` (an index, ``"cuda:1"`` or an ember.device with an index) the current
    accelerator device; a negative index is a no-op.

    Example:
        >>> ember.accelerator.set_device_index(0)  # on a GPU machine
    """
    index = _device_index(device, optional=False)
    if index < 0:
        return
    cp = _cupy()
    if index >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
    cp.cuda.runtime.setDevice(index)


def set_device_idx(device, /) -> None:
    """Deprecated alias of ``set_device_index`` (warns, as PyTorch does)."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


class device_index:
    """Context manager that makes a device index current for its block and restores the
    previous one after; ``None`` switches nothing.

    Example:
        >>> with ember.accelerator.device_index(None):
        ...     pass
    """

    def __init__(self, device: int | None, /) -> None:
        self.idx = device
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is not None:
            self.prev_idx = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc_info) -> None:
        if self.idx is not None and self.prev_idx >= 0:
            set_device_index(self.prev_idx)


def synchronize(device=None, /) -> None:
    """Wait until all work queued on the accelerator device (the current one by default) is
    done.

    Example:
        >>> ember.accelerator.synchronize()  # on a GPU machine
    """
    cp = _cupy()
    with cp.cuda.Device(_device_index(device)):
        cp.cuda.runtime.deviceSynchronize()
