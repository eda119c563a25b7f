"""Timing PyTorch-style statements, as ``torch.utils.benchmark``: ``Timer`` measures a
statement in blocks with replicates, ``Measurement`` holds and summarizes the times, and
``Compare`` prints many measurements as one table.

Example:
    >>> import ember
    >>> from ember.utils import benchmark
    >>> t = benchmark.Timer("x + 1", globals={"x": ember.ones(4)})
    >>> m = t.timeit(10)
    >>> m.number_per_run
    10
"""

from .utils.common import *  # noqa: F403
from .utils.common import __all__ as _common_all
from .utils.compare import *  # noqa: F403
from .utils.compare import __all__ as _compare_all
from .utils.timer import *  # noqa: F403
from .utils.timer import __all__ as _timer_all

__all__ = [*_common_all, *_timer_all, *_compare_all]
