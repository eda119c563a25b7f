"""Edges of the gamma-family, circular and matrix distributions that the shared cases do not
reach, each compared with PyTorch: moments at the parameter values where they stop being
finite, the generalised Pareto's shape near zero, VonMises draws, construction errors, and
the docstring examples of these classes."""

import doctest
import warnings

import numpy as np
import pytest

import ember
import ember.distributions as ed

torch = pytest.importorskip("torch")

CLASSES = ["Chi2", "Gamma", "Beta", "Dirichlet", "StudentT", "FisherSnedecor", "InverseGamma",
           "Kumaraswamy", "GeneralizedPareto", "VonMises", "LKJCholesky", "Wishart"]


def _both(make):
    return make(ember).numpy(), make(torch).numpy()


@pytest.mark.parametrize("name,make", [
    ("StudentT variance nan/inf/finite",
     lambda L: L.distributions.StudentT(L.tensor([0.5, 1.0, 1.5, 2.0, 3.0])).variance),
    ("StudentT mean", lambda L: L.distributions.StudentT(L.tensor([0.5, 1.0, 3.0]), 2.0).mean),
    ("FisherSnedecor mean", lambda L: L.distributions.FisherSnedecor(
        L.tensor([1.0, 3.0, 5.0]), L.tensor([1.0, 2.0, 6.0])).mean),
    ("FisherSnedecor mode", lambda L: L.distributions.FisherSnedecor(
        L.tensor([1.0, 2.0, 5.0]), L.tensor([1.0, 2.0, 6.0])).mode),
    ("FisherSnedecor variance", lambda L: L.distributions.FisherSnedecor(
        L.tensor([3.0, 3.0, 5.0]), L.tensor([3.0, 4.0, 6.0])).variance),
    ("InverseGamma mean", lambda L: L.distributions.InverseGamma(
        L.tensor([0.5, 1.0, 2.0]), 1.5).mean),
    ("InverseGamma variance", lambda L: L.distributions.InverseGamma(
        L.tensor([1.5, 2.0, 3.0]), 1.5).variance),
    ("Dirichlet mode, all below one", lambda L: L.distributions.Dirichlet(
        L.tensor([[0.5, 0.9, 0.3], [0.5, 2.0, 3.0]])).mode),
    ("Gamma mode below one", lambda L: L.distributions.Gamma(L.tensor([0.5, 3.0]), 2.0).mode),
    ("Kumaraswamy mode (NaN in PyTorch 2.13)", lambda L: L.distributions.Kumaraswamy(
        L.tensor([0.5, 2.0, 3.0]), L.tensor([2.0, 0.5, 3.0])).mode),
    ("GeneralizedPareto mean/variance", lambda L: L.stack([
        L.distributions.GeneralizedPareto(0.0, 1.0, L.tensor([-0.5, 0.3, 0.7, 1.2])).mean,
        L.distributions.GeneralizedPareto(0.0, 1.0, L.tensor([-0.5, 0.3, 0.7, 1.2])).variance])),
    ("Wishart mode", lambda L: L.distributions.Wishart(
        L.tensor([2.5, 4.0]), L.tensor([[2.0, 0.3], [0.3, 1.0]])).mode),
])
def test_moments_at_their_limits(name, make):
    got, want = _both(make)
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True, err_msg=name)


@pytest.mark.parametrize("xi", [1e-9, -1e-9, 1e-7, 0.0])
def test_generalized_pareto_shape_near_zero_takes_the_exponential_limit(xi):
    # PyTorch treats |xi| <= 1e-8 as zero; float32, as its float64 log_prob fails in 2.13
    def make(L):
        d = L.distributions.GeneralizedPareto(0.5, 2.0, L.tensor(xi), validate_args=False)
        x = L.tensor([0.5, 1.0, 7.0])
        return L.stack([d.log_prob(x), d.log_survival_function(x), d.cdf(x),
                        d.icdf(L.tensor([0.1, 0.5, 0.99]))])

    got, want = _both(make)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_von_mises_draws_match_torch_and_leave_the_stream_where_torch_does(dtype):
    def make(L):
        L.manual_seed(3)
        T = getattr(L, dtype)
        d = L.distributions.VonMises(L.tensor([0.0, 1.0, -2.0], dtype=T),
                                     L.tensor([0.01, 2.0, 50.0], dtype=T))
        return L.cat([d.sample((40,)).reshape(-1), L.rand(2, dtype=T)])

    got, want = _both(make)
    np.testing.assert_array_equal(got[-2:], want[-2:])  # the stream ends where torch's does
    # the angles pass through cos/acos, whose last bit follows the CPU (NumPy's AVX-512 and
    # AVX2 float64 paths round differently): within 4 ulps of pi
    eps = np.finfo(got.dtype).eps
    np.testing.assert_allclose(got, want, rtol=0, atol=4 * eps * np.pi)


def _error(make):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make()
    except Exception as exc:  # noqa: BLE001 - the type and message are what is compared
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("make", [
    lambda L: L.distributions.Dirichlet(L.tensor(1.0)),
    lambda L: L.distributions.LKJCholesky(1, 1.0),
    lambda L: L.distributions.Wishart(L.tensor(3.0)),
    lambda L: L.distributions.Wishart(L.tensor(3.0), L.eye(2), scale_tril=L.eye(2)),
    lambda L: L.distributions.Wishart(L.tensor(3.0), L.tensor([1.0])),
    # df is checked even without validation
    lambda L: L.distributions.Wishart(L.tensor(0.5), L.eye(2), validate_args=False),
    lambda L: L.distributions.Wishart(L.tensor([0.5, 3.0]), L.eye(2)),
])
def test_construction_errors_match_torch(make):
    got, want = _error(lambda: make(ember)), _error(lambda: make(torch))
    assert want is not None
    assert got == want


def test_wishart_expand_keeps_the_matrices_it_holds():
    for L in (ember, torch):
        d = L.distributions.Wishart(L.tensor(3.0), precision_matrix=L.tensor([[2.0, 0.3],
                                                                              [0.3, 1.0]]))
        assert tuple(d.scale_tril.shape) == (2, 2)  # now computed, so expand carries it
        e = d.expand((4,))
        assert tuple(e.batch_shape) == (4,) and tuple(e.df.shape) == (4,)
        assert {"scale_tril", "precision_matrix"} <= set(vars(e))
        assert tuple(e.scale_tril.shape) == (4, 2, 2)


@pytest.mark.parametrize("name", CLASSES)
def test_docstring_example_prints_what_it_says(name):
    globs = {"ember": ember, **{n: getattr(ed, n) for n in ed.__all__}}
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(getattr(ed, name), globs=globs)
             if t.examples]
    assert tests, "no example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    lines = []
    for t in tests:
        runner.run(t, out=lines.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(lines)
