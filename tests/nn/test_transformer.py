"""MultiheadAttention and transformer layers against torch with copied weights (dropout off or
eval mode): outputs, attention weights, masks, gradients, reprs and state_dict keys."""

import numpy as np
import pytest

import ember
import ember.nn as enn

from ._helpers import copy_params, pair, same


def build(torch, make):
    t_mod, e_mod = make(torch.nn), make(enn)
    copy_params(e_mod, t_mod)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    return e_mod, t_mod


def arr(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def backward_and_compare(torch, rng, e_out, t_out, e_in, t_in, e_mod, t_mod):
    up = arr(rng, *t_out.shape)
    e_out.backward(ember.tensor(up))
    t_out.backward(torch.tensor(up))
    for e, t in zip(e_in, t_in):
        same(e.grad, t.grad, atol=5e-5, rtol=1e-4)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        same(p.grad, t_params[name].grad, atol=1e-4, rtol=1e-4)


MHA_CASES = [
    ("self", lambda nn: nn.MultiheadAttention(8, 2), {}),
    ("batch_first_kv_dims", lambda nn: nn.MultiheadAttention(8, 4, kdim=3, vdim=5,
                                                             batch_first=True), {}),
    ("no_bias_bias_kv_zero_attn", lambda nn: nn.MultiheadAttention(
        6, 3, bias=False, add_bias_kv=True, add_zero_attn=True), {}),
    ("per_head_weights", lambda nn: nn.MultiheadAttention(8, 2),
     {"average_attn_weights": False}),
    ("no_weights", lambda nn: nn.MultiheadAttention(8, 2), {"need_weights": False}),
]


@pytest.mark.parametrize("name,make,kwargs", MHA_CASES, ids=[c[0] for c in MHA_CASES])
@pytest.mark.parametrize("masks", ["none", "bool", "float", "padding", "both"])
def test_multihead_attention_matches_torch(torch, rng, name, make, kwargs, masks):
    e_mod, t_mod = build(torch, make)
    e_dim, kdim, vdim = t_mod.embed_dim, t_mod.kdim, t_mod.vdim
    n, lq, ls = 2, 3, 4
    bf = t_mod.batch_first
    q = arr(rng, n, lq, e_dim) if bf else arr(rng, lq, n, e_dim)
    k = arr(rng, n, ls, kdim) if bf else arr(rng, ls, n, kdim)
    v = arr(rng, n, ls, vdim) if bf else arr(rng, ls, n, vdim)
    pairs = [pair(torch, a) for a in (q, k, v)]
    e_kw, t_kw = dict(kwargs), dict(kwargs)
    if masks in ("bool", "both"):
        m = rng.random((lq, ls)) < 0.3
        m[:, 0] = False  # True = masked out for MultiheadAttention; keep one key visible
        e_kw["attn_mask"], t_kw["attn_mask"] = ember.tensor(m), torch.tensor(m)
    if masks == "float":
        m = arr(rng, lq, ls)
        e_kw["attn_mask"], t_kw["attn_mask"] = ember.tensor(m), torch.tensor(m)
    if masks in ("padding", "both"):
        m = np.zeros((n, ls), dtype=bool)
        m[0, -1] = m[1, -2:] = True
        e_kw["key_padding_mask"], t_kw["key_padding_mask"] = ember.tensor(m), torch.tensor(m)
    e_out, e_w = e_mod(*[p[0] for p in pairs], **e_kw)
    t_out, t_w = t_mod(*[p[1] for p in pairs], **t_kw)
    same(e_out, t_out, atol=2e-5, rtol=1e-4)
    if t_w is None:
        assert e_w is None
    else:
        same(e_w, t_w, atol=2e-5, rtol=1e-4)
    backward_and_compare(torch, rng, e_out, t_out, [p[0] for p in pairs],
                         [p[1] for p in pairs], e_mod, t_mod)


@pytest.mark.parametrize("mask", ["padding", "attn_mask"])
def test_mha_without_weights_gives_fully_masked_queries_zeros_like_torch(torch, rng, mask):
    """need_weights=False takes torch's scaled_dot_product_attention path: a query whose every
    key is masked out gets a zero attention output (and finite gradients), where the weights'
    path gives NaN (regression: ember gave NaN on both paths)."""
    e_mod, t_mod = build(torch, lambda nn: nn.MultiheadAttention(8, 2, batch_first=True))
    x = arr(rng, 2, 3, 8)
    if mask == "padding":
        m = np.array([[False, False, False], [True, True, True]])
        key = "key_padding_mask"
    else:
        m = np.zeros((3, 3), dtype=bool)
        m[1] = True  # query 1 sees no key
        key = "attn_mask"
    for need_weights in (False, True):
        e_in, t_in = pair(torch, x)
        e_out, _ = e_mod(e_in, e_in, e_in, need_weights=need_weights, **{key: ember.tensor(m)})
        t_out, _ = t_mod(t_in, t_in, t_in, need_weights=need_weights, **{key: torch.tensor(m)})
        np.testing.assert_array_equal(np.isnan(e_out.detach().numpy()),
                                      np.isnan(t_out.detach().numpy()))
        same(np.nan_to_num(e_out.detach().numpy(), nan=7.0),
             np.nan_to_num(t_out.detach().numpy(), nan=7.0), atol=2e-5, rtol=1e-4)
        if not need_weights:
            assert not np.isnan(e_out.detach().numpy()).any()
            backward_and_compare(torch, rng, e_out, t_out, [e_in], [t_in], e_mod, t_mod)
            e_mod.zero_grad()
            t_mod.zero_grad()


def test_multihead_attention_unbatched(torch, rng):
    e_mod, t_mod = build(torch, lambda nn: nn.MultiheadAttention(4, 2))
    x = arr(rng, 3, 4)
    e_out, e_w = e_mod(ember.tensor(x), ember.tensor(x), ember.tensor(x))
    t_out, t_w = t_mod(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    same(e_out, t_out, atol=2e-5)
    same(e_w, t_w, atol=2e-5)


ENC_CASES = [
    ("post_norm", lambda nn: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)),
    ("pre_norm_gelu_batch_first", lambda nn: nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.1, activation="gelu", batch_first=True, norm_first=True)),
    ("stack", lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 4, 12),
                                               num_layers=2, norm=nn.LayerNorm(8))),
]


@pytest.mark.parametrize("name,make", ENC_CASES, ids=[c[0] for c in ENC_CASES])
@pytest.mark.parametrize("masked", [False, True])
def test_transformer_encoder_eval_matches_torch(torch, rng, name, make, masked):
    e_mod, t_mod = build(torch, make)
    e_mod.eval()
    t_mod.eval()
    x = arr(rng, 2, 5, 8) if "batch_first" in name else arr(rng, 5, 2, 8)
    ex, tx = pair(torch, x)
    e_kw, t_kw = {}, {}
    if masked:
        causal = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), k=1)
        key = "src_mask" if "stack" not in name else "mask"
        e_kw[key], t_kw[key] = ember.tensor(causal), torch.tensor(causal)
    e_out, t_out = e_mod(ex, **e_kw), t_mod(tx, **t_kw)
    same(e_out, t_out, atol=3e-5, rtol=1e-4)
    backward_and_compare(torch, rng, e_out, t_out, [ex], [tx], e_mod, t_mod)


def test_encoder_deep_copies_the_layer():
    layer = enn.TransformerEncoderLayer(8, 2, 16)
    enc = enn.TransformerEncoder(layer, 2)
    assert enc.layers[0] is not layer and enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(enc.layers[1].linear1.weight.detach().numpy(),
                                  layer.linear1.weight.detach().numpy())


def _nested_stack(nn, **layer_kw):
    kw = {"dropout": 0.0, "batch_first": True, **layer_kw}
    return nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, **kw), 2,
                                 norm=nn.LayerNorm(8))


@pytest.mark.parametrize("case", ["eval_no_grad", "eval_grad", "train", "mask_too",
                                  "not_left_aligned", "float_mask", "fastpath_off", "norm_first"])
def test_encoder_nested_fast_path_zeroes_padding_like_torch(torch, rng, case):
    # torch's eval-mode inference packs a left-aligned padded batch into a nested tensor and
    # pads the result back with zeros (before the final norm): padded outputs are norm(0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_mod, t_mod = build(torch, lambda nn: _nested_stack(
            nn, norm_first=case == "norm_first"))
    if case != "train":
        e_mod.eval()
        t_mod.eval()
    x = arr(rng, 2, 4, 8)
    kpm = np.array([[False, False, True, True], [False] * 4])
    if case == "not_left_aligned":
        kpm = np.array([[True, False, False, True], [False] * 4])
    e_kw = {"src_key_padding_mask": ember.tensor(kpm)}
    t_kw = {"src_key_padding_mask": torch.tensor(kpm)}
    if case == "float_mask":
        fm = np.where(kpm, -np.inf, 0.0).astype(np.float32)
        e_kw["src_key_padding_mask"], t_kw["src_key_padding_mask"] = (ember.tensor(fm),
                                                                      torch.tensor(fm))
    if case == "mask_too":
        e_kw["mask"], t_kw["mask"] = ember.zeros(4, 4).bool(), torch.zeros(4, 4).bool()
    ember.backends.mha.set_fastpath_enabled(case != "fastpath_off")
    torch.backends.mha.set_fastpath_enabled(case != "fastpath_off")
    try:
        if case == "eval_grad" or case == "train":
            e_out, t_out = e_mod(ember.tensor(x), **e_kw), t_mod(torch.tensor(x), **t_kw)
        else:
            with ember.no_grad(), torch.no_grad():
                e_out, t_out = e_mod(ember.tensor(x), **e_kw), t_mod(torch.tensor(x), **t_kw)
    finally:
        ember.backends.mha.set_fastpath_enabled(True)
        torch.backends.mha.set_fastpath_enabled(True)
    same(e_out, t_out, atol=3e-5, rtol=1e-4)


def test_encoder_use_nested_tensor_and_warning_match_torch(torch):
    import warnings
    for kw in [{}, {"batch_first": True}, {"batch_first": True, "norm_first": True},
               {"batch_first": True, "activation": torch.nn.functional.gelu},
               {"batch_first": True, "activation": "gelu"},
               {"batch_first": True, "activation": torch.nn.functional.silu},
               {"batch_first": True, "bias": False}]:
        e_kw = dict(kw)
        if "activation" in kw and not isinstance(kw["activation"], str):
            e_kw["activation"] = getattr(enn.functional, kw["activation"].__name__)
        messages = []
        for nn, kwargs in ((torch.nn, kw), (enn, e_kw)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                layer = nn.TransformerEncoderLayer(8, 2, 16, **kwargs)
                enc = nn.TransformerEncoder(layer, 1)
            messages.append(([str(w.message) for w in caught], enc.use_nested_tensor,
                             layer.activation_relu_or_gelu))
        assert messages[1] == messages[0], kw
    assert enn.TransformerEncoderLayer(8, 2, activation=enn.GELU()).activation_relu_or_gelu == 2
    assert enn.TransformerEncoderLayer(8, 2, activation=enn.ReLU()).activation_relu_or_gelu == 1


def test_decoder_and_full_transformer_eval_match_torch(torch, rng):
    e_mod, t_mod = build(torch, lambda nn: nn.Transformer(
        d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16))
    e_mod.eval()
    t_mod.eval()
    src, tgt = arr(rng, 6, 2, 8), arr(rng, 4, 2, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    e_mask = enn.Transformer.generate_square_subsequent_mask(4)
    same(e_mask, mask)
    es, ts = pair(torch, src)
    et, tt = pair(torch, tgt)
    e_out = e_mod(es, et, tgt_mask=e_mask)
    t_out = t_mod(ts, tt, tgt_mask=mask)
    same(e_out, t_out, atol=3e-5, rtol=1e-4)
    backward_and_compare(torch, rng, e_out, t_out, [es, et], [ts, tt], e_mod, t_mod)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        enn.MultiheadAttention(10, 3)
    m = enn.MultiheadAttention(4, 2)
    x = ember.randn(3, 2, 4)
    # torch's own spelling ("padded") in this message
    with pytest.raises(AssertionError, match=r"key_padded_mask.shape\[1\] to be 3, but got 5"):
        m(x, x, x, key_padding_mask=ember.zeros(2, 5, dtype=ember.bool))


def test_mha_mask_errors_and_warning_match_torch(torch):
    import warnings

    def run(lib, nn, attn=None, kpm=None, q_shape=(3, 2, 8), kv_len=3):
        m = nn.MultiheadAttention(8, 2)
        q = lib.ones(*q_shape)
        kv = lib.ones(kv_len, *q_shape[1:])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                m(q, kv, kv, attn_mask=attn(lib) if attn else None,
                  key_padding_mask=kpm(lib) if kpm else None)
                err = None
            except Exception as e:  # noqa: BLE001  (type and message are compared)
                err = (type(e).__name__, str(e))
        return err, [str(w.message) for w in caught]

    cases = [
        {"attn": lambda lib: lib.zeros(3, 3, dtype=lib.uint8)},
        {"attn": lambda lib: lib.zeros(3, 3, dtype=lib.long)},
        {"kpm": lambda lib: lib.zeros(2, 3, dtype=lib.int32)},
        {"attn": lambda lib: lib.zeros(4, 3)},
        {"attn": lambda lib: lib.zeros(2, 3, 3)},
        {"attn": lambda lib: lib.zeros(1, 4, 3, 3)},
        {"kpm": lambda lib: lib.zeros(3, 3, dtype=lib.bool)},
        {"kpm": lambda lib: lib.zeros(2, 3, 1, dtype=lib.bool)},
        {"attn": lambda lib: lib.zeros(3, 3),
         "kpm": lambda lib: lib.tensor([[False, False, True]] * 2)},
        {"attn": lambda lib: lib.zeros(3, 3).bool(),
         "kpm": lambda lib: lib.zeros(2, 3)},
        {"attn": lambda lib: lib.zeros(3, 3).bool(),
         "kpm": lambda lib: lib.tensor([[False, False, True]] * 2)},
        {"attn": lambda lib: lib.zeros(3, 3, 3), "q_shape": (3, 8)},
        {"kpm": lambda lib: lib.zeros(1, 3).bool(), "q_shape": (3, 8)},
    ]
    for case in cases:
        expected = run(torch, torch.nn, **case)
        assert run(ember, enn, **case) == expected, expected
