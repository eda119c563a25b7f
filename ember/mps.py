"""``ember.mps``: Apple's Metal backend, which ember does not have. What PyTorch's builds
without MPS answer: no device is available and there are none to count.

Example:
    >>> ember.mps.is_available(), ember.mps.device_count()
    (False, 0)
"""

__all__ = ["device_count", "is_available", "manual_seed"]


def is_available() -> bool:
    """False: ember has no MPS backend.

    Example:
        >>> ember.mps.is_available()
        False
    """
    return False


def device_count() -> int:
    """0: there are no MPS devices to ember.

    Example:
        >>> ember.mps.device_count()
        0
    """
    return 0


def manual_seed(seed: int) -> None:
    """Seed the MPS generator: without an MPS backend this does nothing, as in PyTorch.

    Example:
        >>> ember.mps.manual_seed(0)
    """
    return None
