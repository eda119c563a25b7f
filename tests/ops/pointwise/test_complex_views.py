"""Gradients through the ``real``/``imag`` views of complex tensors."""

import numpy as np

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
