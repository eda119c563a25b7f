"""The Cholesky solves behind MultivariateNormal.precision_matrix and Wishart against
torch.cholesky_solve / torch.cholesky_inverse, batched, with gradients."""

import numpy as np
import pytest

import ember
from ember.distributions._cholesky import cholesky_inverse, cholesky_solve

torch = pytest.importorskip("torch")


def _factors():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(2, 3, 3))
    return np.linalg.cholesky(m @ m.transpose(0, 2, 1) + 3 * np.eye(3)), rng.normal(size=(2, 3, 2))


def test_cholesky_solve_and_inverse_match_torch_with_gradients():
    L, b = _factors()
    tl, tb = torch.tensor(L, requires_grad=True), torch.tensor(b, requires_grad=True)
    el, eb = ember.tensor(L, requires_grad=True), ember.tensor(b, requires_grad=True)
    t_out = torch.cholesky_solve(tb, tl).sin().sum() + torch.cholesky_inverse(tl).cos().sum()
    e_out = cholesky_solve(eb, el).sin().sum() + cholesky_inverse(el).cos().sum()
    np.testing.assert_allclose(e_out.item(), t_out.item(), rtol=1e-12)
    tg = torch.autograd.grad(t_out, [tl, tb])
    eg = ember.autograd.grad(e_out, [el, eb])
    # torch's gradient for L is not restricted to the lower triangle; compare that part
    np.testing.assert_allclose(np.tril(eg[0].numpy()), np.tril(tg[0].numpy()), atol=1e-10)
    np.testing.assert_allclose(eg[1].numpy(), tg[1].numpy(), atol=1e-10)
