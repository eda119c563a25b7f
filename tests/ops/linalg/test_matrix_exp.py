"""matrix_exp beyond the op table: tiny to large norms (both branches of scaling and
squaring), empty and batched matrices, an exact nilpotent case, and second derivatives."""

import numpy as np

import ember


def test_matrix_exp_against_torch(torch):
    rng = np.random.default_rng(5)
    for scale, shape in [(0.01, (3, 3)), (1.0, (2, 4, 4)), (30.0, (3, 3)), (300.0, (2, 2)),
                         (1.0, (0, 0)), (2.0, (1, 1)), (1.0, (3, 0, 0))]:
        a = rng.standard_normal(shape) * scale
        for dt in ["float32", "float64"] if scale < 100 else ["float64"]:
            e = ember.matrix_exp(ember.tensor(a, dtype=getattr(ember, dt)))
            t = torch.matrix_exp(torch.tensor(a, dtype=getattr(torch, dt)))
            assert e.shape == t.shape and str(e.dtype) == str(t.dtype)
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=2e-4 if dt == "float32"
                                       else 1e-10, atol=1e-12)
    nil = ember.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]], dtype=ember.float64)
    np.testing.assert_allclose(ember.matrix_exp(nil).numpy(),  # I + N + N^2/2 exactly
                               [[1, 1, 3.5], [0, 1, 3], [0, 0, 1]], rtol=1e-14)


def test_matrix_exp_second_order(torch):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 3))
    res = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad=True)
        (g,) = L.autograd.grad(L.matrix_exp(x).sin().sum(), [x], create_graph=True)
        (h,) = L.autograd.grad((g * g).sum(), [x])
        res.append((g.detach().numpy(), h.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-12)

