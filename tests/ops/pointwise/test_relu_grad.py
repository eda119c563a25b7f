"""relu's gradient as PyTorch's threshold_backward: zero where the output is <= 0, the
incoming gradient elsewhere, NaN outputs included; small, large (threaded) and double
backward, through ember.relu and nn.functional.relu alike (one op)."""

import math

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("repeat", [1, 300_000])
@pytest.mark.parametrize("fn", ["relu", "functional"])
def test_relu_gradient_matches_torch_with_nan(torch, repeat, fn):
    vals = [math.nan, 1.0, -1.0, 0.0, -0.0, 2.5] * repeat
    res = []
    for lib in (ember, torch):
        x = lib.tensor(vals, requires_grad=True)
        y = lib.relu(x) if fn == "relu" else lib.nn.functional.relu(x)
        (y * lib.arange(len(vals), dtype=lib.float32)).sum().backward()
        res.append(x.grad.numpy())
    np.testing.assert_array_equal(res[0], res[1])


def test_relu_is_one_op_for_both_spellings():
    x = ember.ones(2, requires_grad=True)
    assert type(ember.relu(x).grad_fn) is type(ember.nn.functional.relu(x).grad_fn)
