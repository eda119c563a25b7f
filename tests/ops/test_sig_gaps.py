"""Gaps found by the audio programs (tests/programs/sig_*) in complex gradients, compared
with PyTorch: a complex Python number in ``tensor * (1 + 2j)`` reaches the differentiable
(create_graph) backward as a NumPy complex64 scalar and must be conjugated there too, and
``add``/``sub`` with a complex ``alpha`` give ``other`` the gradient times conj(alpha)."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

FUNCS = {
    "mul scalar": lambda c, d: c * (1 + 2j) + d,
    "scalar mul": lambda c, d: (0.5 - 1j) * c * d,
    "div scalar": lambda c, d: c / (1 + 2j) - d,
    "rdiv": lambda c, d: (1 + 2j) / c + d,
    "mul_": lambda c, d: (c * d).mul_(1 - 3j),
    "add alpha": lambda c, d: c.add(d, alpha=1j),
    "sub alpha": lambda c, d: c.sub(d, alpha=2 - 1j),
    "add alpha real": lambda c, d: torch_or_ember(c).add(c, d, alpha=2.5),
    "sum times scalar": lambda c, d: (c * d).sum() * (3 + 1j),
}


def torch_or_ember(t):
    return torch if isinstance(t, torch.Tensor) else ember


def _grads(lib, name, create_graph):
    c = lib.tensor([0.5 + 0.3j, -1.0 + 0.2j, 2.0 - 1j], requires_grad=True)
    d = lib.tensor([1.5 - 0.3j, 0.4 + 0.1j, -0.7 + 1j], requires_grad=True)
    out = FUNCS[name](c, d)
    loss = (out * out.conj()).real.sum() + out.imag.sum()
    grads = lib.autograd.grad(loss, (c, d), create_graph=create_graph)
    result = [g.detach().numpy() for g in grads]
    if create_graph:  # and a second-order gradient through them
        result.append(lib.autograd.grad(grads[0].abs().sum(), c)[0].numpy())
    return result


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("create_graph", [False, True])
def test_complex_scalar_gradients_as_torch(name, create_graph):
    got = _grads(ember, name, create_graph)
    want = _grads(torch, name, create_graph)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
