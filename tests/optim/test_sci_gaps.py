"""Gaps found by the scientific-ML programs (tests/programs/sci_*.py), compared with torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _fit(lib, line_search_fn):
    # a complex least-squares fit (a spectral multiplier) beside a real bias: L-BFGS searches
    # over real numbers, a complex parameter entering as its real and imaginary parts
    rng = np.random.default_rng(0)
    a = lib.from_numpy((rng.standard_normal((6, 3)) + 1j * rng.standard_normal((6, 3)))
                       .astype(np.complex64))
    b = lib.from_numpy((rng.standard_normal(6) + 1j * rng.standard_normal(6))
                       .astype(np.complex64))
    w = lib.nn.Parameter(lib.zeros(3, dtype=lib.complex64))
    bias = lib.nn.Parameter(lib.zeros(1))
    opt = lib.optim.LBFGS([w, bias], lr=0.8, max_iter=6, history_size=4,
                          line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = ((a @ w - b).abs() ** 2).sum() + (bias - 1.5).pow(2).sum()
        loss.backward()
        return loss

    losses = [float(opt.step(closure)) for _ in range(2)]
    state = opt.state[w]
    return (w.detach().numpy(), bias.detach().numpy(), losses,
            state["d"].dtype == lib.float32, state["func_evals"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_complex_parameters_match_torch(line_search_fn):
    got, want = _fit(ember, line_search_fn), _fit(torch, line_search_fn)
    assert got[0] == pytest.approx(want[0], rel=1e-4, abs=1e-5)
    assert got[1] == pytest.approx(want[1], rel=1e-4, abs=1e-5)
    assert got[2] == pytest.approx(want[2], rel=1e-4)
    assert got[3] and want[3]            # the search direction is real
    assert got[4] == want[4]
