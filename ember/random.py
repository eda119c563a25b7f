"""``ember.random``: the default random generator's controls (``manual_seed``, ``seed``,
``get_rng_state`` ...), the same functions as at the top level, and ``fork_rng``.

ember draws every device's random numbers from one generator (GPU numbers are drawn on the
host), so forking the CPU state forks them all.

Example:
    >>> with ember.random.fork_rng():
    ...     _ = ember.rand(2)  # draws here do not advance the generator outside
"""

from __future__ import annotations

import contextlib

from ._random import (
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = ["default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Restore the random generator's state when the block ends, so that draws inside it do
    not change what is drawn after. ``enabled=False`` makes it do nothing; ``devices`` and
    ``device_type`` are accepted for PyTorch's signature (one generator serves every device).

    Example:
        >>> before = ember.get_rng_state()
        >>> with ember.random.fork_rng():
        ...     _ = ember.randn(3)
        >>> bool((ember.get_rng_state() == before).all())
        True
    """
    if device_type == "meta" or not enabled:
        yield
        return
    if devices is not None:
        list(devices)  # PyTorch reads the iterable once; a bad one fails here, not at exit
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
