"""torch.lobpcg: the extreme eigenpairs against torch's (values to its tolerance, vectors up to
sign), its checks, the generalized problem, batches and gradients."""

import numpy as np
import pytest

import ember


def _spd(lib, m=12, seed=0, batch=()):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(batch + (m, m))
    a = q @ np.swapaxes(q, -1, -2) + m * np.eye(m)
    return lib.tensor(a)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_eigenpairs_match_torch(torch, k, largest):
    e_vals, e_vecs = ember.lobpcg(_spd(ember), k=k, largest=largest)
    t_vals, t_vecs = torch.lobpcg(_spd(torch), k=k, largest=largest, tol=1e-12, niter=200)
    np.testing.assert_allclose(e_vals.numpy(), t_vals.numpy(), rtol=1e-8)
    # eigenvectors up to sign
    dots = np.abs(np.sum(e_vecs.numpy() * t_vecs.numpy(), axis=0))
    np.testing.assert_allclose(dots, 1.0, atol=1e-6)


def test_generalized_batched_and_x(torch):
    b = ember.eye(12, dtype=ember.float64) * 2
    vals = ember.lobpcg(_spd(ember), k=2, B=b)[0]
    expect = torch.lobpcg(_spd(torch), k=2, B=torch.eye(12, dtype=torch.float64) * 2,
                          tol=1e-12, niter=200)[0]
    np.testing.assert_allclose(vals.numpy(), expect.numpy(), rtol=1e-8)
    batched = ember.lobpcg(_spd(ember, batch=(2,)), k=2)[0]
    assert tuple(batched.shape) == (2, 2)
    x = ember.randn(12, 3, dtype=ember.float64)
    assert tuple(ember.lobpcg(_spd(ember), X=x)[0].shape) == (3,)  # k from X


def test_checks_as_torch(torch):
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"number of A rows \(=10\) is smaller than 3 x the "
                                             r"number of requested eigenpairs \(=4\)"):
            lib.lobpcg(lib.diag(lib.arange(1.0, 11.0)), k=4)
        with pytest.raises(ValueError, match=r"requested eigenpairs \(=5\)"):
            lib.lobpcg(lib.diag(lib.arange(1.0, 11.0)), k=2, n=5)
        with pytest.raises(AssertionError, match="A must be square"):
            lib.lobpcg(lib.ones(3, 4), k=1)


def test_gradient_of_the_largest_eigenvalue(torch):
    grads = []
    for lib in (ember, torch):
        a = lib.diag(lib.arange(1.0, 11.0, dtype=lib.float64)).requires_grad_()
        lib.lobpcg(a, k=1)[0].sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-5)
