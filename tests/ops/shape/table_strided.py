"""Op-table entries for ``ember/_ops/shape/strided.py``: ``as_strided``, overlapping windows
included."""

from ..spec import OpSpec

OPS = [
    OpSpec("as_strided", lambda L, a: L.as_strided(a, (3, 3), (2, 1), 1), [((3, 4),)],
           noncontig=False),
    OpSpec("as_strided_overlap", lambda L, a: a.as_strided((2, 3), (1, 1)), [((4,),)],
           noncontig=False),
]
