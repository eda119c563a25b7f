"""``ember.compile``'s lowering: a captured graph as straight-line code on raw NumPy arrays.

The replay (``ember._compile._codegen``) calls each op's ``apply``, which wraps every result
in a Tensor and, when gradients are needed, records one autograd node per op. Most of a
small model's time is that bookkeeping. A graph whose every op has a lowering runs instead as
generated code on the arrays themselves (AOTAutograd's idea, with NumPy as the "kernels"):

* **No gradient** (``no_grad``, or nothing requires grad): each op's own ``forward`` runs on
  the arrays with a context that records nothing (so the arithmetic is eager's, call for
  call), view ops become NumPy views, dropout that cannot drop is its input; only the
  returned values are wrapped, each in a fresh Tensor.
* **Gradients**: the forward runs the same way and keeps the arrays the backward needs; ONE
  autograd node (:class:`GraphFunction`) stands for the whole graph. Its backward is
  generated code with the formulas of the ops' own first-order backward (the transposed
  GEMMs, the ReLU mask, the bias column sums, broadcasting's sums), in the order eager's
  engine runs them, and gradients meeting at one value are summed in the engine's order, so
  gradients equal eager's bit for bit. ``create_graph=True`` re-runs the graph with ember ops
  and differentiates that (a double backward needs the recorded ops).

A graph with an op that has no lowering (or whose sizes follow the batch, or whose output
is a view of an input or a parameter) is not lowered: it replays as before. Arrays are not
preallocated across calls, so a returned tensor never shares memory with the next call's.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from . import _dtype as D
from ._blas import outer
from ._ops import _core
from ._ops.indexing.subscript import BasicIndex
from ._ops.linalg.matmul import Matmul
from ._ops.nn.activation import Gelu, Silu
from ._ops.nn.linear_softmax import (
    Attention,
    Linear,
    LogSoftmax,
    Softmax,
    _as_dtype,
    _column_sum,
    _subnormal_lift,
    _unlift,
)
from ._ops.nn.normalization import NormAffine
from ._ops.pointwise.abs_round_clamp import Relu, relu_array, relu_grad_array
from ._ops.pointwise.arithmetic import Add, Div, Mul, Neg, Sub
from ._ops.reduction.sums import MeanDim, SumDim
from ._ops.shape.views import Permute, Reshape, SqueezeDim, Transpose, TransposeT, Unsqueeze, View
from ._tensor import Tensor
from .autograd import grad_mode
from .autograd.graph import Node as _GraphNode
from .autograd.graph import _class_named, _modified_message, _sequence, edge_of

__all__ = ["lower_inference", "lower_training", "GraphFunction"]

_state = grad_mode._state

# ops whose ``forward`` runs on raw arrays with a context that records nothing: they read
# from the context only its ``inputs`` (as ``save_for_backward`` arguments, and whether the
# first one requires grad), never change an input, and return a new array or a view
_FORWARD_OPS = (Linear, Matmul, Relu, Gelu, Silu, Add, Sub, Mul, Div, Neg, Softmax, LogSoftmax,
                NormAffine, Attention, View, Reshape, Permute, Transpose, TransposeT, Unsqueeze,
                SqueezeDim, BasicIndex, MeanDim, SumDim)
_UNARY = ("tanh", "sigmoid", "exp")  # classes made by a factory in pointwise/unary.py


def _forward_op(target) -> bool:
    if target in _FORWARD_OPS:
        return True
    return isinstance(target, type) and issubclass(target, _core.Op) and \
        target.__module__.endswith("pointwise.unary") and target.__name__.lower() in _UNARY


class _Stub:
    """What a lowered op's context holds in place of a Tensor input: only
    ``_requires_grad`` is ever read from it (without recording)."""

    __slots__ = ()
    _requires_grad = False


class _NoLowering(Exception):
    pass


class _Source:
    """Constants of a generated function (named ``c0``, ``c1`` ...) and its Python
    expressions for the plan's arguments."""

    def __init__(self, replay, var):
        self.replay, self.var = replay, var
        self.names: dict = {}
        self.canon: dict = {}  # an alias's slot -> the slot whose value it is

    def const(self, value) -> str:
        key = id(value)
        if key not in self.names:
            self.names[key] = (f"c{len(self.names)}", value)
        return self.names[key][0]

    def expr(self, value) -> str:
        from .fx.graph import Node
        from .onnx._symbolic import SymFill, SymInt

        if isinstance(value, Node):
            return self.var(self.replay.index[value])
        if isinstance(value, (SymInt, SymFill)):
            raise _NoLowering
        if type(value) is tuple:
            inner = ", ".join(self.expr(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if type(value) is list:
            return "[" + ", ".join(self.expr(v) for v in value) + "]"
        if type(value) is slice:
            return (f"slice({self.expr(value.start)}, {self.expr(value.stop)}, "
                    f"{self.expr(value.step)})")
        if type(value) is dict:
            return "{" + ", ".join(f"{self.const(k)}: {self.expr(v)}"
                                   for k, v in value.items()) + "}"
        if value is None or type(value) in (bool, int) or \
                (type(value) is float and value == value and abs(value) != float("inf")):
            return repr(value)
        return self.const(value)

    def build(self, lines: list, extra: dict):
        namespace = {name: value for name, value in self.names.values()}
        namespace.update(extra)
        source = "\n".join(lines) + "\n"
        exec(builtins.compile(source, "<ember.compile lowered>", "exec"), namespace)
        return namespace, source


def _stub_inputs(args) -> tuple:
    from .fx.graph import Node

    return tuple(_Stub() if isinstance(a, Node) else a for a in args)


def _context(target, args):
    ctx = object.__new__(target)
    ctx._record = False
    ctx.inputs = _stub_inputs(args)
    return ctx


def _views_of_inputs(replay) -> set:
    """Plan slots whose array may be the memory of an input, parameter or constant (a view
    chain from one): such a value must not be returned raw."""
    from .fx.graph import Node

    shared: set = set()
    for kind, i, node, spec in replay.steps:
        if kind in ("placeholder", "attribute", "constant"):
            shared.add(i)
        elif kind == "alias" and spec in shared:
            shared.add(i)
        elif kind == "call":
            target = node.target
            first = node.args[0] if node.args else None
            view = target is operator.getitem or getattr(target, "is_view", False)
            if view and isinstance(first, Node) and replay.index[first] in shared:
                shared.add(i)
    return shared


def _output_nodes(structure) -> list:
    from .fx.graph import _walk_nodes

    found: dict = {}
    _walk_nodes(structure, found)
    return list(found)


def _float_node(x) -> bool:
    """A graph value that is a float32/float64 array of at least one axis (NumPy ops on it
    keep its dtype and give arrays, not scalars)."""
    from .fx.graph import Node

    return isinstance(x, Node) and x.meta.get("dtype") in _FLOATS and \
        bool(x.meta.get("shape"))


def _linear_lines(src, node, i, args, a, rows) -> str | None:
    """``Linear.forward``'s NumPy calls written out (no context, no call): for float32/float64
    operands of one dtype, where that forward is one GEMM, an in-place bias add and a
    reshape. ``rows`` shares ``x.reshape(-1, k)`` between linears reading the same value
    (self-attention's q, k and v read one input: a non-contiguous one is copied once, not
    three times; the GEMMs see the same numbers)."""
    from .fx.graph import Node

    if len(args) not in (2, 3) or not all(_float_node(x) for x in args) or \
            len({x.meta.get("dtype") for x in args}) != 1 or \
            node.meta.get("dtype") != args[0].meta.get("dtype"):
        return None
    x, shape = args[0], tuple(node.meta.get("shape", ()))
    xshape = tuple(x.meta.get("shape", ()))
    if len(xshape) < 1 or len(shape) != len(xshape):
        return None
    lines = []
    x2 = a[0]
    if len(xshape) != 2:
        key = src.replay.index[x] if isinstance(x, Node) else None
        key = src.canon.get(key, key)
        x2 = rows.get(key)
        if x2 is None:
            x2 = rows[key] = f"x{i}"
            lines.append(f"    x{i} = {a[0]}.reshape(-1, {xshape[-1]})")
    lines.append(f"    a{i} = {x2} @ {a[1]}.T  # {node.name}")
    if len(args) == 3:
        lines.append(f"    a{i} += {a[2]}")
    if len(xshape) != 2:
        lines.append(f"    a{i} = a{i}.reshape({shape!r})")
    return "\n".join(lines)


def _call_line(src, node, i, contexts, rows=None) -> str:
    """``a{i} = ...``: one op of the plan on raw arrays. ``rows``: the shared 2-D forms of
    linear inputs (see ``_linear_lines``)."""
    target = node.target
    args, kwargs = src.replay.info[node][0], src.replay.info[node][1]
    a = [src.expr(x) for x in args]
    if target is operator.getitem:
        return f"    a{i} = {a[0]}[{a[1]}]  # {node.name}"
    if target is Linear and not kwargs:
        lines = _linear_lines(src, node, i, args, a, {} if rows is None else rows)
        if lines is not None:
            return lines
    if target is BasicIndex and not kwargs.keys() - {"index"} and node.meta.get("shape"):
        # BasicIndex.forward is ``x[index]`` unless the index inserts axes (None)
        index = kwargs.get("index", args[1] if len(args) > 1 else None)
        if type(index) is tuple and None not in index and \
                all(type(k) in (int, slice) or k is Ellipsis for k in index):
            return f"    a{i} = {a[0]}[{src.expr(index)}]  # {node.name}"
    if node.meta.get("shape") == ():
        pass  # 0-d results go through the op's own forward (and asarray) below
    elif target is Relu and not kwargs and _float_node(args[0]):
        return f"    a{i} = relu({a[0]})  # {node.name}"  # Relu.forward's own array function
    elif target is Matmul and not kwargs and len(args) == 2 and all(map(_float_node, args)) \
            and args[0].meta["dtype"] == args[1].meta["dtype"] == node.meta.get("dtype"):
        return f"    a{i} = matmul({a[0]}, {a[1]})  # {node.name}"
    # the cheapest spellings of what these ops' forward computes (the same NumPy call)
    if target in (Permute, Transpose, TransposeT) and not kwargs.keys() - {"dims"}:
        dims = kwargs.get("dims", args[1] if len(args) > 1 else None)
        value = f"{a[0]}.transpose({src.expr(dims)})"
    elif target is Reshape and not kwargs.keys() - {"shape"}:
        shape = kwargs.get("shape", args[1] if len(args) > 1 else None)
        value = f"{a[0]}.reshape({src.expr(shape)})"
    elif target is Add and len(args) == 2 and not kwargs:
        value = f"{a[0]} + {a[1]}"
    elif target is Mul and len(args) == 2 and not kwargs:
        value = f"{a[0]} * {a[1]}"
    elif _forward_op(target):
        ctx = contexts.setdefault(i, _context(target, args))
        parts = [src.const(ctx)] + a
        for k, v in kwargs.items():
            if not k.isidentifier():
                raise _NoLowering
            parts.append(f"{k}={src.expr(v)}")
        value = f"{src.const(target.forward)}({', '.join(parts)})"
    else:
        raise _NoLowering
    if node.meta.get("shape") == ():  # NumPy gives scalars for 0-d results; ember keeps arrays
        value = f"asarray({value})"
    return f"    a{i} = {value}  # {node.name}"


# the NumPy functions that generated forwards call by name
_KERNELS = {"matmul": np.matmul, "relu": relu_array}


def _check_plan(replay) -> None:
    if replay.symbols or replay.dynamic:
        raise _NoLowering  # sizes follow the batch: the step-by-step replay resolves them
    for kind, _i, _node, _spec in replay.steps:
        if kind == "fill":
            raise _NoLowering


def lower_inference(replay, root_reads: bool):
    """The plan as ``forward(root, tensors)`` on raw arrays for calls that need no gradient
    (each output a fresh Tensor), or None when an op has no lowering."""
    try:
        _check_plan(replay)
        shared = _views_of_inputs(replay)
        src = _Source(replay, lambda i: f"a{i}")
        contexts: dict = {}
        rows: dict = {}
        lines = ["def forward(root, tensors):"]
        holder = 0
        for kind, i, node, spec in replay.steps:
            if kind == "call":
                lines.append(_call_line(src, node, i, contexts, rows))
            elif kind == "alias":
                lines.append(f"    a{i} = a{spec}  # {node.name}")
                src.canon[i] = src.canon.get(spec, spec)
            elif kind == "attribute":
                lines.append(f"    a{i} = read(root, {spec!r})._data" if root_reads
                             else f"    a{i} = {src.const(replay.graph.attributes[spec])}._data")
            elif kind == "placeholder":
                lines.append(f"    a{i} = tensors[{holder}]._data  # {node.name}")
                holder += 1
            elif kind == "constant":
                lines.append(f"    a{i} = {src.const(spec)}._data  # {node.name}")
            elif kind == "output":
                structure = node.args[0]
                for out in _output_nodes(structure):
                    k = replay.index[out]
                    if k in shared:
                        raise _NoLowering  # eager returns a view of the input: replay keeps it
                    dtype = out.meta.get("dtype")
                    if not isinstance(dtype, D.dtype):
                        raise _NoLowering
                    lines.append(f"    a{k} = make(a{k}, {src.const(dtype)})")
                lines.append(f"    return {src.expr(structure)}")
            else:
                raise _NoLowering
    except _NoLowering:
        return None
    namespace, source = src.build(lines, {"read": replay._read, "make": Tensor._make,
                                          "asarray": np.asarray, **_KERNELS})
    forward = namespace["forward"]
    forward.source = source
    return forward


# -- training: one autograd node for the whole graph -----------------------------------------

_RESHAPES = (View, Reshape, Unsqueeze, SqueezeDim)
_PERMUTES = (Permute, Transpose, TransposeT)
_TRAINABLE = (Linear, Relu, Add, Mul) + _RESHAPES + _PERMUTES
_FLOATS = (D.float32, D.float64)


def _arg(node, k, name, default=None):
    args, kwargs = node.args, node.kwargs
    if name in kwargs:
        return kwargs[name]
    return args[k] if len(args) > k else default


class _Out:
    """A returned value's place in the output structure: output number ``k``."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


def _fill(structure, values):
    if type(structure) is _Out:
        return values[structure.k]
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*(_fill(v, values) for v in structure))
    if isinstance(structure, (tuple, list)):
        return type(structure)(_fill(v, values) for v in structure)
    if isinstance(structure, dict):
        return {k: _fill(v, values) for k, v in structure.items()}
    return structure


def _collect(structure, value, found: dict) -> None:
    """The tensors of ``value`` (returned in the shape of ``structure``) by output number."""
    if type(structure) is _Out:
        found.setdefault(structure.k, value)
    elif isinstance(structure, (tuple, list)):
        for s, v in zip(structure, value):
            _collect(s, v, found)
    elif isinstance(structure, dict):
        for k, s in structure.items():
            _collect(s, value[k], found)


class _Training:
    """A graph's generated forward and backward (see :func:`lower_training`) and what a call
    needs to record its one autograd node."""

    def __init__(self, forward, backward, out_meta, out_deps, structure, checked_sources,
                 checked_outputs):
        self.forward, self.backward = forward, backward
        self.out_meta = out_meta                # (shape, dtype, device) per output
        self.out_deps = out_deps                # per output: the sources it depends on
        self.structure = structure              # the returned structure, _Out at the leaves
        self.checked_sources = checked_sources  # sources whose memory the backward reads
        self.checked_outputs = checked_outputs  # outputs whose memory the backward reads

    def __call__(self, entry, root, leaves):
        outs, saved, sources = self.forward(root, leaves)
        needs = tuple(t._requires_grad for t in sources)
        node = object.__new__(_COMPILED_NODE)
        node.next_functions = tuple(edge_of(t) if n else _NO_EDGE
                                    for t, n in zip(sources, needs))
        node.needs_input_grad = needs
        node._seq = next(_sequence)
        node._num_outputs = len(outs)
        node._output_meta = self.out_meta
        node._arrays, node._sources, node._lowered = saved, sources, self
        node._entry, node._leaves = entry, leaves
        node._source_versions = [(k, sources[k]._vbox[0]) for k in self.checked_sources]
        tensors = []
        make = Tensor._make
        for j, arr in enumerate(outs):
            diff = False
            for k in self.out_deps[j]:
                if needs[k]:
                    diff = True
                    break
            t = make(arr, self.out_meta[j][1], diff)
            if diff:
                t.grad_fn = node
                t._output_nr = j
            tensors.append(t)
        node._output_versions = [(j, tensors[j]._vbox) for j in self.checked_outputs]
        if type(self.structure) is _Out:
            return tensors[self.structure.k]
        return _fill(self.structure, tensors)


_NO_EDGE = (None, 0)


class GraphFunction(_GraphNode):
    """The one autograd node of a compiled graph's call (PyTorch's
    ``CompiledFunctionBackward``): its backward is the graph's generated backward on raw
    arrays; with ``create_graph=True`` it differentiates the graph's ops run again.

    Example:
        >>> model = ember.compile(ember.nn.Linear(3, 2))
        >>> model(ember.randn(1, 3)); out = model(ember.randn(1, 3))
        >>> out.grad_fn.name()
        'CompiledFunctionBackward'
    """

    _name = "CompiledFunctionBackward"

    def _free(self):
        super()._free()
        self._arrays = self._sources = self._leaves = None

    @staticmethod
    def backward(ctx, *grads):
        sources = ctx._sources
        for k, version in ctx._source_versions:
            t = sources[k]
            if t._vbox[0] != version:
                raise RuntimeError(_modified_message(t, version, ctx))
        for j, box in ctx._output_versions:
            if box[0] != 0:
                shape, dtype, _ = ctx._lowered.out_meta[j]
                fake = Tensor._make(np.empty(shape, dtype.np_dtype), dtype)
                fake.grad_fn, fake._output_nr = ctx, j
                raise RuntimeError(_modified_message(fake, 0, ctx, box[0]))
        if _state.enabled:
            return ctx._graph_backward(grads)
        result = ctx._lowered.backward(ctx._arrays, [g._data for g in grads],
                                       ctx.needs_input_grad)
        out = []
        for g, t, need in zip(result, sources, ctx.needs_input_grad):
            if g is None or not need:
                out.append(None)
            else:
                out.append(Tensor._make(g if type(g) is np.ndarray else np.asarray(g),
                                        t._dtype))
        return tuple(out)

    def _graph_backward(self, grads):
        """``create_graph=True``: run the graph's ops again (recorded) and differentiate
        them, so the gradients have a graph of their own."""
        from .autograd import grad as autograd_grad

        value = self._entry.replay_run(self._leaves)
        found: dict = {}
        _collect(self._lowered.structure, value, found)
        outs = [found[j] for j in range(len(grads))]
        keep = [j for j, o in enumerate(outs) if o.requires_grad]
        wanted = [k for k, need in enumerate(self.needs_input_grad) if need]
        got = autograd_grad([outs[j] for j in keep], [self._sources[k] for k in wanted],
                            [grads[j] for j in keep], create_graph=True, allow_unused=True)
        result = [None] * len(self._sources)
        for k, g in zip(wanted, got):
            result[k] = g
        return tuple(result)


# the class a call's node is made of: GraphFunction under PyTorch's name, so a result prints
# ``grad_fn=<CompiledFunctionBackward>`` as a torch.compile'd one does
_COMPILED_NODE = _class_named(GraphFunction, GraphFunction._name)


def lower_training(replay, root_reads: bool, input_grads):
    """The plan as a generated forward on raw arrays that keeps what its backward needs, and
    that backward (gradients of the inputs, parameters and constants from the outputs'
    gradients), or None when an op has no lowering for training. ``input_grads``: whether
    each input requires grad (part of the guard, so the same on every call)."""
    from .fx.graph import Node

    try:
        _check_plan(replay)
        shared = _views_of_inputs(replay)
        index = replay.index
        canon: dict = {}  # an alias's slot -> the slot whose value it is

        def slot(node):
            i = index[node]
            return canon.get(i, i)

        src = _Source(replay, lambda i: f"a{i}")
        # sources: what gradients flow to (inputs that require grad, parameters, buffers and
        # constants: whether each needs one is read on each call)
        sources: dict = {}
        deps: dict = {}      # slot -> the sources it depends on
        saved: dict = {}     # slots whose arrays the backward reads, in order
        checked: set = set()  # slots whose tensors eager's ops save (their versions checked)
        memory: dict = {}    # slot -> the slot whose memory it views
        rows: dict = {}      # shared 2-D forms of linear inputs (_linear_lines)
        fwd = ["def forward(root, tensors):"]
        bwd_ops = []         # (slot, node) of differentiable calls, in order
        holder = 0
        for kind, i, node, spec in replay.steps:
            if kind == "placeholder":
                fwd.append(f"    t{i} = tensors[{holder}]  # {node.name}")
                fwd.append(f"    a{i} = t{i}._data")
                holder += 1
                if input_grads[holder - 1]:
                    sources[i] = len(sources)
                    deps[i] = frozenset((i,))
            elif kind in ("attribute", "constant"):
                if kind == "constant":
                    fwd.append(f"    t{i} = {src.const(spec)}")
                elif root_reads:
                    fwd.append(f"    t{i} = read(root, {spec!r})")
                else:
                    fwd.append(f"    t{i} = {src.const(replay.graph.attributes[spec])}")
                fwd.append(f"    a{i} = t{i}._data  # {node.name}")
                if node.meta.get("dtype") in _FLOATS:
                    sources[i] = len(sources)
                    deps[i] = frozenset((i,))
            elif kind == "alias":
                fwd.append(f"    a{i} = a{spec}  # {node.name}")
                canon[i] = src.canon[i] = canon.get(spec, spec)
            elif kind == "call" and _is_cross_entropy(node):
                # a training step's loss (ember._compile_train): softmax cross-entropy's
                # forward, keeping the softmax and the target's coefficients for backward
                x, target = _cross_entropy_args(node)
                xi = slot(x)
                ce = src.const(_CrossEntropy(x.meta["dtype"], dict(node.kwargs)))
                fwd.append(f"    a{i}, a{i}s = {ce}(a{xi}, t{slot(target)})  # {node.name}")
                if xi in deps:
                    deps[i] = deps[xi]
                    bwd_ops.append((i, node))
                    saved[f"{i}s"] = None
            elif kind == "call":
                target = node.target
                if target not in _TRAINABLE or node.meta.get("dtype") not in _FLOATS:
                    raise _NoLowering
                if target is Add and _arg(node, 2, "alpha", 1) != 1:
                    raise _NoLowering
                if node.kwargs.keys() - {"shape", "dims"} or any(
                        not isinstance(x, Node) and type(x) not in (int, float, tuple)
                        for x in node.args):
                    raise _NoLowering
                inputs = [slot(x) for x in node.args if isinstance(x, Node)]
                fwd.append(_call_line(src, node, i, {}, rows))
                if target in _RESHAPES or target in _PERMUTES:
                    memory[i] = memory.get(inputs[0], inputs[0])
                d = frozenset().union(*(deps.get(j, frozenset()) for j in inputs))
                if d:
                    deps[i] = d
                    bwd_ops.append((i, node))
                    if target is Linear:
                        saved.update(dict.fromkeys(inputs[:2]))
                        # as eager's: the input saved for the weight's gradient, the weight
                        # for the input's, the bias never
                        checked.update(j for j, other in ((inputs[0], inputs[1]),
                                                          (inputs[1], inputs[0])) if other in deps)
                    elif target is Relu:
                        saved[i] = None
                        checked.add(i)
                    elif target is Mul:
                        saved.update(dict.fromkeys(inputs))
                        checked.update(inputs)
            elif kind == "output":
                structure = node.args[0]
            else:
                raise _NoLowering
        outs = _output_nodes(structure)
        out_slots = [slot(n) for n in outs]
        if not outs or len(set(out_slots)) < len(out_slots) or \
                any(index[n] in shared for n in outs) or \
                any(not isinstance(n.meta.get("dtype"), D.dtype) for n in outs):
            raise _NoLowering
        src_slots = list(sources)
        # a tensor's memory is checked when some saved tensor views the same memory
        roots = {memory.get(k, k) for k in checked}
        checked_sources = [n for n, k in enumerate(src_slots) if memory.get(k, k) in roots]
        checked_outputs = [j for j, k in enumerate(out_slots) if memory.get(k, k) in roots]
        fwd.append(f"    return ({''.join(f'a{k}, ' for k in out_slots)}), "
                   f"({''.join(f'a{k}, ' for k in saved)}), "
                   f"({''.join(f't{k}, ' for k in src_slots)})")
        bwd = _backward_lines(bwd_ops, saved, out_slots, src_slots, deps, slot)
    except _NoLowering:
        return None
    namespace, fsource = src.build(fwd, {"read": replay._read, **_KERNELS})
    bnamespace, bsource = _Source(replay, str).build(bwd, {
        "as_dtype": _as_dtype, "column_sum": _column_sum, "relu_grad": relu_grad_array,
        "subnormal_lift": _subnormal_lift, "unlift": _unlift, "outer_rows": _outer_rows,
        "add_reduce": np.add.reduce, "cross_entropy_backward": _cross_entropy_backward})
    forward, backward = namespace["forward"], bnamespace["backward"]
    forward.source, backward.source = fsource, bsource
    out_meta = [(n.meta["shape"], n.meta["dtype"], None) for n in outs]
    out_deps = [tuple(sources[s] for s in deps.get(k, ())) for k in out_slots]
    order = {n: _Out(j) for j, n in enumerate(outs)}
    from .fx.graph import map_nodes

    return _Training(forward, backward, out_meta, out_deps,
                     map_nodes(structure, order.__getitem__), checked_sources, checked_outputs)


class RunEager(Exception):
    """A lowered call met inputs its generated code does not handle (found before anything
    changed): ``ember.compile`` runs that call eagerly."""


_CE_KWARGS = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}


def _is_cross_entropy(node) -> bool:
    return getattr(node.target, "_fx_name", None) == "cross_entropy"


def _cross_entropy_args(node):
    """The logits and target nodes of a ``cross_entropy`` node that the lowering handles
    (float logits (N, C), an input's int64 class indices, no weight or label smoothing, a
    mean or sum), else ``_NoLowering``."""
    from .fx.graph import Node

    args, kwargs = node.args, node.kwargs
    if len(args) != 2 or kwargs.keys() - _CE_KWARGS.keys():
        raise _NoLowering
    x, target = args
    if not isinstance(x, Node) or not isinstance(target, Node) or \
            x.meta.get("dtype") not in _FLOATS or len(x.meta.get("shape", ())) != 2 or \
            target.meta.get("dtype") is not D.int64 or node.meta.get("dtype") not in _FLOATS or \
            kwargs.get("weight") is not None or kwargs.get("label_smoothing", 0.0) != 0.0 or \
            kwargs.get("reduction", "mean") not in ("mean", "sum") or \
            type(kwargs.get("ignore_index", -100)) is not int or \
            target.op != "placeholder":  # its tensor is then t{slot} in the forward
        raise _NoLowering
    return x, target


class _CrossEntropy:
    """One ``cross_entropy`` node's forward: its common case as ``SoftmaxCrossEntropy.forward``
    computes it while recording (the same NumPy calls in the same order), returning what its
    backward needs. The coefficients' weights depend only on the batch size, the dtype and the
    reduction: made once by ``_common_case``, then only the targets' range is checked."""

    def __init__(self, dtype, kwargs):
        from ._ops.nn import linear_softmax, loss

        self.dtype, self.kwargs = dtype, kwargs
        self.known = None  # (rows, classes, dtype) -> the weights, for the last shape seen
        self.weights = None
        self.row_max, self.row_sum = linear_softmax._row_max, linear_softmax._row_sum
        self.coef, self.common_case = loss._Coef, loss._common_case

    def __call__(self, x, target):
        n, c = x.shape
        t = target._data
        if self.known == (n, c, x.dtype) and type(t) is np.ndarray and t.ndim == 1 and \
                t.shape[0] == n and target._dtype is D.int64 and \
                (0 <= int(t[0]) < c if n == 1 else (t.min() >= 0 and t.max() < c)):
            coef = self.coef(idx=t, w=self.weights)
        else:
            kwargs = self.kwargs
            coef = self.common_case(Tensor._make(x, self.dtype), target, None,
                                     kwargs.get("ignore_index", -100),
                                     kwargs.get("reduction", "mean"), 0.0, None, None)
            if coef is None:  # class indices out of range, an ignored class, no rows: eager
                raise RunEager
            self.known, self.weights = (n, c, x.dtype), coef.w
        s = x - self.row_max(x, 1)
        picked = s[np.arange(s.shape[0]), coef.idx]
        e = np.exp(s, out=s)
        total = self.row_sum(e, 1)
        e /= total
        per = (np.log(total).reshape(-1) - picked) * coef.w
        return per.sum(dtype=x.dtype), (e, coef)


def _cross_entropy_backward(state, g):
    """``SoftmaxCrossEntropy.backward``'s raw path (softmax times the coefficients' row
    totals, less the coefficients, times the gradient); the saved softmax stays as it was,
    so a retained graph's second backward gives the same."""
    p, coef = state
    p = p * coef.row_total()
    coef.subtract_from(p)
    p *= g
    return p


def _outer_rows(g, x):
    """``g.T * x`` for one-row ``g`` (1, m) and ``x`` (1, n): a weight's gradient at batch 1.
    Every element is one product, so BLAS's rank-one update (``ember._blas.outer``) gives
    eager's broadcast multiply bit for bit, in one pass instead of one loop per row."""
    out = outer(g.reshape(-1), x.reshape(-1))
    return g.T * x if out is None else out


def _backward_lines(ops, saved, out_slots, src_slots, deps, slot) -> list:
    """``backward(saved, grads, needs)``: gradients of the sources from those of the outputs.
    Ops run in reverse (the engine's order: latest node first); a value reached by several
    gradients sums them as they arrive, as the engine does."""
    from .fx.graph import Node

    lines = ["def backward(saved, grads, needs):"]
    if saved:
        lines.append(f"    {''.join(f'a{k}, ' for k in saved)}= saved")
    have: set = set()

    def give(k, expr):
        if k not in deps:
            return
        if k in have:
            lines.append(f"    g{k} = g{k} + {expr}")
        else:
            lines.append(f"    g{k} = {expr}")
            have.add(k)

    # the outputs' own gradients arrive first (the engine materializes zeros for those that
    # got none, as for any node with several outputs)
    for j, k in enumerate(out_slots):
        give(k, f"grads[{j}]")
    for i, node in reversed(ops):
        if i not in have:
            continue
        target = node.target
        shape = node.meta["shape"]
        g = f"g{i}"
        if target is Linear:
            x, w = node.args[0], node.args[1]
            b = _arg(node, 2, "b")
            xi, wi = slot(x), slot(w)
            xshape = tuple(x.meta["shape"])
            g2 = g if len(shape) == 2 else f"{g}.reshape(-1, {shape[-1]})"
            x2 = f"a{xi}" if len(xshape) == 2 else f"a{xi}.reshape(-1, {xshape[-1]})"
            lines.append(f"    gm = {g2}")
            lines.append(f"    xm = {x2}")
            # eager's subnormal lift (Linear.backward), so gradients stay bit-equal to eager's:
            # bounded by the operands whose gradients it computes (those eager saves)
            lifted = "".join(f"{o}, " for o, needed in ((f"a{wi}", xi in deps), ("xm", wi in deps))
                             if needed)
            lines.append(f"    lift = subnormal_lift(gm, ({lifted}), max(gm.shape)) "
                         f"if gm.dtype is a{xi}.dtype else None" if lifted else "    lift = None")
            lines.append("    gm = gm if lift is None else gm * lift")
            if xi in deps:
                give(xi, f"as_dtype(unlift((gm @ a{wi}).reshape({xshape!r}), lift), "
                         f"a{xi}.dtype)")
            if wi in deps:
                rows = int(np.prod(shape[:-1]))
                # one row: an outer product (NumPy's matmul leaves BLAS for it), the same
                # products as eager's broadcast multiply, made in one BLAS pass
                give(wi, f"as_dtype(unlift({'outer_rows(gm, xm)' if rows == 1 else 'gm.T @ xm'}, "
                         f"lift), a{xi}.dtype)")
            if isinstance(b, Node) and slot(b) in deps:
                give(slot(b), f"as_dtype(unlift(column_sum(gm), lift), a{xi}.dtype)")
        elif target is Relu:
            give(slot(node.args[0]), f"relu_grad({g}, a{i})")
        elif _is_cross_entropy(node):
            give(slot(node.args[0]), f"cross_entropy_backward(a{i}s, {g})")
        elif target in _RESHAPES:
            x = node.args[0]
            give(slot(x), f"{g}.reshape({tuple(x.meta['shape'])!r})")
        elif target in _PERMUTES:
            inverse = tuple(int(d) for d in np.argsort(_arg(node, 1, "dims")))
            give(slot(node.args[0]), f"{g}.transpose({inverse!r})")
        else:  # Add, Mul
            a, b = node.args[0], node.args[1]
            for x, other in ((a, b), (b, a)):
                if not isinstance(x, Node) or slot(x) not in deps:
                    continue
                if target is Add:
                    value = g
                else:
                    factor = f"a{slot(other)}" if isinstance(other, Node) else repr(other)
                    value = f"({g} * {factor})"
                give(slot(x), _unbroadcast(value, shape, x.meta["shape"]))
    for k in src_slots:
        if k not in have:
            lines.append(f"    g{k} = None")
    lines.append(f"    return ({''.join(f'g{k}, ' for k in src_slots)})")
    return lines


def _unbroadcast(value: str, gshape, shape) -> str:
    """The raw path of ``ember._ops._core.unbroadcast``: sum a gradient back to ``shape``."""
    gshape, shape = tuple(gshape), tuple(shape)
    if gshape == shape:
        return value
    ndiff = len(gshape) - len(shape)
    axes = tuple(range(ndiff)) + tuple(
        i + ndiff for i, s in enumerate(shape) if s == 1 and gshape[i + ndiff] != 1)
    arr = f"add_reduce({value}, axis={axes!r}, keepdims=True)" if axes else value
    return f"{arr}.reshape({shape!r})" if ndiff else arr
