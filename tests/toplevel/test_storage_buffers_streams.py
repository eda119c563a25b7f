"""Top-level storages, frombuffer/from_file, DLPack exchange and Stream/Event, against torch."""

import array
import warnings

import numpy as np
import pytest

import ember

LEGACY = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
          "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
          "ComplexFloatStorage", "ComplexDoubleStorage"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage's deprecation, non-writable buffers
        yield


# -- storages -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", LEGACY)
def test_legacy_storages_match_torch(torch, name):
    data = [1, 0, 1] if name != "BoolStorage" else [True, False, True]
    for args in ((3,), (data,), ()):
        s, t = getattr(ember, name)(*args), getattr(torch, name)(*args)
        assert str(s.dtype) == str(t.dtype) and s.size() == t.size() == len(s)
        assert s.nbytes() == t.nbytes() and s.element_size() == t.element_size()
        if args and args[0] is data:
            assert s.tolist() == t.tolist() and s[-1] == t[-1]
        assert isinstance(s, ember.TypedStorage) and isinstance(s, getattr(ember, name))
    assert getattr(ember, name).dtype is getattr(ember, str(getattr(torch, name).dtype)[6:])


def test_storage_isinstance_and_default_class(torch):
    for lib in (ember, torch):
        assert isinstance(lib.ones(2).storage(), lib.FloatStorage)
        assert not isinstance(lib.ones(2).storage(), lib.DoubleStorage)
        assert lib.Storage(2).dtype == lib.float32
        assert lib.FloatStorage([1.5]).type() == "torch.FloatStorage"
    assert ember.DoubleStorage([1]).type() == torch.DoubleStorage([1]).type()


def test_untyped_storage_matches_torch(torch):
    for lib in (ember, torch):
        u = lib.UntypedStorage([1, 2, 3, 256 + 4])
        assert u.tolist() == [1, 2, 3, 4] and u.size() == u.nbytes() == len(u) == 4
        v = u[1:3]  # a slice shares memory
        v[0] = 9
        assert u.tolist() == [1, 9, 3, 4] and v.tolist() == [9, 3]
        assert u[-1] == 4 and u.element_size() == 1
        assert lib.UntypedStorage(3).nbytes() == 3 and len(lib.UntypedStorage()) == 0
        assert lib.UntypedStorage(2).fill_(7).tolist() == [7, 7]
        with pytest.raises(IndexError, match="out of range"):
            u[4]
        with pytest.raises(RuntimeError, match="step of 2"):
            u[::2]
        with pytest.raises(RuntimeError, match="instead of int"):
            lib.UntypedStorage([1.5])


def test_typed_storage_constructors_and_errors(torch):
    for lib in (ember, torch):
        s = lib.TypedStorage([1, 2], dtype=lib.int64)
        assert s.tolist() == [1, 2] and s.dtype == lib.int64 and str(s.device) == "cpu"
        assert lib.TypedStorage(3).dtype == lib.float32
        raw = lib.UntypedStorage([1, 0, 0, 0, 2, 0, 0, 0])
        assert lib.TypedStorage(wrap_storage=raw, dtype=lib.int32).tolist() == [1, 2]
        assert lib.IntStorage(wrap_storage=raw).tolist() == [1, 2]
        f = lib.FloatStorage([1, 2, 3])
        f[1] = 7
        assert f.tolist() == [1.0, 7.0, 3.0] and f.fill_(2).tolist() == [2.0] * 3
        with pytest.raises(RuntimeError, match="must be specified"):
            lib.TypedStorage(wrap_storage=raw)
        with pytest.raises(RuntimeError, match="Too many positional arguments"):
            lib.TypedStorage(1, 2)
        with pytest.raises(RuntimeError, match="'dtype' cannot be specified"):
            lib.FloatStorage(2, dtype=lib.float64)
        with pytest.raises(IndexError, match="out of range for storage of size 3"):
            f[3]
        with pytest.raises(RuntimeError, match="slices are only supported"):
            f[0:1]
        with pytest.raises(TypeError, match="invalid data type 'str'"):
            lib.FloatStorage("a")


def test_storage_repr_and_set_(torch):
    assert repr(ember.FloatStorage([1, 2])) == repr(torch.FloatStorage([1, 2]))
    assert repr(ember.UntypedStorage([1, 2])) == repr(torch.UntypedStorage([1, 2]))
    for lib in (ember, torch):
        s = lib.FloatStorage([3, 4])
        x = lib.tensor([]).set_(s)
        s[0] = 5
        assert x.tolist() == [5.0, 4.0]  # the tensor views the storage
        y = lib.tensor([]).set_(lib.UntypedStorage(8))
        assert y.shape == (2,) and y.dtype == lib.float32
    # tensor storages keep working
    a = ember.arange(6.0)
    assert a.view(2, 3)[1].storage().data_ptr() == a.untyped_storage().data_ptr()
    assert ember.is_storage(ember.FloatStorage(1)) and ember.is_storage(ember.UntypedStorage(1))


def test_typed_storage_warns_once_like_torch(torch):
    import ember._storage as S

    S._removal_warned = False
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        ember.FloatStorage(1)
        ember.TypedStorage(1)
    assert len(got) == 1 and "TypedStorage is deprecated" in str(got[0].message)


def test_tensor_storage_warns_once_like_torch(torch):
    # torch's Tensor.storage() returns a TypedStorage and gives the deprecation warning once
    import ember._storage as S

    S._removal_warned = False
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        ember.ones(2).storage()
        ember.ones(2).storage()
    assert [(w.category, str(w.message), w.filename) for w in got] == [
        (UserWarning, str(got[0].message), __file__)]
    assert str(got[0].message).endswith("use tensor.untyped_storage() instead of tensor.storage()")
    assert ember.ones(1).storage().tolist() == [1.0]


# -- frombuffer, from_file ------------------------------------------------------------------

def test_frombuffer_shares_memory_like_torch(torch):
    for lib in (ember, torch):
        a = array.array("i", [1, 2, 3, 4])
        t = lib.frombuffer(a, dtype=lib.int32)
        a[0] = 9
        assert t.tolist() == [9, 2, 3, 4] and t.dtype == lib.int32
        assert lib.frombuffer(a, dtype=lib.int32, count=2, offset=4).tolist() == [2, 3]
        assert lib.frombuffer(a, dtype=lib.int32, count=-2).tolist() == [9, 2, 3, 4]
        b = bytearray(b"\x01\x02")
        u = lib.frombuffer(b, dtype=lib.uint8)
        u[0] = 5
        assert b[0] == 5  # writes reach the buffer
        g = lib.frombuffer(bytearray(8), dtype=lib.float32, requires_grad=True)
        assert g.requires_grad and g.shape == (2,)


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(count=0), ValueError, "both buffer length"),
    (dict(count=5), ValueError, "requested buffer length"),
    (dict(offset=16), ValueError, "must be non-negative and no greater"),
    (dict(offset=-1), ValueError, "must be non-negative and no greater"),
    (dict(offset=3), ValueError, "must be a multiple of element size"),
])
def test_frombuffer_errors_match_torch(torch, kwargs, err, match):
    for lib in (ember, torch):
        with pytest.raises(err, match=match):
            lib.frombuffer(array.array("i", [1, 2, 3, 4]), dtype=lib.int32, **kwargs)


def test_frombuffer_other_errors_and_readonly_warning(torch):
    import ember._buffers as B

    for lib in (ember, torch):
        with pytest.raises(ValueError, match="buffer protocol"):
            lib.frombuffer([1, 2], dtype=lib.int32)
        with pytest.raises(TypeError):
            lib.frombuffer(bytearray(4))  # dtype is required
        with pytest.raises(RuntimeError, match="floating point"):
            lib.frombuffer(bytearray(8), dtype=lib.int32, requires_grad=True)
    B._readonly_warned = False
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        t = ember.frombuffer(b"\x01\x02", dtype=ember.uint8)
        ember.frombuffer(b"\x01\x02", dtype=ember.uint8)
    assert t.tolist() == [1, 2]
    assert len(got) == 1 and "The given buffer is not writable" in str(got[0].message)


def test_from_file_matches_torch(torch, tmp_path):
    path = str(tmp_path / "f.bin")
    np.arange(6, dtype=np.float32).tofile(path)
    for lib in (ember, torch):
        t = lib.from_file(path, size=4)
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0] and t.dtype == lib.float32
        d = lib.from_file(path, size=2, dtype=lib.float64)
        assert d.dtype == lib.float64
        assert lib.from_file(path).shape == (0,)
        priv = lib.from_file(path, shared=False, size=3)
        priv[0] = 100.0  # copy-on-write: the file keeps its data
        assert np.fromfile(path, np.float32)[0] == 0.0
        with pytest.raises(RuntimeError, match="is smaller than the required mapping size"):
            lib.from_file(path, size=7)
        with pytest.raises(RuntimeError, match="unable to open file"):
            lib.from_file(str(tmp_path / "missing.bin"), size=1)
    assert ember.from_file(path, size=2, dtype=ember.float64).tolist() == \
        torch.from_file(path, size=2, dtype=torch.float64).tolist()
    shared = ember.from_file(path, True, 3)
    shared[0] = 42.0
    assert np.fromfile(path, np.float32)[0] == 42.0  # the file itself is mapped
    grown = ember.from_file(path, True, 7)  # a shared map grows the file, as torch's does
    assert grown.tolist()[-1] == 0.0 and np.fromfile(path, np.float32).size == 7
    made = str(tmp_path / "new.bin")
    assert ember.from_file(made, True, 2).tolist() == [0.0, 0.0]


# -- DLPack ---------------------------------------------------------------------------------

def test_dlpack_round_trips_with_torch_share_memory(torch):
    t = torch.arange(4.0)
    e = ember.from_dlpack(t)
    e[0] = 5.0
    assert t.tolist() == [5.0, 1.0, 2.0, 3.0] and e.dtype == ember.float32
    e2 = ember.arange(4.0)
    t2 = torch.from_dlpack(e2)
    t2[1] = 7.0
    assert e2.tolist() == [0.0, 7.0, 2.0, 3.0]
    # capsules both ways
    e3 = ember.from_dlpack(torch.to_dlpack(t))
    e3[2] = -1.0
    assert t[2].item() == -1.0
    t4 = torch.from_dlpack(ember.to_dlpack(e2))
    t4[3] = 8.0
    assert e2[3].item() == 8.0
    # strides, dtypes
    tt = torch.ones(2, 3).t()
    assert ember.from_dlpack(tt).stride() == tt.stride()
    for dt in ("int64", "int32", "uint8", "bool", "float64", "float16", "complex64"):
        src = torch.zeros(2, dtype=getattr(torch, dt))
        assert str(ember.from_dlpack(src).dtype) == str(src.dtype)
        assert str(torch.from_dlpack(ember.zeros(2, dtype=getattr(ember, dt))).dtype) == \
            str(src.dtype)


def test_dlpack_protocol_and_errors_match_torch(torch):
    for lib in (ember, torch):
        t = lib.ones(2)
        assert t.__dlpack_device__() == (1, 0)
        assert np.from_dlpack(t).tolist() == [1.0, 1.0]
        assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
        c = lib.to_dlpack(t)
        lib.from_dlpack(c)
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            lib.from_dlpack(c)
        with pytest.raises(RuntimeError, match="invalid capsule"):
            lib.from_dlpack([1])
        with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
            lib.ones(2, requires_grad=True).__dlpack__()
        with pytest.raises(AssertionError, match="stream should be None on cpu"):
            t.__dlpack__(stream=1)
        with pytest.raises(TypeError, match="must be Tensor"):
            lib.to_dlpack(np.ones(2))
        lib.to_dlpack(lib.ones(2, requires_grad=True))  # the legacy function does not refuse
        assert lib.from_dlpack(np.arange(3)).tolist() == [0, 1, 2]
        n = np.arange(3.0)
        assert lib.from_dlpack(n, copy=True).data_ptr() != n.ctypes.data


# -- Stream, Event --------------------------------------------------------------------------

def test_stream_matches_torch_cpu(torch):
    for lib in (ember, torch):
        s = lib.Stream(device="cpu")
        assert repr(s) == "torch.Stream device_type=cpu, device_index=-1, stream_id=0"
        assert (s.query(), s.synchronize(), s.device_type, s.device_index, s.stream_id) == \
            (True, None, 0, -1, 0)
        assert str(s.device) == "cpu" and s.is_capturing() is False
        assert s == lib.Stream(device="cpu") and hash(s) == hash(lib.Stream(device="cpu"))
        assert s.wait_event(lib.Event(device="cpu")) is None
        with s as entered:
            assert entered is s
        with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
            s.record_event()
        with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
            s.wait_stream(s)
        with pytest.raises(RuntimeError, match="native handle"):
            _ = s.native_handle
        with pytest.raises(TypeError, match="must be torch.device"):
            lib.Stream(device=1.5)
        with pytest.raises(TypeError, match="'priority' must be int"):
            lib.Stream(device="cpu", priority="a")
        assert lib.Stream(device="cpu:0").device_index == -1
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="not linked with support for cuda"):
            ember.Stream(device="cuda")
        with pytest.raises(RuntimeError, match="Cannot access accelerator"):
            ember.Stream(device=0)


def test_event_matches_torch_cpu(torch):
    for lib in (ember, torch):
        e = lib.Event(device="cpu")
        assert repr(e) == "torch.Event device_type=cpu, device_index=-1, event_flag=0, " \
            "event_id=0"
        assert (e.query(), e.synchronize(), e.wait(), e.event_id) == (True, None, None, 0)
        timed = lib.Event(device="cpu", enable_timing=True)
        assert "event_flag=1" in repr(timed)
        with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
            e.record()
        with pytest.raises(ValueError, match="enable_timing=True"):
            timed.elapsed_time(e)
        with pytest.raises(ValueError, match="must be recorded"):
            timed.elapsed_time(lib.Event(device="cpu", enable_timing=True))
        with pytest.raises(RuntimeError, match="expected other to be a torch.Event"):
            e.elapsed_time(1)
        with pytest.raises(NotImplementedError, match="ipc is not supported"):
            e.ipc_handle()
        with pytest.raises(NotImplementedError, match="ipc is not supported"):
            lib.Event.from_ipc_handle("cpu", b"")
        assert e != lib.Event(device="cpu")
        assert "device_type=meta" in repr(lib.Stream(device="meta"))
