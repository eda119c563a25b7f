"""``ember.backends``: PyTorch's backend flags (``torch.backends``), settable, with PyTorch
2.13's defaults.

ember computes with NumPy (CuPy on a GPU), so none of cuDNN, MPS, oneDNN (mkldnn), OpenMP or
cuBLAS's TF32 modes applies: the flags are kept so that programs which set or read them run
unchanged, and setting them changes nothing in ember's results (each module says so). The
``is_available()`` functions answer for ember itself (no cuDNN, no MPS, no oneDNN).

Example:
    >>> ember.backends.cudnn.deterministic = True
    >>> ember.backends.cudnn.benchmark = False
    >>> ember.backends.mps.is_available()
    False
"""

from __future__ import annotations

from contextlib import contextmanager

from . import _flags
from ._flags import disable_global_flags, flags_frozen

fp32_precision = "none"


def set_flags(_fp32_precision="none"):
    """Set the generic fp32 precision flag; returns the previous value as a tuple."""
    orig = (fp32_precision,)
    if _fp32_precision is not None:
        with _flags.allow_mutation():
            globals()["fp32_precision"] = _fp32_precision
    return orig


@contextmanager
def flags(fp32_precision="none"):
    """Set the generic fp32 precision flag for a block."""
    orig = set_flags(fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)


from . import (  # noqa: E402
    cpu,
    cuda,
    cudnn,
    mha,
    mkl,
    mkldnn,
    mps,
    openmp,
    opt_einsum,
    quantized,
)

__all__ = ["cpu", "cuda", "cudnn", "disable_global_flags", "flags", "flags_frozen", "mha",
           "mkl", "mkldnn", "mps", "openmp", "opt_einsum", "quantized", "set_flags"]
