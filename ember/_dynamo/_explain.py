"""``torch._dynamo.explain``: run a function once through ember's compile capture and report
what it captured (graphs, graph breaks, ops, guards), as PyTorch's ``ExplainOutput``."""

from __future__ import annotations

import dataclasses
import inspect
import time
import traceback
import warnings

__all__ = ["explain", "ExplainOutput", "GraphCompileReason", "Guard"]


@dataclasses.dataclass
class GraphCompileReason:
    """Why a graph ended: ``reason`` (text), ``user_stack`` (``traceback.FrameSummary`` list of
    the user code at the break) and ``graph_break`` (True for a break)."""

    reason: str
    user_stack: list
    graph_break: bool = True


class Guard:
    """One condition a captured graph is reused under. ember guards on the call's signature:
    one ``TENSOR_MATCH`` per tensor input (shape, dtype, device, ``requires_grad``) and the
    global ``GRAD_MODE``; ``code_list`` holds each condition as Python text."""

    def __init__(self, name, source, kind, guard_types=None, code_list=None, obj_weakref=None,
                 guarded_class_weakref=None):
        self.name, self.source, self._kind = name, source, kind
        self.guard_types, self.code_list = guard_types, code_list
        self.obj_weakref, self.guarded_class_weakref = obj_weakref, guarded_class_weakref

    def create_fn_name(self) -> str:
        """The kind of check (``"TENSOR_MATCH"``, ``"GRAD_MODE"``), a method as in PyTorch."""
        return self._kind

    def __repr__(self) -> str:
        return f"Guard(name={self.name!r}, source={self.source!r}, kind={self._kind!r})"


@dataclasses.dataclass
class ExplainOutput:
    """What :func:`explain` found (``torch._dynamo.backends.debugging.ExplainOutput``).

    ``str()`` gives the same report layout as PyTorch's (counts, break reasons, ops per graph,
    guards, compile times).
    """

    graphs: list
    graph_count: int
    graph_break_count: int
    break_reasons: list
    op_count: int
    ops_per_graph: list | None = None
    out_guards: list | None = None
    compile_times: str | None = None

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}",
                 "Break Reasons:"]
        for i, why in enumerate(self.break_reasons, 1):
            lines += [f"  Break Reason {i}:", f"    Reason: {why.reason}", "    User Stack:"]
            lines += [f"      {frame!r}" for frame in why.user_stack]
        if self.ops_per_graph is not None:
            lines.append("Ops per Graph:")
            for i, ops in enumerate(self.ops_per_graph, 1):
                lines.append(f"  Ops {i}:")
                lines += [f"    {op}" for op in ops]
        if self.out_guards is not None:
            lines.append("Out Guards:")
            for i, g in enumerate(self.out_guards, 1):
                lines += [f"  Guard {i}:", f"    Name: {g.name!r}", f"    Source: {g.source}",
                          f"    Create Function: {g.create_fn_name()}",
                          f"    Guard Types: {g.guard_types}", f"    Code List: {g.code_list}",
                          f"    Object Weakref: {g.obj_weakref}",
                          f"    Guarded Class Weakref: {g.guarded_class_weakref}"]
        if self.compile_times is not None:
            lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines) + "\n"


def _frame_of(source: str, fn) -> list:
    """The ``file:line`` an ember GraphBreak names, as a one-frame user stack."""
    path, _, line = source.rpartition(":")
    if not path or not line.isdigit():
        return []
    name = getattr(fn, "__name__", type(fn).__name__)
    return [traceback.FrameSummary(path, int(line), name, line=None)]


def _guards(fn, args, kwargs) -> list:
    """ember's guard on a capture: the signature of every tensor input, then grad mode."""
    import weakref

    from .. import is_grad_enabled
    from .._tensor import Tensor

    found = []

    def walk(value, name):
        if isinstance(value, Tensor):
            found.append((name, value))
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{name}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{name}[{k!r}]")

    try:  # named as the function's parameters, as PyTorch's L['x']
        bound = inspect.signature(fn).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"args[{i}]": a for i, a in enumerate(args)} | dict(kwargs)
    for k, v in bound.items():
        walk(v, f"L[{k!r}]")
    out = [Guard("", "global", "GRAD_MODE", ["GRAD_MODE"],
                 [f"torch.is_grad_enabled() == {is_grad_enabled()}"])]
    for name, t in found:
        code = [f"{name}.shape == {tuple(t.shape)}", f"{name}.dtype == {t.dtype}",
                f"{name}.device == {str(t.device)!r}",
                f"{name}.requires_grad == {t.requires_grad}"]
        out.append(Guard(name, "local", "TENSOR_MATCH", ["TENSOR_MATCH"], code,
                         weakref.ref(t), weakref.ref(type(t))))
    return out


def explain(f, *extra_args, **extra_kwargs):
    """Run ``f`` once through ember's compile capture and report what it captured.

    ``explain(f)(*args, **kwargs)`` returns an :class:`ExplainOutput`; the older
    ``explain(f, *args, **kwargs)`` still works with a ``FutureWarning``, as in PyTorch. ``f``
    really runs (once, eagerly), so its side effects happen.

    Where ember's numbers differ from PyTorch's (ember records ops, not Python bytecode):

    - ``op_count``/``ops_per_graph`` list every op the capture recorded (ember's op classes,
      ``x.sin()`` and ``torch.sin(x)`` alike, including the ops inside modules); PyTorch
      counts only the graph's function-call nodes (``operator.add``, ``torch.sin``), not
      method calls (``x.sin()``) or module calls, so its counts are usually smaller.
    - a graph break (``.item()``, ``bool(tensor)`` ... on a computed value) ends ember's
      capture: like ``ember.compile``, the whole call then runs eagerly, so ``graphs`` is
      empty, ``graph_count`` 0 and ``graph_break_count`` 1 (only the first break is seen).
      PyTorch compiles the code before and after a break as separate graphs
      (``graph_count`` = breaks + 1).
    - ``graphs`` holds ember's captured :class:`ember.fx.Graph` objects (run one with
      ``ember.fx.Interpreter``), not ``GraphModule``s; ``out_guards`` lists ember's guards
      (one ``TENSOR_MATCH`` per tensor input and ``GRAD_MODE``), not PyTorch's full list.

    Example:
        >>> out = ember._dynamo.explain(lambda x: x.sin() + 1)(ember.randn(3))
        >>> out.graph_count, out.graph_break_count
        (1, 0)
    """
    def inner(*args, **kwargs):
        from .._compile import _closure_modules, _State
        from ..fx.capture import GraphBreak, _active, capture

        if getattr(_active, "recorder", None) is not None:
            raise RuntimeError("torch._dynamo.explain was called inside a capture")
        start = time.perf_counter()
        from .. import nn

        roots = [f] if isinstance(f, nn.Module) else _closure_modules(f)
        state = _State([m for root in roots for m in root.modules()])
        graphs, reasons = [], []
        try:
            graph = capture(f, *args, _mode="compile", **kwargs)
            graph.__dict__.pop("live_output", None)
            graphs.append(graph)
        except GraphBreak as err:
            # the capture ran part of f: put buffers and the random state back, then run f
            # eagerly once, as ember.compile does for a signature with a graph break
            state.restore()
            reasons.append(GraphCompileReason(str(err), _frame_of(err.source, f)))
            f(*args, **kwargs)
        elapsed = time.perf_counter() - start
        ops = [[node.target for node in g.nodes if node.op == "call_function"] for g in graphs]
        times = ("ember capture metrics:\nFunction    Runtimes (s)\n----------  ------------\n"
                 f"capture     {elapsed:.4f}")
        return ExplainOutput(graphs, len(graphs), len(reasons), reasons,
                             sum(len(o) for o in ops), ops, _guards(f, args, kwargs), times)

    if extra_args or extra_kwargs:
        warnings.warn("explain(f, *args, **kwargs) is deprecated, use explain(f)(*args, "
                      "**kwargs) instead.  If you don't migrate, we may break your explain call "
                      "in the future if your user defined kwargs conflict with future kwargs "
                      "added to explain(f).", FutureWarning, stacklevel=2)
        return inner(*extra_args, **extra_kwargs)
    return inner
