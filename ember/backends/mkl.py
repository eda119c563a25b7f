"""``ember.backends.mkl``: whether NumPy, which does ember's linear algebra, uses Intel MKL.

Example:
    >>> isinstance(ember.backends.mkl.is_available(), bool)
    True
"""

from __future__ import annotations

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available() -> bool:
    """True when NumPy's BLAS is MKL (NumPy's wheels ship OpenBLAS: False)."""
    import numpy as np

    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return "mkl" in str(blas).lower()


class verbose:
    """MKL's verbose logging for a block: accepted, logs nothing."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
