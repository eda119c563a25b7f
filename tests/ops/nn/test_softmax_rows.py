"""softmax / log_softmax over many short rows take a transposed max reduction (``_row_max``):
the same values as torch, including rows with NaN, -inf and +inf."""

import warnings

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("shape", [(64, 32, 32), (300, 40), (9000, 2)])
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
