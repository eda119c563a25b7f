"""Op-table entries for ``ember/_ops/shape/builders.py``: broadcast_tensors, meshgrid,
cartesian_prod, block_diag and vander."""

from ..spec import OpSpec

OPS = [
    OpSpec("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b),
           [((3, 1), (4,)), ((), (2, 3))]),
    OpSpec("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [((3,), (4,))]),
    OpSpec("meshgrid_xy", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="xy"),
           [((2,), (3,), (4,)), ((2,), (), (3,))]),
    OpSpec("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [((3,), (2,))]),
    OpSpec("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [((2, 3), (2,), ())]),
    # torch 2.13's own vander backward fails (cumprod saved tensor modified in place), so no
    # gradient comparison here: tests/ops/shape/test_builders_and_strides.py gradchecks ember's vander.
    OpSpec("vander", lambda L, a: L.vander(a), [((4,),)], grad=False),
    OpSpec("vander_inc", lambda L, a: L.vander(a, N=3, increasing=True), [((4,),)], grad=False),
    OpSpec("combinations", lambda L, a: L.combinations(a, 2), [((4,),)]),
    OpSpec("combinations_replacement", lambda L, a: L.combinations(a, 3, True), [((3,),)]),
    OpSpec("fill", lambda L, a, v: L.fill(a, v), [((3, 4), ())]),
]
