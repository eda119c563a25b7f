"""Gaps found by the Hugging-Face-style programs (tests/programs/hf_*), compared with PyTorch:
``scaled_dot_product_attention`` given both ``attn_mask`` and ``is_causal=True`` (as
transformers' SDPA attention classes pass a padding mask with the causal flag) applies both
on 4-D operands, and refuses the pair elsewhere with PyTorch's error; a model built under
``with torch.device("meta")`` (``from_pretrained``'s empty init) builds ``nn.Embedding`` with a
``padding_idx``, and ``nn.init`` on meta tensors draws nothing from the generator, so the numbers
drawn after it are PyTorch's."""

import numpy as np
import pytest

import ember
import ember.nn.functional as EF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _qkv(shape_q, shape_k, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(shape_q).astype(dtype)
    k = rng.standard_normal(shape_k).astype(dtype)
    v = rng.standard_normal(shape_k).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("lq,ls", [(5, 5), (3, 5), (5, 3)])
@pytest.mark.parametrize("kind", ["bool", "float", "float_broadcast"])
def test_sdpa_mask_with_is_causal_as_torch(lq, ls, kind):
    q, k, v = _qkv((2, 3, lq, 4), (2, 3, ls, 4))
    rng = np.random.default_rng(1)
    keep = rng.random((2, 1, lq, ls)) > 0.3
    keep[..., 0] = True  # not every row fully masked (but some rows can still be, below)
    if kind == "bool":
        mask = keep
    elif kind == "float":
        mask = np.where(keep, 0.0, np.finfo(np.float32).min).astype(np.float32)
    else:  # a (Lq, S) padding bias broadcast over batch and heads
        mask = np.where(keep[0, 0], 0.0, -1e9).astype(np.float32)
    want = TF.scaled_dot_product_attention(
        torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
        attn_mask=torch.from_numpy(mask), is_causal=True)
    got = EF.scaled_dot_product_attention(
        ember.from_numpy(q), ember.from_numpy(k), ember.from_numpy(v),
        attn_mask=ember.from_numpy(mask), is_causal=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_mask_with_is_causal_gradients_as_torch():
    q, k, v = _qkv((1, 2, 4, 3), (1, 2, 4, 3))
    mask = np.array([[True, False, True, True]] * 4)
    outs = []
    for lib, F in ((torch, TF), (ember, EF)):
        t = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        F.scaled_dot_product_attention(*t, attn_mask=lib.tensor(mask), is_causal=True) \
            .square().sum().backward()
        outs.append([x.grad.numpy() for x in t])
    for g, w in zip(outs[1], outs[0]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["3d", "dropout", "mask_requires_grad"])
def test_sdpa_mask_with_is_causal_refused_as_torch(case):
    shape = (2, 4, 3) if case == "3d" else (1, 2, 4, 3)
    q, k, v = _qkv(shape, shape)
    mask = np.zeros((4, 4), dtype=np.float32)
    for lib, F in ((torch, TF), (ember, EF)):
        m = lib.tensor(mask, requires_grad=case == "mask_requires_grad")
        with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                                               "is_causal=True"):
            F.scaled_dot_product_attention(lib.tensor(q), lib.tensor(k), lib.tensor(v),
                                           attn_mask=m, is_causal=True,
                                           dropout_p=0.5 if case == "dropout" else 0.0)


def test_embedding_with_padding_idx_on_meta_device():
    with ember.device("meta"):
        e = ember.nn.Embedding(6, 3, padding_idx=2)
    assert e.weight.is_meta and tuple(e.weight.shape) == (6, 3)
    real = ember.nn.Embedding(6, 3, padding_idx=2)
    assert real.weight[2].tolist() == [0.0, 0.0, 0.0]
    assert real.weight.grad_fn is None and real.weight.requires_grad


def _init_calls(lib):
    init = lib.nn.init
    return [
        lambda t: init.uniform_(t), lambda t: init.normal_(t, std=0.02),
        lambda t: init.trunc_normal_(t), lambda t: init.xavier_uniform_(t),
        lambda t: init.xavier_normal_(t), lambda t: init.kaiming_uniform_(t, a=5 ** 0.5),
        lambda t: init.kaiming_normal_(t), lambda t: init.orthogonal_(t),
        lambda t: init.sparse_(t, 0.5),
    ]


@pytest.mark.parametrize("which", range(9))
def test_init_on_meta_draws_nothing_as_torch(which):
    got, want = [], []
    for lib, out in ((ember, got), (torch, want)):
        lib.manual_seed(0)
        _init_calls(lib)[which](lib.empty(3, 4, device="meta"))
        out.append(lib.rand(3).tolist())
    assert got == want


def test_modules_built_on_meta_leave_the_stream_as_torch():
    got = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        with lib.device("meta"):
            lib.nn.Linear(4, 5)
            lib.nn.Embedding(7, 3, padding_idx=0)
            lib.nn.Conv2d(2, 3, 3)
        got.append(lib.randn(4).tolist())
    assert got[0] == got[1]


_META_WRITES = [
    lambda lib, t: t.fill_(1), lambda lib, t: t.zero_(), lambda lib, t: t.add_(1),
    lambda lib, t: t.normal_(), lambda lib, t: t.uniform_(),
    lambda lib, t: t.copy_(lib.ones(3, 4, device="meta")), lambda lib, t: t[0].fill_(2),
    lambda lib, t: lib.nn.init.normal_(t), lambda lib, t: lib.nn.init.constant_(t, 1.0),
    lambda lib, t: lib.nn.init.kaiming_uniform_(t), lambda lib, t: lib.nn.init.trunc_normal_(t),
    lambda lib, t: lib.nn.init.orthogonal_(t), lambda lib, t: t.requires_grad_(),
]


@pytest.mark.parametrize("which", range(len(_META_WRITES)))
def test_meta_inplace_writes_bump_the_version_as_torch(which):
    versions = []
    for lib in (ember, torch):
        t = lib.empty(3, 4, device="meta")
        _META_WRITES[which](lib, t)
        versions.append(t._version)
    assert versions[0] == versions[1]


def test_meta_built_modules_have_torchs_versions():
    got = []
    for lib in (ember, torch):
        with lib.device("meta"):
            mods = [lib.nn.Linear(3, 4), lib.nn.Embedding(5, 3, padding_idx=1),
                    lib.nn.BatchNorm1d(3), lib.nn.LSTM(3, 4)]
        got.append([[t._version for t in (*m.parameters(), *m.buffers())] for m in mods])
    assert got[0] == got[1]
