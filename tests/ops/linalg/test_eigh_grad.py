"""The gradient of ``linalg.eigh`` is Hermitian, as torch's: only the skew-Hermitian part of
``V^H gV`` moves the eigenvectors of a symmetric matrix. (Dividing all of ``V^H gV`` by the
eigenvalue gaps gave a non-symmetric gradient whose symmetric part was torch's.)"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
_A = RNG.standard_normal((4, 4))
SYM = _A @ _A.T + np.eye(4)
_C = RNG.standard_normal((2, 3, 3)) + 1j * RNG.standard_normal((2, 3, 3))
HERM = _C @ _C.conj().swapaxes(-1, -2) + np.eye(3)
WEIGHTS = np.arange(16.0).reshape(4, 4)


def _losses(L, w, v):
    return {
        "eigvec_abs": w.sum() + v[..., :, 0].abs().sum(),
        "eigvec_weighted_sq": ((v.abs() ** 2) * L.from_numpy(WEIGHTS[: v.shape[-2],
                                                                     : v.shape[-1]])).sum(),
        "column_sums": (v.sum(-2).abs() ** 2).sum() + (w * w).sum(),
    }


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("loss", ["eigvec_abs", "eigvec_weighted_sq", "column_sums"])
@pytest.mark.parametrize("matrix", ["real", "complex_batch", "real_not_symmetric"])
def test_eigh_grad_matches_torch(matrix, loss, uplo):
    a = {"real": SYM, "complex_batch": HERM, "real_not_symmetric": _A}[matrix]
    grads = []
    for L in (torch, ember):
        x = L.from_numpy(a.copy()).requires_grad_()
        w, v = L.linalg.eigh(x, UPLO=uplo)
        _losses(L, w, v)[loss].backward()
        grads.append(x.grad.numpy())
    want, got = grads
    np.testing.assert_allclose(got, want, atol=1e-10)
    if matrix != "real_not_symmetric":
        np.testing.assert_allclose(got, np.conj(np.swapaxes(got, -1, -2)), atol=1e-10)
