"""Op-table entries for ``ember/_ops/linalg/legacy.py``: the top-level ``matrix_power`` and
``pinverse``."""

from ..spec import OpSpec

OPS = [
    OpSpec("torch_matrix_power", lambda L, a: L.matrix_power(a, 3), [((3, 3),), ((2, 2, 2),)],
           atol=1e-4),
    OpSpec("pinverse", lambda L, a: L.pinverse(a), [((4, 3),), ((3, 4),), ((2, 3, 3),)],
           atol=1e-4),
]
