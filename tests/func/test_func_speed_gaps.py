"""torch.func's speed work (issue 13): the work each transform does, counted (never timed),
and what changed behaviour on the way, compared with torch."""
import gc
import importlib.util
import weakref
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.autograd import graph
from ember.distributions import _sampling
from ember.func import _batching, _vmap, jacrev, vmap

torch = pytest.importorskip("torch")

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "func_ratios.py"
_spec = importlib.util.spec_from_file_location("ember_benchmarks_func_ratios", _PATH)
ratios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ratios)


def _counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


# -- the engine: a pass with inputs computes only what reaches them ---------------------------

def test_grad_runs_no_hooks_on_branches_that_miss_the_inputs():
    seen = {}
    for lib in (torch, ember):
        x = lib.ones(3, requires_grad=True)
        w = lib.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        calls = []
        y.register_hook(lambda g, calls=calls: calls.append(1))
        (g,) = lib.autograd.grad((y * w).sum(), w)
        seen[lib.__name__] = (g.tolist(), y.grad, len(calls))
    assert seen["ember"] == seen["torch"] == ([2.0, 2.0, 2.0], None, 0)


def test_jacrev_of_a_network_skips_the_weights_gradients(monkeypatch):
    from ember._ops.nn.linear_softmax import Linear

    needs = []
    backward = Linear.backward

    def recording(ctx, grad):
        needs.append(tuple(ctx.needs_input_grad))
        return backward(ctx, grad)

    monkeypatch.setattr(Linear, "backward", staticmethod(recording))
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2))
    x = ember.randn(3)
    jac = jacrev(model)(x)
    assert needs and set(needs) == {(True, False, False)}
    assert all(p.requires_grad for p in model.parameters())  # flags restored after the pass
    assert model[2].weight.grad_fn is None
    # the same numbers as torch's
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for tp, ep in zip(tmodel.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(ep.detach().numpy()))
    want = torch.autograd.functional.jacobian(tmodel, torch.from_numpy(x.numpy()))
    np.testing.assert_allclose(jac.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_narrowed_flags_are_restored_for_a_later_backward():
    x = ember.randn(3, requires_grad=True)
    w = ember.randn(3, requires_grad=True)
    y = (x * w).sum()
    ember.autograd.grad(y, x, retain_graph=True)
    assert y.grad_fn.next_functions[0][0].needs_input_grad == (True, True)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), x.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), w.detach().numpy())


def test_repeated_passes_over_one_graph_walk_it_once(monkeypatch):
    calls = _counting(monkeypatch, graph, "_nodes_leading_to")
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.Tanh(), ember.nn.Linear(6, 5))
    jac = jacrev(model)(ember.randn(4))
    assert jac.shape == (5, 4)
    assert len(calls) == 1  # one plan for the five rows
    # another set of inputs on the same root makes its own plan, with the right answer
    x = ember.randn(3, requires_grad=True)
    w = ember.randn(3, requires_grad=True)
    y = (x.sin() * w).sum()
    (gx,) = ember.autograd.grad(y, x, retain_graph=True)
    (gw,) = ember.autograd.grad(y, w, retain_graph=True)
    (gx2, gw2) = ember.autograd.grad(y, (x, w), retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), (x.cos() * w).detach().numpy())
    np.testing.assert_array_equal(gw.numpy(), x.sin().detach().numpy())
    np.testing.assert_array_equal(gx2.numpy(), gx.numpy())
    np.testing.assert_array_equal(gw2.numpy(), gw.numpy())


def test_a_kept_plan_does_not_keep_the_graph_alive():
    gc.disable()
    try:
        x = ember.randn(3, requires_grad=True)
        y = (x * 2).sin().sum()
        ember.autograd.grad(y, x, retain_graph=True)
        ember.autograd.grad(y, x)
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None  # freed by reference counting: no cycle through the plan
    finally:
        gc.enable()


# -- vmap: per-op tagging and the randomness check -------------------------------------------

def test_vmap_outputs_share_their_input_tags(monkeypatch):
    monkeypatch.setattr(_batching, "ENABLED", False)  # the loop's tags, element by element
    shared = []

    def f(x):
        y = (x * 2).sin()
        shared.append(y._vmap_levels is x._vmap_levels)
        return y

    out = vmap(f)(ember.randn(3, 2))
    assert out.shape == (3, 2) and shared == [True] * 3


def test_vmap_checks_randomness_on_one_snapshot(monkeypatch):
    from ember._random_stream import TorchStream

    monkeypatch.setattr(_batching, "ENABLED", False)  # the loop's check

    calls = _counting(monkeypatch, TorchStream, "snapshot")
    out = vmap(lambda x: x * 2)(ember.randn(16, 3))
    assert out.shape == (16, 3)
    assert len(calls) == 1


@pytest.mark.parametrize("lib", ["torch", "ember"])
def test_vmap_error_mode_raises_and_restores_the_generator(lib):
    lib = torch if lib == "torch" else ember
    lib.manual_seed(3)
    before = lib.get_rng_state().clone()
    with pytest.raises(RuntimeError, match="randomness error mode"):
        lib.vmap(lambda x: x + lib.rand(()))(lib.ones(5, 2))
    assert lib.equal(lib.get_rng_state(), before)


def test_vmap_error_mode_catches_a_draw_in_a_later_element(monkeypatch):
    # ember's loop runs the function per element: the third one draws, after two that did not
    monkeypatch.setattr(_batching, "ENABLED", False)
    calls = []

    def f(x):
        calls.append(1)
        return x + ember.rand(()) if len(calls) == 3 else x * 1

    ember.manual_seed(3)
    before = ember.get_rng_state().clone()
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(f)(ember.ones(5, 2))
    assert len(calls) == 3 and ember.equal(ember.get_rng_state(), before)
    assert not _vmap._running


def test_vmap_same_mode_still_repeats_the_draws():
    ember.manual_seed(1)
    out = vmap(lambda x: x + ember.rand(2), randomness="same")(ember.zeros(4, 2))
    assert all(ember.equal(out[0], out[i]) for i in range(4))
    ember.manual_seed(1)
    torch.manual_seed(1)
    want = torch.vmap(lambda x: x + torch.rand(2), randomness="same")(torch.zeros(4, 2))
    np.testing.assert_array_equal(out.numpy(), want.numpy())


# -- Beta / Dirichlet gradients: one lgamma call, one continued fraction ---------------------

def _reference_beta_cf(a, b, x):
    """The continued fraction as it was written before (one element set per iteration)."""
    tiny = 1e-300

    def guard(v):
        return np.where(np.abs(v) < tiny, tiny, v)

    c = np.ones_like(a)
    d = 1 / guard(1 - (a + b) * x / (a + 1))
    h = d.copy()
    live = np.arange(a.size)
    for m in range(1, 100000):
        la, lb, lx = a[live], b[live], x[live]
        even = m * (lb - m) * lx / ((la + 2 * m - 1) * (la + 2 * m))
        dl = 1 / guard(1 + even * d[live])
        cl = guard(1 + even / c[live])
        h[live] *= dl * cl
        odd = -(la + m) * (la + lb + m) * lx / ((la + 2 * m) * (la + 2 * m + 1))
        dl = 1 / guard(1 + odd * dl)
        cl = guard(1 + odd / cl)
        step = dl * cl
        h[live] *= step
        d[live], c[live] = dl, cl
        live = live[np.abs(step - 1) >= 4e-16]
        if not live.size:
            break
    return h


def test_beta_continued_fraction_is_bit_for_bit_the_same():
    rng = np.random.default_rng(0)
    for scale in (0.05, 1.0, 30.0):
        a = np.abs(rng.standard_normal(200)) * scale + 1e-3
        b = np.abs(rng.standard_normal(200)) * scale + 1e-3
        x = rng.uniform(1e-6, 1 - 1e-6, 200)
        np.testing.assert_array_equal(_sampling._beta_cf(a, b, x), _reference_beta_cf(a, b, x))
    assert _sampling._beta_cf(np.ones(0), np.ones(0), np.ones(0)).shape == (0,)


def test_dirichlet_gradient_makes_one_lgamma_call_and_one_fraction(monkeypatch):
    lgammas = _counting(monkeypatch, _sampling, "_log_gamma")
    fractions = _counting(monkeypatch, _sampling, "_beta_cf")
    conc = ember.tensor([[0.3, 2.0], [5.0, 0.7], [1.5, 40.0]], dtype=ember.float64)
    ember.manual_seed(0)
    sample = ember.distributions.Dirichlet(conc).rsample()
    factor = _sampling.dirichlet_marginal_grad(sample, conc)
    assert (len(lgammas), len(fractions)) == (1, 1)
    assert factor.shape == conc.shape and bool(ember.isfinite(factor).all())


def test_beta_rsample_gradient_matches_torch():
    rng = np.random.default_rng(1)
    a_np = (0.3 + np.abs(rng.standard_normal(32))).astype(np.float64)
    b_np = (0.3 + np.abs(rng.standard_normal(32))).astype(np.float64)
    grads = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        a = lib.from_numpy(a_np.copy()).requires_grad_()
        b = lib.from_numpy(b_np.copy()).requires_grad_()
        lib.distributions.Beta(a, b).rsample().sum().backward()
        grads[lib.__name__] = (a.grad.numpy(), b.grad.numpy())
    for got, want in zip(grads["ember"], grads["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8)


# -- the benchmark's workloads build and run on ember ----------------------------------------

@pytest.mark.parametrize("name", list(ratios.WORKLOADS))
def test_func_ratio_workloads_run_on_ember(name):
    build, n = ratios.WORKLOADS[name]
    step = build(ember)
    assert n > 0 and callable(step)
    if "lnn" not in name:  # (the Lagrangian network's step is the one slow one)
        step()
