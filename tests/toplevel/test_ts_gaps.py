"""float64 ``linspace`` matches torch bit for bit: torch applies its step with a fused
multiply-add (one rounding), which ember now emulates exactly (found by the time-series
programs, tests/programs/ts_*.py; a third of ``linspace(-50, 50, 10007)`` was an ulp off)."""

from fractions import Fraction

import numpy as np
import pytest

import ember
from ember._ops.pointwise.arithmetic import fused_multiply_add64 as _fma64

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("start, end, steps", [(-50, 50, 10007), (0.1, 7.3, 1000), (3, -2, 101),
                                               (0, 1, 11), (-1e-3, 2.5e4, 4097), (2, 2, 5),
                                               (0, 1, 1), (0, 1, 0)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_linspace_bits_match_torch(start, end, steps, dtype):
    t = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    e = ember.linspace(start, end, steps, dtype=getattr(ember, dtype)).numpy()
    np.testing.assert_array_equal(e, t)


def test_linspace_float64_default_dtype():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        np.testing.assert_array_equal(ember.linspace(-50, 50, 1001).numpy(),
                                      torch.linspace(-50, 50, 1001).numpy())
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_fma64_is_one_rounding():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000)
    b = rng.standard_normal(3000)
    c = rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000)
    # products just off 1 with c = -1: the cancellation leaves only the rounding error
    a = np.concatenate([a, np.full(500, 1.0 + 2.0 ** -30)])
    b = np.concatenate([b, 1.0 + 2.0 ** -23 * np.arange(500)])
    c = np.concatenate([c, np.full(500, -1.0)])
    exact = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(_fma64(a, b, c), np.array(exact))
    assert np.isnan(_fma64(np.inf, 0.0, 1.0)) and _fma64(np.inf, 2.0, 1.0) == np.inf


@pytest.mark.parametrize("start, end, step", [(-3, 2, 0.0137), (0, 10, 0.1), (0.5, 1000.5, 0.37),
                                              (1, -1, -0.003), (0, 1e5, 0.77), (0, 0.7, 0.1),
                                              (2.5, 3, 0.5), (0, 5, 1)])
def test_arange_float64_bits_match_single_threaded_torch(start, end, step):
    # torch's float64 arange is vectorised (fused multiply-adds from a base per vector); with
    # several threads its chunks start elsewhere and its own bits change, so compare with one
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t = torch.arange(start, end, step, dtype=torch.float64).numpy()
    finally:
        torch.set_num_threads(threads)
    e = ember.arange(start, end, step, dtype=ember.float64).numpy()
    np.testing.assert_array_equal(e, t)
