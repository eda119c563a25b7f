"""Op-table entries for ``ember/_ops/pointwise/orthogonal_polynomials.py``: torch.special's
orthogonal polynomials ``P(x, n)``. No derivative in torch (``grad=False``). ``n`` comes as a
tensor of integer degrees (broadcast against ``x``), as a float tensor (truncated), or as a
Python number."""

from ..spec import OpSpec

U_SHAPES = [((3, 4),), ((),)]
NAMES = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]


def _float_degrees(rng):  # x in and outside [-1, 1]; n with fractions and negatives
    return [rng.uniform(-1.5, 1.5, (3, 4)), rng.uniform(-2.0, 12.0, (4,))]


def _entries(name):
    fn = getattr  # the polynomial of either library
    return [
        OpSpec(name, lambda L, x, n: fn(L.special, name)(x, n),
               [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((), (5,)), ((0,), (0,))],
               domain=(-1.2, 1.2), int_inputs={1: (-1, 12)}, grad=False, rtol=1e-5),
        OpSpec(f"{name}_float_n", lambda L, x, n: fn(L.special, name)(x, n), [((3, 4), (4,))],
               make=_float_degrees, grad=False, rtol=1e-5),
        OpSpec(f"{name}_number_n", lambda L, x: fn(L.special, name)(x, 7), U_SHAPES,
               domain=(-1.1, 1.1), grad=False, rtol=1e-5),
    ]


OPS = [spec for name in NAMES for spec in _entries(name)]
assert len({s.name for s in OPS}) == len(OPS)
