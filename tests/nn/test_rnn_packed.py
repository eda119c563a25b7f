"""PackedSequence and RNN layers on packed input against torch."""

import numpy as np
import pytest

import ember
import ember.nn as enn
from ember.nn.utils import rnn as ernn

from ._helpers import copy_params, pair, same


def test_pack_and_pad_roundtrip_match_torch(torch, rng):
    from torch.nn.utils import rnn as trnn

    x = rng.standard_normal((5, 3, 2)).astype(np.float32)
    for lengths, enforce in (([5, 3, 1], True), ([2, 5, 3], False)):
        ex, tx = pair(torch, x)
        ep = ernn.pack_padded_sequence(ex, lengths, enforce_sorted=enforce)
        tp = trnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce)
        same(ep.data, tp.data)
        np.testing.assert_array_equal(ep.batch_sizes.numpy(), tp.batch_sizes.numpy())
        if enforce:
            assert ep.sorted_indices is None and tp.sorted_indices is None
        else:
            np.testing.assert_array_equal(ep.sorted_indices.numpy(), tp.sorted_indices.numpy())
        e_pad, e_len = ernn.pad_packed_sequence(ep, batch_first=True, padding_value=-1.0,
                                                total_length=6)
        t_pad, t_len = trnn.pad_packed_sequence(tp, batch_first=True, padding_value=-1.0,
                                                total_length=6)
        same(e_pad, t_pad)
        np.testing.assert_array_equal(e_len.numpy(), t_len.numpy())
        up = rng.standard_normal(tuple(t_pad.shape)).astype(np.float32)
        (e_pad * ember.tensor(up)).sum().backward()
        (t_pad * torch.tensor(up)).sum().backward()
        same(ex.grad, tx.grad)


def test_pack_sequence_and_errors(torch):
    seqs = [ember.ones(3, 2), ember.ones(1, 2), ember.ones(2, 2)]
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        ernn.pack_sequence(seqs)
    p = ernn.pack_sequence(seqs, enforce_sorted=False)
    assert p.batch_sizes.tolist() == [3, 2, 1]
    back = ernn.unpack_sequence(p)
    assert [tuple(t.shape) for t in back] == [(3, 2), (1, 2), (2, 2)]


CASES = [
    ("lstm_bi_2layer", lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True), True),
    ("gru_bi", lambda nn: nn.GRU(3, 4, bidirectional=True), False),
    ("rnn", lambda nn: nn.RNN(3, 4), False),
]


@pytest.mark.parametrize("name,make,lstm", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("with_hx", [False, True])
def test_rnn_on_packed_input_matches_torch(torch, rng, name, make, lstm, with_hx):
    from torch.nn.utils import rnn as trnn

    t_mod, e_mod = make(torch.nn), make(enn)
    copy_params(e_mod, t_mod)
    x = rng.standard_normal((5, 3, 3)).astype(np.float32)
    lengths = [3, 5, 2]
    ex, tx = pair(torch, x)
    e_args, t_args = [ernn.pack_padded_sequence(ex, lengths, enforce_sorted=False)], \
        [trnn.pack_padded_sequence(tx, lengths, enforce_sorted=False)]
    hx_pairs = []
    if with_hx:
        layers = t_mod.num_layers * (2 if t_mod.bidirectional else 1)
        hx_pairs = [pair(torch, rng.standard_normal((layers, 3, 4)).astype(np.float32))
                    for _ in range(2 if lstm else 1)]
        e_args.append(tuple(p[0] for p in hx_pairs) if lstm else hx_pairs[0][0])
        t_args.append(tuple(p[1] for p in hx_pairs) if lstm else hx_pairs[0][1])
    e_out, e_h = e_mod(*e_args)
    t_out, t_h = t_mod(*t_args)
    same(e_out.data, t_out.data, atol=2e-5)
    e_hs = list(e_h) if lstm else [e_h]
    t_hs = list(t_h) if lstm else [t_h]
    e_pad, _ = ernn.pad_packed_sequence(e_out)
    t_pad, _ = trnn.pad_packed_sequence(t_out)
    same(e_pad, t_pad, atol=2e-5)
    e_loss = (e_pad * e_pad).sum()
    t_loss = (t_pad * t_pad).sum()
    for e, t in zip(e_hs, t_hs):
        same(e, t, atol=2e-5)
        e_loss = e_loss + e.sum()
        t_loss = t_loss + t.sum()
    e_loss.backward()
    t_loss.backward()
    same(ex.grad, tx.grad, atol=5e-5, rtol=1e-4)
    for e, t in hx_pairs:
        same(e.grad, t.grad, atol=5e-5, rtol=1e-4)
    t_params = dict(t_mod.named_parameters())
    for n, p in e_mod.named_parameters():
        same(p.grad, t_params[n].grad, atol=1e-4, rtol=1e-4)
