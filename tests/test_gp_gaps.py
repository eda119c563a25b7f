"""Gaps found while writing the Gaussian-process programs (tests/programs/gp_*.py), each checked
against PyTorch: ``linalg.cholesky(upper=True)`` reads the upper triangle and returns ``L^H``
(conjugated for complex input), and a NaN pivot fails the factorization with PyTorch's error
instead of returning NaNs."""

import warnings

import numpy as np
import pytest
import torch

import ember

NAN = float("nan")


def _cholesky(lib, A, upper, ex=False):
    try:
        if ex:
            L, info = lib.linalg.cholesky_ex(lib.tensor(A), upper=upper)
            return np.round(L.numpy(), 10).tolist(), int(info)
        return np.round(lib.linalg.cholesky(lib.tensor(A), upper=upper).numpy(), 10).tolist()
    except RuntimeError as e:
        return type(e).__name__, str(e)


# a positive-definite diagonal under a triangle that differs from the other one
NON_SYMMETRIC = [[[4.0, 2.0], [0.0, 5.0]], [[4.0, 0.0], [2.0, 5.0]]]


@pytest.mark.parametrize("A", NON_SYMMETRIC)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("ex", [False, True])
def test_cholesky_reads_the_requested_triangle(A, upper, ex):
    assert _cholesky(ember, A, upper, ex) == _cholesky(torch, A, upper, ex)


def test_cholesky_upper_of_complex_input_is_the_conjugate_transpose():
    A = np.array([[4.0, 1 - 2j], [1 + 2j, 6.0]])
    got = ember.linalg.cholesky(ember.tensor(A), upper=True).numpy()
    want = torch.linalg.cholesky(torch.tensor(A), upper=True).numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_cholesky_upper_gradient_of_a_non_symmetric_input_matches():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    A = a @ a.T + 3 * np.eye(3)
    A[0, 2] += 0.5
    weights = rng.normal(size=(3, 3))
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(A, requires_grad=True)
        (lib.linalg.cholesky(t, upper=True) * lib.tensor(weights)).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-10)


NAN_MATRICES = [
    [[NAN, 0.0], [0.0, 1.0]],   # NaN first pivot
    [[1.0, NAN], [NAN, 1.0]],   # NaN reaches the second pivot
    [[1.0, 0.0], [0.0, NAN]],   # NaN last pivot
    [[1.0, NAN], [0.0, 1.0]],   # NaN only in the upper triangle
    [[1.0, 0.0], [NAN, 1.0]],   # NaN only in the lower triangle
]


@pytest.mark.parametrize("A", NAN_MATRICES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_of_nan_input_raises_like_torch(A, upper):
    assert _cholesky(ember, A, upper) == _cholesky(torch, A, upper)


@pytest.mark.parametrize("A", NAN_MATRICES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_of_nan_input_reports_info_like_torch(A, upper):
    assert str(_cholesky(ember, A, upper, ex=True)) == str(_cholesky(torch, A, upper, ex=True))


def test_batched_nan_cholesky_names_the_batch_element():
    batch = [np.eye(2).tolist(), [[1.0, 0.0], [0.0, NAN]]]
    assert _cholesky(ember, batch, False) == _cholesky(torch, batch, False)


@pytest.mark.parametrize("call", ["function", "method"])
def test_legacy_cholesky_warning_points_at_the_callers_line(call):
    def filename(lib):
        previous = lib.is_warn_always_enabled()
        lib.set_warn_always(True)  # TORCH_WARN_ONCE warns every time: each lib warns here
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                A = lib.eye(2)
                lib.cholesky(A) if call == "function" else A.cholesky()
        finally:
            lib.set_warn_always(previous)
        return [w.filename for w in caught if "deprecated" in str(w.message)]

    assert filename(torch) == [__file__]
    assert filename(ember) == [__file__]
