"""Symbolic tracing (``torch.fx.symbolic_trace``, ``Tracer``, ``wrap``).

The tracer calls the module's ``forward`` once with :class:`~ember.fx.Proxy` inputs and records
what happens to them. Proxies are not tensors, and ember's ``__torch_function__`` layer
(``ember/_torch_function.py``) is installed only once a Tensor subclass exists, so for the
length of one ``trace()`` call the tracer puts its own recording wrappers in front of:

* the public functions of ``ember``, ``ember.nn.functional``, ``ember.special``,
  ``ember.linalg`` and ``ember.fft`` (module attributes, and the same functions bound to names
  in the traced ``forward``'s globals, so ``from torch import relu`` is seen too), plus
  functions registered with :func:`wrap`;
* ``Module.__call__`` (leaf modules become ``call_module`` nodes, others are traced through)
  and ``Module.__getattr__`` (parameters become ``get_attr`` nodes);
* ``Tensor``'s binary operators, so ``tensor * proxy`` hands over to the proxy.

Everything is put back in a ``finally`` when ``trace()`` returns, so code that is not being
traced runs the original functions and pays nothing.
"""

from __future__ import annotations

import inspect
import operator
import sys
import threading
import types
import weakref

from .node import Node, _public_names
from .proxy import Proxy, TraceError
from .symbolic_graph import Graph

__all__ = ["Tracer", "symbolic_trace", "wrap", "GraphAppendingTracer"]

# How torch records some nn.functional calls: the first ``n`` arguments positionally and every
# other parameter by keyword with its default filled in ("method" calls the tensor method).
_FUNCTIONAL_RECORDING = {
    "relu": 1, "relu6": 1, "elu": 1, "selu": 1, "celu": 1, "leaky_relu": 1, "silu": 1,
    "mish": 1, "hardswish": 1, "hardsigmoid": 1, "hardtanh": 1, "glu": 1, "softmax": 1,
    "log_softmax": 1, "softmin": 1, "dropout": 1, "dropout1d": 1, "dropout2d": 1,
    "dropout3d": 1, "alpha_dropout": 1, "normalize": 1, "interpolate": 1, "instance_norm": 1,
    "max_pool1d": 2, "max_pool2d": 2, "max_pool3d": 2, "adaptive_max_pool1d": 2,
    "adaptive_max_pool2d": 2, "adaptive_max_pool3d": 2, "layer_norm": 2, "group_norm": 2,
    "pad": 2, "embedding": 2, "mse_loss": 2, "l1_loss": 2, "smooth_l1_loss": 2,
    "huber_loss": 2, "cross_entropy": 2, "nll_loss": 2, "kl_div": 2,
    "binary_cross_entropy": 2, "binary_cross_entropy_with_logits": 2, "batch_norm": 3,
    "sigmoid": "method", "tanh": "method",
}

# nn.functional names that in torch are the very function of the torch namespace
# (``F.conv2d is torch.conv2d``): calls are recorded with ember's top-level function.
_TOP_LEVEL_FUNCTIONAL = (
    "adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu_", "channel_shuffle", "conv1d",
    "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "cosine_similarity", "hardshrink", "native_channel_shuffle", "pairwise_distance", "pdist",
    "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_", "rrelu_", "selu_", "threshold_",
)

# ``tensor <op> proxy``: torch records these as methods of the tensor, under these names.
_TENSOR_OPERATORS = {
    "__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
    "__floordiv__": "__floordiv__", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__and__": "__and__", "__or__": "__or__", "__xor__": "__xor__",
    "__lshift__": "__lshift__", "__rshift__": "__rshift__", "__eq__": "eq", "__ne__": "ne",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
}

_wrapped_globals: list = []  # (globals dict, name) registered with wrap()
# Functions recorded as leaves through wrap(): generated code re-registers them, so that a
# GraphModule can itself be traced again.
wrapped_functions = weakref.WeakSet()


def wrap(fn_or_name):
    """Record calls to a module-level function as ``call_function`` nodes instead of tracing
    into it (for functions with control flow or ``len()``). Call at module scope, with the
    function or its name.

    Example:
        >>> def my_len(x):
        ...     return len(x)
        >>> ember.fx.wrap("my_len")  # doctest: +SKIP
    """
    caller = sys._getframe(1)
    if caller.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    if not isinstance(fn_or_name, str) and getattr(fn_or_name, "__code__", None) is None:
        raise NotImplementedError("wrap must be called with a function or its name")
    if not any(g is caller.f_globals and n == name for g, n in _wrapped_globals):
        _wrapped_globals.append((caller.f_globals, name))
    return fn_or_name


def _assert_is_none(value, msg):
    """The guard symbolic_trace writes for a ``concrete_args`` entry that is None."""
    assert value is None, msg


_assert_is_none.__module__ = "ember.fx._symbolic_trace"


from .._symbolic import _assert  # noqa: E402  the guard for a non-None concrete_args entry


def _has_proxy(value) -> bool:
    if isinstance(value, Proxy):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_proxy(v) for v in value)
    if isinstance(value, dict):
        return any(_has_proxy(v) for v in value.values())
    return False


class Tracer:
    """Turns a module's ``forward`` (or a function) into a :class:`~ember.fx.Graph`.

    Subclass it to change what is recorded: :meth:`is_leaf_module` decides which submodules
    stay opaque ``call_module`` nodes; :meth:`create_proxy`, :meth:`create_arg` and
    :meth:`call_module` are the other hooks.

    Example:
        >>> class NoLeaves(ember.fx.Tracer):
        ...     def is_leaf_module(self, m, qualname):
        ...         return False
        >>> graph = NoLeaves().trace(ember.nn.Sequential(ember.nn.ReLU()))
        >>> [n.op for n in graph.nodes]
        ['placeholder', 'call_function', 'output']
    """

    def __init__(self, autowrap_modules=(), autowrap_functions=(),
                 param_shapes_constant: bool = False):
        self.autowrap_functions = tuple(autowrap_functions)
        self.param_shapes_constant = param_shapes_constant
        self.graph: Graph | None = None
        self.root = None

    # -- hooks users override ---------------------------------------------------------------
    def is_leaf_module(self, m, module_qualified_name: str) -> bool:
        """Whether ``m`` is recorded as one ``call_module`` node: ember.nn's own layers are,
        ``Sequential`` and user modules are traced through."""
        from ..nn import Sequential

        module = type(m).__module__ or ""
        return module.startswith(("ember.nn", "torch.nn")) and not isinstance(m, Sequential)

    def path_of_module(self, mod) -> str:
        """The dotted name of ``mod`` inside the traced root."""
        path = self._module_paths.get(id(mod))
        if path is None:
            raise NameError("module is not installed as a submodule")
        return path

    def call_module(self, m, forward, args, kwargs):
        """Record ``m(*args, **kwargs)`` as a ``call_module`` node if ``m`` is a leaf, else
        trace into ``forward``."""
        qualname = self.path_of_module(m)
        if not self.is_leaf_module(m, qualname):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", qualname, args, kwargs)

    def getattr(self, attr: str, attr_val, parameter_proxy_cache: dict):
        """What reading ``module.attr`` gives while tracing: a ``get_attr`` proxy for the
        root's parameters (one node per parameter), the value itself otherwise."""
        from ..nn import Parameter

        if isinstance(attr_val, Parameter):
            qualname = self._tensor_paths.get(id(attr_val))
            if qualname is not None:
                if qualname not in parameter_proxy_cache:
                    parameter_proxy_cache[qualname] = self.create_proxy("get_attr", qualname,
                                                                        (), {})
                return parameter_proxy_cache[qualname]
        return attr_val

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None) -> Node:
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        return Proxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None):
        """Record one node whose arguments are ``args``/``kwargs`` (proxies become nodes,
        tensors of the root become ``get_attr`` nodes) and return its proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return proxy_factory_fn(node) if proxy_factory_fn is not None else self.proxy(node)

    def create_arg(self, a):
        """A value as it is stored in a node's arguments."""
        from .._tensor import Tensor
        from ..nn import Module

        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        if isinstance(a, tuple):
            mapped = tuple(self.create_arg(v) for v in a)
            return type(a)(*mapped) if hasattr(a, "_fields") else mapped
        if isinstance(a, list):
            return [self.create_arg(v) for v in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                if not isinstance(k, str):
                    raise RuntimeError(f"Keys for dictionaries used as an argument cannot "
                                       f"contain a Node. Got key: {k}")
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, Tensor):
            qualname = self._tensor_paths.get(id(a))
            if qualname is None:
                # A tensor made during forward: keep it on the root as a constant.
                qualname = f"_tensor_constant{self._constant_count}"
                self._constant_count += 1
                setattr(self.root, qualname, a)
                self._tensor_paths[id(a)] = qualname
            return self.create_node("get_attr", qualname, (), {})
        if isinstance(a, Module):
            path = self._module_paths.get(id(a))
            if path is not None:
                return self.create_node("get_attr", path, (), {})
        if a is None or a is Ellipsis or isinstance(a, (bool, int, float, complex, str,
                                                           range, type)):
            return a
        import ember

        from .._dtype import dtype as ember_dtype

        if isinstance(a, (ember_dtype, ember.device, ember.layout, ember.memory_format)) or \
                callable(a) and getattr(a, "__module__", "").startswith(("ember", "operator")):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        raise TraceError("symbolically traced variables cannot be used as inputs to control "
                         "flow")

    def iter(self, obj: Proxy):
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the "
                         "Proxy is used in a loop or as a *args or **kwargs function argument. "
                         "See the torch.fx docs on pytorch.org for a more detailed explanation "
                         "of what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj: Proxy):
        return Attribute_keys(obj)

    # -- the trace ----------------------------------------------------------------------------
    def trace(self, root, concrete_args: dict | None = None) -> Graph:
        """Trace ``root`` (a Module, whose ``forward`` runs, or a function) into a Graph.

        Args:
            root: the module or function.
            concrete_args: inputs to fix to a value instead of tracing them (for ``if flag:``
                on a Python argument); the graph checks at run time that they still have it.
        """
        from ..nn import Module

        if isinstance(root, Module):
            self.root = root
            fn = type(root).forward
            fn_self = (root,)
        else:
            self.root = Module()
            fn = root
            fn_self = ()
        self.graph = Graph(tracer_cls=type(self))
        self._module_paths = {}
        for name, mod in self.root.named_modules():
            self._module_paths.setdefault(id(mod), name)
        self._tensor_paths = {}
        for name, t in self.root.named_parameters():
            self._tensor_paths.setdefault(id(t), name)
        for name, t in self.root.named_buffers():
            self._tensor_paths.setdefault(id(t), name)
        self._constant_count = 0
        concrete_args = dict(concrete_args or {})
        inputs = self._placeholders(fn, bool(fn_self), concrete_args)
        # the __torch_function__ layer's wrappers would stand between the code and these
        # patches (proxies are no tensors): set aside while tracing, put back after
        from .. import _torch_function

        dispatching = _torch_function.installed()
        if dispatching:
            _torch_function.uninstall()
        try:
            with _Patches(self, fn):
                result = fn(*fn_self, *inputs)
        finally:
            if dispatching:
                _torch_function.install()
        self.create_node("output", "output", (self.create_arg(result),), {})
        return self.graph

    def _placeholders(self, fn, skip_first: bool, concrete_args: dict) -> list:
        params = list(inspect.signature(fn).parameters.values())
        if skip_first:
            params = params[1:]
        values = []
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise NotImplementedError("symbolic_trace of a function with *args or **kwargs "
                                          "is not supported in ember; list the inputs")
            default = () if p.default is inspect.Parameter.empty else (p.default,)
            if p.name in concrete_args:
                value = concrete_args[p.name]
                node = self.create_node("placeholder", f"{p.name}_1", default, {})
                msg = f"{p.name} has been specialized to have value {value} but got another value"
                if value is None:
                    self.create_node("call_function", _assert_is_none, (node, msg), {})
                else:
                    eq = self.create_node("call_function", operator.eq, (node, value), {})
                    self.create_node("call_function", _assert, (eq, msg), {})
                values.append(value)
            else:
                values.append(self.proxy(self.create_node("placeholder", p.name, default, {})))
        return values


def Attribute_keys(obj):  # noqa: N802 - what ``**proxy`` asks for; it cannot be traced
    raise TraceError("Proxy object cannot be unpacked with ** in symbolic tracing")


class GraphAppendingTracer(Tracer):
    """A tracer that appends to an existing graph (what a bare ``Proxy(node)`` uses)."""

    def __init__(self, graph: Graph):
        super().__init__()
        self.graph = graph
        self._tensor_paths = {}
        self._module_paths = {}
        self._constant_count = 0


class _Patches:
    """Install the recording wrappers for one trace and take them all down afterwards."""

    def __init__(self, tracer: Tracer, fn):
        self.tracer = tracer
        self.fn = fn
        self.undo: list = []

    def _set(self, owner, name, value, is_dict=False):
        if is_dict:
            self.undo.append((owner, name, owner.get(name, _MISSING), True))
            owner[name] = value
        else:
            self.undo.append((owner, name, owner.__dict__.get(name, _MISSING), False))
            setattr(owner, name, value)

    def __enter__(self):
        import importlib

        from .._tensor import Tensor
        from ..nn import Module

        tracer = self.tracer
        try:
            # nn.Module: leaf calls become call_module nodes; parameters get_attr proxies.
            # Other threads keep running eagerly while this one traces.
            original_call = Module.__call__
            original_getattr = Module.__getattr__
            param_cache: dict = {}
            tracing_thread = threading.get_ident()

            def module_call(mod, *args, **kwargs):
                if threading.get_ident() != tracing_thread:
                    return original_call(mod, *args, **kwargs)
                return tracer.call_module(mod, mod.forward, args, kwargs)

            def module_getattr(mod, name):
                value = original_getattr(mod, name)
                if threading.get_ident() != tracing_thread:
                    return value
                return tracer.getattr(name, value, param_cache)

            self._set(Module, "__call__", module_call)
            self._set(Module, "__getattr__", module_getattr)
            # A tensor operator with a proxy on the right (buffer * proxy) records a method.
            for name, method in _TENSOR_OPERATORS.items():
                original = getattr(Tensor, name, None)
                if original is not None:
                    self._set(Tensor, name, _tensor_operator(tracer, original, method))
            # Public functions, under the names torch gives them.
            wrappers: dict = {}
            public = _public_names()
            top_level = vars(importlib.import_module("ember"))
            top_level = {n: top_level[n] for n in _TOP_LEVEL_FUNCTIONAL if n in top_level}
            for suffix in ("", "nn.functional", "special", "linalg", "fft"):
                module = importlib.import_module("ember" + ("." + suffix if suffix else ""))
                for name, value in list(vars(module).items()):
                    if id(value) in public and public[id(value)][0] is value:
                        wrapper = wrappers.get(id(value))
                        if wrapper is None:
                            functional = suffix == "nn.functional"
                            recording = _FUNCTIONAL_RECORDING.get(name) if functional else None
                            target = top_level.get(name, value) \
                                if functional and name in _TOP_LEVEL_FUNCTIONAL else value
                            wrapper = _recording_wrapper(tracer, value, recording, target)
                            wrappers[id(value)] = wrapper
                        self._set(module, name, wrapper)
            scopes = [(getattr(self.fn, "__globals__", None), None)]
            scopes += [(g, n) for g, n in _wrapped_globals]
            for fn_globals, only in scopes:
                if fn_globals is None:
                    continue
                for name, value in list(fn_globals.items()):
                    if only is not None and name != only:
                        continue
                    # a name bound while the __torch_function__ layer was installed holds
                    # its dispatching wrapper: record the function it wraps
                    raw = getattr(value, "_torch_function_raw", None)
                    if raw is not None and id(raw) in wrappers:
                        self._set(fn_globals, name, wrappers[id(raw)], True)
                    elif id(value) in wrappers and not isinstance(value, types.ModuleType):
                        self._set(fn_globals, name, wrappers[id(value)], True)
                    elif only is not None and callable(value):
                        wrapped_functions.add(value)
                        wrapper = _recording_wrapper(tracer, value, None)
                        wrappers[id(value)] = wrapper
                        self._set(fn_globals, name, wrapper, True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for owner, name, old, is_dict in reversed(self.undo):
            if old is _MISSING:
                if is_dict:
                    owner.pop(name, None)
                else:
                    delattr(owner, name)
            elif is_dict:
                owner[name] = old
            else:
                setattr(owner, name, old)
        self.undo.clear()
        return False


_MISSING = object()


def _tensor_operator(tracer: Tracer, original, method: str):
    def operator_method(self, other):
        if isinstance(other, Proxy):
            return tracer.create_proxy("call_method", method, (self, other), {})
        return original(self, other)

    return operator_method


def _recording_wrapper(tracer: Tracer, fn, recording, target=None):
    """``fn`` as it runs during a trace: called eagerly unless an argument is a proxy, else
    recorded as a call of ``target`` (``fn`` itself unless torch names it elsewhere)."""
    target = fn if target is None else target
    signature = None
    if isinstance(recording, int):
        params = inspect.signature(fn).parameters.values()
        signature = inspect.Signature([p for p in params
                                       if p.kind is p.POSITIONAL_OR_KEYWORD])

    def wrapper(*args, **kwargs):
        if not (_has_proxy(args) or _has_proxy(kwargs)):
            return fn(*args, **kwargs)
        if recording == "method":
            return tracer.create_proxy("call_method", fn.__name__, args, kwargs)
        if signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                values = list(bound.arguments.items())
                args = tuple(v for _, v in values[:recording])
                kwargs = dict(values[recording:])
        return tracer.create_proxy("call_function", target, args, kwargs)

    wrapper.__wrapped__ = fn
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    return wrapper


def symbolic_trace(root, concrete_args: dict | None = None):
    """Trace a module or function into a :class:`~ember.fx.GraphModule`
    (``torch.fx.symbolic_trace``).

    Args:
        root: an ``nn.Module`` (its ``forward`` is traced) or a function.
        concrete_args: inputs fixed to a value rather than traced.

    Returns:
        A GraphModule with the same submodules, parameters and buffers as ``root`` (those the
        graph uses) and a generated ``forward``.

    Example:
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
        >>> gm = ember.fx.symbolic_trace(model)
        >>> print(gm.code.strip())
        def forward(self, input):
            input_1 = input
            _0 = getattr(self, "0")(input_1);  input_1 = None
            _1 = getattr(self, "1")(_0);  _0 = None
            return _1
    """
    from ..nn import Module
    from .graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
