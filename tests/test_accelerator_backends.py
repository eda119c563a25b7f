"""ember.accelerator and ember.backends against torch's CPU build: availability answers,
errors without a device, and every backend flag's default, type and setter behaviour."""

import warnings

import pytest

import ember

NO_GPU = not ember.cuda.is_available()


# -- accelerator ------------------------------------------------------------------------------

@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_accelerator_without_a_device_answers_as_torch_cpu(torch):
    A, TA = ember.accelerator, torch.accelerator
    assert A.is_available() is TA.is_available() is False
    assert A.current_accelerator(check_available=True) is None
    assert TA.current_accelerator(check_available=True) is None
    assert A.device_count() == TA.device_count() == 0
    for name in ("current_device_index", "synchronize", "empty_cache", "memory_allocated",
                 "memory_reserved", "get_memory_info"):
        with pytest.raises(RuntimeError) as ours:
            getattr(A, name)()
        with pytest.raises(RuntimeError) as theirs:
            getattr(TA, name)()
        assert str(ours.value) == str(theirs.value), name
    with A.device_index(None), TA.device_index(None):
        pass
    for lib in (A, TA):
        with pytest.raises(RuntimeError, match="none is available"), lib.device_index(0):
            pass


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_current_accelerator_is_none_without_cupy_or_gpu():
    import importlib.util

    expected = None if importlib.util.find_spec("cupy") is None else ember.device("cuda")
    assert ember.accelerator.current_accelerator() == expected


def test_accelerator_names_match_torch(torch):
    ours = set(dir(ember.accelerator))
    for name in ("is_available", "current_accelerator", "device_count", "current_device_index",
                 "current_device_idx", "set_device_index", "set_device_idx", "device_index",
                 "synchronize", "empty_cache", "memory_allocated", "memory_reserved",
                 "get_memory_info", "memory"):
        assert name in ours and hasattr(torch.accelerator, name), name


def test_deprecated_aliases_warn(torch):
    if not NO_GPU:
        pytest.skip("a GPU is present")
    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="current_device_index"), \
                pytest.raises(RuntimeError):
            lib.accelerator.current_device_idx()


def test_tutorial_device_idiom():
    device = (ember.accelerator.current_accelerator().type
              if ember.accelerator.is_available() else "cpu")
    x = ember.ones(2, device=device)
    assert x.device.type == ("cuda" if ember.accelerator.is_available() else "cpu")


# -- backends ---------------------------------------------------------------------------------

FLAGS = {
    "cudnn": ["enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit",
              "fp32_precision", "depthwise_kernel"],
    "mkldnn": ["enabled", "deterministic", "allow_tf32", "fp32_precision", "VERBOSE_OFF",
               "VERBOSE_ON", "VERBOSE_ON_CREATION"],
    "opt_einsum": ["enabled", "strategy"],
}
MATMUL = ["allow_tf32", "allow_fp16_reduced_precision_reduction",
          "allow_bf16_reduced_precision_reduction",
          "allow_fp16_reduced_precision_reduction_split_k",
          "allow_bf16_reduced_precision_reduction_split_k", "allow_fp16_accumulation",
          "fp32_precision"]
SDP = ["flash_sdp_enabled", "mem_efficient_sdp_enabled", "math_sdp_enabled",
       "cudnn_sdp_enabled", "fp16_bf16_reduction_math_sdp_allowed"]


@pytest.mark.parametrize("module,name", [(m, n) for m, names in FLAGS.items() for n in names])
def test_flag_defaults_match_torch(torch, module, name):
    assert getattr(getattr(ember.backends, module), name) == \
        getattr(getattr(torch.backends, module), name)


@pytest.mark.parametrize("name", MATMUL)
def test_cuda_matmul_defaults_match_torch(torch, name):
    assert getattr(ember.backends.cuda.matmul, name) == getattr(torch.backends.cuda.matmul, name)


@pytest.mark.parametrize("name", SDP)
def test_sdp_switch_defaults_match_torch(torch, name):
    assert getattr(ember.backends.cuda, name)() == getattr(torch.backends.cuda, name)()


def test_availability_answers():
    B = ember.backends
    assert B.cudnn.is_available() is False and B.cudnn.version() is None
    assert B.mps.is_available() is False and B.mps.is_built() is False
    assert B.mkldnn.is_available() is False and B.openmp.is_available() is False
    assert B.cudnn.is_acceptable(ember.ones(2)) is False
    assert B.cuda.is_flash_attention_available() is False
    assert isinstance(B.cuda.is_built(), bool) and isinstance(B.mkl.is_available(), bool)
    assert B.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    assert B.mha.get_fastpath_enabled() is True


def test_opt_einsum_follows_the_installed_package(torch):
    assert ember.backends.opt_einsum.is_available() == torch.backends.opt_einsum.is_available()
    assert (ember.backends.opt_einsum.get_opt_einsum() is None) == \
        (torch.backends.opt_einsum.get_opt_einsum() is None)


def test_tutorial_flag_assignments_stick_and_restore():
    B = ember.backends
    saved = (B.cudnn.deterministic, B.cudnn.benchmark, B.cuda.matmul.allow_tf32)
    try:
        B.cudnn.deterministic = True
        B.cudnn.benchmark = False
        B.cuda.matmul.allow_tf32 = True
        B.cudnn.allow_tf32 = True
        assert B.cudnn.deterministic is True and B.cuda.matmul.allow_tf32 is True
        assert B.cuda.matmul.fp32_precision == "tf32"
    finally:
        B.cudnn.deterministic, B.cudnn.benchmark, B.cuda.matmul.allow_tf32 = saved
        B.cuda.matmul.fp32_precision = "none"


def test_bad_flag_values_raise_as_torch(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="expects a bool"):
            lib.backends.cudnn.deterministic = 1
        with pytest.raises(RuntimeError, match="expects a bool"):
            lib.backends.cuda.matmul.allow_tf32 = "yes"
        with pytest.raises(AttributeError, match="Unknown attribute"):
            _ = lib.backends.cuda.matmul.no_such_flag
        with pytest.raises(AttributeError, match="Unknown attribute"):
            lib.backends.cuda.matmul.no_such_flag = True
        assert lib.backends.cudnn.deterministic is False


def test_flags_context_managers_restore(torch):
    for lib in (ember, torch):
        B = lib.backends
        with B.cudnn.flags(enabled=True, deterministic=True):
            assert B.cudnn.deterministic is True and B.cudnn.benchmark is False
        assert B.cudnn.deterministic is False and B.cudnn.enabled is True
        orig = B.cudnn.set_flags(_deterministic=True)
        assert B.cudnn.deterministic is True
        B.cudnn.set_flags(*orig)
        assert B.cudnn.deterministic is False
        with B.opt_einsum.flags():
            pass
        assert B.opt_einsum.enabled == B.opt_einsum.is_available()


def test_disable_global_flags_freezes_plain_assignment():
    B = ember.backends
    assert B.flags_frozen() is False
    B.disable_global_flags()
    try:
        assert B.flags_frozen() is True
        with pytest.raises(RuntimeError, match="disable_global_flags"):
            B.cudnn.benchmark = True
        with B.cudnn.flags(enabled=True, benchmark=True):
            assert B.cudnn.benchmark is True
        assert B.cudnn.benchmark is False
    finally:
        B._flags._frozen = False


def test_sdp_kernel_is_deprecated_and_scoped(torch):
    for lib in (ember, torch):
        C = lib.backends.cuda
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with C.sdp_kernel(enable_flash=False):
                assert C.flash_sdp_enabled() is False
        assert C.flash_sdp_enabled() is True
        assert any(issubclass(w.category, FutureWarning) for w in caught)


def test_mps_macos_checks_raise_as_torch(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="without MPS backend"):
            lib.backends.mps.is_macos13_or_newer()
