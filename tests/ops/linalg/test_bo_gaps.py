"""Gaps found by the black-box-optimisation programs (tests/programs/bo_*), compared with
PyTorch: ``linalg.cholesky_ex(check_errors=True)`` named ``linalg.cholesky`` (and dropped the
failing minor for a NaN pivot) in its error, and ``cholesky_inverse`` of a factor with a zero
on its diagonal returned inf/nan where PyTorch raises ``LinAlgError``."""

import math

import pytest

import ember

torch = pytest.importorskip("torch")

NOT_PD = [[1.0, 2.0], [2.0, 1.0]]


def _error(lib, fn):
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("case", [
    lambda lib: lib.linalg.cholesky_ex(lib.tensor(NOT_PD), check_errors=True),
    lambda lib: lib.linalg.cholesky_ex(lib.tensor(NOT_PD), upper=True, check_errors=True),
    lambda lib: lib.linalg.cholesky_ex(lib.stack([lib.eye(2), lib.tensor(NOT_PD)]),
                                       check_errors=True),
    lambda lib: lib.linalg.cholesky_ex(lib.full((2, 2), math.nan), check_errors=True),
    lambda lib: lib.linalg.cholesky_ex(lib.tensor([[4.0, 0.0], [0.0, math.nan]]),
                                       check_errors=True),
])
def test_cholesky_ex_check_errors_message(case):
    assert _error(ember, case) == _error(torch, case)


def test_cholesky_ex_without_check_errors_still_reports_info():
    for lib in (ember, torch):
        L, info = lib.linalg.cholesky_ex(lib.stack([lib.eye(2), lib.tensor(NOT_PD)]))
        assert info.tolist() == [0, 2]


@pytest.mark.parametrize("case", [
    lambda lib: lib.cholesky_inverse(lib.tensor([[0.0, 0.0], [1.0, 1.0]])),
    lambda lib: lib.cholesky_inverse(lib.tensor([[1.0, 1.0], [0.0, 0.0]]), upper=True),
    lambda lib: lib.cholesky_inverse(lib.stack([lib.eye(2), lib.tensor([[1.0, 0.0],
                                                                        [1.0, 0.0]])])),
    lambda lib: lib.cholesky_inverse(lib.zeros(2, 3, 2, 2, dtype=lib.float64)),
    lambda lib: lib.cholesky_inverse(lib.zeros(2, 2, requires_grad=True)),
])
def test_cholesky_inverse_zero_diagonal_raises(case):
    kind, msg = _error(torch, case)
    assert _error(ember, case) == (kind, msg)
    assert isinstance(pytest.raises(ember.linalg.LinAlgError, case, ember).value, RuntimeError)


def test_cholesky_inverse_regular_factor_unchanged():
    L = [[2.0, 0.0], [0.5, -1.0]]  # a negative (nonzero) diagonal still inverts
    got = ember.cholesky_inverse(ember.tensor(L)).numpy()
    want = torch.cholesky_inverse(torch.tensor(L)).numpy()
    assert abs(got - want).max() < 1e-6
