"""Complex autograd against PyTorch's convention (the gradient is the conjugate Wirtinger
derivative): the ``real``/``imag`` views, and products and quotients of complex tensors."""

import numpy as np
import pytest

import ember


def test_gradients_through_real_and_imag_have_gradients(torch):
    """Regression: the backward of ``.real``/``.imag`` built its result from raw arrays, so a
    gradient taken with ``create_graph=True`` had no graph and second derivatives through
    them (of ``fft(x).real``, say) failed with "does not require grad"."""
    z = np.array([1 + 2j, -0.5 + 0.25j, 3 - 1j])

    def second(L):
        x = L.tensor(z, requires_grad=True)
        y = (x.real * x.imag * x.real + x.imag * x.imag).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        (gg,) = L.autograd.grad((g.real * g.imag + g.imag).sum(), x)
        return g.detach().resolve_conj().numpy(), gg.resolve_conj().numpy()

    (eg, egg), (tg, tgg) = second(ember), second(torch)
    np.testing.assert_allclose(eg, tg, rtol=1e-12)
    np.testing.assert_allclose(egg, tgg, rtol=1e-12)


Z = np.array([1 + 2j, -0.5 + 0.3j, 0.7 - 1.1j])
W = np.array([0.3 - 0.4j, 1.2 + 0.5j, -0.8 + 0.1j])


@pytest.mark.parametrize("name,fn", [
    ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y),
    ("mul_real_operand", lambda x, y: x.real * y),
    ("div_by_real", lambda x, y: x / y.imag),
    ("sum_then_mul", lambda x, y: x.sum() * y),
    ("mul_python_complex", lambda x, y: x * (2 + 1j) + y / (1 - 3j)),
    ("mul_broadcast", lambda x, y: x.reshape(3, 1) * y),
])
@pytest.mark.parametrize("create_graph", [False, True])
def test_products_and_quotients_follow_torch(torch, name, fn, create_graph):
    """Regression: ``mul``/``div`` multiplied by the derivative itself instead of its
    conjugate, so every gradient through a complex product (a spectral filter ``X * H``, say)
    had the wrong sign in its imaginary part."""

    def grads(L):
        x, y = L.tensor(Z, requires_grad=True), L.tensor(W, requires_grad=True)
        r = fn(x, y)
        loss = (r.real * 0.7 + r.imag * 1.3).sum()
        gx, gy = L.autograd.grad(loss, [x, y], create_graph=create_graph)
        return [g.detach().resolve_conj().numpy() for g in (gx, gy)]

    for e, t in zip(grads(ember), grads(torch)):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-15)
