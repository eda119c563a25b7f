"""``ember.backends.opt_einsum``: PyTorch's switch for the opt_einsum contraction-order
package. ``is_available()`` says whether ``opt_einsum`` is installed, and ``enabled`` and
``strategy`` start as PyTorch 2.13 starts them (enabled, ``"auto"``, when it is installed);
ember's einsum orders contractions with NumPy's own path search and does not read them.

Example:
    >>> ember.backends.opt_einsum.enabled == ember.backends.opt_einsum.is_available()
    True
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from . import _flags


@lru_cache
def is_available() -> bool:
    """True when the ``opt_einsum`` package is installed."""
    import importlib.util

    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    """The ``opt_einsum`` package when it is installed, else None."""
    if not is_available():
        return None
    import opt_einsum

    return opt_einsum


enabled = is_available()
strategy = "auto" if is_available() else None

_CHECKS = {"enabled": lambda v: v, "strategy": lambda v: v}


def set_flags(_enabled=None, _strategy=None):
    """Set ``enabled`` and ``strategy``; returns the previous values as a tuple."""
    import sys

    mod = sys.modules[__name__]
    orig = (enabled, None if not is_available() else strategy)
    with _flags.allow_mutation():
        if _enabled is not None:
            mod.enabled = _enabled
        if _strategy is not None:
            if not is_available():
                raise ValueError(
                    f"opt_einsum is not available, so setting `strategy` to {_strategy} will "
                    "not be meaningful. torch.einsum will bypass path calculation and simply "
                    "contract from left to right. Please install opt_einsum or unset "
                    "`strategy`.")
            if not mod.enabled:
                raise ValueError(
                    f"opt_einsum is not enabled, so setting a `strategy` to {_strategy} will "
                    "not be meaningful. torch.einsum will bypass path calculation and simply "
                    "contract from left to right. Please set `enabled` to `True` as well or "
                    "unset `strategy`.")
            if _strategy not in ("auto", "greedy", "optimal"):
                raise ValueError("`strategy` must be one of the following: [auto, greedy, "
                                 f"optimal] but is {_strategy}")
            mod.strategy = _strategy
    return orig


@contextmanager
def flags(enabled=None, strategy=None):
    """Set ``enabled``/``strategy`` for a block, then restore them."""
    orig = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*orig)


_flags.install(__name__)
