"""Op-table entries for ``ember/_ops/pointwise/bessel.py``: torch.special's Bessel and Airy
functions. They have no derivative in torch (``grad=False``); the samples cover each kernel's
pieces (series, recurrence or quadrature, asymptotic series). Where torch's own kernels are
less accurate than ~1e-6 (J and Y on 5 < x < 25, Ai near -2.5), the tolerance says so;
``test_special_functions.py`` checks against mpmath and on dense grids."""

import numpy as np

from ..spec import OpSpec

U = [((3, 4),), ((),), ((0,),), ((2, 3, 4),)]


def _spread(low, high):
    def make(rng):  # one sample per kernel piece, plus a random block
        edges = np.array([low, -7.5, -2.5, -0.3, 0.0, 0.4, 1.5, 3.0, 9.0, 15.0, 30.0, high])
        return [np.concatenate([edges[(edges >= low) & (edges <= high)],
                                rng.uniform(low, high, 12)])]
    return make


def _entry(name, low, high, **kw):
    return [OpSpec(name, lambda L, a: getattr(L.special, name)(a), U, domain=(low, high),
                   grad=False, **kw),
            OpSpec(f"{name}_wide", lambda L, a: getattr(L.special, name)(a), [((0,),)],
                   make=_spread(low, high), grad=False, **kw)]


_LOOSE = {"rtol": 1e-5, "atol": 1e-6}  # torch's J/Y between 5 and 25 are good to ~1e-6

OPS = [
    *_entry("airy_ai", -12.0, 40.0, **_LOOSE),
    *_entry("bessel_j0", -40.0, 40.0, **_LOOSE),
    *_entry("bessel_j1", -40.0, 40.0, **_LOOSE),
    *_entry("bessel_y0", 0.05, 40.0, **_LOOSE),
    *_entry("bessel_y1", 0.05, 40.0, **_LOOSE),
    *_entry("modified_bessel_i0", -30.0, 30.0),
    *_entry("modified_bessel_i1", -30.0, 30.0),
    *_entry("modified_bessel_k0", 0.05, 40.0),
    *_entry("modified_bessel_k1", 0.05, 40.0),
    *_entry("scaled_modified_bessel_k0", 0.05, 400.0),
    *_entry("scaled_modified_bessel_k1", 0.05, 400.0),
    *_entry("spherical_bessel_j0", -40.0, 40.0),
]
