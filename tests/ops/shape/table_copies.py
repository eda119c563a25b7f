"""Op-table entries for shape and movement ops: views, joins, splits, flips, padding."""

from .spec import OpSpec


def _s(*shapes):
    """One sample per shape for single-input ops."""
    return [(s,) for s in shapes]


OPS = [
    OpSpec("narrow", lambda L, a: a.narrow(1, 1, 2), _s((3, 4), (2, 3, 4))),
    OpSpec("select", lambda L, a: a.select(-1, 2), _s((3, 4), (4, 3), (3,))),
    OpSpec("diagonal", lambda L, a: a.diagonal(), _s((3, 4), (4, 3), (2, 3, 3))),
    OpSpec("diagonal_offset", lambda L, a: L.diagonal(a, offset=-1, dim1=2, dim2=0),
           _s((3, 4, 3), (2, 2, 2))),
    OpSpec("flatten", lambda L, a: a.flatten(), _s((2, 3, 4), (), (0, 3))),
    OpSpec("flatten_range", lambda L, a: L.flatten(a, 1, -1), _s((2, 3, 4),)),
    OpSpec("unflatten", lambda L, a: a.unflatten(1, (2, -1)), _s((3, 4), (2, 6, 1))),
    OpSpec("movedim", lambda L, a: L.movedim(a, (0, 1), (2, 0)), _s((2, 3, 4),)),
    OpSpec("squeeze_dims", lambda L, a: a.squeeze((0, 2)), _s((1, 3, 1), (2, 1, 1))),
    OpSpec("view_as", lambda L, a, b: a.contiguous().view_as(b) + b, [((2, 6), (3, 4))]),
    OpSpec("reshape_as", lambda L, a, b: a.reshape_as(b) * b, [((2, 6), (3, 4))]),
    OpSpec("atleast_3d", lambda L, a: L.atleast_3d(a), _s((), (3,), (2, 3))),
    OpSpec("getitem_basic", lambda L, a: a[1:, None, ::2], _s((3, 4), (3, 4, 2))),
    OpSpec("getitem_int", lambda L, a: a[-1, 1], _s((3, 4), (2, 3, 4))),
    OpSpec("getitem_list", lambda L, a: a[[0, 2, 0]], _s((3, 4), (3,))),
    OpSpec("getitem_mixed", lambda L, a: a[:, [1, 1, 0], 0], _s((2, 3, 4),)),
    OpSpec("getitem_mask", lambda L, a, m: a[m], [((3, 4), (3, 4)), ((3, 4), (3,)), ((), ())],
           bool_inputs=(1,)),
    OpSpec("setitem", lambda L, a, b: _setitem(a, (slice(None), 1), b),
           [((3, 4), (3,)), ((3, 4), ()), ((2, 4, 3), (2, 3))]),
    OpSpec("setitem_advanced", lambda L, a, b: _setitem(a, ([0, 2],), b),
           [((3, 4), (4,)), ((3, 4), (2, 4))]),
    OpSpec("cat", lambda L, a, b: L.cat([a, b], 1),
           [((2, 3), (2, 4)), ((2, 0, 3), (2, 2, 3)), ((3, 1), (3, 1))]),
    OpSpec("cat_three", lambda L, a, b, c: L.cat((a, b, c)), [((1, 3), (2, 3), (0, 3))]),
    OpSpec("cat_skip_empty", lambda L, a, b: L.cat([a, b]), [((0,), (2, 3))]),
    OpSpec("stack", lambda L, a, b: L.stack([a, b], -1), [((2, 3), (2, 3)), ((), ())]),
    OpSpec("hstack", lambda L, a, b: L.hstack([a, b]), [((3,), (2,)), ((2, 3), (2, 1))]),
    OpSpec("vstack", lambda L, a, b: L.vstack([a, b]), [((3,), (3,)), ((2, 3), (1, 3))]),
    OpSpec("dstack", lambda L, a, b: L.dstack([a, b]), [((3,), (3,)), ((2, 3), (2, 3))]),
    OpSpec("column_stack", lambda L, a, b: L.column_stack([a, b]), [((3,), (3, 2))]),
    OpSpec("split", lambda L, a: a.split(2, dim=1), _s((3, 5), (2, 4))),
    OpSpec("split_sizes", lambda L, a: L.split(a, [1, 0, 2]), _s((3, 2),)),
    OpSpec("chunk", lambda L, a: a.chunk(3, -1), _s((2, 7), (4,))),
    OpSpec("unbind", lambda L, a: a.unbind(1), _s((2, 3), (3, 1))),
    OpSpec("tensor_split", lambda L, a: L.tensor_split(a, 3), _s((7, 2),)),
    OpSpec("tensor_split_idx", lambda L, a: a.tensor_split([1, 4], dim=1), _s((2, 5),)),
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
    OpSpec("pad_reflect", lambda L, a: _pad(L, a, (2, 1), mode="reflect"), _s((2, 3, 4),),
           gradgrad=False),  # torch's backward takes the input, so its grad "requires grad"
    OpSpec("pad_reflect_2d", lambda L, a: _pad(L, a, (1, 1, 2, 0), mode="reflect"),
           _s((1, 2, 3, 4),), gradgrad=False),
    OpSpec("pad_replicate", lambda L, a: _pad(L, a, (2, 3, 1, 1), mode="replicate"),
           _s((2, 3, 4), (1, 2, 2, 3)), gradgrad=False),
    OpSpec("pad_circular", lambda L, a: _pad(L, a, (2, 1, 0, 3), mode="circular"),
           _s((1, 3, 4),), gradgrad=False),
]


def _pad(L, a, pad, **kw):
    if L.__name__ == "torch":
        return L.nn.functional.pad(a, pad, **kw)
    from ember._ops.shape.copies import pad as ember_pad

    return ember_pad(a, pad, **kw)


def _setitem(a, index, b):
    y = a * 1.0
    y[index] = b
    return y
