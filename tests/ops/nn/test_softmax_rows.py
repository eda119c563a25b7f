"""softmax / log_softmax over many short rows take a transposed max reduction (``_row_max``,
rows under 64) and sum rows as a GEMV with ones (``_row_sum``): the same values and gradients
as torch, including rows with NaN, -inf and +inf."""

import warnings

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("shape", [(64, 32, 32), (300, 40), (9000, 2), (200, 64), (80, 128)])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_many_short_rows_matches_torch(torch, shape, fn):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    flat[3, 1] = np.nan
    flat[5, :] = -np.inf
    flat[7, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns of nothing here; neither may ember
        res = [getattr(lib.nn.functional, fn)(lib.from_numpy(x.copy()), dim=-1).numpy()
               for lib in (ember, torch)]
    np.testing.assert_allclose(res[0], res[1], rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("shape", [(64, 32, 32), (200, 64), (4, 3)])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_rows_gradients_match_torch(torch, shape, fn, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype) * 3
    g = rng.standard_normal(shape).astype(dtype)
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_()
        getattr(lib.nn.functional, fn)(t, dim=-1).backward(lib.from_numpy(g.copy()))
        grads.append(t.grad.numpy())
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(grads[0], grads[1], rtol=tol, atol=tol)
