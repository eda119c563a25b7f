"""Attention's output and gradients are laid out as PyTorch lays them out: dense, in the axis
order of the query's (or each input's) strides. For heads split off one ``(B, T, 3C)``
projection that is ``(B, T, H, D)`` memory, so ``y.transpose(1, 2).contiguous()`` is free and
the gradients go back through the heads' views without copies."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _heads(lib, qkv, b, t, h, d, causal):
    q, k, v = (z.view(b, t, h, d).transpose(1, 2) for z in qkv.split(h * d, dim=2))
    strides = {}
    for name, z in (("q", q), ("k", k), ("v", v)):
        z.register_hook(lambda g, name=name: strides.__setitem__(name, g.stride()))
    y = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    merged = y.transpose(1, 2)
    return y, merged, strides


@pytest.mark.parametrize("b,t,h,d,causal", [(2, 5, 2, 4, True), (3, 6, 4, 8, False),
                                            (8, 64, 4, 32, True)])  # the last: threaded
def test_head_split_attention_strides_and_values_match_torch(b, t, h, d, causal):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((b, t, 3 * h * d)).astype(np.float32)
    g = rng.standard_normal((b, h, t, d)).astype(np.float32)
    got = {}
    for lib in (ember, torch):
        qkv = lib.tensor(base, requires_grad=True)
        y, merged, strides = _heads(lib, qkv, b, t, h, d, causal)
        y.backward(lib.tensor(g))
        got[lib.__name__] = (y.stride(), merged.is_contiguous(), strides,
                             y.detach().numpy(), qkv.grad.numpy())
    e, p = got["ember"], got["torch"]
    assert e[0] == p[0] and e[1] == p[1] is True
    assert e[2] == p[2] and len(e[2]) == 3
    np.testing.assert_allclose(e[3], p[3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e[4], p[4], rtol=1e-4, atol=1e-5)


def test_contiguous_inputs_give_contiguous_output_and_gradients():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, 5, 4)).astype(np.float32) for _ in range(3)]
    q, k, v = (ember.tensor(a, requires_grad=True) for a in arrays)
    y = ember.nn.functional.scaled_dot_product_attention(q, k, v)
    y.sum().backward()
    assert y.is_contiguous() and y.stride() == (60, 20, 4, 1)
    assert all(z.grad.is_contiguous() for z in (q, k, v))
