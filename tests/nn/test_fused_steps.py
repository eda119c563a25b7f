"""The fused LSTM step node (``LSTMPointwise``): first and second order gradients against
torch, with the state gradient reached or not."""

import numpy as np
import pytest

import ember

from ._helpers import same


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
