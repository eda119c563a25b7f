"""ember.cuda against torch.cuda: on a machine without a GPU both answer the same (zeros, no-ops,
AssertionErrors); the peak-memory accounting is checked with a stand-in for CuPy's memory hooks;
on a GPU (CuPy present) the statistics, streams and events are checked for real."""

import sys
import types

import numpy as np
import pytest

import ember
from ember import _backend

no_gpu = pytest.mark.skipif(ember.cuda.is_available(), reason="this machine has a GPU")
gpu = pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CuPy and a GPU")


@no_gpu
def test_counters_and_no_ops_match_torch_without_cuda(torch):
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved",
                 "max_memory_reserved"):
        assert getattr(ember.cuda, name)() == getattr(torch.cuda, name)() == 0, name
    assert ember.cuda.empty_cache() is None
    ember.cuda.reset_peak_memory_stats()
    ember.cuda.reset_max_memory_allocated()


@no_gpu
@pytest.mark.parametrize("name", ["synchronize", "current_device", "get_device_name",
                                  "mem_get_info", "current_stream", "Event", "Stream"])
def test_gpu_only_calls_raise_torchs_error_without_cuda(torch, name):
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    with pytest.raises(Exception) as t_err:
        getattr(torch.cuda, name)()
    with pytest.raises(type(t_err.value)) as e_err:
        getattr(ember.cuda, name)()
    assert isinstance(e_err.value, (AssertionError, RuntimeError))
    assert "CUDA is not available" in str(e_err.value)
    assert "ember.cuda.is_available()" in str(e_err.value)  # the message names the fix


@no_gpu
def test_cuda_seeding_leaves_the_cpu_stream_alone_without_cuda():
    ember.manual_seed(3)
    a = ember.rand(4)
    ember.manual_seed(3)
    ember.cuda.manual_seed(11)
    ember.cuda.manual_seed_all(12)
    np.testing.assert_array_equal(ember.rand(4).numpy(), a.numpy())


def test_get_array_module_of_host_arrays_is_numpy():
    assert _backend.get_array_module(np.zeros(2)) is np
    assert _backend.get_array_module(ember.zeros(2, device="meta")._data) is np
    assert _backend.get_array_module(3.0) is np


def _fake_cupy(monkeypatch, used, held):
    """A stand-in for the parts of CuPy the memory statistics use, and the hooks it registers."""
    registered = []

    class MemoryHook:
        name = "MemoryHook"

        def __enter__(self):
            registered.append(self)
            return self

    class Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    pool = types.SimpleNamespace(used_bytes=lambda: used[0], total_bytes=lambda: held[0])
    cuda_mod = types.ModuleType("cupy.cuda")
    cuda_mod.memory_hook = types.SimpleNamespace(MemoryHook=MemoryHook)
    cuda_mod.Device = Device
    cupy_mod = types.ModuleType("cupy")
    cupy_mod.cuda = cuda_mod
    cupy_mod.get_default_memory_pool = lambda: pool
    monkeypatch.setitem(sys.modules, "cupy", cupy_mod)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda_mod)
    for name in ("_mem_live", "_mem_peak", "_mem_reserved_peak"):
        monkeypatch.setattr(_backend, name, {})
    monkeypatch.setattr(_backend, "_mem_hook", None)
    _backend._track_memory(cupy_mod)
    monkeypatch.setattr(_backend, "_get_cupy", lambda: cupy_mod)
    monkeypatch.setattr(ember.cuda, "cuda_available", lambda: True)
    return registered[0]


def test_peak_memory_counts_allocations_between_calls(monkeypatch):
    used, held = [0], [0]
    hook = _fake_cupy(monkeypatch, used, held)
    assert hook.name == "ember_memory_stats"

    def malloc(n):
        used[0] += n
        held[0] = max(held[0], used[0])
        hook.alloc_postprocess(device_id=0, mem_size=n, mem_ptr=1)
        hook.malloc_postprocess(device_id=0, size=n, mem_size=n, mem_ptr=1, pmem_id=1)

    def free(n):
        used[0] -= n
        hook.free_postprocess(device_id=0, mem_size=n, mem_ptr=1, pmem_id=1)

    malloc(1024)
    malloc(4096)
    free(4096)  # the peak (5120 bytes) is gone before anyone asks
    assert ember.cuda.memory_allocated(0) == 1024
    assert ember.cuda.max_memory_allocated(0) == 5120
    assert ember.cuda.memory_reserved(0) == 5120 == ember.cuda.max_memory_reserved(0)
    ember.cuda.reset_peak_memory_stats(0)
    assert ember.cuda.max_memory_allocated(0) == 1024
    malloc(512)
    free(512)
    assert ember.cuda.max_memory_allocated(0) == 1536
    free(1024)
    free(1024)  # a free the hook never saw allocated (made before it): no negative counts
    assert ember.cuda.max_memory_allocated(0) == 1536
    assert _backend._mem_live[0] == 0


def test_peak_is_never_below_present_use(monkeypatch):
    used, held = [0], [0]
    _fake_cupy(monkeypatch, used, held)
    used[0], held[0] = 2048, 4096  # arrays the hook did not see (another thread)
    assert ember.cuda.max_memory_allocated(0) == 2048
    assert ember.cuda.max_memory_reserved(0) == 4096


@gpu
def test_memory_statistics_streams_and_events_on_a_gpu():
    ember.cuda.empty_cache()
    base = ember.cuda.memory_allocated()
    x = ember.empty(2 ** 20, device="cuda")  # 4 MiB
    assert ember.cuda.memory_allocated() - base >= 4 * 2 ** 20
    peak = ember.cuda.max_memory_allocated()
    del x
    assert ember.cuda.memory_allocated() <= base + 2 ** 20
    assert ember.cuda.max_memory_allocated() == peak
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        assert ember.cuda.current_stream() == s
        start.record(s)
        y = (ember.arange(1000.0, device="cuda") * 2).sum()
        end.record(s)
    s.synchronize()
    assert y.item() == 999000.0
    assert start.elapsed_time(end) >= 0
    ember.cuda.synchronize()
