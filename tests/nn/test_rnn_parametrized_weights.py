"""RNN modules read parametrized weights as PyTorch does (weight-drop, weight_norm).

Regression: ember evaluated a parametrization on an RNN weight twice per forward, PyTorch four
times for the first such weight and twice for each other, so a random parametrization (the
AWD-LSTM weight-drop) left the random stream elsewhere and later draws differed.
"""

import numpy as np
import pytest

import ember


def _build(lib, cls, calls, names, **kw):
    class WeightDrop(lib.nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def forward(self, w):
            calls.append(self.name)
            return lib.nn.functional.dropout(w, 0.5, self.training)

    lib.manual_seed(0)
    m = cls(lib)(3, 4, **kw)
    for n in names:
        lib.nn.utils.parametrize.register_parametrization(m, n, WeightDrop(n))
    return m


CASES = [
    (lambda lib: lib.nn.LSTM, ["weight_hh_l0"], {}),
    (lambda lib: lib.nn.LSTM, ["weight_hh_l0", "weight_ih_l1", "bias_hh_l1"],
     {"num_layers": 2, "bidirectional": True}),
    (lambda lib: lib.nn.GRU, ["weight_ih_l0", "weight_hh_l0"], {"batch_first": True}),
    (lambda lib: lib.nn.RNN, ["weight_hh_l0_reverse"], {"bidirectional": True}),
]


@pytest.mark.parametrize("cls,names,kw", CASES)
@pytest.mark.parametrize("packed", [False, True])
def test_weight_drop_reads_and_draws_like_torch(torch, cls, names, kw, packed):
    t_calls, e_calls = [], []
    tm = _build(torch, cls, t_calls, names, **kw)
    em = _build(ember, cls, e_calls, names, **kw)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    outs = []
    for lib, m in ((torch, tm), (ember, em)):
        lib.manual_seed(1)
        inp = lib.from_numpy(x)
        if packed:
            inp = lib.nn.utils.rnn.pack_padded_sequence(inp, lib.tensor([5, 3]),
                                                        batch_first=True)
        elif not kw.get("batch_first"):
            inp = inp.transpose(0, 1)
        out = m(inp)[0]
        if packed:
            out = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)[0]
        outs.append((out.detach().numpy(), lib.rand(1).item()))
    assert e_calls == t_calls
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-5, atol=1e-6)
    assert outs[1][1] == outs[0][1]


def test_plain_and_weight_norm_rnn_unchanged(torch):
    ember.manual_seed(0)
    m = ember.nn.utils.parametrizations.weight_norm(ember.nn.LSTM(3, 4), name="weight_hh_l0")
    out = m(ember.ones(5, 2, 3))[0]
    assert out.shape == (5, 2, 4) and "_forward_weights" not in m.__dict__
    out.sum().backward()  # the gradient reaches the weight-norm's own parameters
    assert m.parametrizations.weight_hh_l0.original0.grad is not None
