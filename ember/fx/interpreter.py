"""Run a captured graph again, on new inputs, op by op."""

from __future__ import annotations

from .._tensor import Tensor
from .capture import _tensor_leaves
from .graph import Graph, map_nodes

__all__ = ["Interpreter"]


def _attribute(root, target: str):
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


class Interpreter:
    """Replays a :class:`Graph`: each ``call_function`` node runs its ember op on the values of
    its arguments. Parameters and buffers are read from ``module`` at run time (so training
    updates are seen); constants come from the graph.

    Example:
        >>> model = ember.nn.Linear(3, 2)
        >>> graph = ember.fx.capture(model, ember.randn(1, 3))
        >>> ember.fx.Interpreter(graph, model).run(ember.randn(5, 3)).shape
        torch.Size([5, 2])
    """

    def __init__(self, graph: Graph, module=None):
        self.graph = graph
        self.module = module

    def run(self, *args, **kwargs):
        leaves: list = []
        for i, a in enumerate(args):
            _tensor_leaves(a, str(i), leaves)
        for k, v in kwargs.items():
            _tensor_leaves(v, k, leaves)
        holders = self.graph.placeholders
        if len(leaves) != len(holders):
            raise TypeError(f"the graph takes {len(holders)} tensor inputs "
                            f"({', '.join(n.name for n in holders)}), got {len(leaves)}")
        env = {}
        for node, (_path, t) in zip(holders, leaves):
            env[node] = t
        lookup = env.__getitem__
        for node in self.graph.nodes:
            op = node.op
            if op == "call_function":
                a = map_nodes(node.args, lookup)
                kw = map_nodes(node.kwargs, lookup) if node.kwargs else {}
                target = node.target
                env[node] = target.apply(*a, **kw) if isinstance(target, type) \
                    else target(*a, **kw)
            elif op == "get_attr":
                if self.module is not None and node.target in self.graph.attributes and \
                        not node.meta.get("constant"):
                    env[node] = _attribute(self.module, node.target)
                else:
                    env[node] = self.graph.attributes[node.target]
            elif op == "output":
                return map_nodes(node.args[0], lookup)
        return None


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)
