"""``Timer``: ``timeit.Timer`` with torch's replicates, warm-up, thread count and labels
(torch's ``torch.utils.benchmark.utils.timer``). Python statements only: torch's C++ timing
and Callgrind collection need a compiler and Valgrind, which ember does not use."""

from __future__ import annotations

import enum
import textwrap
import timeit as _timeit
from collections.abc import Callable

import numpy as np

from . import common

__all__ = ["Timer", "timer", "Language"]

_INT_MAX = 2**31 - 1  # timeit's loop count must fit a C int


def timer() -> float:
    """The default clock: ``timeit.default_timer``, after waiting for the accelerator if one
    is in use.

    Example:
        >>> t0 = timer(); t1 = timer(); t1 >= t0
        True
    """
    import ember

    if ember.accelerator.is_available():
        ember.accelerator.synchronize()
    return _timeit.default_timer()


class Language(enum.Enum):
    """The language of a ``Timer``'s statement.

    Example:
        >>> Language.PYTHON.value
        0
    """

    PYTHON = 0
    CPP = 1


def _clean(code: str) -> str:
    """Dedent, and drop one leading newline and trailing whitespace, so that triple-quoted
    statements print tidily in summaries."""
    code = textwrap.dedent(code)
    return code.removeprefix("\n").rstrip()


class Timer:
    """Measure the execution time of a statement, torch-style: replicates, a warm-up run,
    a fixed thread count (``num_threads``, default 1) and labels that ``Compare`` groups by.

    Args:
        stmt: the code to time, run in a loop.
        setup: code run once before timing (defines the statement's variables).
        global_setup: C++ only; must be empty for Python.
        timer: the clock (``timer`` waits for the accelerator, if any).
        globals: the namespace ``stmt`` runs in; ``torch`` names ember unless given.
        label, sub_label, description, env: how ``Compare`` groups and names results.
        num_threads: ``ember.set_num_threads`` while timing.
        language: ``"python"`` (C++ timing is not supported by ember).

    Example:
        >>> import ember
        >>> m = Timer("torch.add(x, 1)", globals={"x": ember.ones(8)}).timeit(100)
        >>> m.number_per_run, len(m.times)
        (100, 1)
    """

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict | None = None,
                 label: str | None = None, sub_label: str | None = None,
                 description: str | None = None, env: str | None = None,
                 num_threads: int = 1, language: Language | str = Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("ember's Timer times Python statements only: C++ "
                                      "timing needs torch's C++ extension toolchain.")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely "
                             "this code can simply be moved to `setup`.")
        import ember

        namespace = {"torch": ember}  # statements written for torch run on ember
        namespace.update(globals or {})
        stmt, setup = _clean(stmt), _clean(setup)
        self._runner = _timeit.Timer(stmt, setup, timer, namespace)
        self._task_spec = common.TaskSpec(stmt, setup, global_setup, label, sub_label,
                                          description, env, num_threads)

    def _block(self, loops: int) -> float:
        # a zero reading would later divide by zero in the statistics
        return max(self._runner.timeit(loops), 1e-9)

    def _result(self, loops: int, blocks: list) -> common.Measurement:
        return common.Measurement(loops, blocks, self._task_spec)

    def _threads(self):
        return common.set_torch_threads(self._task_spec.num_threads)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times (after a warm-up of ``number // 100``, at least 2)
        and return one measurement, as ``timeit.Timer.timeit``.

        Example:
            >>> Timer("1 + 1").timeit(1000).number_per_run
            1000
        """
        with self._threads():
            self._block(max(number // 100, 2))
            return self._result(number, [self._block(number)])

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        """Not supported, as in torch: use ``blocked_autorange``.

        Example:
            >>> Timer().repeat()
            Traceback (most recent call last):
            NotImplementedError: See `Timer.blocked_autorange.`
        """
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable | None = None) -> None:
        """Not supported, as in torch: use ``blocked_autorange``.

        Example:
            >>> Timer().autorange()
            Traceback (most recent call last):
            NotImplementedError: See `Timer.blocked_autorange.`
        """
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _pick_block_size(self, min_run_time: float) -> int:
        """Grow the loop count tenfold until one block is long enough that the clock's own
        cost (an empty block) is at most 0.01% of it, or the block alone exceeds
        ``min_run_time``."""
        with self._threads():
            empty = float(np.median(np.float32([self._block(0) for _ in range(5)])))
            loops = 1
            while True:
                spent = self._block(loops)
                negligible = empty / spent <= 1e-4 and spent >= min_run_time / 1000
                if negligible or spent > min_run_time or loops * 10 > _INT_MAX:
                    return loops
                loops *= 10

    def _collect(self, loops, done, min_run_time, max_run_time, callback) -> common.Measurement:
        """Time blocks until ``min_run_time`` has passed and ``done(blocks)`` agrees, or the
        total passes ``max_run_time``."""
        blocks: list = []
        with self._threads():
            while True:
                spent = self._block(loops)
                blocks.append(spent)
                if callback:
                    callback(loops, spent)
                satisfied = done(blocks)
                total = sum(blocks)
                if max_run_time and total > max_run_time:
                    break
                if total >= min_run_time and satisfied:
                    break
        return self._result(loops, blocks)

    def blocked_autorange(self, callback: Callable | None = None,
                          min_run_time: float = 0.2) -> common.Measurement:
        """Time blocks of ``stmt`` until ``min_run_time`` seconds have passed; the block size
        is chosen so the clock's overhead is negligible.

        Example:
            >>> m = Timer("1 + 1").blocked_autorange(min_run_time=0.01)
            >>> m.number_per_run >= 1 and len(m.times) >= 1
            True
        """
        loops = self._pick_block_size(min_run_time)
        return self._collect(loops, lambda blocks: True, min_run_time, None, callback)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0,
                           callback: Callable | None = None) -> common.Measurement:
        """Like ``blocked_autorange``, but keep measuring until IQR / median is below
        ``threshold`` (with more than 3 blocks and ``min_run_time`` spent) or
        ``max_run_time`` is reached.

        Example:
            >>> m = Timer("1 + 1").adaptive_autorange(max_run_time=0.05)
            >>> len(m.times) >= 1
            True
        """
        loops = self._pick_block_size(0.05)

        def steady(blocks):
            return len(blocks) > 3 and self._result(loops, blocks).meets_confidence(threshold)

        return self._collect(loops, steady, min_run_time, max_run_time, callback)

    def collect_callgrind(self, number: int = 100, *, repeats: int | None = None,
                          collect_baseline: bool = True, retain_out_file: bool = False):
        """Not available: instruction counts need Valgrind and torch's C++ bindings.

        Example:
            >>> Timer().collect_callgrind()
            Traceback (most recent call last):
            NotImplementedError: ember's Timer does not collect Callgrind instruction counts.
        """
        raise NotImplementedError("ember's Timer does not collect Callgrind instruction counts.")
