"""Op-table entries for ``ember/_ops/pointwise/special.py`` (``ember.special``): the gamma family,
modified Bessel functions, the normal family, entr, xlog1py and sinc. Domains keep away from
poles."""

import numpy as np

from ..spec import OpSpec

U = [((3, 4),), ((),), ((0,),), ((2, 3, 4),)]


def _neg_gamma(rng):  # negative non-integer arguments, away from the poles
    return [-rng.integers(1, 6, size=(3, 4)) + rng.uniform(0.2, 0.8, size=(3, 4))]


def _wide(rng):  # both branches of the kernels: small, medium and large arguments
    return [np.array([0.05, 0.3, 0.9, 1.4, 2.2, 3.7, 8.0, 11.5, 14.0, 35.0])]


def _igamma(rng):
    return [rng.uniform(0.5, 4.0, (3, 4)), rng.uniform(0.2, 6.0, (3, 4))]


def _zeta(rng):
    return [rng.uniform(1.5, 4.0, (3, 4)), rng.uniform(0.5, 3.0, (4,))]


OPS = [
    OpSpec("lgamma", lambda L, a: L.lgamma(a), U, domain=(0.1, 5.0)),
    OpSpec("lgamma_negative", lambda L, a: a.lgamma(), [((3, 4),)], make=_neg_gamma),
    OpSpec("lgamma_wide", lambda L, a: L.special.gammaln(a), [((10,),)], make=_wide),
    OpSpec("digamma", lambda L, a: L.digamma(a), U, domain=(0.2, 5.0)),
    OpSpec("digamma_negative", lambda L, a: L.special.psi(a), [((3, 4),)], make=_neg_gamma),
    OpSpec("digamma_wide", lambda L, a: a.digamma(), [((10,),)], make=_wide),
    OpSpec("polygamma1", lambda L, a: L.polygamma(1, a), U, domain=(0.3, 5.0)),
    OpSpec("polygamma2", lambda L, a: a.polygamma(2), [((3, 4),)], domain=(0.3, 5.0)),
    OpSpec("polygamma3", lambda L, a: L.special.polygamma(3, a), [((3, 4),)],
           domain=(0.5, 5.0), gradgrad=False),  # torch's polygamma(5) is cephes-accurate only
    OpSpec("polygamma1_negative", lambda L, a: L.polygamma(1, a), [((3, 4),)],
           make=_neg_gamma, rtol=1e-6),
    OpSpec("polygamma2_wide", lambda L, a: L.polygamma(2, a), [((10,),)], make=_wide,
           gradgrad=False),
    OpSpec("mvlgamma", lambda L, a: L.mvlgamma(a, 3), [((3, 4),), ((),)], domain=(1.5, 5.0)),
    OpSpec("multigammaln", lambda L, a: L.special.multigammaln(a, 1), [((4,),)],
           domain=(0.5, 3.0)),
    OpSpec("i0", lambda L, a: L.i0(a), U, domain=(-4.0, 4.0)),
    OpSpec("i0e", lambda L, a: L.special.i0e(a), U, domain=(-4.0, 4.0)),
    OpSpec("i1", lambda L, a: L.special.i1(a), U, domain=(-4.0, 4.0)),
    OpSpec("i1e", lambda L, a: L.special.i1e(a), U, domain=(-4.0, 4.0)),
    OpSpec("i0_large", lambda L, a: L.special.i0e(a) * L.special.i1e(a), [((3, 4),)],
           domain=(15.0, 40.0)),
    OpSpec("erfcx", lambda L, a: L.special.erfcx(a), U, domain=(-2.0, 8.0)),
    OpSpec("ndtr", lambda L, a: L.special.ndtr(a), U, domain=(-3.0, 3.0)),
    OpSpec("ndtri", lambda L, a: L.special.ndtri(a), U, domain=(0.05, 0.95)),
    OpSpec("log_ndtr", lambda L, a: L.special.log_ndtr(a), U, domain=(-6.0, 4.0)),
    OpSpec("entr", lambda L, a: L.special.entr(a), U, domain=(0.1, 2.0)),
    OpSpec("xlog1py", lambda L, a, b: L.special.xlog1py(a, b),
           [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((), (3,))], domain=(0.1, 2.0)),
    OpSpec("igamma", lambda L, a, x: L.igamma(a, x), [((3, 4), (3, 4))], make=_igamma,
           grad_inputs=(1,)),
    OpSpec("gammaincc", lambda L, a, x: L.special.gammaincc(a, x), [((3, 4), (3, 4))],
           make=_igamma, grad_inputs=(1,)),
    OpSpec("zeta", lambda L, s, q: L.special.zeta(s, q), [((3, 4), (4,))], make=_zeta,
           grad_inputs=(1,)),
    OpSpec("sinc", lambda L, a: L.sinc(a), [((3, 4),), ((),)]),
]
