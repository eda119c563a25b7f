"""Profiler results: ``FunctionEvent``, ``FunctionEventAvg`` and ``EventList`` (torch's
``torch.autograd.profiler_util``): nesting and self time from the recorded intervals, averages
by key, torch's CPU table and the Chrome trace."""

from __future__ import annotations

import gzip
import itertools
import json
import os
from operator import attrgetter

from ._recorder import USER


class Interval:
    """A ``[start, end)`` time range in microseconds.

    Example:
        >>> Interval(1.0, 3.5).elapsed_us()
        2.5
    """

    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        """The length of the interval, in microseconds.

        Example:
            >>> Interval(0.0, 2.0).elapsed_us()
            2.0
        """
        return self.end - self.start


def _format_time(time_us):
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_memory(nbytes):
    """Bytes as torch's table writes them (``39.06 KB``, ``4 B``)."""
    KB = 1024
    MB = 1024 * KB
    GB = 1024 * MB
    if abs(nbytes) >= GB:
        return f"{nbytes * 1.0 / GB:.2f} GB"
    if abs(nbytes) >= MB:
        return f"{nbytes * 1.0 / MB:.2f} MB"
    if abs(nbytes) >= KB:
        return f"{nbytes * 1.0 / KB:.2f} KB"
    return str(nbytes) + " B"


def _format_time_share(time_us, total_time_us):
    if total_time_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_time_us:.2f}%"


def _time_str(name):
    return property(lambda self: _format_time(getattr(self, name)))


class _Times:
    """Times as torch formats them, and the per-call average."""

    cpu_time_str = _time_str("cpu_time")
    cpu_time_total_str = _time_str("cpu_time_total")
    self_cpu_time_total_str = _time_str("self_cpu_time_total")
    device_time_str = _time_str("device_time")
    device_time_total_str = _time_str("device_time_total")
    self_device_time_total_str = _time_str("self_device_time_total")

    # ember measures host time only: device columns are zero, as torch's without a GPU
    device_time_total = 0
    self_device_time_total = 0
    cuda_time_total = 0
    self_cuda_time_total = 0
    device_memory_usage = 0
    self_device_memory_usage = 0
    is_async = False
    is_remote = False
    is_legacy = False
    node_id = -1
    use_device = None

    @property
    def cpu_time(self):
        return 0.0 if self.count == 0 else 1.0 * self.cpu_time_total / self.count

    @property
    def device_time(self):
        return 0.0


class FunctionEvent(_Times):
    """One recorded range: an op's forward, an autograd node's backward, a
    ``record_function`` range or an optimizer step. Times are in microseconds.

    Example:
        >>> e = FunctionEvent(1, "aten::relu", thread=1, start_us=0.0, end_us=4.0)
        >>> e.cpu_time_total, e.self_cpu_time_total
        (4.0, 4.0)
    """

    def __init__(self, id, name, thread, start_us, end_us, input_shapes=None, stack=None,
                 is_user_annotation=False, trace_name=None, sequence_nr=-1, scope=0,
                 cpu_memory_usage=0):
        self.id = id
        # the bytes this event's own outputs allocated (profile_memory); the totals below
        # take the children into account
        self._allocated = cpu_memory_usage
        self.name = name
        self.trace_name = trace_name if trace_name is not None else name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.is_user_annotation = is_user_annotation
        self.sequence_nr = sequence_nr
        self.scope = scope
        self.count = 1
        self.cpu_children: list = []
        self.cpu_parent = None
        self.kernels: list = []
        self.overload_name = ""
        self.flops = 0
        self.self_cpu_percent = -1
        self.total_cpu_percent = -1

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_memory_usage(self):
        # an op whose output a child allocated (a composite) holds that memory once; a range
        # (record_function, a backward node) holds what its children allocated
        return max(self._allocated, sum(c.cpu_memory_usage for c in self.cpu_children))

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    def append_cpu_child(self, child):
        """Record ``child`` as a direct child (its range lies inside this one).

        Example:
            >>> parent = FunctionEvent(1, "outer", 1, 0.0, 10.0)
            >>> parent.append_cpu_child(FunctionEvent(2, "inner", 1, 2.0, 5.0))
            >>> parent.self_cpu_time_total
            7.0
        """
        if not isinstance(child, FunctionEvent):
            raise AssertionError("Expected child to be a FunctionEvent")
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent):
        """Record the event whose range directly contains this one.

        Example:
            >>> child = FunctionEvent(2, "inner", 1, 2.0, 5.0)
            >>> child.set_cpu_parent(FunctionEvent(1, "outer", 1, 0.0, 10.0))
            >>> child.cpu_parent.name
            'outer'
        """
        if not isinstance(parent, FunctionEvent):
            raise AssertionError("Expected parent to be a FunctionEvent")
        self.cpu_parent = parent

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time={self.cpu_time_str} start_us={self.time_range.start} "
                f"end_us={self.time_range.end} "
                f"cpu_children={[c.id for c in self.cpu_children]} "
                f"thread={self.thread} input_shapes={self.input_shapes} "
                f"is_user_annotation={self.is_user_annotation}>")


class FunctionEventAvg(_Times):
    """The sum of several events with one key (``key_averages``' rows).

    Example:
        >>> avg = FunctionEventAvg()
        >>> avg.add(FunctionEvent(1, "aten::relu", 1, 0.0, 2.0)).count
        1
    """

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0
        self.self_cpu_time_total = 0
        self.input_shapes = None
        self.overload_name = None
        self.stack = None
        self.scope = None
        self.cpu_children = None
        self.cpu_parent = None
        self.is_user_annotation = False
        self.flops = 0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0

    def add(self, other):
        """Add an event (or another average) with the same key; returns ``self``.

        Example:
            >>> avg = FunctionEventAvg()
            >>> _ = avg.add(FunctionEvent(1, "x", 1, 0.0, 2.0))
            >>> avg.add(FunctionEvent(2, "x", 1, 3.0, 7.0)).cpu_time
            3.0
        """
        if not isinstance(other, (FunctionEvent, FunctionEventAvg)):
            raise AssertionError("Expected other to be a FunctionEvent or FunctionEventAvg")
        if self.key is None:  # the first event gives the group its fields
            self.key = other.key
            self.cpu_parent = other.cpu_parent
            self.cpu_children = other.cpu_children
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.scope = other.scope
            self.overload_name = other.overload_name
            self.is_user_annotation = other.is_user_annotation
        if other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {other.key} vs {self.key}")
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.count += other.count
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_cuda_time=0.000us cuda_time=0.000us "
                f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage} "
                f"cuda_memory_usage=0>")


def _wildcard(name: str) -> str:
    # torch sums the schedule's steps in one row: ProfilerStep#3 is "ProfilerStep*" there and
    # keeps its number in the trace
    return "ProfilerStep*" if name.startswith("ProfilerStep#") else name


def events_from(raw) -> EventList:
    """An ``EventList`` (tree built) of a session's resolved raw events, in start order.

    Example:
        >>> evs = events_from([("aten::relu", "cpu_op", 1000, 3000, 7, [[2]], None)])
        >>> evs[0].name, evs[0].cpu_time_total
        ('aten::relu', 2.0)
    """
    raw = sorted(raw, key=lambda r: (r[2], -r[3]))
    events = EventList(
        FunctionEvent(i, _wildcard(name), tid, t0 / 1000.0, t1 / 1000.0, input_shapes=shapes,
                      stack=stack, is_user_annotation=cat == USER, trace_name=name,
                      cpu_memory_usage=(r[7] or 0) if len(r) > 7 else 0)
        for i, r in enumerate(raw, 1) for name, cat, t0, t1, tid, shapes, stack in [r[:7]])
    events._build_tree()
    return events


class EventList(list):
    """A list of ``FunctionEvent`` (or, from ``key_averages``, ``FunctionEventAvg``) with
    torch's summaries: ``table``, ``key_averages``, ``total_average``,
    ``export_chrome_trace`` and ``self_cpu_time_total``.

    Example:
        >>> with ember.profiler.profile() as prof:
        ...     _ = ember.ones(2).exp()
        >>> print(prof.events().key_averages().table(row_limit=1))  # doctest: +SKIP
    """

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False):
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._tree_built = False

    def __str__(self):
        return self.table()

    def _build_tree(self):
        self._populate_cpu_children()
        self._remove_dup_nodes()
        self._tree_built = True

    def _populate_cpu_children(self):
        # per thread, sorted by start (outer first on ties): a stack of the ranges still open;
        # an event is the child of the innermost one that contains it
        by_thread = itertools.groupby(sorted(self, key=attrgetter("thread")),
                                      key=attrgetter("thread"))
        for _, thread_events in by_thread:
            ordered = sorted(thread_events,
                             key=lambda e: (e.time_range.start, -e.time_range.end))
            open_events: list = []
            for event in ordered:
                while open_events:
                    parent = open_events[-1]
                    if (event.time_range.start >= parent.time_range.end
                            or event.time_range.end > parent.time_range.end):
                        open_events.pop()
                    else:
                        parent.append_cpu_child(event)
                        event.set_cpu_parent(parent)
                        break
                open_events.append(event)

    def _remove_dup_nodes(self):
        # an op that is the only child of an op of the same name is one call, as in torch
        while True:
            dups = {id(e) for e in self if e.cpu_parent is not None
                    and e.cpu_parent.name == e.name and len(e.cpu_parent.cpu_children) == 1}
            if not dups:
                return
            for e in self:
                if id(e) in dups:
                    e.cpu_parent.cpu_children = e.cpu_children
                    for child in e.cpu_children:
                        child.cpu_parent = e.cpu_parent
            self[:] = [e for e in self if id(e) not in dups]

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """Sum the events by key (name; with ``group_by_input_shapes`` also input shapes,
        with ``group_by_stack_n`` also the top ``n`` stack entries).

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp().exp()
            >>> [(e.key, e.count) for e in prof.key_averages()]
            [('aten::exp', 2)]
        """
        stats: dict = {}
        for e in self:
            key = (e.key, e.is_user_annotation)
            if group_by_input_shapes:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple(e.stack[:group_by_stack_n])
            stats.setdefault(key, FunctionEventAvg()).add(e)
        out = EventList(stats.values(), use_device=self._use_device,
                        profile_memory=self._profile_memory, with_flops=self._with_flops)
        for e in out:
            e.stack = e.stack[:group_by_stack_n]
            if not group_by_input_shapes:
                e.input_shapes = ""
            if not group_by_overload_name:
                e.overload_name = ""
        return out

    def total_average(self):
        """One ``FunctionEventAvg`` keyed ``"Total"`` summing every event.

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.events().total_average().count
            1
        """
        total = FunctionEventAvg()
        for e in self:
            total.key = e.key  # add() wants matching keys
            total.add(e)
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """torch's profiler table: Name, Self CPU %, Self CPU, CPU total %, CPU total,
        CPU time avg, # of Calls (plus Input Shapes / Source Location where recorded), and a
        ``Self CPU time total:`` footer. ``sort_by`` names an attribute (``cpu_time_total``,
        ``self_cpu_time_total``, ``count``, ``self_cpu_memory_usage`` ...), largest first. With
        ``profile_memory`` the ``CPU Mem`` and ``Self CPU Mem`` columns show the bytes the ops'
        outputs allocated. ember times the host only: there are no device or FLOP columns.

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> "aten::exp" in prof.key_averages().table(sort_by="cpu_time_total")
            True
        """
        return _build_table(self, sort_by, row_limit, max_src_column_width,
                            max_name_column_width, max_shapes_column_width, header,
                            top_level_events_only, time_unit)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (``chrome://tracing``, Perfetto, TensorBoard):
        a JSON object whose ``traceEvents`` list holds one complete ("X") event per range, as
        torch's Kineto writes it; gzip-compressed when ``path`` ends in ``.gz``.

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.events().export_chrome_trace("trace.json")  # doctest: +SKIP
        """
        pid = os.getpid()
        trace = []
        for e in self:
            args = {"External id": e.id}
            if e.input_shapes:
                args["Input Dims"] = e.input_shapes
            trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation
                          else "cpu_op", "name": e.trace_name, "pid": pid, "tid": e.thread,
                          "ts": e.time_range.start, "dur": e.time_range.elapsed_us(),
                          "args": args})
        doc = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
               "traceEvents": trace, "traceName": str(path)}
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump(doc, f)


def _override_time_unit(time_us, default, time_unit):
    if time_unit == "s":
        return f"{time_us / 1e6:.3f}s"
    if time_unit == "ms":
        return f"{time_us / 1e3:.3f}ms"
    if time_unit == "us":
        return f"{time_us:.3f}us"
    return default


def _build_table(events, sort_by, row_limit, max_src_column_width, max_name_column_width,
                 max_shapes_column_width, header, top_level_events_only, time_unit):
    """torch's ``_build_table`` for host-only events (same layout, widths and footer)."""
    if len(events) == 0:
        return ""
    profile_memory = getattr(events, "_profile_memory", False)
    has_input_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0
                           for e in events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)

    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    stacks = [e.stack for e in events if e.stack]
    src_width = None
    if stacks:
        src_width = max(len(entry) for stack in stacks for entry in stack) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)

    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
    headers.append("# of Calls")
    widths = [(name_width, ">")] + [(12, ">")] * (len(headers) - 1)
    if has_input_shapes:
        headers.append("Input Shapes")
        widths.append((shapes_width, ">"))
    if stacks:
        headers.append("Source Location")
        widths.append((src_width, "<"))
    row_format = "".join("{: " + d + str(w) + "}  " for w, d in widths)
    header_sep = "".join("-" * w + "  " for w, _ in widths)
    line_length = sum(w + 2 for w, _ in widths) - 2

    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [header_sep, row_format.format(*headers), header_sep]

    def trim_path(path):
        if len(path) > src_width:
            path = path[len(path) - src_width:]
            if len(path) > 3:
                path = "..." + path[3:]
        return path

    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:max_name_column_width - 3] + "..."
        e.self_cpu_percent = _format_time_share(e.self_cpu_time_total, total)
        e.total_cpu_percent = _format_time_share(e.cpu_time_total, total)
        row = [name, e.self_cpu_percent,
               _override_time_unit(e.self_cpu_time_total, e.self_cpu_time_total_str, time_unit),
               e.total_cpu_percent,
               _override_time_unit(e.cpu_time_total, e.cpu_time_total_str, time_unit),
               _override_time_unit(e.cpu_time, e.cpu_time_str, time_unit)]
        if profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
        row.append(e.count)
        if has_input_shapes:
            row.append(str(e.input_shapes)[:shapes_width])
        if stacks:
            row.append(trim_path(e.stack[0]) if e.stack else "")
        lines.append(row_format.format(*row))
        if stacks:
            blank = [""] * (len(headers) - 1)
            for entry in e.stack[1:]:
                lines.append(row_format.format(*(blank + [trim_path(entry)])))
            lines.append(row_format.format(*(blank + [""])))
    lines.append(header_sep)
    lines.append("Self CPU time total: "
                 + _override_time_unit(total, _format_time(total), time_unit))
    return "".join(line + "\n" for line in lines)
