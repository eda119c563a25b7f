"""Op-table entries for ``ember/_ops/indexing/scatter_reduce.py``: every reduction, with and
without ``include_self``, and a source larger than the index."""

import numpy as np

from ..spec import OpSpec


def _index(shape, n, rng):
    return rng.integers(0, n, size=shape).astype(np.int64)


def _scatter(rng):
    x = rng.uniform(0.5, 2.0, (3, 5)) * rng.choice([-1, 1], (3, 5))
    return [x, rng.uniform(0.5, 2.0, (3, 4)), _index((3, 4), 5, rng)]


def _scatter_big_src(rng):  # src larger than index: only index's corner takes part
    return [rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, (5, 3)), _index((2, 3), 4, rng)]


def _scatter_specs():
    out = []
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            out.append(OpSpec(
                f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}",
                lambda L, x, s, i, r=reduce, k=include_self: x.scatter_reduce(
                    1, i, s, r, include_self=k),
                [((3, 5), (3, 4), (3, 4))], make=_scatter, grad_inputs=(0, 1),
                noncontig=False))
    out.append(OpSpec("scatter_reduce_bigsrc", lambda L, x, s, i: L.scatter_reduce(
        x, 0, i, s, "mean", include_self=False), [((4, 3), (5, 3), (2, 3))],
        make=_scatter_big_src, noncontig=False, grad=False))  # torch's own backward fails here
    return out


OPS = [
    *_scatter_specs(),
    # index_reduce: the positions [0, 2, 0, 2] collide, so every reduction combines values
    # (include_self=False is compared in tests/ops/indexing/test_index_reduce.py: torch fails
    # on an empty input there with an internal storage error)
    *[OpSpec(f"index_reduce_{r}",
             lambda L, x, s, r=r: L.index_reduce(
                 x, 0, L.tensor([0, 2, 0, 2], device=x.device), s, r),
             [((3, 2), (4, 2))], domain=(0.5, 2.0))
      for r in ("prod", "mean", "amax", "amin")],
]
