"""Op-table entries for ``ember/_ops/reduction/statistics.py``: var and std (dims, corrections),
var_mean/std_mean, logsumexp, cov and corrcoef."""

from ..spec import OpSpec

OPS = [
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
    OpSpec("cov", lambda L, a: L.cov(a), [((3, 5),), ((6,),)]),
    OpSpec("cov_correction0", lambda L, a: L.cov(a, correction=0), [((2, 4),)]),
    OpSpec("cov_aweights", lambda L, a, w: L.cov(a, aweights=w.abs() + 0.1), [((3, 5), (5,))]),
    OpSpec("corrcoef", lambda L, a: L.corrcoef(a), [((3, 6),)]),
]
