"""``torch.jit``'s tracing surface on ember's graph capture.

``trace(model, example_inputs)`` records the ops one run applies (``ember.fx.capture``) and
returns a module that replays them: ``.graph``, ``.code``, ``__call__``, ``.save()`` (an ONNX
file) and ``jit.load()``. Sizes that follow the batch (a ``view(x.shape[0], -1)``) are found by
tracing once more at another batch size and are recomputed from the inputs on each call. There
is no TorchScript compiler: ``script`` runs a function eagerly (as PyTorch does with
``PYTORCH_JIT=0``) and, for a module, raises and points to ``trace`` and ``compile``.
"""

from __future__ import annotations

import functools
import math
import types
import typing

from . import nn
from ._tensor import Tensor
from .fx.capture import _tensor_leaves, capture
from .fx.graph import Node, op_name
from .fx.interpreter import _attribute

__all__ = ["trace", "script", "save", "load", "ScriptModule", "RecursiveScriptModule",
           "ScriptFunction", "TracedModule", "TopLevelTracedModule", "TracedFunction",
           "TracingCheckError", "is_tracing", "is_scripting", "ignore", "unused", "export",
           "annotate", "Final", "Attribute", "trace_module", "freeze", "optimize_for_inference",
           "Future", "fork", "wait", "script_if_tracing", "isinstance"]


class TracingCheckError(RuntimeError):
    """The trace cannot be trusted: a second run on inputs with other values recorded another
    graph (the function reads its data outside the recorded ops), or ``check_inputs`` gave
    other outputs than eager.

    Example:
        >>> issubclass(ember.jit.TracingCheckError, RuntimeError)
        True
    """


def is_tracing() -> bool:
    """Whether a graph capture (``jit.trace``, ``onnx.export``) is running in this thread.

    Example:
        >>> ember.jit.is_tracing()
        False
    """
    from .fx.capture import _active

    return getattr(_active, "recorder", None) is not None


def is_scripting() -> bool:
    """Always False: ember has no TorchScript compiler. Example: ``ember.jit.is_scripting()``."""
    return False


def ignore(drop=False, **kwargs):
    """Accepted for compatibility (``@torch.jit.ignore``): returns the function unchanged.

    Example:
        >>> @ember.jit.ignore
        ... def helper(x): return x
    """
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    """Accepted for compatibility (``@torch.jit.unused``): returns ``fn`` unchanged.
    Example: ``ember.jit.unused(f) is f``."""
    return fn


def export(fn):
    """Accepted for compatibility (``@torch.jit.export``): returns ``fn`` unchanged.
    Example: ``ember.jit.export(f) is f``."""
    return fn


# ``x: torch.jit.Final[int]`` marks a TorchScript constant; outside TorchScript it is
# typing.Final, as in PyTorch.
Final = typing.Final


class Attribute(typing.NamedTuple):
    """``torch.jit.Attribute(value, type)``: declares an attribute's type for TorchScript.
    Outside TorchScript it is this pair, as in PyTorch.

    Example:
        >>> ember.jit.Attribute([], list).value
        []
    """

    value: typing.Any
    type: typing.Any


def annotate(the_type, the_value):
    """``torch.jit.annotate``: returns ``the_value``. Example: ``annotate(list, [])``."""
    return the_value


def script(obj, *args, **kwargs):
    """``@torch.jit.script`` on a plain function runs it as written (what PyTorch does with
    ``PYTORCH_JIT=0``), checking its arguments against the declaration as TorchScript does.
    Modules and classes cannot be scripted: ember has no TorchScript compiler.

    Example:
        >>> @ember.jit.script
        ... def heaviside(x: ember.Tensor):
        ...     return (x >= 0).to(x)
        >>> heaviside(ember.tensor([-1.0, 2.0]))
        tensor([0., 1.])

    Raises:
        RuntimeError: for a module or class, pointing to :func:`trace` (a replayable graph of
        one run) and ``ember.compile`` (capture and replay on first call).
    """
    if isinstance(obj, types.FunctionType):
        return _EagerScriptFunction(obj)
    raise RuntimeError(
        "ember.jit.script is not supported: ember has no TorchScript compiler. Use "
        "ember.jit.trace(model, example_inputs) to record and replay the model's ops, "
        "ember.onnx.export(...) to save a deployable graph, or ember.compile(model).")


# -- replay -----------------------------------------------------------------------------------

def _resolve(value, env, sizes):
    from .onnx._symbolic import SymInt

    if isinstance(value, Node):
        return env[value]
    if isinstance(value, SymInt):
        return value.coeff * math.prod(sizes[s] for s in value.symbols)
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):
            return type(value)(*(_resolve(v, env, sizes) for v in value))
        return tuple(_resolve(v, env, sizes) for v in value)
    if isinstance(value, list):
        return [_resolve(v, env, sizes) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, env, sizes) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(_resolve(value.start, env, sizes), _resolve(value.stop, env, sizes),
                     _resolve(value.step, env, sizes))
    return value


class _Replay:
    """The captured ops with the sizes that follow the batch left symbolic."""

    def __init__(self, graph, info, symbols, dynamic):
        self.graph = graph
        self.info = info            # node -> (args, kwargs, shape, attribute)
        self.symbols = symbols      # symbol -> (placeholder index, axis) it is read from
        self.dynamic = dynamic      # (placeholder index, axis) pairs that may vary
        self.specs = [(n.meta["shape"], n.meta["dtype"]) for n in graph.placeholders]

    def check(self, leaves):
        if len(leaves) != len(self.specs):
            raise TypeError(f"the traced function takes {len(self.specs)} tensor inputs, got "
                            f"{len(leaves)}")
        for i, ((shape, dtype), t) in enumerate(zip(self.specs, leaves)):
            got = t._data.shape
            if got == shape and t._dtype is dtype:
                continue
            ok = len(got) == len(shape) and t.dtype is dtype and all(
                g == s or (i, a) in self.dynamic for a, (g, s) in enumerate(zip(got, shape)))
            if not ok:
                free = " (axis 0 may vary)" if (i, 0) in self.dynamic else ""
                raise RuntimeError(
                    f"input {i} has shape {list(got)} and dtype {t.dtype}, but the trace was "
                    f"recorded for shape {list(shape)}{free} and dtype {dtype}; trace again "
                    "with an example of this shape")

    def _plan(self):
        """Per node, what to run: Node arguments become slots filled from the values computed
        so far; arguments with sizes that follow the batch (or nested nodes) are resolved in
        full on each call."""
        from .onnx._symbolic import SymInt

        def plain(v):  # no Node or SymInt inside
            if isinstance(v, (Node, SymInt)):
                return False
            if isinstance(v, (tuple, list)):
                return all(plain(x) for x in v)
            if isinstance(v, dict):
                return all(plain(x) for x in v.values())
            if isinstance(v, slice):
                return all(plain(x) for x in (v.start, v.stop, v.step))
            return True

        from .onnx._symbolic import SymFill

        index = {n: i for i, n in enumerate(self.graph.nodes)}
        steps = []
        for i, node in enumerate(self.graph.nodes):
            if node.op == "get_attr":
                attr = self.info[node][3]
                if isinstance(attr, SymFill):
                    steps.append(("fill", i, node, attr))
                elif node.meta.get("constant"):
                    steps.append(("constant", i, node, self.graph.attributes[node.target]))
                else:
                    steps.append(("attribute", i, node, node.target))
                continue
            if node.op != "call_function":
                steps.append((node.op, i, node, None))
                continue
            a, kw = self.info[node][0], self.info[node][1]
            simple = all(isinstance(x, Node) or plain(x) for x in a) and \
                all(isinstance(x, Node) or plain(x) for x in kw.values())
            if simple:
                slots = [(k, index[x]) for k, x in enumerate(a) if isinstance(x, Node)]
                kw_slots = [(k, index[x]) for k, x in kw.items() if isinstance(x, Node)]
                spec = (list(a), slots, dict(kw), kw_slots)
            else:
                spec = None
            steps.append(("call", i, node, spec))
        self.steps = steps
        self.index = index
        out = self.graph.output_node.args[0]
        # a single returned value (the common case) is read straight from its slot
        self.out_slot = index[out] if isinstance(out, Node) else None

    def run(self, root, args, kwargs):
        if not kwargs and all(type(a) is Tensor for a in args):
            tensors = list(args)
        else:
            leaves: list = []
            for k, a in enumerate(args):
                _tensor_leaves(a, str(k), leaves)
            for k, v in kwargs.items():
                _tensor_leaves(v, k, leaves)
            tensors = [t for _, t in leaves]
        self.check(tensors)
        if not hasattr(self, "steps"):
            self._plan()
        sizes = {s: tensors[i]._data.shape[a] for s, (i, a) in self.symbols.items()}
        values = [None] * len(self.steps)
        env = _Env(values, self.index)
        holders = iter(tensors)
        for kind, i, node, spec in self.steps:
            if kind == "call":
                target = node.target
                if spec is not None:
                    a, slots, kw, kw_slots = spec
                    if slots:
                        a = list(a)
                        for k, j in slots:
                            a[k] = values[j]
                    if kw_slots:
                        kw = dict(kw)
                        for k, j in kw_slots:
                            kw[k] = values[j]
                else:
                    a = _resolve(self.info[node][0], env, sizes)
                    kw = _resolve(self.info[node][1], env, sizes)
                values[i] = target.apply(*a, **kw) if isinstance(target, type) \
                    else target(*a, **kw)
            elif kind == "alias":  # a step that returns an earlier value (compile's passes)
                values[i] = values[spec]
            elif kind == "attribute":
                values[i] = self._read(root, spec) if root is not None else \
                    self.graph.attributes[spec]
            elif kind == "placeholder":
                values[i] = next(holders)
            elif kind == "constant":
                values[i] = spec
            elif kind == "fill":
                from ._creation import full

                values[i] = full(_resolve(spec.shape, env, sizes), spec.value, dtype=spec.dtype)
            else:
                if self.out_slot is not None:
                    return values[self.out_slot]
                return _resolve(node.args[0], env, sizes)
        return None


    def _read(self, root, target: str):
        """A parameter or buffer, through its owner module (found once, then cached)."""
        cache = self.__dict__.setdefault("_owners", {})
        got = cache.get(target)
        if got is None or got[0] is not root:
            path, _, leaf = target.rpartition(".")
            owner = _attribute(root, path) if path else root
            got = cache[target] = (root, owner, leaf)
        owner, leaf = got[1], got[2]
        value = owner._parameters.get(leaf)
        if value is None:
            value = owner._buffers.get(leaf)
        return value if value is not None else getattr(owner, leaf)


class _Env:
    """Node -> value over the replay's list of values (for the general resolve path)."""

    __slots__ = ("values", "index")

    def __init__(self, values, index):
        self.values, self.index = values, index

    def __getitem__(self, node):
        return self.values[self.index[node]]


def _record(fn, args, kwargs, check_trace: bool):
    """Capture ``fn``; find the sizes that follow axis 0 of the inputs; check the trace."""
    from .onnx._symbolic import symbolize
    from .onnx.errors import SymbolicValueError

    graph = capture(fn, *args, _mode="trace", **kwargs)
    holders = graph.placeholders
    symbols, info, dynamic = {}, None, set()
    # the batch: axis 0 of the first input and of every input whose axis 0 has its size
    first = next((n.meta["shape"][0] for n in holders if len(n.meta["shape"]) >= 1), None)
    batch = [i for i, n in enumerate(holders) if len(n.meta["shape"]) >= 1
             and n.meta["shape"][0] == first]
    if batch:
        from .onnx._export import _grow, _map_tensors

        s0 = first
        ids = {}
        for i, (_path, t) in enumerate(_leaves(args, kwargs)):
            if i in batch:
                ids[id(t)] = _grow(t, [0])
        v_args, v_kwargs = _map_tensors((args, kwargs), lambda t: ids.get(id(t), t))
        try:
            variant = capture(fn, *v_args, _mode="trace", **v_kwargs)
            info = symbolize(graph, [variant], ["batch"], {"batch": (s0, s0 + 1)},
                             "with the batch size")
            symbols = {"batch": (batch[0], 0)}
            dynamic = {(i, 0) for i in batch}
        except Exception:
            info = None  # the batch cannot vary: a static trace
    if info is None:
        info = symbolize(graph, [], [], {}, "")
    if check_trace:
        import numpy as np

        from .onnx._export import _map_tensors, _shuffle

        rng = np.random.default_rng(0)
        shuffled = {id(t): _shuffle(t, rng) for _, t in _leaves(args, kwargs)}
        s_args, s_kwargs = _map_tensors((args, kwargs), lambda t: shuffled.get(id(t), t))
        try:
            other = capture(fn, *s_args, _mode="trace", **s_kwargs)
        except Exception:
            other = None
        if other is not None:
            try:
                symbolize(graph, [other], [], {}, "with the input's values")
            except SymbolicValueError as err:
                raise TracingCheckError(str(err)) from None
    return graph, _Replay(graph, info, symbols, dynamic)


def _leaves(args, kwargs):
    leaves: list = []
    for k, a in enumerate(args):
        _tensor_leaves(a, str(k), leaves)
    for k, v in kwargs.items():
        _tensor_leaves(v, k, leaves)
    seen, out = set(), []
    for path, t in leaves:
        if id(t) not in seen:
            seen.add(id(t))
            out.append((path, t))
    return out


def _code(graph, info=None) -> str:
    """The graph as Python-like text (``TracedModule.code``); sizes that follow the batch
    print as ``batch``."""
    def fmt(v):
        if isinstance(v, Node):
            return f"self.{v.target}" if v.op == "get_attr" and not v.meta.get("constant") \
                else v.name
        if isinstance(v, tuple):
            inner = ", ".join(fmt(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {fmt(x)}" for k, x in v.items()) + "}"
        if hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, type):
            return f"<array {list(getattr(v, 'shape', ()))}>"
        return repr(v)

    names = ", ".join(["self"] + [n.name for n in graph.placeholders])
    lines = [f"def forward({names}):"]
    for n in graph.nodes:
        if n.op == "call_function":
            args, kwargs = info[n][:2] if info is not None else (n.args, n.kwargs)
            parts = [fmt(a) for a in args] + [f"{k}={fmt(v)}" for k, v in kwargs.items()]
            target = "getitem" if op_name(n.target) == "getitem" else f"ops.{n.target_name}"
            where = n.meta.get("module_path")
            comment = f"  # {where}" if where else ""
            lines.append(f"    {n.name} = {target}({', '.join(parts)}){comment}")
        elif n.op == "get_attr" and n.meta.get("constant"):
            lines.append(f"    {n.name} = self.graph.attributes[{n.target!r}]")
        elif n.op == "output":
            lines.append(f"    return {fmt(n.args[0])}")
    return "\n".join(lines) + "\n"


class _Traced:
    """What traced modules and functions share: the graph, its code, saving."""

    graph = None
    _replay = None
    _example = None
    _source = None

    @property
    def code(self) -> str:
        """The recorded ops as Python-like text, one line per op."""
        return _code(self.graph, self._replay.info)

    def save(self, f, **kwargs) -> None:
        """Write the traced model as an ONNX file (``ember.jit.load`` and ``ember.onnx.load``
        read it back). Needs the ``onnx`` extra."""
        from .onnx import export as onnx_export

        args, kw = self._example
        holders = self.graph.placeholders
        names = [n.name for n in holders]
        axes = {holders[i].name: {0: "batch"} for i, _a in sorted(self._replay.dynamic)} \
            or None
        onnx_export(self._source, tuple(args) + ((kw,) if kw else ()), f, input_names=names,
                    dynamic_axes=axes, training=1, **kwargs)  # the mode it was traced in


class ScriptModule(nn.Module):
    """The common base of what ``trace`` returns for a module and what ``load`` returns
    (``torch.jit.ScriptModule``), so ``isinstance(m, ember.jit.ScriptModule)`` tells a
    deployable model from a plain ``nn.Module`` as it does in PyTorch.

    Example:
        >>> traced = ember.jit.trace(ember.nn.Linear(3, 2), ember.randn(4, 3))
        >>> isinstance(traced, ember.jit.ScriptModule)
        True
    """


class RecursiveScriptModule(ScriptModule):
    """What :func:`load` returns (``torch.jit.RecursiveScriptModule``): the loaded ONNX module.

    Example:
        >>> model = ember.jit.load("m.onnx")  # doctest: +SKIP
        >>> isinstance(model, ember.jit.RecursiveScriptModule)  # doctest: +SKIP
        True
    """


class TracedModule(_Traced, ScriptModule):
    """A module replaying the ops a traced run applied (``torch.jit.TracedModule``).

    It holds the original's submodules, parameters and buffers under the same names (the same
    objects: training the traced module trains them), so ``state_dict()`` is the original's.

    Attributes:
        graph: the captured :class:`ember.fx.graph.Graph`.
        code: the ops as Python-like text.

    Example:
        >>> traced = ember.jit.trace(ember.nn.Linear(3, 2), ember.randn(4, 3))
        >>> traced(ember.randn(7, 3)).shape
        torch.Size([7, 2])
    """

    def __init__(self, model, graph, replay, example):
        nn.Module.__init__(self)
        for name, child in model.named_children():
            self.add_module(name, child)
        for name, p in model._parameters.items():
            self.register_parameter(name, p)
        for name, b in model._buffers.items():
            self.register_buffer(name, b, persistent=name not in
                                 model._non_persistent_buffers_set)
        self.training = model.training
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "_replay", replay)
        object.__setattr__(self, "_example", example)
        object.__setattr__(self, "_source", model)
        object.__setattr__(self, "original_name", type(model).__name__)

    def forward(self, *args, **kwargs):
        return self._replay.run(self, args, kwargs)

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"

    def __repr__(self) -> str:
        # PyTorch prints a traced model as a tree of traced modules, each named by its
        # original class and showing only ``original_name``
        return _traced_repr(self.original_name, self)


class TopLevelTracedModule(TracedModule):
    """What :func:`trace` returns for a module (``torch.jit.TopLevelTracedModule``, PyTorch's
    class for the traced root; its submodules are ``TracedModule``).

    Example:
        >>> type(ember.jit.trace(ember.nn.Linear(3, 2), ember.randn(4, 3))).__name__
        'TopLevelTracedModule'
    """


def _traced_repr(name: str, module) -> str:
    lines = [f"({key}): " + _traced_repr(getattr(child, "original_name", type(child).__name__),
                                          child)
             for key, child in module._modules.items() if child is not None]
    if not lines:
        return f"{name}(original_name={name})"
    body = "\n".join("  " + line.replace("\n", "\n  ")
                     for line in [f"original_name={name}"] + lines)
    return f"{name}(\n{body}\n)"


class TracedFunction(_Traced):
    """A function replaying the ops a traced run applied (``torch.jit.ScriptFunction``'s
    role for traced functions).

    Example:
        >>> f = ember.jit.trace(lambda x: (x * 2).relu(), ember.randn(3))
        >>> f(ember.tensor([-1.0, 2.0, 3.0]))
        tensor([0., 4., 6.])
    """

    def __init__(self, fn, graph, replay, example):
        self.graph, self._replay, self._example, self._source = graph, replay, example, fn
        self.__name__ = getattr(fn, "__name__", "traced")

    def __call__(self, *args, **kwargs):
        return self._replay.run(None, args, kwargs)

    def save(self, f, **kwargs) -> None:
        super().save(f, **kwargs)

    def __repr__(self) -> str:
        return f"<ember.jit.TracedFunction {self.__name__}>"


# a traced function plays the role of PyTorch's ScriptFunction (what trace returns for one)
ScriptFunction = TracedFunction


# TorchScript's names for the Python types a scripted function's arguments may declare
_SCRIPT_TYPES = {float: "float", int: "int", bool: "bool", str: "str"}


def _script_type(annotation):
    """(TorchScript's name, check) for an argument annotation; None where not checked."""
    import inspect

    if annotation is inspect.Parameter.empty:
        return "Tensor (inferred)", lambda v: isinstance(v, Tensor)
    if annotation is Tensor or annotation in ("Tensor", "torch.Tensor"):
        return "Tensor", lambda v: isinstance(v, Tensor)
    if annotation in (float, "float"):  # TorchScript takes an int where a float is declared
        return "float", lambda v: isinstance(v, (float, int)) and not isinstance(v, bool)
    if annotation in (int, "int"):
        return "int", lambda v: isinstance(v, int) and not isinstance(v, bool)
    if annotation in (bool, "bool"):
        return "bool", lambda v: isinstance(v, bool)
    return None


class _EagerScriptFunction(TracedFunction):
    """What ``jit.script`` returns for a function: the function itself, run eagerly (PyTorch's
    behaviour under ``PYTORCH_JIT=0``), behind TorchScript's argument checks and names."""

    def __init__(self, fn):
        import inspect

        functools.update_wrapper(self, fn, updated=())
        del self.__wrapped__  # a ScriptFunction does not expose the Python function
        self._fn, self._signature = fn, inspect.signature(fn)
        module = "" if fn.__module__ in (None, "__main__") else fn.__module__ + "."
        self.name, self.qualified_name = fn.__name__, f"__torch__.{module}{fn.__name__}"

    @property
    def graph(self):
        raise RuntimeError(f"{self.name}: ember runs scripted functions eagerly and records no "
                           "TorchScript graph; use ember.jit.trace(fn, example_inputs) for one")

    @property
    def code(self):
        raise RuntimeError(f"{self.name}: ember runs scripted functions eagerly and has no "
                           "TorchScript code; use ember.jit.trace(fn, example_inputs) for one")

    def save(self, f, **kwargs):
        raise RuntimeError(f"{self.name}: a scripted function cannot be saved in ember; save "
                           "ember.jit.trace(fn, example_inputs) instead")

    def __call__(self, *args, **kwargs):
        params = list(self._signature.parameters.values())
        if len(args) > len(params):
            raise RuntimeError(f"{self.name}() expected at most {len(params)} argument(s) but "
                               f"received {len(args) + len(kwargs)} argument(s).")
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as err:
            raise RuntimeError(f"{self.name}(): {err}") from None
        for position, param in enumerate(params):
            if param.name not in bound.arguments:
                continue
            declared = _script_type(param.annotation)
            value = bound.arguments[param.name]
            if declared is None or declared[1](value):
                continue
            inferred = (f"Inferred '{param.name}' to be of type 'Tensor' because it was not "
                        "annotated with an explicit type.\n") if "inferred" in declared[0] else ""
            raise RuntimeError(
                f"{self.name}() Expected a value of type '{declared[0]}' for argument "
                f"'{param.name}' but instead found type '{type(value).__name__}'.\n"
                f"{inferred}Position: {position}\nValue: {value!r}")
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<ember.jit.ScriptFunction object at {hex(id(self))}>"


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-05, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """Record the ops ``func(*example_inputs)`` applies and return a replayable module (for an
    ``nn.Module``) or function.

    The replay runs the same ember ops (so gradients flow and the numbers equal eager ones)
    without the Python of ``forward``. Sizes that follow the batch are recomputed per call;
    other shapes must match the example. Python control flow on tensor values
    (``if x.sum() > 0``, ``.item()``) raises :class:`ember.fx.GraphBreak` naming the line;
    with ``check_trace`` a second run on shuffled inputs must record the same graph, else
    :class:`TracingCheckError`.

    Args:
        func: an ``nn.Module`` or a function of tensors.
        example_inputs: a tensor or a tuple of them (the positional arguments).
        check_trace: re-run on inputs with other values and compare the graphs.
        check_inputs: further input tuples; each output must match eager within
            ``check_tolerance``.
        example_kwarg_inputs: keyword inputs (a dict).

    Example:
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
        >>> traced = ember.jit.trace(model, ember.randn(2, 4))
        >>> print(traced.code)
    """
    if example_inputs is None and example_kwarg_inputs is None:
        raise ValueError("trace needs example_inputs (a tensor or a tuple of tensors)")
    args = () if example_inputs is None else (
        (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(example_inputs))
    kwargs = dict(example_kwarg_inputs or {})
    graph, replay = _record(func, args, kwargs, check_trace)
    example = (args, kwargs)
    if isinstance(func, nn.Module):
        traced = TopLevelTracedModule(func, graph, replay, example)
    else:
        traced = TracedFunction(func, graph, replay, example)
    for inputs in check_inputs or ():
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        _check_outputs(func, traced, inputs, check_tolerance)
    return traced


class Future:
    """The result of :func:`fork` (``torch.jit.Future``): ember runs the forked call at once, so
    the value is ready when ``fork`` returns.

    Example:
        >>> ember.jit.fork(lambda x: x + 1, 2).wait()
        3
    """

    def __init__(self, value=None):
        self._value = value

    def wait(self):
        """The forked call's result."""
        return self._value

    value = wait

    def done(self) -> bool:
        """True: the call has run."""
        return True

    def then(self, callback) -> Future:
        """A future holding ``callback(self)``."""
        return Future(callback(self))


def fork(func, *args, **kwargs) -> Future:
    """``torch.jit.fork``: run ``func(*args, **kwargs)`` and return a :class:`Future` of the
    result. PyTorch runs forks in parallel only inside TorchScript; outside it, as in ember,
    the call runs at once (its exception raised here).

    Example:
        >>> ember.jit.wait(ember.jit.fork(max, 3, 5))
        5
    """
    return Future(func(*args, **kwargs))


def wait(future: Future):
    """``torch.jit.wait``: the result of a :func:`fork`.

    Example:
        >>> ember.jit.wait(ember.jit.fork(abs, -2))
        2
    """
    return future.wait()


def script_if_tracing(fn):
    """``@torch.jit.script_if_tracing``: compiles ``fn`` with TorchScript only while tracing;
    ember has no TorchScript, so ``fn`` is returned as it is.

    Example:
        >>> ember.jit.script_if_tracing(abs)(-1)
        1
    """
    return fn


def _typed_isinstance(obj, target_type) -> bool:
    """``torch.jit.isinstance``: ``isinstance`` that also checks the element types of typing's
    containers (``List[int]``, ``Dict[str, Tensor]``, ``Tuple[int, str]``, ``Optional[T]``).

    Example:
        >>> from typing import List
        >>> ember.jit.isinstance([1, 2], List[int]), ember.jit.isinstance([1, "a"], List[int])
        (True, False)
    """
    origin, args = typing.get_origin(target_type), typing.get_args(target_type)
    if origin is None:
        return target_type is typing.Any or isinstance(obj, target_type)
    if origin is typing.Union or origin is types.UnionType:
        return any(_typed_isinstance(obj, a) for a in args)
    if origin is list:
        return isinstance(obj, list) and all(_typed_isinstance(v, args[0]) for v in obj)
    if origin is dict:
        return isinstance(obj, dict) and all(
            _typed_isinstance(k, args[0]) and _typed_isinstance(v, args[1]) for k, v in obj.items())
    if origin is tuple:
        if not isinstance(obj, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_typed_isinstance(v, args[0]) for v in obj)
        return len(obj) == len(args) and all(_typed_isinstance(v, a) for v, a in zip(obj, args))
    return isinstance(obj, origin)


def __getattr__(name):
    # ``torch.jit.isinstance`` by its public name, without shadowing the builtin in this module
    if name == "isinstance":
        return _typed_isinstance
    raise AttributeError(f"module 'ember.jit' has no attribute '{name}'")


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-05, strict=True, _force_outplace=False, _module_class=None,
                 _compilation_unit=None, example_inputs_is_kwarg=False, _store_inputs=True):
    """Trace the methods of ``mod`` named in ``inputs`` (``{"forward": example_inputs}``).
    ember replays ``forward`` only: another method name raises NotImplementedError.

    Example:
        >>> m = ember.jit.trace_module(ember.nn.Linear(3, 2), {"forward": ember.randn(4, 3)})
        >>> m(ember.randn(5, 3)).shape
        torch.Size([5, 2])
    """
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    others = [name for name in inputs if name != "forward"]
    if others:
        raise NotImplementedError(f"ember.jit traces forward only, not {others}; trace a "
                                  "module whose forward calls them instead")
    example = inputs.get("forward")
    kwargs = {"example_kwarg_inputs": example} if example_inputs_is_kwarg else {}
    return trace(mod, None if example_inputs_is_kwarg else example, optimize, check_trace,
                 check_inputs, check_tolerance, strict, **kwargs)


def _script_module_required(name: str, mod) -> None:
    if not isinstance(mod, TracedModule):
        raise RuntimeError(f"{name} expects a ScriptModule as input. Please use torch.jit.script "
                           "or torch.jit.trace to script your 'nn.Module'.")


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """``torch.jit.freeze``: a traced module in eval mode, ready for inference. PyTorch inlines
    the weights as constants and folds ops; ember's replay already runs the captured ops with
    no Python in between, so the traced module itself is returned (it keeps sharing its
    parameters with the original model).

    Example:
        >>> traced = ember.jit.trace(ember.nn.Linear(3, 2).eval(), ember.randn(4, 3))
        >>> ember.jit.freeze(traced) is traced
        True
    """
    _script_module_required("Freezing", mod)
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``torch.jit.optimize_for_inference``: puts a traced module in eval mode and freezes it
    (see :func:`freeze`).

    Example:
        >>> traced = ember.jit.trace(ember.nn.Linear(3, 2), ember.randn(4, 3))
        >>> ember.jit.optimize_for_inference(traced).training
        False
    """
    _script_module_required("optimize_for_inference", mod)
    return freeze(mod.eval())


def _check_outputs(func, traced, inputs, tol):
    from .autograd import grad_mode

    with grad_mode.no_grad():
        want, got = func(*inputs), traced(*inputs)
    w_leaves, g_leaves = [], []
    _tensor_leaves(want, "", w_leaves)
    _tensor_leaves(got, "", g_leaves)
    for (_, w), (_, g) in zip(w_leaves, g_leaves):
        if w.shape != g.shape or not bool(((w - g).abs() <= tol + tol * w.abs()).all()):
            raise TracingCheckError("the traced function's output differs from the eager "
                                    f"output on check_inputs of shape "
                                    f"{[list(t.shape) for t in inputs]}")


def save(m, f, _extra_files=None) -> None:
    """Save a traced module or function (an ONNX file; ``load`` reads it back).

    Example:
        >>> ember.jit.save(ember.jit.trace(ember.nn.Linear(2, 2), ember.randn(1, 2)), "m.onnx")
    """
    if not isinstance(m, _Traced):
        raise TypeError(f"ember.jit.save takes the result of ember.jit.trace, got "
                        f"{type(m).__name__}; for a plain module use ember.save(model.state_dict()"
                        ", path)")
    m.save(f)


def load(f, map_location=None, _extra_files=None):
    """Load a model saved by :func:`save` (or any ONNX file) as an ``nn.Module``
    (``ember.onnx.load``).

    Example:
        >>> model = ember.jit.load("m.onnx")
    """
    from .onnx import load as onnx_load

    module = onnx_load(f)
    module.__class__ = _loaded_class(type(module))  # a ScriptModule, as PyTorch's load gives
    return module


@functools.cache
def _loaded_class(onnx_class):
    return type("RecursiveScriptModule", (onnx_class, RecursiveScriptModule),
                {"__module__": __name__, "__doc__": RecursiveScriptModule.__doc__})
