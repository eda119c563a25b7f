"""Proxies: the stand-in values that flow through a program while it is symbolically traced.

A :class:`Proxy` wraps a :class:`~ember.fx.Node`. Whatever the program does to it (an
operator, a method call, an attribute, indexing, passing it to an ember function or a leaf
module) records a new node and returns a new proxy, so running ``forward`` once on proxies
writes its graph. What a proxy cannot do is stand for a concrete value: ``bool(proxy)`` (an
``if`` on a traced value), iterating it and ``len(proxy)`` raise, as in torch.fx.
"""

from __future__ import annotations

import builtins
import operator

from .node import Node

__all__ = ["Proxy", "Attribute", "TraceError"]


class TraceError(ValueError):
    """A program did something symbolic tracing cannot record (control flow on a traced value,
    iterating a proxy).

    Example:
        >>> def f(x):
        ...     return x if x.sum() > 0 else -x
        >>> try:
        ...     ember.fx.symbolic_trace(f)
        ... except ember.fx.proxy.TraceError as err:
        ...     print(err)
        symbolically traced variables cannot be used as inputs to control flow
    """


class Proxy:
    """A traced value: operations on it add nodes to the tracer's graph.

    Args:
        node: the node that produces this value.
        tracer: the :class:`~ember.fx.Tracer` recording (defaults to the node's graph's owner).

    Example:
        >>> graph = ember.fx.Graph()
        >>> x = ember.fx.Proxy(graph.placeholder("x"))
        >>> y = (x + 1).relu()
        >>> graph.output(y.node)
        output
        >>> [n.name for n in graph.nodes]
        ['x', 'add', 'relu', 'output']
    """

    def __init__(self, node: Node, tracer=None):
        if tracer is None:
            from ._symbolic_trace import GraphAppendingTracer

            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str):
        if k.startswith("__") and k.endswith("__"):
            raise AttributeError(k)
        return Attribute(self, k)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __getitem__(self, item):
        return self.tracer.create_proxy("call_function", operator.getitem, (self, item), {})

    def __iter__(self):
        return self.tracer.iter(self)

    def __bool__(self):
        return self.tracer.to_bool(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call torch.fx.wrap('len') at "
                           "module scope")

    def keys(self):
        return self.tracer.keys(self)

    __hash__ = object.__hash__


def _binary(op):
    def forward(self, other):
        return self.tracer.create_proxy("call_function", op, (self, other), {})

    def reflected(self, other):
        return self.tracer.create_proxy("call_function", op, (other, self), {})

    return forward, reflected


def _unary(op):
    def method(self):
        return self.tracer.create_proxy("call_function", op, (self,), {})

    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift",
              "rshift", "and", "or", "xor"):
    _fwd, _rev = _binary(getattr(operator, _name + "_" if _name in ("and", "or") else _name))
    setattr(Proxy, f"__{_name}__", _fwd)
    setattr(Proxy, f"__r{_name}__", _rev)
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Proxy, f"__{_name}__", _binary(getattr(operator, _name))[0])
for _name in ("neg", "pos", "invert", "abs"):
    setattr(Proxy, f"__{_name}__", _unary(getattr(operator, _name)))
del _name, _fwd, _rev


class Attribute(Proxy):
    """``proxy.name``: becomes a ``call_method`` node when called (``x.view(...)``) and a
    ``getattr`` node only when used as a value (``x.shape``).

    Example:
        >>> gm = ember.fx.symbolic_trace(lambda x: x.shape[0])
        >>> [n.target for n in gm.graph.nodes][1:3]
        [<built-in function getattr>, <built-in function getitem>]
    """

    def __init__(self, root: Proxy, attr: str):
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node = None

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", builtins.getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)

    def __repr__(self) -> str:
        return f"Attribute({self.root!r}, {self.attr!r})"


def __getattr__(name):
    # torch.fx.proxy.GraphAppendingTracer: the class lives with the other tracers; loaded
    # lazily because the tracer module imports this one.
    if name == "GraphAppendingTracer":
        from ._symbolic_trace import GraphAppendingTracer

        return GraphAppendingTracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
