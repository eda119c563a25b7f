"""Legacy (pre-1.6) checkpoints, ``torch.save(..., _use_new_zipfile_serialization=False)``:
ember.load must agree with torch.load element by element, keep views sharing storage, honour
the weights_only allow-list and fail clearly on truncated files."""

import collections
import datetime
import io
import pickle

import numpy as np
import pytest

import ember

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]


def _legacy_bytes(torch, obj, protocol=2) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    return buf.getvalue()


def _as_numpy(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy()


def _same(e, t):
    """ember object ``e`` equals torch object ``t`` (recursively, tensors element by element)."""
    if hasattr(t, "numpy") and hasattr(t, "dtype"):
        assert isinstance(e, ember.Tensor), type(e)
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        assert e.requires_grad == t.requires_grad
        np.testing.assert_array_equal(_as_numpy(e), _as_numpy(t))
    elif isinstance(t, dict):
        assert type(e).__name__ == type(t).__name__ and list(e) == list(t)
        for k in t:
            _same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
    else:
        assert e == t or (e != e and t != t)


@pytest.mark.parametrize("protocol", [2, 4])
def test_every_dtype_matches_torch_load(torch, tmp_path, protocol):
    obj = {}
    for name in DTYPES:
        base = torch.arange(-3, 9, dtype=torch.float64).reshape(3, 4) / 2
        obj[name] = base.to(getattr(torch, name)) if name != "bool" else base > 0
        obj[name + "_0d"] = obj[name][1, 2].clone()
        obj[name + "_empty"] = obj[name][:0]
    path = tmp_path / "legacy.pt"
    path.write_bytes(_legacy_bytes(torch, obj, protocol))
    # torch's own weights-only unpickler stops at protocol 4's FRAME opcode; ember does not
    ref = torch.load(path, weights_only=protocol == 2)
    _same(ember.load(path), ref)
    _same(ember.load(io.BytesIO(path.read_bytes())), ref)


def test_state_dict_with_metadata_loads_into_a_module(torch, tmp_path):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    path = tmp_path / "sd.pt"
    path.write_bytes(_legacy_bytes(torch, tnet.state_dict()))
    sd = ember.load(path)
    ref = torch.load(path, weights_only=True)
    _same(sd, ref)
    assert isinstance(sd, collections.OrderedDict)
    assert sd._metadata == ref._metadata
    enet = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.BatchNorm1d(3))
    enet.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    tnet.eval()
    enet.eval()
    np.testing.assert_allclose(enet(ember.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-6)


def test_views_share_storage(torch, tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    obj = {"base": base, "row": base[1], "col": base[:, 2], "t": base.t(),
           "tail": base.view(-1)[5:], "other": torch.ones(2)}
    path = tmp_path / "views.pt"
    path.write_bytes(_legacy_bytes(torch, obj))
    got = ember.load(path)
    ref = torch.load(path, weights_only=True)
    _same(got, ref)
    assert got["col"].stride() == ref["col"].stride()
    got["base"][1, 2] = 100.0  # one storage: every view sees the write, as in torch
    ref["base"][1, 2] = 100.0
    for k in obj:
        np.testing.assert_array_equal(_as_numpy(got[k]), _as_numpy(ref[k]))


def test_nested_containers_and_parameters(torch, tmp_path):
    p = torch.nn.Parameter(torch.randn(2, 2))
    obj = {"list": [1, 2.5, "three", None, True, (torch.tensor([1, 2]), [torch.zeros(0)])],
           "nested": {"a": {"b": {"c": torch.tensor(3.5, dtype=torch.float64)}}},
           "param": p, "frozen": torch.nn.Parameter(torch.ones(3), requires_grad=False),
           "grad": torch.ones(2, requires_grad=True), "size": torch.Size([2, 3]),
           "dtype": torch.float16, "od": collections.OrderedDict(x=torch.eye(2)),
           "set": {1, 2}, "bytes": b"\x00\x01"}
    path = tmp_path / "nested.pt"
    path.write_bytes(_legacy_bytes(torch, obj))
    got = ember.load(path)
    ref = torch.load(path, weights_only=True)
    _same({k: v for k, v in got.items() if k not in ("param", "frozen", "size", "dtype")},
          {k: v for k, v in ref.items() if k not in ("param", "frozen", "size", "dtype")})
    assert isinstance(got["param"], ember.nn.Parameter) and got["param"].requires_grad
    assert not got["frozen"].requires_grad
    np.testing.assert_array_equal(got["param"].detach().numpy(), p.detach().numpy())
    assert got["size"] == (2, 3) and got["dtype"] == ember.float16


def test_unsafe_global_is_refused_and_allowed_with_weights_only_false(torch, tmp_path):
    path = tmp_path / "unsafe.pt"
    path.write_bytes(_legacy_bytes(torch, {"when": datetime.date(2020, 1, 2),
                                           "w": torch.ones(2)}))
    with pytest.raises(pickle.UnpicklingError, match="datetime.date"):
        ember.load(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    got = ember.load(path, weights_only=False)
    assert got["when"] == datetime.date(2020, 1, 2)
    with ember.serialization.safe_globals([datetime.date]):
        assert ember.load(path)["when"].year == 2020


def test_truncated_legacy_files_fail_clearly(torch, tmp_path):
    data = _legacy_bytes(torch, {"a": torch.arange(10.0), "b": [torch.ones(3, dtype=torch.int64)]})
    path = tmp_path / "cut.pt"
    for cut in list(range(0, len(data), 5)) + [len(data) - 1]:
        path.write_bytes(data[:cut])
        with pytest.raises(RuntimeError) as info:
            ember.load(path)
        msg = str(info.value)
        assert str(path) in msg and any(w in msg for w in ("truncated", "empty", "corrupt",
                                                           "plain pickle")), (cut, msg)
    path.write_bytes(data[:-3])
    with pytest.raises(RuntimeError, match="truncated"):
        ember.load(path)


def test_corrupt_storage_count_is_reported(torch, tmp_path):
    data = bytearray(_legacy_bytes(torch, {"a": torch.arange(4.0)}))
    count_at = len(data) - 4 * 4 - 8  # the 8-byte element count before the 16 data bytes
    assert int.from_bytes(data[count_at:count_at + 8], "little") == 4
    data[count_at] = 5
    path = tmp_path / "count.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="records 5 elements"):
        ember.load(path)


class _Storage:
    """Stands for a storage while hand-writing a legacy file with view_metadata."""

    def __init__(self, key, numel, view=None):
        self.key, self.numel, self.view = key, numel, view


class _TensorRecord:
    def __init__(self, torch, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())
        self.fn = torch._utils._rebuild_tensor_v2

    def __reduce__(self):
        return self.fn, self.args


def test_storage_view_metadata_of_old_files(torch, tmp_path):
    """Files from the era of storage views name a slice of a root storage in view_metadata."""

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel, obj.view)
            return None

    root = _Storage("root", 8)
    view = _Storage("root", 8, ("view1", 2, 4))  # elements 2..5 of the root
    obj = {"whole": _TensorRecord(torch, root, 0, (2, 4), (4, 1)),
           "part": _TensorRecord(torch, view, 1, (3,), (1,))}
    buf = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001,
                                                  "little_endian": True}):
        pickle.dump(header, buf, protocol=2)
    Writer(buf, protocol=2).dump(obj)
    pickle.dump(["root"], buf, protocol=2)
    buf.write((8).to_bytes(8, "little") + np.arange(8, dtype="<f4").tobytes())
    path = tmp_path / "views_old.pt"
    path.write_bytes(buf.getvalue())
    got = ember.load(path)
    ref = torch.load(path, weights_only=True)
    _same(got, ref)
    np.testing.assert_array_equal(got["part"].numpy(), [3.0, 4.0, 5.0])
    got["whole"][0, 3] = -1.0  # the view shares the root's memory
    assert got["part"][0].item() == -1.0


def test_map_location_and_errors(torch, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(_legacy_bytes(torch, {"a": torch.arange(3.0)}))
    for loc in ["cpu", ember.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s]:
        np.testing.assert_array_equal(ember.load(path, map_location=loc)["a"].numpy(),
                                      [0.0, 1.0, 2.0])
    with pytest.raises(RuntimeError, match="mmap"):
        ember.load(path, mmap=True)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(RuntimeError, match="plain pickle"):
        ember.load(plain)


def _ember_legacy_bytes(obj) -> bytes:
    buf = io.BytesIO()
    ember.save(obj, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_writes_legacy_files_torch_loads(torch, dtype):
    base = ember.arange(12).to(getattr(ember, dtype))
    obj = {"base": base, "view": base[3:7], "t": base.view(3, 4).t(), "n": 3,
           "p": ember.nn.Parameter(ember.ones(2))}
    data = _ember_legacy_bytes(obj)
    back = torch.load(io.BytesIO(data))
    _same(ember.load(io.BytesIO(data)), back)
    assert back["view"].storage_offset() == 3 and back["t"].stride() == (1, 4)
    back["view"][0] = 0  # views still share the one storage
    assert back["base"][3].item() == 0
    assert data.startswith(_legacy_bytes(torch, {})[:16])  # the same magic-number pickle


def test_ember_legacy_file_through_a_path(tmp_path):
    path = tmp_path / "legacy.pt"
    ember.save({"w": ember.ones(3)}, path, _use_new_zipfile_serialization=False)
    assert not path.read_bytes().startswith(b"PK")
    assert ember.load(path)["w"].tolist() == [1.0, 1.0, 1.0]
