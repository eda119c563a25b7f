"""Gaps found while writing the preference-learning programs (tests/programs/rlhf_*.py), each
checked against PyTorch: a Gamma family distribution (Gamma, Chi2, StudentT) with 0-d
parameters draws 0-d samples, not 1-element vectors; ``torch.stack``/``cat`` and their
relatives given a list holding a non-Tensor (``torch.stack(rewards)`` over a list of floats)
or a non-sequence raise torch's TypeError naming the element, not an AttributeError; an
unsorted PackedSequence is permuted with ``index_select`` as in torch (the printed ``grad_fn``
of an RNN's final state and of ``pad_packed_sequence``'s output is IndexSelectBackward0), and
``pack_padded_sequence``'s data comes from PackPaddedSequenceBackward0; ``F.rms_norm`` checks
its arguments as torch does (an empty ``normalized_shape`` or a wrong-shaped weight raise
instead of computing, an int shape is refused, too few input dims is a ValueError, and the
mismatch message is torch's verbatim); bfloat16/float16 ``scaled_dot_product_attention`` (what
autocast gives a transformer policy) is computed as torch's fused CPU kernel computes it,
float32 accumulation with the weights rounded once (bit-exact below 16 keys); under bfloat16
autocast ``nn.MultiheadAttention`` returns bfloat16 weights (its mask added by ``baddbmm``, as
torch's) and, without weights, goes through that kernel with torch's 4-D operands."""

import pytest
import torch

import ember


@pytest.mark.parametrize("make", [
    lambda lib: lib.distributions.Gamma(lib.tensor(2.0), lib.tensor(3.0)),
    lambda lib: lib.distributions.Gamma(2.0, 3.0),
    lambda lib: lib.distributions.Chi2(lib.tensor(3.0)),
    lambda lib: lib.distributions.StudentT(lib.tensor(3.0)),
    lambda lib: lib.distributions.Gamma(lib.tensor(0.5, dtype=lib.float64), 1.0),
])
@pytest.mark.parametrize("sample_shape", [(), (2,)])
def test_gamma_family_0d_parameters_sample_0d(make, sample_shape):
    draws = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        dist = make(lib)
        draws[lib] = (dist.sample(sample_shape), dist.rsample(sample_shape))
    for expected, got in zip(draws[torch], draws[ember]):
        assert tuple(got.shape) == tuple(expected.shape)
        assert got.dtype is getattr(ember, str(expected.dtype).split(".")[1])
        assert torch.allclose(torch.from_numpy(got.numpy()), expected)


def test_gamma_0d_rsample_gradient_is_0d():
    grads = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        alpha = lib.tensor(2.0, requires_grad=True)
        lib.distributions.Gamma(alpha, 1.0).rsample().backward()
        grads.append(alpha.grad)
    assert tuple(grads[1].shape) == tuple(grads[0].shape) == ()
    # (ember differentiates the CDF numerically; torch uses Jankowiak and Obermeyer's
    # approximations, which agree to about 1e-4)
    assert grads[1].item() == pytest.approx(grads[0].item(), rel=1e-3)


def _error(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the exception itself is what is compared
        return type(err), str(err)
    raise AssertionError("no exception")


@pytest.mark.parametrize("call", [
    lambda lib: lib.stack([[1.0, 2.0], [3.0, 4.0]]),
    lambda lib: lib.stack([0.5, 1.5]),
    lambda lib: lib.stack((lib.tensor(1.0), 2.0)),
    lambda lib: lib.stack([lib.ones(1), lib.ones(1), None], dim=1),
    lambda lib: lib.cat([lib.tensor([1]), [3]]),
    lambda lib: lib.cat([[1, 2], [3, 4]]),
    lambda lib: lib.hstack([[1, 2], [3, 4]]),
    lambda lib: lib.vstack([lib.tensor([1]), 2]),
    lambda lib: lib.dstack([1]),
    lambda lib: lib.column_stack([[1]]),
    lambda lib: lib.stack(5),
    lambda lib: lib.hstack(5),
])
def test_joining_refuses_non_tensor_elements(call):
    assert _error(lambda: call(ember)) == _error(lambda: call(torch))


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mode", ["GRU", "LSTM"])
def test_unsorted_packed_rnn_graph_names_and_gradients(mode, batch_first):
    from torch.nn.utils.rnn import pack_padded_sequence as torch_pack
    from torch.nn.utils.rnn import pad_packed_sequence as torch_pad

    from ember.nn.utils.rnn import pack_padded_sequence as ember_pack
    from ember.nn.utils.rnn import pad_packed_sequence as ember_pad

    results = {}
    for lib, pack, pad in ((torch, torch_pack, torch_pad), (ember, ember_pack, ember_pad)):
        lib.manual_seed(0)
        x = lib.randn(3, 4, 2) if batch_first else lib.randn(4, 3, 2)
        x.requires_grad_(True)
        rnn = getattr(lib.nn, mode)(2, 3, batch_first=batch_first)
        h0 = lib.zeros(1, 3, 3, requires_grad=True)
        state = h0 if mode == "GRU" else (h0, lib.zeros(1, 3, 3))
        packed = pack(x, [2, 4, 1], batch_first=batch_first, enforce_sorted=False)
        out, h_n = rnn(packed, state)
        h_n = h_n if mode == "GRU" else h_n[0]
        padded, lengths = pad(out, batch_first=batch_first)
        (padded.sum() + h_n.pow(2).sum()).backward()
        results[lib] = ([packed.data.grad_fn.name(), h_n.grad_fn.name(),
                         padded.grad_fn.name()], lengths.tolist(), x.grad, h0.grad, h_n)
    expected, got = results[torch], results[ember]
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    for e, g in zip(expected[2:], got[2:]):
        assert torch.allclose(torch.from_numpy(g.detach().numpy()), e.detach(), atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), []),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), [4], weight=lib.ones(1)),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), [3], weight=lib.ones(4)),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), 4),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(4), [2, 4]),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(()), [1]),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), [3]),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), (3, 4)),
    lambda lib: lib.nn.RMSNorm([3, 4])(lib.ones(2, 4)),
])
def test_rms_norm_argument_checks(call):
    assert _error(lambda: call(ember)) == _error(lambda: call(torch))


def _same_inputs(shapes, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    arrays = [torch.randn(shape, generator=gen).to(dtype) for shape in shapes]
    ember_dtype = getattr(ember, str(dtype).split(".")[1])
    return arrays, [ember.from_numpy(a.float().numpy()).to(ember_dtype) for a in arrays]


def _as_torch(t):
    return torch.from_numpy(t.detach().float().numpy())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("case", ["plain", "causal", "bool_mask", "float_mask", "gqa", "long"])
def test_reduced_precision_sdpa_matches_torch_bitwise(dtype, case):
    n_l = n_s = 40 if case == "long" else 7
    shapes = [(2, 4, n_l, 8), (2, 2 if case == "gqa" else 4, n_s, 8),
              (2, 2 if case == "gqa" else 4, n_s, 8)]
    (tq, tk, tv), (eq, ek, ev) = _same_inputs(shapes, dtype)
    kwargs = {"is_causal": case == "causal", "enable_gqa": case == "gqa"}
    t_mask = e_mask = None
    if case == "bool_mask":
        t_mask = torch.rand(n_l, n_s, generator=torch.Generator().manual_seed(1)) > 0.3
        t_mask[:, 0] = True
        e_mask = ember.from_numpy(t_mask.numpy())
    elif case == "float_mask":
        t_mask = torch.randn(n_l, n_s, generator=torch.Generator().manual_seed(1))
        e_mask = ember.from_numpy(t_mask.numpy())
    expected = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=t_mask,
                                                                **kwargs)
    got = ember.nn.functional.scaled_dot_product_attention(eq, ek, ev, attn_mask=e_mask,
                                                           **kwargs)
    assert str(got.dtype) == str(expected.dtype)
    got = _as_torch(got)
    if case != "long":
        assert torch.equal(got, expected.float())
    else:  # from 16 keys torch's vectorised exp differs from NumPy's in the last float32 bit
        eps = torch.finfo(dtype).eps
        assert torch.allclose(got, expected.float(), rtol=eps, atol=eps)


def test_reduced_precision_sdpa_gradient_and_autocast_attention():
    (tq, tk, tv), (eq, ek, ev) = _same_inputs([(1, 2, 5, 4)] * 3, torch.float32)
    results = []
    for lib, q, k, v in ((torch, tq, tk, tv), (ember, eq, ek, ev)):
        q = q.clone().requires_grad_(True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        out.float().pow(2).sum().backward()
        results.append((out, q.grad))
    (t_out, t_grad), (e_out, e_grad) = results
    assert str(e_out.dtype) == str(t_out.dtype) == "torch.bfloat16"
    assert torch.equal(_as_torch(e_out), t_out.float())
    assert torch.allclose(_as_torch(e_grad), t_grad, rtol=0.02, atol=0.02)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask", ["none", "causal", "padding"])
def test_multihead_attention_under_bfloat16_autocast(need_weights, mask):
    torch.manual_seed(0)
    t_mha = torch.nn.MultiheadAttention(16, 2, batch_first=True)
    e_mha = ember.nn.MultiheadAttention(16, 2, batch_first=True)
    e_mha.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                           for k, v in t_mha.state_dict().items()})
    x = torch.randn(3, 7, 16)
    kwargs = {"t": {}, "e": {}}
    if mask == "causal":
        m = torch.ones(7, 7, dtype=torch.bool).triu(1)
        kwargs = {"t": {"attn_mask": m}, "e": {"attn_mask": ember.from_numpy(m.numpy())}}
    elif mask == "padding":
        m = torch.zeros(3, 7, dtype=torch.bool)
        m[1, 5:] = True
        kwargs = {"t": {"key_padding_mask": m},
                  "e": {"key_padding_mask": ember.from_numpy(m.numpy())}}
    ex = ember.from_numpy(x.numpy())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t_out, t_w = t_mha(x, x, x, need_weights=need_weights, **kwargs["t"])
    with ember.autocast("cpu", dtype=ember.bfloat16):
        e_out, e_w = e_mha(ex, ex, ex, need_weights=need_weights, **kwargs["e"])
    assert str(e_out.dtype) == str(t_out.dtype)
    assert torch.equal(_as_torch(e_out), t_out.float())
    if need_weights:
        assert str(e_w.dtype) == str(t_w.dtype)
        assert torch.equal(_as_torch(e_w), t_w.float())
    else:
        assert e_w is None and t_w is None
