"""Gaps found by the black-box-optimisation programs (tests/programs/bo_*), compared with
PyTorch: a distribution that validates its arguments (the default) could not be used inside
``vmap`` at all, since its support and parameter checks asked ``bool()`` of a batched tensor;
PyTorch lets valid values through (an acquisition function like Expected Improvement written
with ``Normal.cdf`` and vmapped over candidates) and refuses only invalid ones."""

import math

import pytest

import ember

torch = pytest.importorskip("torch")

CASES = {
    "normal_cdf": lambda lib, v: lib.distributions.Normal(0.0, 1.0).cdf(v),
    "normal_log_prob_batched_loc": lambda lib, v: lib.distributions.Normal(v, 1.0).log_prob(
        lib.tensor(0.0)),
    "normal_batched_scale": lambda lib, v: lib.distributions.Normal(0.0, v + 1).cdf(
        lib.tensor(0.5)),
    "beta_log_prob": lambda lib, v: lib.distributions.Beta(2.0, 2.0).log_prob(v),
    "bernoulli": lambda lib, v: lib.distributions.Bernoulli(probs=v).log_prob(lib.tensor(1.0)),
    "mvn_loc": lambda lib, v: lib.distributions.MultivariateNormal(
        lib.stack([v, v]), scale_tril=lib.eye(2)).log_prob(lib.zeros(2)),
    "categorical": lambda lib, v: lib.distributions.Categorical(
        probs=lib.stack([v, 1 - v])).log_prob(lib.tensor(0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_validated_distribution_inside_vmap(name):
    fn = CASES[name]
    got = ember.vmap(lambda v: fn(ember, v))(ember.tensor([0.3, 0.6]))
    want = torch.vmap(lambda v: fn(torch, v))(torch.tensor([0.3, 0.6]))
    assert got.tolist() == pytest.approx(want.tolist(), rel=1e-6, abs=1e-7)


def test_vmapped_expected_improvement_gradient():
    def ei(lib, x):
        normal = lib.distributions.Normal(0.0, 1.0)
        u = (0.2 - x) / 0.5
        return (0.5 * (normal.log_prob(u).exp() + u * normal.cdf(u))).sum()

    xs = [[0.0, 0.4], [1.0, -0.3]]
    got = ember.vmap(ember.func.grad(lambda x: ei(ember, x)))(ember.tensor(xs))
    want = torch.vmap(torch.func.grad(lambda x: ei(torch, x)))(torch.tensor(xs))
    assert got.flatten().tolist() == pytest.approx(want.flatten().tolist(), rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda lib: lib.vmap(lambda u: lib.distributions.Normal(0.0, 1.0).log_prob(u))(
        lib.tensor([0.0, math.nan])),
    lambda lib: lib.vmap(lambda u: lib.distributions.Beta(2.0, 2.0).log_prob(u))(
        lib.tensor([0.5, 2.0])),
    lambda lib: lib.vmap(lambda s: lib.distributions.Normal(0.0, s).cdf(lib.tensor(0.0)))(
        lib.tensor([1.0, -1.0])),
])
def test_invalid_value_inside_vmap_is_refused_like_torch(make):
    errors = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            make(lib)
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]


def test_validation_outside_vmap_still_raises():
    with pytest.raises(ValueError, match="support"):
        ember.distributions.Normal(0.0, 1.0).log_prob(ember.tensor([math.nan]))
    with pytest.raises(ValueError, match="constraint"):
        ember.distributions.Normal(0.0, ember.tensor([-1.0]))
