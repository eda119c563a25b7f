"""Gradients of ``linalg.qr``, compared with torch.

The backward used to raise NotImplementedError for every mode. Now: tall and square inputs
(reduced; complete when square), wide inputs through A = Q [R1 R2], real and complex, batched;
torch's errors for mode='complete' with more rows than columns and for mode='r' (whose R now
carries a grad_fn, as torch's does).
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


def _run(L, a, mode, which):
    x = L.from_numpy(a.copy()).requires_grad_()
    Q, R = L.linalg.qr(x, mode=mode)
    wq = L.from_numpy(np.arange(Q.shape[-1], dtype=np.float64) + 1)
    wr = L.from_numpy(np.arange(R.shape[-1], dtype=np.float64) - 1)
    loss = 0
    if "Q" in which:
        loss = loss + (Q.abs() ** 2 * wq).sum()
    if "R" in which:
        loss = loss + (R.abs() * wr).sum()
    if "A" in which:
        loss = loss + ((Q @ R) ** 2).abs().sum()
    loss.backward()
    return x.grad.numpy()


@pytest.mark.parametrize("which", ["Q", "R", "QR", "A"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape,mode", [((4, 3), "reduced"), ((3, 3), "reduced"),
                                        ((3, 3), "complete"), ((3, 4), "reduced"),
                                        ((3, 4), "complete"), ((2, 5, 3), "reduced"),
                                        ((2, 3, 5), "reduced")])
def test_qr_gradients_match_torch(shape, mode, dtype, which):
    a = _matrix(shape, dtype)
    np.testing.assert_allclose(_run(ember, a, mode, which), _run(torch, a, mode, which),
                               atol=1e-10)


def test_qr_float32_gradient():
    a = _matrix((5, 3), np.float32)
    np.testing.assert_allclose(_run(ember, a, "reduced", "QR"), _run(torch, a, "reduced", "QR"),
                               atol=1e-4)


@pytest.mark.parametrize("mode,shape", [("complete", (4, 3)), ("r", (4, 3))])
def test_qr_undifferentiable_modes_raise_like_torch(mode, shape):
    a = _matrix(shape, np.float64)
    with pytest.raises(RuntimeError) as want:
        _run(torch, a, mode, "R")
    with pytest.raises(RuntimeError) as got:
        _run(ember, a, mode, "R")
    assert str(got.value) == str(want.value)
