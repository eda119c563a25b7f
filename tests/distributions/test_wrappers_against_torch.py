"""The base class and the wrapping distributions (Independent, TransformedDistribution,
MixtureSameFamily) against torch: shapes and bases they derive, messages of the errors and
warnings they raise, reprs, and which draws their samples are made of."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def outcome(lib, fn):
    """What ``fn(lib)`` gives, in a form comparable across the libraries: a nested structure of
    reprs and arrays, or the exception type and message."""
    def norm(x):
        if isinstance(x, (lib.Tensor,)):
            return ("tensor", tuple(x.shape), str(x.dtype).split(".")[-1],
                    x.detach().double().numpy())
        if isinstance(x, (tuple, list)):
            return type(x).__name__, [norm(v) for v in x]
        return repr(x).replace("torch", "ember")
    try:
        return norm(fn(lib))
    except Exception as e:  # the type and message are the comparison
        return type(e).__name__, str(e).replace("torch", "ember")


def _match(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape
                and np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_match(x, y) for x, y in zip(a, b))
    return a == b


def same(fn):
    et, tt = outcome(ember, fn), outcome(torch, fn)
    assert _match(et, tt), (et, tt)


def D(lib):
    return lib.distributions


def T(lib):
    return lib.distributions.transforms


BASE = {
    "mode-missing": lambda lib: D(lib).Distribution().mode,
    "expand-missing": lambda lib: D(lib).Distribution().expand((2,)),
    "not-a-tensor": lambda lib: D(lib).Normal(lib.zeros(2), 1.0).log_prob([0.0]),
    "not-broadcastable": lambda lib: D(lib).Normal(lib.zeros(2, 3), 1.0).log_prob(lib.zeros(4)),
    "event-mismatch": lambda lib: D(lib).Dirichlet(lib.ones(2, 3)).log_prob(lib.ones(4, 2) / 2),
    "event-missing": lambda lib: D(lib).Dirichlet(lib.ones(2, 3)).log_prob(lib.ones(()) / 3),
    "outside-support": lambda lib: D(lib).Uniform(0.0, 1.0).log_prob(lib.tensor([2.0])),
    "bad-parameter": lambda lib: D(lib).Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, -1.0])),
    "extended-shape": lambda lib: tuple(D(lib).Normal(lib.zeros(2, 3), 1.0)._extended_shape([4])),
    "perplexity": lambda lib: D(lib).Normal(lib.zeros(2), 2.0).perplexity(),
    "stddev": lambda lib: D(lib).Exponential(lib.tensor([0.5, 4.0])).stddev,
}


@pytest.mark.parametrize("name", sorted(BASE))
def test_base_class_behaviour(name):
    same(BASE[name])


def test_subclass_with_own_init_must_define_expand():
    def fn(lib):
        class Shifted(D(lib).Normal):
            def __init__(self, loc):
                super().__init__(loc, 1.0)
        return Shifted(0.0).expand((2,))
    same(fn)


def test_warnings_of_the_base_class():
    def fn(lib):
        class NoSupport(D(lib).Distribution):
            arg_constraints = {}

            def log_prob(self, value):
                self._validate_sample(value)
                return value

        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            D(lib).Normal(0.0, 1.0).sample_n(3)
            NoSupport(validate_args=True).log_prob(lib.ones(2))
            D(lib).Distribution(validate_args=True)
        return [(w.category.__name__, str(w.message).split("'")[-1]) for w in seen]
    same(fn)


def _normal23(lib):
    return D(lib).Normal(lib.linspace(-1, 1, 6).reshape(2, 3), lib.ones(2, 3))


TRANSFORMED = {
    "exp": lambda lib: (_normal23(lib), T(lib).ExpTransform()),
    "none": lambda lib: (_normal23(lib), []),
    "stick": lambda lib: (_normal23(lib), T(lib).StickBreakingTransform()),
    "exp-stick": lambda lib: (_normal23(lib), [T(lib).ExpTransform(),
                                               T(lib).StickBreakingTransform()]),
    "indep-exp": lambda lib: (D(lib).Independent(_normal23(lib), 2), T(lib).ExpTransform()),
    "reshape-up": lambda lib: (_normal23(lib), T(lib).ReshapeTransform((3,), (3, 1))),
    "reshape-down": lambda lib: (D(lib).Independent(_normal23(lib), 2),
                                 T(lib).ReshapeTransform((2, 3), (6,))),
    "params-broadcast": lambda lib: (D(lib).Normal(lib.zeros(3), 1.0),
                                     T(lib).AffineTransform(0.5, lib.ones(2, 1) * 2)),
    "decreasing": lambda lib: (_normal23(lib), [T(lib).AffineTransform(1.0, -2.0),
                                                T(lib).ExpTransform()]),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMED))
def test_transformed_distribution_shapes_and_values(name):
    def fn(lib):
        base, ts = TRANSFORMED[name](lib)
        d = D(lib).TransformedDistribution(base, ts)
        lib.manual_seed(0)
        x = d.sample((2,))
        out = [d, tuple(d.batch_shape), tuple(d.event_shape), d.support, d.base_dist, x,
               d.log_prob(x)]
        e = d.expand((4,) + tuple(d.batch_shape))
        out += [tuple(e.batch_shape), e.base_dist, e.sample().shape]
        try:
            out += [d.cdf(x), d.icdf(lib.full(tuple(d.batch_shape), 0.3))]
        except NotImplementedError:
            out.append("no cdf")
        return out
    same(fn)


TRANSFORMED_ERRORS = {
    "not-a-transform": lambda lib: D(lib).TransformedDistribution(_normal23(lib), 3),
    "list-of-other": lambda lib: D(lib).TransformedDistribution(
        _normal23(lib), [T(lib).ExpTransform(), 3]),
    "too-few-dims": lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), T(lib).StickBreakingTransform()),
    "cdf-validates-base": lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0, validate_args=False), [T(lib).ExpTransform()],
        validate_args=True).cdf(lib.tensor(-1.0)),
    "log-prob-validates": lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), [T(lib).ExpTransform()]).log_prob(lib.tensor(-1.0)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMED_ERRORS))
def test_transformed_distribution_errors(name):
    same(TRANSFORMED_ERRORS[name])


INDEPENDENT = {
    "too-many": lambda lib: D(lib).Independent(_normal23(lib), 3),
    "basics": lambda lib: (lambda d: [d, tuple(d.batch_shape), tuple(d.event_shape), d.support,
                                      d.has_rsample, d.has_enumerate_support,
                                      d.log_prob(lib.zeros(3)), d.entropy(), d.mean])(
        D(lib).Independent(_normal23(lib), 1)),
    "zero-dims": lambda lib: (lambda d: [d.support, d.has_enumerate_support,
                                         d.enumerate_support(False)])(
        D(lib).Independent(D(lib).Bernoulli(lib.ones(2) * 0.3), 0)),
    "no-product-enumeration": lambda lib: D(lib).Independent(
        D(lib).Bernoulli(lib.ones(2) * 0.3), 1).enumerate_support(),
    "expand": lambda lib: (lambda e: [e, tuple(e.batch_shape), e.base_dist])(
        D(lib).Independent(_normal23(lib), 1).expand((4, 2))),
}


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_independent(name):
    same(INDEPENDENT[name])


def _mixture(lib, event=False):
    g = lib.Generator().manual_seed(1)
    comp = (D(lib).Independent(D(lib).Normal(lib.randn(4, 5, 2, generator=g), 1.0), 1) if event
            else D(lib).Normal(lib.randn(4, 5, generator=g), lib.rand(4, 5, generator=g) + 0.5))
    return D(lib).MixtureSameFamily(D(lib).Categorical(lib.rand(4, 5, generator=g)), comp)


MIXTURE = {
    "not-categorical": lambda lib: D(lib).MixtureSameFamily(
        D(lib).Bernoulli(lib.ones(5) * 0.5), _normal23(lib)),
    "not-distribution": lambda lib: D(lib).MixtureSameFamily(D(lib).Categorical(lib.ones(3)), 3),
    "count-mismatch": lambda lib: D(lib).MixtureSameFamily(
        D(lib).Categorical(lib.ones(2, 4)), _normal23(lib)),
    "batch-mismatch": lambda lib: D(lib).MixtureSameFamily(
        D(lib).Categorical(lib.ones(3, 3)), _normal23(lib)),
    "scalar-moments": lambda lib: (lambda m: [m, m.mean, m.variance, m.support,
                                              m.log_prob(lib.zeros(3, 4)),
                                              m.cdf(lib.zeros(4))])(_mixture(lib)),
    "vector-moments": lambda lib: (lambda m: [m, tuple(m.event_shape), m.mean, m.variance,
                                              m.log_prob(lib.zeros(3, 1, 2))])(
        _mixture(lib, event=True)),
    "expand": lambda lib: (lambda e: [e, tuple(e.batch_shape), e.mean])(
        _mixture(lib).expand((2, 4))),
    "sample": lambda lib: (lib.manual_seed(3), _mixture(lib, event=True).sample((3,)))[1],
    "sample-scalar": lambda lib: (lib.manual_seed(3), _mixture(lib).sample())[1],
}


@pytest.mark.parametrize("name", sorted(MIXTURE))
def test_mixture_same_family(name):
    same(MIXTURE[name])


@pytest.mark.parametrize("mix_batch", [(), (1,), (4,)])
def test_mixture_sample_with_a_broadcasting_mixture_batch(mix_batch):
    """A mixture batch shape that only broadcasts against the components' (torch 2.13 returns
    a wrongly shaped sample or raises here) picks one component per mixture entry: the
    sample is that component's draw, from the categorical's draws then the components'."""
    ember.manual_seed(0)
    comp = ember.distributions.Independent(
        ember.distributions.Normal(ember.randn(4, 5, 2), ember.rand(4, 5, 2) + 0.5), 1)
    mix = ember.distributions.Categorical(ember.rand(*mix_batch, 5))
    ember.manual_seed(1)
    got = ember.distributions.MixtureSameFamily(mix, comp).sample((3,))
    ember.manual_seed(1)
    which = mix.sample((3,)).reshape(3, -1).expand(3, 4)
    values = comp.sample((3,))
    want = values[ember.arange(3)[:, None], ember.arange(4)[None, :], which]
    assert tuple(got.shape) == (3, 4, 2)
    assert ember.equal(got, want)
