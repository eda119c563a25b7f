"""Op-table entries for ``ember/_ops/shape/copies.py``: flips, roll, rot90, repeat and tile,
repeat_interleave, tril/triu, diag and friends, and pad in every mode."""

from .._inputs import _s
from ..spec import OpSpec


def _pad(L, a, pad, **kw):
    if L.__name__ == "torch":
        return L.nn.functional.pad(a, pad, **kw)
    from ember._ops.shape.copies import pad as ember_pad

    return ember_pad(a, pad, **kw)


OPS = [
    OpSpec("flip", lambda L, a: a.flip((0, -1)), _s((2, 3, 4), (3, 0))),
    OpSpec("flip_one", lambda L, a: L.flip(a, (0,)), _s((3,), ())),
    OpSpec("fliplr", lambda L, a: L.fliplr(a) * L.flipud(a), _s((3, 3),)),
    OpSpec("roll", lambda L, a: a.roll((1, -2), (0, 1)), _s((3, 4),)),
    OpSpec("roll_flat", lambda L, a: L.roll(a, 5), _s((3, 4), (0,))),
    OpSpec("repeat", lambda L, a: a.repeat(2, 1, 3), _s((3, 2), (), (2, 1, 2))),
    OpSpec("tile", lambda L, a: a.tile((2,)), _s((3, 2), (3,))),
    OpSpec("repeat_interleave", lambda L, a: a.repeat_interleave(2, dim=1), _s((3, 2),)),
    OpSpec("repeat_interleave_flat", lambda L, a: L.repeat_interleave(a, 3), _s((3, 2), ())),
    OpSpec("repeat_interleave_tensor",
           lambda L, a: a.repeat_interleave(L.tensor([0, 2, 1]), dim=0), _s((3, 2),)),
    OpSpec("tril", lambda L, a: a.tril(), _s((3, 4), (2, 4, 3))),
    OpSpec("triu", lambda L, a: L.triu(a, -1) + L.tril(a, 2), _s((4, 3), (2, 3, 3))),
    OpSpec("diag", lambda L, a: L.diag(a, 1), _s((3,), (3, 4), (4, 3))),
    OpSpec("diag_embed", lambda L, a: L.diag_embed(a, -1, 0, 2), _s((2, 3),)),
    OpSpec("pad_constant", lambda L, a: _pad(L, a, (1, 2, 0, 1), value=0.5),
           _s((2, 3), (2, 3, 4))),
    OpSpec("pad_crop", lambda L, a: _pad(L, a, (-1, 2, 1, -2)), _s((3, 4), (2, 4, 4))),
    OpSpec("pad_reflect", lambda L, a: _pad(L, a, (2, 1), mode="reflect"), _s((2, 3, 4),)),
    OpSpec("pad_reflect_2d", lambda L, a: _pad(L, a, (1, 1, 2, 0), mode="reflect"),
           _s((1, 2, 3, 4),)),
    OpSpec("pad_replicate", lambda L, a: _pad(L, a, (2, 3, 1, 1), mode="replicate"),
           _s((2, 3, 4), (1, 2, 2, 3))),
    OpSpec("pad_circular", lambda L, a: _pad(L, a, (2, 1, 0, 3), mode="circular"),
           _s((1, 3, 4),), gradgrad=False),
    OpSpec("rot90", lambda L, a: L.rot90(a), [((2, 3),), ((2, 3, 4),)]),
    OpSpec("rot90_k", lambda L, a: a.rot90(-3, [2, 0]), [((2, 3, 4),)]),
    OpSpec("rot90_k2", lambda L, a: L.rot90(a, 2, [0, 1]), [((2, 3),)]),
    OpSpec("rot90_k0", lambda L, a: L.rot90(a, 0, [1, 0]), [((2, 3),)]),
    OpSpec("diagflat", lambda L, a: L.diagflat(a, -1), [((2, 2),)]),
]
