"""Fused attention adds a mask shared by every batch (the causal one, a 2-D ``attn_mask``) in
the score buffer's own memory order, and a per-batch mask through the transposed view: both
ways must give the same bits, and torch's values."""

import numpy as np
import pytest

import ember

F = ember.nn.functional


def _run(lib, q, k, v, **kw):
    ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = lib.nn.functional.scaled_dot_product_attention(*ts, **kw)
    y.backward(lib.ones_like(y))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("shape", [(2, 3, 5, 8), (3, 6, 4), (2, 1, 9, 4)])
def test_shared_mask_gives_the_bits_of_the_same_mask_per_batch(shape):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    n = shape[-2]
    mask = rng.standard_normal((n, n)).astype(np.float32)
    mask[np.triu_indices(n, 1)] = -np.inf  # causal-style, with finite values below
    shared = _run(ember, q, k, v, attn_mask=ember.tensor(mask))
    per_batch = np.ascontiguousarray(np.broadcast_to(mask, shape[:-2] + (n, n)))
    full = _run(ember, q, k, v, attn_mask=ember.tensor(per_batch))
    for a, b in zip(shared, full):
        np.testing.assert_array_equal(a, b)


def test_causal_attention_on_head_views_matches_torch(torch):
    # the GPT benchmark's layout: heads split off one (B, T, 3C) projection
    x = np.random.default_rng(1).standard_normal((4, 16, 48)).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        proj = lib.tensor(x, requires_grad=True)
        q, k, v = (z.view(4, 16, 2, 8).transpose(1, 2) for z in proj.split(16, dim=2))
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), proj.grad.numpy()))
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)  # float32 sums of O(1) terms
