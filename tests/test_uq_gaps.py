"""Gaps found while writing the uncertainty/calibration programs (tests/programs/uq_*.py),
each checked against PyTorch: ``quantile``/``nanquantile`` compute their ranks ``q * (n - 1)``
in the input's dtype (a float32 rank can round onto an integer the float64 product passes, so
``lower``/``higher``/``nearest`` picked another element), interpolate with torch's ``lerp``,
and refuse float16/bfloat16 inputs as torch does; ``LBFGS`` writes ``prev_flat_grad`` in place
(an optimizer that loaded its state shares it); float32 ``digamma`` follows torch's float
kernel rather than a rounded float64 value."""

import numpy as np
import pytest
import torch

import ember

MODES = ["linear", "lower", "higher", "midpoint", "nearest"]


def _both(fn, x, q, **kw):
    t = getattr(torch, fn)(torch.from_numpy(x), torch.from_numpy(q) if isinstance(q, np.ndarray)
                           else q, **kw)
    e = getattr(ember, fn)(ember.from_numpy(x), ember.from_numpy(q) if isinstance(q, np.ndarray)
                           else q, **kw)
    return t.numpy(), e.numpy()


@pytest.mark.parametrize("mode", MODES)
def test_quantile_rank_rounds_in_float32(mode):
    # 1/6 * 3 is 0.5 in float32 (nearest: round half to even -> index 0), 0.50000001 in float64
    x = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
    for q in (1 / 6, np.array([1 / 6, 0.5, 5 / 6], np.float32)):
        t, e = _both("quantile", x, q, interpolation=mode)
        np.testing.assert_array_equal(e, t)


def test_quantile_conformal_higher_level_picks_torchs_element():
    # the split-conformal level ceil((n+1)(1-alpha))/n, "higher": a rank just above an integer
    # in float64 is that integer in float32
    rng = np.random.default_rng(0)
    hits = 0
    for n in range(5, 80):
        x = rng.standard_normal(n).astype(np.float32)
        for k in range(1, n - 1):
            q = k / (n - 1) * (1 + 1e-9)
            t, e = _both("quantile", x, q, interpolation="higher")
            assert e == t, (n, k)
            hits += np.float32(q) * np.float32(n - 1) != q * (n - 1)
    assert hits  # some of these ranks do round differently in float32


@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantile_bitwise_against_torch(fn, mode, dtype):
    rng = np.random.default_rng(3)
    for _ in range(40):
        x = (rng.standard_normal((3, int(rng.integers(2, 50)))) *
             10.0 ** rng.integers(-3, 4)).astype(dtype)
        if fn == "nanquantile":
            x[0, ::3] = np.nan
        q = np.array([rng.integers(0, 30) / rng.integers(1, 40) % 1, rng.random()], dtype)
        for kw in ({}, {"dim": 1, "keepdim": True}):
            t, e = _both(fn, x, q, interpolation=mode, **kw)
            np.testing.assert_array_equal(e, t)
            t, e = _both(fn, x, float(q[0]), interpolation=mode, **kw)
            np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("mode", ["linear", "midpoint"])
def test_quantile_gradient_matches_torch(mode):
    x = np.random.default_rng(1).standard_normal((4, 9))
    q = np.array([0.1, 0.37, 0.9])
    tx = torch.from_numpy(x).requires_grad_(True)
    ex = ember.from_numpy(x).requires_grad_(True)
    (torch.quantile(tx, torch.from_numpy(q), dim=1, interpolation=mode) ** 2).sum().backward()
    (ember.quantile(ex, ember.from_numpy(q), dim=1, interpolation=mode) ** 2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
def test_quantile_refuses_half_dtypes(fn, dtype):
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as info:
            getattr(lib, fn)(lib.tensor([1.0, 2.0, 4.0], dtype=getattr(lib, dtype)), 0.3)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def _lbfgs_resumed_pair(lib):
    """Two L-BFGS optimizers sharing state through load_state_dict, stepped in turn: torch
    writes prev_flat_grad in place (copy_), so the second one's step changes the first's."""
    lib.manual_seed(0)
    x = lib.randn(20, 3)
    y = x @ lib.tensor([1.0, -2.0, 0.5])
    w = lib.zeros(3, requires_grad=True)
    opt = lib.optim.LBFGS([w], lr=1, max_iter=3, history_size=4, line_search_fn="strong_wolfe")

    def closure_for(o, p):
        def closure():
            o.zero_grad()
            loss = (x @ p - y).pow(2).mean() + 0.1 * p.abs().sum()
            loss.backward()
            return loss
        return closure

    opt.step(closure_for(opt, w))
    w2 = w.detach().clone().requires_grad_(True)
    opt2 = lib.optim.LBFGS([w2], lr=1, max_iter=3, history_size=4,
                           line_search_fn="strong_wolfe")
    opt2.load_state_dict(opt.state_dict())
    shared = opt2.state[w2]["prev_flat_grad"] is opt.state[w]["prev_flat_grad"]
    opt2.step(closure_for(opt2, w2))
    opt.step(closure_for(opt, w))
    return shared, w.detach().numpy().copy(), w2.detach().numpy().copy()


def test_lbfgs_prev_flat_grad_updated_in_place_as_torch():
    t_shared, t_w, t_w2 = _lbfgs_resumed_pair(torch)
    e_shared, e_w, e_w2 = _lbfgs_resumed_pair(ember)
    assert e_shared == t_shared
    np.testing.assert_allclose(e_w2, t_w2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e_w, t_w, rtol=1e-5, atol=1e-6)
    assert not np.allclose(t_w, t_w2)  # the first optimizer did see the second one's write


def test_digamma_float32_follows_torchs_float_kernel():
    # torch's float32 digamma works in float32 (recurrence to 10, its asymptotic polynomial),
    # not a rounded float64 value: Beta/Dirichlet entropies and evidential losses read it
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 1, 3000), rng.uniform(0, 30, 3000),
                        rng.uniform(-20, 0, 3000), 10 ** rng.uniform(-8, 20, 1000),
                        [0.5, 1, 2, 10, 0, -0.0, np.inf, -np.inf, np.nan, -1, -2.5]])
    x = x.astype(np.float32)
    t = torch.digamma(torch.from_numpy(x)).numpy()
    e = ember.digamma(ember.from_numpy(x)).numpy()
    same = (t == e) | (np.isnan(t) & np.isnan(e))
    assert same.mean() > 0.998  # a handful differ by one ulp (the C library's logf)
    for v in (0.5, 1.0, 2.0, 3.0, 10.0, -2.5, 0.0, -0.0):
        a = np.array([v], np.float32)
        np.testing.assert_array_equal(ember.digamma(ember.from_numpy(a)).numpy(),
                                      torch.digamma(torch.from_numpy(a)).numpy())
    h = np.array([0.3, 1.5, -0.7, 7.0], np.float16)
    np.testing.assert_array_equal(ember.digamma(ember.from_numpy(h)).numpy(),
                                  torch.digamma(torch.from_numpy(h)).numpy())


def test_beta_entropy_float32_matches_torch():
    vals = []
    for lib in (torch, ember):
        b = lib.distributions.Beta(lib.tensor([2.0, 0.5]), lib.tensor([3.0, 0.5]))
        vals.append(b.entropy().numpy())
    np.testing.assert_array_equal(vals[1], vals[0])
