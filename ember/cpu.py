"""``ember.cpu``: the ``torch.cuda``-style queries for the CPU, for device-agnostic code
(``torch.cpu``), and the deprecated ``ember.cpu.amp`` spellings.

Example:
    >>> ember.cpu.is_available(), ember.cpu.device_count()
    (True, 1)
"""

from __future__ import annotations

from .amp._device_aliases import cpu_amp as amp

__all__ = ["amp", "current_device", "device_count", "is_available", "is_initialized",
           "set_device", "synchronize"]


def is_available() -> bool:
    """Always True: the CPU is always there.

    Example:
        >>> ember.cpu.is_available()
        True
    """
    return True


def is_initialized() -> bool:
    """Always True (nothing to initialise on the CPU)."""
    return True


def device_count() -> int:
    """Always 1.

    Example:
        >>> ember.cpu.device_count()
        1
    """
    return 1


def current_device() -> str:
    """``'cpu'``.

    Example:
        >>> ember.cpu.current_device()
        'cpu'
    """
    return "cpu"


def set_device(device) -> None:
    """A no-op: there is one CPU device."""


def synchronize(device=None) -> None:
    """A no-op: CPU work is finished when an op returns."""
