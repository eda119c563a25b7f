"""float32/float64 ``sum``, ``mean`` and ``nansum`` equal PyTorch's bit for bit (issue 13).

PyTorch's CPU sum adds in its own order (``cascade_sum``), not NumPy's pairwise one; ember
replays that order (``ember/_ops/reduction/_sum_order.py``). Data with a large dynamic range
makes any other order show in the last bits: every case here is checked to be one where
NumPy's own sum differs from PyTorch's somewhere, so the test cannot pass by luck.
"""

import platform

import numpy as np
import pytest

import ember
from ember import _threads
from ember._ops.reduction._sum_order import vector_width

pytestmark = pytest.mark.skipif(
    vector_width(np.float32) is None,
    reason="ember reproduces PyTorch's sum order only for its x86-64 kernels "
           f"(this machine: {platform.machine()})")


@pytest.fixture
def oracle(torch):
    """torch with the same thread count as ember (a full sum of 32768+ elements is split
    between threads, which changes the order); both restored afterwards."""
    if torch.backends.cpu.get_cpu_capability() not in ("DEFAULT", "AVX2", "AVX512"):
        pytest.skip("PyTorch runs a kernel this test does not know here: "
                    f"{torch.backends.cpu.get_cpu_capability()}")
    saved_torch, saved_ember = torch.get_num_threads(), _threads.num_threads()
    yield torch
    torch.set_num_threads(saved_torch)
    _threads.set_num_threads(saved_ember)


def wide(rng, shape, dtype=np.float32):
    """Normal values scaled by 10**U(-3, 3): sums whose rounding depends on the order."""
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(dtype)


def same_bits(a, b) -> bool:
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def check(torch, x, fn, name=""):
    """``fn`` on ember and on torch gives the same bits."""
    expected = fn(torch, torch.from_numpy(x)).numpy()
    got = fn(ember, ember.from_numpy(x)).numpy()
    assert same_bits(got, expected), f"{name} {x.shape} {x.strides}: {got} != {expected}"


def numpy_differs(torch, x, dim) -> bool:
    axes = tuple(range(x.ndim)) if dim is None else dim
    expected = torch.from_numpy(x).sum(dim=axes).numpy()
    return not same_bits(np.add.reduce(x, axis=axes), expected)


FULL_LENGTHS = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129,
                255, 256, 257, 511, 512, 513, 1000, 1023, 1025, 4095, 4097, 10_000, 32_767,
                32_768, 32_769, 65_537, 100_000, 300_001, 524_289, 1_000_000]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_full_sum_of_every_length(oracle, rng, threads):
    oracle.set_num_threads(threads)
    ember.set_num_threads(threads)
    differs = 0
    for n in FULL_LENGTHS:
        x = wide(rng, n)
        check(oracle, x, lambda L, t: t.sum(), "sum")
        check(oracle, x, lambda L, t: t.mean(), "mean")
        differs += numpy_differs(oracle, x, None)
    assert differs > len(FULL_LENGTHS) // 2  # the data does tell the orders apart


SHAPES_AND_DIMS = [
    ((512, 1024), 1), ((512, 1024), 0), ((512, 1024), (0, 1)),
    ((7, 33), 1), ((7, 33), 0), ((100, 5), 1), ((100, 5), 0), ((3, 1000), 1), ((1000, 3), 0),
    ((1000, 40), 0), ((40, 1000), 0), ((333, 1000), 0), ((2000, 17), 0), ((17, 2000), 0),
    ((100_000, 2), 0), ((2, 100_000), 1), ((1000, 1000), 0), ((1000, 1000), 1),
    ((40, 50, 60), 0), ((40, 50, 60), 1), ((40, 50, 60), 2), ((40, 50, 60), (0, 2)),
    ((40, 50, 60), (1, 2)), ((40, 50, 60), (0, 1)), ((4, 8, 16, 32), (1, 3)),
    ((64, 3, 32, 32), (0, 2, 3)), ((64, 3, 32, 32), 0), ((8, 1, 300), 2), ((8, 1, 300), (0, 1)),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_over_dims(oracle, rng, threads, dtype):
    oracle.set_num_threads(threads)
    ember.set_num_threads(threads)
    differs = 0
    for shape, dim in SHAPES_AND_DIMS:
        x = wide(rng, shape, dtype)
        check(oracle, x, lambda L, t, d=dim: t.sum(d), f"sum({dim})")
        check(oracle, x, lambda L, t, d=dim: L.sum(t, d, keepdim=True), f"sum({dim}, keepdim)")
        check(oracle, x, lambda L, t, d=dim: t.mean(d), f"mean({dim})")
        differs += numpy_differs(oracle, x, dim if isinstance(dim, tuple) else (dim,))
    assert differs > len(SHAPES_AND_DIMS) // 2


def test_strided_inputs(oracle, rng):
    """Views: PyTorch orders the dims by stride (reduced ones innermost) before summing."""
    x = wide(rng, (300, 200))
    y = wide(rng, (50, 60, 70)).transpose(2, 0, 1)
    views = [(x.T, d) for d in (0, 1, None)] + [(x[:, ::2], d) for d in (0, 1, None)]
    views += [(x[:, :150], d) for d in (0, 1, None)]
    views += [(y, d) for d in (0, 1, 2, (0, 1), (1, 2), (0, 2), None)]
    for view, dim in views:
        def fn(L, t, dim=dim):
            return t.sum() if dim is None else t.sum(dim)

        expected = fn(oracle, oracle.from_numpy(view)).numpy()
        got = fn(ember, ember.from_numpy(view)).numpy()
        assert same_bits(got, expected), (view.shape, view.strides, dim)


def test_nansum_and_the_sum_of_a_slice(oracle, rng):
    x = wide(rng, (64, 1000))
    x[rng.random(x.shape) < 0.1] = np.nan
    check(oracle, x, lambda L, t: L.nansum(t), "nansum")
    check(oracle, x, lambda L, t: L.nansum(t, 1), "nansum(1)")
    check(oracle, x, lambda L, t: L.nansum(t, 0), "nansum(0)")
    z = wide(rng, (4, 4096))
    check(oracle, z, lambda L, t: t[1:3].sum(), "slice")  # a view that does not start at 0


def test_signed_zero_and_special_values(oracle):
    x = np.full(40, -0.0, np.float32)
    check(oracle, x, lambda L, t: t.sum(), "sum of -0")  # torch adds into a zeroed output
    check(oracle, x.reshape(4, 10), lambda L, t: t.sum(1), "rows of -0")
    y = np.array([np.inf, 1, -np.inf] + [1.0] * 30, np.float32)
    check(oracle, y, lambda L, t: t.sum(), "inf - inf")


def test_gradient_is_unchanged(oracle, rng):
    x = wide(rng, (30, 70))
    te = ember.from_numpy(x.copy()).requires_grad_()
    tt = oracle.from_numpy(x.copy()).requires_grad_()
    (te.sum(1) * 2).mean().backward()
    (tt.sum(1) * 2).mean().backward()
    assert same_bits(te.grad.numpy(), tt.grad.numpy())
    assert same_bits(te.sum(0).detach().numpy(), tt.sum(0).detach().numpy())
