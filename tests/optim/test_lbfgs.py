"""LBFGS against torch.optim.LBFGS (closure-based), with and without strong-Wolfe search."""

import numpy as np
import pytest

import ember


def _problem(lib, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    x = lib.from_numpy(rng.standard_normal((20, 3)))
    y = lib.from_numpy(rng.standard_normal((20, 2)))
    w = lib.from_numpy(rng.standard_normal((3, 2))).requires_grad_(True)
    b = lib.from_numpy(rng.standard_normal(2)).requires_grad_(True)

    def loss_fn():
        return ((x @ w + b - y) ** 2).mean() + 0.1 * (w ** 4).sum()

    return [w, b], loss_fn


@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, max_iter=5, history_size=3),
                                    dict(line_search_fn="strong_wolfe", history_size=2)])
def test_matches_torch(torch, kwargs):
    results = []
    for lib in (ember, torch):
        params, loss_fn = _problem(lib)
        opt = lib.optim.LBFGS(params, **kwargs)

        def closure(opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        losses = [float(opt.step(closure).detach()) for _ in range(3)]
        st = opt.state[params[0]]
        results.append((losses, [p.detach().numpy().copy() for p in params],
                        st["func_evals"], st["n_iter"], len(st["old_dirs"])))
    (le, pe, fe, ne, he), (lt, pt, ft, nt, ht) = results
    np.testing.assert_allclose(le, lt, rtol=1e-8)
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert (fe, ne, he) == (ft, nt, ht)


def test_state_dict_types_match_torch(torch):
    layouts = []
    for lib in (ember, torch):
        params, loss_fn = _problem(lib)
        opt = lib.optim.LBFGS(params, max_iter=4)

        def closure(opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
        st = opt.state_dict()["state"][0]
        layouts.append({k: type(v).__name__ if not isinstance(v, list) else
                        [type(e).__name__ for e in v] for k, v in st.items()})
    assert layouts[0] == layouts[1]


def test_errors(torch):
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        ember.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(RuntimeError, match="closure"):
        ember.optim.LBFGS([a]).step(None)
