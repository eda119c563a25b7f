"""``GraphModule``: an ``nn.Module`` whose ``forward`` is generated from a traced Graph."""

from __future__ import annotations

from ..nn import Module
from .symbolic_graph import Graph

__all__ = ["GraphModule"]


def _split(target: str):
    *path, last = target.split(".")
    return path, last


def _copy_attr(from_obj, to_module: Module, target: str) -> None:
    """Copy ``from_obj.<target>`` (dotted) to the same path on ``to_module``, making plain
    Modules for the intermediate levels that are not copied themselves."""
    path, last = _split(target)
    for part in path:
        source = getattr(from_obj, part)
        existing = to_module._modules.get(part) if isinstance(to_module, Module) else None
        if existing is None:
            existing = Module()
            setattr(to_module, part, existing)
        from_obj, to_module = source, existing
    value = getattr(from_obj, last)
    if isinstance(value, Module) or last in getattr(from_obj, "_parameters", {}):
        setattr(to_module, last, value)
    elif last in getattr(from_obj, "_buffers", {}):
        to_module.register_buffer(last, value,
                                  persistent=last not in from_obj._non_persistent_buffers_set)
    else:
        setattr(to_module, last, value)


def _assign_attr(value, to_module: Module, target: str) -> None:
    from .._tensor import Tensor

    path, last = _split(target)
    for part in path:
        child = to_module._modules.get(part)
        if child is None:
            child = Module()
            setattr(to_module, part, child)
        to_module = child
    if isinstance(value, Tensor) and not isinstance(value, Module) and \
            type(value).__name__ != "Parameter":
        to_module.register_buffer(last, value)
    else:
        setattr(to_module, last, value)


class GraphModule(Module):
    """A Module that runs a :class:`~ember.fx.Graph` (``torch.fx.GraphModule``).

    It holds the submodules, parameters and buffers the graph's ``call_module``/``get_attr``
    nodes name, under the same dotted names as in ``root`` (so ``state_dict`` keys match), and
    a ``forward`` generated from the graph. Edit ``gm.graph`` and call :meth:`recompile` to
    regenerate it.

    Args:
        root: the module the attributes are copied from, or a dict of name -> value.
        graph: the graph to run.
        class_name: the name ``repr`` and ``print_readable`` show.

    Example:
        >>> gm = ember.fx.symbolic_trace(lambda x: ember.relu(x) + 1)
        >>> print(gm.code.strip())
        def forward(self, x):
            relu = torch.relu(x);  x = None
            add = relu + 1;  relu = None
            return add
    """

    def __new__(cls, *args, **kwargs):
        # Like torch, each instance gets its own class, so that the generated forward (set on
        # the class, where Python looks up special methods) belongs to this graph only.
        if cls.__dict__.get("_is_instance_class"):
            return super().__new__(cls)
        impl = type(cls.__name__, (cls,), {"_is_instance_class": True})
        return super().__new__(impl)

    def __init__(self, root, graph: Graph, class_name: str = "GraphModule"):
        super().__init__()
        type(self).__name__ = class_name
        type(self).__qualname__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but "
                                           "that target was not provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.graph = graph

    @property
    def graph(self) -> Graph:
        """The graph this module runs; setting it regenerates ``forward``."""
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        object.__setattr__(self, "_graph", g)
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of the generated ``forward``."""
        return self._code

    def recompile(self):
        """Regenerate ``forward`` from ``self.graph`` (after editing the graph).

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: x + 1)
            >>> import operator
            >>> for node in gm.graph.nodes:
            ...     if node.target is operator.add:
            ...         node.target = operator.mul
            >>> _ = gm.recompile()
            >>> gm(ember.tensor([3.0]))
            tensor([3.])
        """
        code = self._graph.python_code("self")
        object.__setattr__(self, "_code", code.src)
        namespace = dict(code.globals)
        exec(compile(code.src, f"<eval_with_key>.{id(self)}", "exec"), namespace)
        type(self).forward = namespace["forward"]
        return code

    def print_readable(self, print_output: bool = True, include_stride: bool = False,
                       include_device: bool = False, colored: bool = False,
                       expanded_def: bool = False) -> str:
        """The module as a class definition: its generated forward, and each GraphModule
        child's, indented.

        Example:
            >>> text = ember.fx.symbolic_trace(lambda x: x + 1).print_readable(False)
        """
        text = self._readable(type(self).__name__)
        if print_output:
            print(text)
        return text

    def _readable(self, name: str) -> str:
        lines = [f"class {name}(torch.nn.Module):"]
        for child_name, child in self.named_children():
            if isinstance(child, GraphModule):
                inner = child._readable(child_name)
                lines.extend("    " + ln if ln else ln for ln in inner.rstrip("\n").split("\n"))
        body = self._code.strip("\n").split("\n")
        header, rest = body[0], [ln for ln in body[1:] if ln.strip()]
        lines.append("    " + header)
        lines.append("        # No stacktrace found for following nodes")
        lines.extend("    " + ln for ln in rest)
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return "\n".join([Module.__repr__(self), self._code,
                          "# To see more debug info, please use "
                          "`graph_module.print_readable()`"])

    # Each instance has its own class (for its forward), so copies and unpickled modules are
    # rebuilt through __new__ and get a class of their own, then regenerate their code. Like
    # torch's, they are named plain "GraphModule".
    def _state(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}

    def __reduce__(self):
        return (_rebuild_graph_module, (self._state(), self._graph))

    def __deepcopy__(self, memo):
        import copy

        copied = _rebuild_graph_module(copy.deepcopy(self._state(), memo),
                                       copy.deepcopy(self._graph, memo))
        memo[id(self)] = copied
        return copied

    def __copy__(self):
        return _rebuild_graph_module(dict(self._state()), self._graph)

    def add_submodule(self, target: str, m: Module) -> bool:
        """Install ``m`` at the dotted path ``target`` (making plain Modules on the way)."""
        _assign_attr(m, self, target)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; False if there was none."""
        path, last = _split(target)
        mod = self
        for part in path:
            mod = mod._modules.get(part)
            if mod is None:
                return False
        if last not in mod._modules:
            return False
        delattr(mod, last)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Remove the submodules no ``call_module``/``get_attr`` node refers to."""
        used = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                parts = str(node.target).split(".")
                used.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)


def _rebuild_graph_module(state: dict, graph: Graph) -> GraphModule:
    module = GraphModule.__new__(GraphModule)
    module.__dict__.update(state)
    module.graph = graph
    return module
