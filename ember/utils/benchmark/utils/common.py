"""What a benchmark measured: ``TaskSpec`` (the statement and its labels) and ``Measurement``
(the times, their statistics and a printable summary), with the unit and significant-figure
helpers ``Compare`` formats with (torch's ``torch.utils.benchmark.utils.common``).

torch computes units, significant figures and trimming on float32 tensors; the same steps run
here on NumPy float32 so that a value on a unit boundary rounds the way torch's does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import textwrap
from collections.abc import Iterable, Iterator

import numpy as np

__all__ = ["TaskSpec", "Measurement", "select_unit", "unit_to_english", "trim_sigfig",
           "ordered_unique", "set_torch_threads"]

# (unit, seconds per unit, English name), smallest first
_UNITS = (("ns", 1e-9, "nanosecond"), ("us", 1e-6, "microsecond"),
          ("ms", 1e-3, "millisecond"), ("s", 1, "second"))
_SIGFIG_CAP = 4
_CI_FLOOR = 25e-9  # a 90% interval narrower than 25 ns is not believed
_SPREAD_LIMITS = ((0.25, "This suggests significant environmental influence."),
                  (0.1, "This could indicate system fluctuation."))


def _f32_log10(value) -> float:
    """log10 as torch's float32 tensor op gives it: NumPy's float32 log10 can be a few ulps
    off (float32(1e-6) gives -6.0000005, flooring to the wrong unit), so the log is taken in
    float64 of the float32 value and rounded to float32 once."""
    return float(np.float32(np.log10(float(np.float32(value)))))


def _indented(text: str) -> str:
    return textwrap.indent(text, "  ")


_Tag = str | None  # an optional piece of display text


@dataclasses.dataclass(frozen=True, repr=False)
class TaskSpec:
    """What a ``Timer`` runs and how its results are labelled (everything but the globals).
    Frozen and hashable, so that ``Measurement.merge`` can pool measurements by task.

    Example:
        >>> spec = TaskSpec("x + 1", "pass", label="add", sub_label="int")
        >>> spec.title
        'add: int'
        >>> print(TaskSpec("y = x\\nz = y", "x = 1", description="two lines").summarize())
        stmt:
          y = x
          z = y
        <BLANKLINE>
        two lines
        setup: x = 1
    """

    stmt: str
    setup: str
    global_setup: str = ""
    label: _Tag = None
    sub_label: _Tag = None
    description: _Tag = None
    env: _Tag = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (else the statement, indented under ``stmt:`` when it spans lines),
        followed by the sub-label.

        Example:
            >>> TaskSpec("f(x)", "pass", sub_label="fp32").title
            'f(x): fp32'
        """
        sub = self.sub_label  # an empty sub-label counts as none
        if self.label is not None:
            return f"{self.label}: {sub}" if sub else self.label
        if "\n" not in self.stmt:
            return f"{self.stmt}: {sub}" if sub else self.stmt
        return f"stmt:{f' ({sub})' if sub else ''}\n{_indented(self.stmt)}"

    def setup_str(self) -> str:
        """The setup as a summary shows it: nothing for an empty one or ``pass``.

        Example:
            >>> TaskSpec("f(x)", "x = 1\\ny = 2").setup_str()
            'setup:\\n  x = 1\\n  y = 2'
        """
        if self.setup in ("", "pass"):
            return ""
        if "\n" in self.setup:
            return f"setup:\n{_indented(self.setup)}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """Title, description and setup on their own lines; a part spanning several lines is
        followed by a blank one.

        Example:
            >>> print(TaskSpec("f(x)", "pass", label="f", description="n=1").summarize())
            f
            n=1
        """
        parts = [self.title, self.description, self.setup_str()]
        return "\n".join(p + "\n" if "\n" in p else p for p in parts if p)


_SPEC_NAMES = frozenset(f.name for f in dataclasses.fields(TaskSpec))


@dataclasses.dataclass(repr=False)
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
    metadata: dict | None = None  # the caller's own payload, carried untouched

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: TaskSpec fields read through
        if name in _SPEC_NAMES:
            return getattr(self.task_spec, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _summary(self) -> dict:
        # computed on first use and kept; raw_times are not expected to change afterwards
        cached = self.__dict__.get("_cache")
        if cached is None:
            per_run = np.sort(np.asarray(self.times, dtype=np.float64))
            q25, q50, q75 = np.quantile(per_run, [0.25, 0.5, 0.75]) if per_run.size else (
                -1.0, -1.0, -1.0)
            cached = {"sorted": per_run, "median": float(q50), "mean": float(per_run.mean())
                      if per_run.size else -1.0, "p25": float(q25), "p75": float(q75)}
            self.__dict__["_cache"] = cached
        return cached

    @property
    def times(self) -> list:
        """Seconds per run, one per block.

        Example:
            >>> Measurement(4, [8.0], TaskSpec("pass", "pass")).times
            [2.0]
        """
        n = self.number_per_run
        return [block / n for block in self.raw_times]

    @property
    def median(self):
        """The median time per run.

        Example:
            >>> Measurement(1, [1.0, 5.0, 2.0], TaskSpec("pass", "pass")).median
            2.0
        """
        return self._summary()["median"]

    @property
    def mean(self) -> float:
        """The mean time per run.

        Example:
            >>> Measurement(1, [1.0, 5.0], TaskSpec("pass", "pass")).mean
            3.0
        """
        return self._summary()["mean"]

    @property
    def iqr(self) -> float:
        """The interquartile range of the times per run.

        Example:
            >>> Measurement(1, [1.0, 2.0, 3.0, 4.0, 5.0], TaskSpec("pass", "pass")).iqr
            2.0
        """
        s = self._summary()
        return s["p75"] - s["p25"]

    @property
    def significant_figures(self):
        """How many significant figures the times support (1 to 4), from a 90% confidence
        interval of the interquartile points; ``Compare.trim_significant_figures`` uses it.

        Example:
            >>> Measurement(1, [1e-3] * 8, TaskSpec("pass", "pass")).significant_figures
            4
        """
        ordered = self._summary()["sorted"]
        count = len(ordered)
        middle = ordered[count // 4:int(np.ceil(np.float32(count * 3 / 4)))].astype(np.float32)
        half_width = 1.645 * float(middle.std()) / float(np.sqrt(np.float32(middle.size)))
        digits = int(np.floor(np.float32(_f32_log10(self.median / max(half_width, _CI_FLOOR)))))
        return int(np.clip(digits, 1, _SIGFIG_CAP))

    def _warning_lines(self) -> list:
        spread = self.iqr / self.median
        for limit, why in _SPREAD_LIMITS:
            if not spread < limit:
                return [f"  WARNING: Interquartile range is {spread * 100:.1f}% of the median "
                        f"measurement.\n           {why}"]
        return []

    @property
    def has_warnings(self):
        """Whether the spread is large enough (IQR over 10% of the median) to warn about.

        Example:
            >>> Measurement(1, [1.0, 2.0, 3.0, 9.0], TaskSpec("pass", "pass")).has_warnings
            True
        """
        return bool(self.raw_times) and bool(self._warning_lines())

    def meets_confidence(self, threshold: float = 0.1) -> bool:
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
        """The task's ``env`` tag, read through from the ``TaskSpec``.

        Example:
            >>> Measurement(1, [1.0], TaskSpec("f(x)", "pass", env="A")).env
            'A'
        """
        return self.task_spec.env

    @property
    def as_row_name(self):
        """The row name in a ``Compare`` table: the sub-label, else the statement.

        Example:
            >>> Measurement(1, [1.0], TaskSpec("f(x)", "pass", sub_label="fp32")).as_row_name
            'fp32'
        """
        spec = self.task_spec
        return spec.sub_label or spec.stmt or "[Unknown]"

    def __repr__(self):
        s = self._summary()
        count, threads = len(s["sorted"]), self.task_spec.num_threads
        unit, scale = select_unit(s["median"])
        lines = [object.__repr__(self), self.task_spec.summarize()]
        several = count > 1
        lines.append(f"  {'Median: ' * several}{s['median'] / scale:.2f} {unit}")
        if count >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} "
                         f"({s['p25'] / scale:.2f} to {s['p75'] / scale:.2f})")
        per = "per measurement," if several else ","
        lines.append(f"  {count} measurement{'s' * several}, {self.number_per_run} runs {per} "
                     f"{threads} thread{'s' * (threads > 1)}")
        lines.extend(self._warning_lines() if self.raw_times else [])
        return "\n".join(lines).strip()

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
        pooled: dict = {}
        for m in measurements:
            pooled.setdefault(m.task_spec, []).extend(m.times)
        return [Measurement(1, per_run, spec) for spec, per_run in pooled.items()]


def select_unit(t: float) -> tuple[str, float]:
    """The unit (``ns``, ``us``, ``ms`` or ``s``) and its scale for showing ``t`` seconds.

    Example:
        >>> select_unit(3.2e-5)
        ('us', 1e-06)
    """
    thousands = int(_f32_log10(t) // 3)  # -3 for ns ... -1 for ms; anything else shows seconds
    unit, scale, _ = _UNITS[thousands + 3] if -3 <= thousands <= -1 else _UNITS[-1]
    return unit, scale


def unit_to_english(u: str) -> str:
    """A time unit's English name.

    Example:
        >>> unit_to_english("us")
        'microsecond'
    """
    return {short: name for short, _, name in _UNITS}[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (in float32, as torch computes it).

    Example:
        >>> round(trim_sigfig(3.14159, 2), 6)
        3.1
    """
    if int(n) != n:
        raise AssertionError("Number of significant figures must be an integer")
    step = 10 ** (int(np.ceil(_f32_log10(abs(x)))) - n)
    return float(np.round(np.float32(x / step)) * np.float32(step))


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

    saved = ember.get_num_threads()
    # ember's count is capped at 8 while OpenBLAS's may be larger: put both back as they were
    saved_blas = None if _blas.get_num_threads is None else _blas.get_num_threads()
    try:
        ember.set_num_threads(n)
        yield
    finally:
        ember.set_num_threads(saved)
        if saved_blas is not None:
            _blas.set_num_threads(saved_blas)
