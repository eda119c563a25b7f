"""Gamma-family, Poisson and binomial samples follow PyTorch's random stream: same seed,
same numbers.

Standard gamma, Poisson and binomial draws used NumPy's generator (other numbers than
PyTorch's, and torch's stream left where it was). They now replay PyTorch's CPU samplers on its
MT19937 stream; Gamma, Chi2, InverseGamma, FisherSnedecor, Dirichlet and Beta (both dtypes),
Poisson, binomial and NegativeBinomial are bit-exact (test_dirichlet_stream.py has the exact
Dirichlet/Beta checks), float32 StudentT agrees to an ulp or two (torch's float32 normal
blocks), and the stream continues where torch's does.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

EXACT = {
    "gamma32": lambda L: L.distributions.Gamma(L.tensor([0.3, 2.0, 7.5]),
                                               L.tensor([1.0, 2.0, 0.5])).sample((300,)),
    "gamma64": lambda L: L.distributions.Gamma(L.tensor([0.3, 2.0, 7.5], dtype=L.float64),
                                               1.5).sample((300,)),
    "gamma_tiny_alpha": lambda L: L.distributions.Gamma(L.tensor([0.001, 0.05]),
                                                        1.0).sample((50,)),
    "gamma_rsample": lambda L: L.distributions.Gamma(L.tensor([0.8, 3.0]),
                                                     L.tensor(2.0)).rsample((200,)),
    "dirichlet64": lambda L: L.distributions.Dirichlet(
        L.tensor([0.5, 2.0, 1.2], dtype=L.float64)).sample((200,)),
    "chi2": lambda L: L.distributions.Chi2(L.tensor([1.0, 4.0])).sample((200,)),
    "inverse_gamma": lambda L: L.distributions.InverseGamma(L.tensor([2.0]),
                                                            L.tensor([1.0])).sample((100,)),
    "fisher": lambda L: L.distributions.FisherSnedecor(L.tensor([3.0]),
                                                       L.tensor([5.0])).sample((100,)),
    # rates below 10 (product of uniforms), from 10 on (transformed rejection), and zero
    "poisson": lambda L: L.poisson(L.tensor([0.0, 0.5, 3.0, 9.99, 10.0, 55.5, 1e3] * 20)),
    "poisson64": lambda L: L.distributions.Poisson(
        L.tensor([2.0, 30.0], dtype=L.float64)).sample((100,)),
    # inversion below n min(p, q) = 10, BTRS from there on, p > 1/2 through q = 1 - p
    "binomial": lambda L: L.binomial(L.tensor([20.0, 20.0, 5.0, 100.0, 100.0, 1000.0, 0.0] * 20),
                                     L.tensor([0.3, 0.7, 0.9, 0.2, 0.8, 0.05, 0.5] * 20)),
    "binomial_dist64": lambda L: L.distributions.Binomial(
        L.tensor([10.0, 60.0], dtype=L.float64),
        L.tensor([0.4, 0.6], dtype=L.float64)).sample((100,)),
    "negative_binomial": lambda L: L.distributions.NegativeBinomial(
        L.tensor([3.0, 20.0]), probs=L.tensor([0.3, 0.6])).sample((100,)),
}
CLOSE = {
    "dirichlet32": lambda L: L.distributions.Dirichlet(L.tensor([0.5, 2.0, 1.2])).sample((200,)),
    "beta": lambda L: L.distributions.Beta(L.tensor([0.5, 2.0]),
                                           L.tensor([3.0, 0.7])).sample((200,)),
    "student_t": lambda L: L.distributions.StudentT(L.tensor([1.5, 6.0])).sample((200,)),
}


def _draw(L, fn):
    L.manual_seed(0)
    sample = fn(L)
    return sample.detach().double().numpy(), L.rand(4).numpy()


@pytest.mark.parametrize("name", sorted(EXACT))
def test_gamma_family_samples_bit_exact(name):
    want, want_after = _draw(torch, EXACT[name])
    got, got_after = _draw(ember, EXACT[name])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_after, want_after)   # the stream continues alike


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_gamma_family_samples_within_an_ulp_or_two(name):
    want, want_after = _draw(torch, CLOSE[name])
    got, got_after = _draw(ember, CLOSE[name])
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=1e-30)
    np.testing.assert_array_equal(got_after, want_after)


def test_standard_gamma_shares_the_normal_cache_with_randn():
    # an odd number of small randn draws leaves a cached Box-Muller value the sampler uses
    outs = []
    for L in (torch, ember):
        L.manual_seed(3)
        a = L.randn(3)
        g = L.distributions.Gamma(L.tensor([2.0, 0.4]), 1.0).sample((5,))
        outs.append((a.numpy(), g.numpy(), L.randn(1).numpy()))
    for w, g in zip(*outs):
        np.testing.assert_array_equal(g, w)
