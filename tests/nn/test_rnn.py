"""RNN / LSTM / GRU and their cells against torch with copied weights: outputs, final states,
input and parameter gradients, parameter names, reprs, initialisation."""

import numpy as np
import pytest

import ember
import ember.nn as enn

from ._helpers import copy_params, pair, same


def _flat(out):
    if isinstance(out, tuple):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def check(torch, make, shape, rng, hx_shapes=None, lstm=False):
    t_mod, e_mod = make(torch.nn), make(enn)
    copy_params(e_mod, t_mod)
    assert repr(e_mod) == repr(t_mod)
    x = rng.standard_normal(shape).astype(np.float32)
    ex, tx = pair(torch, x)
    e_args, t_args = [ex], [tx]
    hx_pairs = []
    if hx_shapes is not None:
        hx_pairs = [pair(torch, rng.standard_normal(s).astype(np.float32)) for s in hx_shapes]
        es, ts = [p[0] for p in hx_pairs], [p[1] for p in hx_pairs]
        e_args.append(tuple(es) if lstm else es[0])
        t_args.append(tuple(ts) if lstm else ts[0])
    e_out, t_out = _flat(e_mod(*e_args)), _flat(t_mod(*t_args))
    assert len(e_out) == len(t_out)
    e_loss, t_loss = 0, 0
    for e, t in zip(e_out, t_out):
        same(e, t, atol=2e-5, rtol=1e-4)
        up = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        e_loss = e_loss + (e * ember.tensor(up)).sum()
        t_loss = t_loss + (t * torch.tensor(up)).sum()
    e_loss.backward()
    t_loss.backward()
    same(ex.grad, tx.grad, atol=3e-5, rtol=1e-4)
    for e, t in hx_pairs:
        same(e.grad, t.grad, atol=3e-5, rtol=1e-4)
    t_params = dict(t_mod.named_parameters())
    assert [n for n, _ in e_mod.named_parameters()] == list(t_params)
    for name, p in e_mod.named_parameters():
        same(p.grad, t_params[name].grad, atol=1e-4, rtol=1e-4)


CASES = [
    ("rnn", lambda nn: nn.RNN(3, 4), (5, 2, 3), None, False),
    ("rnn_relu_2layer_bias_off", lambda nn: nn.RNN(3, 4, 2, nonlinearity="relu", bias=False),
     (4, 2, 3), None, False),
    ("rnn_bi_batch_first_hx", lambda nn: nn.RNN(3, 4, bidirectional=True, batch_first=True),
     (2, 5, 3), [(2, 2, 4)], False),
    ("lstm", lambda nn: nn.LSTM(3, 4), (5, 2, 3), None, True),
    ("lstm_2layer_bi_batch_first", lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True,
                                                      batch_first=True),
     (2, 5, 3), None, True),
    ("lstm_hx", lambda nn: nn.LSTM(3, 4, num_layers=2), (4, 3, 3), [(2, 3, 4), (2, 3, 4)],
     True),
    ("lstm_proj", lambda nn: nn.LSTM(3, 5, proj_size=2, bidirectional=True), (4, 2, 3), None,
     True),
    ("lstm_unbatched", lambda nn: nn.LSTM(3, 4), (5, 3), [(1, 4), (1, 4)], True),
    ("gru", lambda nn: nn.GRU(3, 4), (5, 2, 3), None, False),
    ("gru_2layer_bi_batch_first", lambda nn: nn.GRU(3, 4, num_layers=2, bidirectional=True,
                                                    batch_first=True),
     (2, 5, 3), [(4, 2, 4)], False),
    ("gru_unbatched", lambda nn: nn.GRU(3, 4, bias=False), (6, 3), None, False),
]


@pytest.mark.parametrize("name,make,shape,hx,lstm", CASES, ids=[c[0] for c in CASES])
def test_recurrent_layers_match_torch(torch, rng, name, make, shape, hx, lstm):
    check(torch, make, shape, rng, hx, lstm)


CELLS = [
    ("rnn_cell", lambda nn: nn.RNNCell(3, 4), (2, 3), [(2, 4)], False),
    ("rnn_cell_relu", lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"), (2, 3), None, False),
    ("lstm_cell", lambda nn: nn.LSTMCell(3, 4), (2, 3), [(2, 4), (2, 4)], True),
    ("lstm_cell_default_state", lambda nn: nn.LSTMCell(3, 4, bias=False), (2, 3), None, True),
    ("gru_cell", lambda nn: nn.GRUCell(3, 4), (2, 3), [(2, 4)], False),
    ("gru_cell_unbatched", lambda nn: nn.GRUCell(3, 4), (3,), [(4,)], False),
]


@pytest.mark.parametrize("name,make,shape,hx,lstm", CELLS, ids=[c[0] for c in CELLS])
def test_cells_match_torch(torch, rng, name, make, shape, hx, lstm):
    check(torch, make, shape, rng, hx, lstm)


def test_lstm_state_dict_names_and_init(torch):
    e = enn.LSTM(3, 8, num_layers=2, bidirectional=True)
    t = torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True)
    assert list(e.state_dict()) == list(t.state_dict())
    for (name, p), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert tuple(p.shape) == tuple(tp.shape), name
        assert np.abs(p.detach().numpy()).max() <= 1 / np.sqrt(8)
    assert "weight_hh_l1_reverse" in dict(e.named_parameters())


def test_rnn_errors():
    with pytest.warns(UserWarning, match="dropout"):
        enn.LSTM(3, 4, dropout=0.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        enn.LSTM(3, 4, proj_size=4)
    with pytest.raises(RuntimeError, match="input_size"):
        enn.GRU(3, 4)(ember.randn(5, 2, 7))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        enn.GRU(3, 4)(ember.randn(5, 2, 3), ember.randn(1, 3, 4))


def test_lstm_dropout_between_layers_only_in_training():
    ember.manual_seed(0)
    m = enn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(5, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    c, _ = m(x)
    assert not np.allclose(c.detach().numpy(), a.detach().numpy())


def _raised(fn, *args):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001  (the type and message are what is compared)
        return type(e).__name__, str(e)
    return None


def test_rnn_constructor_and_dtype_errors_match_torch(torch):
    cases = [
        lambda nn: nn.LSTM(3, 0),
        lambda nn: nn.GRU(3, 4.0),
        lambda nn: nn.LSTM(3, 4)(nn.utils.rnn.pad_sequence([x_of(nn).double()])),
        lambda nn: nn.GRU(3, 4, batch_first=True)(x_of(nn).double().unsqueeze(0)),
        lambda nn: nn.RNN(3, 4)(nn.utils.rnn.pack_sequence([x_of(nn).double()])),
    ]

    def x_of(nn):
        lib = torch if nn is torch.nn else ember
        return lib.ones(5, 3)

    for make in cases:
        expected = _raised(make, torch.nn)
        assert expected is not None
        assert _raised(make, enn) == expected


@pytest.mark.parametrize("kind", ["parametrizations", "hook"])
def test_rnn_uses_weight_norm_reparametrized_weights(torch, rng, kind):
    # weight_norm replaces weight_hh_l0 by a computed tensor; the layer must run on it
    import warnings

    def make(nn):
        m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
        return m

    t_mod, e_mod = make(torch.nn), make(enn)
    copy_params(e_mod, t_mod)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod, nn in ((t_mod, torch.nn), (e_mod, enn)):
            if kind == "parametrizations":
                nn.utils.parametrizations.weight_norm(mod, name="weight_hh_l0")
                nn.utils.parametrizations.weight_norm(mod, name="weight_ih_l1_reverse")
            else:
                nn.utils.weight_norm(mod, name="weight_hh_l0")
    names = [n for n, _ in e_mod.named_parameters()]
    assert names == [n for n, _ in t_mod.named_parameters()]
    with ember.no_grad(), torch.no_grad():  # change g so that the weights differ from before
        for (n, p), (_, tp) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
            if n.endswith(("original0", "_g")):
                p.mul_(1.5)
                tp.mul_(1.5)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    ex, tx = pair(torch, x)
    e_out, t_out = e_mod(ex), t_mod(tx)
    same(e_out[0], t_out[0], atol=2e-5, rtol=1e-4)
    same(e_out[1], t_out[1], atol=2e-5, rtol=1e-4)
    e_out[0].sum().backward()
    t_out[0].sum().backward()
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        same(p.grad, t_params[name].grad, atol=1e-4, rtol=1e-4)
