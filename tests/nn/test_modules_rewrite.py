"""Behaviour pinned down while rewriting parts of ``ember.nn.modules`` (state dicts, traversal,
constructors' checks), compared with PyTorch."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import pytest

import ember

torch = pytest.importorskip("torch")

LIBS = [ember, torch]


def _rnn_error(lib, mode, **kw):
    args = dict(input_size=3, hidden_size=4)
    args.update(kw)
    try:
        lib.nn.modules.rnn.RNNBase(mode, **args)
    except Exception as e:  # noqa: BLE001 -- the exception itself is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("mode, kw", [
    ("LSTM", dict(input_size=0)),
    ("LSTM", dict(input_size=-2)),
    ("LSTM", dict(input_size=2.5)),
    ("LSTM", dict(input_size=0, hidden_size=4.0)),
    ("LSTM", dict(input_size=2.5, hidden_size=0)),
    ("LSTM", dict(hidden_size=4.0, num_layers=0)),
    ("LSTM", dict(dropout=2, hidden_size=0)),
    ("LSTM", dict(dropout=True)),
    ("LSTM", dict(proj_size=-1, num_layers=0)),
    ("LSTM", dict(proj_size=4)),
    ("FOO", dict()),
    ("FOO", dict(hidden_size=0)),
])
def test_rnn_constructor_checks_match_torch(mode, kw):
    # input_size and the mode were not checked before the rewrite (a zero-width LSTM was built,
    # an unknown mode raised KeyError)
    want = _rnn_error(torch, mode, **kw)
    assert want is not None
    assert _rnn_error(ember, mode, **kw) == want


def test_rnn_all_weights_names_match_torch():
    got = ember.nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    want = torch.nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    assert got._all_weights == want._all_weights
    assert got._flat_weights_names == want._flat_weights_names
    assert list(got.state_dict()) == list(want.state_dict())


def test_state_dict_positional_arguments_warn_as_torch():
    for lib in LIBS:
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        dest = OrderedDict()
        with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
            out = net.state_dict(dest, "p.")
        assert out is dest and not hasattr(dest, "_metadata")
        assert list(dest) == ["p.0.weight", "p.0.bias", "p.1.weight", "p.1.bias",
                              "p.1.running_mean", "p.1.running_var", "p.1.num_batches_tracked"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            meta = net.state_dict(prefix="q.")._metadata
        assert dict(meta) == {"q": {"version": 1}, "q.0": {"version": 1},
                              "q.1": {"version": 2}}


def test_state_dict_skips_none_and_non_persistent_and_keeps_vars():
    for lib in LIBS:
        m = lib.nn.Linear(2, 2)
        m.register_buffer("gone", None)
        m.register_parameter("nothing", None)
        m.register_buffer("scratch", lib.ones(1), persistent=False)
        m.register_buffer("kept", lib.ones(1))
        assert list(m.state_dict()) == ["weight", "bias", "kept"]
        assert m.state_dict(keep_vars=True)["weight"] is m.weight
        assert m.state_dict()["weight"].requires_grad is False


def test_named_modules_memo_prefix_and_duplicates_match_torch():
    def names(lib, **kw):
        inner = lib.nn.Sequential(lib.nn.ReLU())
        net = lib.nn.Sequential(lib.nn.Linear(1, 1), inner)
        net.add_module("dup", net[0])
        net.add_module("none", None)
        net.add_module("again", inner)
        if kw.pop("skip_inner", False):
            kw["memo"] = {inner}
        return [n for n, _ in net.named_modules(**kw)]

    for kw in ({}, {"prefix": "p", "remove_duplicate": False}, {"skip_inner": True}):
        assert names(ember, **dict(kw)) == names(torch, **dict(kw))


def test_delattr_removes_registrations_as_torch():
    for lib in LIBS:
        m = lib.nn.Linear(2, 2)
        m.register_buffer("nb", lib.ones(1), persistent=False)
        m.sub = lib.nn.ReLU()
        del m.nb, m.sub, m.bias
        assert "nb" not in m._buffers and not m._non_persistent_buffers_set
        assert not m._modules and list(m._parameters) == ["weight"]
        with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
            del m.foo


def test_batchnorm_old_checkpoint_keeps_counter_as_torch():
    results = []
    for lib in LIBS:
        m = lib.nn.BatchNorm1d(2)
        sd = m.state_dict()
        del sd["num_batches_tracked"]
        m.num_batches_tracked.fill_(7)
        strict_missing = m.load_state_dict(sd, strict=False).missing_keys  # version 2
        sd._metadata[""] = {"version": 1}
        old = str(m.load_state_dict(sd))
        results.append((strict_missing, old, int(m.num_batches_tracked)))
    assert results[0] == results[1]


def test_batchnorm_counter_and_cumulative_momentum_match_torch():
    got, want = ember.nn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    for step in range(3):
        x = [[1.0 + step, 2.0], [3.0, 5.0 * step], [0.5, 1.0]]
        got(ember.tensor(x))
        want(torch.tensor(x))
    assert int(got.num_batches_tracked) == int(want.num_batches_tracked) == 3
    assert got.running_mean.tolist() == pytest.approx(want.running_mean.tolist(), rel=1e-6)
    assert got.running_var.tolist() == pytest.approx(want.running_var.tolist(), rel=1e-6)


def test_lazy_state_dict_keeps_placeholders_as_torch():
    for lib in LIBS:
        m = lib.nn.LazyLinear(3)
        m.register_buffer("real", lib.ones(1))
        sd = m.state_dict()
        assert sd["bias"] is m.bias and type(sd["weight"]).__name__ == "UninitializedParameter"
        assert sd["real"] is not m.real
        m(lib.ones(2, 4))
        assert m.state_dict()["weight"] is not m.weight


def test_multihead_attention_registration_matches_torch():
    for kw in ({}, {"kdim": 3, "vdim": 5}, {"bias": False, "add_bias_kv": True}):
        ember.manual_seed(0)
        torch.manual_seed(0)
        got, want = ember.nn.MultiheadAttention(8, 2, **kw), torch.nn.MultiheadAttention(8, 2,
                                                                                         **kw)
        assert list(got._parameters) == list(want._parameters)
        assert list(got.state_dict()) == list(want.state_dict())
        assert got.head_dim == want.head_dim and got.kdim == want.kdim
    for lib in LIBS:
        with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
            lib.nn.MultiheadAttention(7, 2)
        with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
            lib.nn.MultiheadAttention(8, 0)


def test_embedding_bag_repr_and_from_pretrained_match_torch():
    reprs = []
    for lib in LIBS:
        table = lib.arange(15.0).reshape(5, 3)
        bag = lib.nn.EmbeddingBag.from_pretrained(table, mode="sum", padding_idx=-1,
                                                  max_norm=2.0, include_last_offset=True)
        reprs.append((repr(bag), bag.weight.requires_grad, bag.padding_idx))
        with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
            lib.nn.EmbeddingBag(5, 3, padding_idx=5)
    assert reprs[0] == reprs[1]


def test_linear_error_for_a_wrong_width_names_the_layer():
    fc = ember.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"last dimension \(4\) must equal in_features \(3\)"):
        fc(ember.ones(5, 4))
    assert fc(ember.ones(5, 3)).shape == (5, 2)
