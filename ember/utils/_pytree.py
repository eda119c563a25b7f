"""Pytrees, as ``torch.utils._pytree``: nested containers (list, tuple, dict, namedtuple,
OrderedDict, defaultdict, deque, and registered types) flattened to a list of leaves and a
``TreeSpec`` that rebuilds them.

Libraries written against torch (optimizers' state walks, ``tree_map`` over a batch) import
this module by its private path, so ember keeps torch's path, names, flatten order
(insertion order for dicts, fields in order for namedtuples), ``TreeSpec`` repr and errors.

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
from typing import Any, NamedTuple

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

PyTree = Any
Context = Any
DumpableContext = Any
FlattenFn = Callable[[PyTree], tuple[list[Any], Context]]
UnflattenFn = Callable[[list[Any], Context], PyTree]
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]
KeyPath = tuple

NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"
DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1


class NodeDef(NamedTuple):
    """How one container type flattens and unflattens (torch's registry entry).

    Example:
        >>> SUPPORTED_NODES[list].type
        <class 'list'>
    """

    type: type
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn
    flatten_with_keys_fn: Callable | None = None


class _SerializeNodeDef(NamedTuple):
    type: type
    serialized_type_name: str
    to_dumpable_context: ToDumpableContextFn | None
    from_dumpable_context: FromDumpableContextFn | None


SUPPORTED_NODES: dict = {}
SUPPORTED_SERIALIZED_TYPES: dict = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict = {}
_NODE_REGISTRY_LOCK = threading.Lock()


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
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            raise ValueError(f"{cls} is already registered as pytree node.")
    _private_register_pytree_node(
        cls, flatten_fn, unflatten_fn, serialized_type_name=serialized_type_name,
        to_dumpable_context=to_dumpable_context, from_dumpable_context=from_dumpable_context,
        flatten_with_keys_fn=flatten_with_keys_fn)


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
    drop_field_names = drop_field_names or []
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError("field_names must be specified with a list of all fields used to "
                             f"initialize {cls}, as it is not a dataclass.")
    elif field_names is None:
        field_names = [f.name for f in dataclasses.fields(cls) if f.init]
    else:
        init_fields = {f.name for f in dataclasses.fields(cls) if f.init}
        init_fields.difference_update(drop_field_names)
        if init_fields != set(field_names):
            error_msg = "field_names does not include all dataclass fields.\n"
            if missing := init_fields - set(field_names):
                error_msg += (f"Missing fields in `field_names`: {missing}. If you want to "
                              "include these fields in the pytree, please add them to "
                              "`field_names`, otherwise please add them to "
                              "`drop_field_names`.\n")
            if unexpected := set(field_names) - init_fields:
                error_msg += (f"Unexpected fields in `field_names`: {unexpected}. Please "
                              "remove these fields, or add them to `drop_field_names`.\n")
            raise ValueError(error_msg)

    def flatten(obj):
        flattened, flat_names, none_names = [], [], []
        for name in field_names:
            val = getattr(obj, name)
            if val is not None:
                flattened.append(val)
                flat_names.append(name)
            else:
                none_names.append(name)
        return flattened, [flat_names, none_names]

    def unflatten(values, context):
        flat_names, none_names = context
        return cls(**dict(zip(flat_names, values, strict=True)), **dict.fromkeys(none_names))

    def flatten_with_keys(obj):
        flattened, (flat_names, _) = flatten(obj)
        return [(GetAttrKey(k), v) for k, v in zip(flat_names, flattened, strict=True)], \
            flat_names

    _private_register_pytree_node(cls, flatten, unflatten,
                                  serialized_type_name=serialized_type_name,
                                  flatten_with_keys_fn=flatten_with_keys)


def _private_register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                                  to_dumpable_context=None, from_dumpable_context=None,
                                  flatten_with_keys_fn=None) -> None:
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            warnings.warn(f"{cls} is already registered as pytree node. "
                          "Overwriting the previous registration.", stacklevel=2)
        SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
        if (to_dumpable_context is None) ^ (from_dumpable_context is None):
            raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} "
                             "must be None or registered.")
        if serialized_type_name is None:
            serialized_type_name = NO_SERIALIZED_TYPE_NAME_FOUND
        SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(
            cls, serialized_type_name, to_dumpable_context, from_dumpable_context)
        SERIALIZED_TYPE_TO_PYTHON_TYPE[serialized_type_name] = cls


def _register_pytree_node(cls, flatten_fn, unflatten_fn, to_str_fn=None, maybe_from_str_fn=None,
                          **kwargs) -> None:
    # torch's older private spelling, still called by libraries: re-registering only warns
    if to_str_fn is not None or maybe_from_str_fn is not None:
        warnings.warn("`to_str_fn` and `maybe_from_str_fn` is deprecated. Please use "
                      "`to_dumpable_context` and `from_dumpable_context` instead.",
                      FutureWarning, stacklevel=2)
    _private_register_pytree_node(cls, flatten_fn, unflatten_fn, **kwargs)


def _deregister_pytree_node(cls) -> None:
    with _NODE_REGISTRY_LOCK:
        del SUPPORTED_NODES[cls]
        node_def = SUPPORTED_SERIALIZED_TYPES.pop(cls)
        SERIALIZED_TYPE_TO_PYTHON_TYPE.pop(node_def.serialized_type_name, None)


# -- key paths -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """A position in a list, tuple or deque, as a key path entry.

    Example:
        >>> str(SequenceKey(2)), SequenceKey(1).get(["a", "b"])
        ('[2]', 'b')
    """

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

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

    def __str__(self) -> str:
        return f"[{self.key!r}]"

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

    def __str__(self) -> str:
        return f".{self.name}"

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
    return "".join(str(k) for k in kp)


def key_get(obj, kp):
    """The value at key path ``kp`` in ``obj``.

    Example:
        >>> key_get({"a": [4, 5]}, (MappingKey("a"), SequenceKey(1)))
        5
    """
    for k in kp:
        obj = k.get(obj)
    return obj


# -- namedtuple and structseq tests ----------------------------------------------------------

def is_namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a namedtuple class.

    Example:
        >>> is_namedtuple_class(namedtuple("P", "x")), is_namedtuple_class(tuple)
        (True, False)
    """
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(field) is str for field in cls._fields)
            and callable(getattr(cls, "_make", None))
            and callable(getattr(cls, "_asdict", None)))


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


_Py_TPFLAGS_BASETYPE = 1 << 10


def is_structseq_class(cls) -> bool:
    """Whether ``cls`` is a C struct sequence class (``os.stat_result``, ``time.struct_time``).

    Example:
        >>> import time
        >>> is_structseq_class(time.struct_time)
        True
    """
    return (isinstance(cls, type) and cls.__bases__ == (tuple,)
            and isinstance(getattr(cls, "n_fields", None), int)
            and isinstance(getattr(cls, "n_sequence_fields", None), int)
            and isinstance(getattr(cls, "n_unnamed_fields", None), int)
            and not bool(cls.__flags__ & _Py_TPFLAGS_BASETYPE))


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

def _seq_keys(values):
    return [(SequenceKey(i), v) for i, v in enumerate(values)]


def _map_keys(keys, values):
    return [(MappingKey(k), v) for k, v in zip(keys, values, strict=True)]


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _namedtuple_serialize(context):
    node_def = SUPPORTED_SERIALIZED_TYPES.get(context)
    if node_def is None:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {context} because we didn't "
            "register a serializated_type_name. Please register using `_register_namedtuple`.")
    if node_def.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {context} because we couldn't find "
            "a serializated_type_name. Please register using `_register_namedtuple`.")
    return node_def.serialized_type_name


def _namedtuple_deserialize(dumpable_context):
    if dumpable_context not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(
            f"Can't deserialize TreeSpec of namedtuple class {dumpable_context} because we "
            "couldn't find a serializated name.")
    return SERIALIZED_TYPE_TO_PYTHON_TYPE[dumpable_context]


def _register_namedtuple(cls, *, serialized_type_name: str) -> None:
    """Register a namedtuple class under a name, so that ``treespec_dumps`` can write it."""
    _private_register_pytree_node(
        cls, lambda d: (list(d), type(d)), lambda values, context: context(*values),
        serialized_type_name=serialized_type_name,
        to_dumpable_context=_namedtuple_serialize, from_dumpable_context=_namedtuple_deserialize,
        flatten_with_keys_fn=lambda d: ([(GetAttrKey(f), v) for f, v in zip(d._fields, d)],
                                        type(d)))


def _defaultdict_serialize(context):
    default_factory, dict_context = context
    return {"default_factory_module": default_factory.__module__,
            "default_factory_name": default_factory.__qualname__,
            "dict_context": dict_context}


def _defaultdict_deserialize(dumpable_context):
    module = importlib.import_module(dumpable_context["default_factory_module"])
    return [getattr(module, dumpable_context["default_factory_name"]),
            dumpable_context["dict_context"]]


_private_register_pytree_node(
    tuple, lambda d: (list(d), None), lambda values, context: tuple(values),
    serialized_type_name="builtins.tuple",
    flatten_with_keys_fn=lambda d: (_seq_keys(d), None))
_private_register_pytree_node(
    list, lambda d: (d, None), lambda values, context: list(values),
    serialized_type_name="builtins.list",
    flatten_with_keys_fn=lambda d: (_seq_keys(d), None))
_private_register_pytree_node(
    dict, _dict_flatten, lambda values, context: dict(zip(context, values, strict=True)),
    serialized_type_name="builtins.dict",
    flatten_with_keys_fn=lambda d: (_map_keys(d.keys(), d.values()), list(d.keys())))
_private_register_pytree_node(
    namedtuple, lambda d: (list(d), type(d)), lambda values, context: context(*values),
    serialized_type_name="collections.namedtuple",
    to_dumpable_context=_namedtuple_serialize, from_dumpable_context=_namedtuple_deserialize,
    flatten_with_keys_fn=lambda d: ([(GetAttrKey(f), v) for f, v in zip(d._fields, d)],
                                    type(d)))
_private_register_pytree_node(
    OrderedDict, _dict_flatten,
    lambda values, context: OrderedDict(zip(context, values, strict=True)),
    serialized_type_name="collections.OrderedDict",
    flatten_with_keys_fn=lambda d: (_map_keys(d.keys(), d.values()), list(d.keys())))
_private_register_pytree_node(
    defaultdict, lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
    lambda values, context: defaultdict(context[0], zip(context[1], values, strict=True)),
    serialized_type_name="collections.defaultdict",
    to_dumpable_context=_defaultdict_serialize, from_dumpable_context=_defaultdict_deserialize,
    flatten_with_keys_fn=lambda d: (_map_keys(d.keys(), d.values()),
                                    [d.default_factory, list(d.keys())]))
_private_register_pytree_node(
    deque, lambda d: (list(d), d.maxlen), lambda values, context: deque(values, maxlen=context),
    serialized_type_name="collections.deque",
    flatten_with_keys_fn=lambda d: (_seq_keys(d), d.maxlen))

STANDARD_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})
BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})


def _get_node_type(tree):
    node_type = type(tree)
    return namedtuple if is_namedtuple_class(node_type) else node_type


def tree_is_leaf(tree, is_leaf=None) -> bool:
    """Whether ``tree`` is a leaf: not a registered container, or one ``is_leaf`` accepts.

    Example:
        >>> tree_is_leaf(1), tree_is_leaf(None), tree_is_leaf([1, 2])
        (True, True, False)
    """
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


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
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_children", children_specs)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.type is None:
            if self._context is not None:
                raise AssertionError("leaf node should not have a context")
            if len(self._children) != 0:
                raise AssertionError("leaf node should not have children")
            counts = (1, 1, 0)
        else:
            counts = (1 + sum(c.num_nodes for c in self._children),
                      sum(c.num_leaves for c in self._children), len(self._children))
        for name, value in zip(("num_nodes", "num_leaves", "num_children"), counts):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")

    def __repr__(self, indent: int = 0) -> str:
        text = ""
        if self.num_children > 0:
            indent += 2
            text += self._children[0].__repr__(indent)
            text += "," if self.num_children > 1 else ""
            text += ",".join("\n" + " " * indent + child.__repr__(indent)
                             for child in self._children[1:])
        return f"TreeSpec({self.type.__name__}, {self._context}, [{text}])"

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is self.__class__:
            return (str(self.type) == str(other.type) and self._context == other._context
                    and self._children == other._children)
        return NotImplemented

    def __hash__(self) -> int:
        node_type = self.type
        if node_type is defaultdict:
            hashable_context = (self._context[0], tuple(self._context[1]))
        elif node_type in (dict, OrderedDict):
            hashable_context = tuple(self._context)
        elif node_type is None or node_type in BUILTIN_TYPES:
            hashable_context = self._context
        else:  # a user type's context may not hash: equal specs still hash equal without it
            hashable_context = None
        return hash((node_type, hashable_context, tuple(self._children)))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self  # immutable

    def __reduce__(self):
        return (TreeSpec, (self.type, self._context, self._children))

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
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list:
        """The child specs.

        Example:
            >>> tree_structure((1, [2])).children()[1]
            TreeSpec(list, None, [*])
        """
        return self._children.copy()

    def child(self, index: int):
        """The child spec at ``index``.

        Example:
            >>> tree_structure((1, [2])).child(0)
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
        subtrees: list = []
        _flatten_up_to(self, tree, subtrees)
        return subtrees

    def unflatten(self, leaves):
        """Rebuild a pytree of this structure from ``leaves``.

        Example:
            >>> tree_structure({"a": (1, 2)}).unflatten([7, 8])
            {'a': (7, 8)}
        """
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self}).")
        if self.is_leaf():
            return leaves[0]
        unflatten_fn = SUPPORTED_NODES[self.type].unflatten_fn
        start, children = 0, []
        for child in self._children:
            end = start + child.num_leaves
            children.append(child.unflatten(leaves[start:end]))
            start = end
        return unflatten_fn(children, self._context)


PyTreeSpec = TreeSpec


def _flatten_up_to(spec, node, subtrees) -> None:
    if spec.is_leaf():
        subtrees.append(node)
        return
    node_type = _get_node_type(node)
    if spec.type not in BUILTIN_TYPES:  # custom node types must match exactly
        if node_type != spec.type:
            raise ValueError(f"Type mismatch; expected {spec.type!r}, but got {node_type!r}.")
        children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
        if len(children) != spec.num_children:
            raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                             f"{len(children)}.")
        if context != spec._context:
            raise ValueError(f"Node context mismatch for custom node type {spec.type!r}.")
    else:
        # the standard dict types stand in for one another, matched by key
        both_dicts = spec.type in STANDARD_DICT_TYPES and node_type in STANDARD_DICT_TYPES
        if not both_dicts and node_type != spec.type:
            raise ValueError(f"Node type mismatch; expected {spec.type!r}, but got "
                             f"{node_type!r}.")
        if len(node) != spec.num_children:
            raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                             f"{len(node)}.")
        if both_dicts:
            expected = spec._context if spec.type is not defaultdict else spec._context[1]
            got_set, expected_set = set(node), set(expected)
            if got_set != expected_set:
                message = ""
                if expected_set - got_set:
                    message += f"; missing key(s): {expected_set - got_set}"
                if got_set - expected_set:
                    message += f"; extra key(s): {got_set - expected_set}"
                raise ValueError(f"Node keys mismatch{message}.")
            children = [node[key] for key in expected]
        else:
            children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
            if node_type is not deque and context != spec._context:  # deque: maxlen may differ
                raise ValueError(f"Node context mismatch for node type {spec.type!r}; expected "
                                 f"{spec._context!r}, but got {context!r}.")
    for subtree, subspec in zip(children, spec._children, strict=True):
        _flatten_up_to(subspec, subtree, subtrees)


class LeafSpec(TreeSpec):
    """The spec of a leaf, written ``*``. Deprecated in torch: test ``spec.is_leaf()``
    instead of ``isinstance(spec, LeafSpec)``.

    Example:
        >>> tree_structure(3)
        *
    """

    __slots__ = ()

    def __init__(self) -> None:
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use "
                      "`isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead.",
                      FutureWarning, stacklevel=2)
        self._init_leaf()

    def _init_leaf(self) -> None:
        for name, value in (("type", None), ("_context", None), ("_children", []),
                            ("num_nodes", 1), ("num_leaves", 1), ("num_children", 0)):
            object.__setattr__(self, name, value)

    def __repr__(self, indent: int = 0) -> str:
        return "*"

    def __reduce__(self):
        return (treespec_leaf, ())


# every leaf shares one spec object: flattening builds no object per leaf
_LEAF_SPEC = object.__new__(LeafSpec)
_LEAF_SPEC._init_leaf()


def treespec_leaf():
    """The spec of a leaf.

    Example:
        >>> treespec_leaf().is_leaf()
        True
    """
    return _LEAF_SPEC


def treespec_tuple(iterable=(), /):
    """A tuple spec from child specs.

    Example:
        >>> treespec_tuple([treespec_leaf(), treespec_leaf()]).num_leaves
        2
    """
    children = list(iterable)
    if any(not isinstance(child, TreeSpec) for child in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping=(), /, **kwargs):
    """A dict spec from child specs by key.

    Example:
        >>> treespec_dict(a=treespec_leaf()).context
        ['a']
    """
    dct = dict(mapping, **kwargs)
    if any(not isinstance(child, TreeSpec) for child in dct.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {dct!r}.")
    return TreeSpec(dict, list(dct.keys()), list(dct.values()))


# -- flatten, unflatten, map -----------------------------------------------------------------

def tree_flatten(tree, is_leaf=None):
    """Flatten a pytree into its leaves (depth first, in container order) and a ``TreeSpec``.

    Example:
        >>> tree_flatten([1, {"x": 2, "y": (3,)}])[0]
        [1, 2, 3]
    """
    leaves: list = []

    def helper(node):
        if tree_is_leaf(node, is_leaf=is_leaf):
            leaves.append(node)
            return _LEAF_SPEC
        node_type = _get_node_type(node)
        children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
        return TreeSpec(node_type, context, [helper(child) for child in children])

    spec = helper(tree)
    return leaves, spec


def tree_unflatten(leaves, treespec):
    """Rebuild a pytree from leaves and the spec ``tree_flatten`` gave.

    Example:
        >>> leaves, spec = tree_flatten((1, [2]))
        >>> tree_unflatten([5, 6], spec)
        (5, [6])
    """
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item "
                            f"of type {type(treespec)}.")
        leaves, treespec = treespec, leaves  # torch accepts the spec first too
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """Iterate over the leaves of a pytree.

    Example:
        >>> list(tree_iter({"a": [1, 2], "b": 3}))
        [1, 2, 3]
    """
    if tree_is_leaf(tree, is_leaf=is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf=is_leaf)


def tree_leaves(tree, is_leaf=None) -> list:
    """The leaves of a pytree, as a list.

    Example:
        >>> tree_leaves([1, (2, None), {"k": 3}])
        [1, 2, None, 3]
    """
    return list(tree_iter(tree, is_leaf=is_leaf))


def tree_structure(tree, is_leaf=None):
    """The ``TreeSpec`` of a pytree.

    Example:
        >>> tree_structure((1, 2))
        TreeSpec(tuple, None, [*,
          *])
    """
    return tree_flatten(tree, is_leaf=is_leaf)[1]


def tree_map(func, tree, *rests, is_leaf=None):
    """Apply ``func`` to every leaf (with the matching leaves of ``rests``, which need only have
    ``tree`` as a prefix) and rebuild the structure.

    Example:
        >>> tree_map(lambda x: x + 1, {"x": 7, "y": (42, 64)})
        {'x': 8, 'y': (43, 65)}
        >>> tree_map(lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]])
        [[5, 7, 9], [6, 1, 2]]
    """
    leaves, treespec = tree_flatten(tree, is_leaf=is_leaf)
    flat_args = [leaves] + [treespec.flatten_up_to(r) for r in rests]
    return treespec.unflatten(map(func, *flat_args))


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call ``func`` on every leaf for its side effect and return ``tree`` itself.

    Example:
        >>> seen = []
        >>> tree_map_(seen.append, [1, (2, 3)])
        [1, (2, 3)]
        >>> seen
        [1, 2, 3]
    """
    leaves, treespec = tree_flatten(tree, is_leaf=is_leaf)
    flat_args = [leaves] + [treespec.flatten_up_to(r) for r in rests]
    deque(map(func, *flat_args), maxlen=0)
    return tree


def map_only(type_or_types_or_pred, /):
    """Wrap a function so that it applies only to leaves of the given type(s) (or that pass a
    predicate) and returns any other leaf unchanged.

    Example:
        >>> double_ints = map_only(int)(lambda x: 2 * x)
        >>> double_ints(3), double_ints("a")
        (6, 'a')
    """
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x):
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func):
        @functools.wraps(func)
        def wrapped(x):
            return func(x) if pred(x) else x

        return wrapped

    return wrapper


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
        >>> _ = tree_map_only_(str, seen.append, [1, "a", ("b",)])
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
    return all(map(pred, tree_iter(tree, is_leaf=is_leaf)))


def tree_any(pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf.

    Example:
        >>> tree_any(lambda x: x is None, {"a": 1, "b": None})
        True
    """
    return any(map(pred, tree_iter(tree, is_leaf=is_leaf)))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf of the given type(s).

    Example:
        >>> tree_all_only(int, lambda x: x > 0, [1, "a", 2])
        True
    """
    return all(pred(x) for x in tree_iter(tree, is_leaf=is_leaf)
               if isinstance(x, type_or_types))


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf of the given type(s).

    Example:
        >>> tree_any_only(str, lambda s: s == "b", [1, "a", ("b",)])
        True
    """
    return any(pred(x) for x in tree_iter(tree, is_leaf=is_leaf)
               if isinstance(x, type_or_types))


def _broadcast_to_and_flatten(tree, treespec, is_leaf=None):
    # ``tree`` repeated over the leaves of ``treespec`` it is a prefix of, or None where it is not
    full_tree = tree_unflatten([0] * treespec.num_leaves, treespec)
    result: list = []

    def add_leaves(x, subtree):
        result.extend([x] * tree_structure(subtree, is_leaf=is_leaf).num_leaves)

    try:
        tree_map_(add_leaves, tree, full_tree, is_leaf=is_leaf)
    except ValueError:
        return None
    return result


def arg_tree_leaves(*args, **kwargs) -> list:
    """The leaves of ``(args, kwargs)``, as a list.

    Example:
        >>> arg_tree_leaves(1, [2], k=(3,))
        [1, 2, 3]
    """
    leaves: list = []
    for a in args:
        leaves.extend(tree_iter(a))
    for a in kwargs.values():
        leaves.extend(tree_iter(a))
    return leaves


# -- key paths over trees --------------------------------------------------------------------

def _generate_key_paths(key_path, tree, is_leaf=None):
    if is_leaf and is_leaf(tree):
        yield key_path, tree
        return
    node_type = _get_node_type(tree)
    handler = SUPPORTED_NODES.get(node_type)
    if not handler:
        yield key_path, tree
        return
    if handler.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {node_type}. Please "
                         "pass a flatten_with_keys_fn argument to register_pytree_node.")
    key_children, _ = handler.flatten_with_keys_fn(tree)
    for k, c in key_children:
        yield from _generate_key_paths((*key_path, k), c, is_leaf)


def tree_flatten_with_path(tree, is_leaf=None):
    """Like ``tree_flatten``, with each leaf paired with its key path.

    Example:
        >>> pairs, _ = tree_flatten_with_path({"a": [1]})
        >>> [(keystr(k), v) for k, v in pairs]
        [("['a'][0]", 1)]
    """
    _, treespec = tree_flatten(tree, is_leaf)
    return list(_generate_key_paths((), tree, is_leaf)), treespec


def tree_leaves_with_path(tree, is_leaf=None) -> list:
    """The ``(key path, leaf)`` pairs of a pytree.

    Example:
        >>> [keystr(k) for k, _ in tree_leaves_with_path((1, {"b": 2}))]
        ['[0]', "[1]['b']"]
    """
    return list(_generate_key_paths((), tree, is_leaf))


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """Like ``tree_map``, with ``func(key_path, leaf, *others)``.

    Example:
        >>> tree_map_with_path(lambda k, v: keystr(k), {"a": 1})
        {'a': "['a']"}
    """
    keypath_leaves, treespec = tree_flatten_with_path(tree, is_leaf)
    columns = list(zip(*keypath_leaves, strict=True))
    columns += [treespec.flatten_up_to(r) for r in rests]
    return treespec.unflatten(func(*xs) for xs in zip(*columns, strict=True))


# -- serialization ---------------------------------------------------------------------------

class EnumEncoder(json.JSONEncoder):
    """JSON encoder that writes an ``Enum`` member as its class path and name.

    Example:
        >>> json.dumps([1], cls=EnumEncoder)
        '[1]'
    """

    def default(self, obj):
        if isinstance(obj, Enum):
            return {"__enum__": True, "fqn": f"{obj.__class__.__module__}:"
                    f"{obj.__class__.__qualname__}", "name": obj.name}
        return super().default(obj)


def _enum_object_hook(obj):
    if "__enum__" in obj:
        modname, _, classname = obj["fqn"].partition(":")
        enum_cls = importlib.import_module(modname)
        for attr in classname.split("."):
            enum_cls = getattr(enum_cls, attr)
        return enum_cls[obj["name"]]
    return obj


def _treespec_to_json(treespec) -> dict:
    if treespec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    if treespec.type not in SUPPORTED_SERIALIZED_TYPES:
        raise NotImplementedError(f"Serializing {treespec.type} in pytree is not registered.")
    node_def = SUPPORTED_SERIALIZED_TYPES[treespec.type]
    if node_def.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"No registered serialization name for {treespec.type} found. Please update your "
            "_register_pytree_node call with a `serialized_type_name` kwarg.")
    if node_def.to_dumpable_context is None:
        try:
            context = json.dumps(treespec._context, cls=EnumEncoder)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json "
                            "dump-able, or register a custom serializer using "
                            "_register_pytree_node.") from e
    else:
        context = node_def.to_dumpable_context(treespec._context)
    return {"type": node_def.serialized_type_name, "context": context,
            "children_spec": [_treespec_to_json(c) for c in treespec._children]}


def _json_to_treespec(schema) -> TreeSpec:
    if schema["type"] is None and schema["context"] is None and not schema["children_spec"]:
        return _LEAF_SPEC
    if schema["type"] not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Deserializing {schema['type']} in pytree is not registered.")
    typ = SERIALIZED_TYPE_TO_PYTHON_TYPE[schema["type"]]
    node_def = SUPPORTED_SERIALIZED_TYPES[typ]
    if node_def.from_dumpable_context is None:
        context = json.loads(schema["context"], object_hook=_enum_object_hook)
    else:
        context = node_def.from_dumpable_context(schema["context"])
    return TreeSpec(typ, context, [_json_to_treespec(c) for c in schema["children_spec"]])


def treespec_dumps(treespec, protocol: int | None = None) -> str:
    """A ``TreeSpec`` as torch's JSON (protocol 1).

    Example:
        >>> treespec_dumps(tree_structure([1]))[:40]
        '[1, {"type": "builtins.list", "context":'
    """
    if not isinstance(treespec, TreeSpec):
        raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    if protocol is None:
        protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return json.dumps((protocol, _treespec_to_json(treespec)), cls=EnumEncoder)


@functools.lru_cache
def treespec_loads(serialized: str):
    """The ``TreeSpec`` that ``treespec_dumps`` wrote.

    Example:
        >>> spec = tree_structure({"a": (1, 2)})
        >>> treespec_loads(treespec_dumps(spec)) == spec
        True
    """
    protocol, schema = json.loads(serialized)
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return _json_to_treespec(schema)


class _Asterisk(str):
    __slots__ = ()

    def __new__(cls):
        return super().__new__(cls, "*")

    def __repr__(self) -> str:
        return "*"


_asterisk = _Asterisk()


def treespec_pprint(treespec) -> str:
    """The structure drawn as the container with ``*`` for each leaf.

    Example:
        >>> treespec_pprint(tree_structure({"a": [1, (2, None)]}))
        "{'a': [*, (*, *)]}"
    """
    return repr(tree_unflatten([_asterisk] * treespec.num_leaves, treespec))
