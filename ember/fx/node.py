"""The node of a symbolically traced graph (``torch.fx.Node``), and helpers that walk arguments.

A :class:`Node` is one statement of a :class:`~ember.fx.symbolic_graph.Graph`: its ``op``
(``placeholder``, ``get_attr``, ``call_function``, ``call_method``, ``call_module`` or
``output``), its ``target`` and its ``args``/``kwargs``, in which earlier nodes appear as
:class:`Node` objects. Nodes sit in a doubly linked list owned by their graph, so a pass can
insert and erase nodes while it walks the graph, and each node knows its ``users``.
"""

from __future__ import annotations

import builtins
import operator
import types

__all__ = ["Node", "map_arg", "map_aggregate"]


def map_aggregate(a, fn):
    """``a`` with ``fn`` applied to every leaf of its nested tuples, lists, dicts and slices.

    Example:
        >>> ember.fx.node.map_aggregate((1, [2, 3]), lambda v: v * 10)
        (10, [20, 30])
    """
    if isinstance(a, tuple):
        mapped = tuple(map_aggregate(v, fn) for v in a)
        # namedtuples (torch.return_types-like results) keep their type
        return type(a)(*mapped) if hasattr(a, "_fields") else mapped
    if isinstance(a, list):
        return [map_aggregate(v, fn) for v in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn):
    """``a`` with ``fn`` applied to every :class:`Node` inside it (other leaves unchanged).

    Example:
        >>> gm = ember.fx.symbolic_trace(lambda x: x + 1)
        >>> add = list(gm.graph.nodes)[1]
        >>> ember.fx.map_arg(add.args, lambda n: n.name)
        ('x', 1)
    """
    return map_aggregate(a, lambda v: fn(v) if isinstance(v, Node) else v)


def _collect_nodes(value, found: dict) -> None:
    map_arg(value, lambda n: found.setdefault(n, None))


# Names of ember's public functions as torch spells them (``torch.nn.functional.relu``); filled
# on first use from ember's namespaces (see _public_namespaces), so importing fx costs nothing.
_QUALNAMES: dict = {}
_NAMESPACES = ("", "nn.functional", "special", "linalg", "fft")


def _public_names() -> dict:
    if not _QUALNAMES:
        import importlib

        for suffix in reversed(_NAMESPACES):  # the top level wins where one object has two names
            module = importlib.import_module("ember" + ("." + suffix if suffix else ""))
            prefix = "torch" + ("." + suffix if suffix else "")
            chosen: dict = {}
            for name, value in vars(module).items():
                if not name.startswith("__") and isinstance(value, types.FunctionType) and \
                        (id(value) not in chosen or name == value.__name__):
                    chosen[id(value)] = (value, f"{prefix}.{name}")  # mul, not its alias
            _QUALNAMES.update(chosen)
    return _QUALNAMES


def _is_builtin(func) -> bool:
    return getattr(builtins, getattr(func, "__name__", ""), None) is func


def _is_operator(func) -> bool:
    return getattr(operator, getattr(func, "__name__", ""), None) is func


def _get_qualified_name(func) -> str:
    """The dotted name of ``func`` as torch.fx spells it: ``getattr`` for builtins,
    ``_operator.add``, ``torch.relu``/``torch.nn.functional.relu`` for ember's public
    functions, else the function's own module and name."""
    if _is_builtin(func):
        return func.__name__
    entry = _public_names().get(id(func))
    if entry is not None and entry[0] is func:
        return entry[1]
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    if module == "ember" or module.startswith("ember."):
        module = "torch" + module[len("ember"):]
    return f"{module}.{name}" if module else name


def _format_target(node: Node) -> str:
    """The target as ``print(graph)`` shows it (``operator.add``, ``builtins.getattr``)."""
    if node.op == "call_function" and callable(node.target):
        if _is_builtin(node.target):
            return f"builtins.{node.target.__name__}"
        if _is_operator(node.target):
            return f"operator.{node.target.__name__}"
        return _get_qualified_name(node.target)
    return str(node.target)


def _format_arg(value) -> str:
    if isinstance(value, Node):
        return f"%{value.name}"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        items = ", ".join(_format_arg(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, list):
        return "[" + ", ".join(_format_arg(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in value.items()) + "}"
    return str(value)


class Node:
    """One statement of a traced :class:`~ember.fx.Graph` (``torch.fx.Node``).

    Attributes:
        name: unique name in the graph, also the variable name in the generated code.
        op: ``placeholder``, ``get_attr``, ``call_function``, ``call_method``, ``call_module`` or
            ``output``.
        target: the argument name, an attribute's or submodule's dotted path, the function
            called, or the method's name.
        args, kwargs: the arguments (setting them updates ``users`` of the nodes inside).
        users: the nodes that read this one (a dict used as an ordered set).
        meta: free-form information passes attach (``ShapeProp``-style passes fill it).

    Example:
        >>> gm = ember.fx.symbolic_trace(lambda x: x.relu() + 1)
        >>> [n.op for n in gm.graph.nodes]
        ['placeholder', 'call_method', 'call_function', 'output']
    """

    def __init__(self, graph, name: str, op: str, target, args, kwargs, return_type=None):
        if op not in ("placeholder", "get_attr", "call_function", "call_method", "call_module",
                      "output", "root"):
            raise ValueError(f"Unknown op {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target).__name__} but a Callable is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.type = return_type
        self.users: dict = {}
        self.meta: dict = {}
        self._input_nodes: dict = {}
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._prev = self
        self._next = self
        self._erased = False
        self._update_args_kwargs(tuple(args), dict(kwargs))

    # -- neighbours in the graph's list -----------------------------------------------------
    @property
    def next(self) -> Node:
        """The node after this one (the graph's root sentinel after the last)."""
        return self._next

    @property
    def prev(self) -> Node:
        """The node before this one."""
        return self._prev

    def prepend(self, x: Node) -> None:
        """Move or insert ``x`` just before this node."""
        if x is self:
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev, x._next, self._prev = x, p, self, x

    def append(self, x: Node) -> None:
        """Move or insert ``x`` just after this node."""
        self._next.prepend(x)

    def _remove_from_list(self) -> None:
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # -- arguments and uses -------------------------------------------------------------------
    @property
    def args(self) -> tuple:
        return self._args

    @args.setter
    def args(self, value) -> None:
        self._update_args_kwargs(tuple(value), self._kwargs)

    @property
    def kwargs(self) -> dict:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value) -> None:
        self._update_args_kwargs(self._args, dict(value))

    @property
    def all_input_nodes(self) -> list:
        """The nodes this node reads, in order of appearance, each once."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, args: tuple, kwargs: dict) -> None:
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._args, self._kwargs = args, kwargs
        found: dict = {}
        _collect_nodes((args, kwargs), found)
        self._input_nodes = found
        for inp in found:
            inp.users.setdefault(self, None)

    def update_arg(self, idx: int, arg) -> None:
        """Set ``args[idx]``."""
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg) -> None:
        """Set ``kwargs[key]``."""
        kwargs = dict(self._kwargs)
        kwargs[key] = arg
        self.kwargs = kwargs

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Read ``new_input`` wherever this node read ``old_input``."""
        def swap(n):
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with: Node, delete_user_cb=lambda user: True, *,
                              propagate_meta: bool = False) -> list:
        """Make every user of this node read ``replace_with`` instead; returns those users.

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: x.relu() + 1)
            >>> relu = list(gm.graph.nodes)[1]
            >>> relu.replace_all_uses_with(relu.args[0])
            [add]
        """
        if propagate_meta:
            for k, v in self.meta.items():
                replace_with.meta.setdefault(k, v)
        changed = []
        for user in list(self.users):
            if not delete_user_cb(user):
                continue
            user.replace_input_with(self, replace_with)
            changed.append(user)
        return changed

    # -- printing -------------------------------------------------------------------------------
    def format_node(self, placeholder_names=None, maybe_return_typename=None) -> str:
        """The node as one line of ``print(graph)``.

        Example:
            >>> gm = ember.fx.symbolic_trace(lambda x: x + 1)
            >>> list(gm.graph.nodes)[1].format_node()
            '%add : [num_users=1] = call_function[target=operator.add](args = (%x, 1), kwargs = {})'
        """
        if self.op == "output":
            return f"return {_format_arg(self.args[0])[1:] if isinstance(self.args[0], Node) else _format_output(self.args[0])}"  # noqa: E501
        head = f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target={_format_target(self)}]"  # noqa: E501
        if self.op == "placeholder":
            if self.args:
                return f"{head}(default={self.args[0]})"
            return head
        if self.op == "get_attr":
            return head
        return f"{head}(args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})"

    def __repr__(self) -> str:
        return self.name

    def is_impure(self) -> bool:
        """Whether dead-code elimination must keep this node (inputs, outputs, in-place
        methods, calls to modules whose effects are unknown are kept; pure calls are not)."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_method":
            return str(self.target).endswith("_") and not str(self.target).endswith("__")
        if self.op == "call_function":
            return getattr(self.target, "__name__", "") in ("_assert", "_assert_is_none")
        return False


def _format_output(value) -> str:
    return map_arg(value, lambda n: _NameOnly(n.name)).__repr__()


class _NameOnly:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name
