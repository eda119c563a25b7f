"""``torch.cuda.profiler``: start and stop the CUDA profiler (nsys/nvprof capture ranges),
through CuPy's ``cudaProfilerStart``/``cudaProfilerStop``. Raises without CUDA, as in
PyTorch's CPU build.

Example:
    >>> with ember.cuda.profiler.profile():  # on a GPU machine
    ...     y = model(x)
"""

from __future__ import annotations

import contextlib

from . import _runtime

__all__ = ["init", "start", "stop", "profile", "DEFAULT_FLAGS"]

DEFAULT_FLAGS = ["gpustarttimestamp", "gpuendtimestamp", "gridsize3d", "threadblocksize",
                 "streamid", "enableonstart 0", "conckerneltrace"]


def init(output_file, flags=None, output_mode: str = "key_value") -> None:
    """Configure the legacy command-line profiler: gone since CUDA 12, as in PyTorch.

    Example:
        >>> ember.cuda.profiler.init("out.prof")  # doctest: +SKIP  (raises)
    """
    _runtime.cupy("ember.cuda.profiler.init needs a GPU")
    raise RuntimeError("profiler not supported in CUDA 12.0 or later")


def start() -> None:
    """Start the profiler's capture range.

    Example:
        >>> ember.cuda.profiler.start()  # on a GPU machine
    """
    cp = _runtime.cupy("ember.cuda.profiler.start needs a GPU")
    cp.cuda.runtime.profilerStart()


def stop() -> None:
    """Stop the profiler's capture range.

    Example:
        >>> ember.cuda.profiler.stop()  # on a GPU machine
    """
    cp = _runtime.cupy("ember.cuda.profiler.stop needs a GPU")
    cp.cuda.runtime.profilerStop()


@contextlib.contextmanager
def profile():
    """A capture range around a block (``start``, then ``stop`` on the way out).

    Example:
        >>> with ember.cuda.profiler.profile():  # on a GPU machine
        ...     pass
    """
    start()
    try:
        yield
    finally:
        stop()
