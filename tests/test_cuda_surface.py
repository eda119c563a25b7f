"""ember.cuda against torch.cuda's CPU build: every public name exists, and on a machine
without CUDA the calls return what torch returns or raise the exception type torch raises."""

import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(ember.cuda.is_available() or torch.cuda.is_available(),
                                reason="compares the no-CUDA behaviour")


def test_every_public_torch_cuda_name_exists():
    missing = [n for n in dir(torch.cuda) if not n.startswith("_") and not hasattr(ember.cuda, n)]
    assert missing == []


@pytest.mark.parametrize("sub", ["amp", "random", "memory", "streams", "graphs", "nvtx",
                                 "sparse", "tunable", "profiler", "nccl", "gds",
                                 "green_contexts"])
def test_submodule_public_functions_exist(sub):
    t_mod, e_mod = getattr(torch.cuda, sub), getattr(ember.cuda, sub)
    wanted = [n for n in dir(t_mod) if not n.startswith("_") and callable(getattr(t_mod, n))
              and getattr(getattr(t_mod, n), "__module__", "") == t_mod.__name__]
    assert [n for n in wanted if not hasattr(e_mod, n)] == []


# name -> call (with `m` the module: torch.cuda or ember.cuda)
RETURNS = {
    "is_available": lambda m: m.is_available(),
    "device_count": lambda m: m.device_count(),
    "is_initialized": lambda m: m.is_initialized(),
    "get_rng_state_all": lambda m: m.get_rng_state_all(),
    "set_rng_state_all": lambda m: m.set_rng_state_all([]),
    "manual_seed": lambda m: m.manual_seed(1),
    "manual_seed_all": lambda m: m.manual_seed_all(1),
    "seed": lambda m: m.seed(),
    "seed_all": lambda m: m.seed_all(),
    "memory_allocated": lambda m: m.memory_allocated(),
    "max_memory_allocated": lambda m: m.max_memory_allocated(),
    "memory_reserved": lambda m: m.memory_reserved(),
    "max_memory_reserved": lambda m: m.max_memory_reserved(),
    "memory_cached": lambda m: m.memory_cached(),
    "max_memory_cached": lambda m: m.max_memory_cached(),
    "memory_stats": lambda m: dict(m.memory_stats()),
    "memory_stats_as_nested_dict": lambda m: m.memory_stats_as_nested_dict(),
    "host_memory_stats": lambda m: dict(m.host_memory_stats()),
    "host_memory_stats_as_nested_dict": lambda m: m.host_memory_stats_as_nested_dict(),
    "empty_cache": lambda m: m.empty_cache(),
    "caching_allocator_enable": lambda m: m.caching_allocator_enable(True),
    "get_arch_list": lambda m: m.get_arch_list(),
    "get_gencode_flags": lambda m: m.get_gencode_flags(),
    "is_bf16_supported": lambda m: m.is_bf16_supported(),
    "is_tf32_supported": lambda m: m.is_tf32_supported(),
    "has_half": lambda m: m.has_half,
    "has_magma": lambda m: m.has_magma,
    "default_generators": lambda m: m.default_generators,
    "set_stream": lambda m: m.set_stream(None),
    "stream_none": lambda m: m.stream(None).__enter__(),
    "device_neg": lambda m: m.device(-1).__enter__(),
    "device_of_cpu": lambda m: m.device_of(m.torch.zeros(1)).__enter__(),
    "cudaStatus": lambda m: (m.cudaStatus.SUCCESS, m.cudaStatus.ERROR_NOT_READY),
    "FloatTensor_isinstance": lambda m: isinstance(m.torch.zeros(2), m.FloatTensor),
    "LongTensor_dtype": lambda m: str(m.LongTensor.dtype),
    "FloatStorage_dtype": lambda m: str(m.FloatStorage.dtype),
    "nccl_SUM": lambda m: m.nccl.SUM,
    "green_SUPPORTED": lambda m: m.green_contexts.SUPPORTED,
    "profiler_flags": lambda m: m.profiler.DEFAULT_FLAGS,
    "list_gpu_processes": lambda m: m.list_gpu_processes(),
}


@pytest.mark.parametrize("name", sorted(RETURNS))
def test_return_values_match_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "list_gpu_processes":
            pytest.importorskip("_no_such_module_" if _has_pynvml() else "warnings")
        assert RETURNS[name](ember.cuda) == RETURNS[name](torch.cuda)


def _has_pynvml():
    try:
        import pynvml  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


RAISES = {
    "current_device": lambda m: m.current_device(),
    "synchronize": lambda m: m.synchronize(),
    "init": lambda m: m.init(),
    "get_device_name": lambda m: m.get_device_name(0),
    "get_device_capability": lambda m: m.get_device_capability(),
    "get_device_properties": lambda m: m.get_device_properties(0),
    "get_rng_state": lambda m: m.get_rng_state(),
    "initial_seed": lambda m: m.initial_seed(),
    "mem_get_info": lambda m: m.mem_get_info(),
    "set_per_process_memory_fraction": lambda m: m.set_per_process_memory_fraction(0.5),
    "get_per_process_memory_fraction": lambda m: m.get_per_process_memory_fraction(),
    "caching_allocator_alloc": lambda m: m.caching_allocator_alloc(16),
    "can_device_access_peer": lambda m: m.can_device_access_peer(0, 1),
    "cudart": lambda m: m.cudart(),
    "current_blas_handle": lambda m: m.current_blas_handle(),
    "ipc_collect": lambda m: m.ipc_collect(),
    "get_sync_debug_mode": lambda m: m.get_sync_debug_mode(),
    "set_sync_debug_mode": lambda m: m.set_sync_debug_mode(0),
    "use_mem_pool": lambda m: m.use_mem_pool(None).__enter__(),
    "current_stream": lambda m: m.current_stream(),
    "Stream": lambda m: m.Stream(),
    "Event": lambda m: m.Event(),
    "MemPool": lambda m: m.MemPool(),
    "CUDAGraph": lambda m: m.CUDAGraph(),
    "is_current_stream_capturing": lambda m: m.is_current_stream_capturing(),
    "device_0": lambda m: m.device(0).__enter__(),
    "device_cpu": lambda m: m.device("cpu"),
    "FloatTensor_call": lambda m: m.FloatTensor(2),
    "sparse_FloatTensor_call": lambda m: m.sparse.FloatTensor(2),
    "FloatStorage_call": lambda m: m.FloatStorage(2),
    "nvtx_range_push": lambda m: m.nvtx.range_push("a"),
    "nvtx_mark": lambda m: m.nvtx.mark("a"),
    "nvtx_range": lambda m: m.nvtx.range("a").__enter__(),
    "profiler_start": lambda m: m.profiler.start(),
    "gds_register": lambda m: m.gds.gds_register_buffer(None),
    "clock_rate": lambda m: m.clock_rate(),
    "temperature": lambda m: m.temperature(),
}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_exception_types_match_torch(name):
    if name in ("clock_rate", "temperature") and _has_pynvml():
        pytest.skip("pynvml present: torch's error then comes from NVML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_err:
            RAISES[name](torch.cuda)
        with pytest.raises(type(t_err.value)) as e_err:
            RAISES[name](ember.cuda)
    if isinstance(e_err.value, AssertionError):  # ember's error names the fix
        assert "ember.cuda.is_available()" in str(e_err.value)


def test_typed_tensor_message_and_repr_match_torch():
    with pytest.raises(TypeError, match="type torch.cuda.FloatTensor not available. Torch not "
                                        "compiled with CUDA enabled."):
        ember.cuda.FloatTensor(2)
    assert repr(ember.cuda.LongTensor) == repr(torch.cuda.LongTensor)
    assert ember.cuda.FloatTensor.is_cuda and not ember.cuda.FloatTensor.is_sparse
    assert ember.cuda.sparse.FloatTensor.is_sparse


def test_deprecated_memory_names_warn_like_torch():
    with pytest.warns(FutureWarning, match="memory_reserved"):
        assert ember.cuda.memory_cached() == 0
    with pytest.warns(FutureWarning, match="reset_peak_memory_stats"):
        ember.cuda.reset_max_memory_cached()


def test_accidental_cpu_build_failures_answer_as_before_gpu_work():
    # torch's CPU build fails on these for lack of a binding; ember answers as a CUDA build
    # does before any GPU work
    ember.cuda.reset_peak_memory_stats()
    ember.cuda.reset_accumulated_memory_stats()
    assert ember.cuda.memory_snapshot() == []
    assert "Allocated memory" in ember.cuda.memory_summary()
    with ember.cuda.caching_allocator_disabled():
        pass
    assert ember.cuda.tunable.is_enabled() is False
    ember.cuda.check_error(0)
    with pytest.raises(ember.cuda.CudaError):
        ember.cuda.check_error(1)


def test_old_imports_still_work():
    from ember.cuda.amp import GradScaler  # noqa: F401

    from ember.cuda import Event, Stream, amp, stream  # noqa: F401
    assert ember.Stream(device="cpu").query()


def test_type_with_a_cuda_legacy_class_asks_for_the_gpu(torch):
    """``x.type(torch.cuda.FloatTensor)`` moves to the GPU, so without one it raises torch's
    RuntimeError (regression: ember cast to a CPU float tensor); the CPU class casts."""
    x, tx = ember.ones(2, dtype=ember.int64), torch.ones(2, dtype=torch.int64)
    with pytest.raises(RuntimeError):
        tx.type(torch.cuda.FloatTensor)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        x.type(ember.cuda.FloatTensor)
    assert x.type(ember.FloatTensor).dtype == ember.float32
    assert tx.type(torch.FloatTensor).dtype == torch.float32
