"""First-order backward runs some ops on raw arrays (no ops recorded); those gradients must be
the same as the recorded path's, for 0-d, broadcast and scalar operands, and higher-order
gradients must still come from the recorded path."""

import numpy as np
import pytest

import ember

CASES = [
    ("mul 0-d", lambda L, a, b: (a * b).sum(), [(), ()]),
    ("mul broadcast", lambda L, a, b: (a * b).sum(), [(3, 1), (4,)]),
    ("mul scalar", lambda L, a, b: (a * 2.5 * b).mean(), [(2, 3), (2, 3)]),
    ("add broadcast", lambda L, a, b: (a + b).sum(dim=0).sum(), [(1, 4), (3, 4)]),
    ("sub broadcast", lambda L, a, b: (a - b).mean(dim=(0, 2), keepdim=True).sum(),
     [(2, 3, 4), (4,)]),
    ("sum dims", lambda L, a, b: (a.sum(dim=1) * b).sum(), [(2, 3, 4), (2, 4)]),
    ("mean 0-d", lambda L, a, b: (a.mean() * b).sum(), [(), ()]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_first_order_gradients_match_torch(torch, name, fn, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    grads = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        fn(lib, *ts).backward()
        grads.append([t.grad.numpy() for t in ts])
    for e, t in zip(*grads):
        assert type(e) is np.ndarray and e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


def test_zero_dim_mul_gradient_is_an_array_usable_by_later_ops():
    a = ember.tensor(3.0, requires_grad=True)
    (a * a).backward()
    assert type(a.grad._data) is np.ndarray
    x = ember.zeros(4, requires_grad=True)
    (x[ember.tensor([1, 1, 2])] * a.detach()).sum().backward()  # index backward on 0-d grads
    assert x.grad.tolist() == [0.0, 6.0, 3.0, 0.0]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_second_order_still_recorded(torch, name, fn, shapes):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    results = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *ts)
        (g0,) = lib.autograd.grad(out, ts[0], create_graph=True)
        total = (g0 * g0).sum()
        if not total.requires_grad:
            results.append(None)
            continue
        (h,) = lib.autograd.grad(total, ts[1], allow_unused=True)
        results.append(None if h is None else h.detach().numpy())
    if results[1] is None:
        assert results[0] is None or not np.any(results[0])
    else:
        np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
