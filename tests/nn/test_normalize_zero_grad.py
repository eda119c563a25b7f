"""Gradients of F.normalize, cosine_similarity and pairwise_distance at zero vectors and at
inf-norm ties match torch (they used to be NaN at zero, and one tie took the whole gradient)."""

import numpy as np
import pytest

import ember

ROWS = [[0.0, 0.0, 0.0], [1.0, -2.0, 2.0], [0.0, 3.0, -3.0]]
WEIGHT = [1.0, 2.0, 3.0]


def _grad(lib, fn):
    z = lib.tensor(ROWS, requires_grad=True)
    out = fn(lib, z)
    (g,) = lib.autograd.grad(out, z)
    return g.detach().numpy()


def _check(torch, fn):
    got, want = _grad(ember, fn), _grad(torch, fn)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("p", [2.0, 3.0, 0.5, 1.0, float("inf")])
def test_normalize_gradient_at_zero_rows(torch, p):
    _check(torch, lambda lib, z: (lib.nn.functional.normalize(z, p=p, dim=1)
                                  * lib.tensor(WEIGHT)).sum())


@pytest.mark.parametrize("p", [2.0, 3.0, 0.5, float("inf")])
def test_pairwise_distance_gradient_at_zero_difference(torch, p):
    _check(torch, lambda lib, z: lib.nn.functional.pairwise_distance(
        z, lib.zeros(3, 3), p=p, eps=0.0).sum())


def test_cosine_similarity_gradient_with_a_zero_vector(torch):
    _check(torch, lambda lib, z: lib.nn.functional.cosine_similarity(
        z, lib.tensor([[1.0, 2.0, 3.0]])).sum())


def test_normalize_values_unchanged(torch):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    for p in (1.0, 2.0, 3.0, float("inf")):
        np.testing.assert_allclose(
            ember.nn.functional.normalize(ember.tensor(x), p=p).numpy(),
            torch.nn.functional.normalize(torch.tensor(x), p=p).numpy(), rtol=1e-6)
