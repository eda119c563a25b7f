"""Running a GraphModule node by node (``torch.fx.Interpreter``) and rewriting it that way
(``torch.fx.Transformer``).

Subclass :class:`Interpreter` and override ``run_node`` or one of ``placeholder``,
``get_attr``, ``call_function``, ``call_method``, ``call_module``, ``output`` to observe or
change each step (shape propagation, profiling, swapping ops). :class:`Transformer` runs the
same hooks on proxies and returns a new GraphModule.

``Interpreter(graph, module)`` with a graph from ``ember.fx.capture`` still replays that
op-level graph, as it did before symbolic tracing existed.
"""

from __future__ import annotations

from .graph import Graph as CapturedGraph
from .interpreter import Interpreter as CapturedInterpreter
from .node import Node, map_aggregate, map_arg
from .proxy import Proxy
from .symbolic_graph import Graph

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Execute a GraphModule one node at a time.

    Args:
        module: the GraphModule (or any Module, with ``graph`` given) to run.
        garbage_collect_values: drop each value after its last use.
        graph: the graph to run (default ``module.graph``).

    Example:
        >>> class ShapeProp(ember.fx.Interpreter):
        ...     def run_node(self, n):
        ...         result = super().run_node(n)
        ...         if isinstance(result, ember.Tensor):
        ...             n.meta["shape"] = result.shape
        ...         return result
        >>> gm = ember.fx.symbolic_trace(ember.nn.Sequential(ember.nn.Linear(4, 2)))
        >>> _ = ShapeProp(gm).run(ember.randn(3, 4))
        >>> [n.meta.get("shape") for n in gm.graph.nodes]
        [torch.Size([3, 4]), torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __new__(cls, module=None, *args, **kwargs):
        if isinstance(module, CapturedGraph):  # the op-level replay of ember.fx.capture
            return CapturedInterpreter(module, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, module, garbage_collect_values: bool = True, graph: Graph | None = None):
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env: dict = {}
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        if garbage_collect_values:
            last_use: dict = {}
            for node in self.graph.nodes:
                for inp in node.all_input_nodes:
                    last_use[inp] = node
            self.user_to_last_uses: dict = {}
            for value, user in last_use.items():
                self.user_to_last_uses.setdefault(user, []).append(value)

    def run(self, *args, initial_env: dict | None = None, enable_io_processing: bool = True):
        """Run the graph on ``args`` and return what its output node returns."""
        self.env = dict(initial_env or {})
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            self.env[node] = self.run_node(node)
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, ()):
                    self.env.pop(dead, None)
            if node.op == "output":
                return self.env[node]
        return None

    def boxed_run(self, args_list: list):
        """``run(*args_list)``, clearing the list first (so its tensors can be freed early)."""
        args = list(args_list)
        args_list.clear()
        return self.run(*args)

    def run_node(self, n: Node):
        """Run one node: fetch its arguments' values and call the method named by its op."""
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    # -- one method per op ----------------------------------------------------------------------
    def placeholder(self, target, args, kwargs):
        if str(target).startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration as err:
            if args:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one "
                               "was not passed in!") from err

    def get_attr(self, target, args, kwargs):
        return self.fetch_attr(target)

    def call_function(self, target, args, kwargs):
        return target(*args, **kwargs)

    def call_method(self, target, args, kwargs):
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)

    def call_module(self, target, args, kwargs):
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args, kwargs):
        return args[0]

    # -- helpers ----------------------------------------------------------------------------------
    def fetch_attr(self, target: str):
        """The attribute of the module at the dotted path ``target``."""
        obj = self.module
        for i, part in enumerate(target.split(".")):
            if not hasattr(obj, part):
                raise RuntimeError("Node referenced nonexistent target "
                                   f"{'.'.join(target.split('.')[:i + 1])}")
            obj = getattr(obj, part)
        return obj

    def fetch_args_kwargs_from_env(self, n: Node):
        """``n``'s args and kwargs with every node replaced by its computed value."""
        return self.map_nodes_to_values(n.args, n), self.map_nodes_to_values(n.kwargs, n)

    def map_nodes_to_values(self, args, n: Node):
        def load(node):
            if node not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {node}! Run "
                                   "Graph.lint() to diagnose such issues")
            return self.env[node]

        return map_arg(args, load)


class Transformer(Interpreter):
    """Rebuild a GraphModule by running its graph on proxies: override the per-op methods to
    emit different nodes, then call :meth:`transform`.

    Example:
        >>> import operator
        >>> class AddToMul(ember.fx.Transformer):
        ...     def call_function(self, target, args, kwargs):
        ...         if target is operator.add:
        ...             target = operator.mul
        ...         return super().call_function(target, args, kwargs)
        >>> gm = AddToMul(ember.fx.symbolic_trace(lambda x: x + 2)).transform()
        >>> gm(ember.tensor([3.0]))
        tensor([6.])
    """

    def __init__(self, module):
        super().__init__(module, garbage_collect_values=False)
        from ._symbolic_trace import GraphAppendingTracer

        self.new_graph = Graph()
        self.tracer = GraphAppendingTracer(self.new_graph)
        self.tracer.root = module

    def placeholder(self, target, args, kwargs):
        default = args if args else ()
        return Proxy(self.new_graph.create_node("placeholder", target, default), self.tracer)

    def get_attr(self, target, args, kwargs):
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_function(self, target, args, kwargs):
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def call_method(self, target, args, kwargs):
        return self.tracer.create_proxy("call_method", target, args, kwargs)

    def call_module(self, target, args, kwargs):
        return self.tracer.create_proxy("call_module", target, args, kwargs)

    def transform(self):
        """Run the transformation and return the new GraphModule."""
        from .graph_module import GraphModule

        result = super().run()
        if result is not None:
            self.new_graph.output(map_aggregate(result, lambda v: v.node if isinstance(v, Proxy)
                                                else v))
        return GraphModule(self.module, self.new_graph, type(self.module).__name__)
