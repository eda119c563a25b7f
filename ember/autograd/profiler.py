"""``torch.autograd.profiler``: the older profiler API (``profile``, ``record_function``).

``ember.profiler.profile`` runs on top of this ``profile``; both record the same events (see
``ember.profiler``): each op's forward, each autograd node's backward, ``record_function``
ranges and optimizer steps, timed on the host with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import warnings

from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg, events_from
from ..profiler._recorder import Session, record_function

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


def _cuda_available() -> bool:
    from .. import cuda

    return cuda.is_available()


class profile:
    """Record what the code in the ``with`` block runs; then ``key_averages().table()``,
    ``function_events``, ``export_chrome_trace(path)``.

    ``use_cuda``/``use_device`` are accepted (with torch's warnings); ember times the host
    only. ``profile_memory`` adds the ``CPU Mem``/``Self CPU Mem`` columns (bytes the ops'
    outputs allocate; frees are not recorded); ``with_flops`` and ``with_modules`` are
    accepted and add no columns; ``with_stack`` records the Python frames outside ember for
    each event.

    Example:
        >>> with ember.autograd.profiler.profile(record_shapes=True) as prof:
        ...     _ = ember.ones(2, 3).relu()
        >>> [e.key for e in prof.key_averages()]
        ['aten::relu']
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None):
        self.enabled = enabled
        if not enabled:
            return
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use "
                          "``use_device = 'cuda'`` instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        self.use_cuda = use_cuda
        if use_device is not None:
            if use_device not in ("cuda", "xpu", "mtia", "hpu"):
                warnings.warn(f"The {use_device} is not a valid device option.", stacklevel=2)
                use_device = None
            elif use_device == "cuda" and not _cuda_available():
                warnings.warn("CUDA is not available, disabling CUDA profiling", stacklevel=2)
                self.use_cuda = False
                use_device = None
            elif use_device != "cuda":
                warnings.warn(f"{use_device.upper()} is not available, disabling "
                              f"{use_device.upper()} profiling", stacklevel=2)
                use_device = None
        self.use_device = use_device
        self.use_cpu = use_cpu
        if not use_cpu and use_device is None:
            raise AssertionError("No activities specified for the profiler")
        self.record_shapes = record_shapes or with_flops
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_kineto = use_kineto
        self.experimental_config = experimental_config
        self.acc_events = acc_events
        if post_processing_timeout_s is not None and post_processing_timeout_s < 0:
            raise ValueError("post_processing_timeout_s must be non-negative")
        self.entered = False
        self._session = None
        self._raw: list = []
        self._function_events = None

    # -- recording --------------------------------------------------------------------------
    def __enter__(self):
        if not self.enabled:
            return None  # as torch: a disabled profiler binds nothing to ``as``
        if self.entered:  # a used profiler never records again, even after its block ended
            raise RuntimeError("Profiler context manager is not reentrant")
        self._start_trace()
        return self

    def _prepare_trace(self):
        # a fresh recording window per cycle; ``_start_trace`` opens it
        self.entered = True
        self._session = Session(record_shapes=self.record_shapes, with_stack=self.with_stack,
                                profile_memory=self.profile_memory)

    def _start_trace(self):
        self.entered = True
        if self._session is None:
            self._prepare_trace()
        self._session.start()

    def __exit__(self, exc_type, exc_val, exc_tb):
        if not self.enabled or self._session is None:
            return False
        self._session.stop()
        if not self.acc_events:
            self._raw = []
        self._raw.extend(self._session.resolved())  # names now: the session may be dropped
        self._session = None
        self._function_events = None
        return False

    # -- results ----------------------------------------------------------------------------
    @property
    def function_events(self):
        if self._function_events is None:  # inside the block: the cycles finished so far
            self._function_events = events_from(self._raw)
            self._function_events._use_device = self.use_device
            self._function_events._profile_memory = self.profile_memory
        return self._function_events

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        """The events' table (see ``EventList.table``).

        Example:
            >>> with ember.autograd.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> "aten::exp" in prof.table()
            True
        """
        return self.function_events.table(sort_by, row_limit, max_src_column_width,
                                          max_name_column_width, max_shapes_column_width,
                                          header, top_level_events_only)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """The events summed by name (and input shapes / stack): see
        ``EventList.key_averages``.

        Example:
            >>> with ember.autograd.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.key_averages()[0].count
            1
        """
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n,
                                                 group_by_overload_name)

    def total_average(self):
        """All events summed into one ``FunctionEventAvg`` keyed ``"Total"``.

        Example:
            >>> with ember.autograd.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.total_average().key
            'Total'
        """
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self):
        """The sum of all events' self times, in microseconds."""
        return self.function_events.self_cpu_time_total

    def export_chrome_trace(self, path, metadata=None, use_python_export=False):
        """Write the Chrome trace of the events to ``path`` (see
        ``EventList.export_chrome_trace``).

        Example:
            >>> with ember.autograd.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.export_chrome_trace("trace.json")  # doctest: +SKIP
        """
        return self.function_events.export_chrome_trace(path)

    def __repr__(self):
        if self._function_events is None and not self._raw:
            return "<unfinished torch.autograd.profile>"
        return repr(self.function_events)

    def __str__(self):
        if self._function_events is None and not self._raw:
            return "<unfinished torch.autograd.profile>"
        return str(self.function_events)
