"""``ember.serialization``'s option surface, checked against PyTorch: load endianness, mmap
options, CRC-32 options, ``skip_data``, ``register_package`` and the small helpers."""

from __future__ import annotations

import io
import mmap
import os
import shutil
import struct
import types
import warnings
import zipfile

import numpy as np
import pytest

import ember
import ember.serialization as es
from ember._serialization import config as cfg
from ember._serialization import locations, zipwriter


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _restore_options():
    """Every test starts and ends with the defaults (they are process-wide)."""
    saved = (dict(vars(cfg.load)), dict(vars(cfg.save)), list(locations.package_registry))
    yield
    vars(cfg.load).update(saved[0])
    vars(cfg.save).update(saved[1])
    locations.package_registry[:] = saved[2]


def _torch_serialization(torch):
    import torch.serialization as ts

    return ts


def _same_public_names(torch):
    ts = _torch_serialization(torch)
    return [n for n in ts.__all__ if not hasattr(es, n)]


def test_every_public_name_of_torch_serialization_exists(torch):
    assert _same_public_names(torch) == []
    assert sorted(es.__all__) == sorted(_torch_serialization(torch).__all__)
    ts = _torch_serialization(torch)
    for name in ("DEFAULT_PROTOCOL", "MAGIC_NUMBER", "PROTOCOL_VERSION", "LONG_SIZE", "INT_SIZE",
                 "SHORT_SIZE", "STORAGE_KEY_SEPARATOR"):
        assert getattr(es, name) == getattr(ts, name), name


# -- endianness -------------------------------------------------------------------------------

def test_load_endianness_enum_and_setters_match_torch(torch):
    ts = _torch_serialization(torch)
    assert [(e.name, e.value) for e in es.LoadEndianness] == \
        [(e.name, e.value) for e in ts.LoadEndianness]
    assert es.get_default_load_endianness() is None is ts.get_default_load_endianness()
    for lib in (es, ts):
        lib.set_default_load_endianness(lib.LoadEndianness.BIG)
        assert lib.get_default_load_endianness() is lib.LoadEndianness.BIG
        lib.set_default_load_endianness(None)
        assert lib.get_default_load_endianness() is None
        for bad in ("big", 3):
            with pytest.raises(TypeError, match="Invalid argument type"):
                lib.set_default_load_endianness(bad)
    with pytest.raises(ValueError):
        es.LoadEndianness("big")


def _rewrite(torch, obj, path, byteorder, swap=True):
    """A torch checkpoint of ``obj`` rewritten as a big-endian machine writes it: storage
    bytes swapped per element; the ``byteorder`` record set to ``byteorder`` (None: left out)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    tensors = obj if isinstance(obj, dict) else {"x": obj}
    # one storage per tensor here, keyed 0, 1, ... in the order the pickle meets them
    itemsizes = [t.element_size() // (2 if t.is_complex() else 1) for t in tensors.values()]
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(path, "w") as out:
        for info in zin.infolist():
            data = zin.read(info.filename)
            name = info.filename.split("/", 1)[1]
            if name in (".format_version", ".storage_alignment"):
                continue
            if name == "byteorder":
                if byteorder is None:
                    continue
                data = byteorder.encode()
            if name.startswith("data/") and swap:
                item = itemsizes[int(name.split("/")[1])]
                if item > 1:
                    data = np.frombuffer(data, f"u{item}").byteswap().tobytes()
            out.writestr(info.filename, data)


BIG_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
              "complex64", "complex128", "uint8", "int8", "bool"]


@pytest.mark.parametrize("use_mmap", [False, True])
@pytest.mark.parametrize("dtype", BIG_DTYPES)
def test_a_big_endian_checkpoint_loads_native(torch, tmp_path, dtype, use_mmap):
    x = (torch.arange(1, 7) * 3 + 1).to(getattr(torch, dtype)).reshape(2, 3)
    _rewrite(torch, x, tmp_path / "big.pt", "big")
    # (torch reads it right, so the file is what a big-endian host writes; torch's own mmap
    # path is left out: it crashes on some unaligned big-endian records zipfile writes)
    want = torch.load(tmp_path / "big.pt")
    assert torch.equal(want, x)
    got = ember.load(tmp_path / "big.pt", mmap=use_mmap)
    assert got.dtype == getattr(ember, dtype)
    assert got._data.dtype.isnative
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())
    got.zero_()  # writable memory


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_big_endian_untyped_storages_are_swapped_too(torch, tmp_path, dtype):
    # torch keeps the bytes of untyped (v3) storages as they are; ember swaps them.
    x = torch.tensor([1, 2, 300], dtype=getattr(torch, dtype))
    _rewrite(torch, {"a": x, "b": x[1:]}, tmp_path / "u.pt", "big")
    got = ember.load(tmp_path / "u.pt")
    assert got["a"].tolist() == [1, 2, 300] and got["b"].tolist() == [2, 300]
    got["a"][1] = 7  # the views still share their storage
    assert got["b"].tolist() == [7, 300]


def test_missing_byteorder_follows_the_default_load_endianness(torch, tmp_path):
    ts = _torch_serialization(torch)
    x = torch.arange(1.0, 5.0)
    _rewrite(torch, x, tmp_path / "nobo.pt", None)           # big-endian bytes, no record
    _rewrite(torch, x, tmp_path / "little.pt", None, swap=False)
    for choice in (None, "NATIVE", "LITTLE", "BIG"):
        ts.set_default_load_endianness(choice and ts.LoadEndianness[choice])
        es.set_default_load_endianness(choice and es.LoadEndianness[choice])
        for name in ("nobo.pt", "little.pt"):
            for use_mmap in (False, True):
                want = torch.load(tmp_path / name).numpy()
                got = ember.load(tmp_path / name, mmap=use_mmap).numpy()
                np.testing.assert_array_equal(got, want)
    ts.set_default_load_endianness(None)
    es.set_default_load_endianness(es.LoadEndianness.LITTLE)
    assert ember.load(tmp_path / "little.pt").tolist() == [1.0, 2.0, 3.0, 4.0]
    es.set_default_load_endianness(es.LoadEndianness.BIG)
    assert ember.load(tmp_path / "nobo.pt").tolist() == [1.0, 2.0, 3.0, 4.0]
    _rewrite(torch, x, tmp_path / "rec.pt", "big")          # a record wins over the default
    es.set_default_load_endianness(es.LoadEndianness.LITTLE)
    assert ember.load(tmp_path / "rec.pt").tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("record", ["middle", "BIG", "big\n", ""])
def test_an_unknown_byteorder_record_is_refused_as_in_torch(torch, tmp_path, record):
    _rewrite(torch, torch.arange(2.0), tmp_path / "odd.pt", record)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Unknown endianness type"):
            lib.load(tmp_path / "odd.pt")


def test_a_big_endian_storage_of_the_wrong_size_is_refused(torch, tmp_path):
    _rewrite(torch, torch.arange(4.0), tmp_path / "b.pt", "big")
    data = bytearray((tmp_path / "b.pt").read_bytes())
    # declare 5 elements for a 16-byte record: the size check still runs on this path
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        pkl = z.read("archive/data.pkl")
    pkl = pkl.replace(b"K\x04t", b"K\x05t", 1)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zin, \
            zipfile.ZipFile(tmp_path / "c.pt", "w") as out:
        for info in zin.infolist():
            out.writestr(info.filename,
                         pkl if info.filename.endswith("data.pkl") else zin.read(info.filename))
    for use_mmap in (False, True):
        with pytest.raises(RuntimeError, match="truncated or corrupt"):
            ember.load(tmp_path / "c.pt", mmap=use_mmap)


# -- mmap -------------------------------------------------------------------------------------

def test_mmap_option_setters_match_torch(torch):
    ts = _torch_serialization(torch)
    for lib in (es, ts):
        assert lib.get_default_mmap_options() == mmap.MAP_PRIVATE
        with lib.set_default_mmap_options(mmap.MAP_SHARED) as entered:
            assert entered is None
            assert lib.get_default_mmap_options() == mmap.MAP_SHARED
        assert lib.get_default_mmap_options() == mmap.MAP_PRIVATE
        lib.set_default_mmap_options(mmap.MAP_SHARED)     # as a plain call it stays set
        assert lib.get_default_mmap_options() == mmap.MAP_SHARED
        lib.set_default_mmap_options(mmap.MAP_PRIVATE)
        for bad in (5, "x", None):
            with pytest.raises(ValueError, match="expected mmap.MAP_PRIVATE or mmap.MAP_SHARED"):
                lib.set_default_mmap_options(bad)
        assert lib.get_default_mmap_options() == mmap.MAP_PRIVATE


def test_mmap_needs_a_file_path_as_in_torch(torch, tmp_path):
    ember.save({"x": ember.arange(3.0)}, tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
            lib.load(io.BytesIO(data), mmap=True)
        with open(tmp_path / "m.pt", "rb") as fh, \
                pytest.raises(ValueError, match="must be a file path"):
            lib.load(fh, mmap=True)
        assert lib.load(str(tmp_path / "m.pt"), mmap=1)["x"].tolist() == [0.0, 1.0, 2.0]


def test_mmap_of_a_legacy_checkpoint_is_refused(torch, tmp_path):
    torch.save({"x": torch.ones(2)}, tmp_path / "l.pt", _use_new_zipfile_serialization=False)
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="mmap"):
            lib.load(tmp_path / "l.pt", mmap=True)


@pytest.mark.parametrize("saver", ["torch", "ember"])
def test_map_private_is_copy_on_write_and_map_shared_writes_through(torch, tmp_path, saver):
    lib = torch if saver == "torch" else ember
    lib.save({"x": lib.arange(4.0)}, tmp_path / "m.pt")
    sd = ember.load(tmp_path / "m.pt", mmap=True)
    sd["x"][0] = 100.0
    del sd
    assert torch.load(tmp_path / "m.pt")["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    with es.set_default_mmap_options(mmap.MAP_SHARED):
        sd = ember.load(tmp_path / "m.pt", mmap=True)
        sd["x"][1] = 100.0
        del sd
    assert torch.load(tmp_path / "m.pt")["x"].tolist() == [0.0, 100.0, 2.0, 3.0]


def test_map_shared_on_a_read_only_file_maps_it_read_only(tmp_path):
    ember.save({"x": ember.arange(3.0)}, tmp_path / "r.pt")
    os.chmod(tmp_path / "r.pt", 0o444)
    if os.access(tmp_path / "r.pt", os.W_OK):
        pytest.skip("running as root: every file is writable")
    with es.set_default_mmap_options(mmap.MAP_SHARED):
        x = ember.load(tmp_path / "r.pt", mmap=True)["x"]
    assert x.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        x.numpy()[0] = 5.0


def test_config_mmap_makes_mmap_the_default(torch, tmp_path):
    ember.save({"x": ember.arange(3.0)}, tmp_path / "c.pt")
    cfg.load.mmap = True
    with pytest.raises(ValueError, match="file path"):
        ember.load(io.BytesIO((tmp_path / "c.pt").read_bytes()))
    with es.set_default_mmap_options(mmap.MAP_SHARED):
        ember.load(tmp_path / "c.pt", mmap=False)["x"][1] = 9.0  # an explicit False wins
        ember.load(tmp_path / "c.pt")["x"][0] = 9.0
    assert torch.load(tmp_path / "c.pt")["x"].tolist() == [9.0, 1.0, 2.0]
    cfg.load.mmap = False
    # The record changed under its CRC-32: mmap loads (and torch) read it, a plain load says why
    assert ember.load(tmp_path / "c.pt", mmap=True)["x"].tolist() == [9.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="MAP_SHARED"):
        ember.load(tmp_path / "c.pt")


def test_mmap_data_is_aligned_and_views_the_file(tmp_path):
    ember.save({"a": ember.ones(3, dtype=ember.float64), "b": ember.arange(5)}, tmp_path / "a.pt")
    sd = ember.load(tmp_path / "a.pt", mmap=True)
    for t in sd.values():
        assert t._data.ctypes.data % 64 == 0


# -- CRC-32 -----------------------------------------------------------------------------------

def test_crc32_setters_match_torch(torch):
    ts = _torch_serialization(torch)
    for lib in (es, ts):
        assert lib.get_crc32_options() is True
        lib.set_crc32_options(False)
        assert lib.get_crc32_options() is False
        lib.set_crc32_options(True)
        assert lib.get_crc32_options() is True


def _crcs(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename.split("/", 1)[1]: i.CRC for i in z.infolist()}


@pytest.mark.parametrize("compute", [True, False])
def test_saving_without_crc32_writes_zeros_and_loads_both_ways(torch, tmp_path, compute):
    ts = _torch_serialization(torch)
    obj = {"w": ember.arange(6.0).reshape(2, 3), "i": ember.tensor([1, 2], dtype=ember.uint16)}
    es.set_crc32_options(compute)
    ember.save(obj, tmp_path / "e.pt")
    ts.set_crc32_options(compute)
    try:
        torch.save({"w": torch.arange(6.0).reshape(2, 3)}, tmp_path / "t.pt")
    finally:
        ts.set_crc32_options(True)
    for path in ("e.pt", "t.pt"):
        crcs = _crcs(tmp_path / path)
        assert all(c == 0 for c in crcs.values()) is (not compute), (path, crcs)
        for use_mmap in (False, True):
            assert ember.load(tmp_path / path, mmap=use_mmap)["w"].tolist() == \
                [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
            assert torch.load(tmp_path / path, mmap=use_mmap)["w"].tolist() == \
                [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert torch.load(tmp_path / "e.pt")["i"].tolist() == [1, 2]
    if compute:
        with zipfile.ZipFile(tmp_path / "e.pt") as z:
            assert z.testzip() is None  # the CRCs written are the right ones


def test_a_corrupt_byte_is_still_caught_when_the_crc_was_written(tmp_path):
    ember.save({"x": ember.arange(64.0)}, tmp_path / "x.pt")
    data = bytearray((tmp_path / "x.pt").read_bytes())
    data[data.index(np.arange(64.0, dtype=np.float32).tobytes()) + 8] ^= 0xFF
    (tmp_path / "x.pt").write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="Bad CRC-32"):
        ember.load(tmp_path / "x.pt")


# -- the writer ---------------------------------------------------------------------------------

def test_records_start_on_64_byte_boundaries(tmp_path):
    ember.save({"a": ember.ones(3), "b": ember.arange(7)}, tmp_path / "a.pt")
    data = (tmp_path / "a.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.pt") as z:
        for info in z.infolist():
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:
                                                             info.header_offset + 30])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
            assert info.compress_type == zipfile.ZIP_STORED


def test_saving_twice_gives_the_same_bytes():
    obj = {"a": ember.ones(3), "b": ember.arange(4)}
    first, second = io.BytesIO(), io.BytesIO()
    ember.save(obj, first)
    ember.save(obj, second)
    assert first.getvalue() == second.getvalue()


def test_zip64_fields_are_read_by_zipfile_torch_and_ember(torch, monkeypatch):
    # Lowered limits force every ZIP64 path: record sizes, offsets, record count.
    monkeypatch.setattr(zipwriter, "ZIP64_LIMIT", 5)
    monkeypatch.setattr(zipwriter, "ZIP64_COUNT_LIMIT", 2)
    obj = {"a": ember.arange(6.0), "u": ember.tensor([1, 300], dtype=ember.uint16),
           "e": ember.zeros(0)}
    buf = io.BytesIO()
    buf.write(b"prefix")   # offsets count from where the archive starts
    ember.save(obj, buf)
    raw = buf.getvalue()[6:]
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert z.testzip() is None
        assert any(i.file_size and i.extra for i in z.infolist())
    assert torch.load(io.BytesIO(raw))["u"].tolist() == [1, 300]
    back = ember.load(io.BytesIO(raw))
    assert back["a"].tolist() == list(range(6)) and back["e"].shape == (0,)
    buf.seek(6)
    assert ember.load(buf)["u"].tolist() == [1, 300]


def test_an_unseekable_output_gets_a_complete_archive(torch):
    class Pipe:
        def __init__(self):
            self.parts = []

        def write(self, data):
            self.parts.append(bytes(data))

    out = Pipe()
    ember.save({"x": ember.arange(3.0)}, out)
    assert torch.load(io.BytesIO(b"".join(out.parts)))["x"].tolist() == [0.0, 1.0, 2.0]


def test_a_non_ascii_file_name_survives(torch, tmp_path):
    ember.save({"x": ember.ones(2)}, tmp_path / "modèle.pt")
    with zipfile.ZipFile(tmp_path / "modèle.pt") as z:
        assert z.namelist()[0].startswith("modèle/")
    assert torch.load(tmp_path / "modèle.pt")["x"].tolist() == [1.0, 1.0]


# -- skip_data --------------------------------------------------------------------------------

@pytest.mark.parametrize("saver", ["torch", "ember"])
def test_skip_data_save_writes_sized_zero_records(torch, tmp_path, saver):
    lib = torch if saver == "torch" else ember
    ser = _torch_serialization(torch) if saver == "torch" else es
    obj = {"a": lib.arange(1.0, 7.0).reshape(2, 3), "c": lib.tensor([1, 2]),
           "p": (torch.nn if saver == "torch" else ember.nn).Parameter(lib.ones(2))}
    obj["b"] = obj["a"][1]
    with ser.skip_data() as entered:
        assert entered is None
        lib.save(obj, tmp_path / "s.pt")
    with zipfile.ZipFile(tmp_path / "s.pt") as z:
        data = [i for i in z.infolist() if "/data/" in i.filename and ".data" not in i.filename]
        assert sorted(i.file_size for i in data) == [8, 16, 24]
        assert all(i.CRC == 0 for i in data)
    raw = (tmp_path / "s.pt").read_bytes()
    assert np.arange(1.0, 7.0, dtype=np.float32).tobytes() not in raw
    for loader in (torch, ember):
        back = loader.load(tmp_path / "s.pt")
        assert back["a"].shape == (2, 3) and back["a"].abs().sum().item() == 0
        assert back["b"].tolist() == [0.0, 0.0, 0.0]
        assert back["c"].dtype == loader.int64 and back["p"].requires_grad
        back["a"][1, 0] = 5.0  # the view relation survived
        assert back["b"][0].item() == 5.0


def test_skip_data_load_keeps_shapes_and_skips_the_bytes(tmp_path):
    ember.save({"a": ember.arange(1.0, 7.0).reshape(2, 3), "e": ember.zeros(0)}, tmp_path / "n.pt")
    for use_mmap in (False, True):
        with es.skip_data():
            back = ember.load(tmp_path / "n.pt", mmap=use_mmap)
        assert back["a"].shape == (2, 3) and back["a"].dtype == ember.float32
        assert back["a"].tolist() == [[0.0] * 3] * 2 and back["e"].shape == (0,)
    assert ember.load(tmp_path / "n.pt")["a"].sum().item() == 21.0


def test_skip_data_nests_restores_and_is_per_thread(tmp_path):
    import threading

    def crc_of_save():
        buf = io.BytesIO()
        ember.save(ember.ones(2), buf)
        with zipfile.ZipFile(buf) as z:
            return z.getinfo("archive/data/0").CRC

    normal = crc_of_save()
    assert normal != 0
    with es.skip_data():
        with es.skip_data(materialize_fake_tensors=True):
            pass
        assert crc_of_save() == 0
        seen = []
        worker = threading.Thread(target=lambda: seen.append(crc_of_save()))
        worker.start()
        worker.join()
        assert seen == [normal]
    assert crc_of_save() == normal
    with pytest.raises(KeyError):
        with es.skip_data():
            raise KeyError("x")
    assert crc_of_save() == normal


def test_skip_data_with_the_legacy_format(torch, tmp_path):
    ts = _torch_serialization(torch)
    for lib, ser in ((torch, ts), (ember, es)):
        with ser.skip_data(), pytest.raises(
                RuntimeError, match="Cannot use skip_data=True with "
                                    "_use_new_zipfile_serialization=False"):
            lib.save(lib.ones(2), io.BytesIO(), _use_new_zipfile_serialization=False)
    torch.save({"x": torch.arange(3.0)}, tmp_path / "l.pt", _use_new_zipfile_serialization=False)
    with es.skip_data():
        back = ember.load(tmp_path / "l.pt")
    assert back["x"].shape == (3,) and back["x"].tolist() == [0.0, 0.0, 0.0]
    assert ember.load(tmp_path / "l.pt")["x"].tolist() == [0.0, 1.0, 2.0]


# -- register_package, location_tag, default_restore_location -------------------------------

def test_register_package_tags_saves_and_restores_loads(torch, tmp_path):
    calls = []

    def tag(storage):
        calls.append("tag")
        return "weird" if storage.device.type == "cpu" else None

    def restore(storage, location):
        calls.append(("restore", location))
        return storage if location == "weird" else None

    es.register_package(0, tag, restore)
    x = ember.arange(3.0)
    assert es.location_tag(x) == "weird"
    assert es.location_tag(x.untyped_storage()) == "weird"
    ember.save({"x": x}, tmp_path / "w.pt")
    with zipfile.ZipFile(tmp_path / "w.pt") as z:
        assert b"weird" in z.read("w/data.pkl")
    calls.clear()
    assert ember.load(tmp_path / "w.pt")["x"].tolist() == [0.0, 1.0, 2.0]
    assert ("restore", "weird") in calls
    assert ember.load(tmp_path / "w.pt", map_location="cpu")["x"].tolist() == [0.0, 1.0, 2.0]
    assert es.default_restore_location(x.untyped_storage(), "weird") is not None
    with pytest.raises(RuntimeError, match=r"tagged with nowhere"):
        es.default_restore_location(x.untyped_storage(), "nowhere")


def test_an_unknown_location_without_a_deserializer_is_refused(tmp_path):
    es.register_package(30, lambda s: None, lambda s, loc: None)
    locations.package_registry.insert(0, (0, lambda s: "tpu", lambda s, loc: None))
    ember.save({"x": ember.ones(1)}, tmp_path / "t.pt")
    with pytest.raises(RuntimeError, match="don't know how to restore data location"):
        ember.load(tmp_path / "t.pt")
    assert ember.load(tmp_path / "t.pt", map_location="cpu")["x"].tolist() == [1.0]


def test_register_package_sorts_by_priority_and_refuses_non_numbers(torch):
    before = list(locations.package_registry)
    with pytest.raises(TypeError):
        es.register_package("a", lambda s: None, lambda s, loc: None)
    assert locations.package_registry == before  # a refused entry leaves no trace
    es.register_package(15, lambda s: None, lambda s, loc: None)
    assert [p for p, _, _ in locations.package_registry] == [10, 15, 20, 22]
    ts = _torch_serialization(torch)
    with pytest.raises(TypeError):
        ts.register_package(None, lambda s: None, lambda s, loc: None)


def test_location_tag_refuses_objects_without_a_device():
    with pytest.raises(RuntimeError, match="don't know how to determine data location of int"):
        es.location_tag(3)


# -- validate_*_device ------------------------------------------------------------------------

@pytest.mark.parametrize("location", ["cpu", "hpu:0"])
def test_validate_cuda_device_refuses_other_devices(torch, location):
    for lib in (es, _torch_serialization(torch)):
        with pytest.raises(ValueError, match=f"Expected a cuda device, but got: {location}"):
            lib.validate_cuda_device(location)


def test_validate_cuda_device_without_cuda(torch):
    if ember.cuda.is_available():
        assert es.validate_cuda_device("cuda:0") == 0
        with pytest.raises(RuntimeError, match="device_count"):
            es.validate_cuda_device(f"cuda:{ember.cuda.device_count()}")
        return
    for location in ("cuda", "cuda:1", 0, None):
        with pytest.raises(RuntimeError, match="is_available\\(\\) is False"):
            es.validate_cuda_device(location)
    with pytest.raises(RuntimeError, match="Invalid device string"):
        es.validate_cuda_device("cuda:x")


@pytest.mark.parametrize("location", ["hpu", "hpu:0", "cpu"])
def test_validate_hpu_device_always_refuses(torch, location):
    for lib in (es, _torch_serialization(torch)):
        with pytest.raises(RuntimeError, match="The HPU device module is not registered"):
            lib.validate_hpu_device(location)


# -- the small helpers ------------------------------------------------------------------------

def test_source_change_warning_and_mkdtemp():
    assert issubclass(es.SourceChangeWarning, Warning)
    with es.mkdtemp() as folder:
        assert os.path.isdir(folder)
        with open(os.path.join(folder, "x"), "w") as fh:
            fh.write("data")
    assert not os.path.exists(folder)
    with pytest.raises(ZeroDivisionError), es.mkdtemp() as folder2:
        raise ZeroDivisionError
    assert not os.path.exists(folder2)
    shutil.rmtree(folder2, ignore_errors=True)


VERSIONS = [("1.2.3", (1, 2)), ("1.2.3", (1, 2, 3)), ("1.2.3", (1, 3)), ("2.0", (1, 5)),
            ("1.2.3", (1, 2, 3, 4)), ("1.2.3a0", (1, 2)), ("1.2.3a0", (1, 2, 3)),
            ("1.9", ("1", "10")), ("1.2", (1.5,)), ("1.2", (True,)), ("1.2", [1, 3]),
            ("1.2", (1, None)), ("1.x", (1, 2)), ("2", (1, 2)), (5, (5,)), (None, (1,)),
            (b"1.2", (1,)), ("1.2", ()), ("1.2", 1), ("01.02", (1, 2)), ("1.-2", (1, 2))]


@pytest.mark.parametrize("version,req", VERSIONS)
@pytest.mark.parametrize("strict", [True, False])
def test_check_module_version_matches_torch(torch, version, req, strict):
    ts = _torch_serialization(torch)
    module = types.ModuleType("m")
    module.__version__ = version
    outcomes = []
    for lib in (ts, es):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcomes.append(("ok", lib.check_module_version_greater_or_equal(
                    module, req, strict), [str(w.message) for w in caught]))
            except RuntimeError as err:
                outcomes.append(("raise", str(err)))
    assert outcomes[0] == outcomes[1]


def test_check_module_version_without_a_version(torch):
    with pytest.raises(AttributeError):
        es.check_module_version_greater_or_equal(types.ModuleType("nov"), (1,))


def test_normalize_storage_type_and_storage_to_tensor_type():
    assert es.normalize_storage_type(ember.FloatStorage) is ember.FloatStorage
    assert es.normalize_storage_type(int) is ember.int32
    with pytest.raises(AttributeError):
        es.normalize_storage_type("x")
    assert es.storage_to_tensor_type(ember.ones(1)) is ember.Tensor
    assert es.storage_to_tensor_type(3) is int
    with pytest.raises(AttributeError, match="TypedTensor"):
        es.storage_to_tensor_type(ember.ones(1).storage())


@pytest.mark.parametrize("name", ["FloatStorage", "ByteStorage", "BoolStorage", "HalfStorage",
                                  "BFloat16Storage", "ComplexFloatStorage", "LongStorage",
                                  "QInt8Storage", "UntypedStorage", "float", "Storage", 5])
def test_storage_type_matches_torch(torch, name):
    ts = _torch_serialization(torch)
    try:
        want = str(ts.StorageType(name))
    except KeyError as err:
        with pytest.raises(KeyError) as got:
            es.StorageType(name)
        assert str(got.value) == str(err)
        return
    assert str(es.StorageType(name)).replace("ember.", "torch.") == want
    assert es.StorageType(name).dtype.name == want.split("torch.")[1].rstrip(")")


def test_utils_serialization_config_is_the_setting_store():
    """``torch.utils.serialization.config`` reads what the setters wrote, and back."""
    import ember.serialization as S
    from ember.utils.serialization import config

    S.set_crc32_options(False)
    try:
        assert config.save.compute_crc32 is False
    finally:
        S.set_crc32_options(True)
    assert config.save.compute_crc32 is True and S.get_crc32_options() is True
