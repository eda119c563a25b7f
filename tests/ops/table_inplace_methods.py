"""Op-table entries for ``ember/_ops/inplace_methods.py``: in-place writes through autograd
(``copy_``, ``fill_``, ``zero_``, ``fill_diagonal_``), in-place metadata changes (``squeeze_``,
``t_``, ``transpose_`` ...) and ``type_as``."""

from .spec import OpSpec

OPS = [
    OpSpec("copy_", lambda L, a, b: (a * 1).copy_(b), [((3, 4), (3, 4)), ((3, 4), (4,)),
                                                        ((), ()), ((2, 3), (1, 3))]),
    OpSpec("copy_view", lambda L, a, b: (lambda y: (y[1].copy_(b), y)[1])(a * 1),
           [((3, 4), (4,))]),
    OpSpec("fill_tensor", lambda L, a, v: (a * 1).fill_(v), [((3, 4), ()), ((0,), ())]),
    OpSpec("fill_number", lambda L, a: (a * 2).fill_(1.5) + a, [((3, 4),)]),
    OpSpec("zero_", lambda L, a: (a * 2).zero_() + a, [((3, 4),), ((),)]),
    OpSpec("fill_diagonal_", lambda L, a: (a * 1).fill_diagonal_(2.0), [((3, 3),), ((5, 3),)]),
    OpSpec("fill_diagonal_wrap", lambda L, a: (a * 1).fill_diagonal_(2.0, wrap=True),
           [((7, 3),)]),
    OpSpec("squeeze_", lambda L, a: (a * 1).squeeze_(), [((2, 1, 3, 1),)]),
    OpSpec("squeeze_dim_", lambda L, a: (a * 1).squeeze_(1), [((2, 1, 3),)]),
    OpSpec("unsqueeze_", lambda L, a: (a * 1).unsqueeze_(-1) * 2, [((2, 3),), ((),)]),
    OpSpec("t_", lambda L, a: (a * 1).t_(), [((2, 3),), ((3,),)]),
    OpSpec("transpose_", lambda L, a: (a * 1).transpose_(0, 2), [((2, 3, 4),)]),
    OpSpec("type_as", lambda L, a, b: a.type_as(b) * 1, [((2, 3), (1,))], dtypes=("float64",)),
]
