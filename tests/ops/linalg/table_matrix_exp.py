"""Op-table entries for ``ember/_ops/linalg/matrix_exp.py``: ``matrix_exp`` on small and scaled
matrices (both branches of scaling and squaring)."""

from ..spec import OpSpec


def _expm(scale):
    def make(rng):
        return [rng.uniform(-1, 1, (3, 3)) * scale]
    return make


OPS = [
    OpSpec("matrix_exp", lambda L, a: L.matrix_exp(a), [((3, 3),), ((2, 3, 3),), ((1, 1),)],
           domain=(-1.0, 1.0)),
    OpSpec("matrix_exp_scaled", lambda L, a: L.linalg.matrix_exp(a), [((3, 3),)],
           make=_expm(4.0), atol=1e-4, grad_atol=1e-4),
]
