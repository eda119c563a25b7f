"""Crafted checkpoints and calls that describe a view outside its storage.

Every path that builds a strided view from numbers it did not compute itself (a checkpoint's
sizes, strides, offsets and storage sizes; ``as_strided``/``set_`` called by user code; unfold's
window) must refuse what does not fit, with a RuntimeError, before any memory is touched.
The files here are built the way an attacker would build them: a valid pickle naming only
allowed globals, with hostile numbers.
"""

import collections
import io
import pickle
import zipfile

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember._serialization.pickling import REBUILD_TENSOR, ArchivePickler, torch_global


class _Storage:
    """Stands for a storage in a crafted pickle: pickled as the persistent id given."""

    def __init__(self, pid):
        self.pid = pid


class _TensorRecord:
    """Stands for a tensor in a crafted pickle: ``_rebuild_tensor_v2(storage, offset, ...)``."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False,
                     collections.OrderedDict())


class _Crafter(ArchivePickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None

    def reducer_override(self, obj):
        if isinstance(obj, _TensorRecord):
            return (REBUILD_TENSOR, obj.args)
        return super().reducer_override(obj)


def _pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Crafter(buf, 2).dump(obj)
    return buf.getvalue()


FLOAT = torch_global("torch", "FloatStorage")


def _zip_checkpoint(path, numel, record: bytes, offset=0, size=(4,), stride=(1,)):
    storage = _Storage(("storage", FLOAT, "0", "cpu", numel))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("x/data.pkl", _pickle({"w": _TensorRecord(storage, offset, size, stride)}))
        z.writestr("x/byteorder", "little")
        z.writestr("x/data/0", record)
        z.writestr("x/version", "3\n")
    return path


def _legacy_checkpoint(path, numel, data_numel, size=(4,), stride=(1,), offset=0):
    """A pre-1.6 file: magic, protocol, system info, object, key list, then counted data."""
    storage = _Storage(("storage", FLOAT, "0", "cpu", numel, None))
    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(_pickle({"w": _TensorRecord(storage, offset, size, stride)}))
    pickle.dump(["0"], out, protocol=2)
    out.write(int(data_numel).to_bytes(8, "little", signed=True))
    out.write(np.arange(data_numel, dtype=np.float32).tobytes())
    path.write_bytes(out.getvalue())
    return path


def test_crafted_file_is_well_formed(tmp_path):
    # The control: the crafter's valid file loads, so the refusals below are about the numbers.
    f = _zip_checkpoint(tmp_path / "ok.pth", 4, np.arange(4, dtype=np.float32).tobytes())
    assert ember.load(f)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ember.load(f, mmap=True)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    g = _legacy_checkpoint(tmp_path / "legacy.pth", 4, 4)
    assert ember.load(g)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("record", [b"", bytes(16)], ids=["empty", "16-bytes"])
def test_storage_labelled_empty_under_a_tensor_is_refused(tmp_path, mmap, record):
    # The 60-byte attack: numel=0 in the persistent id, a non-empty tensor on top of it.
    f = _zip_checkpoint(tmp_path / "x.pth", 0, record, size=(1000,), stride=(1,))
    with pytest.raises(RuntimeError, match="corrupt"):
        ember.load(f, mmap=mmap)


@pytest.mark.parametrize("numel", [2, 8])
def test_record_size_must_equal_numel_times_itemsize(tmp_path, numel):
    f = _zip_checkpoint(tmp_path / "x.pth", numel, bytes(16), size=(2,))
    with pytest.raises(RuntimeError, match=r"has 16 bytes but the checkpoint declares"):
        ember.load(f)


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("offset,size,stride", [
    (0, (4,), (10**9,)),        # a stride far past the end
    (3, (2,), (1,)),            # offset + extent one past the end
    (-1, (2,), (1,)),           # negative offset
    (0, (2,), (-1,)),           # negative stride
    (0, (-4,), (1,)),           # negative size
    (0, (2, 2), (1,)),          # size and stride of different lengths
    (True, (2,), (1,)),         # not an integer
])
def test_extent_outside_the_storage_is_refused(tmp_path, mmap, offset, size, stride):
    f = _zip_checkpoint(tmp_path / "x.pth", 4, bytes(16), offset=offset, size=size,
                        stride=stride)
    with pytest.raises(RuntimeError, match="corrupt"):
        ember.load(f, mmap=mmap)


def test_legacy_storage_labelled_empty_is_refused(tmp_path):
    f = _legacy_checkpoint(tmp_path / "x.pth", 0, 0, size=(1000,))
    with pytest.raises(RuntimeError, match="corrupt"):
        ember.load(f)


def test_legacy_storage_larger_than_the_file_is_refused_before_allocating(tmp_path):
    # 10**12 float32 elements would be 4 TB; the file is a few hundred bytes.
    f = _legacy_checkpoint(tmp_path / "x.pth", 10**12, 4)
    with pytest.raises(RuntimeError, match="more than the file holds"):
        ember.load(f)


def test_as_strided_on_an_mmap_tensor_counts_its_storage_in_elements(tmp_path):
    # The storage of a memory-mapped float32 tensor is a 16-byte record: 4 elements, not 16.
    ember.save(ember.arange(4.0), tmp_path / "a.pth")
    t = ember.load(tmp_path / "a.pth", mmap=True)
    assert t.as_strided((4,), (1,)).tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 16"):
        t.as_strided((5,), (1,))


def _torch_or_skip():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("size,stride,offset", [
    ((2,), (1,), -1), ((-2,), (1,), 0), ((2,), (-1,), 0), ((2, 2), (1,), 0),
    ((3,), (2,), 0), ((7,), (1,), 0), ((2,), (1,), 5), ((0,), (1,), 10),
])
def test_as_strided_bounds_and_messages_match_torch(size, stride, offset):
    torch = _torch_or_skip()
    results = []
    for lib in (torch, ember):
        x = lib.arange(6.0)
        try:
            results.append(("ok", x.as_strided(size, stride, offset).tolist()))
        except RuntimeError as err:
            results.append(("error", str(err).split(" (")[0]))
    assert results[0] == results[1]


def test_set_matches_torch_within_bounds_and_refuses_past_the_end():
    torch = _torch_or_skip()
    for lib in (torch, ember):
        b = lib.arange(4.0)
        a = lib.zeros(2).set_(b.untyped_storage(), 1, (2,), (1,))
        b[1] = 9.0
        assert a.tolist() == [9.0, 2.0]  # a view, not a copy
        assert lib.zeros(3).set_(b).tolist() == [0.0, 9.0, 2.0, 3.0]
        assert lib.zeros(3).set_().shape == (0,)
    b = ember.arange(4.0)
    for offset, size, stride in [(2, (3,), (1,)), (0, (2,), (10**12,)), (-1, (1,), (1,))]:
        with pytest.raises(RuntimeError):
            ember.zeros(1).set_(b.untyped_storage(), offset, size, stride)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        ember.zeros(2, requires_grad=True).set_(b)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2, dilation=-1), dict(kernel_size=2, dilation=-10**6, stride=10**6),
    dict(kernel_size=0), dict(kernel_size=2, stride=0), dict(kernel_size=2, padding=-1),
    dict(kernel_size=6), dict(kernel_size=(2, 2, 2)), dict(kernel_size=2, stride=10**12),
])
def test_unfold_validates_its_window_as_torch(kwargs):
    torch = _torch_or_skip()
    results = []
    for lib, fn in ((torch, torch.nn.functional.unfold), (ember, F.unfold)):
        try:
            results.append(tuple(fn(lib.zeros(1, 2, 5, 5), **kwargs).shape))
        except RuntimeError as err:
            results.append(str(err))
    assert results[0] == results[1]
    with pytest.raises(RuntimeError) if isinstance(results[0], str) else _nothing():
        ember.nn.Unfold(**kwargs)(ember.zeros(1, 2, 5, 5))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2, dilation=-1), dict(kernel_size=2, stride=0),
    dict(kernel_size=2, padding=-1), dict(kernel_size=0),
])
def test_fold_validates_its_window_as_torch(kwargs):
    torch = _torch_or_skip()
    results = []
    for lib, fn in ((torch, torch.nn.functional.fold), (ember, F.fold)):
        try:
            results.append(tuple(fn(lib.zeros(1, 8, 16), output_size=5, **kwargs).shape))
        except RuntimeError as err:
            results.append(str(err))
    assert results[0] == results[1]


def test_tensor_unfold_negative_size_is_torchs_error():
    with pytest.raises(RuntimeError, match="size is -1 but must be >= 0"):
        ember.arange(10.0).unfold(0, -1, 1)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
