"""Op-table entries for ``ember/_ops/linalg/tensor_solve.py``: tensorinv and tensorsolve on
well-conditioned matrices reshaped to tensors."""

import numpy as np

from ..spec import OpSpec


def _tensor_matrix(shape, n, rhs=()):
    """A well-conditioned ``n x n`` matrix reshaped to ``shape``, then right-hand sides."""

    def make(rng):
        a = rng.uniform(-1, 1, size=(n, n)) + n * np.eye(n)
        return [a.reshape(shape)] + [rng.uniform(-1, 1, size=s) for s in rhs]

    return make


OPS = [
    OpSpec("linalg_tensorinv", lambda L, a: L.linalg.tensorinv(a, ind=2), [((2, 3, 6),)],
           make=_tensor_matrix((2, 3, 6), 6)),
    OpSpec("linalg_tensorinv_ind1", lambda L, a: L.linalg.tensorinv(a, ind=1), [((4, 2, 2),)],
           make=_tensor_matrix((4, 2, 2), 4)),
    OpSpec("linalg_tensorsolve", lambda L, a, b: L.linalg.tensorsolve(a, b),
           [((2, 3, 6), (2, 3))], make=_tensor_matrix((2, 3, 6), 6, rhs=[(2, 3)])),
    OpSpec("linalg_tensorsolve_dims", lambda L, a, b: L.linalg.tensorsolve(a, b, dims=(0,)),
           [((6, 2, 3), (2, 3))], make=_tensor_matrix((6, 2, 3), 6, rhs=[(2, 3)])),
]
