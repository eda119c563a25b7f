"""Op-table entries for ``ember/_ops/reduction/quantile.py``: quantile (scalar and tensor q,
interpolation modes), nanquantile and nanmedian."""

from ..spec import OpSpec

OPS = [
    OpSpec("quantile", lambda L, a: L.quantile(a, 0.3), [((3, 4),), ((5,),)]),
    OpSpec("quantile_dim", lambda L, a, q: L.quantile(a, q.abs() / 2, dim=1, keepdim=True),
           [((3, 5), (2,))], grad_inputs=(0,)),
    OpSpec("quantile_nearest", lambda L, a: a.quantile(0.6, 0, interpolation="midpoint"),
           [((4, 3),)]),
    OpSpec("nanquantile", lambda L, a: L.nanquantile(a, 0.75, dim=0), [((4, 3),)]),
    OpSpec("nanmedian", lambda L, a: L.nanmedian(a, 1), [((3, 4),)]),
    OpSpec("nanmedian_all", lambda L, a: L.nanmedian(a), [((3, 5),)]),
]
