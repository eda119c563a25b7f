"""``grad_fn`` names of linear-algebra results against PyTorch's (found writing whitening-based
self-supervised losses, issue 13): PyTorch names these nodes after its ``linalg`` kernels
(``LinalgDetBackward0``, ``LinalgCholeskyExBackward0`` ...), and the legacy functions after
theirs; ember printed its own op class names (``DetBackward0``, ``CholeskyBackward0`` ...).
The legacy factorizations' deprecation warnings are PyTorch's too (cholesky gave none)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import ember

EXPRS = [
    "L.det(x)", "L.linalg.det(b)", "L.slogdet(x)[0]", "L.linalg.slogdet(b)[1]", "L.logdet(x)",
    "L.logdet(x.to(L.complex128))", "L.inverse(x)", "L.linalg.inv(x)", "L.linalg.inv_ex(x)[0]",
    "L.linalg.matrix_power(x, -1)", "L.linalg.solve(x, x)", "L.linalg.solve_ex(x, x)[0]",
    "L.linalg.cholesky(spd)", "L.linalg.cholesky(spd, upper=True)",
    "L.linalg.cholesky_ex(spd)[0]", "L.cholesky(spd)", "L.cholesky(spd, upper=True)",
    "L.cholesky_inverse(x)", "L.linalg.eigh(spd)[0]", "L.linalg.eigh(spd)[1]",
    "L.linalg.eigvalsh(spd)", "L.linalg.svd(x)[1]", "L.linalg.svdvals(x)", "L.svd(x)[0]",
    "L.linalg.qr(x)[0]", "L.linalg.eig(x)[0]", "L.linalg.eigvals(x)",
    "L.linalg.lu_factor(x)[0]", "L.triangular_solve(x, x)[0]", "L.triangular_solve(x, x)[1]",
]


def _name(lib, expr, x, b):
    spd = x @ x.mT + lib.eye(3, dtype=x.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy functions' deprecation warnings
        return eval(expr, {"L": lib, "x": x, "b": b, "spd": spd}).grad_fn.name()


@pytest.mark.parametrize("expr", EXPRS)
def test_linalg_grad_fn_name_is_torchs(expr, torch):
    rng = np.random.default_rng(0)
    x_np, b_np = rng.random((3, 3)) + 2 * np.eye(3), rng.random((2, 3, 3)) + 2 * np.eye(3)
    names = [_name(lib, expr, lib.tensor(x_np, requires_grad=True),
                   lib.tensor(b_np, requires_grad=True)) for lib in (ember, torch)]
    assert names[0] == names[1]



LEGACY = {
    "cholesky": lambda L, a: L.cholesky(a),
    "qr": lambda L, a: L.qr(a),
    "lu": lambda L, a: L.lu(a),
    "lu_solve": lambda L, a: L.lu_solve(a, *L.linalg.lu_factor(a)),
    "triangular_solve": lambda L, a: L.triangular_solve(a, a),
}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_linalg_deprecation_warning_is_torchs(name, torch):
    # PyTorch's words, at each call under set_warn_always: ember's cholesky gave none, and
    # the lu and triangular_solve messages were not PyTorch's
    messages = []
    for lib in (ember, torch):
        lib.set_warn_always(True)  # a once-per-process warning: make it show here
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for _ in range(2):
                    LEGACY[name](lib, lib.tensor([[4.0, 2.0], [2.0, 5.0]]))
        finally:
            lib.set_warn_always(False)
        messages.append([(w.category, str(w.message).split(" (Triggered internally")[0])
                         for w in caught])
    assert messages[0] == messages[1] and len(messages[0]) == 2


def test_legacy_cholesky_warns_once_per_process():
    # as PyTorch's (the other legacy factorizations warn at every call in ember)
    code = ("import warnings, ember\n"
            "a = ember.tensor([[4.0, 2.0], [2.0, 5.0]])\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    for _ in range(3): ember.cholesky(a)\n"
            "print(len(caught))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "1", out.stderr
