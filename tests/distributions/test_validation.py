"""Argument and sample validation: the same exception types and messages as torch, switched off
by validate_args=False or Distribution.set_default_validate_args(False); the base class's API."""

import warnings

import pytest

import ember
import ember.distributions as ed

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _torch_validates():
    # torch.compile (torch._dynamo) turns torch's argument validation off for the whole
    # process; another test in the same worker may have compiled something
    was = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(was)

# (description, call(lib, dist_module)) pairs; each raises the same error in both libraries
BAD = [
    ("negative scale", lambda lib, d: d.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, -1.0]))),
    ("probs above 1", lambda lib, d: d.Bernoulli(probs=lib.tensor([0.2, 1.5]))),
    ("probs and logits", lambda lib, d: d.Bernoulli(probs=lib.tensor(0.5),
                                                    logits=lib.tensor(0.0))),
    ("neither probs nor logits", lambda lib, d: d.Categorical()),
    ("categorical probs not a simplex row", lambda lib, d: d.Categorical(
        probs=lib.tensor([-0.1, 1.1]))),
    ("categorical scalar probs", lambda lib, d: d.Categorical(probs=lib.tensor(0.3))),
    ("uniform low >= high", lambda lib, d: d.Uniform(lib.tensor(1.0), lib.tensor(0.0))),
    ("gamma nonpositive concentration", lambda lib, d: d.Gamma(lib.tensor(0.0),
                                                               lib.tensor(1.0))),
    ("dirichlet scalar", lambda lib, d: d.Dirichlet(lib.tensor(1.0))),
    ("mvn scale_tril not lower", lambda lib, d: d.MultivariateNormal(
        lib.zeros(2), scale_tril=lib.tensor([[1.0, 2.0], [0.0, 1.0]]))),
    ("mvn two matrices", lambda lib, d: d.MultivariateNormal(
        lib.zeros(2), covariance_matrix=lib.eye(2), scale_tril=lib.eye(2))),
    ("mvn no matrix", lambda lib, d: d.MultivariateNormal(lib.zeros(2))),
    ("mvn scalar loc", lambda lib, d: d.MultivariateNormal(lib.tensor(0.0),
                                                           covariance_matrix=lib.eye(2))),
    ("mvn covariance not positive definite", lambda lib, d: d.MultivariateNormal(
        lib.zeros(2), covariance_matrix=lib.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ("independent too many dims", lambda lib, d: d.Independent(d.Normal(lib.zeros(2), 1.0), 2)),
    ("broadcast_all of a string", lambda lib, d: d.Normal("a", 1.0)),
    ("log_prob of a list", lambda lib, d: d.Normal(0.0, 1.0).log_prob([0.0])),
    ("log_prob of a bad shape", lambda lib, d: d.Normal(lib.zeros(2), 1.0).log_prob(
        lib.zeros(3))),
    ("log_prob outside the support", lambda lib, d: d.Exponential(lib.tensor([1.0])).log_prob(
        lib.tensor([-1.0]))),
    ("categorical log_prob out of range", lambda lib, d: d.Categorical(
        probs=lib.tensor([0.5, 0.5])).log_prob(lib.tensor(2))),
    ("bernoulli log_prob of 0.5", lambda lib, d: d.Bernoulli(lib.tensor(0.3)).log_prob(
        lib.tensor(0.5))),
    ("event shape mismatch", lambda lib, d: d.MultivariateNormal(
        lib.zeros(2), lib.eye(2)).log_prob(lib.zeros(3))),
    ("enumerate continuous", lambda lib, d: d.Normal(0.0, 1.0).enumerate_support()),
    ("rsample of discrete", lambda lib, d: d.Poisson(lib.tensor(1.0)).rsample()),
    ("kl of an unregistered pair", lambda lib, d: d.kl_divergence(
        d.Normal(0.0, 1.0), d.Categorical(logits=lib.zeros(2)))),
    ("register_kl of non-classes", lambda lib, d: d.register_kl(1, 2)),
    ("transform of a distribution list item", lambda lib, d: d.TransformedDistribution(
        d.Normal(0.0, 1.0), [1])),
]


def _error(fn, lib, module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(lib, module)
        except Exception as exc:  # noqa: BLE001 - the point is to compare whatever is raised
            return exc
    return None


@pytest.mark.parametrize("what, fn", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_what_torch_raises(what, fn):
    expected = _error(fn, torch, torch.distributions)
    got = _error(fn, ember, ed)
    assert expected is not None, f"torch accepts: {what}"
    assert got is not None, f"ember accepts: {what} (torch raises {expected!r})"
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, (ValueError, NotImplementedError)):
        assert str(got) == str(expected)


def test_validate_args_false_skips_the_checks():
    d = ed.Normal(ember.tensor(0.0), ember.tensor(-1.0), validate_args=False)
    assert d.log_prob(ember.tensor(0.0)).isnan().item()
    e = ed.Exponential(ember.tensor(1.0), validate_args=False)
    assert e.log_prob(ember.tensor(-1.0)).item() == 1.0  # log(rate) - rate * value


def test_set_default_validate_args():
    assert ed.Distribution._validate_args is True
    try:
        ed.Distribution.set_default_validate_args(False)
        ed.Normal(ember.tensor(0.0), ember.tensor(-1.0))  # no error
    finally:
        ed.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ed.Normal(ember.tensor(0.0), ember.tensor(-1.0))
    with pytest.raises(ValueError, match="True or False"):
        ed.Distribution.set_default_validate_args(3)


def test_base_class_api():
    d = ed.Normal(ember.zeros(2), ember.ones(2))
    assert d.batch_shape == ember.Size([2]) and d.event_shape == ember.Size([])
    assert isinstance(d.batch_shape, ember.Size)
    assert d._extended_shape((3,)) == ember.Size([3, 2])
    assert ember.allclose(d.perplexity(), d.entropy().exp())
    with pytest.warns(FutureWarning, match="sample_n"):
        assert d.sample_n(4).shape == (4, 2)
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        _ = ed.Distribution(validate_args=False).mode
    for name in ("mean", "variance"):
        with pytest.raises(NotImplementedError):
            getattr(ed.Distribution(validate_args=False), name)


def test_a_subclass_without_arg_constraints_warns_like_torch():
    class Plain(ed.Distribution):
        pass

    with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
        Plain(validate_args=True)


def test_torch_paths():
    import ember.distributions.constraints as constraints
    import ember.distributions.kl as kl
    import ember.distributions.normal as normal
    import ember.distributions.transforms as transforms

    assert ed.Normal is normal.Normal and kl.kl_divergence is ed.kl_divergence
    assert isinstance(ed.Normal(0.0, 1.0).support, constraints.Constraint)
    assert transforms.ExpTransform is ed.ExpTransform
    assert ember.distributions is ed
