"""``ember.backends.mps``: Apple's Metal backend, which ember does not have.

Example:
    >>> ember.backends.mps.is_available()
    False
"""

from __future__ import annotations


def is_available() -> bool:
    """False: ember has no MPS backend."""
    return False


def is_built() -> bool:
    """False: ember is not built with MPS."""
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    """PyTorch's RuntimeError: the macOS check needs the MPS backend."""
    raise RuntimeError("Cannot execute isOnMacOSorNewer() without MPS backend.")


def is_macos13_or_newer(minor: int = 0) -> bool:
    """PyTorch's RuntimeError: the macOS check needs the MPS backend."""
    return is_macos_or_newer(13, minor)
