"""``Compare``: many measurements as one table per label, rows by statement (or sub-label)
and thread count, columns by description (torch's ``torch.utils.benchmark.utils.compare``:
the same layout, colours and warnings)."""

from __future__ import annotations

import enum

import numpy as np

from . import common

__all__ = ["Colorize", "Compare"]

_RESET = "\033[0m"
_SEP = "  |  "


class Colorize(enum.Enum):
    """How ``Compare`` colours the table: not at all, by column or by row.

    Example:
        >>> Colorize.COLUMNWISE.value
        'columnwise'
    """

    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _paint(text: str, median: float, best: float) -> str:
    """Wrap a cell in the terminal colour for its distance from the best time (in seconds)."""
    if median <= max(best * 1.01, best + 100e-9):
        codes = "\033[92m\033[1m"  # best: bright green, bold
    elif median <= best * 1.1:
        codes = "\033[34m\033[1m"  # close: blue, bold
    elif median >= best * 5:
        codes = "\033[31m\033[1m"  # far off: red, bold
    elif median >= best * 2:
        codes = "\033[2m\033[91m"  # off: dim light red
    else:
        return text
    return f"{codes}{text}{_RESET}{_RESET}"


def _digits_before_point(value: float) -> int:
    return int(np.ceil(common._f32_log10(value)))


class _CellFormat:
    """How every number in one column is written: a shared width and decimal count, so the
    column lines up, and an optional ``(! XX%)`` spread note."""

    def __init__(self, cells, scale, trim, highlight):
        present = [m for m in cells if m is not None]
        self.trim = trim
        self.note_width = 7 if highlight and any(m.has_warnings for m in present) else 0
        leading = [_digits_before_point(m.median / scale) for m in present]
        self.decimals = (min(max(m.significant_figures - d, 0) for m, d in zip(present, leading))
                         if trim else 1)
        self.width = max(leading) + self.decimals + (self.decimals > 0)

    def text(self, value, sigfigs, spread) -> str:
        if self.trim:
            value = common.trim_sigfig(value, sigfigs)
        note = f" (! {spread * 100:.0f}%)" if self.note_width and spread is not None else ""
        return f"{value:>{self.width}.{self.decimals}f}{note:>{self.note_width}}"

    def blank(self) -> str:
        return " " * len(self.text(1, 1, None))


class Table:
    """One label's measurements laid out as rows (threads, env, statement) by columns
    (description).

    Example:
        >>> from ember.utils.benchmark.utils.common import Measurement, TaskSpec
        >>> m = Measurement(1, [1e-6], TaskSpec("f(x)", "pass", label="f", description="n=1"))
        >>> Table([m], Colorize.NONE, False, False).render().splitlines()[1]
        '            |  n=1'
    """

    def __init__(self, results, colorize, trim_significant_figures, highlight_warnings):
        if len({m.label for m in results}) != 1:
            raise AssertionError("All results must share the same label")
        self.results, self.label = results, results[0].label
        self._colorize, self._trim = colorize, trim_significant_figures
        self._highlight = highlight_warnings
        self.time_unit, self.time_scale = common.select_unit(min(m.median for m in results))

    def _grid(self):
        """Row keys (threads, env, name), column keys (descriptions) and the cells."""
        def row_of(m):
            return (m.num_threads, m.env, m.as_row_name)
        rows = common.ordered_unique(row_of(m) for m in self.results)
        rows.sort(key=lambda key: key[:2])  # by threads then env; stable, so names keep order
        cols = common.ordered_unique(m.description for m in self.results)
        cells = {key: [None] * len(cols) for key in rows}
        for m in self.results:
            cells[row_of(m)][cols.index(m.description)] = m
        return rows, cols, cells

    def render(self) -> str:
        """The table as text.

        Example:
            >>> from ember.utils.benchmark.utils.common import Measurement, TaskSpec
            >>> m = Measurement(1, [2e-3], TaskSpec("g()", "pass", label="g", description="a"))
            >>> Table([m], Colorize.NONE, False, False).render().splitlines()[-1]
            'Times are in milliseconds (ms).'
        """
        rows, cols, cells = self._grid()
        envs = {m.env for m in self.results}
        env_pad = max(map(len, envs)) + 4 if len(envs) > 1 else 4
        scale = self.time_scale
        formats = [_CellFormat([cells[key][j] for key in rows], scale, self._trim,
                               self._highlight) for j in range(len(cols))]

        # text of each row before padding, plus where a new thread group starts
        texts, group_of, starts, group = [], [], set(), -1
        last_threads, last_env = None, None
        for key in rows:
            threads, env, name = key
            if threads != last_threads:
                group, last_threads, last_env = group + 1, threads, ""
                starts.add(key)
            show_env = len(envs) > 1 and env != last_env
            line = [f"  {(f'({env})' if show_env else '').ljust(env_pad)}{name}"]
            for fmt, m in zip(formats, cells[key]):
                line.append(fmt.blank() if m is None else fmt.text(
                    m.median / scale, m.significant_figures,
                    m.iqr / m.median if m.has_warnings else None))
            texts.append(line)
            group_of.append(group)
            last_env = env

        header = ["", *cols]
        widths = [max(len(t[j]) for t in [header, *texts]) for j in range(len(header))]
        head_line = _SEP.join(h.center(w) for h, w in zip(header, widths))
        title = f" {self.label or ''} ".center(len(head_line) - 2, "-")
        out = [f"[{title}]", head_line]
        for key, line, g in zip(rows, texts, group_of):
            if key in starts:
                out.append(f"{key[0]} threads: ".ljust(len(head_line), "-"))
            row = cells[key]
            if self._colorize == Colorize.ROWWISE:
                bests = [min(m.median for m in row if m is not None)] * len(cols)
            elif self._colorize == Colorize.COLUMNWISE:
                bests = [min((cells[k][j].median for k, gk in zip(rows, group_of)
                              if gk == g and cells[k][j] is not None), default=None)
                         for j in range(len(cols))]
            else:
                bests = [None] * len(cols)
            shown = [line[0].ljust(widths[0])]
            for text, w, m, best in zip(line[1:], widths[1:], row, bests):
                text = text.center(w)
                shown.append(text if m is None or best is None else _paint(text, m.median, best))
            out.append(_SEP.join(shown))
        unit = self.time_unit
        out += ["", f"Times are in {common.unit_to_english(unit)}s ({unit}).", ""]
        if self._highlight and any(m.has_warnings for m in self.results):
            out[-1] = ("(! XX%) Measurement has high variance, where XX is the IQR / median "
                       "* 100.\n")
        return "\n".join(out)


class Compare:
    """Print many measurements as tables: one per label, a row per statement (or sub-label)
    and thread count, a column per description.

    Args:
        results: the ``Measurement`` objects to show.

    Example:
        >>> from ember.utils.benchmark.utils.common import Measurement, TaskSpec
        >>> ms = [Measurement(1, [t], TaskSpec("f(x)", "pass", label="f", description=d))
        ...       for t, d in [(1e-6, "n=1"), (2e-6, "n=2")]]
        >>> str(Compare(ms)).splitlines()[1]
        '            |  n=1  |  n=2'
    """

    def __init__(self, results) -> None:
        self._results: list = []
        self._trim = self._highlight = False
        self._colorize = Colorize.NONE
        self.extend_results(results)

    def extend_results(self, results) -> None:
        """Add more measurements (all must be ``Measurement``).

        Example:
            >>> Compare([]).extend_results([1])
            Traceback (most recent call last):
            ValueError: Expected an instance of `Measurement`, got <class 'int'> instead.
        """
        for item in results:
            if not isinstance(item, common.Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(item)} "
                                 "instead.")
        self._results += results

    def trim_significant_figures(self) -> None:
        """Show each number only to the significant figures its spread supports.

        Example:
            >>> Compare([]).trim_significant_figures()
        """
        self._trim = True

    def colorize(self, rowwise=False) -> None:
        """Colour each cell by how it compares with the best of its column (or row).

        Example:
            >>> Compare([]).colorize(rowwise=True)
        """
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Mark cells whose spread is high with ``(! XX%)``.

        Example:
            >>> Compare([]).highlight_warnings()
        """
        self._highlight = True

    def __str__(self) -> str:
        by_label: dict = {}
        for m in common.Measurement.merge(self._results):
            by_label.setdefault(m.label, []).append(m)
        return "\n".join(Table(group, self._colorize, self._trim, self._highlight).render()
                         for group in by_label.values())

    def print(self) -> None:
        """Print the tables.

        Example:
            >>> Compare([]).print()
            <BLANKLINE>
        """
        print(self)
