"""set_default_device / get_default_device and ``with ember.device(...)``: which creation
functions follow the default device (PyTorch's list of device constructors) and which keep
their own, checked against torch with the meta device (no GPU needed)."""

import threading

import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _reset_default_device():
    yield
    ember.set_default_device(None)


# Each call's device under set_default_device("meta") must be torch's.
CALLS = [
    "L.zeros(2)", "L.ones(2, 2)", "L.empty(3)", "L.full((2,), 1.0)", "L.tensor([1, 2])",
    "L.as_tensor([1.0])", "L.as_tensor(np.zeros(2))", "L.as_tensor(cpu)", "L.asarray([1])",
    "L.asarray(cpu)", "L.tensor(cpu)", "L.scalar_tensor(1)", "L.arange(3)", "L.linspace(0, 1, 3)",
    "L.logspace(0, 1, 3)", "L.eye(2)", "L.empty_strided((2,), (1,))", "L.rand(2)", "L.randn(2)",
    "L.randint(3, (2,))", "L.randperm(3)", "L.range(0, 2)",
    # these keep their own device
    "L.from_numpy(np.zeros(2))", "L.zeros_like(cpu)", "L.ones_like(cpu)", "L.empty_like(cpu)",
    "L.full_like(cpu, 2.0)", "L.rand_like(cpu)", "L.randn_like(cpu)", "L.randint_like(cpu, 3)",
    "cpu.new_zeros(2)", "cpu.new_tensor([1])", "cpu.new_ones(2)", "cpu.new_empty(2)",
    "cpu.new_full((2,), 1.0)", "L.Tensor([1.0])", "L.Tensor(2)", "L.FloatTensor([1.0])",
    "L.LongTensor(2)", "L.normal(0.0, 1.0, (2,))", "L.normal(cpu, 1.0)",
    "L.zeros(2, device='cpu')", "L.tensor([1], device='cpu')", "L.Generator().device",
    "L.nn.Linear(2, 2).weight",
]


def _device(lib, call):
    cpu = lib.ones(2, device="cpu")
    lib.set_default_device("meta")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = eval(call, {"L": lib, "np": np, "cpu": cpu})
    finally:
        lib.set_default_device(None)
    return str(r if not hasattr(r, "device") else r.device)


@pytest.mark.parametrize("call", CALLS)
def test_default_device_reaches_the_constructors_torch_lists(torch, call):
    assert _device(ember, call) == _device(torch, call)


def test_get_and_reset(torch):
    for lib in (ember, torch):
        assert str(lib.get_default_device()) == "cpu"
        lib.set_default_device("meta")
        assert lib.get_default_device() == lib.device("meta")
        lib.set_default_device("cpu")
        assert lib.get_default_device() == lib.device("cpu")
        lib.set_default_device(None)
        assert lib.get_default_device() == lib.device("cpu")


def test_device_context_manager_nests_and_restores(torch):
    for lib in (ember, torch):
        with lib.device("meta") as d:
            assert d == lib.device("meta")
            assert lib.zeros(2).device.type == "meta"
            assert lib.get_default_device() == lib.device("meta")
            with lib.device("cpu"):
                assert lib.zeros(2).device.type == "cpu"
            assert lib.zeros(2).device.type == "meta"
        assert lib.zeros(2).device.type == "cpu"
        lib.set_default_device("meta")
        with lib.device("cpu"):
            assert lib.zeros(1).device.type == "cpu"
        assert lib.zeros(1).device.type == "meta"
        lib.set_default_device(None)


def test_context_restores_after_an_exception():
    with pytest.raises(ValueError), ember.device("meta"):
        raise ValueError
    assert ember.zeros(1).device.type == "cpu"


def test_other_threads_start_on_the_cpu(torch):
    for lib in (ember, torch):
        seen = []
        lib.set_default_device("meta")
        t = threading.Thread(target=lambda lib=lib, seen=seen: seen.append(
            lib.zeros(1).device.type))
        t.start()
        t.join()
        lib.set_default_device(None)
        assert seen == ["cpu"]


def test_module_built_on_meta_allocates_nothing():
    with ember.device("meta"):
        big = ember.nn.Linear(20000, 20000)  # 1.6 GB of float32 if it were real
    assert big.weight.device.type == "meta" and tuple(big.weight.shape) == (20000, 20000)


def test_cuda_default_without_gpu_fails_on_use_as_torch(torch):
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    for lib in (ember, torch):
        lib.set_default_device("cuda")
        try:
            with pytest.raises((RuntimeError, AssertionError)):
                lib.zeros(2)
        finally:
            lib.set_default_device(None)


def test_as_tensor_shares_memory_without_a_default():
    a = np.zeros(3, np.float32)
    t = ember.as_tensor(a)
    a[0] = 5
    assert t[0].item() == 5
