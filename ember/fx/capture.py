"""Capture: run a module or function once on example inputs and record the ops it applies.

Every built-in op is an ``Op`` class whose ``apply`` is the one way it runs, so the recorder
sits there (``ember._ops._core.set_capture`` swaps ``Op.apply`` for the duration of a capture;
outside a capture the plain path carries no check at all). The few public functions that work
on tensors without an ``Op`` class (comparisons, logical and bitwise ops, argmax/argmin) are
wrapped for the duration of the capture too.

What a tracer cannot see is refused rather than baked in: ``.item()``, ``bool()``, ``int()``,
``float()``, ``.tolist()`` and ``.numpy()`` on a value that depends on an input, called from
user code, raise :class:`GraphBreak` naming the user's line.
"""

from __future__ import annotations

import inspect
import operator
import os
import sys
import threading

import numpy as np

from .._tensor import Tensor
from .graph import Graph, Node

__all__ = ["capture", "GraphBreak", "CaptureError"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_active = threading.local()


class GraphBreak(RuntimeError):
    """Python control flow that depends on a traced value (``if x.sum() > 0:``,
    ``x.item()``, ``x.tolist()``, ``x.numpy()``): a graph cannot hold it.

    Attributes:
        method: what was called (``"Tensor.item()"``, ``"bool(Tensor)"`` ...).
        source: ``file:line`` of the user code that called it.

    Example:
        >>> try:
        ...     ember.fx.capture(lambda x: x.sum().item(), ember.randn(3))
        ... except ember.fx.GraphBreak as err:
        ...     print(err.method)
        Tensor.item()
    """

    def __init__(self, method: str, source: str, code: str = "", reason: str = ""):
        self.method, self.source, self.code = method, source, code
        where = f"{source}: {code}" if code else source
        super().__init__(
            f"{method} ({where}): {reason}" if reason else
            f"{method} on a value computed from the model's inputs ({where}): the captured "
            "graph cannot depend on a tensor's values through Python. Compute with tensor ops "
            "instead (ember.where(cond, a, b), masks, clamp), or move the data-dependent step "
            "outside the traced function.")


class CaptureError(RuntimeError):
    """The recorder met something it cannot express in a graph: an in-place change it could
    not see (NumPy writing into a tensor outside any op), or a capture inside a capture.

    Example:
        >>> issubclass(ember.fx.CaptureError, RuntimeError)
        True
    """


def _user_frame(depth: int = 2):
    """The first frame outside ember's package (``depth`` frames up to start), or None."""
    frame = sys._getframe(depth)
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_EMBER_DIR):
            return frame
        frame = frame.f_back
    return None


def _where(frame) -> tuple:
    if frame is None:
        return "<unknown>", ""
    import linecache

    fname, line = frame.f_code.co_filename, frame.f_lineno
    return f"{fname}:{line}", linecache.getline(fname, line).strip()


def _tensor_leaves(value, path, out):
    """Flatten ``value``'s tensors (tuples, lists, dicts nested) as ``(path, tensor)``."""
    if isinstance(value, Tensor):
        out.append((path, value))
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            _tensor_leaves(v, f"{path}_{i}", out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _tensor_leaves(v, f"{path}_{k}", out)


def _replace_leaves(value, mapping):
    if isinstance(value, Tensor):
        return mapping.get(id(value), value)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_replace_leaves(v, mapping) for v in value)
    if isinstance(value, list):
        return [_replace_leaves(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _replace_leaves(v, mapping) for k, v in value.items()}
    return value


def _input_names(fn, nargs: int, kwargs) -> list:
    """Names for the positional arguments from ``fn``'s (or ``fn.forward``'s) signature."""
    target = getattr(fn, "forward", fn)
    names = []
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params]
    except (TypeError, ValueError):
        pass
    return [names[i] if i < len(names) else f"arg{i}" for i in range(nargs)]


class _Entry:
    __slots__ = ("tensor", "node", "version")

    def __init__(self, tensor, node, version):
        self.tensor, self.node, self.version = tensor, node, version


def tensor_data(tensor, dtype, shape):
    """The raw array an op received in place of a tensor (batch norm's running statistics):
    ``tensor``'s data cast to ``dtype`` and reshaped to ``shape``, read at replay time (a
    mask broadcast to its input's shape, as ``masked_fill``'s, broadcast again)."""
    arr = tensor._data.astype(dtype, copy=False)
    if arr.size != int(np.prod(shape)):
        return np.broadcast_to(arr, shape)
    return arr.reshape(shape)


class _Recorder:
    """The capture's state: the graph, which tensor is which node, the module stack."""

    def __init__(self, graph: Graph, mode: str):
        self.graph = graph
        self.mode = mode
        self.thread = threading.get_ident()
        self.depth = 0
        self.env: dict = {}           # id(tensor) -> _Entry
        self.attr_ids: dict = {}      # id(tensor) -> dotted name (parameters, buffers)
        self.attr_nodes: dict = {}    # dotted name -> get_attr node
        self.data_owner: dict = {}    # id(raw array) -> tensor that holds it
        self.by_ctx: dict = {}        # id(grad_fn) -> (node, output index)
        self.getitems: dict = {}      # (node, i) -> getitem node
        self.module_stack: list = [("", "")]
        self.n_constants = 0
        self.keep: list = []          # tensors referenced by id: kept alive for the capture
        # where user code cut or replaced gradients (a detach(), a custom autograd.Function):
        # the graph replays the values right, but not those gradients (see note_gradient_cut)
        self.gradient_cuts: list = []

    def note_gradient_cut(self, what: str) -> None:
        """Record that user code changed gradients where the graph cannot show it: values
        replay right, gradients through the graph would not (``ember.compile`` then runs
        eagerly when gradients are needed)."""
        caller = sys._getframe(2)  # who called detach() or apply(): ember's own code cuts right
        if not caller.f_code.co_filename.startswith(_EMBER_DIR):
            self.gradient_cuts.append((what,) + _where(caller))

    # -- op application ---------------------------------------------------------------------
    def __call__(self, cls, inputs, kwargs, plain):
        if self.depth or threading.get_ident() != self.thread:
            return plain(cls, *inputs, **kwargs)
        self.depth += 1
        try:
            # dict arguments an op fills in (batch norm's ``stats``) are recorded as they came
            before = {k: dict(v) if type(v) is dict else v for k, v in kwargs.items()} \
                if kwargs else kwargs
            out = plain(cls, *inputs, **kwargs)
            self.record(cls, inputs, before, out)
        finally:
            self.depth -= 1
        return out

    def call_function(self, fn, args, kwargs, target):
        """Run a function that has no Op class (a comparison, say) and record it whole as
        ``target`` (a callable that runs ``fn``)."""
        if self.depth or threading.get_ident() != self.thread:
            return fn(*args, **kwargs)
        self.depth += 1
        try:
            out = fn(*args, **kwargs)
            if isinstance(out, Tensor) or (isinstance(out, tuple) and out
                                          and all(isinstance(o, Tensor) for o in out)):
                self.record(target, args, kwargs, out)
        finally:
            self.depth -= 1
        return out

    def record(self, target, inputs, kwargs, out):
        args = tuple(self.arg(x) for x in inputs)
        kw = {k: self.arg(v) for k, v in kwargs.items()}
        traced = any(n.meta.get("traced") for n in _nodes_in((args, kw)))
        path, mtype = self.module_stack[-1]
        frame = _user_frame(3)
        source = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
        meta = {"traced": traced, "module_path": path, "module_type": mtype, "source": source}
        if isinstance(out, Tensor):
            meta.update(shape=tuple(out._data.shape), dtype=out._dtype)
        elif isinstance(out, tuple):
            meta["num_outputs"] = len(out)
            meta["shape"] = tuple(tuple(o._data.shape) if isinstance(o, Tensor) else None
                                  for o in out)
            meta["dtype"] = tuple(o._dtype if isinstance(o, Tensor) else None for o in out)
        node = self.graph.call_function(target, args, kw, meta=meta)
        if isinstance(out, Tensor):
            self.bind(out, node)
        elif isinstance(out, tuple):
            for i, o in enumerate(out):
                if isinstance(o, Tensor):
                    self.bind(o, (node, i))

    def bind(self, t: Tensor, ref) -> None:
        self.env[id(t)] = _Entry(t, ref, t._vbox[0])
        self.keep.append(t)
        self.data_owner[id(t._data)] = t
        fn = t.grad_fn
        if fn is not None:
            self.by_ctx[(id(fn), t._output_nr)] = ref
            self.keep.append(fn)

    # -- arguments -----------------------------------------------------------------------------
    def node_of(self, ref) -> Node:
        if isinstance(ref, Node):
            return ref
        node, i = ref
        got = self.getitems.get(ref)
        if got is None:
            meta = {"traced": node.meta.get("traced"), "shape": node.meta["shape"][i],
                    "dtype": node.meta["dtype"][i],
                    "module_path": node.meta.get("module_path", ""),
                    "module_type": node.meta.get("module_type", ""),
                    "source": node.meta.get("source", "")}
            got = self.graph.call_function(operator.getitem, (node, i), meta=meta)
            self.getitems[ref] = got
        return got

    def arg(self, x):
        if isinstance(x, Tensor):
            return self.tensor_arg(x)
        if isinstance(x, np.ndarray):
            return self.array_arg(x)
        if isinstance(x, tuple) and not hasattr(x, "_fields"):
            return tuple(self.arg(v) for v in x)
        if isinstance(x, list):
            return [self.arg(v) for v in x]
        if isinstance(x, dict):
            return {k: self.arg(v) for k, v in x.items()}
        return x

    def tensor_arg(self, t: Tensor) -> Node:
        entry = self.env.get(id(t))
        if entry is not None and entry.tensor is t:
            if t._vbox[0] == entry.version:
                return self.node_of(entry.node)
            return self.node_of(self.after_inplace(t, entry))
        name = self.attr_ids.get(id(t))
        if name is not None:
            node = self.attr_nodes.get(name)
            if node is None:
                node = self.graph.get_attr(name, t, meta={
                    "shape": tuple(t._data.shape), "dtype": t._dtype, "traced": False})
                self.attr_nodes[name] = node
                self.data_owner[id(t._data)] = t
            return node
        # a tensor made outside any recorded op: a constant of the graph. compile keeps the
        # tensor itself (a parameter or buffer a function reads from its closure stays live);
        # export and trace keep a copy of its value
        name = f"_tensor_constant{self.n_constants}"
        self.n_constants += 1
        const = t if self.mode == "compile" else \
            Tensor._make(t._data.copy(), t._dtype)  # the array's own copy: CuPy too
        node = self.graph.get_attr(name, const, meta={
            "shape": tuple(t._data.shape), "dtype": t._dtype, "traced": False,
            "constant": True})
        self.bind(t, node)
        self.keep.append(t)
        return node

    def after_inplace(self, t: Tensor, entry: _Entry):
        """``t`` changed in place since it was recorded: find the recorded op whose result it
        now holds (its autograd node, else an equal value recorded later)."""
        fn = t.grad_fn
        ref = self.by_ctx.get((id(fn), t._output_nr)) if fn is not None else None
        if ref is None:
            ref = self.match_value(t, entry)
        if ref is None:
            frame = _user_frame(4)
            source, code = _where(frame)
            raise CaptureError(
                f"a tensor was changed in place by an operation the recorder cannot see "
                f"({source}: {code}). Use the out-of-place form (x = x + y rather than "
                "x += y) inside traced code.")
        self.env[id(t)] = _Entry(t, ref, t._vbox[0])
        return ref

    def match_value(self, t: Tensor, entry: _Entry):
        nodes = self.graph.nodes
        start = nodes.index(self.node_of(entry.node)) if entry.node is not None else 0
        data = t._data
        for node in reversed(nodes[start + 1:]):
            if node.op != "call_function" or node.meta.get("shape") != data.shape \
                    or node.meta.get("dtype") is not t._dtype:
                continue
            for other in self.env.values():
                if other.node is node and other.tensor is not t and \
                        np.array_equal(other.tensor._data, data, equal_nan=data.dtype.kind in "fc"):
                    return node
        return None

    def array_arg(self, arr: np.ndarray):
        """A raw array an op received (batch norm's running statistics in eval): when it is
        the memory of a parameter, buffer or recorded value, record where it comes from."""
        a = arr
        while a is not None:
            owner = self.data_owner.get(id(a))
            if owner is None and id(a) in self.attr_data:
                owner = self.attr_data[id(a)]
            if owner is not None:
                src = self.tensor_arg(owner)
                meta = {"shape": tuple(arr.shape), "dtype": src.meta.get("dtype"),
                        "traced": src.meta.get("traced"), "raw_array": True,
                        "module_path": self.module_stack[-1][0],
                        "module_type": self.module_stack[-1][1]}
                return self.graph.call_function(tensor_data, (src, arr.dtype, tuple(arr.shape)),
                                                meta=meta)
            a = a.base if isinstance(a.base, np.ndarray) else None
        return arr


def _nodes_in(value):
    from .graph import _walk_nodes

    found: dict = {}
    _walk_nodes(value, found)
    return list(found)


# -- what capture patches for its duration ---------------------------------------------------

_BREAKING = {"item": "Tensor.item()", "tolist": "Tensor.tolist()", "numpy": "Tensor.numpy()",
             "__bool__": "bool(Tensor)", "__int__": "int(Tensor)", "__float__": "float(Tensor)",
             "__index__": "Tensor.__index__()", "__array__": "numpy.asarray(Tensor)"}

# public functions without an Op class, recorded whole (name on ember and Tensor -> op name)
_FUNCTIONS = ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
              "less_equal", "not_equal", "isnan", "isinf", "isfinite", "logical_and",
              "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
              "bitwise_xor", "bitwise_not", "argmax", "argmin")
# functions recorded whole, as one node that calls them again on replay: helpers that compute
# from the data outside any Op (abs as x * sign(x) with a mask taken from the values), and ops
# with randomness or side effects (dropout draws a new mask per call; batch norm in training
# updates its running statistics): module -> {attribute: node name}
_DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
             "feature_alpha_dropout")
# cross_entropy and nll_loss too: they turn the target into a raw coefficient array outside
# any Op, which a graph would hold as one example's constant
_MODULE_FUNCTIONS = {"ember._ops.nn.linear_softmax": {"abs_": "abs"},
                     "ember.nn.functional": {"abs_": "abs", "batch_norm": "batch_norm",
                                             "cross_entropy": "cross_entropy",
                                             "nll_loss": "nll_loss",
                                             **{n: n for n in _DROPOUTS}},
                     "ember.nn._functional_loss": {"abs_": "abs"}}
_DUNDERS = {"__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt",
            "__ge__": "ge", "__and__": "bitwise_and", "__or__": "bitwise_or",
            "__xor__": "bitwise_xor", "__invert__": "bitwise_not"}


def refuse_traced_value(tensor, method: str) -> None:
    """Raise :class:`GraphBreak` when ember itself is about to read ``tensor``'s value as a
    Python number (a 0-d tensor used as an index, ``x[i]``) and ``tensor`` is a value the
    active capture traces: a graph would hold the example's number as a constant, and replay
    it for every other value (a wrong answer). No capture active: nothing to do."""
    rec = getattr(_active, "recorder", None)
    if rec is None or rec.depth != 0:
        return
    entry = rec.env.get(id(tensor))
    if entry is not None and entry.tensor is tensor and \
            rec.node_of(entry.node).meta.get("traced"):
        source, code = _where(_user_frame(2))
        raise GraphBreak(method, source, code)


def _breaking(original, method):
    def wrapper(self, *args, **kwargs):
        rec = getattr(_active, "recorder", None)
        if rec is not None and rec.depth == 0:
            entry = rec.env.get(id(self))
            if entry is not None and entry.tensor is self and \
                    rec.node_of(entry.node).meta.get("traced"):
                frame = sys._getframe(1)
                if not frame.f_code.co_filename.startswith(_EMBER_DIR):
                    source, code = _where(frame)
                    raise GraphBreak(method, source, code)
        return original(self, *args, **kwargs)

    wrapper.__name__ = getattr(original, "__name__", method)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    return wrapper


_AUTOGRAD_REASON = ("gradients are not part of a captured graph (a replay would not run "
                    "backward, and .grad is reassigned between steps); compile the model and "
                    "keep backward and the optimizer step outside the compiled function.")


def _refusing(original, method):
    """Compile refuses autograd calls and ``.grad`` reads made by user code during a capture
    (a graph break: that call runs eagerly)."""
    def wrapper(*args, **kwargs):
        rec = getattr(_active, "recorder", None)
        if rec is not None and rec.depth == 0:
            frame = sys._getframe(1)
            if not frame.f_code.co_filename.startswith(_EMBER_DIR):
                source, code = _where(frame)
                if method == "Tensor.backward()" and getattr(_active, "stop_at_backward", False):
                    raise StopAtBackward(args[0], args[1:], kwargs, source, code)
                raise GraphBreak(method, source, code, _AUTOGRAD_REASON)
        return original(*args, **kwargs)

    wrapper.__name__ = getattr(original, "__name__", method)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    return wrapper


class StopAtBackward(GraphBreak):
    """``loss.backward()`` reached while ``ember.compile`` captures a training step
    (``ember._compile_train``): the capture ends there, with ``loss`` as the graph's output."""

    def __init__(self, tensor, args, kwargs, source, code):
        super().__init__("Tensor.backward()", source, code, _AUTOGRAD_REASON)
        self.tensor, self.args, self.kwargs = tensor, args, kwargs


def _aliasing(original):
    """``detach()``: a new tensor on the same data, the same value of the graph."""
    def wrapper(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        rec = getattr(_active, "recorder", None)
        if rec is not None and isinstance(out, Tensor):
            entry = rec.env.get(id(self))
            if entry is not None and entry.tensor is self:
                rec.env[id(out)] = _Entry(out, entry.node, out._vbox[0])
                rec.keep.append(out)
                rec.note_gradient_cut("Tensor.detach()")
        return out

    wrapper.__name__ = getattr(original, "__name__", "detach")
    wrapper.__doc__ = getattr(original, "__doc__", None)
    return wrapper


def _recording(original, name):
    def wrapper(*args, **kwargs):
        rec = getattr(_active, "recorder", None)
        if rec is None:
            return original(*args, **kwargs)
        return rec.call_function(original, args, kwargs, wrapper)

    wrapper._fx_name = name
    wrapper.__name__ = name
    wrapper.__wrapped__ = original
    return wrapper


class _ModuleCall:
    """A node's target that runs one module's own ``forward`` again (compile records batch
    norm modules whole: they count batches and pick momentum outside any op)."""

    def __init__(self, module, forward, name):
        self.module, self.forward, self._fx_name = module, forward, name
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self.forward(self.module, *args, **kwargs)


def _whole_module(original, name):
    def forward(self, *args, **kwargs):
        rec = getattr(_active, "recorder", None)
        if rec is None or rec.mode != "compile":
            return original(self, *args, **kwargs)
        return rec.call_function(lambda *a, **k: original(self, *a, **k), args, kwargs,
                                 _ModuleCall(self, original, name))

    forward.__name__ = "forward"
    forward.__doc__ = original.__doc__
    return forward


class _Patches:
    """Class and module attributes replaced for the capture, put back afterwards."""

    def __init__(self):
        self.saved: list = []

    def set(self, owner, name, value):
        had = name in vars(owner)
        self.saved.append((owner, name, vars(owner)[name] if had else None, had))
        setattr(owner, name, value)

    def restore(self):
        for owner, name, value, had in reversed(self.saved):
            if had:
                setattr(owner, name, value)
            else:
                delattr(owner, name)
        self.saved.clear()


def _install(patches: _Patches, rec: _Recorder) -> None:
    import ember

    from .._ops import _core

    _core.set_capture(rec)
    for name, method in _BREAKING.items():
        original = getattr(Tensor, name, None)
        if original is not None:
            patches.set(Tensor, name, _breaking(original, method))
    patches.set(Tensor, "detach", _aliasing(Tensor.detach))
    data = Tensor.data
    patches.set(Tensor, "data", property(_aliasing(data.fget), data.fset))
    for name in _FUNCTIONS:
        fn = getattr(ember, name, None)
        if fn is not None:
            patches.set(ember, name, _recording(fn, name))
        method = getattr(Tensor, name, None)
        if method is not None:
            patches.set(Tensor, name, _recording(method, name))
    for dunder, name in _DUNDERS.items():
        method = getattr(Tensor, dunder, None)
        if method is not None:
            patches.set(Tensor, dunder, _recording(method, name))
    if rec.mode == "compile":
        from .. import autograd
        from ..nn.modules.batchnorm import _BatchNorm

        patches.set(Tensor, "backward", _refusing(Tensor.backward, "Tensor.backward()"))
        grad = Tensor.grad
        patches.set(Tensor, "grad", property(_refusing(grad.fget, "Tensor.grad"), grad.fset))
        for name in ("backward", "grad"):
            patches.set(autograd, name, _refusing(getattr(autograd, name),
                                                  f"ember.autograd.{name}()"))

        patches.set(_BatchNorm, "forward", _whole_module(_BatchNorm.forward, "batch_norm_module"))
    for module_name, names in _MODULE_FUNCTIONS.items():
        module = sys.modules.get(module_name)
        for attr, name in names.items():
            fn = getattr(module, attr, None) if module is not None else None
            if fn is not None:
                patches.set(module, attr, _recording(fn, name))


def _module_hooks(module, rec: _Recorder) -> list:
    handles = []
    for path, sub in module.named_modules():
        def pre(mod, args, _path=path):
            rec.module_stack.append((_path, type(mod).__name__))

        def post(mod, args, out):
            if len(rec.module_stack) > 1:
                rec.module_stack.pop()

        handles.append(sub.register_forward_pre_hook(pre))
        handles.append(sub.register_forward_hook(post))
    return handles


def capture(fn, *args, _mode: str = "capture", **kwargs) -> Graph:
    """Run ``fn(*args, **kwargs)`` once and return the :class:`Graph` of the ops it applied.

    ``fn`` is an ``nn.Module`` (its parameters and buffers become ``get_attr`` nodes named as
    in ``state_dict``) or any function of tensors. Each tensor in ``args``/``kwargs`` (nested
    tuples, lists and dicts allowed) becomes a ``placeholder``; other values are constants of
    the graph. The run is an ordinary eager run on real data, so the graph holds the branch
    the example inputs took: Python control flow on tensor values raises :class:`GraphBreak`.

    Example:
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
        >>> graph = ember.fx.capture(model, ember.randn(2, 4))
        >>> graph.print_tabular()
    """
    from .. import nn
    from .._ops import _core
    from ..autograd import grad_mode

    if getattr(_active, "recorder", None) is not None:
        raise CaptureError("ember.fx.capture was called while another capture is running; "
                           "capture the outer function only")
    graph = Graph()
    rec = _Recorder(graph, _mode)
    rec.attr_data = {}
    if isinstance(fn, nn.Module):
        for name, p in fn.named_parameters():
            rec.attr_ids[id(p)] = name
            rec.attr_data[id(p._data)] = p
        for name, b in fn.named_buffers():
            rec.attr_ids[id(b)] = name
            rec.attr_data[id(b._data)] = b
    # inputs: tensors that share the user's data; floating ones require grad so that every op
    # (in-place ones included) takes the recorded, tracked path
    leaves: list = []
    names = _input_names(fn, len(args), kwargs)
    for name, a in zip(names, args):
        _tensor_leaves(a, name, leaves)
    for k, v in kwargs.items():
        _tensor_leaves(v, k, leaves)
    mapping = {}
    for path, t in leaves:
        if id(t) in mapping:
            continue
        floating = t.is_floating_point() or t.is_complex()
        if _mode == "compile" and t._requires_grad:
            stand_in = t  # compile returns this run's result: gradients reach the caller's input
        else:
            stand_in = Tensor._make(t._data, t._dtype, floating)
        mapping[id(t)] = stand_in
        node = graph.placeholder(path, meta={"shape": tuple(t._data.shape), "dtype": t._dtype,
                                             "traced": True})
        rec.bind(stand_in, node)
    args = _replace_leaves(args, mapping)
    kwargs = _replace_leaves(kwargs, mapping)
    handles = _module_hooks(fn, rec) if isinstance(fn, nn.Module) else []
    if isinstance(fn, nn.Module):
        rec.module_stack[0] = ("", type(fn).__name__)
    patches = _Patches()
    _active.recorder = rec
    prev = grad_mode._state.enabled
    try:
        _install(patches, rec)
        grad_mode._state.enabled = True
        try:
            out = fn(*args, **kwargs)
        except StopAtBackward as stop:  # a training step's capture ends at its backward
            out, graph.stopped_at_backward = stop.tensor, True
        graph.output(_output_structure(rec, out))
    finally:
        grad_mode._state.enabled = prev
        _core.set_capture(None)
        patches.restore()
        _active.recorder = None
        for h in handles:
            h.remove()
    graph.eliminate_dead_code()
    graph.gradient_cuts = rec.gradient_cuts
    if _mode == "compile":
        graph.live_output = out  # compile's first call returns it (and then drops it)
    graph.example_output = _detach_all(out)
    graph.root = fn
    return graph


def _output_structure(rec: _Recorder, out):
    if isinstance(out, Tensor):
        return rec.tensor_arg(out)
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return type(out)(*(_output_structure(rec, v) for v in out))
    if isinstance(out, (tuple, list)):
        return type(out)(_output_structure(rec, v) for v in out)
    if isinstance(out, dict):
        return {k: _output_structure(rec, v) for k, v in out.items()}
    return out


def _detach_all(out):
    if isinstance(out, Tensor):
        return out.detach()
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return type(out)(*(_detach_all(v) for v in out))
    if isinstance(out, (tuple, list)):
        return type(out)(_detach_all(v) for v in out)
    if isinstance(out, dict):
        return {k: _detach_all(v) for k, v in out.items()}
    return out
