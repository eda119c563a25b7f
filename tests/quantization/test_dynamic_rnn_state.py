"""Dynamically quantized recurrent modules as PyTorch builds and saves them: their constructors
draw from the global random stream as torch's do (so numbers drawn after ``quantize_dynamic``
stay torch's), a freshly built module holds the same starting weights, and the state dict has
torch's keys (``_all_weight_values.<k>.param``, ``_packed_weight_ih/hh``) and round-trips."""

import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _quantize(lib, module_fn, kinds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.ao.quantization.quantize_dynamic(lib.nn.Sequential(module_fn(lib)),
                                                    {getattr(lib.nn, k) for k in kinds},
                                                    dtype=lib.qint8)


MODULES = {
    "lstm": (lambda L: L.nn.LSTM(4, 5), ["LSTM"]),
    "lstm-2-layers-bi": (lambda L: L.nn.LSTM(4, 5, num_layers=2, bidirectional=True), ["LSTM"]),
    "gru-2-layers": (lambda L: L.nn.GRU(3, 4, num_layers=2), ["GRU"]),
    "lstm-cell": (lambda L: L.nn.LSTMCell(4, 5), ["LSTMCell"]),
    "gru-cell": (lambda L: L.nn.GRUCell(4, 5), ["GRUCell"]),
    "rnn-cell": (lambda L: L.nn.RNNCell(4, 5, nonlinearity="relu"), ["RNNCell"]),
}


@pytest.mark.parametrize("name", MODULES)
def test_random_stream_after_quantizing_matches_torch(name):
    module_fn, kinds = MODULES[name]
    draws = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        _quantize(lib, module_fn, kinds)
        draws[lib] = lib.rand(3).tolist()
    assert draws[ember] == draws[torch]


@pytest.mark.parametrize("name", MODULES)
def test_state_dict_keys_and_round_trip(name):
    module_fn, kinds = MODULES[name]
    keys = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        keys[lib] = list(_quantize(lib, module_fn, kinds).state_dict())
    assert keys[ember] == keys[torch]

    ember.manual_seed(1)
    source = _quantize(ember, module_fn, kinds)
    buf = io.BytesIO()
    ember.save(source.state_dict(), buf)
    ember.manual_seed(2)  # different float weights: only the load can make them agree
    target = _quantize(ember, module_fn, kinds)
    x = ember.randn(3, 2, module_fn(ember).input_size)
    if "cell" in name:
        x = x[0]
    before = target[0](x)
    target.load_state_dict(ember.load(io.BytesIO(buf.getvalue())))
    after, want = target[0](x), source[0](x)
    first = (lambda out: out[0] if isinstance(out, tuple) else out)
    assert ember.equal(first(after), first(want))
    assert not ember.equal(first(before), first(want))


def test_missing_and_malformed_packed_entries():
    ember.manual_seed(0)
    q = _quantize(ember, MODULES["lstm"][0], ["LSTM"])
    state = q.state_dict()
    del state["0._all_weight_values.0.param"]
    result = q.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0._all_weight_values.0.param"]
    with pytest.raises(RuntimeError, match="Missing key"):
        q.load_state_dict(state)
    with pytest.raises(RuntimeError, match=r"must be a tuple \(w_ih, w_hh, b_ih, b_hh\)"):
        q.load_state_dict({"0._all_weight_values.0.param": (1, 2)})


def test_freshly_built_module_starts_with_torchs_weights():
    outs = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dyn = lib.ao.nn.quantized.dynamic
            mods = [dyn.LSTM(2, 3), dyn.GRU(2, 3, bias=False), dyn.GRUCell(2, 3),
                    dyn.LSTMCell(2, 3, bias=False), dyn.RNNCell(2, 3)]
        seq, step = lib.ones(2, 1, 2), lib.ones(1, 2)
        outs[lib] = [m(seq)[0].numpy() for m in mods[:2]] + [mods[2](step).numpy(),
                                                             mods[3](step)[0].numpy(),
                                                             mods[4](step).numpy()]
        outs[lib].append(lib.rand(2).numpy())
    for got, want in zip(outs[ember], outs[torch]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
