"""Binomial draws on float32 tensors choose inversion or BTRS as torch does: by n min(p, 1 - p)
>= 10 computed in float32 (1000 x float32(0.01) rounds to 10 there, 9.9999998 in float64), found
by the time-series programs (tests/programs/ts_*.py)."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def draw(L, fn):
    L.manual_seed(0)
    out = fn(L)
    # the stream continues where torch's does
    return out.numpy(), L.rand(3).numpy()


@pytest.mark.parametrize("n, p", [(1000.0, 0.01), (1e5, 1e-4), (25.0, 0.4), (1000.0, 0.99),
                                  (319.0, 10 / 319), (100.0, 0.3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_threshold_in_the_tensors_precision(n, p, dtype):
    def fn(L):
        dt = getattr(L, dtype)
        return L.binomial(L.full((6,), n, dtype=dt), L.full((6,), p, dtype=dt))

    (t, ts), (e, es) = draw(torch, fn), draw(ember, fn)
    np.testing.assert_array_equal(e, t)
    np.testing.assert_array_equal(es, ts)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_distribution_ulps_around_ten(dtype):
    # p stepped ulp by ulp around 10 / n: the switch between the two samplers sits where torch's
    def fn(L):
        dt = getattr(L, dtype)
        work = np.float32 if dtype == "float32" else np.float64
        ps = []
        for n in (1000.0, 389.0, 25.0):
            cur = work(10.0) / work(n)
            for _ in range(4):
                cur = np.nextafter(cur, work(0))
            for _ in range(9):
                ps.append((n, float(cur)))
                cur = np.nextafter(cur, work(1))
        counts = L.tensor([n for n, _ in ps], dtype=dt)
        probs = L.tensor([q for _, q in ps], dtype=dt)
        return L.distributions.Binomial(counts, probs).sample((3,))

    (t, ts), (e, es) = draw(torch, fn), draw(ember, fn)
    np.testing.assert_array_equal(e, t)
    np.testing.assert_array_equal(es, ts)
