"""``ember.backends.mkldnn``: PyTorch's oneDNN (mkldnn) flags. ember does not use oneDNN, so
``is_available()`` is False and the flags, kept with PyTorch 2.13's values, change nothing.

Example:
    >>> ember.backends.mkldnn.is_available()
    False
"""

from __future__ import annotations

from contextlib import contextmanager

from . import _flags

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

enabled = True
deterministic = False
allow_tf32 = None  # what PyTorch 2.13's CPU build reads back before it is set
fp32_precision = "none"
matmul = _flags.FP32Precision("mkldnn", "matmul")
conv = _flags.FP32Precision("mkldnn", "conv")
rnn = _flags.FP32Precision("mkldnn", "rnn")

_CHECKS = {
    "enabled": _flags.expect_bool("set_enabled_mkldnn"),
    "deterministic": _flags.expect_bool("set_deterministic_mkldnn"),
    "allow_tf32": _flags.expect_bool("set_allow_tf32_onednn"),
    "fp32_precision": lambda v: v,
}


def is_available() -> bool:
    """False: ember does not use oneDNN."""
    return False


def is_acl_available() -> bool:
    """False: ember does not use the Arm Compute Library."""
    return False


class verbose:
    """oneDNN's verbose logging for a block: accepted, logs nothing (no oneDNN in ember)."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None, _fp32_precision="none"):
    """Set several flags at once; returns the previous values as a tuple (for ``flags``)."""
    import sys

    mod = sys.modules[__name__]
    orig = (enabled, deterministic, allow_tf32, fp32_precision)
    with _flags.allow_mutation():
        for name, value in (("enabled", _enabled), ("deterministic", _deterministic),
                            ("allow_tf32", _allow_tf32), ("fp32_precision", _fp32_precision)):
            if value is not None:
                setattr(mod, name, value)
    return orig


@contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    """Set the flags for a block, then restore them."""
    orig = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)


_flags.install(__name__)
