"""The captured graph: nodes in execution order, printed as a table, as text or as Graphviz.

A node's ``op`` is one of torch.fx's opcodes: ``placeholder`` (an input), ``get_attr`` (a
parameter, buffer or constant tensor, by name), ``call_function`` (an ember op applied to
earlier nodes and constants) and ``output`` (what the function returned, as its tuple/dict
structure of nodes).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["Graph", "Node"]


def op_name(target) -> str:
    """The readable name of a node's target: ``Linear`` -> ``linear``, ``NormAffine`` ->
    ``norm_affine``; functions keep their own name."""
    name = getattr(target, "_fx_name", None) or getattr(target, "__name__", None) or str(target)
    if isinstance(target, type):
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return name


class Node:
    """One step of a :class:`Graph`.

    Attributes:
        name: unique name in the graph (``linear``, ``linear_1`` ...).
        op: ``placeholder``, ``get_attr``, ``call_function`` or ``output``.
        target: the input name, the attribute's dotted name, or the op (an ember ``Op`` class or
            a function).
        args, kwargs: the arguments; earlier nodes appear as :class:`Node` objects.
        meta: ``shape``, ``dtype``, ``module_path`` (the submodule that ran the op, dotted),
            ``module_type``, ``source`` (``file:line`` of the user code) and ``traced`` (whether
            the value depends on an input).

    Example:
        >>> g = ember.fx.capture(ember.nn.Linear(3, 2), ember.randn(1, 3))
        >>> [n.op for n in g.nodes]
        ['placeholder', 'get_attr', 'get_attr', 'call_function', 'output']
    """

    __slots__ = ("name", "op", "target", "args", "kwargs", "meta", "users", "graph")

    def __init__(self, graph, name, op, target, args=(), kwargs=None, meta=None):
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.meta = dict(meta or {})
        self.users: dict = {}
        for inp in self.all_input_nodes:
            inp.users[self] = None

    @property
    def all_input_nodes(self) -> list:
        """The nodes this node reads, in order, each once."""
        found: dict = {}
        _walk_nodes((self.args, self.kwargs), found)
        return list(found)

    @property
    def target_name(self) -> str:
        return op_name(self.target) if self.op == "call_function" else str(self.target)

    def format_node(self) -> str:
        """One line in torch.fx's style: ``%name : [num_users=1] = op[target=...](args = ...)``."""
        if self.op == "output":
            out = self.args[0]
            return f"return {out.name if isinstance(out, Node) else _fmt(out)}"
        head = (f"%{self.name} : [num_users={len(self.users)}] = "
                f"{self.op}[target={self.target_name}]")
        if self.op in ("placeholder", "get_attr"):
            return head
        return f"{head}(args = {_fmt(self.args)}, kwargs = {_fmt(self.kwargs)})"

    def __repr__(self) -> str:
        return self.name


def _walk_nodes(value, found):
    if isinstance(value, Node):
        found[value] = None
    elif isinstance(value, (tuple, list)):
        for v in value:
            _walk_nodes(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _walk_nodes(v, found)


def map_nodes(value, fn):
    """``value`` (nested tuples, lists and dicts) with every :class:`Node` replaced by
    ``fn(node)``."""
    if isinstance(value, Node):
        return fn(value)
    if isinstance(value, tuple):
        return tuple(map_nodes(v, fn) for v in value)
    if isinstance(value, list):
        return [map_nodes(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_nodes(v, fn) for k, v in value.items()}
    return value


def _fmt(value) -> str:
    if isinstance(value, Node):
        return f"%{value.name}"
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.generic):
        return repr(value.item())
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, type):
        return f"<array {tuple(value.shape)}>"
    if callable(value) and not isinstance(value, type):
        return f"<{getattr(value, '__name__', type(value).__name__)}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Graph:
    """A captured computation: :class:`Node` objects in execution order.

    ``attributes`` maps each ``get_attr`` target to its tensor (parameters and buffers of the
    module, and constant tensors the function created, named ``_tensor_constant0`` ...).

    Example:
        >>> g = ember.fx.capture(lambda x: (x * 2).relu(), ember.randn(3))
        >>> print(g)
        graph():
            %x : [num_users=1] = placeholder[target=x]
            %mul : [num_users=1] = call_function[target=mul](args = (%x, 2), kwargs = {})
            %relu : [num_users=1] = call_function[target=relu](args = (%mul,), kwargs = {})
            return relu
    """

    def __init__(self):
        self.nodes: list = []
        self.attributes: dict = {}
        self._names: dict = {}

    # -- building -------------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        base = re.sub(r"\W", "_", base) or "node"
        if base[0].isdigit():
            base = "_" + base
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        while name in self._names and name != base:
            n += 1
            self._names[base] = n + 1
            name = f"{base}_{n}"
        self._names.setdefault(name, 1)
        return name

    def create_node(self, op, target, args=(), kwargs=None, name=None, meta=None) -> Node:
        """Append a node; ``name`` defaults to the target's readable name, made unique."""
        base = name or (op_name(target) if op == "call_function" else str(target))
        node = Node(self, self._unique(base), op, target, args, kwargs, meta)
        self.nodes.append(node)
        return node

    def placeholder(self, name: str, meta=None) -> Node:
        return self.create_node("placeholder", name, name=name, meta=meta)

    def get_attr(self, target: str, tensor, meta=None) -> Node:
        self.attributes[target] = tensor
        return self.create_node("get_attr", target, name=target.replace(".", "_"), meta=meta)

    def call_function(self, target, args=(), kwargs=None, meta=None) -> Node:
        return self.create_node("call_function", target, args, kwargs, meta=meta)

    def output(self, structure) -> Node:
        return self.create_node("output", "output", (structure,), name="output")

    # -- reading --------------------------------------------------------------------------------
    @property
    def placeholders(self) -> list:
        return [n for n in self.nodes if n.op == "placeholder"]

    @property
    def output_node(self) -> Node:
        return self.nodes[-1]

    def eliminate_dead_code(self) -> None:
        """Drop call_function/get_attr nodes no output depends on (ops the capture saw but
        whose results were never used)."""
        live = set()
        for node in reversed(self.nodes):
            if node.op in ("output", "placeholder") or node in live:
                live.add(node)
                live.update(node.all_input_nodes)
        for node in [n for n in self.nodes if n not in live]:
            for inp in node.all_input_nodes:
                inp.users.pop(node, None)
            if node.op == "get_attr" and not any(
                    n.op == "get_attr" and n.target == node.target for n in live):
                self.attributes.pop(node.target, None)
        self.nodes = [n for n in self.nodes if n in live]

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __str__(self) -> str:
        lines = ["graph():"] + ["    " + n.format_node() for n in self.nodes]
        return "\n".join(lines)

    __repr__ = __str__

    def tabular(self) -> str:
        """The table :meth:`print_tabular` prints."""
        rows = [("opcode", "name", "target", "args", "kwargs", "shape", "module")]
        for n in self.nodes:
            shape = n.meta.get("shape")
            rows.append((n.op, n.name, n.target_name if n.op != "output" else "output",
                         _fmt(n.args), _fmt(n.kwargs),
                         "" if shape is None else str(list(shape)),
                         n.meta.get("module_path", "")))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out = []
        for k, r in enumerate(rows):
            out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def print_tabular(self) -> None:
        """Print one row per node: opcode, name, target, args, kwargs, shape and the submodule
        that ran it (torch.fx's table, with shapes; no ``tabulate`` needed).

        Example:
            >>> ember.fx.capture(ember.nn.ReLU(), ember.randn(2)).print_tabular()
        """
        print(self.tabular())

    def to_dot(self, name: str = "graph", show_attributes: bool = True) -> str:
        """The graph in Graphviz's DOT language (render with ``dot -Tsvg``; no Graphviz needed
        to produce it). Inputs are ellipses, parameters grey boxes, ops boxes labelled with the
        op, the output shape and the submodule.

        Example:
            >>> text = ember.fx.capture(ember.nn.Linear(3, 2), ember.randn(1, 3)).to_dot()
            >>> text.startswith("digraph")
            True
        """
        lines = [f"digraph {_dot_id(name)} {{", "  rankdir=TB;",
                 '  node [fontname="Helvetica", fontsize=10];']
        for n in self.nodes:
            if n.op == "get_attr" and not show_attributes:
                continue
            shape = n.meta.get("shape")
            shape_text = "" if shape is None else "\\n" + str(list(shape))
            if n.op == "placeholder":
                attrs = f'label="{n.name}{shape_text}", shape=ellipse, style=filled, ' \
                        'fillcolor="#cde4ff"'
            elif n.op == "get_attr":
                attrs = f'label="{n.target}{shape_text}", shape=box, style=filled, ' \
                        'fillcolor="#e8e8e8"'
            elif n.op == "output":
                attrs = 'label="output", shape=doublecircle'
            else:
                where = n.meta.get("module_path")
                where = f"\\n({where})" if where else ""
                attrs = f'label="{n.target_name}{shape_text}{where}", shape=box'
            lines.append(f"  {_dot_id(n.name)} [{attrs}];")
        for n in self.nodes:
            for inp in n.all_input_nodes:
                if inp.op == "get_attr" and not show_attributes:
                    continue
                lines.append(f"  {_dot_id(inp.name)} -> {_dot_id(n.name)};")
        lines.append("}")
        return "\n".join(lines)


def _dot_id(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'
