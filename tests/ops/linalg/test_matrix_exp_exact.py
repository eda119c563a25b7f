"""``matrix_exp`` of a zero matrix is exactly the identity, as PyTorch's (its Taylor step is
``I + A``); ember's Pade approximant divided by a 6.5e16 pivot and gave 1 - 2**-53, so
``print(matrix_exp(zeros))`` showed ``1.0000`` where PyTorch shows ``1.``."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 4, 4)])
def test_exp_of_zero_is_the_identity(dtype, shape):
    got = ember.linalg.matrix_exp(ember.zeros(shape, dtype=getattr(ember, dtype)))
    want = torch.linalg.matrix_exp(torch.zeros(shape, dtype=getattr(torch, dtype)))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert repr(got) == repr(want)
