"""Draws: sample statistics against the distributions' own moments (ember.manual_seed fixes
the draws; the numbers differ from torch's), reproducibility, and rsample's pathwise gradients
(the same noise fed to both libraries, or the derivative written from the sample itself)."""

import math

import numpy as np
import pytest

import ember
import ember.distributions as ed

from .cases import CASES
from .test_against_torch import build

torch = pytest.importorskip("torch")

N = 4000
# heavy tails: the sample mean converges too slowly for a fixed-size check
SKIP_MEANS = dict.fromkeys(["StudentT", "Pareto", "FisherSnedecor", "InverseGamma",
                            "GeneralizedPareto"], "heavy-tailed: the sample mean converges slowly")
SKIP_MEANS["VonMises"] = "circular: the mean of angles wrapped to (-pi, pi] is not loc"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_sample_means_match_the_distribution_mean(case):
    if case[0] in SKIP_MEANS:
        pytest.skip(SKIP_MEANS[case[0]])
    _, dist, _, _ = build(case, "float64")
    try:
        mean = dist.mean.detach().numpy()
        std = dist.stddev.detach().numpy()
    except NotImplementedError:
        pytest.skip("no mean/stddev")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        pytest.skip("infinite or undefined moments")
    ember.manual_seed(0)
    draws = dist.sample((N,)).double().numpy()
    assert draws.shape == (N,) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    # 6 standard errors: wide, so a fixed seed cannot fail by bad luck
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 6 * std / math.sqrt(N) + 1e-9)
    assert np.all(dist.support.check(ember.tensor(draws[:50])).numpy())


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Categorical-probs", "Dirichlet",
                                  "Binomial", "MVN-scale_tril", "Beta", "Poisson"])
def test_manual_seed_makes_draws_reproducible(name):
    case = next(c for c in CASES if c[0] == name)
    _, dist, _, _ = build(case, "float32")
    ember.manual_seed(123)
    a = dist.sample((5,))
    b = dist.sample((5,))
    ember.manual_seed(123)
    assert ember.equal(dist.sample((5,)), a)
    assert not ember.equal(dist.sample((5,)), a) or ember.equal(a, b)


def test_sample_variances():
    ember.manual_seed(0)
    n = ed.Normal(ember.tensor([0.0, 3.0]), ember.tensor([1.0, 0.5]))
    assert np.allclose(n.sample((20000,)).var(0).numpy(), [1.0, 0.25], rtol=0.05)
    g = ed.Gamma(ember.tensor(3.0), ember.tensor(2.0))
    assert abs(g.sample((20000,)).var().item() - 0.75) < 0.05
    mvn = ed.MultivariateNormal(ember.zeros(2), ember.tensor([[2.0, 0.8], [0.8, 1.0]]))
    x = mvn.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(x.T), [[2.0, 0.8], [0.8, 1.0]], atol=0.08)


def _same_noise(monkeypatch, module_name, noise):
    """Make ``_standard_normal`` of ember's and torch's ``module_name`` return ``noise``."""
    import importlib

    for lib in ("ember", "torch"):
        mod = importlib.import_module(f"{lib}.distributions.{module_name}")
        tensor = (ember.tensor if lib == "ember" else torch.tensor)
        monkeypatch.setattr(mod, "_standard_normal",
                            lambda shape, dtype, device, t=tensor: t(noise, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_rsample_gradient_with_the_same_noise(monkeypatch, dtype):
    noise = np.random.default_rng(0).normal(size=(5, 2, 3))
    _same_noise(monkeypatch, "normal", noise)
    case = next(c for c in CASES if c[0] == "Normal")
    td, edist, tp, ep = build(case, dtype, grad=True)
    t_loss = (td.rsample((5,)) ** 2).sum()
    e_loss = (edist.rsample((5,)) ** 2).sum()
    np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=1e-5)
    tg = torch.autograd.grad(t_loss, [tp["loc"], tp["scale"]])
    eg = ember.autograd.grad(e_loss, [ep["loc"], ep["scale"]])
    for t, e in zip(tg, eg):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["MVN-scale_tril", "MVN-covariance", "MVN-precision",
                                  "LowRankMVN"])
def test_multivariate_normal_rsample_gradient_with_the_same_noise(monkeypatch, name):
    case = next(c for c in CASES if c[0] == name)
    td, edist, tp, ep = build(case, "float64", grad=True)
    module = ("lowrank_multivariate_normal" if name == "LowRankMVN"
              else "multivariate_normal")
    if name == "LowRankMVN":
        # rsample draws W's noise and D's noise separately, each with _standard_normal
        rng = np.random.default_rng(1)
        draws = iter([rng.normal(size=(4, 2)), rng.normal(size=(4, 3))] * 2)
        import importlib

        for lib, tensor in (("ember", ember.tensor), ("torch", torch.tensor)):
            mod = importlib.import_module(f"{lib}.distributions.{module}")
            monkeypatch.setattr(mod, "_standard_normal",
                                lambda shape, dtype, device, t=tensor: t(next(draws),
                                                                         dtype=dtype))
        order = [torch, ember]
    else:
        noise = np.random.default_rng(1).normal(size=(4,) + tuple(td.batch_shape)
                                                + tuple(td.event_shape))
        _same_noise(monkeypatch, module, noise)
        order = [torch, ember]
    losses = {}
    for lib in order:
        dist = td if lib is torch else edist
        losses[lib] = (dist.rsample((4,)).sin()).sum()
    np.testing.assert_allclose(losses[ember].item(), losses[torch].item(), rtol=1e-10)
    names = list(tp)
    tg = torch.autograd.grad(losses[torch], [tp[k] for k in names])
    eg = ember.autograd.grad(losses[ember], [ep[k] for k in names])
    for k, t, e in zip(names, tg, eg):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-8, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("make, loc_name, scale_name", [
    (lambda loc, scale: ed.Normal(loc, scale), "loc", "scale"),
    (lambda loc, scale: ed.Laplace(loc, scale), "loc", "scale"),
    (lambda loc, scale: ed.Cauchy(loc, scale), "loc", "scale"),
    (lambda loc, scale: ed.Gumbel(loc, scale), "loc", "scale"),
    (lambda loc, scale: ed.Uniform(loc, loc + scale), "low", "width"),
])
def test_location_scale_rsample_pathwise_derivative(make, loc_name, scale_name):
    # x = loc + scale * eps: dx/dloc = 1, dx/dscale = (x - loc) / scale
    ember.manual_seed(0)
    loc = ember.tensor([0.5, -1.0], dtype=ember.float64, requires_grad=True)
    scale = ember.tensor([2.0, 0.3], dtype=ember.float64, requires_grad=True)
    x = make(loc, scale).rsample((6,))
    gl, gs = ember.autograd.grad(x.sum(), [loc, scale])
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(gl.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(gs.numpy(), eps.sum(0).numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_rsample_gradient_matches_torch_standard_gamma_grad(dtype):
    ember.manual_seed(0)
    conc = ember.tensor([0.3, 1.0, 2.5, 9.0, 40.0], dtype=getattr(ember, dtype),
                        requires_grad=True)
    rate = ember.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=getattr(ember, dtype),
                        requires_grad=True)
    x = ed.Gamma(conc, rate).rsample((20,))
    gc, gr = ember.autograd.grad(x.sum(), [conc, rate])
    standard = (x.detach() * rate.detach()).numpy()
    tc = torch.tensor(conc.detach().numpy()).expand(20, 5)
    expected = torch._standard_gamma_grad(tc, torch.tensor(standard)).numpy()
    expected = (expected / rate.detach().numpy()).sum(0)
    # torch's derivative is itself an approximation (series / asymptotics), good to ~1e-3
    np.testing.assert_allclose(gc.numpy(), expected, rtol=2e-3)
    np.testing.assert_allclose(gr.numpy(), (-x.detach() / rate.detach()).sum(0).numpy(),
                               rtol=1e-5)


def test_beta_and_dirichlet_rsample_gradients_are_unbiased():
    # d/da E[x] for Beta(a, b) is b / (a + b)^2; the pathwise estimate averages to it
    ember.manual_seed(0)
    a = ember.tensor(2.0, dtype=ember.float64, requires_grad=True)
    b = ember.tensor(3.0, dtype=ember.float64, requires_grad=True)
    x = ed.Beta(a, b).rsample((20000,))
    ga, gb = ember.autograd.grad(x.mean(), [a, b])
    assert abs(ga.item() - 3.0 / 25) < 0.01 and abs(gb.item() + 2.0 / 25) < 0.01
    c = ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64, requires_grad=True)
    y = ed.Dirichlet(c).rsample((20000,))
    (g,) = ember.autograd.grad(y[:, 0].mean(), [c])
    exact = np.array([5.0, -1.0, -1.0]) / 36  # d/dc_j of c_0 / sum(c)
    np.testing.assert_allclose(g.numpy(), exact, atol=0.01)


def test_sample_needs_no_grad_and_rsample_keeps_it():
    loc = ember.zeros(3, requires_grad=True)
    d = ed.Normal(loc, 1.0)
    assert not d.sample().requires_grad
    assert d.rsample().requires_grad
    with pytest.raises(NotImplementedError):
        ed.Categorical(logits=ember.zeros(3)).rsample()


def test_gamma_sample_derivative_is_accurate():
    # the implicit derivative -(dP(a, x)/da) / p(x; a) to 30 digits with mpmath
    mpmath = pytest.importorskip("mpmath")
    from ember.distributions._sampling import standard_gamma_grad

    mpmath.mp.dps = 30

    def exact(a, x):
        a, x = mpmath.mpf(a), mpmath.mpf(x)
        dp = mpmath.diff(lambda b: mpmath.gammainc(b, 0, x, regularized=True), a)
        pdf = mpmath.exp((a - 1) * mpmath.log(x) - x - mpmath.loggamma(a))
        return float(-dp / pdf)

    a = np.array([1e-3, 0.1, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4])
    x = np.maximum(np.random.default_rng(1).standard_gamma(a), 1e-300)
    got = standard_gamma_grad(ember.tensor(a), ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, [exact(ai, xi) for ai, xi in zip(a, x)], rtol=1e-6)


def test_wishart_samples_are_positive_definite_without_a_spurious_warning():
    import warnings

    ember.manual_seed(0)
    d = ed.Wishart(ember.tensor(4.0), covariance_matrix=ember.tensor([[2.0, 0.5], [0.5, 1.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = d.sample((500,))
    assert d.support.check(x).all().item()
    np.testing.assert_allclose(x.mean(0).numpy(), d.mean.numpy(), rtol=0.15)


def test_second_derivative_through_a_gamma_sample_raises_like_torch():
    for lib in (torch, ember):
        c = lib.tensor([2.0], requires_grad=True)
        x = lib.distributions.Gamma(c, lib.tensor([1.0])).rsample()
        (g,) = lib.autograd.grad(x.sum(), [c], create_graph=True)
        with pytest.raises(NotImplementedError, match="_standard_gamma_grad"):
            lib.autograd.grad(g.sum(), [c])
