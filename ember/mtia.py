"""``ember.mtia``: Meta's training and inference accelerator, which ember does not drive. What
PyTorch's builds without MTIA answer: no device, zero memory in use, nothing to seed.

Example:
    >>> ember.mtia.is_available(), ember.mtia.device_count()
    (False, 0)
"""

__all__ = ["device_count", "get_rng_state_all", "is_available", "is_bf16_supported",
           "is_initialized", "manual_seed", "manual_seed_all", "max_memory_allocated",
           "memory_allocated", "memory_stats", "reset_peak_memory_stats", "seed", "seed_all"]


def is_available() -> bool:
    """False: ember has no MTIA backend.

    Example:
        >>> ember.mtia.is_available()
        False
    """
    return False


def device_count() -> int:
    """0: there are no MTIA devices to ember.

    Example:
        >>> ember.mtia.device_count()
        0
    """
    return 0


def is_initialized() -> bool:
    """False: there is no MTIA state to initialise.

    Example:
        >>> ember.mtia.is_initialized()
        False
    """
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """True: PyTorch answers True without asking a device (MTIA hardware has bfloat16).

    Example:
        >>> ember.mtia.is_bf16_supported()
        True
    """
    return True


def memory_allocated(device=None) -> int:
    """0 bytes: ember allocates no MTIA memory.

    Example:
        >>> ember.mtia.memory_allocated()
        0
    """
    return 0


def max_memory_allocated(device=None) -> int:
    """0 bytes: ember allocates no MTIA memory.

    Example:
        >>> ember.mtia.max_memory_allocated()
        0
    """
    return 0


def memory_stats(device=None) -> dict:
    """An empty dict: there are no MTIA allocator statistics.

    Example:
        >>> ember.mtia.memory_stats()
        {}
    """
    return {}


def reset_peak_memory_stats(device=None) -> None:
    """Nothing to reset: there are no MTIA allocator statistics.

    Example:
        >>> ember.mtia.reset_peak_memory_stats()
    """


def manual_seed(seed: int) -> None:
    """Seed the current MTIA device's generator: checks that ``seed`` is an integer, then does
    nothing (no device), as in PyTorch.

    Example:
        >>> ember.mtia.manual_seed(0)
    """
    int(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every MTIA device's generator: checks that ``seed`` is an integer, then does
    nothing.

    Example:
        >>> ember.mtia.manual_seed_all(0)
    """
    int(seed)


def seed() -> None:
    """Seed the current MTIA device's generator randomly: nothing to seed.

    Example:
        >>> ember.mtia.seed()
    """


def seed_all() -> None:
    """Seed every MTIA device's generator randomly: nothing to seed.

    Example:
        >>> ember.mtia.seed_all()
    """


def get_rng_state_all() -> list:
    """The generator states of all MTIA devices: an empty list.

    Example:
        >>> ember.mtia.get_rng_state_all()
        []
    """
    return []
