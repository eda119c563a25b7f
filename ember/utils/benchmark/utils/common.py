"""What a benchmark measured: ``TaskSpec`` (the statement and its labels) and ``Measurement``
(the times, their statistics and torch's summary), with the unit and significant-figure helpers
``Compare`` formats with (torch's ``torch.utils.benchmark.utils.common``).

torch computes the unit, the significant figures and the trimming on float32 tensors; the
same steps run here on NumPy float32 so that a value on a unit boundary rounds as torch's does.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["TaskSpec", "Measurement", "select_unit", "unit_to_english", "trim_sigfig",
           "ordered_unique", "set_torch_threads"]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # 25 ns

# measurement-quality warnings: interquartile range relative to the median
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25


def _log10_f32(x) -> float:
    """``torch.tensor(x).log10().item()``: the float32 value's log10, rounded to float32.
    NumPy's own float32 log10 is a few ulps off (log10(float32(1e-6)) = -6.0000005, which would
    floor to the wrong unit), so the log is taken in float64 and rounded once."""
    return float(np.float32(np.log10(float(np.float32(x)))))


@dataclasses.dataclass(init=True, repr=False, eq=True, frozen=True)
class TaskSpec:
    """What a ``Timer`` runs and how its results are labelled (all but the globals).

    Example:
        >>> TaskSpec("x + 1", "pass", label="add", sub_label="float").title
        'add: float'
    """

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """A label for the measurement: the label, else the one-line statement.

        Example:
            >>> TaskSpec("y = x * 2", "pass").title
            'y = x * 2'
        """
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" not in self.stmt:
            return self.stmt + (f": {self.sub_label}" if self.sub_label else "")
        return (f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n"
                f"{textwrap.indent(self.stmt, '  ')}")

    def setup_str(self) -> str:
        """The setup as the summary shows it (nothing for ``pass``).

        Example:
            >>> TaskSpec("x", "x = 1").setup_str()
            'setup: x = 1'
        """
        if self.setup == "pass" or not self.setup:
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """The task's lines in a ``Measurement`` repr.

        Example:
            >>> print(TaskSpec("x + 1", "x = 1", description="n=1").summarize())
            x + 1
            n=1
            setup: x = 1
        """
        sections = [self.title, self.description or "", self.setup_str()]
        return "\n".join([f"{i}\n" if "\n" in i else i for i in sections if i])


_TASKSPEC_FIELDS = tuple(i.name for i in dataclasses.fields(TaskSpec))


@dataclasses.dataclass(init=True, repr=False)
class Measurement:
    """The result of a ``Timer`` measurement: ``raw_times`` are seconds per block of
    ``number_per_run`` runs; ``times``, ``median``, ``mean`` and ``iqr`` are per run. The
    ``TaskSpec``'s fields read through (``m.label``, ``m.num_threads``).

    Example:
        >>> m = Measurement(10, [2e-5, 3e-5, 4e-5], TaskSpec("x + 1", "pass"))
        >>> m.median, len(m.times)
        (3e-06, 3)
    """

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict | None = None  # the user's payload

    def __post_init__(self) -> None:
        self._sorted_times: tuple = ()
        self._warnings: tuple = ()
        self._median = -1.0
        self._mean = -1.0
        self._p25 = -1.0
        self._p75 = -1.0

    def __getattr__(self, name: str) -> Any:
        # the TaskSpec's fields read through the measurement, as torch's do
        if name in _TASKSPEC_FIELDS:
            return getattr(self.task_spec, name)
        return super().__getattribute__(name)

    @property
    def times(self) -> list:
        """Seconds per run, one per block.

        Example:
            >>> Measurement(4, [8.0], TaskSpec("pass", "pass")).times
            [2.0]
        """
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        """The median time per run.

        Example:
            >>> Measurement(1, [1.0, 5.0, 2.0], TaskSpec("pass", "pass")).median
            2.0
        """
        self._lazy_init()
        return self._median

    @property
    def mean(self) -> float:
        """The mean time per run.

        Example:
            >>> Measurement(1, [1.0, 5.0], TaskSpec("pass", "pass")).mean
            3.0
        """
        self._lazy_init()
        return self._mean

    @property
    def iqr(self) -> float:
        """The interquartile range of the times per run.

        Example:
            >>> Measurement(1, [1.0, 2.0, 3.0, 4.0, 5.0], TaskSpec("pass", "pass")).iqr
            2.0
        """
        self._lazy_init()
        return self._p75 - self._p25

    @property
    def significant_figures(self) -> int:
        """How many significant figures the times support (1 to 4), from a 90% confidence
        interval of the interquartile points; ``Compare.trim_significant_figures`` uses it.

        Example:
            >>> Measurement(1, [1e-3] * 8, TaskSpec("pass", "pass")).significant_figures
            4
        """
        self._lazy_init()
        n_total = len(self._sorted_times)
        lower_bound = int(n_total // 4)
        upper_bound = int(np.ceil(np.float32(3 * n_total / 4)))
        points = np.array(self._sorted_times[lower_bound:upper_bound], dtype=np.float32)
        std = float(points.std())
        sqrt_n = float(np.sqrt(np.float32(len(points))))
        confidence_interval = max(1.645 * std / sqrt_n, _MIN_CONFIDENCE_INTERVAL)
        relative_ci = _log10_f32(self._median / confidence_interval)
        num_significant_figures = int(np.floor(np.float32(relative_ci)))
        return min(max(num_significant_figures, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        """Whether the spread is large enough (IQR over 10% of the median) to warn about.

        Example:
            >>> Measurement(1, [1.0, 2.0, 3.0, 9.0], TaskSpec("pass", "pass")).has_warnings
            True
        """
        self._lazy_init()
        return bool(self._warnings)

    def _lazy_init(self) -> None:
        if self.raw_times and not self._sorted_times:
            self._sorted_times = tuple(sorted(self.times))
            times = np.array(self._sorted_times, dtype=np.float64)
            self._median = float(np.quantile(times, 0.5))
            self._mean = float(times.mean())
            self._p25 = float(np.quantile(times, 0.25))
            self._p75 = float(np.quantile(times, 0.75))

            def add_warning(msg: str) -> None:
                rel_iqr = self.iqr / self.median * 100
                self._warnings += (f"  WARNING: Interquartile range is {rel_iqr:.1f}% "
                                   f"of the median measurement.\n           {msg}",)

            if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD):
                add_warning("This suggests significant environmental influence.")
            elif not self.meets_confidence(_IQR_WARN_THRESHOLD):
                add_warning("This could indicate system fluctuation.")

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        """Whether IQR / median is below ``threshold``.

        Example:
            >>> Measurement(1, [1.0, 1.0, 1.01, 1.0], TaskSpec("pass", "pass")).meets_confidence()
            True
        """
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        """The task's title (see ``TaskSpec.title``).

        Example:
            >>> Measurement(1, [1.0], TaskSpec("f(x)", "pass")).title
            'f(x)'
        """
        return self.task_spec.title

    @property
    def env(self):
        """The task's ``env`` tag (torch's property reads through to the TaskSpec's).

        Example:
            >>> Measurement(1, [1.0], TaskSpec("f(x)", "pass", env="A")).env
            'A'
        """
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        """The row name in a ``Compare`` table: the sub-label, else the statement.

        Example:
            >>> Measurement(1, [1.0], TaskSpec("f(x)", "pass", sub_label="fp32")).as_row_name
            'fp32'
        """
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self) -> str:
        self._lazy_init()
        skip_line, newline = "MEASUREMENT_REPR_SKIP_LINE", "\n"
        n = len(self._sorted_times)
        time_unit, time_scale = select_unit(self._median)
        iqr_filter = "" if n >= 4 else skip_line
        repr_str = f"""
{super().__repr__()}
{self.task_spec.summarize()}
  {'Median: ' if n > 1 else ''}{self._median / time_scale:.2f} {time_unit}
  {iqr_filter}IQR:    {self.iqr / time_scale:.2f} {time_unit} ({self._p25 / time_scale:.2f} to {self._p75 / time_scale:.2f})
  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs {'per measurement,' if n > 1 else ','} {self.num_threads} thread{'s' if self.num_threads > 1 else ''}
{newline.join(self._warnings)}""".strip()  # noqa: E501  (torch's layout, line by line)
        return "\n".join(line for line in repr_str.splitlines(keepends=False)
                         if skip_line not in line)

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """Merge replicates of the same task into one measurement each, with times per run
        (``number_per_run=1``) and no metadata.

        Example:
            >>> spec = TaskSpec("x", "pass")
            >>> merged = Measurement.merge([Measurement(2, [4.0], spec),
            ...                             Measurement(1, [3.0], spec)])
            >>> len(merged), merged[0].times
            (1, [2.0, 3.0])
        """
        grouped: collections.defaultdict = collections.defaultdict(list)
        for m in measurements:
            grouped[m.task_spec].append(m)
        out = []
        for task_spec, group in grouped.items():
            times: list = []
            for m in group:
                times.extend(m.times)
            out.append(Measurement(number_per_run=1, raw_times=times, task_spec=task_spec,
                                   metadata=None))
        return out


def select_unit(t: float) -> tuple[str, float]:
    """The unit (``ns``, ``us``, ``ms`` or ``s``) and its scale for showing ``t`` seconds.

    Example:
        >>> select_unit(3.2e-5)
        ('us', 1e-06)
    """
    exponent = int(_log10_f32(t) // 3)
    time_unit = {-3: "ns", -2: "us", -1: "ms"}.get(exponent, "s")
    return time_unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[time_unit]


def unit_to_english(u: str) -> str:
    """A time unit's English name.

    Example:
        >>> unit_to_english("us")
        'microsecond'
    """
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (in float32, as torch computes it).

    Example:
        >>> round(trim_sigfig(3.14159, 2), 6)
        3.1
    """
    if n != int(n):
        raise AssertionError("Number of significant figures must be an integer")
    magnitude = int(np.ceil(_log10_f32(abs(x))))
    scale = 10 ** (magnitude - n)
    return float(np.round(np.float32(x / scale)) * np.float32(scale))


def ordered_unique(elements: Iterable) -> list:
    """The distinct elements in first-seen order.

    Example:
        >>> ordered_unique([3, 1, 3, 2, 1])
        [3, 1, 2]
    """
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``ember.set_num_threads(n)``, restoring the count after.

    Example:
        >>> import ember
        >>> with set_torch_threads(1):
        ...     ember.get_num_threads()
        1
    """
    import ember
    from ember import _blas

    prior_num_threads = ember.get_num_threads()
    # ember's count is capped at 8 while OpenBLAS's may be larger: put both back as they were
    prior_blas = _blas.get_num_threads() if _blas.get_num_threads is not None else None
    try:
        ember.set_num_threads(n)
        yield
    finally:
        ember.set_num_threads(prior_num_threads)
        if prior_blas is not None:
            _blas.set_num_threads(prior_blas)
