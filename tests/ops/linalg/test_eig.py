"""linalg.eig and eigvals against torch: complex results, refusals, the phase-dependence error,
gradients of real and complex inputs (the op table sweeps the rest)."""

import numpy as np
import pytest

import ember


def _both(torch, fn):
    """(type name, message) of what ``fn(lib)`` raises, for ember and torch."""
    out = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        out.append((type(info.value).__name__, str(info.value)))
    return out


@pytest.mark.parametrize("make", [
    lambda L: L.linalg.eig(L.ones(2, 3)),
    lambda L: L.linalg.eigvals(L.ones(3)),
    lambda L: L.linalg.eig(L.ones(2, 2, dtype=L.int64)),
    lambda L: L.linalg.eigvals(L.ones(2, 2, dtype=L.float16)),
    lambda L: L.linalg.eig(L.tensor([[float("nan"), 1.0], [1.0, 1.0]])),
])
def test_refusals_match_torch(torch, make):
    e, t = _both(torch, make)
    assert e == t


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_values_dtypes_and_reconstruction(torch, dtype, rng):
    a = rng.standard_normal((2, 4, 4))
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal((2, 4, 4))
    a = a.astype(dtype)
    ew, ev = ember.linalg.eig(ember.tensor(a))
    tw, tv = torch.linalg.eig(torch.tensor(a))
    assert str(ew.dtype) == str(tw.dtype) and str(ev.dtype) == str(tv.dtype)
    tol = 1e-4 if dtype in ("float32", "complex64") else 1e-10
    np.testing.assert_allclose(ew.numpy(), tw.numpy(), atol=tol)
    # eigenvectors agree up to a sign or phase per column (LAPACKs may differ there)
    np.testing.assert_allclose(np.abs(ev.numpy()), np.abs(tv.numpy()), atol=tol)
    recon = ev.numpy() * ew.numpy()[..., None, :]
    np.testing.assert_allclose(a @ ev.numpy(), recon, atol=10 * tol)
    np.testing.assert_allclose(ember.linalg.eigvals(ember.tensor(a)).numpy(), tw.numpy(),
                               atol=tol)


def test_real_matrix_with_real_eigenvalues_still_gives_complex(torch):
    a = [[2.0, 0.0], [0.0, 3.0]]
    assert ember.linalg.eigvals(ember.tensor(a)).dtype == ember.complex64
    assert torch.linalg.eigvals(torch.tensor(a)).dtype == torch.complex64
    w, v = ember.linalg.eig(ember.zeros(3, 0, 0))
    assert tuple(w.shape) == (3, 0) and tuple(v.shape) == (3, 0, 0)


def test_complex_input_gradients_match_torch(torch, rng):
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    grads = []
    for lib in (ember, torch):
        A = lib.tensor(a, requires_grad=True)
        w, v = lib.linalg.eig(A)
        loss = (w * w.conj()).real.sum() + ((v * v.conj()).real * lib.arange(3.0)).sum()
        grads.append(lib.autograd.grad(loss, A)[0].numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-10)


def test_phase_dependent_loss_is_refused_like_torch(torch, rng):
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))

    def loss(lib):
        A = lib.tensor(a, requires_grad=True)
        lib.linalg.eig(A)[1].real.sum().backward()

    e, t = _both(torch, loss)
    assert e == t
