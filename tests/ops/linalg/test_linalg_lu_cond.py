"""linalg.lu_factor / lu_factor_ex / lu / lu_solve / solve_ex / householder_product / cond,
torch.complex (differentiable) and LinAlgError's printed name, against torch."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A_NP = RNG.standard_normal((3, 3))
B_NP = RNG.standard_normal((3, 2))


def _both(fn):
    e = fn(ember, ember.from_numpy(A_NP.copy()), ember.from_numpy(B_NP.copy()))
    t = fn(torch, torch.from_numpy(A_NP.copy()), torch.from_numpy(B_NP.copy()))
    return e, t


@pytest.mark.parametrize("name, fn", [
    ("lu_factor", lambda L, A, B: L.linalg.lu_factor(A)),
    ("lu_factor_ex", lambda L, A, B: L.linalg.lu_factor_ex(A)),
    ("lu", lambda L, A, B: L.linalg.lu(A)),
    ("lu_solve", lambda L, A, B: (L.linalg.lu_solve(*L.linalg.lu_factor(A), B),)),
    ("lu_solve_adjoint", lambda L, A, B: (L.linalg.lu_solve(*L.linalg.lu_factor(A), B,
                                                             adjoint=True),)),
    ("lu_solve_right", lambda L, A, B: (L.linalg.lu_solve(*L.linalg.lu_factor(A), B.mT,
                                                           left=False),)),
    ("solve_ex", lambda L, A, B: L.linalg.solve_ex(A, B)),
    ("householder_product", lambda L, A, B: (L.linalg.householder_product(*L.geqrf(A)),)),
    ("cond", lambda L, A, B: tuple(L.linalg.cond(A, p) for p in (None, 2, -2, "fro", "nuc",
                                                                  1, -1, float("inf")))),
])
def test_values_dtypes_and_names_match_torch(name, fn):
    got, want = _both(fn)
    assert type(got).__name__ == type(want).__name__
    for g, w in zip(got, want):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_cond_gradient_matches_torch():
    ea = ember.from_numpy(A_NP.copy()).requires_grad_()
    ta = torch.from_numpy(A_NP.copy()).requires_grad_()
    ember.linalg.cond(ea).backward()
    torch.linalg.cond(ta).backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-8)


def test_complex_is_differentiable_and_checks_dtypes():
    re_np, im_np = RNG.standard_normal(3), RNG.standard_normal((2, 1))
    er, ei = (ember.from_numpy(a.copy()).requires_grad_() for a in (re_np, im_np))
    tr, ti = (torch.from_numpy(a.copy()).requires_grad_() for a in (re_np, im_np))
    ez, tz = ember.complex(er, ei), torch.complex(tr, ti)
    assert repr(ez.grad_fn.name()) == repr(tz.grad_fn.name())
    (ez.abs() * ez.angle()).sum().backward()
    (tz.abs() * tz.angle()).sum().backward()
    np.testing.assert_allclose(er.grad.numpy(), tr.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ei.grad.numpy(), ti.grad.numpy(), rtol=1e-10)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Expected object of scalar type Float but got "
                                               "scalar type Double for second argument"):
            lib.complex(lib.ones(2), lib.ones(2, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="Expected both inputs to be Half, Float or "
                                               "Double tensors but got Long and Long"):
            lib.complex(lib.ones(2, dtype=lib.long), lib.ones(2, dtype=lib.long))


def test_linalg_error_prints_torchs_class_name():
    for lib in (ember, torch):
        with pytest.raises(lib.linalg.LinAlgError) as info:
            lib.linalg.inv(lib.zeros(2, 2))
        assert type(info.value).__name__ == "_LinAlgError"
        assert isinstance(info.value, RuntimeError)
