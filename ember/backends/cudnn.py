"""``ember.backends.cudnn``: PyTorch's cuDNN flags. ember does not use cuDNN (convolutions
run through NumPy or CuPy), so ``is_available()`` is False, ``version()`` is None, and the
flags (``deterministic``, ``benchmark``, ``enabled``, ``allow_tf32`` ...) are kept with
PyTorch's defaults but change nothing: ember's convolutions are deterministic already.

Example:
    >>> ember.backends.cudnn.deterministic = True
    >>> ember.backends.cudnn.benchmark
    False
"""

from __future__ import annotations

from contextlib import contextmanager

from . import _flags

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = None  # PyTorch: None when cuDNN is unavailable
fp32_precision = "none"
depthwise_kernel = "auto"
# PyTorch starts cuDNN's convolutions and RNNs at "tf32" (allow_tf32 is True by default)
conv = _flags.FP32Precision("cuda", "conv", "tf32")
rnn = _flags.FP32Precision("cuda", "rnn", "tf32")

_CHECKS = {
    "enabled": _flags.expect_bool("set_enabled_cudnn"),
    "benchmark": _flags.expect_bool("set_benchmark_cudnn"),
    "deterministic": _flags.expect_bool("set_deterministic_cudnn"),
    "allow_tf32": _flags.expect_bool("set_allow_tf32_cudnn"),
    "benchmark_limit": lambda v: v,
    "fp32_precision": lambda v: v,
    "depthwise_kernel": lambda v: v,
}


def is_available() -> bool:
    """False: ember does not use cuDNN.

    Example:
        >>> ember.backends.cudnn.is_available()
        False
    """
    return False


def version():
    """cuDNN's version: None, as ember does not use cuDNN."""
    return None


def is_acceptable(tensor) -> bool:
    """Whether cuDNN would take ``tensor``: never, in ember."""
    return False


def set_flags(_enabled=None, _benchmark=None, _benchmark_limit=None, _deterministic=None,
              _allow_tf32=None, _fp32_precision="none", _depthwise_kernel=None):
    """Set several flags at once; returns the previous values as a tuple (for ``flags``)."""
    import sys

    mod = sys.modules[__name__]
    orig = (enabled, benchmark, benchmark_limit if is_available() else None, deterministic,
            allow_tf32, fp32_precision, depthwise_kernel)
    with _flags.allow_mutation():
        for name, value in (("enabled", _enabled), ("benchmark", _benchmark),
                            ("deterministic", _deterministic), ("allow_tf32", _allow_tf32),
                            ("fp32_precision", _fp32_precision),
                            ("depthwise_kernel", _depthwise_kernel)):
            if value is not None:
                setattr(mod, name, value)
        if _benchmark_limit is not None and is_available():
            mod.benchmark_limit = _benchmark_limit
    return orig


@contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True, fp32_precision="none", depthwise_kernel="auto"):
    """Set the flags for a block (PyTorch's defaults for any not given), then restore them.

    Example:
        >>> with ember.backends.cudnn.flags(enabled=True, deterministic=True):
        ...     pass
    """
    orig = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32,
                     fp32_precision, depthwise_kernel)
    try:
        yield
    finally:
        set_flags(*orig)


_flags.install(__name__)
