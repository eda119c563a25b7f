"""Op-table entries for ``ember/masked/_ops.py`` (``torch.masked``): the differentiable masked
reductions and normalizations, each with a bool mask that leaves at least one element of every
reduced slice masked in (a fully masked-out slice gives an identity such as ``-inf`` or
``nan``, whose gradient the finite-difference check cannot judge; tests/test_masked_ops.py
covers those values)."""

import numpy as np

from .spec import OpSpec


def masked(shape, dim=-1, low=-2.0, high=2.0):
    """Data in [low, high) and a random mask with every slice along ``dim`` masked in at its
    first element."""

    def make(rng):
        data = rng.uniform(low, high, size=shape)
        mask = rng.random(shape) < 0.5
        first = [slice(None)] * len(shape)
        first[dim] = 0
        mask[tuple(first)] = True
        return [data, mask]

    return make


def broadcast_mask(shape, mask_shape):
    """Data of ``shape`` and a mask of the smaller ``mask_shape``, broadcast by the op."""

    def make(rng):
        mask = np.ones(mask_shape, dtype=bool)
        mask.reshape(-1)[1::2] = False
        return [rng.uniform(-2.0, 2.0, size=shape), mask]

    return make


M = "masked_"
OPS = [
    OpSpec(M + "sum", lambda L, a, m: L.masked.sum(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "sum_all_keepdim", lambda L, a, m: L.masked.sum(a, keepdim=True, mask=m),
           [((2, 3, 4), (2, 3, 4))], make=masked((2, 3, 4))),
    OpSpec(M + "sum_broadcast_mask", lambda L, a, m: L.masked.sum(a, (0, 2), mask=m),
           [((2, 3, 4), (4,))], make=broadcast_mask((2, 3, 4), (4,))),
    OpSpec(M + "prod", lambda L, a, m: L.masked.prod(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4), low=0.5, high=1.5)),
    OpSpec(M + "amax", lambda L, a, m: L.masked.amax(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "amin", lambda L, a, m: L.masked.amin(a, (0, 1), keepdim=True, mask=m),
           [((3, 4), (3, 4))], make=masked((3, 4))),
    OpSpec(M + "mean", lambda L, a, m: L.masked.mean(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "median", lambda L, a, m: L.masked.median(a, 1, mask=m), [((3, 5), (3, 5))],
           make=masked((3, 5))),
    OpSpec(M + "norm", lambda L, a, m: L.masked.norm(a, 2.0, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "norm_ord1", lambda L, a, m: L.masked.norm(a, 1.0, 0, mask=m),
           [((3, 4), (3, 4))], make=masked((3, 4), dim=0)),
    OpSpec(M + "var", lambda L, a, m: L.masked.var(a, 1, mask=m),
           [((3, 5), (3, 5))], make=masked((3, 5))),
    OpSpec(M + "std", lambda L, a, m: L.masked.std(a, 1, correction=0, keepdim=True, mask=m),
           [((3, 5), (3, 5))], make=masked((3, 5))),
    OpSpec(M + "logsumexp", lambda L, a, m: L.masked.logsumexp(a, 1, mask=m),
           [((3, 4), (3, 4))], make=masked((3, 4))),
    OpSpec(M + "softmax", lambda L, a, m: L.masked.softmax(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "log_softmax", lambda L, a, m: L.masked.log_softmax(a, 1, mask=m)
           .masked_fill(~m, 0.0), [((3, 4), (3, 4))], make=masked((3, 4))),
    OpSpec(M + "softmin", lambda L, a, m: L.masked.softmin(a, 0, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4), dim=0)),
    OpSpec(M + "normalize", lambda L, a, m: L.masked.normalize(a, 2.0, 1, mask=m),
           [((3, 4), (3, 4))], make=masked((3, 4))),
    OpSpec(M + "cumsum", lambda L, a, m: L.masked.cumsum(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4))),
    OpSpec(M + "cumprod", lambda L, a, m: L.masked.cumprod(a, 1, mask=m), [((3, 4), (3, 4))],
           make=masked((3, 4), low=0.5, high=1.5)),
    OpSpec(M + "logaddexp",
           lambda L, a, b, m: L.masked.logaddexp(a, b, input_mask=m, other_mask=m),
           [((3, 4), (3, 4), (3, 4))],
           make=lambda rng: [rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (3, 4)),
                             np.ones((3, 4), dtype=bool)]),
]
