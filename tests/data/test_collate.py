"""default_collate / default_convert against torch's, on nested structures."""

import collections

import numpy as np
import pytest

import ember
from ember.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", "x y")


def to_plain(obj):
    """Turn ember or torch outputs into comparable Python/NumPy values, keeping dtype names."""
    if hasattr(obj, "detach") or isinstance(obj, ember.Tensor):
        arr = obj.numpy() if isinstance(obj, ember.Tensor) else obj.detach().numpy()
        return ("T", str(obj.dtype).replace("torch.", ""), arr.shape, arr.tolist())
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("NT", type(obj).__name__, [to_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [to_plain(v) for v in obj])
    return obj


def samples(lib):
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        ["a", "b"],
        [np.arange(3, dtype=np.float32), np.arange(3, dtype=np.float32)],
        [np.int32(4), np.int32(5)],
        [np.float64(1.5), np.float64(2.0)],
        [(lib.tensor([1]), 0, "x"), (lib.tensor([2]), 1, "y")],
        [{"img": lib.zeros(2, 2), "lbl": 3, "meta": {"id": 1.0}},
         {"img": lib.ones(2, 2), "lbl": 4, "meta": {"id": 2.0}}],
        [[1, 2.0], [3, 4.0]],
        [Point(1, lib.tensor(2.0)), Point(3, lib.tensor(4.0))],
        [lib.tensor(5, dtype=lib.uint8), lib.tensor(6, dtype=lib.uint8)],
    ]


def test_default_collate_matches_torch(torch):
    import torch.utils.data as tud

    for ours_in, theirs_in in zip(samples(ember), samples(torch)):
        assert to_plain(default_collate(ours_in)) == to_plain(tud.default_collate(theirs_in))


def test_default_convert_matches_torch(torch):
    import torch.utils.data as tud

    items = [np.zeros(3), (np.ones(2, np.int16), 1), {"a": np.float32(2.0)}, "s", [np.arange(2)]]
    for item in items:
        assert to_plain(default_convert(item)) == to_plain(tud.default_convert(item))


def test_collate_dtypes_follow_torch_rules():
    assert default_collate([1.0, 2.0]).dtype == ember.float64
    assert default_collate([1, 2]).dtype == ember.int64
    assert default_collate([True, False]).dtype == ember.bool
    out = default_collate([ember.tensor([1.0]), ember.tensor([2.0])])
    assert out.shape == (2, 1) and out.dtype == ember.float32


def test_collate_shape_mismatch_names_shapes_and_entries():
    with pytest.raises(RuntimeError, match=r"\[3\] at entry 0 and \[4\] at entry 2"):
        default_collate([ember.zeros(3), ember.zeros(3), ember.zeros(4)])


def test_collate_rejects_unknown_types():
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="numpy arrays"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])


class Box:
    """A type default_collate does not know."""

    def __init__(self, v):
        self.v = v


def test_collate_fn_map_through_torchs_private_import_path(torch):
    import importlib

    def collate_boxes(batch, *, collate_fn_map=None):
        return [b.v * 10 for b in batch]

    results = []
    for root in ("torch", "ember"):
        mod = importlib.import_module(f"{root}.utils.data._utils.collate")
        fn_map = {**mod.default_collate_fn_map, Box: collate_boxes}
        results.append(to_plain(mod.collate([(Box(1), 2.5), (Box(3), 4.5)],
                                            collate_fn_map=fn_map)))
        assert mod.default_collate is importlib.import_module(f"{root}.utils.data").default_collate
    assert results[0] == results[1]
