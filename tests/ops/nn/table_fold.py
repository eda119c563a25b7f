"""Op-table entries for ``ember/_ops/nn/fold.py``: unfold (im2col) and fold (col2im), with
pixel_shuffle/pixel_unshuffle and channel_shuffle, the same kind of rearrangement of blocks
between channels and space."""

from .._inputs import F
from ..spec import OpSpec

OPS = [
    OpSpec("pixel_shuffle", lambda L, x: F(L).pixel_shuffle(x, 2), [((1, 8, 2, 3),)]),
    OpSpec("channel_shuffle", lambda L, x: F(L).channel_shuffle(x, 3),
           [((2, 6, 2, 3),), ((1, 6, 4),)]),
    OpSpec("pixel_unshuffle", lambda L, x: F(L).pixel_unshuffle(x, 2), [((1, 2, 4, 2),)]),
    # im2col / col2im
    OpSpec("unfold", lambda L, x: F(L).unfold(x, (2, 3), dilation=(1, 2), padding=1,
                                              stride=(2, 1)), [((2, 3, 5, 6),), ((2, 4, 4),)]),
    OpSpec("fold", lambda L, x: F(L).fold(x, (4, 5), (2, 2), padding=1, stride=(2, 1)),
           [((2, 8, 18),), ((4, 18),)]),
]
