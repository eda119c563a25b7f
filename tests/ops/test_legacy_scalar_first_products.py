"""The deprecated scalar-first overloads of addmm/addmv/addr/baddbmm/addbmm (and their
in-place and method forms) that old code still calls: same values as PyTorch, its warning, and
a TypeError for other extras (issue 13)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from tests._fresh_interpreter import run_each_fresh

SETUP = """
r = np.random.default_rng(0)
t = lambda *s: L.tensor(r.standard_normal(s).astype(np.float32))
M, a, b, A, v, m = t(2, 2), t(2, 3), t(3, 2), t(2, 3), t(3), t(2)
X, BA, BB, u, w = t(2, 2, 2), t(2, 2, 3), t(2, 3, 2), t(2), t(2)
"""

FORMS = [
    "L.addmm(1, M, -2, a, b)", "L.addmm(0.5, M, a, b)", "M.addmm(1, -2, a, b)",
    "M.addmm(-2, a, b)", "M.clone().addmm_(1, -2, a, b)", "M.clone().addmm_(3, a, b)",
    "m.addmv(1, 2, A, v)", "m.clone().addmv_(1, 2, A, v)", "L.addmv(1, m, 2, A, v)",
    "L.addmv(1, m, A, v)", "m.addmv(2, A, v)",
    "X.baddbmm(1, 2, BA, BB)", "X.clone().baddbmm_(1, 2, BA, BB)",
    "X.clone().baddbmm_(2, BA, BB)", "L.baddbmm(1, X, 2, BA, BB)",
    "M.addbmm(1, 2, BA, BB)", "M.clone().addbmm_(1, 2, BA, BB)", "L.addbmm(1, M, 2, BA, BB)",
    "M.addr(1, 2, u, w)", "M.clone().addr_(1, 2, u, w)", "L.addr(1, M, 2, u, w)",
    "L.addr(1, M, u, w)", "M.addr(2, u, w)",
    "L.addmm(1, M, -2, a, b, out=L.empty(2, 2))",
]


def _run(lib, expr):
    env = {"L": lib, "np": np}
    exec(SETUP, env)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = eval(expr, env)
    return out, [str(c.message) for c in caught if c.category is UserWarning]


@pytest.mark.parametrize("expr", FORMS)
def test_values_and_warning(expr):
    want, _ = _run(torch, expr)
    got, msgs = _run(ember, expr)
    # the products themselves may differ in the last bit (BLAS summation order)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
    name = expr.replace("clone().", "").split("(")[0].split(".")[-1]
    assert len(msgs) == 1 and msgs[0].startswith(f"This overload of {name} is deprecated:")


_WARNING_TEXT_FORMS = ["L.addmm(1, M, -2, a, b)", "m.clone().addmv_(1, 2, A, v)",
                       "L.baddbmm(1, X, 2, BA, BB)", "M.addr(2, u, w)", "L.addbmm(1, M, 2, BA, BB)"]


# torch warns only once per process, so its wording is read in a fresh process state
@pytest.mark.parametrize("expr", _WARNING_TEXT_FORMS)
def test_warning_text_matches_torch(expr):
    texts = run_each_fresh("torch", {
        form: ("import warnings, numpy as np, torch as L\n" + SETUP +
               "with warnings.catch_warnings(record=True) as c:\n"
               "    warnings.simplefilter('always')\n"
               f"    {form}\n"
               "print(str(c[0].message).split(' (Triggered internally')[0], end='')\n")
        for form in _WARNING_TEXT_FORMS})
    _, msgs = _run(ember, expr)
    assert msgs == [texts[expr]]


@pytest.mark.parametrize("expr", ["M.addmm(1, -2, a)", "M.addmm('x', -2, a, b)",
                                  "M.addr(1, 2, u, w, 3)", "m.addmv(1, 2, A, v, v)"])
def test_other_extras_are_type_errors(expr):
    for lib in (torch, ember):
        with pytest.raises(TypeError):
            _run(lib, expr)


def test_plain_forms_do_not_warn():
    for expr in ["L.addmm(M, a, b, beta=2, alpha=-1)", "M.addmm(a, b)", "m.addmv(A, v)",
                 "X.baddbmm(BA, BB, alpha=2)", "M.addr(u, w)", "M.clone().addmm_(a, b)"]:
        want, _ = _run(torch, expr)
        got, msgs = _run(ember, expr)
        assert msgs == []
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
