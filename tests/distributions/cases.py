"""The distributions the tests build in both libraries, from the same parameters.

Each case is ``(id, build, params)``: ``build(lib, p)`` makes the distribution with ``lib`` (torch
or ember) from ``p``, a dict of tensors made from ``params`` (NumPy arrays; floating ones get
``requires_grad`` when ``grad`` is asked for).
"""

import numpy as np

A = np.array


def _pos(*shape, low=0.5, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def _probs(*shape, seed=0):
    p = np.random.default_rng(seed).uniform(0.2, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def _spd(n, batch=(), seed=0):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def _tril(n, batch=(), seed=0):
    return np.linalg.cholesky(_spd(n, batch, seed))


D = "distributions"

CASES = [
    ("Normal", lambda lib, p: lib.distributions.Normal(p["loc"], p["scale"]),
     {"loc": A([[0.0, 1.0, -2.0], [0.5, 0.2, 3.0]]), "scale": _pos(2, 3)}),
    ("Normal-scalar", lambda lib, p: lib.distributions.Normal(p["loc"], 2.0),
     {"loc": A(0.3)}),
    ("Bernoulli-probs", lambda lib, p: lib.distributions.Bernoulli(probs=p["probs"]),
     {"probs": A([0.1, 0.5, 0.8])}),
    ("Bernoulli-logits", lambda lib, p: lib.distributions.Bernoulli(logits=p["logits"]),
     {"logits": A([-1.0, 0.0, 2.5])}),
    ("Categorical-probs", lambda lib, p: lib.distributions.Categorical(probs=p["probs"]),
     {"probs": _probs(2, 4)}),
    ("Categorical-logits", lambda lib, p: lib.distributions.Categorical(logits=p["logits"]),
     {"logits": A([[0.1, -1.0, 2.0], [0.0, 0.0, 0.0]])}),
    ("OneHotCategorical", lambda lib, p: lib.distributions.OneHotCategorical(probs=p["probs"]),
     {"probs": _probs(3, 4, seed=1)}),
    ("Uniform", lambda lib, p: lib.distributions.Uniform(p["low"], p["high"]),
     {"low": A([0.0, -1.0]), "high": A([1.0, 3.0])}),
    ("Beta", lambda lib, p: lib.distributions.Beta(p["a"], p["b"]),
     {"a": _pos(3, seed=2), "b": _pos(3, seed=3)}),
    ("Gamma", lambda lib, p: lib.distributions.Gamma(p["c"], p["r"]),
     {"c": _pos(3, seed=4), "r": _pos(3, seed=5)}),
    ("Exponential", lambda lib, p: lib.distributions.Exponential(p["r"]),
     {"r": _pos(4, seed=6)}),
    ("Laplace", lambda lib, p: lib.distributions.Laplace(p["loc"], p["scale"]),
     {"loc": A([0.0, 1.0]), "scale": _pos(2, seed=7)}),
    ("Poisson", lambda lib, p: lib.distributions.Poisson(p["rate"]),
     {"rate": _pos(3, low=0.5, high=4.0, seed=8)}),
    ("Binomial", lambda lib, p: lib.distributions.Binomial(10, probs=p["probs"]),
     {"probs": A([0.1, 0.5, 0.9])}),
    ("Binomial-logits", lambda lib, p: lib.distributions.Binomial(
        lib.tensor([3.0, 7.0], device=p["logits"].device), logits=p["logits"]), {"logits": A([-0.5, 1.5])}),
    ("MVN-scale_tril", lambda lib, p: lib.distributions.MultivariateNormal(
        p["loc"], scale_tril=p["L"]), {"loc": A([[0.0, 1.0, 2.0], [1.0, -1.0, 0.0]]),
                                       "L": _tril(3, (2,))}),
    ("MVN-covariance", lambda lib, p: lib.distributions.MultivariateNormal(
        p["loc"], covariance_matrix=p["S"]), {"loc": A([0.5, -0.5]), "S": _spd(2, seed=9)}),
    ("MVN-precision", lambda lib, p: lib.distributions.MultivariateNormal(
        p["loc"], precision_matrix=p["P"]), {"loc": A([0.5, -0.5, 1.0]), "P": _spd(3, seed=10)}),
    ("Independent", lambda lib, p: lib.distributions.Independent(
        lib.distributions.Normal(p["loc"], p["scale"]), 1),
     {"loc": A([[0.0, 1.0, -2.0], [0.5, 0.2, 3.0]]), "scale": _pos(2, 3, seed=11)}),
    ("Dirichlet", lambda lib, p: lib.distributions.Dirichlet(p["c"]),
     {"c": _pos(2, 3, seed=12)}),
    ("LogNormal", lambda lib, p: lib.distributions.LogNormal(p["loc"], p["scale"]),
     {"loc": A([0.0, 0.5]), "scale": _pos(2, low=0.3, high=1.0, seed=13)}),
    ("Transformed-exp-affine", lambda lib, p: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(p["loc"], p["scale"]),
        [lib.distributions.transforms.AffineTransform(1.0, 2.0),
         lib.distributions.transforms.ExpTransform()]),
     {"loc": A([0.0, 0.5]), "scale": _pos(2, low=0.3, high=1.0, seed=14)}),
    ("Transformed-sigmoid", lambda lib, p: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(p["loc"], p["scale"]),
        lib.distributions.transforms.SigmoidTransform()),
     {"loc": A([0.0, 0.5]), "scale": _pos(2, low=0.3, high=1.0, seed=15)}),
    ("Transformed-tanh", lambda lib, p: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(p["loc"], p["scale"]),
        lib.distributions.transforms.ComposeTransform([
            lib.distributions.transforms.TanhTransform(),
            lib.distributions.transforms.AffineTransform(0.0, 3.0)])),
     {"loc": A([0.0, 0.5]), "scale": _pos(2, low=0.3, high=1.0, seed=16)}),
    ("Cauchy", lambda lib, p: lib.distributions.Cauchy(p["loc"], p["scale"]),
     {"loc": A([0.0, 1.0]), "scale": _pos(2, seed=17)}),
    ("Gumbel", lambda lib, p: lib.distributions.Gumbel(p["loc"], p["scale"]),
     {"loc": A([0.0, 1.0]), "scale": _pos(2, seed=18)}),
    ("HalfNormal", lambda lib, p: lib.distributions.HalfNormal(p["scale"]),
     {"scale": _pos(3, seed=19)}),
    ("HalfCauchy", lambda lib, p: lib.distributions.HalfCauchy(p["scale"]),
     {"scale": _pos(3, seed=20)}),
    ("StudentT", lambda lib, p: lib.distributions.StudentT(p["df"], p["loc"], p["scale"]),
     {"df": _pos(2, low=3.0, high=6.0, seed=21), "loc": A([0.0, 1.0]), "scale": _pos(2, seed=22)}),
    ("Chi2", lambda lib, p: lib.distributions.Chi2(p["df"]),
     {"df": _pos(3, low=1.0, high=5.0, seed=23)}),
    ("Geometric", lambda lib, p: lib.distributions.Geometric(probs=p["probs"]),
     {"probs": A([0.2, 0.5, 0.9])}),
    ("Multinomial", lambda lib, p: lib.distributions.Multinomial(5, probs=p["probs"]),
     {"probs": _probs(2, 3, seed=24)}),
    ("NegativeBinomial", lambda lib, p: lib.distributions.NegativeBinomial(
        p["n"], probs=p["probs"]), {"n": A([2.0, 5.0]), "probs": A([0.3, 0.6])}),
    ("Pareto", lambda lib, p: lib.distributions.Pareto(p["scale"], p["alpha"]),
     {"scale": _pos(2, seed=25), "alpha": _pos(2, low=2.5, high=4.0, seed=26)}),
    ("Weibull", lambda lib, p: lib.distributions.Weibull(p["scale"], p["k"]),
     {"scale": _pos(2, seed=27), "k": _pos(2, seed=28)}),
    ("Kumaraswamy", lambda lib, p: lib.distributions.Kumaraswamy(p["a"], p["b"]),
     {"a": _pos(2, low=1.0, high=3.0, seed=29), "b": _pos(2, low=1.0, high=3.0, seed=30)}),
    ("InverseGamma", lambda lib, p: lib.distributions.InverseGamma(p["c"], p["r"]),
     {"c": _pos(2, low=3.0, high=5.0, seed=31), "r": _pos(2, seed=32)}),
    ("FisherSnedecor", lambda lib, p: lib.distributions.FisherSnedecor(p["d1"], p["d2"]),
     {"d1": _pos(2, low=3.0, high=6.0, seed=33), "d2": _pos(2, low=5.0, high=9.0, seed=34)}),
    ("ContinuousBernoulli", lambda lib, p: lib.distributions.ContinuousBernoulli(p["probs"]),
     {"probs": A([0.2, 0.5, 0.7])}),
    ("VonMises", lambda lib, p: lib.distributions.VonMises(p["loc"], p["k"]),
     {"loc": A([0.0, 1.0]), "k": _pos(2, seed=35)}),
    ("LowRankMVN", lambda lib, p: lib.distributions.LowRankMultivariateNormal(
        p["loc"], p["W"], p["d"]), {"loc": A([0.0, 1.0, 2.0]),
                                    "W": np.random.default_rng(36).normal(size=(3, 2)),
                                    "d": _pos(3, seed=37)}),
    ("MixtureSameFamily", lambda lib, p: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(logits=p["w"]),
        lib.distributions.Normal(p["loc"], p["scale"])),
     {"w": A([0.1, -0.3, 0.5]), "loc": A([-1.0, 0.0, 2.0]), "scale": _pos(3, seed=38)}),
    ("RelaxedBernoulli", lambda lib, p: lib.distributions.RelaxedBernoulli(
        lib.tensor(0.5, dtype=p["probs"].dtype, device=p["probs"].device), probs=p["probs"]), {"probs": A([0.2, 0.7])}),
    ("RelaxedOneHotCategorical", lambda lib, p: lib.distributions.RelaxedOneHotCategorical(
        lib.tensor(0.7, dtype=p["probs"].dtype, device=p["probs"].device), probs=p["probs"]), {"probs": _probs(2, 3, seed=39)}),
    ("LogisticNormal", lambda lib, p: lib.distributions.LogisticNormal(p["loc"], p["scale"]),
     {"loc": A([0.0, 0.5]), "scale": _pos(2, low=0.3, high=1.0, seed=40)}),
    ("GeneralizedPareto", lambda lib, p: lib.distributions.GeneralizedPareto(
        p["loc"], p["scale"], p["c"]), {"loc": A([0.0, 1.0]), "scale": _pos(2, seed=41),
                                        "c": A([0.1, 0.3])}),
    ("Wishart", lambda lib, p: lib.distributions.Wishart(lib.tensor(5.0, dtype=p["S"].dtype, device=p["S"].device),
                                                        covariance_matrix=p["S"]),
     {"S": _spd(2, seed=42)}),
    ("LKJCholesky", lambda lib, p: lib.distributions.LKJCholesky(3, p["c"]),
     {"c": A(1.5)}),
]
