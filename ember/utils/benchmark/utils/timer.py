"""``Timer``: ``timeit.Timer`` with torch's replicates, warm-up, thread count and labels
(torch's ``torch.utils.benchmark.utils.timer``). Python statements only: torch's C++ timing
and Callgrind collection need a compiler and Valgrind, which ember does not use."""

from __future__ import annotations

import enum
import textwrap
import timeit as _timeit_module
from collections.abc import Callable
from typing import Any

import numpy as np

from . import common

__all__ = ["Timer", "timer", "Language"]


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
    return _timeit_module.default_timer()


class Language(enum.Enum):
    """The language of a ``Timer``'s statement.

    Example:
        >>> Language.PYTHON.value
        0
    """

    PYTHON = 0
    CPP = 1


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

    _timer_cls = _timeit_module.Timer

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict[str, Any] | None = None,
                 label: str | None = None, sub_label: str | None = None,
                 description: str | None = None, env: str | None = None,
                 num_threads: int = 1, language: Language | str = Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        self._globals = dict(globals or {})
        if language in (Language.PYTHON, "py", "python"):
            import ember

            # a statement written for torch (`torch.add(x, y)`) runs on ember
            self._globals.setdefault("torch", ember)
            self._language = Language.PYTHON
            if global_setup:
                raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely "
                                 "this code can simply be moved to `setup`.")
        elif language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("ember's Timer times Python statements only: C++ "
                                      "timing needs torch's C++ extension toolchain.")
        else:
            raise ValueError(f"Invalid language `{language}`.")

        stmt = textwrap.dedent(stmt)
        stmt = (stmt[1:] if stmt and stmt[0] == "\n" else stmt).rstrip()
        setup = textwrap.dedent(setup)
        setup = (setup[1:] if setup and setup[0] == "\n" else setup).rstrip()
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer,
                                      globals=self._globals)
        self._task_spec = common.TaskSpec(
            stmt=stmt, setup=setup, global_setup=global_setup, label=label,
            sub_label=sub_label, description=description, env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        # a zero reading would divide by zero in the statistics
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times (after a warm-up of ``number // 100``, at least 2)
        and return one measurement, as ``timeit.Timer.timeit``.

        Example:
            >>> Timer("1 + 1").timeit(1000).number_per_run
            1000
        """
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))  # warm-up
            return common.Measurement(number_per_run=number,
                                      raw_times=[self._timeit(number=number)],
                                      task_spec=self._task_spec)

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

    def _threaded_measurement_loop(self, number, time_hook, stop_hook, min_run_time,
                                   max_run_time=None, callback=None) -> list:
        total_time = 0.0
        can_stop = False
        times: list = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while (total_time < min_run_time) or (not can_stop):
                time_spent = time_hook()
                times.append(time_spent)
                total_time += time_spent
                if callback:
                    callback(number, time_spent)
                can_stop = stop_hook(times)
                if max_run_time and total_time > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        # grow the block tenfold until the clock's own overhead is under 0.01% of it
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = float(np.median(np.array([self._timeit(0) for _ in range(5)],
                                                dtype=np.float32)))
            number = 1
            while True:
                time_taken = self._timeit(number)
                relative_overhead = overhead / time_taken
                if relative_overhead <= 1e-4 and time_taken >= min_run_time / 1000:
                    break
                if time_taken > min_run_time:
                    break
                if number * 10 > 2147483647:  # timeit's loop counter is a C int
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback: Callable | None = None,
                          min_run_time: float = 0.2) -> common.Measurement:
        """Time blocks of ``stmt`` until ``min_run_time`` seconds have passed; the block size
        is chosen so the clock's overhead is negligible.

        Example:
            >>> m = Timer("1 + 1").blocked_autorange(min_run_time=0.01)
            >>> m.number_per_run >= 1 and len(m.times) >= 1
            True
        """
        number = self._estimate_block_size(min_run_time)
        times = self._threaded_measurement_loop(
            number, lambda: self._timeit(number), lambda times: True,
            min_run_time=min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

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
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times: list) -> bool:
            if len(times) > 3:
                return common.Measurement(number_per_run=number, raw_times=times,
                                          task_spec=self._task_spec
                                          ).meets_confidence(threshold=threshold)
            return False

        times = self._threaded_measurement_loop(
            number, lambda: self._timeit(number), stop_hook, min_run_time, max_run_time,
            callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def collect_callgrind(self, number: int = 100, *, repeats: int | None = None,
                          collect_baseline: bool = True, retain_out_file: bool = False):
        """Not available: instruction counts need Valgrind and torch's C++ bindings.

        Example:
            >>> Timer().collect_callgrind()
            Traceback (most recent call last):
            NotImplementedError: ember's Timer does not collect Callgrind instruction counts.
        """
        raise NotImplementedError("ember's Timer does not collect Callgrind instruction counts.")
