"""Gaps found by the recommender programs (tests/programs/rec_*.py), checked against PyTorch:
the index-dtype errors of ``F.embedding`` / ``F.embedding_bag`` read as torch's (legacy
``torch.FloatTensor``-style type names; float offsets reported as argument #1 'indices')."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _message(lib, call):
    with pytest.raises(RuntimeError) as info:
        call(lib)
    return str(info.value)


CASES = {
    "embedding float": lambda L: L.nn.functional.embedding(L.tensor([1.0]), L.ones(3, 2)),
    "embedding double": lambda L: L.nn.functional.embedding(
        L.tensor([1.0], dtype=L.float64), L.ones(3, 2)),
    "embedding int16": lambda L: L.nn.functional.embedding(
        L.tensor([1], dtype=L.int16), L.ones(3, 2)),
    "bag float input": lambda L: L.nn.functional.embedding_bag(
        L.tensor([1.0]), L.ones(3, 2), L.tensor([0])),
    "bag float offsets": lambda L: L.nn.functional.embedding_bag(
        L.tensor([1]), L.ones(3, 2), L.tensor([0.0])),
    "bag module 2-D float": lambda L: L.nn.EmbeddingBag(3, 2)(L.tensor([[1.0]])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_index_dtype_error_matches_torch(case):
    assert _message(ember, CASES[case]) == _message(torch, CASES[case])


# --- fully masked queries on PyTorch's fused inference paths ---------------------------------
# PyTorch's fused self-attention / encoder-layer kernels (inference, batch-first, no grad) give
# a query whose keys are all masked NaN; the composite path gives 0 attention. A batch holding an
# empty history (SASRec / BERT4Rec evaluation) hits this. Compared value for value, NaN included.

X = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
KPM = np.array([[True, True, True], [False, False, True]])
AM = np.array([[True, True, True], [False, True, True], [False, False, True]])


def _mask(lib, kind):
    if kind is None:
        return None
    data = {"kpm": KPM, "am": AM, "am3d": np.tile(AM, (4, 1, 1))}[kind.rstrip("f")]
    m = lib.tensor(data)
    return lib.where(m, float("-inf"), 0.0) if kind.endswith("f") else m


def _mha(lib, kpm, am, train=False, grad=False, batch_first=True, bias=True, need=False):
    lib.manual_seed(1)
    m = lib.nn.MultiheadAttention(4, 2, batch_first=batch_first, bias=bias).train(train)
    x = lib.tensor(X if batch_first else X.transpose(1, 0, 2).copy())
    with lib.set_grad_enabled(grad):
        out, _ = m(x, x, x, key_padding_mask=_mask(lib, kpm), attn_mask=_mask(lib, am),
                   need_weights=need)
    return out.detach().numpy()


MHA_CASES = [
    dict(kpm="kpm", am=None), dict(kpm=None, am="am"), dict(kpm="kpm", am="am"),
    dict(kpm=None, am="am3d"), dict(kpm="kpmf", am=None), dict(kpm=None, am="amf"),
    dict(kpm="kpm", am=None, need=True), dict(kpm="kpm", am=None, train=True),
    dict(kpm="kpm", am=None, grad=True), dict(kpm="kpm", am=None, batch_first=False),
    dict(kpm="kpm", am=None, bias=False),
]


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
def test_mha_fully_masked_query_matches_torch(case):
    np.testing.assert_allclose(_mha(ember, **case), _mha(torch, **case), rtol=1e-5,
                               atol=1e-6)


def _layer(lib, kpm, am, train=False, grad=False, norm_first=False, act="relu", nhead=2,
           unbatched=False):
    lib.manual_seed(2)
    layer = lib.nn.TransformerEncoderLayer(4, nhead, 8, dropout=0.0, batch_first=True,
                                           norm_first=norm_first, activation=act).train(train)
    x, k = lib.tensor(X), _mask(lib, kpm)
    if unbatched:
        x, k = x[0], k[0]
    with lib.set_grad_enabled(grad):
        out = layer(x, src_key_padding_mask=k, src_mask=_mask(lib, am))
    return out.detach().numpy()


LAYER_CASES = [
    dict(kpm="kpm", am=None), dict(kpm=None, am="am"), dict(kpm="kpm", am="am"),
    dict(kpm="kpmf", am="amf"), dict(kpm=None, am="amf"), dict(kpm="kpm", am=None, act="gelu"),
    dict(kpm="kpm", am=None, norm_first=True), dict(kpm="kpm", am=None, train=True),
    dict(kpm="kpm", am=None, grad=True), dict(kpm="kpm", am=None, act="tanh"),
    dict(kpm="kpm", am=None, nhead=1), dict(kpm="kpm", am=None, unbatched=True),
]


@pytest.mark.parametrize("case", LAYER_CASES, ids=str)
def test_encoder_layer_fully_masked_query_matches_torch(case):
    def run(lib):  # "tanh" stands for a callable activation, which leaves the fused path
        act = lib.tanh if case.get("act") == "tanh" else case.get("act", "relu")
        return _layer(lib, **dict(case, act=act))

    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-5, atol=1e-5)


def test_encoder_layer_mask_dtype_errors_and_warnings_match_torch():
    """Masks are checked and made float by the layer itself, with its argument names."""
    for lib in (ember, torch):
        layer = lib.nn.TransformerEncoderLayer(4, 2, 8, batch_first=True)
        with pytest.raises(AssertionError, match="of src_key_padding_mask are supported"):
            layer(lib.tensor(X), src_key_padding_mask=lib.tensor(KPM).long())
        with pytest.warns(UserWarning, match="mismatched src_key_padding_mask and src_mask"):
            layer(lib.tensor(X), src_key_padding_mask=lib.tensor(KPM),
                  src_mask=lib.zeros(3, 3))
