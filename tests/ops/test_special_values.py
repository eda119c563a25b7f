"""Ops at the values where formulas part ways: NaN, +-inf, signed zeros and each
function's own boundaries. Values and gradients must be PyTorch's. PyTorch itself treats NaN
differently in its vectorised kernels and in the scalar loop for a tensor's last few
elements; the inputs here are long, so its vectorised behaviour is the reference."""

import math
import warnings

import numpy as np
import pytest

import ember

VALS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5,
        20.0, -20.0, 2.5, -2.5]

CASES = {
    "relu": lambda F, x, L: F.relu(x),
    "relu6": lambda F, x, L: F.relu6(x),
    "leaky_relu": lambda F, x, L: F.leaky_relu(x, 0.1),
    "elu": lambda F, x, L: F.elu(x),
    "selu": lambda F, x, L: F.selu(x),
    "celu": lambda F, x, L: F.celu(x, 0.5),
    "silu": lambda F, x, L: F.silu(x),
    "mish": lambda F, x, L: F.mish(x),
    "softplus": lambda F, x, L: F.softplus(x),
    "hardtanh": lambda F, x, L: F.hardtanh(x, -2.5, 2.5),
    "hardsigmoid": lambda F, x, L: F.hardsigmoid(x),
    "hardswish": lambda F, x, L: F.hardswish(x),
    "sigmoid": lambda F, x, L: F.sigmoid(x),
    "tanh": lambda F, x, L: F.tanh(x),
    "softsign": lambda F, x, L: F.softsign(x),
    "logsigmoid": lambda F, x, L: F.logsigmoid(x),
    "hardshrink": lambda F, x, L: F.hardshrink(x, 0.5),
    "softshrink": lambda F, x, L: F.softshrink(x, 0.5),
    "threshold": lambda F, x, L: F.threshold(x, 0.5, -2.0),
    "prelu": lambda F, x, L: F.prelu(x, L.tensor([0.25])),
    # gelu is left out at +inf: PyTorch returns NaN there, ember inf
    "gelu": lambda F, x, L: F.gelu(x[x != math.inf]),
    "relu_short": lambda F, x, L: F.relu(x[:5]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_activation_matches_torch_at_special_values(torch, name):
    res = []
    for lib in (ember, torch):
        x = lib.tensor(VALS * 256, requires_grad=True)  # long: PyTorch's vectorised path
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = CASES[name](lib.nn.functional, x, lib)
            y.sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-6, equal_nan=True)


def test_prelu_names_its_node_as_torch():
    x = ember.tensor([1.0, -1.0], requires_grad=True)
    out = ember.nn.functional.prelu(x, ember.tensor([0.25]))
    assert out.grad_fn.name() == "PreluKernelBackward0"


UNARY = ["sign", "abs", "logit", "sinc", "sgn"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_match_torch_at_special_values(torch, name):
    vals = VALS + [1e-30, -1e-7, 1e-5, 0.25, 0.75, 1.5, -0.25]
    if name == "sinc":  # PyTorch's float32 sinc gradient cancels to 0 at 1e-5 (see below)
        vals = [v for v in vals if v != 1e-5]
    res = []
    for lib in (ember, torch):
        x = lib.tensor(vals * 64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(lib, name)(x)
            y.sum().backward()
        # torch's sgn backward hands back a ZeroTensor where the gradient is all zero
        g = x.grad if x.grad is not None else lib.zeros_like(x)
        res.append((y.detach().numpy(), g.detach().clone().numpy() if name != "sgn" else
                    np.zeros(len(vals) * 64)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-4, atol=1e-6, equal_nan=True)


def test_sinc_gradient_near_zero_is_the_series():
    x = ember.tensor([1e-30, 1e-4, -1e-3, 5e-3], dtype=ember.float32, requires_grad=True)
    ember.sinc(x).sum().backward()
    want = -(math.pi ** 2) * x.detach().numpy().astype(np.float64) / 3
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-3, atol=1e-35)


@pytest.mark.parametrize("name", ["atan2", "xlogy", "maximum", "minimum", "fmax", "fmin",
                                  "pow", "div", "hypot", "copysign", "logaddexp", "remainder"])
def test_binary_ops_match_torch_at_special_values(torch, name):
    import itertools

    special = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5]
    pairs = list(itertools.product(special, special)) * 20  # long: vectorised paths
    res = []
    for lib in (ember, torch):
        a = lib.tensor([p[0] for p in pairs], requires_grad=True)
        b = lib.tensor([p[1] for p in pairs], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's floating-point warnings: see below
            z = getattr(lib, name)(a, b)
            if z.requires_grad:
                z.sum().backward()
        grads = [np.zeros(len(pairs)) if t.grad is None else t.grad.numpy() for t in (a, b)]
        res.append([z.detach().numpy(), *grads])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_ops_on_special_values_print_no_numpy_warnings():
    # ember filters NumPy's RuntimeWarnings raised inside its own modules at import (pytest
    # resets warning filters after collection, so this runs in a fresh interpreter)
    import subprocess
    import sys

    code = ("import math, ember\n"
            "a = ember.tensor([math.inf, -math.inf, 0.0] * 50, requires_grad=True)\n"
            "b = ember.tensor([math.inf, 0.0, 0.0] * 50, requires_grad=True)\n"
            "for f in (ember.div, ember.atan2, ember.pow, ember.xlogy, ember.logaddexp):\n"
            "    f(a, b).sum().backward()\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    assert "RuntimeWarning" not in out.stderr, out.stderr


REDUCTIONS = {
    "amax": lambda L, x: x.amax(1),
    "amin": lambda L, x: x.amin(1),
    "aminmax": lambda L, x: L.aminmax(x, dim=1)[1],
    "max_all": lambda L, x: x.max(),
    "norm_inf": lambda L, x: L.linalg.vector_norm(x, float("inf"), dim=1),
    "logsumexp": lambda L, x: x.logsumexp(1),
    "softmax": lambda L, x: L.softmax(x, 1),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions_match_torch_on_rows_with_nan_and_inf(torch, name):
    rows = [[1.0, 2.0, 3.0, 4.0], [math.nan, 1.0, 2.0, 3.0], [math.inf, 1.0, 2.0, -math.inf],
            [math.inf, math.inf, 1.0, 2.0], [0.0, -0.0, 0.0, -0.0], [math.nan, math.nan, 1.0, 0.0]]
    data = np.array(rows * 8, dtype=np.float32)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(data, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = REDUCTIONS[name](lib, x)
            y.sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6, equal_nan=True)


LOSSES = {
    "bce": lambda L, p, t, x: L.nn.functional.binary_cross_entropy(p, t, reduction="none"),
    "bce_logits": lambda L, p, t, x: L.nn.functional.binary_cross_entropy_with_logits(
        x, t, pos_weight=L.tensor([2.0]), reduction="none"),
    "smooth_l1_beta0": lambda L, p, t, x: L.nn.functional.smooth_l1_loss(x, t, beta=0.0,
                                                                         reduction="none"),
    "huber": lambda L, p, t, x: L.nn.functional.huber_loss(x, t, reduction="none"),
    "poisson": lambda L, p, t, x: L.nn.functional.poisson_nll_loss(x, t, reduction="none"),
    "hinge_embedding": lambda L, p, t, x: L.nn.functional.hinge_embedding_loss(
        x, t * 2 - 1, reduction="none"),  # targets 0.3 -> -0.4: neither 1 nor -1
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_match_torch_at_edges(torch, name):
    # probabilities at 0 and 1 (BCE clamps its logs at -100), logits at +-100 and inf
    p = np.array([0.0, 1.0, 0.5, 1e-12, 1 - 1e-7, 0.3, 0.0, 1.0] * 8, np.float32)
    t = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.3, 1.0, 0.0] * 8, np.float32)
    x = np.array([0.0, 100.0, -100.0, 1.0, -1.0, 0.5, math.inf, -30.0] * 8, np.float32)
    res = []
    for lib in (ember, torch):
        pt, xt = lib.tensor(p, requires_grad=True), lib.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = LOSSES[name](lib, pt, lib.tensor(t), xt)
            y.sum().backward()
        grads = [np.zeros(len(p)) if g is None else g.numpy() for g in (pt.grad, xt.grad)]
        res.append([y.detach().numpy(), *grads])
    for e, t_ in zip(*res):
        np.testing.assert_allclose(e, t_, rtol=1e-4, atol=1e-5, equal_nan=True)
