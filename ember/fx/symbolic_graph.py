"""The graph of a symbolic trace (``torch.fx.Graph``): nodes in a linked list, editable.

``symbolic_trace`` fills one; passes read and rewrite it (``graph.inserting_after(node)``,
``graph.call_function(...)``, ``node.replace_all_uses_with(...)``, ``graph.erase_node(...)``,
``graph.eliminate_dead_code()``, ``graph.lint()``), and :class:`~ember.fx.GraphModule`
regenerates its Python code from it (``gm.recompile()``).

This is a different class from :class:`ember.fx.graph.Graph`, the op-level graph that
``ember.fx.capture`` records for ONNX export, ``jit`` and ``compile``: that one lists ember's
internal ops in execution order and carries shapes; this one holds the user's program as
written, at the level of modules, functions and methods.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import keyword
import re

from .codegen import python_code
from .node import Node, _public_names, map_aggregate, map_arg

__all__ = ["Graph"]

_RESERVED = set(dir(builtins)) | set(keyword.kwlist) | {"self", "torch"}


class _Namespace:
    """Unique, valid Python names for nodes (``add``, ``add_1`` ...; names that would shadow a
    builtin or keyword, such as ``sum`` or ``getattr``, start at ``_1``)."""

    def __init__(self):
        self.used: set = set()
        self.next_suffix: dict = {}

    def create_name(self, candidate: str) -> str:
        candidate = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", candidate).lower() \
            if any(c.isupper() for c in candidate) and "_" not in candidate else candidate
        candidate = re.sub(r"[^0-9a-zA-Z_]+", "_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = "_" + candidate
        match = re.fullmatch(r"(.*)_(\d+)", candidate)
        base = match.group(1) if match else candidate
        if candidate not in self.used and candidate not in _RESERVED:
            name = candidate
        else:
            k = self.next_suffix.get(base, 1)
            while f"{base}_{k}" in self.used:
                k += 1
            name = f"{base}_{k}"
            self.next_suffix[base] = k + 1
        self.used.add(name)
        return name


class _NodeList:
    """The graph's nodes in order; a live view that survives erasing the node being visited."""

    def __init__(self, graph, reverse: bool = False):
        self.graph = graph
        self.reverse = reverse

    def __len__(self) -> int:
        return self.graph._len

    def __iter__(self):
        root = self.graph._root
        step = "_prev" if self.reverse else "_next"
        cur = getattr(root, step)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, step)

    def __reversed__(self):
        return iter(_NodeList(self.graph, not self.reverse))

    def __repr__(self) -> str:
        return f"<ember.fx.graph._node_list of {len(self)} nodes>"


class Graph:
    """A program as a list of :class:`~ember.fx.Node` statements (``torch.fx.Graph``).

    Example:
        >>> g = ember.fx.Graph()
        >>> x = g.placeholder("x")
        >>> g.output(g.call_function(ember.relu, (x,)))
        output
        >>> print(g.python_code("self").src.strip())
        def forward(self, x):
            relu = torch.relu(x);  x = None
            return relu
    """

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras=None):
        self._root = Node(self, "", "root", "", (), {})
        self._len = 0
        self._namespace = _Namespace()
        self._insert = self._root.prepend
        self.owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras

    @property
    def nodes(self) -> _NodeList:
        """The nodes in program order (iterate, ``len()``, ``reversed()``)."""
        return _NodeList(self)

    # -- building -------------------------------------------------------------------------------
    def create_node(self, op: str, target, args=None, kwargs=None, name=None,
                    type_expr=None) -> Node:
        """Insert a node at the current insertion point (the end, unless inside
        ``inserting_before``/``inserting_after``)."""
        if name is None:
            if op == "call_function":
                name = getattr(target, "__name__", None) or "call_function"
            elif op == "output":
                name = "output"
            else:
                name = str(target).lstrip("*")
        node = Node(self, self._namespace.create_name(name), op, target, args or (),
                    kwargs or {}, type_expr)
        self._insert(node)
        self._len += 1
        return node

    def placeholder(self, name: str, type_expr=None, default_value=inspect.Signature.empty):
        """An input of the generated ``forward`` (with a default when ``default_value`` is
        given)."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr=None) -> Node:
        """Read an attribute (parameter, buffer, tensor constant) of the owning module."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None) -> Node:
        """Call ``the_function(*args, **kwargs)``."""
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        """Call ``args[0].method_name(*args[1:], **kwargs)``."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_module(self, module_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        """Call the submodule at the dotted path ``module_name``."""
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def output(self, result, type_expr=None) -> Node:
        """The value the generated ``forward`` returns."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform=lambda x: x) -> Node:
        """Copy ``node`` (from another graph) here, mapping its input nodes with
        ``arg_transform``."""
        copy = self.create_node(node.op, node.target, map_arg(node.args, arg_transform),
                                map_arg(node.kwargs, arg_transform), node.name, node.type)
        copy.meta = dict(node.meta)
        return copy

    def graph_copy(self, g: Graph, val_map: dict, return_output_values: bool = False):
        """Copy every node of ``g`` except its output here; ``val_map`` maps old to new nodes.
        Returns the (mapped) output value when ``return_output_values``."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                out = map_arg(node.args[0], lambda n: val_map[n])
                return out if return_output_values else None
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    @contextlib.contextmanager
    def _inserting(self, insert):
        previous = self._insert
        self._insert = insert
        try:
            yield
        finally:
            self._insert = previous

    def inserting_before(self, n: Node | None = None):
        """Context manager: new nodes go just before ``n`` (the end of the graph if None).

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: x + 1)
            >>> add = list(gm.graph.nodes)[1]
            >>> with gm.graph.inserting_before(add):
            ...     neg = gm.graph.call_function(ember.neg, (add.args[0],))
        """
        return self._inserting((n or self._root).prepend)

    def inserting_after(self, n: Node | None = None):
        """Context manager: new nodes go just after ``n`` (each after the previous one; the
        start of the graph if None).

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: x + 1)
            >>> add = list(gm.graph.nodes)[1]
            >>> with gm.graph.inserting_after(add):
            ...     relu = gm.graph.call_function(ember.relu, (add,))
        """
        anchor = n or self._root

        def insert(node, state=[anchor]):  # noqa: B006 - the anchor moves as nodes go in
            state[0].append(node)
            state[0] = node

        return self._inserting(insert)

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node nobody uses any more.

        Raises:
            RuntimeError: if the node still has users.
        """
        if to_erase.users:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})

    def eliminate_dead_code(self, is_impure_node=None) -> bool:
        """Erase nodes whose values nothing uses (inputs, outputs and impure calls stay).
        Returns whether anything changed.

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: (x.relu(), x + 1)[1])
            >>> gm.graph.eliminate_dead_code()
            True
        """
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and not node.users:
                self.erase_node(node)
                changed = True
        return changed

    def find_nodes(self, *, op: str, target=None) -> list:
        """The nodes with this ``op`` (and ``target``, when given), in order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # -- copying and pickling -----------------------------------------------------------------
    # Nodes form a linked list, which copy/pickle would follow recursively (one stack frame per
    # node); both go through a flat list of records instead.
    def _records(self) -> list:
        index = {}
        records = []
        for i, node in enumerate(self.nodes):
            index[node] = i

            def ref(n):
                return _NodeRef(index[n])

            records.append((node.op, node.name, _PublicFunction.of(node.target),
                            map_arg(node.args, ref), map_arg(node.kwargs, ref), node.type,
                            dict(node.meta)))
        return records

    @classmethod
    def _from_records(cls, records: list) -> Graph:
        graph = cls()
        made: list = []

        def load(value):
            return map_aggregate(value, lambda v: made[v.index] if isinstance(v, _NodeRef)
                                 else v)

        for op, name, target, args, kwargs, type_expr, meta in records:
            if isinstance(target, _PublicFunction):
                target = target.resolve()
            node = graph.create_node(op, target, load(args), load(kwargs), name, type_expr)
            node.meta = meta
            made.append(node)
        return graph

    def __reduce__(self):
        return (_graph_from_records, (self._records(),))

    def __deepcopy__(self, memo):
        import copy

        copied = Graph._from_records(copy.deepcopy(self._records(), memo))
        memo[id(self)] = copied
        return copied

    # -- checking and printing ----------------------------------------------------------------
    def lint(self) -> None:
        """Check the graph is well formed: every node belongs here, inputs are defined before
        they are used, names are unique, and ``get_attr``/``call_module`` targets exist on the
        owning module.

        Raises:
            RuntimeError: naming the first problem found.
        """
        seen: set = set()
        names: set = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for inp in node.all_input_nodes:
                if inp.graph is not self:
                    raise RuntimeError(f"Argument '{inp}' of Node '{node}' does not belong to "
                                       "this Graph, but was used as an argument! If you are "
                                       "copying nodes from another graph, make sure to use "
                                       "``arg_transform`` on node_copy() to remap values")
                if inp not in seen:
                    raise RuntimeError(f"Argument '{inp}' of Node '{node}' was used before it "
                                       "has been defined! Please check that Nodes in the graph "
                                       "are topologically ordered")
            if node.name in names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            names.add(node.name)
            seen.add(node)
            if self.owning_module is not None and node.op in ("get_attr", "call_module"):
                obj = self.owning_module
                for part in str(node.target).split("."):
                    if not hasattr(obj, part):
                        raise RuntimeError(f"Node {node} target {node.target} references "
                                           "nonexistent attribute")
                    obj = getattr(obj, part)

    def python_code(self, root_module: str = "self"):
        """The generated source (``.src``) and the globals it runs with (``.globals``)."""
        return python_code(self, root_module)

    def __str__(self) -> str:
        lines = ["graph():"] + ["    " + n.format_node() for n in self.nodes]
        return "\n".join(lines)

    def print_tabular(self) -> None:
        """Print the nodes as a table (opcode, name, target, args, kwargs) with ``tabulate``.

        Example:
            >>> ember.fx.symbolic_trace(lambda x: x + 1).graph.print_tabular()
            opcode         name    target                   args    kwargs
            -------------  ------  -----------------------  ------  --------
            placeholder    x       x                        ()      {}
            call_function  add     <built-in function add>  (x, 1)  {}
            output         output  output                   (add,)  {}
        """
        try:
            from tabulate import tabulate
        except ImportError:
            print("`print_tabular` relies on the library `tabulate`, which could not be found "
                  "on this machine. Run `pip install tabulate` to install the library.")
            raise
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(rows, headers=["opcode", "name", "target", "args", "kwargs"]))


class _NodeRef:
    """A node by position, in a graph's pickled records."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __reduce__(self):
        return (_NodeRef, (self.index,))


class _PublicFunction:
    """An ember public function by its torch-style name (``torch.nn.functional.relu``): many
    are wrapped, so pickle cannot find them under their ``__module__``."""

    __slots__ = ("qualname",)

    def __init__(self, qualname: str):
        self.qualname = qualname

    @staticmethod
    def of(target):
        entry = _public_names().get(id(target)) if callable(target) else None
        return _PublicFunction(entry[1]) if entry is not None and entry[0] is target \
            else target

    def resolve(self):
        import importlib

        module, _, name = ("ember" + self.qualname[len("torch"):]).rpartition(".")
        return getattr(importlib.import_module(module), name)

    def __reduce__(self):
        return (_PublicFunction, (self.qualname,))


def _graph_from_records(records: list) -> Graph:
    return Graph._from_records(records)
