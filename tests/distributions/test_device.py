"""The distributions on the ``cuda`` device backed by tests/device's ``fake_cupy`` (a CuPy
stand-in that refuses implicit host conversions): densities, entropies, gradients, samples and
KL stay on the device and equal the CPU results."""

import numpy as np
import pytest

import ember
import ember.distributions as ed
from ember import _backend, _threads

from ..device import fake_cupy
from .cases import CASES


@pytest.fixture(autouse=True)
def fake_cuda(monkeypatch):
    monkeypatch.setattr(_threads, "PARALLEL_MIN_BYTES", 0)
    prev = _backend.use_cuda_module(fake_cupy)
    try:
        yield fake_cupy
    finally:
        _backend.use_cuda_module(prev)


def _params(params, device):
    return {k: ember.tensor(v, dtype=ember.float64, device=device).requires_grad_()
            for k, v in params.items()}


def _host(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_distribution_on_cuda_matches_cpu(case):
    _, build, params = case
    cpu_p, dev_p = _params(params, "cpu"), _params(params, "cuda")
    cpu, dev = build(ember, cpu_p), build(ember, dev_p)
    ember.manual_seed(0)
    value = cpu.sample((2,))
    assert dev.sample((3,)).device.type == "cuda"
    if dev.has_rsample:
        assert dev.rsample((3,)).device.type == "cuda"
    results = {}
    for name, lib_dist, v in (("cpu", cpu, value), ("cuda", dev, value.to("cuda"))):
        out = lib_dist.log_prob(v).sum()
        try:
            out = out + lib_dist.entropy().sum()
        except NotImplementedError:
            pass
        results[name] = out
    assert results["cuda"].device.type == "cuda"
    for what, fn in (("mean", lambda d, v: d.mean), ("mode", lambda d, v: d.mode),
                     ("variance", lambda d, v: d.variance), ("cdf", lambda d, v: d.cdf(v)),
                     ("support", lambda d, v: d.enumerate_support())):
        try:
            expected = fn(cpu, value)
        except (NotImplementedError, ValueError):
            continue
        got = fn(dev, value.to("cuda"))
        assert got.device.type == "cuda", what
        np.testing.assert_allclose(_host(got), _host(expected), rtol=1e-10, err_msg=what)
    np.testing.assert_allclose(_host(results["cuda"]), _host(results["cpu"]), rtol=1e-10)
    keys = list(params)
    gc = ember.autograd.grad(results["cpu"], [cpu_p[k] for k in keys], allow_unused=True)
    gd = ember.autograd.grad(results["cuda"], [dev_p[k] for k in keys], allow_unused=True)
    for k, a, b in zip(keys, gc, gd):
        if a is None:
            assert b is None or not np.any(_host(b)), k
            continue
        assert b.device.type == "cuda", k
        np.testing.assert_allclose(_host(b), _host(a), rtol=1e-9, atol=1e-12, err_msg=k)


def test_kl_and_gamma_rsample_gradient_on_cuda():
    p = ed.Normal(ember.tensor([0.0, 1.0], device="cuda"), ember.tensor([1.0, 2.0], device="cuda"))
    q = ed.Normal(ember.zeros(2, device="cuda"), ember.ones(2, device="cuda"))
    assert ed.kl_divergence(p, q).device.type == "cuda"
    conc = ember.tensor([0.5, 3.0], device="cuda", requires_grad=True)
    x = ed.Gamma(conc, ember.ones(2, device="cuda")).rsample((4,))
    (g,) = ember.autograd.grad(x.sum(), [conc])
    assert x.device.type == "cuda" and g.device.type == "cuda"
    assert np.all(np.isfinite(_host(g)))


def test_modes_built_from_one_hot_on_cuda():
    conc = ember.tensor([[0.5, 0.3, 0.2], [2.0, 3.0, 1.5]], device="cuda")
    mode = ed.Dirichlet(conc).mode
    assert mode.device.type == "cuda"
    np.testing.assert_allclose(_host(mode), [[1.0, 0.0, 0.0], [1 / 3.5, 2 / 3.5, 0.5 / 3.5]])
    m = ed.OneHotCategorical(ember.tensor([0.2, 0.5, 0.3], device="cuda")).mode
    assert m.device.type == "cuda" and _host(m).tolist() == [0.0, 1.0, 0.0]


def test_kl_pairs_on_cuda_match_cpu():
    from .test_kl import PAIRS

    for name, build, params in PAIRS:
        on = {dev: {k: ember.tensor(v, dtype=ember.float64, device=dev)
                    for k, v in params.items()} for dev in ("cpu", "cuda")}
        cpu = ed.kl_divergence(*build(ember, on["cpu"]))
        dev = ed.kl_divergence(*build(ember, on["cuda"]))
        assert dev.device.type == "cuda", name
        np.testing.assert_allclose(_host(dev), _host(cpu), rtol=1e-10, err_msg=name)
