"""What the profiler records, and the hooks it installs only while a profile is recording.

Recording is a list of raw tuples per session; names, nesting and self times are worked out
after the run (``_events``), so the hooks add little to each op. The hooks:

* ``Op.apply`` is swapped through ``ember._ops._core.set_profiler`` (chained with a capture);
* the backward engine's ``_call_node`` is swapped in ``ember.autograd.graph`` (each node's
  backward, named as its ``grad_fn``), and ``AccumulateGrad.accumulate`` likewise;
* global optimizer step pre/post hooks time each ``Optimizer.step``.

All of them are put back when the last session stops: with no profiler running, ember runs
exactly the code it runs without this module.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from time import perf_counter_ns

from ._names import op_name

# event kinds, as torch's Chrome trace categories
OP, BACKWARD, USER = "cpu_op", "cpu_op", "user_annotation"

_sessions: list = []  # the sessions now recording
_lock = threading.Lock()
_saved: dict = {}      # what the hooks replaced, to put back
_open_steps = threading.local()


class Session:
    """One recording window: raw events ``(name, cat, start_ns, end_ns, thread, shapes, stack)``
    with ``name`` an op class until resolved."""

    def __init__(self, record_shapes: bool = False, with_stack: bool = False):
        self.record_shapes = record_shapes
        self.with_stack = with_stack
        self.raw: list = []
        self.start_ns = self.end_ns = None

    def start(self) -> None:
        with _lock:
            self.start_ns = perf_counter_ns()
            if not _sessions:
                _install()
            _sessions.append(self)

    def stop(self) -> None:
        with _lock:
            if self in _sessions:
                _sessions.remove(self)
                if not _sessions:
                    _uninstall()
            self.end_ns = perf_counter_ns()

    def resolved(self):
        """The raw events with op classes turned into names."""
        return [(r[0] if type(r[0]) is str else op_name(r[0]),) + r[1:] for r in self.raw]


def is_recording() -> bool:
    """Whether any profiler is recording now.

    Example:
        >>> is_recording()
        False
    """
    return bool(_sessions)


def _shapes(values) -> list:
    return [list(v.shape) if hasattr(v, "shape") and not isinstance(v, type) else []
            for v in values]


_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stack() -> list:
    """The caller's Python frames outside ember, innermost first, as torch writes them."""
    out = []
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_EMBER_DIR):
            out.append(f"{path}({frame.f_lineno}): {frame.f_code.co_name}")
        frame = frame.f_back
    return out


def _emit(name, cat, t0, t1, tid, inputs) -> None:
    shapes = stack = None
    for s in _sessions:
        if t0 < s.start_ns:  # begun before this session started: not part of it
            continue
        if s.record_shapes and shapes is None and inputs is not None:
            shapes = _shapes(inputs)
        if s.with_stack and stack is None:
            stack = _stack()
        s.raw.append((name, cat, t0, t1, tid, shapes if s.record_shapes else None,
                      stack if s.with_stack else None))


# -- the hooks ------------------------------------------------------------------------------

def _on_op(cls, inputs, kwargs, apply):
    t0 = perf_counter_ns()
    try:
        return apply(cls, *inputs, **kwargs)
    finally:
        _emit(cls, OP, t0, perf_counter_ns(), threading.get_native_id(), inputs)


def _install() -> None:
    from .._ops import _core
    from ..autograd import graph
    from ..optim import optimizer

    call_node = graph._call_node
    accumulate = graph.AccumulateGrad.accumulate

    def timed_call_node(node, grads, retain_graph, tensor_type):
        name = node.name()
        t0 = perf_counter_ns()
        try:
            return call_node(node, grads, retain_graph, tensor_type)
        finally:
            _emit(name, BACKWARD, t0, perf_counter_ns(), threading.get_native_id(), grads)

    @functools.wraps(accumulate)
    def timed_accumulate(self, grad, *args, **kwargs):
        t0 = perf_counter_ns()
        try:
            return accumulate(self, grad, *args, **kwargs)
        finally:
            _emit("torch::autograd::AccumulateGrad", BACKWARD, t0, perf_counter_ns(),
                  threading.get_native_id(), (grad,))

    _saved.update(call_node=call_node, accumulate=accumulate)
    graph._call_node = timed_call_node
    graph.AccumulateGrad.accumulate = timed_accumulate
    _saved["hooks"] = (optimizer.register_optimizer_step_pre_hook(_step_pre),
                       optimizer.register_optimizer_step_post_hook(_step_post))
    _core.set_profiler(_on_op)


def _uninstall() -> None:
    from .._ops import _core
    from ..autograd import graph

    _core.set_profiler(None)
    graph._call_node = _saved.pop("call_node")
    graph.AccumulateGrad.accumulate = _saved.pop("accumulate")
    for handle in _saved.pop("hooks"):
        handle.remove()
    _steps().clear()  # a step that raised never ran its post hook: forget it


def _steps() -> list:
    steps = getattr(_open_steps, "stack", None)
    if steps is None:
        steps = _open_steps.stack = []
    return steps


def _step_pre(opt, args, kwargs):
    name = type(opt).__name__
    _steps().append((f"Optimizer.step#{name}.step", perf_counter_ns(), threading.get_native_id()))


def _step_post(opt, args, kwargs):
    steps = _steps()
    if steps:
        name, t0, tid = steps.pop()
        _emit(name, USER, t0, perf_counter_ns(), tid, None)


# -- user ranges -----------------------------------------------------------------------------

class record_function:
    """Mark a range of code as a named event in any running profile: a context manager, or a
    decorator for a function (each call is one event). With no profiler recording it costs a
    clock read.

    Example:
        >>> with ember.profiler.profile() as prof:
        ...     with ember.profiler.record_function("model_inference"):
        ...         y = ember.randn(2, 2).relu()
        >>> [e.name for e in prof.events()][:1]
        ['model_inference']
    """

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._start = None

    def __enter__(self):
        if not isinstance(self.name, str):  # torch checks it here, on entering
            raise RuntimeError("record_function: Expected a value of type 'str' for argument "
                               f"'name' but instead found type '{type(self.name).__name__}'.")
        self._start = perf_counter_ns()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self._start is None:
            raise AssertionError("Expected record to be set")
        if _sessions:
            _emit(self.name, USER, self._start, perf_counter_ns(), threading.get_native_id(), None)
        self._start = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapped
