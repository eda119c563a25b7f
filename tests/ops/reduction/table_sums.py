"""Op-table entries for ``ember/_ops/reduction/sums.py``: sum and mean (dims, dtypes, keepdim),
prod and cumprod (zeros included), cumsum, nansum/nanmean, all/any, count_nonzero and
sum_to_size."""

from ..spec import OpSpec

S_EMPTY = [((3, 4),), ((),), ((0, 3),)]


def with_zeros(shape, k):
    """Inputs with ``k`` exact zeros (prod/cumprod's special case)."""

    def make(rng):
        a = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
        a.reshape(-1)[rng.choice(a.size, k, replace=False)] = 0.0
        return [a]

    return make


OPS = [
    OpSpec("sum", lambda L, a: a.sum(), [((3, 4),), ((),), ((0, 2),)]),
    OpSpec("sum_dim", lambda L, a: a.sum(dim=(0, 2), keepdim=True), [((2, 3, 4),)]),
    OpSpec("sum_dim_neg", lambda L, a: L.sum(a, -1), [((2, 3, 4),), ((3,),)]),
    OpSpec("mean", lambda L, a: a.mean(), [((3, 4),), ((),)]),
    OpSpec("mean_dim", lambda L, a: a.mean(1), [((2, 3, 4),)]),
    OpSpec("sum_keepdim_int_dim", lambda L, a: a.sum(1, True), [((3, 4),), ((2, 0, 3),)]),
    OpSpec("sum_dtype", lambda L, a: L.sum(a, dim=0, dtype=L.float64), [((3, 4),)]),
    OpSpec("sum_empty_tuple", lambda L, a: a.sum(dim=(-1, 0)), [((2, 3, 4),), ((0, 3),)]),
    OpSpec("mean_keepdim", lambda L, a: L.mean(a, (0, -1), keepdim=True), [((2, 3, 4),)]),
    OpSpec("prod", lambda L, a: a.prod(), [((2, 3),), ((),), ((0, 2),)], domain=(0.5, 1.5)),
    OpSpec("prod_dim", lambda L, a: L.prod(a, 1, keepdim=True), [((2, 3, 4),), ((3, 0),)],
           domain=(-1.5, 1.5)),
    # With zeros the gradient is the product of the others (second order too, as torch's
    # prod_safe_zeros_backward)
    OpSpec("prod_one_zero", lambda L, a: a.prod(1), [((3, 4),)], make=with_zeros((3, 4), 1)),
    OpSpec("prod_two_zeros", lambda L, a: a.prod(), [((3, 4),)], make=with_zeros((3, 4), 2)),
    OpSpec("cumsum", lambda L, a: a.cumsum(-1), S_EMPTY),
    OpSpec("cumsum_dim0", lambda L, a: L.cumsum(a, dim=0), [((3, 4, 2),)]),
    OpSpec("cumprod", lambda L, a: a.cumprod(1), [((3, 4),), ((2, 3, 2),)], domain=(0.5, 1.5)),
    OpSpec("cumprod_0d", lambda L, a: L.cumprod(a, 0), [((),), ((0,),)]),
    OpSpec("cumprod_zero", lambda L, a: a.cumprod(1), [((3, 4),)], make=with_zeros((3, 4), 2)),
    OpSpec("nansum", lambda L, a: L.nansum(a, 1), [((3, 4),)]),
    OpSpec("nanmean", lambda L, a: a.nanmean(0), [((3, 4),)]),
    OpSpec("all_any", lambda L, a: (a.gt(0).all(), L.any(a > 0, 1), a.gt(0).all(0, True)),
           [((3, 4),), ((0, 2),)], grad=False),
    OpSpec("count_nonzero", lambda L, a: L.count_nonzero(a.round(), dim=(0, 1)),
           [((3, 4),)], grad=False),
    OpSpec("sum_to_size", lambda L, a: a.sum_to_size(3, 1), [((2, 3, 4),), ((3, 1),)]),
    OpSpec("cumsum_", lambda L, a: (a * 1).cumsum_(1), [((3, 4),)]),
]
