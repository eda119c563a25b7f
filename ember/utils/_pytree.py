"""Pytrees, as ``torch.utils._pytree``: nested containers (list, tuple, dict, namedtuple,
OrderedDict, defaultdict, deque, and registered types) flattened to a list of leaves and a
``TreeSpec`` that rebuilds them.

Libraries written against torch (optimizers' state walks, ``tree_map`` over a batch) import
this module by its private path, so ember keeps torch's path, names, flatten order
(insertion order for dicts, fields in order for namedtuples), ``TreeSpec`` repr, JSON
serialization and error messages. ``ember.func`` builds on the same registry.

Example:
    >>> leaves, spec = tree_flatten({"a": [1, 2], "b": (3, None)})
    >>> leaves
    [1, 2, 3, None]
    >>> tree_unflatten([x * 10 for x in leaves[:3]] + [None], spec)
    {'a': [10, 20], 'b': (30, None)}
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import threading
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable
from enum import Enum
from typing import Any

__all__ = [
    "PyTree", "Context", "FlattenFn", "UnflattenFn", "DumpableContext", "ToDumpableContextFn",
    "FromDumpableContextFn", "PyTreeSpec", "TreeSpec", "LeafSpec", "keystr", "key_get",
    "register_pytree_node", "tree_is_leaf", "tree_flatten", "tree_flatten_with_path",
    "tree_unflatten", "tree_iter", "tree_leaves", "tree_leaves_with_path", "tree_structure",
    "tree_map", "tree_map_with_path", "tree_map_", "tree_map_only", "tree_map_only_", "tree_all",
    "tree_any", "tree_all_only", "tree_any_only", "treespec_dumps", "treespec_loads",
    "treespec_pprint", "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance",
    "is_structseq", "is_structseq_class", "is_structseq_instance",
]

# type aliases torch exports for annotations
PyTree = Any
Context = Any
DumpableContext = Any
FlattenFn = Callable[[PyTree], tuple[list, Context]]
UnflattenFn = Callable[[list, Context], PyTree]
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]
KeyPath = tuple

_UNNAMED = "NO_SERIALIZED_TYPE_NAME_FOUND"  # the name torch's JSON uses for "no name given"
_PROTOCOL = 1


# -- the registry ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NodeDef:
    """How one container type flattens and rebuilds, and how ``treespec_dumps`` names it.

    Example:
        >>> SUPPORTED_NODES[list].type
        <class 'list'>
    """

    type: type
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn
    flatten_with_keys_fn: Callable | None = None
    serialized_type_name: str = _UNNAMED
    to_dumpable_context: ToDumpableContextFn | None = None
    from_dumpable_context: FromDumpableContextFn | None = None


SUPPORTED_NODES: dict = {}  # type -> NodeDef
_BY_NAME: dict = {}  # serialized name -> type
_LOCK = threading.Lock()


def _add_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
              to_dumpable_context=None, from_dumpable_context=None,
              flatten_with_keys_fn=None) -> None:
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} "
                         "must be None or registered.")
    entry = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn,
                    serialized_type_name or _UNNAMED, to_dumpable_context,
                    from_dumpable_context)
    with _LOCK:
        if cls in SUPPORTED_NODES:
            warnings.warn(f"{cls} is already registered as pytree node. "
                          "Overwriting the previous registration.", stacklevel=3)
        SUPPORTED_NODES[cls] = entry
        _BY_NAME[entry.serialized_type_name] = cls


_private_register_pytree_node = _add_node  # the name libraries call privately


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None) -> None:
    """Register a container type as a pytree node.

    Args:
        cls: the type to register.
        flatten_fn: ``node -> (children, context)``.
        unflatten_fn: ``(children, context) -> node``.
        serialized_type_name: the name ``treespec_dumps`` writes for the type.
        to_dumpable_context, from_dumpable_context: convert the context to and from JSON.
        flatten_with_keys_fn: like ``flatten_fn`` but returns ``[(key, child)]``.

    Example:
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> register_pytree_node(Pair, lambda p: ([p.a, p.b], None),
        ...                      lambda xs, _: Pair(*xs))
        >>> tree_leaves([Pair(1, 2), 3])
        [1, 2, 3]
    """
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    _add_node(cls, flatten_fn, unflatten_fn, serialized_type_name=serialized_type_name,
              to_dumpable_context=to_dumpable_context,
              from_dumpable_context=from_dumpable_context,
              flatten_with_keys_fn=flatten_with_keys_fn)


def _register_pytree_node(cls, flatten_fn, unflatten_fn, to_str_fn=None, maybe_from_str_fn=None,
                          **kwargs) -> None:
    # torch's older private spelling, still called by libraries: re-registering only warns
    if to_str_fn is not None or maybe_from_str_fn is not None:
        warnings.warn("`to_str_fn` and `maybe_from_str_fn` is deprecated. Please use "
                      "`to_dumpable_context` and `from_dumpable_context` instead.",
                      FutureWarning, stacklevel=2)
    _add_node(cls, flatten_fn, unflatten_fn, **kwargs)


def _deregister_pytree_node(cls) -> None:
    with _LOCK:
        entry = SUPPORTED_NODES.pop(cls)
        if _BY_NAME.get(entry.serialized_type_name) is cls:
            del _BY_NAME[entry.serialized_type_name]


def _dataclass_fields(cls, field_names, drop_field_names) -> list:
    """The fields that make up the tree, checked against the dataclass's init fields."""
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError("field_names must be specified with a list of all fields used to "
                             f"initialize {cls}, as it is not a dataclass.")
        return list(field_names)
    init = {f.name: None for f in dataclasses.fields(cls) if f.init}
    if field_names is None:
        return list(init)
    wanted = set(init) - set(drop_field_names or ())
    missing, unexpected = wanted - set(field_names), set(field_names) - wanted
    if missing or unexpected:
        text = "field_names does not include all dataclass fields.\n"
        if missing:
            text += (f"Missing fields in `field_names`: {missing}. If you want to include "
                     "these fields in the pytree, please add them to `field_names`, "
                     "otherwise please add them to `drop_field_names`.\n")
        if unexpected:
            text += (f"Unexpected fields in `field_names`: {unexpected}. Please remove "
                     "these fields, or add them to `drop_field_names`.\n")
        raise ValueError(text)
    return list(field_names)


def register_dataclass(cls, *, field_names=None, drop_field_names=None,
                       serialized_type_name=None) -> None:
    """Register a dataclass (or a class built from keyword fields) as a pytree node: its
    non-None fields are the children, in field order.

    Args:
        cls: the class.
        field_names: the fields that build it (a dataclass's init fields by default).
        drop_field_names: dataclass fields left out of the tree.
        serialized_type_name: the name ``treespec_dumps`` writes for the type.

    Example:
        >>> @dataclasses.dataclass
        ... class Point:
        ...     x: Any
        ...     y: Any
        >>> register_dataclass(Point)
        >>> tree_map(lambda v: v + 1, Point(1, 2))
        Point(x=2, y=3)
    """
    names = _dataclass_fields(cls, field_names, drop_field_names)

    def split(obj):
        # a None field is structure, not a leaf: it goes in the context
        values = {n: getattr(obj, n) for n in names}
        kept = [n for n in names if values[n] is not None]
        return [values[n] for n in kept], [kept, [n for n in names if values[n] is None]]

    def build(children, context):
        kept, nones = context
        return cls(**dict(zip(kept, children)), **{n: None for n in nones})

    def split_keyed(obj):
        children, (kept, _) = split(obj)
        return [(GetAttrKey(n), c) for n, c in zip(kept, children)], kept

    _add_node(cls, split, build, serialized_type_name=serialized_type_name,
              flatten_with_keys_fn=split_keyed)


# -- key paths -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """A position in a list, tuple or deque, as a key path entry.

    Example:
        >>> str(SequenceKey(2)), SequenceKey(1).get(["a", "b"])
        ('[2]', 'b')
    """

    idx: int

    def __str__(self):
        return "[" + repr(self.idx) + "]"

    def get(self, sequence):
        """The element at this position.

        Example:
            >>> SequenceKey(0).get((5, 6))
            5
        """
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    """A dictionary key, as a key path entry.

    Example:
        >>> str(MappingKey("w")), MappingKey("w").get({"w": 3})
        ("['w']", 3)
    """

    key: Any

    def __str__(self):
        return "[" + repr(self.key) + "]"

    def get(self, mapping):
        """The value under this key.

        Example:
            >>> MappingKey(1).get({1: "x"})
            'x'
        """
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """An attribute (a namedtuple field), as a key path entry.

    Example:
        >>> P = namedtuple("P", "x y")
        >>> str(GetAttrKey("y")), GetAttrKey("y").get(P(1, 2))
        ('.y', 2)
    """

    name: str

    def __str__(self):
        return "." + self.name

    def get(self, obj):
        """The attribute's value.

        Example:
            >>> GetAttrKey("real").get(3)
            3
        """
        return getattr(obj, self.name)


def keystr(kp) -> str:
    """A key path written out.

    Example:
        >>> keystr((MappingKey("a"), SequenceKey(0)))
        "['a'][0]"
    """
    return "".join(map(str, kp))


def key_get(obj, kp):
    """The value at key path ``kp`` in ``obj``.

    Example:
        >>> key_get({"a": [4, 5]}, (MappingKey("a"), SequenceKey(1)))
        5
    """
    return functools.reduce(lambda node, key: key.get(node), kp, obj)


# -- namedtuple and structseq tests ----------------------------------------------------------

def is_namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a namedtuple class.

    Example:
        >>> is_namedtuple_class(namedtuple("P", "x")), is_namedtuple_class(tuple)
        (True, False)
    """
    if not (isinstance(cls, type) and issubclass(cls, tuple)):
        return False
    fields = getattr(cls, "_fields", None)
    return (isinstance(fields, tuple) and all(type(f) is str for f in fields)
            and all(callable(getattr(cls, m, None)) for m in ("_make", "_asdict")))


def is_namedtuple(obj) -> bool:
    """Whether ``obj`` is a namedtuple instance or class.

    Example:
        >>> is_namedtuple(namedtuple("P", "x")(1)), is_namedtuple((1,))
        (True, False)
    """
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj) -> bool:
    """Whether ``obj`` is a namedtuple instance.

    Example:
        >>> is_namedtuple_instance(namedtuple("P", "x")(1))
        True
    """
    return is_namedtuple_class(type(obj))


def is_structseq_class(cls) -> bool:
    """Whether ``cls`` is a C struct sequence class (``os.stat_result``, ``time.struct_time``).

    Example:
        >>> import time
        >>> is_structseq_class(time.struct_time)
        True
    """
    # struct sequences subclass tuple directly, carry three int counters and, unlike a
    # namedtuple, cannot be subclassed (no Py_TPFLAGS_BASETYPE, bit 10)
    return (isinstance(cls, type) and cls.__bases__ == (tuple,)
            and all(isinstance(getattr(cls, a, None), int)
                    for a in ("n_fields", "n_sequence_fields", "n_unnamed_fields"))
            and not cls.__flags__ & (1 << 10))


def is_structseq(obj) -> bool:
    """Whether ``obj`` is a struct sequence instance or class.

    Example:
        >>> import time
        >>> is_structseq(time.gmtime(0))
        True
    """
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_instance(obj) -> bool:
    """Whether ``obj`` is a struct sequence instance.

    Example:
        >>> import time
        >>> is_structseq_instance(time.gmtime(0))
        True
    """
    return is_structseq_class(type(obj))


# -- the built-in containers -----------------------------------------------------------------

def _indexed(items):
    return [(SequenceKey(i), v) for i, v in enumerate(items)]


def _keyed(mapping):
    return [(MappingKey(k), v) for k, v in mapping.items()]


def _named_fields(nt):
    return [(GetAttrKey(f), v) for f, v in zip(nt._fields, nt)]


def _namedtuple_to_json(cls):
    entry = SUPPORTED_NODES.get(cls)
    if entry is None:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {cls} because we didn't "
            "register a serializated_type_name. Please register using `_register_namedtuple`.")
    if entry.serialized_type_name == _UNNAMED:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {cls} because we couldn't find "
            "a serializated_type_name. Please register using `_register_namedtuple`.")
    return entry.serialized_type_name


def _namedtuple_from_json(name):
    if name not in _BY_NAME:
        raise NotImplementedError(f"Can't deserialize TreeSpec of namedtuple class {name} "
                                  "because we couldn't find a serializated name.")
    return _BY_NAME[name]


def _namedtuple_node(cls, name) -> None:
    _add_node(cls, lambda nt: (list(nt), type(nt)), lambda xs, nt_cls: nt_cls(*xs),
              serialized_type_name=name, to_dumpable_context=_namedtuple_to_json,
              from_dumpable_context=_namedtuple_from_json,
              flatten_with_keys_fn=lambda nt: (_named_fields(nt), type(nt)))


def _register_namedtuple(cls, *, serialized_type_name: str) -> None:
    """Register a namedtuple class under a name, so that ``treespec_dumps`` can write it."""
    _namedtuple_node(cls, serialized_type_name)


def _factory_to_json(context):
    factory, keys = context
    return {"default_factory_module": factory.__module__,
            "default_factory_name": factory.__qualname__, "dict_context": keys}


def _factory_from_json(data):
    factory = getattr(importlib.import_module(data["default_factory_module"]),
                      data["default_factory_name"])
    return [factory, data["dict_context"]]


def _builtin_nodes() -> None:
    def seq(cls, build):
        _add_node(cls, lambda s: (list(s), None), lambda xs, _: build(xs),
                  serialized_type_name=f"builtins.{cls.__name__}",
                  flatten_with_keys_fn=lambda s: (_indexed(s), None))

    seq(tuple, tuple)
    seq(list, list)
    for cls, name in ((dict, "builtins.dict"), (OrderedDict, "collections.OrderedDict")):
        _add_node(cls, lambda d: (list(d.values()), list(d)),
                  functools.partial(lambda kind, xs, keys: kind(zip(keys, xs)), cls),
                  serialized_type_name=name,
                  flatten_with_keys_fn=lambda d: (_keyed(d), list(d)))
    _namedtuple_node(namedtuple, "collections.namedtuple")
    _add_node(defaultdict, lambda d: (list(d.values()), [d.default_factory, list(d)]),
              lambda xs, ctx: defaultdict(ctx[0], zip(ctx[1], xs)),
              serialized_type_name="collections.defaultdict",
              to_dumpable_context=_factory_to_json, from_dumpable_context=_factory_from_json,
              flatten_with_keys_fn=lambda d: (_keyed(d), [d.default_factory, list(d)]))
    _add_node(deque, lambda d: (list(d), d.maxlen), lambda xs, n: deque(xs, maxlen=n),
              serialized_type_name="collections.deque",
              flatten_with_keys_fn=lambda d: (_indexed(d), d.maxlen))


_builtin_nodes()
_DICTS = (dict, OrderedDict, defaultdict)  # interchangeable when matching a prefix
_BUILTINS = (tuple, list, namedtuple, deque, *_DICTS)


_KINDS: dict = {}  # type -> registry key; the namedtuple test is too slow to repeat per node


def _kind(node):
    """The registry key of ``node``: its type, or ``namedtuple`` for any namedtuple."""
    cls = type(node)
    kind = _KINDS.get(cls)
    if kind is None:
        if len(_KINDS) > 1024:  # bounded: classes made on the fly must stay collectable
            _KINDS.clear()
        kind = _KINDS[cls] = namedtuple if is_namedtuple_class(cls) else cls
        if kind is cls and cls not in SUPPORTED_NODES and _is_return_type(cls):
            _return_type_node(cls)
    return kind


def _is_return_type(cls) -> bool:
    """Whether ``cls`` is one of ember's ``return_types`` (``linalg.eigh``'s, ``max``'s ...):
    torch registers each of its return types as a pytree node, so ``vmap`` and ``tree_map``
    look inside them; ember's are made on the fly and registered on first sight."""
    return (issubclass(cls, tuple) and cls.__module__ == "ember.return_types"
            and isinstance(getattr(cls, "_fields", None), tuple))


def _return_type_node(cls) -> None:
    _add_node(cls, lambda r: (list(r), None), lambda xs, _ctx: cls(*xs),
              flatten_with_keys_fn=lambda r: (_indexed(r), None))


def tree_is_leaf(tree, is_leaf=None) -> bool:
    """Whether ``tree`` is a leaf: not a registered container, or one ``is_leaf`` accepts.

    Example:
        >>> tree_is_leaf(1), tree_is_leaf(None), tree_is_leaf([1, 2])
        (True, True, False)
    """
    return (is_leaf is not None and bool(is_leaf(tree))) or _kind(tree) not in SUPPORTED_NODES


# -- TreeSpec --------------------------------------------------------------------------------

class TreeSpec:
    """The structure of a pytree: a node's type, its context (dict keys, namedtuple class,
    deque maxlen) and one child spec per child; a leaf is ``*``.

    Example:
        >>> spec = tree_structure([1, (2, 3)])
        >>> spec.num_leaves, spec.num_children
        (3, 2)
        >>> spec
        TreeSpec(list, None, [*,
          TreeSpec(tuple, None, [*,
            *])])
    """

    __slots__ = ("type", "_context", "_children", "num_nodes", "num_leaves", "num_children")

    def __init__(self, type, context, children_specs) -> None:
        children = list(children_specs)
        if type is None and (context is not None or children):
            raise AssertionError("leaf node should not have a context or children")
        fill = object.__setattr__
        fill(self, "type", type)
        fill(self, "_context", context)
        fill(self, "_children", children)
        fill(self, "num_children", len(children))
        fill(self, "num_leaves", sum(c.num_leaves for c in children) if type else 1)
        fill(self, "num_nodes", 1 + sum(c.num_nodes for c in children))

    def __setattr__(self, name, value):
        # immutable like torch's frozen dataclass: specs are shared and used as dict keys
        raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")

    def __reduce__(self):
        return TreeSpec, (self.type, self._context, self._children)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def _lines(self, depth: int) -> str:
        if self.type is None:
            return "*"
        pad = "\n" + " " * (depth + 2)
        inner = ("," + pad).join(c._lines(depth + 2) for c in self._children)
        return f"TreeSpec({self.type.__name__}, {self._context}, [{inner}])"

    def __repr__(self):
        return self._lines(0)

    def __eq__(self, other):
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return self is other or (str(self.type) == str(other.type)
                                 and self._context == other._context
                                 and self._children == other._children)

    def __hash__(self):
        kind, ctx = self.type, self._context
        if kind is defaultdict:
            ctx = (ctx[0], tuple(ctx[1]))
        elif kind in (dict, OrderedDict):
            ctx = tuple(ctx)
        elif kind is not None and kind not in _BUILTINS:
            ctx = None  # a user type's context may not hash; equal specs still hash equal
        return hash((kind, ctx, tuple(self._children)))

    @property
    def context(self):
        """The node's context (``None`` for a leaf).

        Example:
            >>> tree_structure({"a": 1, "b": 2}).context
            ['a', 'b']
        """
        return self._context

    @property
    def children_specs(self):
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to "
                      "access a single child, or `treespec.children()` to get all children.",
                      FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self) -> bool:
        """Whether this spec is a leaf.

        Example:
            >>> tree_structure(1).is_leaf(), tree_structure([1]).is_leaf()
            (True, False)
        """
        return self.type is None

    def children(self) -> list:
        """The child specs.

        Example:
            >>> tree_structure([[1]]).children()
            [TreeSpec(list, None, [*])]
        """
        return list(self._children)

    def child(self, index: int):
        """The child spec at ``index``.

        Example:
            >>> tree_structure([1, 2]).child(0)
            *
        """
        return self._children[index]

    def flatten_up_to(self, tree) -> list:
        """The subtrees of ``tree`` at this spec's leaves (``tree`` must have this spec as a
        prefix).

        Example:
            >>> tree_structure([1, 2]).flatten_up_to([[3, 4], 5])
            [[3, 4], 5]
        """
        out: list = []
        pending = [(self, tree)]
        while pending:
            spec, node = pending.pop()
            if spec.type is None:
                out.append(node)
            else:
                pending.extend(reversed(list(zip(spec._children, spec._match(node)))))
        return out

    def _match(self, node) -> list:
        """The children of ``node`` in this spec's order, or the ValueError torch raises."""
        kind = _kind(node)
        if self.type not in _BUILTINS:  # a registered type must match exactly
            if kind != self.type:
                raise ValueError(f"Type mismatch; expected {self.type!r}, but got {kind!r}.")
            children, context = SUPPORTED_NODES[kind].flatten_fn(node)
            self._check_arity(len(children))
            if context != self._context:
                raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
            return children
        both_dicts = self.type in _DICTS and kind in _DICTS
        if not both_dicts and kind != self.type:
            raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {kind!r}.")
        self._check_arity(len(node))
        if both_dicts:
            # any standard dict stands in for another, matched by key, not by order
            keys = self._context[1] if self.type is defaultdict else self._context
            missing, extra = set(keys) - set(node), set(node) - set(keys)
            if missing or extra:
                why = (f"; missing key(s): {missing}" if missing else "") + (
                    f"; extra key(s): {extra}" if extra else "")
                raise ValueError(f"Node keys mismatch{why}.")
            return [node[k] for k in keys]
        children, context = SUPPORTED_NODES[kind].flatten_fn(node)
        if kind is not deque and context != self._context:  # a deque's maxlen may differ
            raise ValueError(f"Node context mismatch for node type {self.type!r}; expected "
                             f"{self._context!r}, but got {context!r}.")
        return children

    def _check_arity(self, got: int) -> None:
        if got != self.num_children:
            raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                             f"{got}.")

    def unflatten(self, leaves):
        """Rebuild a pytree of this structure from ``leaves``.

        Example:
            >>> tree_structure({"a": (1, 2)}).unflatten([7, 8])
            {'a': (7, 8)}
        """
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self}).")
        return self._build(iter(leaves))

    def _build(self, feed):
        if self.type is None:
            return next(feed)
        parts = [c._build(feed) for c in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(parts, self._context)


PyTreeSpec = TreeSpec


class LeafSpec(TreeSpec):
    """The spec of a leaf, written ``*``. Deprecated in torch: test ``spec.is_leaf()``
    instead of ``isinstance(spec, LeafSpec)``.

    Example:
        >>> treespec_leaf()
        *
    """

    __slots__ = ()

    def __init__(self) -> None:
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use "
                      "`isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead.",
                      FutureWarning, stacklevel=2)
        super().__init__(None, None, [])

    def __reduce__(self):
        return treespec_leaf, ()


# one shared leaf spec: flattening allocates nothing per leaf
_LEAF = object.__new__(LeafSpec)
TreeSpec.__init__(_LEAF, None, None, [])


def treespec_leaf():
    """The spec of a leaf.

    Example:
        >>> treespec_leaf().is_leaf()
        True
    """
    return _LEAF


def treespec_tuple(iterable=(), /):
    """A tuple spec from child specs.

    Example:
        >>> treespec_tuple([treespec_leaf(), treespec_leaf()]).num_leaves
        2
    """
    specs = list(iterable)
    if not all(isinstance(s, TreeSpec) for s in specs):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {specs!r}.")
    return TreeSpec(tuple, None, specs)


def treespec_dict(mapping=(), /, **kwargs):
    """A dict spec from child specs by key.

    Example:
        >>> treespec_dict(a=treespec_leaf()).context
        ['a']
    """
    specs = dict(mapping, **kwargs)
    if not all(isinstance(s, TreeSpec) for s in specs.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {specs!r}.")
    return TreeSpec(dict, list(specs), list(specs.values()))


# -- flatten, unflatten, map -----------------------------------------------------------------

def _walk(tree, is_leaf, leaves):
    """Append ``tree``'s leaves to ``leaves`` and return its spec."""
    if tree_is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF
    kind = _kind(tree)
    children, context = SUPPORTED_NODES[kind].flatten_fn(tree)
    return TreeSpec(kind, context, [_walk(c, is_leaf, leaves) for c in children])


def tree_flatten(tree, is_leaf=None):
    """Flatten a pytree into its leaves (depth first, in container order) and a ``TreeSpec``.

    Example:
        >>> tree_flatten([1, (2, 3)])[0]
        [1, 2, 3]
    """
    leaves: list = []
    spec = _walk(tree, is_leaf, leaves)
    return leaves, spec


def tree_unflatten(leaves, treespec):
    """Rebuild a pytree from leaves and the spec ``tree_flatten`` gave.

    Example:
        >>> tree_unflatten([5, 6], tree_structure((1, [2])))
        (5, [6])
    """
    if isinstance(leaves, TreeSpec) and not isinstance(treespec, TreeSpec):
        leaves, treespec = treespec, leaves  # torch accepts the spec first too
    if not isinstance(treespec, TreeSpec):
        raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """Iterate over the leaves of a pytree.

    Example:
        >>> list(tree_iter({"a": 1, "b": [2, 3]}))
        [1, 2, 3]
    """
    stack = [tree]
    while stack:
        node = stack.pop()
        if tree_is_leaf(node, is_leaf):
            yield node
        else:
            stack.extend(reversed(SUPPORTED_NODES[_kind(node)].flatten_fn(node)[0]))


def tree_leaves(tree, is_leaf=None) -> list:
    """The leaves of a pytree, as a list.

    Example:
        >>> tree_leaves([1, (2, None), {"k": 3}])
        [1, 2, None, 3]
    """
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree, is_leaf=None):
    """The ``TreeSpec`` of a pytree.

    Example:
        >>> tree_structure((1, 2))
        TreeSpec(tuple, None, [*,
          *])
    """
    return _walk(tree, is_leaf, [])


def _columns(tree, rests, is_leaf):
    leaves, spec = tree_flatten(tree, is_leaf)
    return spec, [leaves, *(spec.flatten_up_to(r) for r in rests)]


def tree_map(func, tree, *rests, is_leaf=None):
    """Apply ``func`` to every leaf (with the matching leaves of ``rests``, which need only have
    ``tree`` as a prefix) and rebuild the structure.

    Example:
        >>> tree_map(lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"x": 7, "y": (41, 62)})
        {'x': 8, 'y': (43, 65)}
        >>> tree_map(lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]])
        [[5, 7, 9], [6, 1, 2]]
    """
    spec, cols = _columns(tree, rests, is_leaf)
    return spec.unflatten([func(*xs) for xs in zip(*cols)])


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call ``func`` on every leaf for its side effect and return ``tree`` itself.

    Example:
        >>> seen = []
        >>> tree_map_(seen.append, [1, (2, 3)])
        [1, (2, 3)]
        >>> seen
        [1, 2, 3]
    """
    _, cols = _columns(tree, rests, is_leaf)
    for xs in zip(*cols):
        func(*xs)
    return tree


def map_only(type_or_types_or_pred, /):
    """Wrap a function so that it applies only to leaves of the given type(s) (or that pass a
    predicate) and returns any other leaf unchanged.

    Example:
        >>> double_ints = map_only(int)(lambda x: 2 * x)
        >>> double_ints(3), double_ints("a")
        (6, 'a')
    """
    selector = type_or_types_or_pred
    if isinstance(selector, (type, tuple, types.UnionType)):
        def wanted(x):
            return isinstance(x, selector)
    elif callable(selector):
        wanted = selector
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def decorate(func):
        @functools.wraps(func)
        def only(x):
            return func(x) if wanted(x) else x
        return only
    return decorate


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    """``tree_map`` applied only to leaves of the given type(s) (or that pass a predicate).

    Example:
        >>> tree_map_only(int, lambda x: -x, [1, "a", (2.5, 3)])
        [-1, 'a', (2.5, -3)]
    """
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    """``tree_map_`` applied only to leaves of the given type(s) (or that pass a predicate).

    Example:
        >>> seen = []
        >>> _ = tree_map_only_(str, seen.append, [1, "a", (2, "b")])
        >>> seen
        ['a', 'b']
    """
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf.

    Example:
        >>> tree_all(lambda x: x > 0, [1, (2, 3)])
        True
    """
    return all(pred(x) for x in tree_iter(tree, is_leaf))


def tree_any(pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf.

    Example:
        >>> tree_any(lambda x: x is None, [1, (None, 3)])
        True
    """
    return any(pred(x) for x in tree_iter(tree, is_leaf))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf of the given type(s).

    Example:
        >>> tree_all_only(int, lambda x: x > 0, [1, "a", 2])
        True
    """
    return tree_all(lambda x: not isinstance(x, type_or_types) or pred(x), tree, is_leaf)


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf of the given type(s).

    Example:
        >>> tree_any_only(str, lambda s: s == "a", [1, "a"])
        True
    """
    return tree_any(lambda x: isinstance(x, type_or_types) and pred(x), tree, is_leaf)


def _broadcast_to_and_flatten(tree, treespec, is_leaf=None):
    """``tree``'s leaves, each repeated over the leaves of the subtree of ``treespec`` it
    covers; None when ``tree`` is not a prefix of ``treespec``."""
    try:
        parts = tree_structure(tree, is_leaf).flatten_up_to(treespec.unflatten(
            [0] * treespec.num_leaves))
    except ValueError:
        return None
    out: list = []
    for leaf, part in zip(tree_leaves(tree, is_leaf), parts):
        out += [leaf] * tree_structure(part, is_leaf).num_leaves
    return out


def arg_tree_leaves(*args, **kwargs) -> list:
    """The leaves of ``(args, kwargs)``, as a list.

    Example:
        >>> arg_tree_leaves(1, (2,), k=[3])
        [1, 2, 3]
    """
    return [leaf for arg in (*args, *kwargs.values()) for leaf in tree_iter(arg)]


# -- key paths over trees --------------------------------------------------------------------

def _paths(prefix, tree, is_leaf, out) -> None:
    kind = _kind(tree)
    entry = SUPPORTED_NODES.get(kind)
    if (is_leaf and is_leaf(tree)) or entry is None:
        out.append((prefix, tree))
        return
    if entry.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {kind}. Please "
                         "pass a flatten_with_keys_fn argument to register_pytree_node.")
    for key, child in entry.flatten_with_keys_fn(tree)[0]:
        _paths((*prefix, key), child, is_leaf, out)


def tree_leaves_with_path(tree, is_leaf=None) -> list:
    """The ``(key path, leaf)`` pairs of a pytree.

    Example:
        >>> [keystr(p) for p, _ in tree_leaves_with_path([1, {"b": 2}])]
        ['[0]', "[1]['b']"]
    """
    out: list = []
    _paths((), tree, is_leaf, out)
    return out


def tree_flatten_with_path(tree, is_leaf=None):
    """Like ``tree_flatten``, with each leaf paired with its key path.

    Example:
        >>> pairs, spec = tree_flatten_with_path({"a": [1]})
        >>> [(keystr(p), v) for p, v in pairs]
        [("['a'][0]", 1)]
    """
    return tree_leaves_with_path(tree, is_leaf), tree_structure(tree, is_leaf)


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """Like ``tree_map``, with ``func(key_path, leaf, *others)``.

    Example:
        >>> tree_map_with_path(lambda p, v: keystr(p), {"a": 0})
        {'a': "['a']"}
    """
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten([func(path, leaf, *more)
                           for (path, leaf), *more in zip(pairs, *others)])


# -- serialization (torch's JSON, protocol 1) ------------------------------------------------

class _EnumJSON(json.JSONEncoder):
    # an Enum member in a context is written as its class path and member name
    def default(self, o):
        if isinstance(o, Enum):
            cls = type(o)
            return {"__enum__": True, "fqn": f"{cls.__module__}:{cls.__qualname__}",
                    "name": o.name}
        return super().default(o)


def _enum_hook(obj):
    if "__enum__" not in obj:
        return obj
    module, _, qualname = obj["fqn"].partition(":")
    cls = functools.reduce(getattr, qualname.split("."), importlib.import_module(module))
    return cls[obj["name"]]


def _to_json(spec) -> dict:
    if spec.type is None:
        return {"type": None, "context": None, "children_spec": []}
    entry = SUPPORTED_NODES.get(spec.type)
    if entry is None:
        raise NotImplementedError(f"Serializing {spec.type} in pytree is not registered.")
    if entry.serialized_type_name == _UNNAMED:
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. Please update your "
            "_register_pytree_node call with a `serialized_type_name` kwarg.")
    if entry.to_dumpable_context is not None:
        context = entry.to_dumpable_context(spec._context)
    else:
        try:
            context = json.dumps(spec._context, cls=_EnumJSON)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json "
                            "dump-able, or register a custom serializer using "
                            "_register_pytree_node.") from e
    return {"type": entry.serialized_type_name, "context": context,
            "children_spec": [_to_json(c) for c in spec._children]}


def _from_json(data) -> TreeSpec:
    name = data["type"]
    if name is None and data["context"] is None and not data["children_spec"]:
        return _LEAF
    if name not in _BY_NAME:
        raise NotImplementedError(f"Deserializing {name} in pytree is not registered.")
    entry = SUPPORTED_NODES[_BY_NAME[name]]
    raw = data["context"]
    context = (json.loads(raw, object_hook=_enum_hook) if entry.from_dumpable_context is None
               else entry.from_dumpable_context(raw))
    return TreeSpec(entry.type, context, [_from_json(c) for c in data["children_spec"]])


def _check_protocol(protocol) -> None:
    if protocol != _PROTOCOL:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [{_PROTOCOL}]")


def treespec_dumps(treespec, protocol: int | None = None) -> str:
    """A ``TreeSpec`` as torch's JSON (protocol 1).

    Example:
        >>> treespec_dumps(tree_structure([1]))[:40]
        '[1, {"type": "builtins.list", "context":'
    """
    if not isinstance(treespec, TreeSpec):
        raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    protocol = _PROTOCOL if protocol is None else protocol
    _check_protocol(protocol)
    return json.dumps([protocol, _to_json(treespec)], cls=_EnumJSON)


def treespec_loads(serialized: str):
    """The ``TreeSpec`` that ``treespec_dumps`` wrote.

    Example:
        >>> spec = tree_structure({"a": (1, 2)})
        >>> treespec_loads(treespec_dumps(spec)) == spec
        True
    """
    protocol, data = json.loads(serialized)
    _check_protocol(protocol)
    return _from_json(data)


class _Star(str):
    # a string (so unflatten functions that expect one still work) that prints bare
    __slots__ = ()

    def __repr__(self):
        return "*"


def treespec_pprint(treespec) -> str:
    """The structure drawn as the container with ``*`` for each leaf.

    Example:
        >>> treespec_pprint(tree_structure({"a": [1, (2, 3)]}))
        "{'a': [*, (*, *)]}"
    """
    return repr(treespec.unflatten([_Star("*")] * treespec.num_leaves))
