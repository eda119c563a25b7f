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
  gradients equal eager's bit for bit. LayerNorm, GELU, attention, embeddings, ``split``,
  convolution, max pooling (with its indices), unpooling, ``matmul`` and softmax run their
  own ``forward`` and first-order ``backward`` on a context made per call (what they keep for
  backward stays theirs). In a training step, the six dropout functions (attention's
  dropout among them) draw eager's masks from the same generator in eager's order, and batch
  norm runs itself under autograd on leaves standing in for its inputs (running statistics
  updated as eager's). Any other op of a training step runs as itself (``_Generic``): an op
  class's own ``forward`` and first-order ``backward`` on a context made per call (``clone``,
  indexing, means, ``masked_fill``, ``tanh``, an LSTM layer ...), a function recorded whole
  (``nll_loss``, ``mse_loss``, label-smoothed cross-entropy ...) under autograd on leaves, and
  values no gradient flows through (a mask compared from a buffer) with nothing recorded.
  ``create_graph=True`` re-runs the graph with ember ops and differentiates that (a double
  backward needs the recorded ops).

A graph with an op that has no lowering (or whose sizes follow the batch, or whose output
is a view of an input or a parameter) is not lowered: it replays as before. (``ember.compile``
makes a graph whose batch size varies static for each batch size it meets, and lowers that.)
Arrays are not preallocated across calls, so a returned tensor never shares memory with the
next call's.
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
from ._ops.nn.conv import Conv
from ._ops.nn.linear_softmax import (
    Attention,
    Embedding,
    Linear,
    LogSoftmax,
    Softmax,
    _as_dtype,
    _column_sum,
    _subnormal_lift,
    _unlift,
)
from ._ops.nn.normalization import NormAffine
from ._ops.nn.pool import MaxPool
from ._ops.nn.pool_adaptive import MaxUnpool
from ._ops.pointwise.abs_round_clamp import Relu, relu_array, relu_grad_array
from ._ops.pointwise.arithmetic import Add, Div, Mul, Neg, Sub
from ._ops.reduction.sums import MeanDim, SumDim
from ._ops.shape.joining import Split
from ._ops.shape.views import Permute, Reshape, SqueezeDim, Transpose, TransposeT, Unsqueeze, View
from ._tensor import Tensor
from .autograd import grad_mode
from .autograd.graph import AccumulateGrad, _class_named, _sequence, edge_of, modified_error
from .autograd.graph import Node as _GraphNode

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
        # the leaves' AccumulateGrad nodes of the latest call: a leaf holds its node only
        # weakly (it is made again once no graph uses it), so without this every step would
        # make each parameter's node anew
        self.accumulators: list = []

    def __call__(self, entry, root, leaves):
        outs, saved, sources = self.forward(root, leaves)
        needs = tuple(t._requires_grad for t in sources)
        node = object.__new__(_COMPILED_NODE)
        edges = node.next_functions = tuple(edge_of(t) if n else _NO_EDGE
                                            for t, n in zip(sources, needs))
        self.accumulators = [e[0] for e in edges if type(e[0]) is AccumulateGrad]
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
                raise modified_error(t, version, ctx)
        for j, box in ctx._output_versions:
            if box[0] != 0:
                shape, dtype, _ = ctx._lowered.out_meta[j]
                fake = Tensor._make(np.empty(shape, dtype.np_dtype), dtype)
                fake.grad_fn, fake._output_nr = ctx, j
                raise modified_error(fake, 0, ctx, box[0])
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


def lower_training(replay, root_reads: bool, input_grads, stateful: bool = False,
                   why: list | None = None):
    """The plan as a generated forward on raw arrays that keeps what its backward needs, and
    that backward (gradients of the inputs, parameters and constants from the outputs'
    gradients), or None when an op has no lowering for training. ``input_grads``: whether
    each input requires grad (part of the guard, so the same on every call). ``stateful``:
    lower dropout and batch norm in training too (masks drawn, running statistics updated in
    the forward), for callers whose node never runs a ``create_graph=True`` backward (which
    re-runs the graph's ops: other masks, statistics updated twice): a whole training
    step's. ``why``: a list that gets the node with no lowering (None for the plan as a
    whole), for the caller's message."""
    from .fx.graph import Node

    node = None
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
        tensors: set = set()  # slots whose Tensor is at hand as t{slot}
        island: dict = {}    # batch norm's slot -> its argument positions given leaves
        generic: dict = {}   # slot -> how an op without a lowering of its own runs (_Generic)
        fwd = ["def forward(root, tensors):"]
        bwd_ops = []         # (slot, node) of differentiable calls, in order
        holder = 0
        for kind, i, node, spec in replay.steps:
            if kind == "placeholder":
                fwd.append(f"    t{i} = tensors[{holder}]  # {node.name}")
                fwd.append(f"    a{i} = t{i}._data")
                tensors.add(i)
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
                tensors.add(i)
                if node.meta.get("dtype") in _FLOATS:
                    sources[i] = len(sources)
                    deps[i] = frozenset((i,))
            elif kind == "alias":
                fwd.append(f"    a{i} = a{spec}  # {node.name}")
                canon[i] = src.canon[i] = canon.get(spec, spec)
            elif kind == "call" and _is_cross_entropy(node) and _common_cross_entropy(node):
                # a training step's loss (ember._compile_train): softmax cross-entropy's
                # forward, keeping the softmax and the target's coefficients for backward
                x, target = _cross_entropy_args(node)
                xi = slot(x)
                ce = src.const(_CrossEntropy(x.meta["dtype"], dict(node.kwargs)))
                ts = slot(target)
                t_expr = f"t{ts}" if ts in tensors else f"make(a{ts}, {src.const(D.int64)})"
                fwd.append(f"    a{i}, a{i}s = {ce}(a{xi}, {t_expr})  # {node.name}")
                if xi in deps:
                    deps[i] = deps[xi]
                    bwd_ops.append((i, node))
                    saved[f"{i}s"] = None
            elif kind == "call" and _is_dropout(node):
                # dropout in training: eager's mask, drawn from the same generator in the
                # same order, kept for backward (its gradient is ``grad * mask``)
                if not stateful:
                    raise _NoLowering
                x = _dropout_input(node)
                xi = slot(x)
                drop = src.const(_Dropout(node.target._fx_name, _arg(node, 1, "p", 0.5),
                                          x.meta["dtype"], len(x.meta["shape"])))
                fwd.append(f"    a{i}, a{i}m = {drop}(a{xi})  # {node.name}")
                if xi in deps:
                    deps[i] = deps[xi]
                    bwd_ops.append((i, node))
                    saved[f"{i}m"] = None
            elif kind == "call" and node.target is _tensor_data():
                # an op's raw-array argument read from a value (embedding's indices)
                value, dt, shape = node.args
                if not isinstance(value, Node) or node.kwargs:
                    raise _NoLowering
                size = int(np.prod(value.meta.get("shape") or ()))
                # (``tensor_data``'s: a mask broadcast to its input's shape broadcast again)
                how = "reshape" if size == int(np.prod(shape)) else "broadcast_to"
                fwd.append(f"    a{i} = {how}(a{slot(value)}.astype({src.const(dt)}, copy=False), "
                           f"{tuple(shape)!r})  # {node.name}")
            elif kind == "call" and node.target is operator.getitem and node.args and \
                    isinstance(node.args[0], Node) and (node.args[0].target in (Split, MaxPool) or
                                                        slot(node.args[0]) in generic):
                # a piece of a split, max pooling's output or indices (return_indices), or an
                # output of another op of several (an LSTM layer's)
                whole, k = node.args
                if type(k) is not int or node.kwargs:
                    raise _NoLowering
                j = slot(whole)
                fwd.append(f"    a{i} = a{j}[{k}]  # {node.name}")
                if j in deps and not (whole.target is MaxPool and k == 1) and \
                        node.meta.get("dtype") in _FLOATS:
                    deps[i] = deps[f"{j}_{k}"] = deps[j]
                    bwd_ops.append((i, node))
            elif kind == "call" and node.target in _RESHAPES + _PERMUTES and \
                    node.meta.get("dtype") not in _FLOATS and \
                    isinstance(node.args[0], Node) and slot(node.args[0]) not in deps:
                # a view of values that take no gradient (a target's reshape): NumPy's view
                if node.kwargs.keys() - {"shape", "dims"} or any(
                        not isinstance(x, Node) and type(x) not in (int, tuple)
                        for x in node.args):
                    raise _NoLowering
                fwd.append(_call_line(src, node, i, {}, rows))
            elif kind == "call" and _is_batch_norm(node):
                # batch norm in training: ``F.batch_norm`` itself on the arrays as tensors
                # (the running statistics updated in place as eager's), recorded by autograd
                # on fresh leaves; its backward is autograd's over that one op
                if not stateful:
                    raise _NoLowering
                _check_batch_norm(node)
                leaves, parts = [], []
                for k, v in enumerate(node.args):
                    if isinstance(v, Node) and k in (0, 3, 4) and slot(v) in deps:
                        parts.append(f"a{i}l{len(leaves)}")
                        fwd.append(f"    a{i}l{len(leaves)} = make(a{slot(v)}, "
                                   f"{src.const(v.meta['dtype'])}, True)")
                        leaves.append(k)
                    elif isinstance(v, Node):
                        parts.append(f"t{slot(v)}" if slot(v) in tensors else
                                     f"make(a{slot(v)}, {src.const(v.meta['dtype'])})")
                    else:
                        parts.append(src.expr(v))
                fwd.append(f"    a{i}o = {src.const(node.target)}({', '.join(parts)})"
                           f"  # {node.name}")
                fwd.append(f"    a{i} = a{i}o._data")
                if leaves:
                    deps[i] = frozenset().union(*(deps[slot(node.args[k])] for k in leaves))
                    bwd_ops.append((i, node))
                    saved[f"{i}o"] = None
                    for n in range(len(leaves)):
                        saved[f"{i}l{n}"] = None
                    checked.update(slot(node.args[k]) for k in (0, 3)
                                   if isinstance(node.args[k], Node))
                    island[i] = leaves
            elif kind == "call" and getattr(node.target, "_fx_name", None) == \
                    "batch_norm_module":
                # a BatchNorm module recorded whole: its own forward (batch count, momentum,
                # running statistics as eager's) on the input and leaves standing in for its
                # weight and bias, recorded by autograd; its backward is autograd's over it
                x = node.args[0] if len(node.args) == 1 else None
                if node.target.module.training and not stateful:
                    raise _NoLowering
                if node.kwargs or not isinstance(x, Node) or \
                        x.meta.get("dtype") not in _FLOATS or \
                        node.meta.get("dtype") is not x.meta["dtype"]:
                    raise _NoLowering
                module_island = _ModuleIsland(node.target)
                params = [f"{i}p{n}" for n in range(len(module_island.names))]
                fwd.append(f"    a{i}o, a{i}l, ({''.join(f't{k}, ' for k in params)}) = "
                           f"{src.const(module_island)}(a{slot(x)}, "
                           f"{src.const(x.meta['dtype'])}, {slot(x) in deps})  # {node.name}")
                fwd.append(f"    a{i} = a{i}o._data")
                for k in params:
                    sources[k] = len(sources)
                    deps[k] = frozenset((k,))
                deps[i] = frozenset(params).union(deps.get(slot(x), frozenset()))
                if deps[i]:
                    bwd_ops.append((i, node))
                    saved[f"{i}o"] = saved[f"{i}l"] = None
                    checked.add(slot(x))
                    island[i] = params
            elif kind == "call" and node.target in _OWN_BACKWARD:
                # the op's own forward and (first-order) backward on its context: LayerNorm's
                # statistics, GELU's cdf and pdf stay where its backward reads them
                target = node.target
                _check_own_backward(node)
                inputs = [slot(x) for x in node.args if isinstance(x, Node)]
                # inputs as tensors (a computed value wrapped, requiring grad where it
                # depends on a source, as eager's: layer norm then keeps xhat apart from
                # its output)
                wrapped = ", ".join(
                    (f"t{slot(x)}" if slot(x) in tensors else
                     f"make(a{slot(x)}, {src.const(x.meta['dtype'])}, {slot(x) in deps})")
                    if isinstance(x, Node) else src.expr(x) for x in node.args)
                arrays = ", ".join(src.expr(x) for x in node.args)
                kw = "".join(f", {k}={src.expr(v)}" for k, v in node.kwargs.items())
                fwd.append(f"    a{i}c = op_context({src.const(target)}, ({wrapped},))")
                fwd.append(f"    a{i} = {src.const(target.forward)}(a{i}c, {arrays}{kw})"
                           f"  # {node.name}")
                if target.save_output:  # as Op.apply keeps it (softmax's backward reads it)
                    fwd.append(f"    a{i}c._saved_output = (a{i}, [0], 0, "
                               f"{src.const(node.meta['dtype'])}, False)")
                d = frozenset().union(*(deps.get(j, frozenset()) for j in inputs))
                if d:
                    deps[i] = d
                    bwd_ops.append((i, node))
                    saved[f"{i}c"] = None
                    checked.update(slot(x) for x in node.args[:_OWN_BACKWARD[target]]
                                   if isinstance(x, Node))
            elif kind == "call" and not _plain_trainable(node):
                # any other op: its own forward and backward (an op class), or the function
                # recorded whole run by autograd on leaves (a loss) (see _Generic)
                if not stateful:
                    raise _NoLowering
                way = _Generic(node, [slot(x) for x in node.all_input_nodes], deps, tensors,
                               src)
                fwd.extend(way.forward_lines(i))
                if way.deps:
                    deps[i] = way.deps
                    bwd_ops.append((i, node))
                    generic[i] = way
                    saved.update(dict.fromkeys(way.saved(i)))
                    if way.is_op and node.target.is_view:
                        first = slot(node.args[0])
                        memory[i] = memory.get(first, first)
                elif way.multi:
                    generic[i] = way  # (its pieces are read by getitem)
            elif kind == "call":
                target = node.target
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
        bwd = _backward_lines(bwd_ops, saved, out_slots, src_slots, deps, slot, island,
                              generic)
    except _NoLowering:
        if why is not None:
            why.append(node if node is not None and node.op == "call_function" else None)
        return None
    namespace, fsource = src.build(fwd, {"read": replay._read, "make": Tensor._make,
                                         "op_context": _op_context, "asarray": np.asarray,
                                         "reshape": np.reshape, "broadcast_to": np.broadcast_to,
                                         "elementwise_layout": _elementwise_layout,
                                         **_KERNELS})
    bnamespace, bsource = _Source(replay, str).build(bwd, {
        "as_dtype": _as_dtype, "column_sum": _column_sum, "relu_grad": relu_grad_array,
        "subnormal_lift": _subnormal_lift, "unlift": _unlift, "outer_rows": _outer_rows,
        "add_reduce": np.add.reduce, "cross_entropy_backward": _cross_entropy_backward,
        "op_backward": _op_backward, "float32": D.float32, "float64": D.float64,
        "island_backward": _island_backward, "generic_backward": _generic_backward})
    forward, backward = namespace["forward"], bnamespace["backward"]
    forward.source, backward.source = fsource, bsource
    out_meta = [(n.meta["shape"], n.meta["dtype"], None) for n in outs]
    out_deps = [tuple(sources[s] for s in deps.get(k, ())) for k in out_slots]
    order = {n: _Out(j) for j, n in enumerate(outs)}
    from .fx.graph import map_nodes

    return _Training(forward, backward, out_meta, out_deps,
                     map_nodes(structure, order.__getitem__), checked_sources, checked_outputs)


def _plain_trainable(node) -> bool:
    """Whether the node is one of ``_TRAINABLE`` in the form its written-out lowering takes
    (float, positional numbers, an add without a scale)."""
    from .fx.graph import Node

    target = node.target
    if target not in _TRAINABLE or node.meta.get("dtype") not in _FLOATS:
        return False
    keys = {"shape", "dims", "alpha"} if target is Add else {"shape", "dims"}
    if target is Add and _arg(node, 2, "alpha", 1) != 1:
        return False
    return not node.kwargs.keys() - keys and all(
        isinstance(x, Node) or type(x) in (int, float, tuple) for x in node.args)


class _Generic:
    """How a training step's op with no lowering of its own runs in the lowered forward:

    * no gradient flows through it (a mask compared from a buffer, a target cast to float):
      the op itself, nothing recorded (an op class's ``forward`` on the arrays, a function
      recorded whole called on tensors);
    * an op class (``Clone``, ``BasicIndex``, ``MeanDim``, ``MaskedFill``, ``Tanh``, an LSTM
      layer ...): its own ``forward`` on a context made per call and, in the backward, its own
      first-order ``backward`` on that context (what ``Op.apply`` and the engine run);
    * a function recorded whole (``nll_loss``, ``mse_loss``, label-smoothed
      ``cross_entropy`` ...): called on leaves standing in for its inputs, recorded by
      autograd; its backward is the engine's over that call (as batch norm's).

    The numbers are eager's: the same code on the same arrays."""

    def __init__(self, node, input_slots, deps, tensors, src):
        from .fx.graph import Node

        target = node.target
        self.node, self.src, self.tensors = node, src, tensors
        self.is_op = isinstance(target, type) and issubclass(target, _core.Op)
        dtype = node.meta.get("dtype")
        self.multi = len(dtype) if type(dtype) is tuple else 0
        self.slots = dict(zip(node.all_input_nodes, input_slots))
        top = [x for x in list(node.args) + list(node.kwargs.values()) if isinstance(x, Node)]
        if set(top) != set(self.slots) or not callable(target) or \
                any(not k.isidentifier() for k in node.kwargs):
            raise _NoLowering  # (a value nested in a list: not handled)
        if any(x.meta.get("dtype") in (D.float16, D.bfloat16) for x in top) or \
                not (self.is_op or isinstance(dtype, D.dtype)):
            # (2-byte floats: eager computes in float32 first; a function's result that is
            # not one tensor)
            raise _NoLowering
        # eager's Op.apply records only the positional tensors as the op's inputs
        # (a comparison's or another integer result takes no gradient)
        dtypes = dtype if self.multi else (dtype,)
        self.grad_inputs = [x for x in (node.args if self.is_op else top)
                            if isinstance(x, Node) and self.slots[x] in deps] \
            if any(dt in _FLOATS for dt in dtypes) else []
        self.deps = frozenset().union(*(deps[self.slots[x]] for x in self.grad_inputs))
        self.needs_of = deps
        if not self.deps:
            if self.multi and not self.is_op:
                raise _NoLowering
            return
        if dtypes[0] not in _FLOATS or \
                any(x.meta.get("dtype") not in _FLOATS for x in self.grad_inputs):
            raise _NoLowering
        if not self.is_op and (self.multi or _is_batch_norm(node) or _is_dropout(node)):
            raise _NoLowering  # (a random or stateful function recorded whole: not re-run)

    def _tensor(self, x, leaf=None) -> str:
        s = self.slots[x]
        if leaf is not None:
            return leaf
        if s in self.tensors:
            return f"t{s}"
        if x.target is _tensor_data():  # a raw array argument stays one
            return f"a{s}"
        return f"make(a{s}, {self.src.const(x.meta['dtype'])}, {s in self.needs_of})"

    def _value(self, v, as_tensor, leaves=None) -> str:
        from .fx.graph import Node

        if not isinstance(v, Node):
            return self.src.expr(v)
        if as_tensor:
            return self._tensor(v, (leaves or {}).get(v))
        return f"a{self.slots[v]}"

    def forward_lines(self, i) -> list:
        node, src = self.node, self.src
        target = node.target
        lines = []
        if self.is_op:
            wrapped = "".join(f"{self._value(x, True)}, " for x in node.args)
            arrays = ", ".join(self._value(x, False) for x in node.args)
            kw = "".join(f", {k}={self._value(v, False)}" for k, v in node.kwargs.items())
            lines.append(f"    a{i}c = op_context({src.const(target)}, ({wrapped}))")
            lines.append(f"    a{i} = {src.const(target.forward)}(a{i}c, {arrays}{kw})"
                         f"  # {node.name}")
            if target.elementwise:  # Op.apply's layout of an op on strided operands
                lines.append(f"    a{i} = elementwise_layout(a{i}, ({arrays},))")
            if not self.multi and node.meta.get("shape") == ():
                lines.append(f"    a{i} = asarray(a{i})")
            if target.save_output and self.deps:  # as Op.apply keeps it
                lines.append(f"    a{i}c._saved_output = (a{i}, [0], 0, "
                             f"{src.const(node.meta['dtype'])}, False)")
            return lines
        leaves = {}
        for n, x in enumerate(self.grad_inputs):
            leaves[x] = f"a{i}l{n}"
            lines.append(f"    a{i}l{n} = make(a{self.slots[x]}, "
                         f"{src.const(x.meta['dtype'])}, True)")
        args = ", ".join(self._value(x, True, leaves) for x in node.args)
        kw = "".join(f", {k}={self._value(v, True, leaves)}" for k, v in node.kwargs.items())
        lines.append(f"    a{i}o = {src.const(target)}({args}{kw})  # {node.name}")
        lines.append(f"    a{i} = a{i}o._data")
        return lines

    def saved(self, i) -> list:
        if self.is_op:
            return [f"{i}c"]
        return [f"{i}o"] + [f"{i}l{n}" for n in range(len(self.grad_inputs))]

    def backward_call(self, i, grads) -> str:
        """The backward's call giving the gradients of ``grad_inputs``, in order."""
        from .fx.graph import Node

        node = self.node
        if not self.is_op:
            leaves = "".join(f"a{i}l{n}, " for n in range(len(self.grad_inputs)))
            return f"island_backward(a{i}o, ({leaves}), {grads}[0])"
        needs = tuple(isinstance(x, Node) and x in self.grad_inputs for x in node.args)
        picks = tuple(k for k, need in enumerate(needs) if need)
        shapes = node.meta["shape"] if self.multi else (node.meta["shape"],)
        dtypes = node.meta["dtype"] if self.multi else (node.meta["dtype"],)
        # (the backward's own names for float dtypes; None for another output's)
        metas = "".join(f"({tuple(sh)!r}, {_dtype_name(dt) if dt in _FLOATS else None}), "
                        for sh, dt in zip(shapes, dtypes))
        return f"generic_backward(a{i}c, {grads}, ({metas}), {needs!r}, {picks!r})"


def _generic_backward(ctx, grads, metas, needs, picks):
    """An op's own first-order backward as the engine runs it (grad mode off): the outputs'
    gradient arrays (None for one that got none: zeros where the op materializes them), the
    gradient arrays of the inputs at ``picks``."""
    if all(g is None for g in grads):
        return [None] * len(picks)
    if len(grads) > 1 and ctx.materialize_grads:
        grads = [np.zeros(shape, dt.np_dtype) if g is None and dt is not None else g
                 for g, (shape, dt) in zip(grads, metas)]
    ctx.needs_input_grad = needs
    enabled = _state.enabled
    _state.enabled = False
    try:
        result = ctx._op_class.backward(ctx, *(None if g is None else Tensor._make(g, m[1])
                                               for g, m in zip(grads, metas)))
    finally:
        _state.enabled = enabled
    if type(result) is not tuple:
        result = (result,)
    return [None if k >= len(result) or result[k] is None else result[k]._data for k in picks]


def _elementwise_layout(out, arrays):
    """``Op.apply``'s layout of an elementwise op's output (see ``_layout.follow_operands``)."""
    from ._layout import any_strided, follow_operands

    first = arrays[0]
    if type(first) is np.ndarray and not first.flags.c_contiguous and len(arrays) > 1 or \
            len(arrays) > 2 and any_strided(arrays):
        return follow_operands(out, arrays)
    return out


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
            target.op == "get_attr":
        raise _NoLowering
    return x, target


def _common_cross_entropy(node) -> bool:
    """Whether ``_CrossEntropy`` computes the node (else it runs as ``_Generic``'s)."""
    try:
        _cross_entropy_args(node)
    except _NoLowering:
        return False
    return True


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


# ops whose training lowering runs their own ``forward`` and first-order ``backward`` on a
# context made per call (``_op_context``, ``_op_backward``): op -> how many of its first
# inputs it saves (their versions are checked as eager's saved tensors are)
_OWN_BACKWARD = {NormAffine: 2, Gelu: 1, Attention: 3, Embedding: 0, Split: 0, Conv: 2,
                 MaxPool: 1, Matmul: 2, Softmax: 0, MaxUnpool: 0}


def _tensor_data():
    from .fx.capture import tensor_data

    return tensor_data


def _check_own_backward(node) -> None:
    """``_NoLowering`` unless the node is a float op of ``_OWN_BACKWARD`` in its plain form
    (layer norm: statistics of the batch, none kept for running averages)."""
    from .fx.graph import Node

    first = node.args[0] if node.args else None
    if not isinstance(first, Node) or first.meta.get("dtype") not in _FLOATS or \
            not first.meta.get("shape") or any(not k.isidentifier() for k in node.kwargs):
        raise _NoLowering
    if node.target is Matmul and not node.meta.get("shape"):
        raise _NoLowering  # (NumPy gives a scalar for a 0-d product)
    indices = node.target is MaxPool and _arg(node, 6, "want_indices", False)
    if node.target is not Split and not indices and \
            node.meta.get("dtype") is not first.meta["dtype"]:
        raise _NoLowering
    for k, x in enumerate(node.args):
        if node.target is MaxUnpool and k == 1:
            # indices made by max pooling in the graph (valid by construction: eager's
            # range check is not repeated)
            if not (isinstance(x, Node) and x.target is operator.getitem and x.args[1] == 1 and
                    getattr(x.args[0], "target", None) is MaxPool):
                raise _NoLowering
        elif isinstance(x, Node):
            if x.meta.get("dtype") is not first.meta["dtype"]:
                raise _NoLowering
        elif x is not None and type(x) not in (bool, int, float, tuple):
            raise _NoLowering
    if node.target is Embedding and (_arg(node, 4, "sparse", False) or len(node.args) > 1):
        raise _NoLowering  # (a sparse gradient is not an array)
    if node.target is NormAffine and (
            _arg(node, 6, "fixed") is not None or _arg(node, 7, "stats") is not None or
            len(node.args) > 6):
        raise _NoLowering


def _op_context(target, inputs):
    """A context for ``target.forward`` as ``Op.apply`` makes it while recording: the
    inputs as tensors, saved with ``save_for_backward`` (fresh wrappers: no version moves)."""
    ctx = object.__new__(target._node_cls)
    ctx.inputs = inputs
    return ctx


def _op_backward(ctx, grads, dtype, needs):
    """The op's own first-order backward (as the engine runs it: grad mode off) on the
    outputs' gradient arrays (None for an output of several that got none, as the engine
    passes to ``Split``): one gradient array (or None) per input."""
    ctx.needs_input_grad = needs
    backward = ctx._op_class.backward
    enabled = _state.enabled
    _state.enabled = False
    try:
        result = backward(ctx, *(None if g is None else Tensor._make(g, dtype) for g in grads))
    finally:
        _state.enabled = enabled
    if type(result) is not tuple:
        result = (result,)
    return [None if r is None else r._data for r in result]


def _is_batch_norm(node) -> bool:
    return getattr(node.target, "_fx_name", None) == "batch_norm"


def _check_batch_norm(node) -> None:
    """``_NoLowering`` unless the node is ``batch_norm(x, running_mean, running_var, weight,
    bias, training=True, momentum, eps)`` on a float input, all positional, with a float
    momentum (None, a cumulative average, reads a count the graph does not hold)."""
    from .fx.graph import Node

    args = node.args
    if node.kwargs or len(args) != 8 or args[5] is not True or type(args[6]) is not float or \
            type(args[7]) is not float or not isinstance(args[0], Node) or \
            args[0].meta.get("dtype") not in _FLOATS or \
            node.meta.get("dtype") is not args[0].meta["dtype"]:
        raise _NoLowering
    for v in args[1:5]:
        if v is not None and not (isinstance(v, Node) and v.meta.get("dtype") in _FLOATS):
            raise _NoLowering


def _island_backward(out, leaves, g):
    """Gradients of the leaves of an op run by autograd in the forward (batch norm), from
    its output's gradient: the engine's own backward (grad mode off inside), the recorded
    op kept for another backward of the graph. None for a leaf that needs none."""
    from .autograd import grad as autograd_grad

    wanted = [t for t in leaves if t._requires_grad]
    got = iter(autograd_grad([out], wanted, [Tensor._make(g, out._dtype)], retain_graph=True,
                             allow_unused=True) if wanted else ())
    result = []
    for t in leaves:
        r = next(got) if t._requires_grad else None
        result.append(None if r is None else r._data)
    return result


class _ModuleIsland:
    """A module recorded whole (``batch_norm_module``) run by autograd inside a lowered
    forward: its weight and bias give way, for the call, to leaves on the same arrays (so the
    recorded op's edges end at them, not at the parameters), and the parameters themselves
    are returned as the graph's sources."""

    def __init__(self, call):
        self.call, self.module = call, call.module
        self.names = [n for n in ("weight", "bias")
                      if self.module._parameters.get(n) is not None]

    def __call__(self, x, dtype, need_x):
        params = self.module._parameters
        real = tuple(params[n] for n in self.names)
        leaves = [Tensor._make(x, dtype, need_x)]
        leaves += [Tensor._make(p._data, p._dtype, p._requires_grad) for p in real]
        for n, t in zip(self.names, leaves[1:]):
            params[n] = t
        try:
            out = self.call(leaves[0])
        finally:
            for n, p in zip(self.names, real):
                params[n] = p
        return out, leaves, real


# the dropout functions a training step lowers (``ember.fx.capture`` records each whole) ->
# the default of their ``training`` argument
_DROPOUT_TRAINING = {"dropout": True, "dropout1d": True, "dropout2d": True, "dropout3d": True,
                     "alpha_dropout": False, "feature_alpha_dropout": False}


def _is_dropout(node) -> bool:
    return getattr(node.target, "_fx_name", None) in _DROPOUT_TRAINING


def _dropout_input(node):
    """The input node of a dropout node that the lowering handles (float input, ``0 < p <
    1``, training, not in place, a rank its function takes without a warning), else
    ``_NoLowering``. (p=0 or eval never reach here: the replay's plan makes them an alias of
    the input.)"""
    from .fx.graph import Node

    name = node.target._fx_name
    x = node.args[0] if node.args else None
    p = _arg(node, 1, "p", 0.5)
    if node.kwargs.keys() - {"p", "training", "inplace"} or len(node.args) > 4 or \
            not isinstance(x, Node) or x.meta.get("dtype") not in _FLOATS or \
            node.meta.get("dtype") is not x.meta.get("dtype") or \
            type(p) not in (float, int) or not 0 < p < 1 or \
            _arg(node, 2, "training", _DROPOUT_TRAINING[name]) is not True or \
            _arg(node, 3, "inplace", False):
        raise _NoLowering
    shape = tuple(x.meta.get("shape") or ())
    ranks = {"dropout1d": (2, 3), "dropout2d": (4,), "dropout3d": (4, 5)}
    if shape.count(0) or len(shape) not in ranks.get(name, range(len(shape) + 1)) or \
            (name == "feature_alpha_dropout" and len(shape) < 2):
        raise _NoLowering  # (no elements: the input itself; other ranks warn or raise)
    return x


class _Dropout:
    """One dropout node's forward in training, as its function (``ember.nn.functional``)
    computes it: the keep mask drawn by ``_keep_mask`` from the global generator (so eager's
    numbers, in eager's order), of the input's shape or, for the feature (channel) dropouts,
    ``(N, C, 1, ...)`` (an input without its batch axis gets one, as eager's unsqueeze), scaled
    in the input's dtype; alpha dropout's affine form ``x * a + b``. Returns the output and the
    factor its gradient is multiplied by (``grad * factor``: MulBackward0's)."""

    def __init__(self, name, p, dtype, ndim):
        from .nn import _functional_dropout as fd

        self.p, self.dtype = p, dtype
        self.keep_mask, self.layout, self.alpha_p = fd._keep_mask, fd._mask_layout, fd._ALPHA_P
        self.alpha = name in ("alpha_dropout", "feature_alpha_dropout")
        self.feature = name not in ("dropout", "alpha_dropout")
        self.unbatched = (name, ndim) in (("dropout1d", 2), ("dropout3d", 4))

    def __call__(self, x):
        dt, p = x.dtype, self.p
        if self.unbatched:
            x = x[None]
        t = Tensor._make(x, self.dtype)
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if self.feature else x.shape
        keep = self.keep_mask(t, p, shape)
        if self.alpha:  # _alpha_drop's arithmetic, expression for expression
            keep = keep.astype(dt)
            alpha_p = self.alpha_p
            a = 1.0 / np.sqrt((alpha_p ** 2 * p + 1) * (1 - p))
            b = -alpha_p * a * p
            factor = self.layout((keep * a).astype(dt), t)
            out = x * factor + self.layout(((1 - keep) * (alpha_p * a) + b).astype(dt), t)
        else:
            factor = self.layout(keep.astype(dt) / dt.type(1.0 - p), t)
            out = x * factor
        if self.unbatched:  # eager's squeeze(0); the factor broadcasts over the input as is
            out, factor = out[0], factor[0]
        return out, factor


def _outer_rows(g, x):
    """``g.T * x`` for one-row ``g`` (1, m) and ``x`` (1, n): a weight's gradient at batch 1.
    Every element is one product, so BLAS's rank-one update (``ember._blas.outer``) gives
    eager's broadcast multiply bit for bit, in one pass instead of one loop per row."""
    out = outer(g.reshape(-1), x.reshape(-1))
    return g.T * x if out is None else out


def _backward_lines(ops, saved, out_slots, src_slots, deps, slot, island=None,
                    generic=None) -> list:
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
        target = node.target
        if generic and i in generic:
            way = generic[i]
            if way.multi:  # its outputs' gradients arrive as g{i}_{k} (their getitems)
                if not any(f"{i}_{k}" in have for k in range(way.multi)):
                    continue
                grads = "".join(f"g{i}_{k}, " if f"{i}_{k}" in have else "None, "
                                for k in range(way.multi))
            elif i not in have:
                continue
            else:
                grads = f"g{i}, "
            lines.append(f"    r{i} = {way.backward_call(i, f'({grads})')}")
            for n, x in enumerate(way.grad_inputs):
                give(slot(x), f"r{i}[{n}]")
            continue
        if target is Split:  # its outputs' gradients arrive as g{i}_{k} (their getitems)
            pieces = len(_arg(node, 2, "sizes"))
            if not any(f"{i}_{k}" in have for k in range(pieces)):
                continue
            grads = "".join(f"g{i}_{k}, " if f"{i}_{k}" in have else "None, "
                            for k in range(pieces))
            dtype = _dtype_name(node.args[0].meta["dtype"])
            lines.append(f"    r{i} = op_backward(a{i}c, ({grads}), {dtype}, (True,))")
            give(slot(node.args[0]), f"r{i}[0]")
            continue
        if target is MaxPool and _arg(node, 6, "want_indices", False):
            # (output, indices): the output's gradient arrives as g{i}_0, its getitem's
            if f"{i}_0" not in have:
                continue
            needs = (True,) + (False,) * (len(node.args) - 1)
            dtype = _dtype_name(node.args[0].meta["dtype"])
            lines.append(f"    r{i} = op_backward(a{i}c, (g{i}_0, None), {dtype}, {needs!r})")
            give(slot(node.args[0]), f"r{i}[0]")
            continue
        if i not in have:
            continue
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
        elif _is_dropout(node):
            give(slot(node.args[0]), f"({g} * a{i}m)")  # MulBackward0's grad * mask
        elif _is_batch_norm(node):
            leaves = island[i]
            names = "".join(f"a{i}l{n}, " for n in range(len(leaves)))
            lines.append(f"    r{i} = island_backward(a{i}o, ({names}), {g})")
            for n, k in enumerate(leaves):
                give(slot(node.args[k]), f"r{i}[{n}]")
        elif getattr(target, "_fx_name", None) == "batch_norm_module":
            lines.append(f"    r{i} = island_backward(a{i}o, a{i}l, {g})")
            give(slot(node.args[0]), f"r{i}[0]")
            for n, k in enumerate(island[i]):
                give(k, f"r{i}[{n + 1}]")
        elif target is operator.getitem:  # a piece of a Split
            give(f"{slot(node.args[0])}_{node.args[1]}", g)
        elif target in _OWN_BACKWARD:
            needs = tuple(isinstance(x, Node) and slot(x) in deps for x in node.args)
            dtype = _dtype_name(node.meta["dtype"])
            lines.append(f"    r{i} = op_backward(a{i}c, ({g},), {dtype}, {needs!r})")
            for k, x in enumerate(node.args):
                if needs[k]:
                    give(slot(x), f"r{i}[{k}]")
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


def _dtype_name(dtype) -> str:
    """The generated backward's name for a float dtype (see ``lower_training``)."""
    return "float32" if dtype is D.float32 else "float64"


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
