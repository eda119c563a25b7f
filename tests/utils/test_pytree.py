"""ember.utils._pytree against torch.utils._pytree: flatten order, TreeSpec repr/equality,
unflatten, the map family, key paths, serialization and the errors."""

import copy
import pickle
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple

import pytest

import ember
from ember.utils import _pytree as ep

Point = namedtuple("Point", "x y")


def _trees():
    return [
        1, None, [], (), {},
        [1, (2, 3), {"b": 4, "a": [5, None]}],
        {"z": Point(1, (2,)), "a": OrderedDict(q=3, p=[4])},
        defaultdict(list, {2: 5, 1: (6, 7)}),
        deque([1, [2, 3]], maxlen=4),
        (Point([1], None), deque([]), OrderedDict()),
    ]


@pytest.mark.parametrize("i", range(10))
def test_flatten_matches_torch(torch, i):
    tp = pytest.importorskip("torch.utils._pytree")
    tree = _trees()[i]
    leaves, spec = ep.tree_flatten(tree)
    t_leaves, t_spec = tp.tree_flatten(tree)
    assert leaves == t_leaves
    assert repr(spec) == repr(t_spec) and str(spec) == str(t_spec)
    assert (spec.num_leaves, spec.num_nodes, spec.num_children) == (
        t_spec.num_leaves, t_spec.num_nodes, t_spec.num_children)
    assert spec.context == t_spec.context and spec.type is t_spec.type
    assert ep.tree_unflatten(leaves, spec) == tree
    assert type(ep.tree_unflatten(leaves, spec)) is type(tree)
    assert ep.tree_leaves(tree) == tp.tree_leaves(tree)
    assert ep.treespec_pprint(spec) == tp.treespec_pprint(t_spec)
    if i not in (6, 9):  # namedtuples need a registered name to serialize
        assert ep.treespec_dumps(spec) == tp.treespec_dumps(t_spec)
    assert [(ep.keystr(k), v) for k, v in ep.tree_leaves_with_path(tree)] == [
        (tp.keystr(k), v) for k, v in tp.tree_leaves_with_path(tree)]


def test_tensors_are_leaves_and_map(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    a, b = ember.ones(2), ember.zeros(3)
    tree = {"w": a, "pair": (b, 3)}
    out = ep.tree_map_only(ember.Tensor, lambda t: t + 1, tree)
    assert out["pair"][1] == 3 and out["w"].tolist() == [2.0, 2.0]
    assert ep.tree_leaves(tree)[0] is a
    t_tree = {"w": torch.ones(2), "pair": (torch.zeros(3), 3)}
    t_out = tp.tree_map_only(torch.Tensor, lambda t: t + 1, t_tree)
    assert ep.tree_structure(out) == ep.tree_structure(tree)
    assert repr(ep.tree_structure(out)) == repr(tp.tree_structure(t_out))


def test_tree_map_with_prefix_rests(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    for args in ([[5, 6], [[7, 9], [1, 2]]], [{"a": 1, "b": 2}, OrderedDict(b=3, a=4)]):
        fn = (lambda x, y: [x] + y) if isinstance(args[0], list) else (lambda x, y: x + y)
        assert ep.tree_map(fn, *args) == tp.tree_map(fn, *args)


@pytest.mark.parametrize("tree,other", [
    ([1, 2], [1]), ([1, 2], (1, 2)), ({"a": 1}, {"b": 1}), ({"a": 1}, {"a": 1, "c": 2}),
    (Point(1, 2), namedtuple("Q", "x y")(1, 2)), ([1], 5)])
def test_flatten_up_to_errors_match_torch(torch, tree, other):
    tp = pytest.importorskip("torch.utils._pytree")
    with pytest.raises(ValueError) as expected:
        tp.tree_map(lambda x, y: x, tree, other)
    with pytest.raises(ValueError) as got:
        ep.tree_map(lambda x, y: x, tree, other)
    assert str(got.value) == str(expected.value)


def test_unflatten_length_error_and_type_error(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    with pytest.raises(ValueError) as expected:
        tp.tree_unflatten([1], tp.tree_structure([1, 2]))
    with pytest.raises(ValueError) as got:
        ep.tree_unflatten([1], ep.tree_structure([1, 2]))
    assert str(got.value) == str(expected.value)
    with pytest.raises(TypeError, match="Expected `treespec` to be an instance of PyTreeSpec"):
        ep.tree_unflatten([1], [2])
    # the spec may come first, as in torch
    assert ep.tree_unflatten(ep.tree_structure((1, 2)), [3, 4]) == (3, 4)


def test_register_pytree_node_and_duplicate(torch):
    tp = pytest.importorskip("torch.utils._pytree")

    class Box:
        def __init__(self, items, tag):
            self.items, self.tag = items, tag

        def __eq__(self, other):
            return isinstance(other, Box) and (self.items, self.tag) == (other.items, other.tag)

    for mod in (ep, tp):
        mod.register_pytree_node(Box, lambda b: (b.items, b.tag),
                                 lambda xs, tag: Box(list(xs), tag))
    tree = [Box([1, (2, 3)], "t"), 4]
    leaves, spec = ep.tree_flatten(tree)
    t_leaves, t_spec = tp.tree_flatten(tree)
    assert leaves == t_leaves == [1, 2, 3, 4]
    assert repr(spec) == repr(t_spec)
    assert ep.tree_unflatten(leaves, spec) == tree
    with pytest.raises(ValueError, match="is already registered as pytree node"):
        ep.register_pytree_node(Box, lambda b: (b.items, b.tag), lambda xs, t: Box(xs, t))
    with pytest.raises(ValueError, match="Did not find a flatten_with_keys_fn"):
        ep.tree_leaves_with_path(tree)
    with pytest.raises(ValueError) as expected:
        tp.tree_map(lambda a, b: a, tree, [Box([1, 2], "t"), 4])
    with pytest.raises(ValueError) as got:
        ep.tree_map(lambda a, b: a, tree, [Box([1, 2], "t"), 4])
    assert str(got.value) == str(expected.value)
    ep._deregister_pytree_node(Box)
    assert ep.tree_leaves([Box([1], "t")])[0].tag == "t"


def test_treespec_equality_hash_and_leafspec(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    s1, s2 = ep.tree_structure({"a": [1, 2]}), ep.tree_structure({"a": [3, 4]})
    assert s1 == s2 and hash(s1) == hash(s2)
    assert s1 != ep.tree_structure({"a": [1]})
    assert ep.tree_structure(1).is_leaf() and repr(ep.tree_structure(1)) == "*"
    with pytest.warns(FutureWarning, match="LeafSpec"):
        leaf = ep.LeafSpec()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_leaf = tp.LeafSpec()
    assert leaf == ep.treespec_leaf() and repr(leaf) == repr(t_leaf)
    assert isinstance(ep.tree_structure(1), ep.LeafSpec)
    assert s1.child(0).children() == s2.child(0).children()
    with pytest.raises(AttributeError):  # frozen, as torch's dataclass
        s1.num_leaves = 3
    assert copy.deepcopy(s1) == s1 and pickle.loads(pickle.dumps(s1)) == s1


def test_all_any_and_only(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    tree = [1, "a", (2.5, -3), {"k": None}]
    for fn, args in [("tree_all", (lambda x: x is not None, tree)),
                     ("tree_any", (lambda x: x is None, tree)),
                     ("tree_all_only", (int, lambda x: x > 0, tree)),
                     ("tree_any_only", (int, lambda x: x < 0, tree)),
                     ("tree_map_only", (int, lambda x: -x, tree)),
                     ("tree_map_only", ((int, float), lambda x: x * 2, tree)),
                     ("tree_map_only", (lambda x: x == "a", lambda x: x + "!", tree))]:
        assert getattr(ep, fn)(*args) == getattr(tp, fn)(*args), fn
    with pytest.raises(TypeError, match="Argument must be a type"):
        ep.tree_map_only(3, lambda x: x, tree)


def test_is_leaf_predicate_and_dumps_roundtrip(torch):
    tp = pytest.importorskip("torch.utils._pytree")
    tree = [(1, 2), [3, (4,)]]
    pred = lambda x: isinstance(x, tuple)  # noqa: E731
    assert ep.tree_leaves(tree, is_leaf=pred) == tp.tree_leaves(tree, is_leaf=pred)
    spec = ep.tree_structure({"a": [1, (2, None)], "b": OrderedDict(x=1),
                              "c": defaultdict(int, {"k": 1}), "d": deque([1], maxlen=2)})
    text = ep.treespec_dumps(spec)
    assert ep.treespec_loads(text) == spec
    t_spec = tp.treespec_loads(text)  # torch reads what ember writes
    assert repr(t_spec) == repr(spec)
    with pytest.raises(NotImplementedError, match="namedtuple class"):
        ep.treespec_dumps(ep.tree_structure(Point(1, 2)))


def test_module_path_like_torch():
    import ember.utils
    assert ember.utils._pytree is ep


def test_register_dataclass_matches_torch(torch):
    import dataclasses

    tp = pytest.importorskip("torch.utils._pytree")

    @dataclasses.dataclass
    class Pair:
        a: object
        b: object = None
        tag: str = "t"

    for mod in (ep, tp):
        mod.register_dataclass(Pair, field_names=["a", "b"], drop_field_names=["tag"])
    tree = [Pair([1, 2], None), Pair(3, (4,))]
    assert ep.tree_leaves(tree) == tp.tree_leaves(tree) == [1, 2, 3, 4]
    assert repr(ep.tree_structure(tree)) == repr(tp.tree_structure(tree))
    assert ep.tree_map(lambda v: v * 10, tree) == tp.tree_map(lambda v: v * 10, tree)

    class Plain:
        pass

    for mod in (ep, tp):
        with pytest.raises(ValueError, match="field_names must be specified"):
            mod.register_dataclass(Plain)
    with pytest.raises(ValueError) as expected:
        tp.register_dataclass(Pair, field_names=["a"])
    with pytest.raises(ValueError) as got:
        ep.register_dataclass(Pair, field_names=["a"])
    # the message shows sets of names, whose order follows the process's string hashing
    assert _sets_sorted(str(got.value)) == _sets_sorted(str(expected.value))


def _sets_sorted(text: str) -> str:
    """``text`` with each ``{'b', 'a'}`` written in sorted order."""
    import re

    return re.sub(r"\{([^{}]*)\}",
                  lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def test_reachable_as_an_attribute_in_a_fresh_process():
    import subprocess
    import sys

    code = ("import ember\n"
            "print(ember.utils._pytree.tree_leaves([1, (2,)]), hasattr(ember.utils, '_x'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[1, 2] False", out.stderr


def test_func_transforms_share_this_pytree(torch):
    # ember.func flattens with this module, as torch.func does with torch.utils._pytree: a
    # deque is a node, and an in_dims dict matches the inputs' dict by key, not by order
    import numpy as np
    from torch.func import vmap as t_vmap

    from ember.func import vmap

    def f(d):
        return d["a"] + d["b"][0]

    dims = ({"b": 0, "a": None},)
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    got = vmap(f, in_dims=dims)({"a": ember.ones(3), "b": deque([ember.tensor(data)])})
    want = t_vmap(f, in_dims=dims)({"a": torch.ones(3), "b": deque([torch.tensor(data)])})
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    messages = []
    for vm, lib in ((vmap, ember), (t_vmap, torch)):
        with pytest.raises(ValueError) as err:
            vm(f, in_dims=({"c": 0, "a": None},))({"a": lib.ones(3),
                                                   "b": deque([lib.ones(2, 3)])})
        messages.append(str(err.value))
    assert messages[0] == messages[1]
