"""FlexAttention (torch.nn.attention.flex_attention) against torch 2.13: outputs, lse, block
masks (fields, ordering, printing, sparsity), masks combinators and errors; gradients against
a reference written with torch's own ops (torch refuses flex_attention's backward on the CPU)."""

import warnings

import numpy as np
import pytest

import ember
from ember.nn.attention import flex_attention as FA

B, H, L, S, E = 2, 2, 8, 8, 4


def _qkv(seed=0, shape_kv=None, hq=H, dtype=np.float32):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((B, hq, L, E)).astype(dtype)
    kv_shape = shape_kv or (B, hq, S, E)
    k = rng.standard_normal(kv_shape).astype(dtype)
    v = rng.standard_normal(kv_shape).astype(dtype)
    return q, k, v


def _both(torch, arrays):
    return [ember.from_numpy(a.copy()) for a in arrays], [torch.from_numpy(a.copy()) for a in arrays]


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def relative(score, b, h, q_idx, kv_idx):
    return score + (q_idx - kv_idx) * 0.1


def alibi(score, b, h, q_idx, kv_idx):
    return score - (h + 1) * (q_idx - kv_idx).abs()


def _flex(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.nn.attention import flex_attention as TFA
    return TFA


def _run_torch(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("score_mod", [None, relative, alibi])
@pytest.mark.parametrize("masked", [False, True])
def test_outputs_match_torch(torch, score_mod, masked):
    TFA = _flex(torch)
    (eq, ek, ev), (tq, tk, tv) = _both(torch, _qkv())
    emask = FA.create_block_mask(causal, None, None, L, S, BLOCK_SIZE=4) if masked else None
    tmask = _run_torch(TFA.create_block_mask, causal, None, None, L, S, device="cpu",
                       BLOCK_SIZE=4) if masked else None
    got = FA.flex_attention(eq, ek, ev, score_mod=score_mod, block_mask=emask)
    want = _run_torch(TFA.flex_attention, tq, tk, tv, score_mod=score_mod, block_mask=tmask)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_lse_scale_and_gqa_match_torch(torch):
    TFA = _flex(torch)
    (eq, ek, ev), (tq, tk, tv) = _both(torch, _qkv(1))
    out, aux = FA.flex_attention(eq, ek, ev, scale=0.3, return_aux=FA.AuxRequest(lse=True))
    t_out, t_aux = _run_torch(TFA.flex_attention, tq, tk, tv, scale=0.3,
                              return_aux=TFA.AuxRequest(lse=True))
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(aux.lse.numpy(), t_aux.lse.numpy(), rtol=1e-5, atol=1e-6)
    assert aux.max_scores is None and t_aux.max_scores is None
    with pytest.warns(FutureWarning, match="return_lse is deprecated"):
        _, lse = FA.flex_attention(eq, ek, ev, return_lse=True)
    assert lse.shape == (B, H, L)
    (eq, ek, ev), (tq, tk, tv) = _both(torch, _qkv(2, shape_kv=(B, 2, S, E), hq=4))
    got = FA.flex_attention(eq, ek, ev, score_mod=alibi, enable_gqa=True)
    want = _run_torch(TFA.flex_attention, tq, tk, tv, score_mod=alibi, enable_gqa=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_fully_masked_rows_give_zeros_like_torch(torch):
    TFA = _flex(torch)

    def nothing_for_first_rows(b, h, q_idx, kv_idx):
        return q_idx >= 3

    (eq, ek, ev), (tq, tk, tv) = _both(torch, _qkv(3))
    emask = FA.create_block_mask(nothing_for_first_rows, None, None, L, S, BLOCK_SIZE=4)
    tmask = _run_torch(TFA.create_block_mask, nothing_for_first_rows, None, None, L, S,
                       device="cpu", BLOCK_SIZE=4)
    out, aux = FA.flex_attention(eq, ek, ev, block_mask=emask,
                                 return_aux=FA.AuxRequest(lse=True))
    t_out, t_aux = _run_torch(TFA.flex_attention, tq, tk, tv, block_mask=tmask,
                              return_aux=TFA.AuxRequest(lse=True))
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.isneginf(aux.lse.numpy()), np.isneginf(t_aux.lse.numpy()))
    assert np.isneginf(aux.lse.numpy()[:, :, :3]).all()


def test_gradients_match_a_torch_reference(torch):
    """torch has no CPU backward for flex_attention; the reference is the same math in
    torch ops (scores, score_mod, mask, softmax), differentiated by torch's autograd."""
    arrays = _qkv(4)
    (eq, ek, ev), (tq, tk, tv) = _both(torch, arrays)
    for t in (eq, ek, ev, tq, tk, tv):
        t.requires_grad_(True)
    bias_np = np.random.default_rng(5).standard_normal((H,)).astype(np.float32)
    e_bias = ember.from_numpy(bias_np.copy()).requires_grad_(True)
    t_bias = torch.from_numpy(bias_np.copy()).requires_grad_(True)

    def e_mod(score, b, h, q_idx, kv_idx):
        return score + e_bias[h] * (q_idx - kv_idx)

    emask = FA.create_block_mask(causal, None, None, L, S, BLOCK_SIZE=4)
    out = FA.flex_attention(eq, ek, ev, score_mod=e_mod, block_mask=emask)
    (out * out).sum().backward()
    scores = tq @ tk.transpose(-2, -1) / E ** 0.5
    h = torch.arange(H).view(1, H, 1, 1)
    qi, ki = torch.arange(L).view(1, 1, L, 1), torch.arange(S).view(1, 1, 1, S)
    scores = scores + t_bias[h] * (qi - ki)
    scores = scores.masked_fill(~(qi >= ki), float("-inf"))
    ref = scores.softmax(-1) @ tv
    (ref * ref).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in ((eq, tq), (ek, tk), (ev, tv), (e_bias, t_bias)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_dead_rows_have_finite_gradients():
    q, k, v = (ember.from_numpy(a).requires_grad_(True) for a in _qkv(6))

    def hide_row0(score, b, h, q_idx, kv_idx):
        return ember.where(q_idx == 0, -float("inf"), score)

    FA.flex_attention(q, k, v, score_mod=hide_row0).sum().backward()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))


@pytest.mark.parametrize("q_len,kv_len,block", [(8, 8, 128), (300, 300, 128), (8, 8, 4),
                                                (10, 6, 4), (16, 16, (4, 8))])
@pytest.mark.parametrize("separate", [True, False])
def test_block_mask_fields_and_printing_match_torch(torch, q_len, kv_len, block, separate):
    TFA = _flex(torch)

    def window(b, h, q_idx, kv_idx):
        return (q_idx >= kv_idx) & (q_idx - kv_idx < 5)

    ours = FA.create_block_mask(window, None, None, q_len, kv_len, BLOCK_SIZE=block,
                                separate_full_blocks=separate)
    theirs = _run_torch(TFA.create_block_mask, window, None, None, q_len, kv_len,
                        device="cpu", BLOCK_SIZE=block, separate_full_blocks=separate)
    for field in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                  "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices"):
        a, b = getattr(ours, field), getattr(theirs, field)
        if b is None:
            assert a is None, field
            continue
        assert a.dtype == ember.int32 and b.dtype == torch.int32
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=field)
    assert ours.shape == theirs.shape and ours.BLOCK_SIZE == theirs.BLOCK_SIZE
    assert ours.sparsity() == pytest.approx(theirs.sparsity())
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours.to_string(grid_size=-1) == theirs.to_string(grid_size=-1)


def test_block_mask_with_batch_and_heads_matches_torch(torch):
    TFA = _flex(torch)

    def per_head(b, h, q_idx, kv_idx):
        return (q_idx + h + b) % 3 != kv_idx % 3

    ours = FA.create_block_mask(per_head, 3, 2, 16, 16, BLOCK_SIZE=4)
    theirs = _run_torch(TFA.create_block_mask, per_head, 3, 2, 16, 16, device="cpu",
                        BLOCK_SIZE=4)
    np.testing.assert_array_equal(ours.kv_indices.numpy(), theirs.kv_indices.numpy())
    assert str(ours) == str(theirs)  # more than `limit` pictures: torch's "..." footer


def test_from_kv_blocks_round_trip(torch):
    mask = FA.create_block_mask(causal, None, None, 16, 16, BLOCK_SIZE=4)
    again = FA.BlockMask.from_kv_blocks(mask.kv_num_blocks, mask.kv_indices,
                                        mask.full_kv_num_blocks, mask.full_kv_indices,
                                        BLOCK_SIZE=4, mask_mod=causal, seq_lengths=(16, 16))
    for field in ("q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices"):
        np.testing.assert_array_equal(getattr(again, field).numpy(),
                                      getattr(mask, field).numpy())
    TFA = _flex(torch)
    theirs = TFA.BlockMask.from_kv_blocks(torch.from_numpy(mask.kv_num_blocks.numpy()),
                                          torch.from_numpy(mask.kv_indices.numpy()),
                                          BLOCK_SIZE=4, seq_lengths=(16, 16))
    ours = FA.BlockMask.from_kv_blocks(mask.kv_num_blocks, mask.kv_indices, BLOCK_SIZE=4,
                                       seq_lengths=(16, 16))
    np.testing.assert_array_equal(ours.q_indices.numpy(), theirs.q_indices.numpy())
    np.testing.assert_array_equal(ours.q_num_blocks.numpy(), theirs.q_num_blocks.numpy())
    assert ours.sparsity() == pytest.approx(theirs.sparsity())


def test_mask_combinators_and_create_mask_match_torch(torch):
    TFA = _flex(torch)

    def near(b, h, q_idx, kv_idx):
        return (q_idx - kv_idx).abs() <= 1

    for ours_fn, theirs_fn in ((FA.and_masks(causal, near), TFA.and_masks(causal, near)),
                               (FA.or_masks(causal, near), TFA.or_masks(causal, near)),
                               (FA.noop_mask, TFA.noop_mask)):
        a = FA.create_mask(ours_fn, 1, 2, 6, 7)
        b = _run_torch(TFA.create_mask, theirs_fn, 1, 2, 6, 7, device="cpu")
        assert a.dtype == ember.bool and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="callable mask_mods"):
        FA.and_masks(causal, 3)
    with pytest.raises(RuntimeError, match="callable mask_mods"):
        TFA.and_masks(causal, 3)


def test_argument_errors_match_torch(torch):
    TFA = _flex(torch)
    q, k, v = _qkv(7, shape_kv=(B, 2, S, E), hq=4)
    (eq, ek, ev), (tq, tk, tv) = _both(torch, (q, k, v))
    cases = [((eq, ek, ev), {}, (tq, tk, tv), {}),
             ((eq[0], ek[0], ev[0]), {}, (tq[0], tk[0], tv[0]), {})]
    (gq, gk, gv), (hq, hk, hv) = _both(torch, _qkv(8, shape_kv=(B, 3, S, E), hq=4))
    cases.append(((gq, gk, gv), {"enable_gqa": True}, (hq, hk, hv), {"enable_gqa": True}))
    small = FA.create_block_mask(causal, None, None, 4, 4, BLOCK_SIZE=4)
    t_small = _run_torch(TFA.create_block_mask, causal, None, None, 4, 4, device="cpu",
                         BLOCK_SIZE=4)
    (fq, fk, fv), (uq, uk, uv) = _both(torch, _qkv(9))
    cases.append(((fq, fk, fv), {"block_mask": small}, (uq, uk, uv), {"block_mask": t_small}))
    for e_args, e_kw, t_args, t_kw in cases:
        with pytest.raises(Exception) as want:
            _run_torch(TFA.flex_attention, *t_args, **t_kw)
        with pytest.raises(Exception) as got:
            FA.flex_attention(*e_args, **e_kw)
        assert type(got.value) is type(want.value)
        assert str(got.value).split(". ")[0] == str(want.value).split(". ")[0]


def test_exported_at_torch_path():
    import ember.nn.attention.flex_attention as mod

    assert set(mod.__all__) >= {"BlockMask", "flex_attention", "create_block_mask",
                                "create_mask", "and_masks", "or_masks", "noop_mask",
                                "AuxRequest", "AuxOutput"}


def test_fused_kernel_checks_answer_false_like_torch_on_cpu(torch):
    from ember.nn.attention import SDPAParams, can_use_efficient_attention, can_use_flash_attention

    q = ember.randn(1, 2, 4, 8)
    params = SDPAParams(q, q, q, None, 0.0, False, False)
    tq = torch.randn(1, 2, 4, 8)
    t_params = torch.nn.attention.SDPAParams(tq, tq, tq, None, 0.0, False, False)
    assert can_use_flash_attention(params) is False
    assert can_use_flash_attention(params) == torch.nn.attention.can_use_flash_attention(t_params)
    assert can_use_efficient_attention(params) == \
        torch.nn.attention.can_use_efficient_attention(t_params)
    assert ember.backends.cuda.can_use_cudnn_attention(params) is False
    assert params.is_causal is False and params.query is q
    with pytest.warns(UserWarning, match="no fused"):
        can_use_flash_attention(params, debug=True)
