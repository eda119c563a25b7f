"""torch.nn.grad (conv{1,2,3}d_input / _weight) against torch, and the names
torch.nn.functional shares with torch (pdist, rrelu_, the grad module)."""

import numpy as np
import pytest

import ember

# (nd, input shape, weight shape, stride, padding, dilation, groups)
CASES = [
    (1, (2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    (1, (1, 4, 10), (6, 2, 2), 3, 1, 2, 2),
    (2, (2, 3, 7, 7), (4, 3, 3, 3), 1, 0, 1, 1),
    (2, (1, 4, 8, 7), (4, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    (2, (1, 2, 8, 8), (3, 2, 3, 3), 2, 1, 1, 1),  # the input size is not implied by the output
    (3, (1, 2, 5, 6, 5), (2, 2, 2, 3, 2), (1, 2, 1), 1, 1, 1),
]


def _conv(lib, nd):
    return getattr(lib.nn.functional, f"conv{nd}d")


@pytest.mark.parametrize("case", CASES)
def test_input_and_weight_gradients_match_torch(torch, rng, case):
    nd, xs, ws, stride, padding, dilation, groups = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out_shape = _conv(torch, nd)(torch.tensor(x), torch.tensor(w), None, stride, padding,
                                 dilation, groups).shape
    g = rng.standard_normal(tuple(out_shape))
    results = []
    for lib in (ember, torch):
        grad = lib.nn.grad
        gi = getattr(grad, f"conv{nd}d_input")(xs, lib.tensor(w), lib.tensor(g), stride, padding,
                                               dilation, groups)
        gw = getattr(grad, f"conv{nd}d_weight")(lib.tensor(x), ws, lib.tensor(g), stride,
                                                padding, dilation, groups)
        results.append((gi.numpy(), gw.numpy()))
    for e, t in zip(*results):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)
    # and they are the gradients autograd computes through the convolution
    X, W = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    out = _conv(ember, nd)(X, W, None, stride, padding, dilation, groups)
    gx, gw = ember.autograd.grad(out, (X, W), ember.tensor(g))
    np.testing.assert_allclose(results[0][0], gx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[0][1], gw.numpy(), rtol=1e-12, atol=1e-12)


def test_results_are_differentiable_like_torch(torch, rng):
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((1, 3, 3, 3))
    grads = []
    for lib in (ember, torch):
        W, G = lib.tensor(w, requires_grad=True), lib.tensor(g, requires_grad=True)
        X = lib.tensor(x, requires_grad=True)
        loss = (lib.nn.grad.conv2d_input(x.shape, W, G) ** 2).sum() \
            + (lib.nn.grad.conv2d_weight(X, w.shape, G) ** 2).sum()
        grads.append([t.numpy() for t in lib.autograd.grad(loss, (W, G, X))])
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


def test_dtype_mismatch_is_refused_like_torch(torch):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.grad.conv2d_weight(lib.ones(2, 3, 7, 7, dtype=lib.float64), (4, 3, 3, 3),
                                      lib.ones(2, 4, 5, 5))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_grad_output_of_the_wrong_size_is_refused():
    with pytest.raises(RuntimeError, match=r"gives an output of size \[2, 4, 5, 5\]"):
        ember.nn.grad.conv2d_input((2, 3, 7, 7), ember.ones(4, 3, 3, 3), ember.ones(2, 4, 6, 6))


def test_functional_shares_names_with_torch(torch, rng):
    F = ember.nn.functional
    assert F.grad is ember.nn.grad and torch.nn.functional.grad is torch.nn.grad
    assert {"pdist", "rrelu_"} <= set(F.__all__)
    a = rng.standard_normal((5, 3))
    np.testing.assert_allclose(F.pdist(ember.tensor(a), 1.5).numpy(),
                               torch.nn.functional.pdist(torch.tensor(a), 1.5).numpy(),
                               rtol=1e-12)
    for lib in (ember, torch):
        x = lib.tensor([-8.0, 1.0, -2.0])
        out = lib.nn.functional.rrelu_(x, 0.25, 0.25)
        assert out is x and x.tolist() == [-2.0, 1.0, -0.5]
        y = lib.tensor([-4.0, 3.0])
        lib.nn.functional.rrelu_(y)  # eval mode: the mean slope (1/8 + 1/3) / 2
        assert np.allclose(y.numpy(), [-4 * (1 / 8 + 1 / 3) / 2, 3.0])
