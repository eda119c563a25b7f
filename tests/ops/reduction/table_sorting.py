"""Op-table entries for ``ember/_ops/reduction/sorting.py``: sort, argsort, msort, topk and
kthvalue (values carry the gradient, indices none)."""

from ..spec import OpSpec

OPS = [
    OpSpec("sort", lambda L, a: a.sort(), [((3, 4),), ((5,),), ((),), ((0, 2),)]),
    OpSpec("sort_desc", lambda L, a: L.sort(a, stable=True, dim=0, descending=True),
           [((3, 4),), ((2, 3, 2),)]),
    OpSpec("argsort_values", lambda L, a: a.gather(-1, a.argsort(descending=True)),
           [((3, 4),)]),
    OpSpec("msort", lambda L, a: L.msort(a), [((4, 3),)]),
    OpSpec("topk", lambda L, a: a.topk(2), [((3, 4),), ((5,),)]),
    OpSpec("topk_smallest", lambda L, a: L.topk(a, 3, dim=0, largest=False), [((4, 2),)]),
    OpSpec("kthvalue", lambda L, a: a.kthvalue(2, 1, keepdim=True), [((3, 4),)]),
    OpSpec("kthvalue_flat", lambda L, a: L.kthvalue(a, 3), [((5,),), ((2, 4),)]),
]
