"""Small top-level names against PyTorch: GradScaler, get_device_module, is_vulkan_available,
init_num_threads, classproperty and the (deprecated) IPU/XLA autocast switches."""

import threading
import warnings

import pytest

import ember


def test_grad_scaler_is_amp_grad_scaler(torch):
    assert torch.GradScaler is torch.amp.GradScaler
    assert ember.GradScaler is ember.amp.GradScaler


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "mps", "xpu", "mtia"])
def test_get_device_module_by_name(torch, device):
    want = torch.get_device_module(device).__name__
    assert ember.get_device_module(device).__name__ == want.replace("torch", "ember")
    if device.startswith(("cpu", "cuda")):  # the device types ember.device knows
        assert ember.get_device_module(ember.device(device)) is ember.get_device_module(device)


def test_get_device_module_default_is_the_accelerator_or_cpu(torch):
    want = "cpu" if ember.accelerator.current_accelerator() is None else "cuda"
    assert ember.get_device_module().__name__ == f"ember.{want}"
    if not torch.accelerator.is_available():
        assert torch.get_device_module().__name__ == "torch.cpu"


@pytest.mark.parametrize("device", ["meta", "bogus", 3, 1.5])
def test_get_device_module_errors_match_torch(torch, device):
    with pytest.raises(RuntimeError) as want:
        torch.get_device_module(device)
    with pytest.raises(RuntimeError) as got:
        ember.get_device_module(device)
    if device != "bogus":  # the list of known device types differs
        assert str(got.value) == str(want.value)


def test_vulkan_and_init_num_threads(torch):
    assert ember.is_vulkan_available() is torch.is_vulkan_available() is False
    assert ember.init_num_threads() is None and torch.init_num_threads() is None
    assert ember.get_num_threads() >= 1


def _holder(lib):
    class Holder:
        base = 3

        @lib.classproperty
        def doubled(cls):
            return cls.base * 2

        @lib.classproperty
        @staticmethod
        def fixed():
            return "static"

    class Child(Holder):
        base = 5

    return Holder, Child


def test_classproperty_matches_torch(torch):
    for lib in (ember, torch):
        holder, child = _holder(lib)
        assert (holder.doubled, child.doubled, child().doubled, holder.fixed) == \
            (6, 10, 10, "static")
        with pytest.raises(AttributeError):
            lib.classproperty(lambda cls: 1).__set__  # noqa: B018  (read-only: no setter)


DEVICES = ["ipu", "xla"]


def _call(lib, fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = getattr(lib, fn)(*args)
    # PyTorch's C++ warnings end with where they were raised
    return out, [(w.category, str(w.message).split(" (Triggered internally")[0])
                 for w in caught]


@pytest.mark.parametrize("dev", DEVICES)
def test_other_autocast_defaults_and_warnings_match_torch(torch, dev):
    for fn in (f"get_autocast_{dev}_dtype", f"is_autocast_{dev}_enabled"):
        got, got_warns = _call(ember, fn)
        want, want_warns = _call(torch, fn)
        assert str(got) == str(want)
        assert got_warns == want_warns and got_warns[0][0] is DeprecationWarning


@pytest.mark.parametrize("dev", DEVICES)
def test_other_autocast_set_roundtrip_matches_torch(torch, dev):
    for lib in (ember, torch):
        dtype0 = _call(lib, f"get_autocast_{dev}_dtype")[0]
        try:
            _, warns = _call(lib, f"set_autocast_{dev}_dtype", lib.int32)  # any dtype is kept
            assert "deprecated" in warns[0][1]
            assert _call(lib, f"get_autocast_{dev}_dtype")[0] == lib.int32
            _call(lib, f"set_autocast_{dev}_enabled", True)
            assert _call(lib, f"is_autocast_{dev}_enabled")[0] is True
            # another thread has its own state, with the defaults
            seen = []
            thread = threading.Thread(target=lambda lib=lib, seen=seen: seen.append(
                (_call(lib, f"is_autocast_{dev}_enabled")[0],
                 str(_call(lib, f"get_autocast_{dev}_dtype")[0]))))
            thread.start()
            thread.join()
            assert seen == [(False, str(dtype0))]
            # apart from the CPU autocast state
            assert not lib.is_autocast_enabled("cpu")
        finally:
            _call(lib, f"set_autocast_{dev}_enabled", False)
            _call(lib, f"set_autocast_{dev}_dtype", dtype0)
        assert _call(lib, f"is_autocast_{dev}_enabled")[0] is False


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("kind,value", [("dtype", 3), ("dtype", "float16"),
                                        ("enabled", 1), ("enabled", "x")])
def test_other_autocast_bad_values_match_torch(torch, dev, kind, value):
    fn = f"set_autocast_{dev}_{kind}"
    with pytest.raises(TypeError) as want:
        _call(torch, fn, value)
    with pytest.raises(TypeError) as got:
        _call(ember, fn, value)
    assert str(got.value) == str(want.value)


def test_other_autocast_is_independent_of_cpu_autocast(torch):
    for lib in (ember, torch):
        with lib.autocast("cpu"):
            assert _call(lib, "is_autocast_ipu_enabled")[0] is False
            assert _call(lib, "is_autocast_xla_enabled")[0] is False


def test_device_type_is_named_device_as_in_torch(torch):
    import pickle

    d = ember.device("cpu")
    assert type(d).__name__ == type(torch.device("cpu")).__name__ == "device"
    assert isinstance(d, ember.device) and pickle.loads(pickle.dumps(d)) is d
