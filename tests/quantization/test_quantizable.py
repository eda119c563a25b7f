"""ember.ao.nn.quantizable (LSTMCell, LSTM) against torch.ao.nn.quantizable: module tree and
state_dict keys, float numerics, from_params / from_float (observers attached in eval mode),
and the DeprecationWarning of torch 2.13's eager quantization workflow functions."""

import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore")


def _e(t):
    return ember.from_numpy(t.detach().numpy().copy())


def _close(e, t, atol=1e-6):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=atol)


def _lstm_pair(torch, **kw):
    torch.manual_seed(0)
    f = torch.nn.LSTM(3, 5, **kw).eval()
    f.qconfig = torch.ao.quantization.default_qconfig
    e = ember.nn.LSTM(3, 5, **kw).eval()
    e.load_state_dict({k: _e(v) for k, v in f.state_dict().items()})
    e.qconfig = ember.ao.quantization.default_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (torch.ao.nn.quantizable.LSTM.from_float(f),
                ember.ao.nn.quantizable.LSTM.from_float(e))


LSTM_CASES = [
    {},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"num_layers": 3, "batch_first": True, "bias": False},
    {"num_layers": 2, "bidirectional": True, "bias": False},
    {"bidirectional": True},
]


@pytest.mark.parametrize("kw", LSTM_CASES)
def test_lstm_from_float_matches_torch(torch, rng, kw):
    tp, ep = _lstm_pair(torch, **kw)
    assert list(ep.state_dict()) == list(tp.state_dict())
    for k, v in tp.state_dict().items():
        np.testing.assert_array_equal(ep.state_dict()[k].numpy(), v.numpy())
    # the same modules carry observers
    observed_t = [n for n, m in tp.named_modules() if hasattr(m, "activation_post_process")]
    observed_e = [n for n, m in ep.named_modules() if hasattr(m, "activation_post_process")]
    assert observed_e == observed_t
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    a, (h, c) = tp(torch.from_numpy(x))
    b, (h2, c2) = ep(ember.from_numpy(x))
    assert tuple(b.shape) == tuple(a.shape) and tuple(h2.shape) == tuple(h.shape)
    _close(b, a)
    _close(h2, h)
    _close(c2, c)
    # given initial states, laid out (layers * directions, batch, hidden) as nn.LSTM's
    dirs = 2 if kw.get("bidirectional") else 1
    batch = 4 if kw.get("batch_first") else 6
    shape = (kw.get("num_layers", 1) * dirs, batch, 5)
    h0 = rng.standard_normal(shape).astype(np.float32)
    c0 = rng.standard_normal(shape).astype(np.float32)
    a, (h, c) = tp(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    b, (h2, c2) = ep(ember.from_numpy(x), (ember.from_numpy(h0), ember.from_numpy(c0)))
    _close(b, a)
    _close(h2, h)
    _close(c2, c)
    # the observers saw the same values
    for name in ("gates", "fgate_cx_igate_cgate", "ogate_cy"):
        ot = getattr(tp.layers[0].layer_fw.cell, name).activation_post_process
        oe = getattr(ep.layers[0].layer_fw.cell, name).activation_post_process
        assert float(oe.min_val) == pytest.approx(ot.min_val.item(), abs=1e-6)
        assert float(oe.max_val) == pytest.approx(ot.max_val.item(), abs=1e-6)


def test_lstm_constructed_tree_and_names(torch):
    kw = {"num_layers": 2, "bidirectional": True}
    t = torch.ao.nn.quantizable.LSTM(3, 4, **kw)
    e = ember.ao.nn.quantizable.LSTM(3, 4, **kw)
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():  # layer 1 takes hidden_size inputs, as PyTorch builds
        assert tuple(e.state_dict()[k].shape) == tuple(v.shape)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert e._get_name() == t._get_name() == "QuantizableLSTM"
    assert ember.ao.nn.quantizable.LSTMCell(3, 4)._get_name() == "QuantizableLSTMCell"
    assert list(ember.ao.nn.quantizable.LSTM(3, 4, bias=False).state_dict()) == \
        list(torch.ao.nn.quantizable.LSTM(3, 4, bias=False).state_dict())
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="dropout should be a number in range"):
            lib.ao.nn.quantizable.LSTM(3, 4, dropout=1.5)
    assert ember.nn.quantizable.LSTM is ember.ao.nn.quantizable.LSTM


def test_lstm_dropout_is_not_applied(torch, rng):
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.ao.nn.quantizable.LSTM(3, 4, num_layers=2, dropout=0.5).train()
        out1 = m(lib.from_numpy(x))[0].detach().numpy()
        out2 = m.eval()(lib.from_numpy(x))[0].detach().numpy()
        np.testing.assert_array_equal(out1, out2)


def test_cell_from_params_matches_lstmcell(torch, rng):
    torch.manual_seed(1)
    fc = torch.nn.LSTMCell(3, 4)
    tq = torch.ao.nn.quantizable.LSTMCell.from_params(fc.weight_ih, fc.weight_hh, fc.bias_ih,
                                                      fc.bias_hh)
    eq = ember.ao.nn.quantizable.LSTMCell.from_params(
        _e(fc.weight_ih), _e(fc.weight_hh), _e(fc.bias_ih), _e(fc.bias_hh))
    assert list(eq.state_dict()) == list(tq.state_dict())
    assert (eq.input_size, eq.hidden_size, eq.bias) == (tq.input_size, tq.hidden_size, tq.bias)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    hx = rng.standard_normal((2, 4)).astype(np.float32)
    cx = rng.standard_normal((2, 4)).astype(np.float32)
    for hidden in (None, (hx, cx)):
        ht = None if hidden is None else tuple(torch.from_numpy(v) for v in hidden)
        he = None if hidden is None else tuple(ember.from_numpy(v) for v in hidden)
        (a, b), (c, d) = tq(torch.from_numpy(x), ht), eq(ember.from_numpy(x), he)
        _close(c, a)
        _close(d, b)
    h0, c0 = eq.initialize_hidden(3)
    assert tuple(h0.shape) == (3, 4) and float(h0.abs().sum() + c0.abs().sum()) == 0.0
    qh, _ = eq.initialize_hidden(3, is_quantized=True)
    assert qh.dtype == ember.quint8


def test_cell_from_float_needs_qconfig(torch):
    for lib in (torch, ember):
        fc = lib.nn.LSTMCell(3, 4)
        with pytest.raises(AssertionError, match="must have 'qconfig'"):
            lib.ao.nn.quantizable.LSTMCell.from_float(fc)
        fc.qconfig = lib.ao.quantization.default_qconfig
        cell = lib.ao.nn.quantizable.LSTMCell.from_float(fc)
        assert cell.qconfig is fc.qconfig
        with pytest.raises(AssertionError, match="must have qconfig or qconfig"):
            lib.ao.nn.quantizable.LSTM.from_float(lib.nn.LSTM(3, 4))
        with pytest.raises(NotImplementedError, match="non-quantizable LSTM"):
            lib.ao.nn.quantizable.LSTM.from_observed(None)


WORKFLOWS = ["prepare", "convert", "prepare_qat", "quantize", "quantize_dynamic",
             "quantize_qat"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_functions_warn_deprecation(torch, name):
    def first_deprecation(lib):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            try:
                getattr(lib.ao.quantization, name)()  # warns before checking arguments
            except TypeError:
                pass
        dep = [w for w in got if issubclass(w.category, DeprecationWarning)]
        assert dep, name
        return dep[0]

    wt, we = first_deprecation(torch), first_deprecation(ember)
    assert str(we.message) == str(wt.message)
    assert we.filename == __file__  # attributed to the caller's line
    fn = getattr(ember.ao.quantization, name)
    assert fn.__deprecated__ == getattr(torch.ao.quantization, name).__deprecated__
    assert fn.__name__ == name


def test_import_and_observers_do_not_warn(torch):
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(importlib.import_module("ember.quantization"))
        ember.ao.quantization.MinMaxObserver()
        ember.ao.quantization.get_default_qconfig("x86")


def test_lstm_from_float_training_gives_qat_linears(torch):
    # (PyTorch also puts fixed-qparams fake quantizers on the gate activations; ember does not)
    for lib in (torch, ember):
        f = lib.nn.LSTM(3, 4).train()
        f.qconfig = lib.ao.quantization.get_default_qat_qconfig("x86")
        p = lib.ao.nn.quantizable.LSTM.from_float(f)
        cell = p.layers[0].layer_fw.cell
        assert p.training and type(cell.igates).__name__ == "Linear"
        assert type(cell.igates).__module__.startswith(f"{lib.__name__}.ao.nn.qat")


# -- MultiheadAttention -----------------------------------------------------------------------

def _mha_pair(torch, **kw):
    torch.manual_seed(0)
    f = torch.nn.MultiheadAttention(8, 2, **kw).eval()
    f.qconfig = torch.ao.quantization.default_qconfig
    e = ember.nn.MultiheadAttention(8, 2, **kw).eval()
    e.load_state_dict({k: _e(v) for k, v in f.state_dict().items()})
    e.qconfig = ember.ao.quantization.default_qconfig
    return f, (torch.ao.nn.quantizable.MultiheadAttention.from_float(f),
               ember.ao.nn.quantizable.MultiheadAttention.from_float(e))


MHA_CASES = [{}, {"add_zero_attn": True}, {"add_bias_kv": True},
             {"add_zero_attn": True, "add_bias_kv": True}, {"kdim": 6, "vdim": 5},
             {"bias": False}]


def _mha_calls(torch):
    mask = torch.ones(5, 4, dtype=torch.bool).triu(1)
    pad = torch.tensor([[False, False, True, False]] * 3)
    return [{}, {"attn_mask": mask}, {"key_padding_mask": pad, "average_attn_weights": False},
            {"attn_mask": torch.randn(5, 4)}, {"need_weights": False}]


@pytest.mark.parametrize("kw", MHA_CASES)
def test_mha_from_float_matches_torch(torch, kw):
    _, (tp, ep) = _mha_pair(torch, **kw)
    assert list(ep.state_dict()) == list(tp.state_dict())
    for name in ("linear_Q", "linear_K", "linear_V", "out_proj"):
        for k, v in getattr(tp, name).state_dict().items():
            np.testing.assert_array_equal(getattr(ep, name).state_dict()[k].numpy(), v.numpy())
    observed_t = [n for n, m in tp.named_modules() if hasattr(m, "activation_post_process")]
    observed_e = [n for n, m in ep.named_modules() if hasattr(m, "activation_post_process")]
    assert observed_e == observed_t
    q, k, v = torch.randn(5, 3, 8), torch.randn(4, 3, kw.get("kdim", 8)), \
        torch.randn(4, 3, kw.get("vdim", 8))
    for extra in _mha_calls(torch):
        ee = {a: _e(b) if isinstance(b, torch.Tensor) else b for a, b in extra.items()}
        o1, w1 = tp(q, k, v, **extra)
        o2, w2 = ep(_e(q), _e(k), _e(v), **ee)
        _close(o2, o1, atol=1e-6)
        if w1 is None:
            assert w2 is None
        else:
            _close(w2, w1, atol=1e-6)
    # the stubs observe the per-head attention output (before out_proj) and weights
    for name in ("quant_attn_output", "quant_attn_output_weights", "out_proj", "linear_Q"):
        ot, oe = getattr(tp, name).activation_post_process, getattr(ep, name).activation_post_process
        assert float(oe.max_val) == pytest.approx(ot.max_val.item(), abs=1e-5)
        assert float(oe.min_val) == pytest.approx(ot.min_val.item(), abs=1e-5)


def test_mha_batch_first_matches_torch(torch):
    # torch 2.13's quantizable MHA with batch_first=True does not interleave the heads'
    # outputs back (its result differs from nn.MultiheadAttention's); ember gives its numbers
    f, (tp, ep) = _mha_pair(torch, batch_first=True)
    q, k, v = torch.randn(3, 5, 8), torch.randn(3, 4, 8), torch.randn(3, 4, 8)
    for extra in ({}, {"average_attn_weights": False}, {"need_weights": False}):
        o1, w1 = tp(q, k, v, **extra)
        o2, w2 = ep(_e(q), _e(k), _e(v), **extra)
        _close(o2, o1)
        if w1 is not None:
            _close(w2, w1)
    ot, oe = tp.quant_attn_output.activation_post_process, \
        ep.quant_attn_output.activation_post_process
    assert float(oe.max_val) == pytest.approx(ot.max_val.item(), abs=1e-5)
    w_float = f(q, k, v)[1]  # the weights still agree with the float module's
    _close(ep(_e(q), _e(k), _e(v))[1], w_float)


def test_mha_tree_and_refusals(torch):
    t = torch.ao.nn.quantizable.MultiheadAttention(8, 2)
    e = ember.ao.nn.quantizable.MultiheadAttention(8, 2)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert e._get_name() == t._get_name()
    for lib, m in ((torch, t), (ember, e)):
        x = lib.randn(5, 3, 8)
        with pytest.raises(AssertionError, match="causal mask not supported"):
            m(x, x, x, is_causal=True)
        with pytest.raises(ValueError):
            m(lib.randn(5, 8), lib.randn(5, 8), lib.randn(5, 8))
        with pytest.raises(AssertionError, match="must have 'qconfig'"):
            lib.ao.nn.quantizable.MultiheadAttention.from_float(
                lib.nn.MultiheadAttention(8, 2))
        with pytest.raises(NotImplementedError, match="prepare an MHA module"):
            lib.ao.nn.quantizable.MultiheadAttention.from_observed(m)
    f = ember.nn.MultiheadAttention(8, 2).train()
    f.qconfig = ember.ao.quantization.default_qconfig
    assert not ember.ao.nn.quantizable.MultiheadAttention.from_float(f).training


@pytest.mark.parametrize("name", ["ember.ao.nn.quantizable", "ember.ao.nn.quantizable.modules.rnn",
                                  "ember.ao.nn.quantizable.modules.activation",
                                  "ember.nn.quantizable"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), extraglobs={"ember": ember},
                             optionflags=doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.attempted > 0 and result.failed == 0, result


def test_mha_mask_checks_match_torch(torch):
    def outcome(lib, **kw):
        lib.manual_seed(0)
        m = lib.ao.nn.quantizable.MultiheadAttention(8, 2).eval()
        q, k = lib.ones(5, 3, 8), lib.ones(4, 3, 8)
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            try:
                _, w = m(q, k, k, **{a: lib.tensor(*b) if isinstance(b, tuple) else b(lib)
                                     for a, b in kw.items()})
                res = ("ok", [round(v, 4) for v in w[0, 0].tolist()])
            except Exception as e:  # noqa: BLE001 - the exception itself is compared
                res = (type(e).__name__, str(e))
        return res, [(w.category.__name__, str(w.message)) for w in got]

    cases = [
        {"key_padding_mask": ([[0.0, 0.0, -1.0, 0.0]] * 3,)},
        {"key_padding_mask": lambda lib: lib.tensor([[0, 0, 1, 0]] * 3, dtype=lib.uint8),
         "attn_mask": lambda lib: lib.zeros(5, 4, dtype=lib.uint8)},
        {"attn_mask": lambda lib: lib.zeros(5, 4, dtype=lib.int32)},
        {"attn_mask": lambda lib: lib.zeros(6, 3, 4)},
        {"attn_mask": lambda lib: lib.zeros(5, 5)},
    ]
    for kw in cases:
        assert outcome(ember, **kw) == outcome(torch, **kw), kw
