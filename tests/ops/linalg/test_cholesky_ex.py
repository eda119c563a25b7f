"""``linalg.cholesky_ex`` on batches with failed factorizations, compared with torch.

torch reports ``info`` per batch element, keeps the factor of every positive-definite element
and returns LAPACK's partial factor for a failed one (the failing pivot on the diagonal, the
columns not reached left as A's lower triangle); a NaN pivot counts as a failure.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = {
    "mixed_batch": [[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.5], [0.5, 1.0]], [[4.0, 2.0], [2.0, 1.0]]],
    "fails_at_3": [[4.0, 2.0, 1.0], [2.0, 5.0, 3.0], [1.0, 3.0, -9.0]],
    "fails_at_1": [[-1.0, 0.0], [0.0, 1.0]],
    "nan_first": [[float("nan"), 0.0], [0.0, 1.0]],
    "nan_below": [[1.0, 0.0], [float("nan"), 1.0]],
    "positive_definite": [[[2.0, 0.5], [0.5, 1.0]], [[3.0, 1.0], [1.0, 2.0]]],
}


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_cholesky_ex_matches_torch(name, upper):
    a = np.array(CASES[name], dtype=np.float64)
    want = torch.linalg.cholesky_ex(torch.from_numpy(a), upper=upper)
    got = ember.linalg.cholesky_ex(ember.from_numpy(a), upper=upper)
    assert got.info.dtype == ember.int32
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    np.testing.assert_allclose(got.L.numpy(), want.L.numpy(), rtol=1e-12, atol=1e-12)


def test_cholesky_ex_complex_failure_matches_torch():
    a = np.array([[2.0, 1j], [-1j, 0.25]], dtype=np.complex128)
    want = torch.linalg.cholesky_ex(torch.from_numpy(a))
    got = ember.linalg.cholesky_ex(ember.from_numpy(a))
    assert int(got.info) == int(want.info) == 2
    np.testing.assert_allclose(got.L.numpy(), want.L.numpy(), atol=1e-12)


def test_cholesky_ex_good_elements_stay_differentiable():
    a = np.array(CASES["mixed_batch"])
    t = torch.from_numpy(a).requires_grad_()
    e = ember.from_numpy(a).requires_grad_()
    torch.linalg.cholesky_ex(t).L[1].sum().backward()
    ember.linalg.cholesky_ex(e).L[1].sum().backward()
    np.testing.assert_allclose(e.grad.numpy()[1], t.grad.numpy()[1], atol=1e-12)


def test_cholesky_ex_check_errors_raises():
    bad = ember.tensor([[float("nan"), 0.0], [0.0, 1.0]])
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.cholesky_ex(bad, check_errors=True)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.cholesky_ex(-ember.eye(2), check_errors=True)
