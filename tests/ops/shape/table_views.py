"""Op-table entries for ``ember/_ops/shape/views.py``: reshape, view, transpose, permute,
squeeze/unsqueeze, expand and clone."""

from .._inputs import _s
from ..spec import OpSpec

OPS = [
    OpSpec("reshape", lambda L, a: a.reshape(4, -1), [((2, 3, 4),), ((4, 0),)]),
    OpSpec("view", lambda L, a: a.contiguous().view(-1), [((2, 3),)]),
    OpSpec("transpose", lambda L, a: a.transpose(0, -1), [((2, 3, 4),)]),
    OpSpec("permute", lambda L, a: a.permute(2, 0, 1), [((2, 3, 4),)]),
    OpSpec("unsqueeze", lambda L, a: a.unsqueeze(-1), [((2, 3),), ((),)]),
    OpSpec("squeeze", lambda L, a: a.squeeze(), [((2, 1, 3, 1),)]),
    OpSpec("expand", lambda L, a: a.expand(2, 3, 4), [((3, 1),), ((1, 4),)]),
    OpSpec("clone", lambda L, a: a.clone(), [((2, 3),)]),
    OpSpec("squeeze_dims", lambda L, a: a.squeeze((0, 2)), _s((1, 3, 1), (2, 1, 1))),
]
