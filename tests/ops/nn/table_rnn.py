"""Op-table entries for ``ember/_ops/nn/rnn.py``: whole LSTM, GRU and Elman RNN layers (one
direction each, with and without bias) against the same recurrence written with torch ops."""

from .._inputs import F
from ..spec import OpSpec


def _lstm_layer(reverse, bias=True):
    """One LSTM layer direction: ember's fused node against the same recurrence written out
    with torch ops (torch has no public single-layer function)."""
    def fn(L, gi, h0, c0, w_hh, *b):
        b_hh = b[0] if bias else None
        if L.__name__ == "ember":
            from ember._ops.nn.rnn import lstm_layer

            return lstm_layer(gi, h0, c0, w_hh, b_hh, reverse)
        h, c, seq = h0, c0, []
        steps = gi.unbind(0)
        for g_t in (steps[::-1] if reverse else steps):
            z = g_t + F(L).linear(h, w_hh, b_hh)
            i, f, g, o = z.chunk(4, -1)
            c = L.sigmoid(f) * c + L.sigmoid(i) * L.tanh(g)
            h = L.sigmoid(o) * L.tanh(c)
            seq.append(h)
        return L.stack(seq[::-1] if reverse else seq, 0), h, c
    return fn


_LSTM_SHAPES = [((4, 2, 12), (2, 3), (2, 3), (12, 3), (12,)), ((1, 3, 8), (3, 2), (3, 2), (8, 2),
                                                               (8,))]
OPS = [
    OpSpec("nn.lstm_layer", _lstm_layer(False), _LSTM_SHAPES, domain=(-1.0, 1.0)),
    OpSpec("nn.lstm_layer_reverse", _lstm_layer(True), _LSTM_SHAPES[:1], domain=(-1.0, 1.0)),
    OpSpec("nn.lstm_layer_nobias", _lstm_layer(False, bias=False),
           [s[:4] for s in _LSTM_SHAPES[:1]], domain=(-1.0, 1.0)),
]


def _gru_layer(reverse, bias=True):
    """One GRU layer direction: ember's fused node against the recurrence in torch ops."""
    def fn(L, gi, h0, w_hh, *b):
        b_hh = b[0] if bias else None
        if L.__name__ == "ember":
            from ember._ops.nn.rnn import gru_layer

            return gru_layer(gi, h0, w_hh, b_hh, reverse)
        h, seq = h0, []
        steps = gi.unbind(0)
        for g_t in (steps[::-1] if reverse else steps):
            i_r, i_z, i_n = g_t.chunk(3, -1)
            h_r, h_z, h_n = F(L).linear(h, w_hh, b_hh).chunk(3, -1)
            r, z = L.sigmoid(i_r + h_r), L.sigmoid(i_z + h_z)
            n = L.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            seq.append(h)
        return L.stack(seq[::-1] if reverse else seq, 0), h
    return fn


_GRU_SHAPES = [((4, 2, 9), (2, 3), (9, 3), (9,)), ((1, 3, 6), (3, 2), (6, 2), (6,))]
OPS += [
    OpSpec("nn.gru_layer", _gru_layer(False), _GRU_SHAPES, domain=(-1.0, 1.0)),
    OpSpec("nn.gru_layer_reverse", _gru_layer(True), _GRU_SHAPES[:1], domain=(-1.0, 1.0)),
    OpSpec("nn.gru_layer_nobias", _gru_layer(False, bias=False),
           [s[:3] for s in _GRU_SHAPES[:1]], domain=(-1.0, 1.0)),
]


def _rnn_layer(reverse, relu, bias=True):
    """One Elman RNN layer direction: ember's fused node against the recurrence in torch ops."""
    def fn(L, gi, h0, w_hh, *b):
        b_hh = b[0] if bias else None
        if L.__name__ == "ember":
            from ember._ops.nn.rnn import rnn_layer

            return rnn_layer(gi, h0, w_hh, b_hh, reverse, relu)
        act = L.relu if relu else L.tanh
        h, seq = h0, []
        steps = gi.unbind(0)
        for g_t in (steps[::-1] if reverse else steps):
            h = act(g_t + F(L).linear(h, w_hh, b_hh))
            seq.append(h)
        return L.stack(seq[::-1] if reverse else seq, 0), h
    return fn


_RNN_SHAPES = [((4, 2, 3), (2, 3), (3, 3), (3,)), ((1, 3, 2), (3, 2), (2, 2), (2,))]
OPS += [
    OpSpec("nn.rnn_layer_tanh", _rnn_layer(False, False), _RNN_SHAPES, domain=(-1.0, 1.0)),
    OpSpec("nn.rnn_layer_tanh_reverse_nobias", _rnn_layer(True, False, bias=False),
           [s[:3] for s in _RNN_SHAPES[:1]], domain=(-1.0, 1.0)),
    # both sides of relu's kink are reached; finite differences are not checked (a
    # pre-activation near 0 would flip under them)
    OpSpec("nn.rnn_layer_relu", _rnn_layer(False, True), _RNN_SHAPES[:1], domain=(-1.0, 1.0),
           gradcheck=False),
]
