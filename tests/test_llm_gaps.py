"""Gaps found while writing the language-model recipe programs (tests/programs/llm_*.py),
each checked against PyTorch: grouped-query attention in ``scaled_dot_product_attention``
repeats key and value heads independently and refuses head counts that do not divide the
query's."""

import numpy as np
import pytest
import torch

import ember


def _sdpa(lib, shapes, enable_gqa=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
    try:
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                             enable_gqa=enable_gqa)
    except RuntimeError as e:
        return type(e).__name__, str(e)
    out.pow(2).sum().backward()
    return [t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)]


@pytest.mark.parametrize("shapes", [
    ((1, 4, 3, 8), (1, 2, 3, 8), (1, 1, 3, 8)),      # key and value with different head counts
    ((1, 4, 3, 8), (1, 4, 3, 8), (1, 2, 3, 8)),
    ((2, 6, 3, 8), (2, 3, 3, 8), (2, 2, 3, 8)),
    ((1, 4, 3, 8), (1, 2, 3, 8), (1, 2, 3, 8)),
])
def test_sdpa_gqa_repeats_key_and_value_heads_independently(shapes):
    mine, theirs = _sdpa(ember, shapes), _sdpa(torch, shapes)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shapes", [
    ((1, 3, 3, 8), (1, 2, 3, 8), (1, 2, 3, 8)),
    ((1, 4, 3, 8), (1, 2, 3, 8), (1, 3, 3, 8)),
    ((1, 4, 3, 8), (1, 3, 3, 8), (1, 2, 3, 8)),
])
def test_sdpa_gqa_head_counts_must_divide(shapes):
    mine, theirs = _sdpa(ember, shapes), _sdpa(torch, shapes)
    assert theirs[0] == "RuntimeError"
    assert mine == theirs


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_logsigmoid_of_large_input_is_positive_zero(dtype):
    # min(x, 0) - log1p(exp(-|x|)): +0.0 where the log term vanishes, so that a printed
    # DPO loss -logsigmoid(margin) shows torch's -0.0000 rather than 0.0000
    values = [-200.0, -0.0, 0.0, 200.0, 1e-3, float("nan"), float("inf"), float("-inf"),
              30.0, 90.0, 20.0, 800.0]
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(values, dtype=getattr(lib, dtype))
        outs.append(lib.nn.functional.logsigmoid(x).float().numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    real = ~np.isnan(outs[1])                 # a NaN's sign bit is not part of the contract
    np.testing.assert_array_equal(np.signbit(outs[0][real]), np.signbit(outs[1][real]))
    assert f"{-outs[0][-1]:.4f}" == f"{-outs[1][-1]:.4f}" == "-0.0000"
