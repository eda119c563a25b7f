"""ember.nn.parallel: DataParallel on the CPU runs the module as is, exactly as PyTorch does
without a GPU; DistributedDataParallel needs a process group (tests/distributed runs it under
MPI)."""

import pickle

import numpy as np
import pytest

import ember

NO_GPU = not ember.cuda.is_available()


def _linear_pair(torch):
    t = torch.nn.Linear(3, 2)
    e = ember.nn.Linear(3, 2)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_data_parallel_on_cpu_is_the_module(torch):
    e, t = _linear_pair(torch)
    dp_e, dp_t = ember.nn.DataParallel(e), torch.nn.DataParallel(t)
    assert dp_e.module is e and dp_t.module is t
    assert dp_e.device_ids == dp_t.device_ids == []
    for attr in ("dim", "output_device", "src_device_obj"):
        assert hasattr(dp_e, attr) == hasattr(dp_t, attr) is False
    assert list(dp_e.state_dict()) == list(dp_t.state_dict()) == ["module.weight", "module.bias"]
    assert [n for n, _ in dp_e.named_parameters()] == [n for n, _ in dp_t.named_parameters()]
    assert repr(dp_e) == repr(dp_t)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out_e, out_t = dp_e(ember.tensor(x)), dp_t(torch.tensor(x))
    np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), rtol=1e-6,
                               atol=1e-6)


def test_data_parallel_trains_and_checkpoints(torch):
    e, t = _linear_pair(torch)
    dp_e, dp_t = ember.nn.DataParallel(e), torch.nn.DataParallel(t)
    opt_e = ember.optim.SGD(dp_e.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(dp_t.parameters(), lr=0.1)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    for _ in range(3):
        for dp, opt, lib in ((dp_e, opt_e, ember), (dp_t, opt_t, torch)):
            opt.zero_grad()
            dp(lib.tensor(x)).pow(2).mean().backward()
            opt.step()
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-5)
    # a DataParallel checkpoint loads into another DataParallel; eval() reaches the module
    dp2 = ember.nn.DataParallel(ember.nn.Linear(3, 2))
    dp2.load_state_dict(pickle.loads(pickle.dumps(dp_e.state_dict())))
    assert ember.equal(dp2.module.weight, e.weight)
    dp2.eval()
    assert dp2.module.training is False


def test_data_parallel_passes_kwargs_and_tuples():
    class Two(ember.nn.Module):
        def forward(self, a, b=None, *, scale=1.0):
            return a * scale, b

    dp = ember.nn.DataParallel(Two())
    out = dp(ember.ones(2), b=(1, 2), scale=3.0)
    assert out[0].tolist() == [3.0, 3.0] and out[1] == (1, 2)


def test_names_and_paths(torch):
    assert ember.nn.parallel.DataParallel is ember.nn.DataParallel
    assert ember.nn.DataParallel.__module__ == "ember.nn.parallel.data_parallel"
    assert ember.nn.parallel.DistributedDataParallel.__module__ == \
        "ember.nn.parallel.distributed"
    assert hasattr(torch.nn, "DistributedDataParallel") is \
        hasattr(ember.nn, "DistributedDataParallel") is False
    for name in ("DataParallel", "DistributedDataParallel", "data_parallel"):
        assert name in ember.nn.parallel.__all__ and hasattr(torch.nn.parallel, name)


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_functional_data_parallel_needs_a_device(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="device type could not be determined"):
            lib.nn.parallel.data_parallel(lib.nn.Linear(2, 2), lib.ones(1, 2))


def test_distributed_data_parallel_needs_a_process_group(torch):
    from ember.nn.parallel import DistributedDataParallel as DDP
    from ember.nn.parallel.distributed import DistributedDataParallel

    assert DDP is DistributedDataParallel
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            lib.nn.parallel.DistributedDataParallel(lib.nn.Linear(2, 2))
