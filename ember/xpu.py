"""``ember.xpu``: Intel GPUs, which ember does not drive. What PyTorch's builds without XPU
answer: no device, zero memory in use, seeding queued for a device that never comes.

Example:
    >>> ember.xpu.is_available(), ember.xpu.device_count()
    (False, 0)
"""

from collections import OrderedDict

__all__ = ["device_count", "empty_cache", "get_rng_state_all", "is_available",
           "is_bf16_supported", "is_initialized", "manual_seed", "manual_seed_all",
           "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "seed", "seed_all"]


def is_available() -> bool:
    """False: ember has no XPU backend.

    Example:
        >>> ember.xpu.is_available()
        False
    """
    return False


def device_count() -> int:
    """0: there are no XPU devices to ember.

    Example:
        >>> ember.xpu.device_count()
        0
    """
    return 0


def is_initialized() -> bool:
    """False: there is no XPU state to initialise.

    Example:
        >>> ember.xpu.is_initialized()
        False
    """
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: no XPU device, so no bfloat16 on one.

    Example:
        >>> ember.xpu.is_bf16_supported()
        False
    """
    return False


def empty_cache() -> None:
    """Nothing to free: no XPU memory is cached.

    Example:
        >>> ember.xpu.empty_cache()
    """


def memory_allocated(device=None) -> int:
    """0 bytes: ember allocates no XPU memory.

    Example:
        >>> ember.xpu.memory_allocated()
        0
    """
    return 0


def max_memory_allocated(device=None) -> int:
    """0 bytes: ember allocates no XPU memory.

    Example:
        >>> ember.xpu.max_memory_allocated()
        0
    """
    return 0


def memory_reserved(device=None) -> int:
    """0 bytes: ember reserves no XPU memory.

    Example:
        >>> ember.xpu.memory_reserved()
        0
    """
    return 0


def max_memory_reserved(device=None) -> int:
    """0 bytes: ember reserves no XPU memory.

    Example:
        >>> ember.xpu.max_memory_reserved()
        0
    """
    return 0


def memory_stats(device=None) -> OrderedDict:
    """An empty ``OrderedDict``: there are no XPU allocator statistics.

    Example:
        >>> ember.xpu.memory_stats()
        OrderedDict()
    """
    return OrderedDict()


def manual_seed(seed: int) -> None:
    """Seed the current XPU's generator: checks that ``seed`` is an integer, then does nothing
    (no device), as in PyTorch.

    Example:
        >>> ember.xpu.manual_seed(0)
    """
    int(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every XPU's generator: checks that ``seed`` is an integer, then does nothing.

    Example:
        >>> ember.xpu.manual_seed_all(0)
    """
    int(seed)


def seed() -> None:
    """Seed the current XPU's generator randomly: nothing to seed.

    Example:
        >>> ember.xpu.seed()
    """


def seed_all() -> None:
    """Seed every XPU's generator randomly: nothing to seed.

    Example:
        >>> ember.xpu.seed_all()
    """


def get_rng_state_all() -> list:
    """The generator states of all XPUs: an empty list.

    Example:
        >>> ember.xpu.get_rng_state_all()
        []
    """
    return []
