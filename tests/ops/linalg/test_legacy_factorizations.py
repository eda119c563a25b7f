"""The legacy LAPACK-style linear algebra of ``ember/_ops/linalg/legacy.py`` against torch:
``lu`` (packed, 1-based int32 pivots), ``lu_unpack``, ``lu_solve``, ``geqrf``, ``orgqr``,
``ormqr``, ``qr``, ``cholesky_solve``/``cholesky_inverse``, the randomized ``svd_lowrank`` and
``pca_lowrank``, and the removed ``solve``, ``lstsq``, ``eig``, ``symeig``, ``matrix_rank``.
Gradients are swept in ``table_legacy.py``."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _both(fn, *arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = fn(ember, *[ember.tensor(a) for a in arrays])
        t = fn(torch, *[torch.tensor(a) for a in arrays])
    return e, t


def _same(e, t, tol=1e-10):
    e, t = (list(e), list(t)) if isinstance(t, tuple) else ([e], [t])
    assert len(e) == len(t)
    for a, b in zip(e, t):
        assert str(a.dtype) == str(b.dtype) and tuple(a.shape) == tuple(b.shape), (a, b)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (4, 3), (3, 5), (0, 2, 2)])
def test_lu_and_unpack(shape, rng):
    a = rng.standard_normal(shape)
    e, t = _both(lambda L, x: L.lu(x, get_infos=True), a)
    assert type(e).__name__ == type(t).__name__ == "_lu_with_info"
    _same(e, t)
    _same(*_both(lambda L, x: L.lu(x), a))
    e, t = _both(lambda L, x: L.lu_unpack(*L.lu(x)), a)
    assert type(e).__name__ == "lu_unpack"
    _same(e, t)
    for flags in [(False, True), (True, False), (False, False)]:
        _same(*_both(lambda L, x, f=flags: L.lu_unpack(*L.lu(x), *f), a))


def test_lu_of_singular_matrix_reports_info():
    a = np.array([[0.0, 0.0], [0.0, 0.0]])
    _same(*_both(lambda L, x: L.lu(x, get_infos=True), a))
    b = np.array([[1.0, 2.0], [2.0, 4.0]])
    _same(*_both(lambda L, x: L.lu(x, get_infos=True), b))
    _same(*_both(lambda L, x: x.lu(), b.astype(np.float32)), tol=1e-6)


def test_lu_solve(rng):
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 2))
    _same(*_both(lambda L, x, y: L.lu_solve(y, *L.lu(x)), a, b))
    _same(*_both(lambda L, x, y: y.lu_solve(*L.lu(x)), a, b))
    with pytest.warns(UserWarning, match="lu_solve is deprecated"):
        ember.lu_solve(ember.tensor(b), *ember.lu(ember.tensor(a)))


def test_lu_warns():
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        ember.lu(ember.eye(2))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2)])
def test_geqrf_orgqr_ormqr(shape, rng):
    a = rng.standard_normal(shape)
    e, t = _both(lambda L, x: L.geqrf(x), a)
    assert type(e).__name__ == "geqrf"
    _same(e, t)
    _same(*_both(lambda L, x: x.geqrf(), a.astype(np.float32)), tol=1e-5)
    m, n = shape[-2:]
    if m >= n:
        _same(*_both(lambda L, x: L.orgqr(*L.geqrf(x)), a))
        _same(*_both(lambda L, x: x.geqrf()[0].orgqr(x.geqrf()[1]), a))
    other = rng.standard_normal(shape[:-2] + (m, 2))
    right = rng.standard_normal(shape[:-2] + (2, m))
    for tr in (False, True):
        _same(*_both(lambda L, x, c, tr=tr: L.ormqr(*L.geqrf(x), c, True, tr), a, other))
        _same(*_both(lambda L, x, c, tr=tr: L.ormqr(*L.geqrf(x), c, left=False, transpose=tr), a,
                     right))
        _same(*_both(lambda L, x, c, tr=tr: x.geqrf()[0].ormqr(x.geqrf()[1], c, transpose=tr), a,
                     other))


@pytest.mark.parametrize("some", [True, False])
def test_qr(some, rng):
    a = rng.standard_normal((4, 3))
    e, t = _both(lambda L, x: L.qr(x, some), a)
    assert type(e).__name__ == "qr"
    # signs follow LAPACK in both, so the factors agree directly
    _same(e, t)
    _same(*_both(lambda L, x: x.qr(some=some), a))
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        ember.qr(ember.tensor(a))


def test_cholesky_solve_and_inverse(rng):
    m = rng.standard_normal((2, 3, 3))
    spd = m @ np.swapaxes(m, -1, -2) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2))
    for upper in (False, True):
        _same(*_both(lambda L, s, y, u=upper: L.cholesky_solve(y, L.linalg.cholesky(s, upper=u),
                                                               u), spd, b))
        _same(*_both(lambda L, s, u=upper: L.cholesky_inverse(L.linalg.cholesky(s, upper=u), u),
                     spd))
        _same(*_both(lambda L, s, u=upper: L.linalg.cholesky(s, upper=u).cholesky_inverse(u),
                     spd))
    # batch dims broadcast
    _same(*_both(lambda L, s, y: y.cholesky_solve(L.linalg.cholesky(s)), spd[0], b))
    np.testing.assert_allclose(
        ember.cholesky_inverse(ember.linalg.cholesky(ember.tensor(spd))).numpy(),
        np.linalg.inv(spd), rtol=1e-10, atol=1e-12)


def test_cholesky_solve_gradient_is_torch_full_matrix(rng):
    # torch's gradient for the factor is a full matrix, not only its triangle
    m = rng.standard_normal((3, 3))
    f = np.linalg.cholesky(m @ m.T + 3 * np.eye(3))
    b = rng.standard_normal((3, 2))
    grads = []
    for lib in (ember, torch):
        ft, bt = lib.tensor(f, requires_grad=True), lib.tensor(b, requires_grad=True)
        (lib.cholesky_solve(bt, ft) ** 2).sum().backward()
        grads.append((ft.grad.numpy(), bt.grad.numpy()))
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-12)
    assert np.abs(np.triu(grads[1][0], 1)).max() > 0


def _low_rank(rng, m, n, r):
    return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))


@pytest.mark.parametrize("m, n", [(6, 4), (4, 7)])
def test_svd_lowrank_exact_on_low_rank(m, n, rng):
    a = _low_rank(rng, m, n, 2)
    e = ember.svd_lowrank(ember.tensor(a), q=3)
    t = torch.svd_lowrank(torch.tensor(a), q=3)
    for x, y in zip(e, t):
        assert tuple(x.shape) == tuple(y.shape) and str(x.dtype) == str(y.dtype)
    np.testing.assert_allclose(e[1].numpy()[:2], t[1].numpy()[:2], rtol=1e-9)
    U, S, V = (x.numpy() for x in e)
    np.testing.assert_allclose(U @ np.diag(S) @ V.T, a, atol=1e-9)
    # the singular vectors agree with torch's up to sign
    for k in range(2):
        for x, y in ((U, t[0].numpy()), (V, t[2].numpy())):
            assert abs(abs(x[:, k] @ y[:, k]) - 1) < 1e-8


def test_svd_lowrank_with_M_and_pca(rng):
    a = _low_rank(rng, 6, 4, 2) + 5.0  # rank 3 with the constant; centered, rank 2
    mean = a.mean(0, keepdims=True)
    e = ember.svd_lowrank(ember.tensor(a), q=3, M=ember.tensor(mean))
    t = torch.svd_lowrank(torch.tensor(a), q=3, M=torch.tensor(mean))
    np.testing.assert_allclose(e[1].numpy()[:2], t[1].numpy()[:2], rtol=1e-9)
    for center in (True, False):
        e = ember.pca_lowrank(ember.tensor(a), q=3, center=center)
        t = torch.pca_lowrank(torch.tensor(a), q=3, center=center)
        rank = 2 if center else 3
        np.testing.assert_allclose(e[1].numpy()[:rank], t[1].numpy()[:rank], rtol=1e-9)
        assert [tuple(x.shape) for x in e] == [tuple(x.shape) for x in t]
    assert [tuple(x.shape) for x in ember.pca_lowrank(ember.tensor(a))] == \
        [tuple(x.shape) for x in torch.pca_lowrank(torch.tensor(a))]
    for kw in ({"q": 7}, {"q": -1}, {"niter": -1}):
        with pytest.raises(ValueError):
            torch.pca_lowrank(torch.tensor(a), **kw)
        with pytest.raises(ValueError):
            ember.pca_lowrank(ember.tensor(a), **kw)


@pytest.mark.parametrize("call, words", [
    (lambda L, a: L.matrix_rank(a), "torch.linalg.matrix_rank"),
    (lambda L, a: L.lstsq(a, a), "torch.linalg.lstsq"),
    (lambda L, a: L.solve(a, a), "torch.linalg.solve"),
    (lambda L, a: L.eig(a), "torch.linalg.eig"),
    (lambda L, a: L.eig(a, True), "torch.linalg.eig"),
    (lambda L, a: L.symeig(a, eigenvectors=True), "torch.linalg.eigh"),
    (lambda L, a: a.lstsq(a), "torch.linalg.lstsq"),
    (lambda L, a: a.solve(a), "torch.linalg.solve"),
    (lambda L, a: a.eig(), "torch.linalg.eig"),
    (lambda L, a: a.symeig(), "torch.linalg.eigvalsh"),
])
def test_removed_functions_raise(call, words):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now "
                                               "removed") as err:
            call(lib, lib.eye(2))
        assert words in str(err.value)


@pytest.mark.parametrize("call, arrays", [
    (lambda L, a: L.lu(a), [np.ones(3)]),
    (lambda L, a: L.lu(a, pivot=False), [np.eye(2)]),
    (lambda L, a: L.lu(a), [np.eye(2, dtype=np.int64)]),
    (lambda L, a, p: L.lu_solve(a, a, p), [np.eye(3), np.array([1, 2, 3])]),
    (lambda L, b, a: L.lu_solve(b, *L.lu(a)), [np.ones((2, 2)), np.eye(3)]),
    (lambda L, b, a: L.lu_solve(b, a, L.lu(a[:, :3])[1]), [np.ones((3, 2)), np.eye(3, 4)]),
    (lambda L, a, p: L.lu_unpack(a, p), [np.eye(3), np.array([1, 2, 3])]),
    (lambda L, b, f: L.cholesky_solve(b, f), [np.ones(3), np.eye(3)]),
    (lambda L, b, f: L.cholesky_solve(b, f), [np.ones((2, 2)), np.eye(3)]),
    (lambda L, b, f: L.cholesky_solve(b, f), [np.ones((3, 2)), np.ones((3, 4))]),
    (lambda L, b, f: L.cholesky_solve(b, f.float()), [np.ones((3, 2)), np.eye(3)]),
    (lambda L, b, f: L.cholesky_solve(b, f), [np.ones((0, 3, 2)), np.ones((2, 3, 3))]),
    (lambda L, f: L.cholesky_inverse(f), [np.ones(3)]),
    (lambda L, f: L.cholesky_inverse(f), [np.ones((3, 2))]),
    (lambda L, a: L.geqrf(a), [np.ones(3)]),
    (lambda L, a, t: L.orgqr(a, t), [np.ones((2, 3)), np.ones(2)]),
    (lambda L, a, t: L.orgqr(a, t), [np.ones((3, 2)), np.ones(3)]),
    (lambda L, a, t: L.orgqr(a, t.float()), [np.ones((3, 2)), np.ones(2)]),
    (lambda L, a, t: L.orgqr(a, t), [np.ones((3, 2), np.int64), np.ones(2, np.int64)]),
    (lambda L, a, t, c: L.ormqr(a, t, c), [np.ones((4, 3)), np.ones(3), np.ones((5, 2))]),
    (lambda L, a, t, c: L.ormqr(a, t, c, left=False), [np.ones((4, 3)), np.ones(3),
                                                       np.ones((4, 3))]),
    (lambda L, a, t, c: L.ormqr(a, t, c), [np.ones((4, 4)), np.ones(3), np.ones((4, 2))]),
])
def test_bad_input_raises_like_torch(call, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_err:
            call(torch, *[torch.tensor(a) for a in arrays])
        # the same category (torch's LinAlgError counts as RuntimeError)
        category = next(c for c in (NotImplementedError, TypeError, ValueError, IndexError,
                                    RuntimeError) if isinstance(t_err.value, c))
        with pytest.raises(category):
            call(ember, *[ember.tensor(a) for a in arrays])
