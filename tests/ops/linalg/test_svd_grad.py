"""Gradients through ``linalg.svd``'s singular vectors, compared with torch.

The backward used to refuse any gradient reaching ``U`` or ``Vh``. It now follows the thin-SVD
rule (with the projector terms of a non-square A and the phase term of complex inputs), drops
the columns past ``min(m, n)`` of ``full_matrices`` factors as torch does, and refuses a complex
loss that depends on the singular vectors' free phases with torch's error.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _matrix(shape, dtype):
    a = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * RNG.standard_normal(shape)
    return a.astype(dtype)


def _loss(L, U, S, Vh):
    wu = L.arange(float(U.shape[-1]), dtype=L.float64) + 1
    wv = L.arange(float(Vh.shape[-1]), dtype=L.float64) - 1
    k = S.shape[-1]
    return (U.abs() ** 2 * wu).sum() + (Vh.abs() ** 3 * wv).sum() + (S ** 2).sum() \
        + ((U[..., :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]).abs().sum()


def _grads(a, full, loss=_loss):
    out = []
    for L in (torch, ember):
        x = L.from_numpy(a.copy()).requires_grad_()
        loss(L, *L.linalg.svd(x, full_matrices=full)).backward()
        out.append(x.grad.numpy())
    return out


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 5, 3)])
def test_svd_vector_gradients_match_torch(shape, dtype, full):
    want, got = _grads(_matrix(shape, dtype), full)
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_svd_float32_vector_gradient():
    a = _matrix((5, 4), np.float32)
    want, got = _grads(a, False, lambda L, U, S, Vh: U[..., 0].abs().sum() + Vh[1].abs().sum())
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_svd_phase_dependent_complex_loss_refused_like_torch():
    a = _matrix((3, 3), np.complex128)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e") as want:
        _grads(a, False, lambda L, U, S, Vh: U.real.sum())
    x = ember.from_numpy(a).requires_grad_()
    with pytest.raises(RuntimeError) as got:
        ember.linalg.svd(x)[0].real.sum().backward()
    assert str(got.value) == str(want.value)
