"""Op-table entries for reductions: sum/mean dtypes, prod, cumulative ops, var/std,
logsumexp, norms, and the selection reductions (max/min/amax/median/mode)."""

import numpy as np

from .spec import OpSpec

S1 = [((3, 4),), ((),), ((2, 3, 4),)]
S_EMPTY = [((3, 4),), ((),), ((0, 3),)]


def distinct(*shapes, offset=0.0):
    """Inputs without ties (a shuffled grid of values spaced 0.1 apart): max/min/median
    gradients go to one element, and finite differences never cross a tie."""

    def make(rng):
        out = []
        for shape in shapes:
            n = int(np.prod(shape))
            vals = (np.arange(n) - n / 2) * 0.1 + offset
            out.append(rng.permutation(vals).reshape(shape))
        return out

    return make


def with_zeros(shape, k):
    """Inputs with ``k`` exact zeros (prod/cumprod's special case)."""

    def make(rng):
        a = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
        a.reshape(-1)[rng.choice(a.size, k, replace=False)] = 0.0
        return [a]

    return make


def _unique_rows(rng):
    """Rows with a clear mode: one value appears twice, the others once."""
    a = rng.permutation(np.arange(12) * 0.25 - 1.0).reshape(3, 4)
    a[:, 3] = a[:, 1]
    return [a]


OPS = [
    OpSpec("sum_keepdim_int_dim", lambda L, a: a.sum(1, True), [((3, 4),), ((2, 0, 3),)]),
    OpSpec("sum_dtype", lambda L, a: L.sum(a, dim=0, dtype=L.float64), [((3, 4),)]),
    OpSpec("sum_empty_tuple", lambda L, a: a.sum(dim=(-1, 0)), [((2, 3, 4),), ((0, 3),)]),
    OpSpec("mean_keepdim", lambda L, a: L.mean(a, (0, -1), keepdim=True), [((2, 3, 4),)]),
    OpSpec("prod", lambda L, a: a.prod(), [((2, 3),), ((),), ((0, 2),)], domain=(0.5, 1.5)),
    OpSpec("prod_dim", lambda L, a: L.prod(a, 1, keepdim=True), [((2, 3, 4),), ((3, 0),)],
           domain=(-1.5, 1.5)),
    # With zeros the gradient is the product of the others; second derivatives through a zero
    # are not tracked (see Prod.backward), so only first order is compared.
    OpSpec("prod_one_zero", lambda L, a: a.prod(1), [((3, 4),)], make=with_zeros((3, 4), 1),
           gradgrad=False),
    OpSpec("prod_two_zeros", lambda L, a: a.prod(), [((3, 4),)], make=with_zeros((3, 4), 2),
           gradgrad=False),
    OpSpec("cumsum", lambda L, a: a.cumsum(-1), S_EMPTY),
    OpSpec("cumsum_dim0", lambda L, a: L.cumsum(a, dim=0), [((3, 4, 2),)]),
    OpSpec("cumprod", lambda L, a: a.cumprod(1), [((3, 4),), ((2, 3, 2),)], domain=(0.5, 1.5)),
    OpSpec("cumprod_0d", lambda L, a: L.cumprod(a, 0), [((),), ((0,),)]),
    OpSpec("cumprod_zero", lambda L, a: a.cumprod(1), [((3, 4),)], make=with_zeros((3, 4), 2),
           gradgrad=False),  # first order only through zeros, as for prod
    OpSpec("var", lambda L, a: a.var(), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("var_dim", lambda L, a: L.var(a, dim=(0, 2), keepdim=True), [((2, 3, 4),)]),
    OpSpec("var_unbiased_false", lambda L, a: a.var(1, unbiased=False), [((3, 4),)]),
    OpSpec("var_correction", lambda L, a: L.var(a, 0, correction=2), [((5, 3),)]),
    OpSpec("std", lambda L, a: a.std(), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("std_dim", lambda L, a: L.std(a, -1, keepdim=True), [((3, 4),), ((0, 4),)]),
    OpSpec("std_correction0", lambda L, a: a.std(dim=(0, 1), correction=0), [((2, 3, 4),)]),
    OpSpec("var_mean", lambda L, a: L.var_mean(a, 1), [((3, 4),)]),
    OpSpec("std_mean", lambda L, a: L.std_mean(a, dim=0, keepdim=True), [((3, 4),)]),
    OpSpec("logsumexp", lambda L, a: L.logsumexp(a, 1), [((3, 4),), ((2, 3, 4),), ((0, 4),)],
           domain=(-5, 5)),
    OpSpec("logsumexp_tuple", lambda L, a: a.logsumexp((0, -1), keepdim=True),
           [((2, 3, 4),)], domain=(-5, 5)),
    OpSpec("logsumexp_0d", lambda L, a: L.logsumexp(a, 0), [((),)]),
    OpSpec("logsumexp_large", lambda L, a: L.logsumexp(a * 100, 0), [((4, 3),)]),
    OpSpec("norm", lambda L, a: a.norm(), S1 + [((0, 2),)]),
    OpSpec("norm_dim", lambda L, a: L.norm(a, dim=1, keepdim=True), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("norm_p1", lambda L, a: a.norm(1, dim=0), [((3, 4),)]),
    OpSpec("norm_p3", lambda L, a: L.norm(a, p=3, dim=(0, 1)), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("norm_p05", lambda L, a: a.norm(0.5), [((3, 4),)], domain=(0.2, 2.0)),
    OpSpec("norm_inf", lambda L, a: a.norm(float("inf"), dim=1), [((3, 4),)],
           make=distinct((3, 4), offset=0.05)),
    OpSpec("norm_neg_inf", lambda L, a: a.norm(float("-inf")), [((3, 4),)],
           make=distinct((3, 4), offset=0.05)),
    OpSpec("norm_fro_dims", lambda L, a: L.norm(a, "fro", dim=(0, 2)), [((2, 3, 4),)]),
    OpSpec("max", lambda L, a: a.max(), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("max_0d", lambda L, a: L.max(a), [((),)]),
    OpSpec("max_dim", lambda L, a: tuple(L.max(a, 1)), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("max_dim_keepdim", lambda L, a: tuple(a.max(dim=0, keepdim=True)), [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("max_dim_0d", lambda L, a: tuple(a.max(0)), [((),)]),
    OpSpec("max_dim_empty", lambda L, a: tuple(a.max(1)), [((0, 3),)]),
    OpSpec("min", lambda L, a: L.min(a), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("min_dim", lambda L, a: a.min(-1).values, [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("max_binary", lambda L, a, b: L.max(a, b), [((3, 4),)],
           make=distinct((3, 4), (3, 4), offset=0.05)),
    OpSpec("amax", lambda L, a: a.amax(), [((3, 4),)], make=distinct((3, 4))),
    OpSpec("amax_dims", lambda L, a: L.amax(a, (0, 2), keepdim=True), [((2, 3, 4),)],
           make=distinct((2, 3, 4))),
    OpSpec("amin_dim", lambda L, a: L.amin(a, 1), [((3, 4),)], make=distinct((3, 4))),
    # Ties: PyTorch splits the gradient evenly among them. Finite differences are invalid at
    # a tie (the function has a kink there), hence no gradcheck.
    OpSpec("amax_ties", lambda L, a: L.amax(a.round(), 1), [((3, 6),)], domain=(-1.4, 1.4),
           gradcheck=False),
    OpSpec("max_ties", lambda L, a: (a * 0 + 1).max(), [((2, 3),)], gradcheck=False),
    OpSpec("aminmax", lambda L, a: tuple(L.aminmax(a, dim=0)), [((3, 4),)],
           make=distinct((3, 4))),
    OpSpec("median", lambda L, a: a.median(), [((3, 4),), ((2, 3, 5),)],
           make=None, domain=(-2, 2)),
    OpSpec("median_dim", lambda L, a: tuple(L.median(a, 1)), [((3, 4),)],
           make=distinct((3, 4))),
    OpSpec("median_dim_keepdim", lambda L, a: tuple(a.median(0, keepdim=True)), [((5, 3),)],
           make=distinct((5, 3))),
    # The mode is a repeated value: moving one copy changes which value is the mode, so finite
    # differences are invalid there.
    OpSpec("mode", lambda L, a: tuple(L.mode(a, 1)), [((3, 4),)], make=_unique_rows,
           gradcheck=False),
    OpSpec("nansum", lambda L, a: L.nansum(a, 1), [((3, 4),)]),
    OpSpec("nanmean", lambda L, a: a.nanmean(0), [((3, 4),)]),
    OpSpec("argmax", lambda L, a: (a.argmax(), L.argmax(a, 1, keepdim=True)), [((3, 4),)],
           make=distinct((3, 4)), grad=False),
    OpSpec("argmin", lambda L, a: (a.argmin(keepdim=True), L.argmin(a, -1)), [((2, 3, 4),)],
           make=distinct((2, 3, 4)), grad=False),
    OpSpec("all_any", lambda L, a: (a.gt(0).all(), L.any(a > 0, 1), a.gt(0).all(0, True)),
           [((3, 4),), ((0, 2),)], grad=False),
    OpSpec("count_nonzero", lambda L, a: L.count_nonzero(a.round(), dim=(0, 1)),
           [((3, 4),)], grad=False),
]
