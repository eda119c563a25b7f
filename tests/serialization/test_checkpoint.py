"""ember.save / ember.load: round trips, interop with PyTorch both ways, safety, corrupt files."""

import collections
import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import ember

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
              "float32", "float64", "complex64", "complex128"]


def _sample(name, shape=(2, 3)):
    dt = getattr(ember, name)
    base = np.asarray(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape))
    if name == "bool":
        return ember.from_numpy(np.asarray(base % 2 == 1))
    return ember.from_numpy(np.asarray(base - 2 if dt.is_signed else base)).to(dt)


def _equal(a, b):
    assert type(a) is type(b) or (isinstance(a, ember.Tensor) and isinstance(b, ember.Tensor))
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.detach().float().numpy() if a.dtype == ember.bfloat16
                                  else a.detach().numpy(),
                                  b.detach().float().numpy() if b.dtype == ember.bfloat16
                                  else b.detach().numpy())


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_round_trip_every_dtype(tmp_path, name):
    t = _sample(name)
    ember.save({"t": t, "scalar": _sample(name, ())}, tmp_path / "x.pth")
    back = ember.load(tmp_path / "x.pth")
    _equal(back["t"], t)
    _equal(back["scalar"], _sample(name, ()))


def test_views_share_one_storage_after_load(tmp_path):
    x = ember.arange(12.0).reshape(3, 4)
    ember.save({"x": x, "row": x[1], "t": x.t(), "strided": x[:, ::2]}, tmp_path / "v.pth")
    with zipfile.ZipFile(tmp_path / "v.pth") as z:
        assert [n for n in z.namelist() if "/data/" in n] == ["v/data/0"]
    back = ember.load(tmp_path / "v.pth")
    _equal(back["t"], x.t())
    _equal(back["strided"], x[:, ::2])
    assert back["t"].stride() == (1, 4)
    back["x"][1, 0] = 100.0
    assert back["row"][0].item() == 100.0 and back["t"][0, 1].item() == 100.0


def test_nested_containers_and_metadata(tmp_path):
    sd = collections.OrderedDict(w=ember.ones(2, 2), b=ember.zeros(2))
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    obj = {"epoch": 3, "loss": 0.25, "sd": sd, "list": [ember.tensor(1), (2, "a", None)],
           "size": ember.Size([2, 3]), "dev": ember.device("cpu"), "dtype": ember.float16,
           "flags": {True, False}, "nested": {"deep": [{"x": ember.eye(2)}]}}
    ember.save(obj, tmp_path / "c.pth")
    back = ember.load(tmp_path / "c.pth")
    assert back["epoch"] == 3 and back["loss"] == 0.25
    assert isinstance(back["sd"], collections.OrderedDict)
    assert back["sd"]._metadata == {"": {"version": 1}}
    assert list(back["sd"]) == ["w", "b"]
    assert back["size"] == ember.Size([2, 3]) and isinstance(back["size"], ember.Size)
    assert back["dev"] == ember.device("cpu") and back["dtype"] is ember.float16
    assert back["list"][1] == (2, "a", None) and back["flags"] == {True, False}
    _equal(back["nested"]["deep"][0]["x"], ember.eye(2))


def test_requires_grad_and_buffers(tmp_path):
    t = ember.ones(3, requires_grad=True)
    buf = io.BytesIO()
    ember.save(t, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back.requires_grad and back.is_leaf


def test_file_object_uses_archive_folder():
    buf = io.BytesIO()
    ember.save(ember.ones(2), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        names = z.namelist()
        assert names[0] == "archive/data.pkl"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        assert "archive/version" in names and "archive/byteorder" in names


# -- interop with PyTorch ---------------------------------------------------------------------

def test_torch_reads_ember_files(torch, tmp_path):
    x = ember.arange(12.0).reshape(3, 4)
    sd = collections.OrderedDict(weight=x, bias=ember.zeros(3, dtype=ember.float64))
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    obj = {"sd": sd, "v": x[1:, ::2], "i": ember.tensor([1, 2], dtype=ember.int32),
           "h": ember.ones(2, dtype=ember.bfloat16), "s": ember.Size([1]), "e": ember.zeros(0, 3)}
    ember.save(obj, tmp_path / "e.pth")
    for mmap in (False, True):
        back = torch.load(tmp_path / "e.pth", weights_only=True, mmap=mmap)
        assert back["sd"]._metadata == {"": {"version": 1}}
        np.testing.assert_array_equal(back["sd"]["weight"].numpy(), x.numpy())
        np.testing.assert_array_equal(back["v"].numpy(), x[1:, ::2].numpy())
        assert back["v"].storage_offset() == 4 and back["v"].stride() == (4, 2)
        assert back["i"].dtype == torch.int32 and back["h"].dtype == torch.bfloat16
        assert back["s"] == torch.Size([1]) and back["e"].shape == (0, 3)


def test_ember_reads_torch_files(torch, tmp_path):
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2)
    base = torch.randn(4, 5, dtype=torch.float64)
    obj = {"sd": lin.state_dict(), "view": base[1:, 2:], "t": base.t(),
           "dtypes": [torch.ones(2, dtype=d) for d in (torch.float16, torch.bfloat16, torch.int8,
                                                       torch.uint8, torch.bool, torch.int16)],
           "param": torch.nn.Parameter(torch.ones(2)), "size": torch.Size([3]), "zero_d":
           torch.tensor(3.5), "opt": torch.optim.SGD(lin.parameters(), lr=0.1).state_dict()}
    torch.save(obj, tmp_path / "t.pth")
    for mmap in (False, True):
        back = ember.load(tmp_path / "t.pth", mmap=mmap)
        assert list(back["sd"]) == ["weight", "bias"]
        assert back["sd"]._metadata == lin.state_dict()._metadata
        np.testing.assert_array_equal(back["sd"]["weight"].numpy(),
                                      lin.weight.detach().numpy())
        np.testing.assert_array_equal(back["view"].numpy(), base[1:, 2:].numpy())
        np.testing.assert_array_equal(back["t"].numpy(), base.t().numpy())
        assert [str(t.dtype) for t in back["dtypes"]] == [str(t.dtype) for t in obj["dtypes"]]
        assert back["zero_d"].item() == 3.5 and back["zero_d"].shape == ()
        assert back["size"] == ember.Size([3])
        assert back["opt"]["param_groups"][0]["lr"] == 0.1


# -- safety -------------------------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ.get("EMBER_PWNED", "/tmp/ember-pwned"),))


class Config:
    def __init__(self, lr=0.1):
        self.lr = lr


def _pickle_archive(path, obj):
    """A zip checkpoint whose data.pkl is an arbitrary pickle."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps(obj, protocol=2))
        z.writestr("evil/version", "3\n")


def test_code_in_a_pickle_is_refused_and_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("EMBER_PWNED", str(marker))
    _pickle_archive(tmp_path / "evil.pth", {"x": _Evil()})
    with pytest.raises(pickle.UnpicklingError) as err:
        ember.load(tmp_path / "evil.pth")
    assert "system" in str(err.value) and "add_safe_globals" in str(err.value)
    assert not marker.exists()


def test_safe_globals_allow_a_trusted_class(tmp_path):
    _pickle_archive(tmp_path / "cfg.pth", {"cfg": Config(0.5)})
    with pytest.raises(pickle.UnpicklingError, match="Config"):
        ember.load(tmp_path / "cfg.pth")
    with ember.serialization.safe_globals([Config]):
        assert ember.load(tmp_path / "cfg.pth")["cfg"].lr == 0.5
    with pytest.raises(pickle.UnpicklingError):
        ember.load(tmp_path / "cfg.pth")
    ember.serialization.add_safe_globals([Config])
    try:
        assert Config in ember.serialization.get_safe_globals()
        assert ember.load(tmp_path / "cfg.pth")["cfg"].lr == 0.5
    finally:
        ember.serialization.clear_safe_globals()
    assert ember.load(tmp_path / "cfg.pth", weights_only=False)["cfg"].lr == 0.5


def test_os_can_never_be_allowed():
    with pytest.raises(pickle.UnpicklingError):
        ember.serialization.add_safe_globals([os.system])


# -- corrupt files --------------------------------------------------------------------------------

def _good_bytes():
    buf = io.BytesIO()
    ember.save({"a": ember.arange(64.0).reshape(8, 8), "b": ember.ones(5, dtype=ember.int64)},
               buf)
    return buf.getvalue()


OK_ERRORS = (RuntimeError, pickle.UnpicklingError)


def test_empty_random_and_non_zip_files(tmp_path):
    cases = {"empty": b"", "random": np.random.default_rng(0).bytes(300),
             "text": b"hello world, not a checkpoint", "pickle": pickle.dumps({"a": 1})}
    for name, data in cases.items():
        path = tmp_path / f"{name}.pth"
        path.write_bytes(data)
        with pytest.raises(RuntimeError) as err:
            ember.load(path)
        assert str(path) in str(err.value)


def test_zip_without_data_pkl(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.pth", "w") as z:
        z.writestr("z/version", "3\n")
    with pytest.raises(RuntimeError, match="data.pkl"):
        ember.load(tmp_path / "z.pth")


def test_short_storage_record(tmp_path):
    good = zipfile.ZipFile(io.BytesIO(_good_bytes()))
    with zipfile.ZipFile(tmp_path / "s.pth", "w") as z:
        for info in good.infolist():
            data = good.read(info)
            if info.filename.endswith("data/0"):
                data = data[:100]
            z.writestr(info.filename, data)
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        ember.load(tmp_path / "s.pth")


def test_truncation_at_every_record_boundary_and_more(tmp_path):
    data = _good_bytes()
    z = zipfile.ZipFile(io.BytesIO(data))
    cuts = {i.header_offset for i in z.infolist()} | {len(data) - k for k in (1, 10, 22, 50)}
    cuts |= set(range(0, len(data), max(1, len(data) // 40)))
    for cut in sorted(cuts):
        path = tmp_path / "t.pth"
        path.write_bytes(data[:cut])
        with pytest.raises(OK_ERRORS):
            ember.load(path)


def test_flipped_bytes_give_errors_or_values_never_crashes(tmp_path):
    data = bytearray(_good_bytes())
    rng = np.random.default_rng(1)
    for pos in rng.choice(len(data), 60, replace=False):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        path = tmp_path / "f.pth"
        path.write_bytes(bytes(bad))
        try:
            ember.load(path)
        except OK_ERRORS:
            pass


# -- atomic saves ---------------------------------------------------------------------------------

def test_failed_save_leaves_old_file(tmp_path):
    path = tmp_path / "model.pth"
    ember.save({"v": 1}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        ember.save({"v": 2, "bad": lambda: None}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pth"]


def test_killed_save_leaves_old_file(tmp_path):
    path = tmp_path / "big.pth"
    ember.save({"old": True}, path)
    code = ("import ember, sys; t = ember.zeros(60_000_000)\n"
            "while True: ember.save({'t': t}, sys.argv[1])\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)])
    try:
        import time

        time.sleep(3.0)
    finally:
        proc.kill()
        proc.wait()
    back = ember.load(path)  # either the old file or a complete new one, never half of one
    assert back == {"old": True} or back["t"].shape == (60_000_000,)


# -- map_location ---------------------------------------------------------------------------------

def test_map_location_forms(tmp_path):
    ember.save({"a": ember.ones(2)}, tmp_path / "m.pth")
    for loc in ("cpu", ember.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s):
        assert ember.load(tmp_path / "m.pth", map_location=loc)["a"].device.type == "cpu"


def test_cuda_checkpoint_loads_to_cpu_with_warning(tmp_path, monkeypatch):
    from ember._serialization import pickling

    original = pickling.ArchivePickler._storage_for

    def as_cuda(self, t):
        ref, off, strides = original(self, t)
        ref.location = "cuda:0"
        return ref, off, strides

    monkeypatch.setattr(pickling.ArchivePickler, "_storage_for", as_cuda)
    ember.save({"a": ember.ones(2)}, tmp_path / "g.pth")
    monkeypatch.undo()
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        back = ember.load(tmp_path / "g.pth")
    assert back["a"].device.type == "cpu"


def _saved(lib, obj) -> bytes:
    buf = io.BytesIO()
    lib.save(obj, buf)
    return buf.getvalue()


def test_loaded_views_report_their_storage_as_torch(torch):
    def layout(lib, data):
        got = lib.load(io.BytesIO(data))
        return {k: (v.storage_offset(), v.stride(), v.untyped_storage().nbytes())
                for k, v in got.items()}

    def obj(lib):
        base = lib.arange(10.0)
        return {"base": base, "view": base[2:6], "t": base.view(2, 5).t(), "row": base[5:]}

    want = layout(torch, _saved(torch, obj(torch)))
    assert layout(ember, _saved(ember, obj(ember))) == want
    assert layout(ember, _saved(torch, obj(torch))) == want
    assert want["view"] == (2, (1,), 40)


class _Config:
    def __init__(self, lr):
        self.lr = lr


def test_get_unsafe_globals_in_checkpoint_matches_torch(torch):
    obj = {"config": _Config(0.1), "w": [1, 2.5], "when": collections.Counter("ab")}
    torch_file = _saved(torch, {**obj, "t": torch.ones(2)})
    ember_file = _saved(ember, {**obj, "t": ember.ones(2)})
    name = f"{__name__}._Config"
    for data in (torch_file, ember_file):
        assert ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == [name]
        assert torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == [name]
        with ember.serialization.safe_globals([_Config]):
            assert ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == []
    plain = _saved(ember, {"t": ember.ones(2), "d": ember.float16, "s": ember.Size([2])})
    assert ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(plain)) == []
    # protocol 4 names its globals with STACK_GLOBAL
    p4 = io.BytesIO()
    ember.save({"config": _Config(1.0)}, p4, pickle_protocol=4)
    assert ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(p4.getvalue())) == \
        [name]
    legacy = io.BytesIO()
    ember.save({"w": ember.ones(1)}, legacy, _use_new_zipfile_serialization=False)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Expected input to be a checkpoint returned by "):
            lib.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(legacy.getvalue()))


@pytest.mark.parametrize("data, torch_type", [(b"", EOFError),
                                              (b"not a checkpoint", pickle.UnpicklingError),
                                              (pickle.dumps([1, 2]), pickle.UnpicklingError)])
def test_non_checkpoints_raise_torchs_exception_types(torch, data, torch_type):
    with pytest.raises(torch_type):
        torch.load(io.BytesIO(data))
    with pytest.raises(torch_type) as err:
        ember.load(io.BytesIO(data))
    assert isinstance(err.value, RuntimeError)  # ember's own contract, kept


def test_truncated_zip_message_reads_the_files_start():
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        ember.load(io.BytesIO(b"PK\x03\x04garbage"))


def test_location_tag_and_default_restore_location_in_map_location(torch):
    data = _saved(torch, {"w": torch.arange(3.0)})
    for lib in (torch, ember):
        ser = lib.serialization
        got = lib.load(io.BytesIO(data),
                       map_location=lambda s, loc, ser=ser: ser.default_restore_location(s, "cpu"))
        assert got["w"].tolist() == [0.0, 1.0, 2.0]
        assert ser.location_tag(lib.ones(1).untyped_storage()) == "cpu"
        with pytest.raises(RuntimeError, match="don't know how to restore data location"):
            ser.default_restore_location(lib.ones(1).untyped_storage(), "tpu")


def test_a_loaded_checkpoint_saves_again_with_its_0d_and_strided_tensors(tmp_path):
    """Loaded tensors are views of the file's bytes; saving them again writes each as its own
    storage, and a 0-d one must keep stride () (ember train --resume broke on stride (1,))."""
    import torch

    first, second = tmp_path / "first.pth", tmp_path / "second.pth"
    ember.save({"step": ember.tensor(3.0), "w": ember.arange(6.0).reshape(2, 3).t(),
                "row": ember.arange(4.0)[1:3]}, first)
    ember.save(ember.load(first), second)
    again, oracle = ember.load(second), torch.load(second)
    for key in ("step", "w", "row"):
        assert again[key].shape == oracle[key].shape
        assert again[key].stride() == tuple(oracle[key].stride())
        np.testing.assert_array_equal(again[key].numpy(), oracle[key].numpy())
    assert again["step"].stride() == () and again["step"].item() == 3.0
    np.testing.assert_array_equal(again["w"].numpy(), np.arange(6.0).reshape(2, 3).T)
