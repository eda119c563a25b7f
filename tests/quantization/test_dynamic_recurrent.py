"""Dynamic quantization of GRU and the recurrent cells, which ``quantize_dynamic`` swaps in by
default as torch does (ember used to leave them float, so outputs silently differed)."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _model(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return lib.ao.quantization.quantize_dynamic(nn.ModuleList([
        nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True), nn.LSTMCell(3, 4),
        nn.GRUCell(3, 4), nn.RNNCell(3, 4), nn.RNNCell(3, 4, nonlinearity="relu"),
        nn.GRU(3, 4)]))


def test_default_dynamic_quantization_swaps_gru_and_cells_like_torch():
    assert str(_model(ember)) == str(_model(torch))


def test_quantized_gru_and_cells_match_torch():
    rng = np.random.default_rng(0)
    seq = rng.standard_normal((2, 5, 3)).astype(np.float32)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    h = rng.standard_normal((2, 4)).astype(np.float32)
    results = []
    for lib in (torch, ember):
        m = _model(lib)
        t = lib.from_numpy
        out, h_n = m[0](t(seq))
        got = [out, h_n, *m[1](t(x), (t(h), t(h))), m[2](t(x), t(h)), m[2](t(x)),
               m[3](t(x), t(h)), m[4](t(x)), m[5](t(seq.transpose(1, 0, 2).copy()))[0]]
        results.append([np.asarray(g.detach().numpy()) for g in got])
    for theirs, ours in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_cells_want_two_dimensional_input():
    cell = _model(ember)[2]
    with pytest.raises(RuntimeError, match="input_size"):
        cell(ember.ones(3))
