"""Behaviour of the discrete, relaxed and multivariate-normal distributions that the generic
cases do not reach: draws from the same seed as torch (bit for bit for the discrete ones, and
the random stream left where torch leaves it), edge parameters, argument errors, and the private
helpers that kl.py and wishart.py share (through the KL divergences and Wishart that use them).
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

INF = float("inf")


def _np(x):
    return x.detach().numpy()


DISCRETE = [
    ("Bernoulli", lambda L, t: L.distributions.Bernoulli(probs=t([0.1, 0.5, 0.9]))),
    ("Bernoulli-logits", lambda L, t: L.distributions.Bernoulli(logits=t([-2.0, 0.0, 3.0]))),
    ("Binomial", lambda L, t: L.distributions.Binomial(t([3.0, 10.0, 200.0]),
                                                      probs=t([0.3, 0.5, 0.05]))),
    ("Categorical", lambda L, t: L.distributions.Categorical(probs=t([[0.1, 0.6, 0.3],
                                                                       [0.5, 0.0, 0.5]]))),
    ("Categorical-logits", lambda L, t: L.distributions.Categorical(logits=t([0.0, -INF, 1.0]))),
    ("Geometric", lambda L, t: L.distributions.Geometric(probs=t([0.2, 0.7]))),
    ("Multinomial", lambda L, t: L.distributions.Multinomial(7, probs=t([[0.2, 0.3, 0.5],
                                                                         [0.6, 0.1, 0.3]]))),
    ("NegativeBinomial", lambda L, t: L.distributions.NegativeBinomial(t([2.0, 0.5]),
                                                                       logits=t([0.3, -1.0]))),
    ("OneHotCategorical", lambda L, t: L.distributions.OneHotCategorical(logits=t([0.0, 1.0, 2.0]))),
    ("Poisson", lambda L, t: L.distributions.Poisson(t([0.5, 4.0, 30.0]))),
]

CONTINUOUS = [
    ("RelaxedBernoulli", lambda L, t: L.distributions.RelaxedBernoulli(t(0.4),
                                                                       probs=t([0.2, 0.7]))),
    ("RelaxedOneHotCategorical", lambda L, t: L.distributions.RelaxedOneHotCategorical(
        t(0.6), logits=t([0.0, 1.0, -1.0]))),
    ("ContinuousBernoulli", lambda L, t: L.distributions.ContinuousBernoulli(
        probs=t([0.2, 0.5, 0.8]))),
    ("MultivariateNormal", lambda L, t: L.distributions.MultivariateNormal(
        t([0.0, 1.0]), covariance_matrix=t([[2.0, 0.3], [0.3, 1.0]]))),
    ("LowRankMultivariateNormal", lambda L, t: L.distributions.LowRankMultivariateNormal(
        t([0.0, 1.0, 2.0]), t([[0.5], [0.2], [1.0]]), t([1.0, 0.5, 2.0]))),
]


def _draw(lib, make, dtype, method, shape):
    def t(x):
        return lib.tensor(x, dtype=getattr(lib, dtype))

    lib.manual_seed(0)
    out = getattr(make(lib, t), method)(shape)
    return _np(out), _np(lib.rand(3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, make", DISCRETE, ids=[c[0] for c in DISCRETE])
def test_discrete_draws_are_torchs(name, make, dtype):
    for shape in ((), (5,), (2, 3)):
        (t, t_next), (e, e_next) = (_draw(lib, make, dtype, "sample", shape)
                                    for lib in (torch, ember))
        np.testing.assert_array_equal(e, t)
        np.testing.assert_array_equal(e_next, t_next)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, make", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_reparameterised_draws_follow_torchs_stream(name, make, dtype):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    for shape in ((), (4,)):
        (t, t_next), (e, e_next) = (_draw(lib, make, dtype, "rsample", shape)
                                    for lib in (torch, ember))
        np.testing.assert_allclose(e, t, **tol)
        np.testing.assert_array_equal(e_next, t_next)


# (what, call) pairs: the same value, or the same exception type and message, in both
CALLS = [
    ("geometric p = 0 validated by default",
     lambda L, D: D.Geometric(probs=L.tensor([0.0, 0.5]))),
    ("geometric p = 0 unvalidated", lambda L, D: D.Geometric(
        probs=L.tensor([0.0, 0.5]), validate_args=False).log_prob(L.tensor([1.0, 0.0]))),
    ("geometric p = 1 at k = 0", lambda L, D: D.Geometric(
        probs=L.tensor([1.0, 0.5])).log_prob(L.tensor([0.0, 2.0]))),
    ("continuous bernoulli probs outside", lambda L, D: D.ContinuousBernoulli(
        probs=L.tensor(1.5), validate_args=True)),
    ("continuous bernoulli probs clamped", lambda L, D: D.ContinuousBernoulli(
        probs=L.tensor([0.0, 1.0])).probs),
    ("continuous bernoulli cdf outside [0, 1]", lambda L, D: D.ContinuousBernoulli(
        probs=L.tensor([0.2, 0.5]), validate_args=False).cdf(L.tensor([-0.5, 1.5]))),
    ("continuous bernoulli log-normaliser", lambda L, D: D.ContinuousBernoulli(
        logits=L.tensor([0.0, 3.0]))._log_normalizer(L.tensor([0.0, 3.0]))),
    ("multinomial float count", lambda L, D: D.Multinomial(3.5, probs=L.ones(3))),
    ("multinomial tensor count", lambda L, D: D.Multinomial(L.tensor(3), probs=L.ones(3))),
    ("multinomial log_prob without a count", lambda L, D: D.Multinomial(
        probs=L.ones(3)).log_prob(L.tensor([1.0, 1.0, 0.0]))),
    ("multinomial -inf logit with zero count", lambda L, D: D.Multinomial(
        2, logits=L.tensor([0.0, -INF, 1.0])).log_prob(L.tensor([1.0, 0.0, 1.0]))),
    ("categorical scalar logits", lambda L, D: D.Categorical(logits=L.tensor(0.3))),
    ("categorical log_prob broadcasts", lambda L, D: D.Categorical(
        probs=L.ones(2, 3)).log_prob(L.tensor([[0], [1]]))),
    ("binomial entropy, mixed counts", lambda L, D: D.Binomial(
        L.tensor([2.0, 3.0]), 0.3).entropy()),
    ("binomial support, mixed counts", lambda L, D: D.Binomial(
        L.tensor([2.0, 3.0]), 0.3).enumerate_support()),
    ("binomial above its count", lambda L, D: D.Binomial(
        L.tensor([2.0, 3.0]), 0.3).log_prob(L.tensor([3.0, 3.0]))),
    ("binomial p = 0 and 1", lambda L, D: D.Binomial(
        3, L.tensor([0.0, 1.0, 0.5])).log_prob(L.tensor([0.0, 3.0, 1.0]))),
    ("binomial mode", lambda L, D: D.Binomial(L.tensor([3.0, 2.0]), 0.5).mode),
    ("negative binomial count 0", lambda L, D: D.NegativeBinomial(
        L.tensor([0.0, 2.0]), probs=L.tensor([0.3, 0.5])).log_prob(L.tensor([0.0, 1.0]))),
    ("negative binomial p = 1", lambda L, D: D.NegativeBinomial(
        L.tensor([1.0]), probs=L.tensor([1.0]))),
    ("negative binomial mode", lambda L, D: D.NegativeBinomial(
        L.tensor([0.0, 4.0]), probs=L.tensor([0.3, 0.5])).mode),
    ("poisson rate 0", lambda L, D: D.Poisson(L.tensor([0.0, 2.0])).log_prob(
        L.tensor([0.0, 1.0]))),
    ("poisson non-integer value", lambda L, D: D.Poisson(L.tensor([2.0])).log_prob(
        L.tensor([0.5]))),
    ("bernoulli both parameters", lambda L, D: D.Bernoulli(0.3, 0.2)),
    ("one-hot value that is not one-hot", lambda L, D: D.OneHotCategorical(
        L.ones(3)).log_prob(L.tensor([1.0, 1.0, 0.0]))),
    ("relaxed bernoulli value outside (0, 1)", lambda L, D: D.RelaxedBernoulli(
        L.tensor(0.5), probs=L.tensor([0.2])).log_prob(L.tensor([1.5]))),
    ("relaxed one-hot value off the simplex", lambda L, D: D.RelaxedOneHotCategorical(
        L.tensor(0.5), probs=L.tensor([0.2, 0.8])).log_prob(L.tensor([0.6, 0.5]))),
    ("relaxed one-hot log_prob", lambda L, D: D.RelaxedOneHotCategorical(
        L.tensor(0.5), probs=L.tensor([0.2, 0.8])).log_prob(L.tensor([0.3, 0.7]))),
    ("mvn covariance of one dimension", lambda L, D: D.MultivariateNormal(
        L.zeros(2), covariance_matrix=L.eye(2)[0])),
    ("mvn precision of one dimension", lambda L, D: D.MultivariateNormal(
        L.zeros(2), precision_matrix=L.eye(2)[0])),
    ("mvn scale_tril of one dimension", lambda L, D: D.MultivariateNormal(
        L.zeros(2), scale_tril=L.eye(2)[0])),
    ("mvn precision not positive definite", lambda L, D: D.MultivariateNormal(
        L.zeros(2), precision_matrix=L.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ("mvn values with more batch dimensions", lambda L, D: D.MultivariateNormal(
        L.zeros(3, 2), scale_tril=L.tensor([[1.0, 0.0], [0.5, 2.0]])).log_prob(
        L.ones(4, 1, 2))),
    ("mvn precision's scale_tril", lambda L, D: D.MultivariateNormal(
        L.zeros(2), precision_matrix=L.tensor([[2.0, 0.5], [0.5, 1.0]])).scale_tril),
    ("mvn expanded entropy", lambda L, D: D.MultivariateNormal(
        L.zeros(2), scale_tril=L.eye(2)).expand((3,)).entropy()),
    ("low-rank factor of one dimension", lambda L, D: D.LowRankMultivariateNormal(
        L.zeros(2), L.ones(2), L.ones(2))),
    ("low-rank scalar loc", lambda L, D: D.LowRankMultivariateNormal(
        L.tensor(0.0), L.ones(2, 1), L.ones(2))),
    ("low-rank diag of the wrong size", lambda L, D: D.LowRankMultivariateNormal(
        L.zeros(2), L.ones(2, 1), L.ones(3))),
    ("low-rank factor of the wrong size", lambda L, D: D.LowRankMultivariateNormal(
        L.zeros(2), L.ones(3, 1), L.ones(2))),
    ("low-rank batch shapes that do not broadcast", lambda L, D: D.LowRankMultivariateNormal(
        L.zeros(2), L.ones(3, 2, 1), L.ones(4, 2))),
    ("low-rank precision and scale_tril", lambda L, D: [
        (d.precision_matrix, d.scale_tril, d.variance) for d in [D.LowRankMultivariateNormal(
            L.zeros(2), L.tensor([[1.0], [0.5]]), L.tensor([1.0, 2.0]))]][0]),
    ("low-rank expanded", lambda L, D: repr(D.LowRankMultivariateNormal(
        L.zeros(2), L.ones(2, 1), L.ones(2)).expand((3,)))),
    ("kl continuous bernoulli", lambda L, D: D.kl_divergence(
        D.ContinuousBernoulli(L.tensor([0.3])), D.ContinuousBernoulli(L.tensor([0.6])))),
    ("kl one-hot", lambda L, D: D.kl_divergence(
        D.OneHotCategorical(L.tensor([0.3, 0.7])), D.OneHotCategorical(L.tensor([0.6, 0.4])))),
    ("kl mvn to low-rank", lambda L, D: D.kl_divergence(
        D.MultivariateNormal(L.zeros(2), L.eye(2)),
        D.LowRankMultivariateNormal(L.ones(2), L.ones(2, 1), L.ones(2)))),
    ("kl low-rank to mvn", lambda L, D: D.kl_divergence(
        D.LowRankMultivariateNormal(L.ones(2), L.ones(2, 1), L.ones(2)),
        D.MultivariateNormal(L.zeros(2), L.eye(2) * 2))),
    ("kl low-rank to low-rank", lambda L, D: D.kl_divergence(
        D.LowRankMultivariateNormal(L.ones(2), L.ones(2, 1), L.ones(2)),
        D.LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1) * 2, L.ones(2)))),
    ("kl mvn, broadcast batch", lambda L, D: D.kl_divergence(
        D.MultivariateNormal(L.zeros(3, 2), L.eye(2)),
        D.MultivariateNormal(L.ones(2), L.eye(2) * 3))),
    ("wishart from a precision", lambda L, D: D.Wishart(
        L.tensor(4.0), precision_matrix=L.tensor([[2.0, 0.5], [0.5, 1.0]])).mean),
    ("supports after expand", lambda L, D: [repr(d.support) for d in (
        D.Multinomial(2, probs=L.tensor([0.3, 0.7])).expand((2,)),
        D.Categorical(probs=L.tensor([0.3, 0.7])).expand((2,)),
        D.Binomial(L.tensor([3.0]), 0.3).expand((2, 1)))]),
]


def _outcome(lib, call):
    try:
        out = call(lib, lib.distributions)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc).replace("torch.distributions", "<pkg>")
    return "ok", out


def _compare(e, t):
    if isinstance(t, (list, tuple)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _compare(a, b)
    elif isinstance(t, torch.Tensor):
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-5, atol=1e-6, equal_nan=True)
    else:
        assert e == t


@pytest.mark.parametrize("what, call", CALLS, ids=[c[0] for c in CALLS])
def test_edges_and_errors_match_torch(what, call):
    t_kind, t_out = _outcome(torch, call)
    e_kind, e_out = _outcome(ember, call)
    assert e_kind == t_kind, (e_out, t_out)
    if t_kind == "ok":
        _compare(e_out, t_out)
    else:
        assert e_out.replace("ember.distributions", "<pkg>") == t_out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_logit_gradient_at_one_half(dtype):
    # d/dlogit of log_prob is k - n sigmoid(logit): at logit 0 that is k - n / 2 exactly
    for lib in (torch, ember):
        logit = lib.tensor([0.0, 0.0], dtype=getattr(lib, dtype), requires_grad=True)
        d = lib.distributions.Binomial(lib.tensor([4.0, 3.0], dtype=logit.dtype), logits=logit)
        (g,) = lib.autograd.grad(d.log_prob(lib.tensor([1.0, 3.0], dtype=logit.dtype)).sum(),
                                 [logit])
        np.testing.assert_allclose(_np(g), [1.0 - 2.0, 3.0 - 1.5], rtol=1e-6)


def test_repr_lists_the_parameters_computed_so_far_as_torch():
    # the repr lists the parameters present on the instance: the given one, then the derived
    # one once something (here log_prob) has computed it; a validation error raised before
    # that still shows only the given one
    reprs = {}
    for lib in (torch, ember):
        d = lib.distributions.Bernoulli(probs=lib.tensor([0.3]))
        before = repr(d)
        with pytest.raises(ValueError) as err:
            d.log_prob(lib.tensor([0.5]))
        d.log_prob(lib.tensor([1.0]))
        reprs[lib] = (before, str(err.value).split(" of the distribution ")[1], repr(d))
    assert reprs[ember] == reprs[torch]
