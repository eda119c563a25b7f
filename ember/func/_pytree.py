"""Nested containers of tensors ("pytrees") as torch.func reads them: flatten to leaves and
a ``TreeSpec``, rebuild from leaves, and broadcast an ``in_dims``/``out_dims`` prefix tree.

Containers are tuples, lists, dicts (``OrderedDict``, ``defaultdict``) and namedtuples;
anything else, ``None`` included, is a leaf. A spec prints as ``torch.utils._pytree`` prints
its own, because vmap's and jvp's error messages show them.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


def _node_kind(obj):
    """The container type ``obj`` flattens as, or None for a leaf."""
    if _is_namedtuple(obj):
        return "namedtuple"
    for kind in (tuple, list, OrderedDict, defaultdict, dict):
        if type(obj) is kind:
            return kind
    return None


def _children(obj, kind):
    """``(children, context)``: what the spec must match besides the children's own specs."""
    if kind in (tuple, list):
        return list(obj), None
    if kind == "namedtuple":
        return list(obj), type(obj)
    if kind is defaultdict:
        return list(obj.values()), [obj.default_factory, list(obj.keys())]
    return list(obj.values()), list(obj.keys())


def _rebuild(kind, context, children):
    if kind is tuple:
        return tuple(children)
    if kind is list:
        return list(children)
    if kind == "namedtuple":
        return context(*children)
    if kind is defaultdict:
        return defaultdict(context[0], zip(context[1], children))
    return kind(zip(context, children))


class TreeSpec:
    """The structure of a flattened pytree (``None`` kind: a leaf).

    Example:
        >>> leaves, spec = tree_flatten((x, {"w": w}))
        >>> tree_unflatten(leaves, spec)
    """

    __slots__ = ("kind", "context", "children", "num_leaves")

    def __init__(self, kind=None, context=None, children=()):
        self.kind = kind
        self.context = context
        self.children = list(children)
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in self.children)

    def is_leaf(self) -> bool:
        return self.kind is None

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind == other.kind
                and self.context == other.context and self.children == other.children)

    def __hash__(self):
        return id(self)

    def __repr__(self, indent: int = 0) -> str:
        if self.kind is None:
            return "*"
        name = "namedtuple" if self.kind == "namedtuple" else self.kind.__name__
        inner = ""
        if self.children:
            indent += 2
            inner = self.children[0].__repr__(indent) + ("," if len(self.children) > 1 else "")
            inner += ",".join("\n" + " " * indent + c.__repr__(indent)
                              for c in self.children[1:])
        return f"TreeSpec({name}, {self.context}, [{inner}])"


_LEAF = TreeSpec()


def tree_flatten(tree):
    """``(leaves, spec)`` for ``tree``.

    Example:
        >>> tree_flatten((1, [2, 3]))[0]
        [1, 2, 3]
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    kind = _node_kind(tree)
    if kind is None:
        leaves.append(tree)
        return _LEAF
    children, context = _children(tree, kind)
    return TreeSpec(kind, context, [_flatten(c, leaves) for c in children])


def tree_unflatten(leaves, spec: TreeSpec):
    """Rebuild the tree that ``spec`` describes from ``leaves``.

    Example:
        >>> leaves, spec = tree_flatten({"a": 1})
        >>> tree_unflatten([5], spec)
        {'a': 5}
    """
    it = iter(leaves)
    out = _unflatten(it, spec)
    return out


def _unflatten(it, spec):
    if spec.kind is None:
        return next(it)
    return _rebuild(spec.kind, spec.context, [_unflatten(it, c) for c in spec.children])


def tree_map(fn, tree):
    """``tree`` with ``fn`` applied to every leaf.

    Example:
        >>> tree_map(lambda v: v * 2, {"a": 1})
        {'a': 2}
    """
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(v) for v in leaves], spec)


def broadcast_to_and_flatten(prefix, spec: TreeSpec):
    """The leaves of ``prefix`` (a tree whose leaves each cover a whole subtree of ``spec``)
    repeated over the leaves of ``spec``; None when the structures do not match."""
    kind = _node_kind(prefix)
    if kind is None:
        return [prefix] * spec.num_leaves
    if spec.kind is None or kind != spec.kind:
        return None
    children, context = _children(prefix, kind)
    if len(children) != len(spec.children) or context != spec.context:
        return None
    out: list = []
    for child, child_spec in zip(children, spec.children):
        flat = broadcast_to_and_flatten(child, child_spec)
        if flat is None:
            return None
        out += flat
    return out


class _Star:
    def __repr__(self):
        return "*"


def spec_pprint(spec: TreeSpec) -> str:
    """The tree with ``*`` for each leaf, as PyTorch's ``treespec_pprint`` shows it."""
    return repr(tree_unflatten([_Star() for _ in range(spec.num_leaves)], spec))
