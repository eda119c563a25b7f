"""``torch.cuda.random``: the GPU random number state.

ember draws GPU random numbers on the host from its one default generator and moves them to
the device, so every GPU's state *is* that generator's state: ``get_rng_state(i)`` returns it
for each existing device ``i``, and seeding any GPU seeds it. Without CUDA, as in PyTorch's CPU
build, the seeding and ``set_rng_state*`` calls do nothing, ``get_rng_state_all()`` is ``[]``,
and ``get_rng_state``/``initial_seed`` raise.

Example:
    >>> states = ember.cuda.get_rng_state_all()   # [] on a machine without a GPU
    >>> ember.cuda.set_rng_state_all(states)
"""

from __future__ import annotations

import numbers

from . import _runtime

__all__ = ["get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all",
           "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed"]


def _generator():
    from .._random import default_generator

    return default_generator


def _device_index(device) -> int:
    """``device`` (``'cuda'``, ``'cuda:1'``, an int, an ember.device) as an existing GPU."""
    return _runtime.checked_index(device, "ember.cuda random state needs a GPU")


def get_rng_state(device="cuda"):
    """The random state of GPU ``device`` as a uint8 tensor (on the CPU, as in PyTorch).

    Example:
        >>> state = ember.cuda.get_rng_state()  # on a GPU machine
    """
    _device_index(device)
    return _generator().get_state()


def get_rng_state_all() -> list:
    """The random state of every GPU, a list (empty without CUDA).

    Example:
        >>> ember.cuda.get_rng_state_all()  # on a machine without a GPU
        []
    """
    from . import device_count

    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state(new_state, device="cuda") -> None:
    """Restore GPU ``device``'s random state from ``get_rng_state``; does nothing without
    CUDA, as in PyTorch.

    Example:
        >>> ember.cuda.set_rng_state(ember.cuda.get_rng_state())  # on a GPU machine
    """
    if not _runtime.cuda_available():
        return
    _device_index(device)
    _generator().set_state(new_state)


def set_rng_state_all(new_states) -> None:
    """Restore every GPU's random state from ``get_rng_state_all``'s list.

    Example:
        >>> ember.cuda.set_rng_state_all(ember.cuda.get_rng_state_all())
    """
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def _seed_value(seed) -> int:
    if isinstance(seed, numbers.Integral):
        return int(seed)
    return int(seed)  # a string or float goes through int(), as in PyTorch (ValueError on 'a')


def manual_seed(seed: int) -> None:
    """Seed the GPU's random numbers. One generator serves every device, so this seeds it (as
    ``ember.manual_seed`` does); without CUDA it does nothing, as in PyTorch.

    Example:
        >>> ember.cuda.manual_seed(0)
    """
    seed = _seed_value(seed)
    if _runtime.cuda_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's random numbers: as ``manual_seed`` (one generator serves all devices).

    Example:
        >>> ember.cuda.manual_seed_all(0)
    """
    manual_seed(seed)


def seed() -> None:
    """Seed the GPU's random numbers from a non-deterministic source (nothing without CUDA).

    Example:
        >>> ember.cuda.seed()
    """
    if _runtime.cuda_available():
        _generator().seed()


def seed_all() -> None:
    """Seed every GPU's random numbers from a non-deterministic source: as ``seed``.

    Example:
        >>> ember.cuda.seed_all()
    """
    seed()


def initial_seed() -> int:
    """The seed the GPU's random numbers were last seeded with.

    Example:
        >>> ember.cuda.manual_seed(7); ember.cuda.initial_seed()  # on a GPU machine
        7
    """
    _runtime.cupy("ember.cuda.initial_seed() needs a GPU")
    return _generator().initial_seed()
