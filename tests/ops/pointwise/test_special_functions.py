"""torch.special's Bessel and Airy functions and orthogonal polynomials (``bessel.py`` and
``orthogonal_polynomials.py``): dense grids against torch (edge values, NaN/inf patterns,
overflow), against mpmath where it is installed (torch's own J, Y and Ai are good to only
~1e-6 in places, so the tight check is against mpmath), dtypes, errors, ``out=``, and the
absence of a derivative."""

import math

import numpy as np
import pytest

import ember

BESSEL = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
          "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
               "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]
# torch returns uninitialised memory for these at x = NaN (ember returns NaN): skip NaN x there
NAN_X_UNDEFINED = {"chebyshev_polynomial_u", "chebyshev_polynomial_w",
                   "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_w",
                   "laguerre_polynomial_l", "legendre_polynomial_p"}

EDGES = np.array([0.0, -0.0, 1e-300, 1e-20, 1e-8, -1e-8, -1.0, -5.0, -30.0, 1.0, 5.0, 25.0,
                  1e3, 1e8, 1e15, 1e300, math.inf, -math.inf, math.nan, 700.0, 710.0, 750.0,
                  -700.0, 0.5, -0.5, 2.0, 20.0, -20.0])


def _run(lib, name, *args, dtype="float64"):
    tensors = [lib.tensor(a, dtype=getattr(lib, dtype)) if isinstance(a, np.ndarray) else a
               for a in args]
    out = getattr(lib.special, name)(*tensors)
    return out


def _pair(torch, name, *args, dtype="float64"):
    e, t = _run(ember, name, *args, dtype=dtype), _run(torch, name, *args, dtype=dtype)
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    return e.numpy().astype(np.float64), t.numpy().astype(np.float64)


def _same_specials(e, t):
    """The same NaN pattern, and the same infinities."""
    np.testing.assert_array_equal(np.isnan(e), np.isnan(t))
    np.testing.assert_array_equal(np.where(np.isinf(t), t, 0), np.where(np.isinf(e), e, 0))


# -- Bessel and Airy -------------------------------------------------------------------------

@pytest.mark.parametrize("name", BESSEL)
def test_bessel_edge_values_match_torch(torch, name):
    x = EDGES
    if name.startswith("modified_bessel_i"):  # torch's I overflows from 709.78 (its exp(x)),
        x = x[np.abs(x) != 710]               # ember's only where the value does (713)
    e, t = _pair(torch, name, x)
    _same_specials(e, t)
    # torch's J/Y lose all digits past ~1e15 (the phase x - pi/4 is rounded); ember keeps them
    keep = np.isfinite(t) & (np.abs(x) < 1e9)
    np.testing.assert_allclose(e[keep], t[keep], rtol=1e-6, atol=1e-300)


def _grid(name):
    if name == "airy_ai":
        return np.linspace(-60.0, 100.0, 4001)
    if name in ("bessel_y0", "bessel_y1") or "_k" in name:
        return np.concatenate([np.geomspace(1e-12, 1e-2, 50), np.linspace(0.01, 60, 3000),
                               np.geomspace(60, 1e4, 200)])
    if "_i" in name:
        return np.linspace(-700.0, 700.0, 3001)
    return np.concatenate([np.linspace(-60, 60, 3001), np.geomspace(60, 1e5, 200)])


def _envelope(name, x, ref):
    """The scale errors are measured against: the function's size, or its amplitude where it
    oscillates (relative error means nothing at a zero)."""
    a = np.abs(x)
    if name == "airy_ai":
        return np.where(x < 0, np.maximum(a, 1) ** -0.25, np.abs(ref))
    if name.startswith("bessel"):
        return np.maximum(np.abs(ref), np.minimum(1, np.sqrt(2 / (math.pi * np.maximum(a, 1e-300)))))
    if name == "spherical_bessel_j0":
        return np.maximum(np.abs(ref), np.minimum(1, 1 / np.maximum(a, 1e-300)))
    return np.abs(ref)


@pytest.mark.parametrize("name", BESSEL)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bessel_dense_grid_matches_torch(torch, name, dtype):
    x = _grid(name)
    if dtype == "float32":
        # torch's float32 kernels round the phase (x - pi/4, 2/3 |x|^1.5) in float32, and its
        # float32 I overflows with exp(x) from 88.7: compare where float32 carries the digits
        x = x[(np.abs(x) < 80) & (x > -20)]
    e, t = _pair(torch, name, x, dtype=dtype)
    _same_specials(e, t)
    finite = np.isfinite(t) & (np.abs(t) > 1e-300)
    err = np.abs(e - t)[finite] / _envelope(name, x, t)[finite]
    # torch's float64 J, Y (5 < x < 25) and Ai (-5 < x < -2) are good to ~1e-6 only
    loose = name.startswith("bessel") or name == "airy_ai"
    limit = 2e-5 if dtype == "float32" else 5e-6 if loose else 1e-13
    assert err.max() < limit, (err.max(), x[finite][np.argmax(err)])


_MP = {"airy_ai": lambda mp, v: mp.airyai(v), "bessel_j0": lambda mp, v: mp.besselj(0, v),
       "bessel_j1": lambda mp, v: mp.besselj(1, v), "bessel_y0": lambda mp, v: mp.bessely(0, v),
       "bessel_y1": lambda mp, v: mp.bessely(1, v),
       "modified_bessel_k0": lambda mp, v: mp.besselk(0, v),
       "modified_bessel_k1": lambda mp, v: mp.besselk(1, v),
       "scaled_modified_bessel_k0": lambda mp, v: mp.besselk(0, v) * mp.exp(v),
       "scaled_modified_bessel_k1": lambda mp, v: mp.besselk(1, v) * mp.exp(v)}


@pytest.mark.parametrize("name", sorted(_MP))
def test_bessel_accuracy_against_mpmath(name):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    rng = np.random.default_rng(7)
    if name == "airy_ai":  # every piece: asymptotic, Taylor nodes, Maclaurin, K_1/3, asymptotic
        x = np.concatenate([rng.uniform(-40, 30, 150), [-9.66, -9.64, -1.0, 1.0, 9.64, 9.66]])
    else:
        x = np.concatenate([np.geomspace(1e-6, 700, 120), rng.uniform(1.5, 22, 60),
                            [2.0, 2.0000001, 20.0, 19.9999999]])  # K underflows past ~705
        if name in ("bessel_j0", "bessel_j1"):
            x = np.concatenate([x, -x[:40]])
    got = getattr(ember.special, name)(ember.tensor(x, dtype=ember.float64)).numpy()
    ref = np.array([float(_MP[name](mp, mp.mpf(float(v)))) for v in x])
    err = np.abs(got - ref) / _envelope(name, x, ref)
    # Ai's zeta = 2/3 |x|^1.5 carries its own rounding (~zeta ulps), in the phase for x < 0
    # and in exp(-zeta) for x > 0
    limit = np.maximum(1e-14, 1e-15 * np.abs(x) ** 1.5) if name == "airy_ai" else 5e-15
    assert (err < limit).all(), (err.max(), x[np.argmax(err / limit)])


def test_bessel_large_arguments_keep_their_phase():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    x = np.array([1e5, 1e10, 1e15, 1e17, 1e20, 1e100, 1e300])
    for name, ref in (("bessel_j0", lambda v: mp.besselj(0, v)),
                      ("bessel_y1", lambda v: mp.bessely(1, v))):
        got = getattr(ember.special, name)(ember.tensor(x, dtype=ember.float64)).numpy()
        want = np.array([float(ref(mp.mpf(float(v)))) for v in x])
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_bessel_dtypes_and_refusals(torch):
    for dtype in ("bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint64",
                  "float32", "float64"):
        for name in BESSEL:
            e, t = _pair(torch, name, np.array([1, 0, 1]), dtype=dtype)
            np.testing.assert_allclose(e, t, rtol=1e-6)
    for dtype in ("float16", "bfloat16", "complex64", "complex128", "float8_e4m3fn"):
        for name in BESSEL:
            msgs = []
            for lib in (ember, torch):
                with pytest.raises(NotImplementedError) as info:
                    getattr(lib.special, name)(lib.tensor([1.0]).to(getattr(lib, dtype)))
                msgs.append(str(info.value))
            assert msgs[0] == msgs[1]


def test_bessel_requires_a_tensor(torch):
    for name in BESSEL:  # the argument is "input" or "x", as torch names it
        msgs = []
        for lib in (ember, torch):
            with pytest.raises(TypeError) as info:
                getattr(lib.special, name)(1.0)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]


def test_spherical_bessel_j0_near_zero_and_at_infinity(torch):
    x = np.array([0.0, -0.0, 1e-300, 1e-9, -1e-5, 1e-3, 0.00099, 0.0011, 3.0, math.inf,
                  -math.inf, math.nan])
    e, t = _pair(torch, "spherical_bessel_j0", x)
    np.testing.assert_allclose(e, t, rtol=2e-16, atol=0, equal_nan=True)


# -- orthogonal polynomials ------------------------------------------------------------------

_X = np.concatenate([np.linspace(-3, 3, 121), [-1, 1, 0, -0.0, 0.5, -0.5, 1e-3, 1.0000001,
                                               -1.0000001, 0.9999999, 10, -10, 100, 1e10,
                                               math.inf, -math.inf, math.nan]])
_N = np.array([-3, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 20, 50, 100, 300, 500, 1000, 1100,
               2.5, -0.5, 0.7, 5.99, 6.01, math.nan, math.inf, -math.inf, 1e30, -1e30])


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_grid_matches_torch(torch, name):
    """Every branch: n < 0, 0, 1, the recurrence (n < 6), the closed forms inside, at and
    outside [-1, 1] (with the recurrence's overflow to inf and then NaN), fractional, NaN and
    infinite degrees, and infinite x."""
    x, n = np.meshgrid(_X, _N)
    if name in NAN_X_UNDEFINED:
        x = np.where(np.isnan(x), 0.25, x)
    e, t = _pair(torch, name, x, n)
    _same_specials(e, t)
    finite = np.isfinite(t)
    np.testing.assert_allclose(e[finite], t[finite], rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_float32_matches_torch(torch, name):
    """float32 recurrences round as torch's fused steps do, so they agree to the bit in this
    grid (and overflow to inf and NaN at the same degrees, Hermite's within n <= 60); the
    Chebyshev closed forms (n >= 6) are float64 in ember, float32 in torch."""
    x, n = np.meshgrid(np.linspace(-3, 3, 121), np.arange(0, 61))
    e, t = _pair(torch, name, x, n, dtype="float32")
    _same_specials(e, t)
    finite = np.isfinite(t)
    np.testing.assert_allclose(e[finite], t[finite], rtol=2e-5, atol=1e-4)  # torch: n ulps
    if not name.startswith(("chebyshev", "shifted")):
        np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_large_degrees_match_torch(torch, name):
    x = np.array([-2.0, -1.0, -0.999, -0.3, 0.0, 0.25, 0.7, 1.0, 1.001, 2.0])
    n = np.array([[64], [200], [777], [3000]])
    e, t = _pair(torch, name, x, n)
    _same_specials(e, t)
    finite = np.isfinite(t)
    np.testing.assert_allclose(e[finite], t[finite], rtol=1e-9,
                               atol=1e-9 * np.abs(t[finite]).max(initial=1))


def test_polynomial_overflow_boundary_matches_torch(torch):
    """Outside [-1, 1] the recurrence overflows: inf at the first two degrees past the limit,
    NaN after (inf - inf); ember finds that degree from the closed form's logarithm."""
    for name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u",
                 "chebyshev_polynomial_v", "chebyshev_polynomial_w",
                 "shifted_chebyshev_polynomial_t"):
        for dtype, x in (("float64", [2.0, -3.0, 1.5]), ("float32", [2.0, -3.0, 1.5])):
            n = np.arange(40, 1800, 1.0)[:, None]
            e, t = _pair(torch, name, np.array(x), n, dtype=dtype)
            _same_specials(e, t)


def test_polynomial_arguments_and_promotion(torch):
    cases = [
        lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5, 2.0]), 3),
        lambda L: L.special.chebyshev_polynomial_u(0.5, L.tensor([3, 4])),
        lambda L: L.special.hermite_polynomial_h(L.tensor([1, 2]), L.tensor([3])),
        lambda L: L.special.legendre_polynomial_p(L.tensor([0.5]), L.tensor([3.0],
                                                                            dtype=L.float64)),
        lambda L: L.special.laguerre_polynomial_l(L.tensor([0.5]), L.tensor(3.0,
                                                                           dtype=L.float64)),
        lambda L: L.special.hermite_polynomial_he(L.tensor(0.5, dtype=L.float64),
                                                  L.tensor([3, 5])),
        lambda L: L.special.chebyshev_polynomial_w(L.tensor([True]), L.tensor([True])),
        lambda L: L.special.chebyshev_polynomial_v(L.tensor([0.5]), True),
        lambda L: L.special.chebyshev_polynomial_t(L.tensor([[0.5], [0.2]]), L.tensor([1, 2, 3])),
        lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5]), L.tensor([2],
                                                                            dtype=L.uint16)),
        lambda L: L.special.chebyshev_polynomial_t(x=L.tensor([0.5]), n=2),
        lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5]), L.tensor([2],
                                                                            dtype=L.float16)),
        lambda L: L.special.airy_ai(x=L.tensor([0.5])),
        lambda L: L.special.bessel_j0(input=L.tensor([0.5])),
    ]
    for case in cases:
        e, t = case(ember), case(torch)
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", [
    lambda L: L.special.chebyshev_polynomial_t(0.5, 3),
    lambda L: L.special.chebyshev_polynomial_t([0.5], 3),
    lambda L: L.special.legendre_polynomial_p(L.tensor([0.5]), "a"),
    lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5]), 2 + 1j),
    lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5], dtype=L.float16), 2),
    lambda L: L.special.hermite_polynomial_h(L.tensor([0.5], dtype=L.bfloat16), 2),
    lambda L: L.special.laguerre_polynomial_l(L.tensor([0.5], dtype=L.float8_e5m2), 2),
    lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5]), L.tensor([2],
                                                                        dtype=L.float8_e4m3fn)),
    lambda L: L.special.chebyshev_polynomial_t(L.tensor([0.5, 0.1]), L.tensor([1, 2, 3])),
])
def test_polynomial_errors_match_torch(torch, case):
    errors = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            case(lib)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


# -- no derivative; out= ---------------------------------------------------------------------

@pytest.mark.parametrize("name", BESSEL + POLYNOMIALS)
def test_outputs_never_require_grad(torch, name):
    args = (3,) if name in POLYNOMIALS else ()
    for lib in (ember, torch):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        y = getattr(lib.special, name)(x, *args)
        assert not y.requires_grad and y.grad_fn is None
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()
    if name in POLYNOMIALS:  # n requiring grad does not make a graph either
        y = getattr(ember.special, name)(0.5, ember.tensor([2.0], requires_grad=True))
        assert not y.requires_grad


@pytest.mark.parametrize("name", ["bessel_j0", "modified_bessel_k1", "legendre_polynomial_p"])
def test_out_argument(torch, name):
    args = (3,) if name in POLYNOMIALS else ()
    results = []
    for lib in (ember, torch):
        x = lib.tensor([0.5, 1.5], requires_grad=True)  # allowed: nothing to differentiate
        got = []
        for out in (lib.empty(2, dtype=lib.float64), lib.empty(0), lib.empty(2, dtype=lib.float16),
                    lib.empty(2, requires_grad=True)):
            r = getattr(lib.special, name)(x, *args, out=out)
            assert r is out
            got.append((str(out.dtype), out.requires_grad, out.detach().numpy().tolist()))
        with pytest.raises(RuntimeError) as info:
            getattr(lib.special, name)(x, *args, out=lib.empty(2, dtype=lib.int64))
        got.append(str(info.value))
        results.append(got)
    assert results[0][-1] == results[1][-1]
    for (dt_e, rg_e, v_e), (dt_t, rg_t, v_t) in zip(results[0][:-1], results[1][:-1]):
        assert (dt_e, rg_e) == (dt_t, rg_t)
        np.testing.assert_allclose(v_e, v_t, rtol=1e-3)


def test_meta_tensors_give_shapes():
    x = ember.empty((2, 3), device="meta")
    assert ember.special.bessel_y0(x).shape == (2, 3)
    y = ember.special.chebyshev_polynomial_t(x, ember.empty((4, 1, 1), device="meta"))
    assert y.shape == (4, 2, 3) and y.device.type == "meta"
