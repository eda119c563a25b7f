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


@pytest.mark.parametrize("q_shape,mask_shape", [
    ((2, 3, 5, 4), (5, 6)), ((2, 3, 5, 4), (1, 6)), ((2, 3, 5, 4), (1, 3, 5, 6)),
    ((2, 3, 5, 4), (2, 1, 1, 6)), ((3, 5, 4), ()), ((3, 5, 4), (6,)), ((3, 5, 4), (3, 1, 6))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masks_of_every_rank_match_torch(q_shape, mask_shape, dtype):
    """The keys-first score layout transposes the additive mask: broadcast masks of every
    rank (0-d and 1-d ones where torch takes them: 3-d queries) land on the same scores as in
    torch, values and gradients."""
    rng = np.random.default_rng(2)
    kv_shape = q_shape[:-2] + (6, 4)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (q_shape, kv_shape, kv_shape)]
    mask = rng.standard_normal(mask_shape).astype(dtype)
    g = rng.standard_normal(q_shape).astype(dtype)
    res = []
    for lib in (ember, torch):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(mask))
        y.backward(lib.tensor(g))
        res.append([t.detach().numpy() for t in (y, q.grad, k.grad, v.grad)])
    tol = 1e-5 if dtype == "float32" else 1e-12
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(1, 2, 3, 4), (2, 3, 4), (3, 4)])
@pytest.mark.parametrize("kind", ["bool", "float", "float_grad", "dropout"])
def test_a_fully_masked_query_attends_to_nothing_as_in_torch(shape, kind):
    """PyTorch's safe softmax: a query whose every key is masked gets zeros and no gradient
    (not NaN), on the fused path (bool/float constant masks) and the composite one (a mask
    that needs a gradient; dropout)."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    keep = np.ones((3, 3), dtype=bool)
    keep[1] = False  # query 1 may attend to nothing
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf).astype(np.float32)
    res = []
    for lib in (ember, torch):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
        m = lib.tensor(mask, requires_grad=kind == "float_grad")
        lib.manual_seed(0)
        y = lib.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=m, dropout_p=0.5 if kind == "dropout" else 0.0)
        y.sum().backward()
        res.append([t.detach().numpy() for t in (y, q.grad, k.grad, v.grad)])
    for got in res:  # output and query gradient of query 1: exactly zero in both
        assert not any(np.isnan(a).any() for a in got)
        assert not got[0][..., 1, :].any() and not got[1][..., 1, :].any()
    if kind != "dropout":  # dropout draws differ between the libraries
        for e, t in zip(*res):
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtypes", [("float32", "float64", "float32"),
                                    ("float16", "float16", "float32"),
                                    ("bfloat16", "float32", "float32")])
def test_mixed_dtypes_raise_torch_message(dtypes):
    msgs = []
    for lib in (ember, torch):
        q, k, v = (lib.ones(1, 2, 4, dtype=getattr(lib, d)) for d in dtypes)
        with pytest.raises(RuntimeError) as info:
            lib.nn.functional.scaled_dot_product_attention(q, k, v)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
