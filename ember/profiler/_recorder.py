"""What the profiler records, and the hooks it installs only while a profile is recording.

Recording is a list of raw tuples per session; names, nesting and self times are worked out
after the run (``_events``), so the hooks add little to each op. The hooks:

* ``Op.apply`` is swapped through ``ember._ops._core.set_profiler`` (chained with a capture);
* the backward engine's ``_call_node`` is swapped in ``ember.autograd.graph`` (each node's
  backward, named as its ``grad_fn``), and ``AccumulateGrad.accumulate`` likewise;
* global optimizer step pre/post hooks time each ``Optimizer.step``.

All of them are put back when the last session stops: with no profiler running, ember runs
exactly the code it runs without this module.

Other tools that watch ops go through the same hooks instead of adding their own:
``add_observer`` registers callbacks for each op application and each backward node (the FLOP
counter, ``ember.utils.flop_counter``), and the hooks stay installed while any session or
observer is active.
"""

from __future__ import annotations

import contextlib
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
_op_observers: list = []    # observe(cls, inputs, kwargs, out) after each op application
_node_observers: list = []  # observe(node, grads) before each backward node runs
_backward = threading.local()  # the backward nodes now running on this thread, innermost last


class Session:
    """One recording window: raw events ``(name, cat, start_ns, end_ns, thread, shapes, stack,
    alloc)`` with ``name`` an op class until resolved; ``alloc`` is the bytes of new CPU
    memory the op's outputs hold (with ``profile_memory``), else None."""

    def __init__(self, record_shapes: bool = False, with_stack: bool = False,
                 profile_memory: bool = False):
        self.record_shapes = record_shapes
        self.with_stack = with_stack
        self.profile_memory = profile_memory
        self.raw: list = []
        self.start_ns = self.end_ns = None

    def start(self) -> None:
        with _lock:
            self.start_ns = perf_counter_ns()
            if not _in_use():
                _install()
            _sessions.append(self)

    def stop(self) -> None:
        with _lock:
            if self in _sessions:
                _sessions.remove(self)
                if not _in_use():
                    _uninstall()
            self.end_ns = perf_counter_ns()

    def resolved(self):
        """The raw events with op classes turned into names."""
        return [(r[0] if type(r[0]) is str else op_name(r[0]),) + r[1:] for r in self.raw]


def _in_use() -> bool:
    return bool(_sessions or _op_observers or _node_observers)


class _ObserverHandle:
    """Returned by ``add_observer``; ``remove()`` unregisters (once)."""

    def __init__(self, on_op, on_node):
        self._entries = (on_op, on_node)

    def remove(self) -> None:
        with _lock:
            if self._entries is None:
                return
            on_op, on_node = self._entries
            self._entries = None
            if on_op is not None:
                _op_observers.remove(on_op)
            if on_node is not None:
                _node_observers.remove(on_node)
            if not _in_use():
                _uninstall()


def add_observer(on_op=None, on_node=None) -> _ObserverHandle:
    """Call ``on_op(cls, inputs, kwargs, out)`` after every op application and
    ``on_node(node, grads)`` before every backward node runs, until the handle's ``remove()``.
    The hooks are the profiler's: installed only while someone observes.

    Example:
        >>> seen = []
        >>> h = add_observer(on_op=lambda cls, inputs, kwargs, out: seen.append(cls.__name__))
        >>> _ = ember.ones(2) + 1
        >>> h.remove()
        >>> seen
        ['Add']
    """
    with _lock:
        if not _in_use():
            _install()
        if on_op is not None:
            _op_observers.append(on_op)
        if on_node is not None:
            _node_observers.append(on_node)
    return _ObserverHandle(on_op, on_node)


def current_backward_node():
    """The backward node running now on this thread (innermost), or None outside backward.

    Example:
        >>> current_backward_node() is None
        True
    """
    stack = getattr(_backward, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def forward_in_backward():
    """Inside it ``current_backward_node()`` is None: ops a backward node runs to recompute a
    forward (a non-reentrant checkpoint) are seen as forward ops.

    Example:
        >>> with forward_in_backward():
        ...     current_backward_node() is None
        True
    """
    stack = getattr(_backward, "stack", None)
    if stack is None:
        stack = _backward.stack = []
    stack.append(None)
    try:
        yield
    finally:
        stack.pop()


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


def _allocated(out, inputs) -> int:
    """Bytes of new CPU memory in an op's output(s): views and in-place results share an
    input's memory and count nothing (torch's allocator events, as ember can see them)."""
    import numpy as np

    outs = out if isinstance(out, (tuple, list)) else (out,)
    sources = [x._data for x in inputs if isinstance(getattr(x, "_data", None), np.ndarray)]
    total = 0
    for t in outs:
        arr = getattr(t, "_data", None)
        if type(arr) is not np.ndarray:  # meta and device tensors hold no host memory
            continue
        if not any(np.may_share_memory(arr, src) for src in sources):
            total += arr.nbytes
    return total


def _emit(name, cat, t0, t1, tid, inputs, out=None) -> None:
    shapes = stack = alloc = None
    for s in _sessions:
        if t0 < s.start_ns:  # begun before this session started: not part of it
            continue
        if s.record_shapes and shapes is None and inputs is not None:
            shapes = _shapes(inputs)
        if s.with_stack and stack is None:
            stack = _stack()
        if s.profile_memory and alloc is None and out is not None:
            alloc = _allocated(out, inputs)
        s.raw.append((name, cat, t0, t1, tid, shapes if s.record_shapes else None,
                      stack if s.with_stack else None, alloc if s.profile_memory else None))


# -- the hooks ------------------------------------------------------------------------------

def _on_op(cls, inputs, kwargs, apply):
    t0 = perf_counter_ns()
    out = None
    try:
        out = apply(cls, *inputs, **kwargs)
    finally:
        _emit(cls, OP, t0, perf_counter_ns(), threading.get_native_id(), inputs, out)
    for observe in _op_observers:
        observe(cls, inputs, kwargs, out)
    return out


def _install() -> None:
    from .._ops import _core
    from ..autograd import graph
    from ..optim import optimizer

    call_node = graph._call_node
    accumulate = graph.AccumulateGrad.accumulate

    def timed_call_node(node, grads, retain_graph, tensor_type):
        name = node.name()
        for observe in _node_observers:
            observe(node, grads)
        stack = getattr(_backward, "stack", None)
        if stack is None:
            stack = _backward.stack = []
        stack.append(node)
        t0 = perf_counter_ns()
        try:
            return call_node(node, grads, retain_graph, tensor_type)
        finally:
            stack.pop()
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
