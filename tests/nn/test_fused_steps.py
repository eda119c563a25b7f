"""The fused recurrent nodes (``LSTMPointwise``, the whole-layer ``LSTMLayer`` and
``GRULayer``): first and second order gradients against torch, with the state gradient
reached or not, and the layer node's bookkeeping (names, retain_graph, in-place checks)."""

import numpy as np
import pytest

import ember

from ._helpers import copy_params, same


@pytest.mark.parametrize("use_c", [False, True])
def test_lstm_grads_and_double_backward_match_torch(torch, rng, use_c):
    x = rng.standard_normal((5, 3, 4))
    h0, c0 = rng.standard_normal((1, 3, 6)), rng.standard_normal((1, 3, 6))
    res = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        lstm = lib.nn.LSTM(4, 6).double()
        with lib.no_grad():
            for k, p in enumerate(lstm.parameters()):
                p.copy_(lib.tensor(np.sin(np.arange(p.numel()) + k).reshape(tuple(p.shape))))
        xt = lib.tensor(x, requires_grad=True)
        ht, ct = lib.tensor(h0, requires_grad=True), lib.tensor(c0, requires_grad=True)
        out, (hn, cn) = lstm(xt, (ht, ct))
        loss = (out ** 2).sum() + ((cn ** 3).sum() if use_c else 0)
        params = [xt, ht, ct, *lstm.parameters()]
        grads = lib.autograd.grad(loss, params, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in grads), [xt, ct])
        res.append((out, cn, *grads, *second))
    for e, t in zip(*res):
        same(e, t, atol=1e-9, rtol=1e-7)


def test_lstm_layer_node_is_torchs_and_backward_runs_twice_with_retain_graph(torch, rng):
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    mods = {ember: ember.nn.LSTM(3, 4), torch: torch.nn.LSTM(3, 4)}
    copy_params(mods[ember], mods[torch])
    res = []
    for lib, lstm in mods.items():
        xt = lib.tensor(x, requires_grad=True)
        out, (hn, cn) = lstm(xt)
        assert out.grad_fn.name() == "MkldnnRnnLayerBackward0"
        loss = out.sum() + (hn ** 2).sum() + cn.mean()
        loss.backward(retain_graph=True)
        first = xt.grad.clone()
        loss.backward()
        same(xt.grad, 2 * first, atol=1e-6, rtol=1e-6)
        res.append(first)
    same(res[0], res[1], atol=3e-5, rtol=1e-4)


def test_lstm_output_changed_in_place_fails_backward_like_torch(torch):
    for lib in (ember, torch):
        out, (hn, cn) = lib.nn.LSTM(3, 4)(lib.ones(5, 2, 3, requires_grad=True))
        loss = out.sum()
        with lib.no_grad():
            out.mul_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_lstm_layer_with_mixed_dtypes_raises_like_torch(torch):
    for lib in (ember, torch):
        lstm = lib.nn.LSTM(3, 4)
        x = lib.zeros(5, 2, 3)
        h0 = lib.zeros(1, 2, 4, dtype=lib.float64)
        with pytest.raises(RuntimeError):
            lstm(x, (h0, h0))


def test_gru_grads_and_double_backward_match_torch(torch, rng):
    x = rng.standard_normal((5, 3, 4))
    h0 = rng.standard_normal((2, 3, 6))
    res = []
    for lib in (ember, torch):
        gru = lib.nn.GRU(4, 6, bidirectional=True).double()
        with lib.no_grad():
            for k, p in enumerate(gru.parameters()):
                p.copy_(lib.tensor(np.cos(np.arange(p.numel()) + k).reshape(tuple(p.shape))))
        xt, ht = lib.tensor(x, requires_grad=True), lib.tensor(h0, requires_grad=True)
        out, hn = gru(xt, ht)
        loss = (out ** 2).sum() + (hn ** 3).sum()
        params = [xt, ht, *gru.parameters()]
        grads = lib.autograd.grad(loss, params, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in grads), [xt, ht])
        res.append((out, hn, *grads, *second))
    for e, t in zip(*res):
        same(e, t, atol=1e-9, rtol=1e-7)


def test_gru_output_changed_in_place_still_backpropagates_like_torch(torch, rng):
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    mods = {ember: ember.nn.GRU(3, 4), torch: torch.nn.GRU(3, 4)}
    copy_params(mods[ember], mods[torch])
    grads = []
    for lib, gru in mods.items():
        xt = lib.tensor(x, requires_grad=True)
        out, hn = gru(xt)
        assert out.grad_fn.name() == "StackBackward0"  # torch's CPU GRU stacks its steps
        loss = out.sum() + hn.sum()
        with lib.no_grad():
            out.mul_(0)  # allowed: the stack node saves nothing
        loss.backward()
        grads.append(xt.grad)
    same(grads[0], grads[1], atol=3e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("kw", [{}, {"batch_first": True}, {"bidirectional": True},
                                {"num_layers": 2, "batch_first": True}])
@pytest.mark.parametrize("shape", [(5, 2, 3), (5, 3)])
def test_recurrent_grad_fn_names_match_torch(torch, kind, kw, shape):
    names = []
    for lib in (ember, torch):
        out, state = getattr(lib.nn, kind)(3, 4, **kw)(lib.ones(*shape))
        h = state[0] if kind == "LSTM" else state
        names.append([type(t.grad_fn).__name__ if lib is torch else t.grad_fn.name()
                      for t in (out, h)])
    assert names[0] == names[1]
