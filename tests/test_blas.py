"""The direct OpenBLAS kernels: the fused result where they apply, and a refusal (nothing
written) where they don't, so callers fall back to NumPy."""

import numpy as np
import pytest

from ember import _blas

needs_kernels = pytest.mark.skipif(not _blas._kernels, reason="OpenBLAS kernels not found")


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 100_003])
def test_axpby_and_axpy_match_numpy(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    want = 0.3 * x.astype(np.float64) + 0.9 * y
    assert _blas.axpby(0.3, x, 0.9, y)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    want = y + -0.01 * x.astype(np.float64)
    assert _blas.axpy(-0.01, x, y)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


@needs_kernels
@pytest.mark.parametrize("n", [1, 31, 33, 1000, 100_000, 100_003])
def test_float32_axpy_rounds_once_everywhere_as_torchs_fused_add(n):
    # torch's add_(x, alpha=a) rounds a*x + y once (a fused multiply-add) on every element;
    # OpenBLAS's AVX2 kernel rounds twice outside its 32-element blocks (the tail of each
    # thread's share), which left SGD's parameters 1 ulp off torch's on such machines
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    once = (y.astype(np.float64) + np.float64(np.float32(-0.1)) * x).astype(np.float32)
    assert _blas.axpy(-0.1, x, y)
    np.testing.assert_array_equal(y, once)


@needs_kernels
def test_kernels_refuse_what_they_cannot_do_and_leave_y_alone():
    y = np.ones((4, 4), np.float32)
    before = y.copy()
    cases = [
        (np.ones((4, 4), np.float64), y),                         # dtype mismatch
        (np.ones((4, 8), np.float32)[:, ::2], y),                 # strided x
        (np.ones((4, 4), np.float32).T.copy(order="F"), y),       # Fortran-ordered x
        (np.ones((4, 4), np.float32), np.ones((4, 4), np.float32).T),  # Fortran-ordered y
        (np.ones(3, np.float32), y),                              # size mismatch
        (np.ones((4, 4), np.float16), y.astype(np.float16)),      # no half kernel
    ]
    for x, target in cases:
        assert not _blas.axpby(1.0, x, 2.0, target)
        assert not _blas.axpy(1.0, x, target)
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    assert not _blas.axpy(1.0, np.ones(4, np.float32), ro)
    np.testing.assert_array_equal(y, before)


@needs_kernels
def test_a_read_only_x_and_an_empty_pair_take_the_slow_address_and_no_call():
    # ctypes borrows only writable, non-empty buffers: a read-only x falls back to
    # ``ndarray.ctypes``, and an empty pair is done without a call
    x = np.full(5, 2.0, np.float32)
    x.flags.writeable = False
    y = np.ones(5, np.float32)
    assert _blas.axpy(0.5, x, y)
    np.testing.assert_array_equal(y, np.full(5, 2.0, np.float32))
    empty = np.ones(0, np.float32)
    assert _blas.axpby(1.0, empty, 2.0, np.ones(0, np.float32))
    assert _blas.axpy(1.0, empty, np.ones(0, np.float32))
