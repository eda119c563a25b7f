"""Op-table entries for nn.functional: linear, softmax family, activations, distances."""

import numpy as np

from .spec import OpSpec

U = [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),)]
U1 = [((3, 4),), ((2, 3, 4),)]
SM = [((3, 4),), ((2, 3, 4),), ((5,),)]


def _away_from(points, lo=-3.0, hi=3.0, gap=0.05):
    """A sampler that keeps inputs away from an activation's kinks (finite differences)."""
    def make_for(shape):
        def make(rng):
            x = rng.uniform(lo, hi, shape)
            for p in points:
                near = np.abs(x - p) < gap
                x[near] = p + gap * 2 * np.sign(x[near] - p + 1e-12)
            return [x]
        return make
    return make_for


def F(L):
    return L.nn.functional


def kinked(name, fn, points, **kw):
    return OpSpec(name, fn, [((3, 4),)], make=_away_from(points)((3, 4)), **kw)


OPS = [
    OpSpec("nn.linear", lambda L, x, w, b: F(L).linear(x, w, b),
           [((5, 4), (3, 4), (3,)), ((2, 5, 4), (3, 4), (3,)), ((4,), (3, 4), (3,)),
            ((0, 4), (3, 4), (3,)), ((1, 4), (3, 4), (3,))]),
    OpSpec("nn.linear_nobias", lambda L, x, w: F(L).linear(x, w), [((5, 4), (3, 4))]),
    OpSpec("nn.bilinear", lambda L, a, b, w, c: F(L).bilinear(a, b, w, c),
           [((3, 2), (3, 4), (5, 2, 4), (5,))]),
    OpSpec("nn.softmax", lambda L, x: F(L).softmax(x, dim=-1), SM),
    OpSpec("nn.softmax_dim0", lambda L, x: F(L).softmax(x, 0), [((3, 4),), ((),)]),
    OpSpec("nn.log_softmax", lambda L, x: F(L).log_softmax(x, dim=1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.log_softmax_last", lambda L, x: F(L).log_softmax(x, -1), [((5,),), ((0, 3),)]),
    OpSpec("nn.softmin", lambda L, x: F(L).softmin(x, dim=1), [((3, 4),)]),
    kinked("nn.relu", lambda L, x: F(L).relu(x), [0.0]),
    kinked("nn.relu6", lambda L, x: F(L).relu6(x * 3), [0.0, 2.0]),
    kinked("nn.leaky_relu", lambda L, x: F(L).leaky_relu(x, 0.2), [0.0]),
    kinked("nn.hardtanh", lambda L, x: F(L).hardtanh(x, -0.5, 1.0), [-0.5, 1.0]),
    kinked("nn.threshold", lambda L, x: F(L).threshold(x, 0.3, -2.0), [0.3]),
    kinked("nn.hardshrink", lambda L, x: F(L).hardshrink(x, 0.4), [-0.4, 0.4]),
    kinked("nn.softshrink", lambda L, x: F(L).softshrink(x, 0.4), [-0.4, 0.4]),
    # torch has no double backward for hardsigmoid ("not implemented"): nothing to compare
    kinked("nn.hardsigmoid", lambda L, x: F(L).hardsigmoid(x * 2), [-1.5, 1.5], gradgrad=False),
    kinked("nn.hardswish", lambda L, x: F(L).hardswish(x * 2), [-1.5, 1.5]),
    kinked("nn.prelu", lambda L, x, w: F(L).prelu(x, w), [0.0], grad_inputs=(0,)),
    OpSpec("nn.elu", lambda L, x: F(L).elu(x, 0.7), U, make=None),
    OpSpec("nn.selu", lambda L, x: F(L).selu(x), U1),
    OpSpec("nn.celu", lambda L, x: F(L).celu(x, 1.5), U1),
    OpSpec("nn.gelu", lambda L, x: F(L).gelu(x), U),
    OpSpec("nn.gelu_tanh", lambda L, x: F(L).gelu(x, approximate="tanh"), U1),
    OpSpec("nn.silu", lambda L, x: F(L).silu(x), U),
    OpSpec("nn.mish", lambda L, x: F(L).mish(x), U1),
    OpSpec("nn.sigmoid", lambda L, x: F(L).sigmoid(x), U),
    OpSpec("nn.tanh", lambda L, x: F(L).tanh(x), U1),
    OpSpec("nn.softplus", lambda L, x: F(L).softplus(x, beta=2.0, threshold=30.0), U1),
    OpSpec("nn.softsign", lambda L, x: F(L).softsign(x), U1, domain=(0.1, 2.0)),
    OpSpec("nn.logsigmoid", lambda L, x: F(L).logsigmoid(x * 10), U1),
    OpSpec("nn.tanhshrink", lambda L, x: F(L).tanhshrink(x), U1),
    OpSpec("nn.glu", lambda L, x: F(L).glu(x, dim=-1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.glu_dim0", lambda L, x: F(L).glu(x, 0), [((4, 3),)]),
    OpSpec("nn.normalize", lambda L, x: F(L).normalize(x, dim=1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.normalize_p1", lambda L, x: F(L).normalize(x, p=1.0, dim=-1), [((3, 4),)],
           domain=(0.2, 2.0)),
    OpSpec("nn.cosine_similarity", lambda L, a, b: F(L).cosine_similarity(a, b),
           [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4))]),
    OpSpec("nn.pairwise_distance", lambda L, a, b: F(L).pairwise_distance(a, b),
           [((3, 4), (3, 4)), ((4,), (4,))]),
    OpSpec("nn.pairwise_distance_p3", lambda L, a, b: F(L).pairwise_distance(a, b, p=3.0),
           [((3, 4), (3, 4))], domain=(0.3, 2.0)),
    OpSpec("nn.embedding", lambda L, i, w: F(L).embedding(i, w, padding_idx=1),
           [((2, 3), (5, 4)), ((4,), (5, 4))], int_inputs={0: (0, 5)},
           # padding_idx's row takes part in the forward but gets no gradient, by definition,
           # so finite differences disagree with it on purpose
           gradcheck=False),
    OpSpec("nn.embedding_plain", lambda L, i, w: F(L).embedding(i, w),
           [((2, 3), (5, 4))], int_inputs={0: (0, 5)}),
]

# PReLU's weight input: one slope per channel of the (3, 4) input.
OPS[[s.name for s in OPS].index("nn.prelu")].make = (
    lambda rng: [_away_from([0.0])((3, 4))(rng)[0], rng.uniform(0.1, 0.5, (4,))])
OPS[[s.name for s in OPS].index("nn.prelu")].grad_inputs = None


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
OPS += [
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
