"""Triangular solves beyond the op table: every combination of upper/left/unitriangular,
zeros on the diagonal, and the deprecated ``triangular_solve`` with its named-tuple result."""

import warnings

import numpy as np
import pytest

import ember


def test_triangular_solves_against_torch(torch):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((2, 4, 3))
    for upper in (True, False):
        for left in (True, False):
            for unit in (True, False):
                rhs = b if left else np.swapaxes(b, -1, -2)
                e = ember.linalg.solve_triangular(ember.tensor(a), ember.tensor(rhs),
                                                  upper=upper, left=left, unitriangular=unit)
                t = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(rhs),
                                                  upper=upper, left=left, unitriangular=unit)
                np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-10)
    sing = [[0.0, 1.0, 2.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]  # zeros on the diagonal
    for upper in (True, False):
        e = ember.linalg.solve_triangular(ember.tensor(sing), ember.ones(3, 2), upper=upper)
        t = torch.linalg.solve_triangular(torch.tensor(sing), torch.ones(3, 2), upper=upper)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    with pytest.warns(UserWarning, match="deprecated"):
        e = ember.triangular_solve(ember.tensor(b), ember.tensor(a[:1]), upper=False,
                                   transpose=True, unitriangular=True)
    with warnings.catch_warnings():  # torch warns once per process (TORCH_WARN_ONCE)
        warnings.simplefilter("ignore")
        t = torch.triangular_solve(torch.tensor(b), torch.tensor(a[:1]), upper=False,
                                   transpose=True, unitriangular=True)
    assert type(e).__name__ == "triangular_solve" and e.cloned_coefficient.shape == (2, 4, 4)
    np.testing.assert_allclose(e.solution.numpy(), t.solution.numpy(), rtol=1e-10)
    np.testing.assert_array_equal(e.cloned_coefficient.numpy(), t.cloned_coefficient.numpy())

