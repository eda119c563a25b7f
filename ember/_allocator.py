"""Keep freed large arrays in the process instead of handing them back to the kernel.

glibc serves big blocks (over 128 KiB at first) with ``mmap`` and returns them on ``free``, so
a training step that frees and re-allocates the same temporaries page-faults each of them in
again (thousands of faults per step, each zeroing a page). Raising the mmap threshold to
32 MiB, the trim threshold out of reach and the top padding to 64 MiB makes the heap keep and
reuse that memory. Done once at ``import ember``, on Linux with glibc only; set
``EMBER_NO_MALLOPT=1`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # the largest value glibc accepts on 64-bit (HEAP_MAX / 2)
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: 2 GiB, as good as never
TOP_PAD = 64 << 20

applied = False


def tune() -> bool:
    """Apply the settings; returns whether they were applied."""
    global applied
    if applied or os.environ.get("EMBER_NO_MALLOPT", "") not in ("", "0"):
        return applied
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 -- glibc only (musl has no tunable mallopt)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
          and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
          and mallopt(_M_TOP_PAD, TOP_PAD) == 1)
    applied = ok
    return ok


tune()
