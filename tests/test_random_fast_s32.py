"""Chunked random draws (``_random_stream._CHUNK``) keep PyTorch's numbers and state.

Large draws are converted a chunk at a time; these tests draw sizes around the normal
transform's block of 16, around the chunk size and past a million elements, in each floating
dtype, and compare the values and ``get_rng_state()`` after every draw with torch's.
float32 normals of 16 or more elements come from vectorised float32 log/sin/cos that can differ
from NumPy's in the last bit (see tests/test_random_stream.py): those are compared to within
four float32 ulps; everything else, and the state always, bit for bit.
"""

import numpy as np
import pytest

import ember
from ember import _random_stream

CHUNK = _random_stream._CHUNK
SIZES = (1, 15, 16, 17, 1023, 1024, 1025, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17,
         1_000_003)
DTYPES = ("float32", "float64", "float16", "bfloat16")

# name -> (fn(lib, n, dtype) drawing from the default generator, exact?)
DRAWS = {
    "rand": (lambda L, n, dt: L.rand(n, dtype=dt), True),
    "uniform_": (lambda L, n, dt: L.empty(n, dtype=dt).uniform_(-0.37, 0.61), True),
    "uniform_wide": (lambda L, n, dt: L.empty(n, dtype=dt).uniform_(-3e3, 1e4), True),
    "bernoulli_": (lambda L, n, dt: L.empty(n, dtype=dt).bernoulli_(0.3), True),
    "randn": (lambda L, n, dt: L.randn(n, dtype=dt), False),
    "normal_": (lambda L, n, dt: L.empty(n, dtype=dt).normal_(0.25, 0.02), False),
}


def _as_float64(t):
    return t.float().double().numpy() if str(t.dtype).endswith("bfloat16") else \
        t.double().numpy()


def _check(torch, fn, exact, n, dt, seed):
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    for step in range(2):  # the second draw starts where the first left the stream
        got, want = fn(ember, n, getattr(ember, dt)), fn(torch, n, getattr(torch, dt))
        assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
        g, w = _as_float64(got), _as_float64(want)
        if exact or dt == "float64" or n < 16:
            np.testing.assert_array_equal(g, w, err_msg=f"n={n} {dt} step {step}")
        else:
            # float32 within 4 ulps; half/bfloat16 are rounded from those float32 values,
            # so they land on the same value or on a neighbour
            bits = {"float32": 23, "float16": 10, "bfloat16": 7}[dt]
            ulps = 4 if dt == "float32" else 1
            with np.errstate(divide="ignore"):
                spacing = 2.0 ** (np.floor(np.log2(np.abs(w))) - bits)
            assert np.all(np.abs(g - w) <= ulps * spacing), (n, dt, step)
            assert np.mean(g == w) > 0.5, (n, dt, step)
        assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy()), \
            f"state after n={n} {dt} step {step}"


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(DRAWS))
def test_chunk_and_block_boundaries_match_torch(torch, name, dt):
    fn, exact = DRAWS[name]
    for n in SIZES:
        if n > 100_000 and dt == "float64" and name in ("randn", "normal_"):
            continue  # float64 normals go through scalar libm calls: one large size below
        _check(torch, fn, exact, n, dt, seed=n % 7)


def test_large_float64_normal_matches_torch(torch):
    fn, _ = DRAWS["normal_"]
    _check(torch, fn, True, 1_000_003, "float64", seed=3)


def test_shapes_and_init_across_chunks_match_torch(torch):
    # a Linear-sized weight's kaiming_uniform_ and a dropout mask: several chunks each
    for seed in (0, 5):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        we, wt = ember.empty(300, 257), torch.empty(300, 257)
        ember.nn.init.kaiming_uniform_(we, a=5 ** 0.5)
        torch.nn.init.kaiming_uniform_(wt, a=5 ** 0.5)
        np.testing.assert_array_equal(we.numpy(), wt.numpy())
        de = ember.nn.functional.dropout(ember.ones(3, 70001), 0.4)
        dt = torch.nn.functional.dropout(torch.ones(3, 70001), 0.4)
        np.testing.assert_array_equal(de.numpy(), dt.numpy())
        assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy())


@pytest.mark.parametrize("draw", ["rand", "randn", "rand64", "bernoulli_", "uniform_"])
def test_empty_draws_leave_the_state_as_torch(torch, draw):
    # regression: an empty draw used to mark the stream as drawn, which changed the state's
    # bytes (torch's state after manual_seed and an empty draw is the seeded state)
    fns = {"rand": lambda L: L.rand(0), "randn": lambda L: L.randn(0),
           "rand64": lambda L: L.rand(0, dtype=L.float64),
           "bernoulli_": lambda L: L.empty(0).bernoulli_(0.5),
           "uniform_": lambda L: L.empty(0, 3).uniform_()}
    ember.manual_seed(11)
    torch.manual_seed(11)
    fns[draw](ember)
    fns[draw](torch)
    assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy())


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_drawing_into_out_gives_the_same_values_and_state(dt):
    # the ``out=`` path (init draws straight into a parameter) against the returned array
    calls = {"uniform": lambda s, n, **kw: s.uniform(-0.2, 0.9, (n,), dt, **kw),
             "normal": lambda s, n, **kw: s.normal(0.1, 0.5, (n,), dt, **kw),
             "normal_single": lambda s, n, **kw: s.normal(0.1, 0.5, (n,), dt,
                                                           one_at_a_time=True, **kw)}
    for name, call in calls.items():
        for n in (1, 15, 16, 17, 1025, CHUNK + 3):
            a, b = _random_stream.TorchStream(4), _random_stream.TorchStream(4)
            for _ in range(2):
                want = call(a, n)
                out = np.full(n, np.nan, dt)
                assert call(b, n, out=out) is out
                assert out.tobytes() == want.tobytes(), (name, n)
                assert a.state_bytes(4) == b.state_bytes(4), (name, n)
    with pytest.raises(ValueError):
        _random_stream.TorchStream(0).uniform(0.0, 1.0, (4,), dt, out=np.empty(4, np.float16))


@pytest.mark.parametrize("method", ["uniform_", "normal_"])
def test_in_place_fills_write_through_views_and_bump_the_version(torch, method):
    # contiguous float tensors are drawn into directly: a row view writes into its base, the
    # version moves, and the numbers and state are still torch's
    args = (-0.5, 2.0) if method == "uniform_" else (0.3, 1.5)
    for dt in ("float32", "float64"):
        ember.manual_seed(2)
        torch.manual_seed(2)
        be, bt = ember.zeros(3, 40, dtype=getattr(ember, dt)), \
            torch.zeros(3, 40, dtype=getattr(torch, dt))
        re, rt = be[1], bt[1]
        version = re._version
        assert getattr(re, method)(*args) is re
        getattr(rt, method)(*args)
        assert re._version == version + 1
        # float32 normals: PyTorch's vectorised log/sin/cos can differ in the last bits
        same = np.testing.assert_array_equal if (dt, method) != ("float32", "normal_") else \
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
        same(be.numpy(), bt.numpy())
        assert not be[0].numpy().any() and not be[2].numpy().any()
        with ember.no_grad():  # a leaf that requires grad, filled under no_grad
            pe = ember.zeros(70, dtype=getattr(ember, dt), requires_grad=True)
            getattr(pe, method)(*args)
        with torch.no_grad():
            pt = torch.zeros(70, dtype=getattr(torch, dt), requires_grad=True)
            getattr(pt, method)(*args)
        same(pe.detach().numpy(), pt.detach().numpy())
        assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy())


def test_in_place_fill_of_a_leaf_requiring_grad_still_raises(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.zeros(20, requires_grad=True).uniform_()


def test_randperm_matches_torch_across_sizes(torch):
    # small sizes swap in a loop, larger ones take _swapped_in_order
    for n in (0, 1, 2, 17, 63, 64, 65, 1000, CHUNK + 5, 300_001):
        for seed in (1, 9):
            ember.manual_seed(seed)
            torch.manual_seed(seed)
            got, want = ember.randperm(n), torch.randperm(n)
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=str(n))
            assert got.dtype == ember.int64
            assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy())


def _swaps_one_by_one(partners, n):
    p = list(range(n))
    for i, j in enumerate(partners.tolist()):
        p[i], p[j] = p[j], p[i]
    return p


def test_swaps_without_a_loop_equal_the_loop():
    rng = np.random.default_rng(0)
    for n in [*range(2, 70), 500, 4099]:
        steps = np.arange(n - 1)
        cases = (steps + rng.integers(0, n - steps),  # uniform partners, as randperm draws
                 np.minimum(steps + rng.integers(0, 3, n - 1), n - 1),  # long chains
                 np.where(rng.random(n - 1) < 0.5, steps, n - 1),  # one popular partner
                 steps, steps + 1, np.full(n - 1, n - 1))
        for partners in cases:
            partners = partners.astype(np.int64)
            got = _random_stream._swapped_in_order(partners, n)
            assert got.tolist() == _swaps_one_by_one(partners, n), (n, partners)
