"""Cost of adding float32 sums in PyTorch's order (ember/_ops/reduction/_sum_order.py).

Prints, per case, the best of repeated CPU-time measurements of ``np.add.reduce``, of
``torch_order_sum`` and of ``ember.sum`` with and without the exact order
(``python benchmarks/sum_order_ratio.py``).
"""

import time
import timeit

import numpy as np

import ember
from ember._ops.reduction import sums
from ember._ops.reduction._sum_order import torch_order_sum

CASES = [((10,), None), ((1000,), None), ((100_000,), None), ((1_000_000,), None),
         ((512, 1024), None), ((512, 1024), 0), ((512, 1024), 1)]


def best(fn, number):
    """Microseconds per call: the best of 7 repeats, in CPU time (steadier than wall-clock
    time on a machine shared with other work)."""
    runs = timeit.repeat(fn, number=number, repeat=7, timer=time.process_time)
    return min(runs) / number * 1e6


def measure(x: np.ndarray, dim) -> tuple:
    """Microseconds of np.add.reduce, torch_order_sum, and ember.sum before/after."""
    axes = tuple(range(x.ndim)) if dim is None else (dim,)
    t = ember.from_numpy(x)
    number = max(1, int(2e5 // x.size))
    base = best(lambda: np.add.reduce(x, axis=axes), number)
    ours = best(lambda: torch_order_sum(x, axes, False), number)
    exact = sums._in_torch_order
    sums._in_torch_order = lambda *a: False  # the NumPy path, as before issue 13
    try:
        before = best(lambda: t.sum(dim), number)
    finally:
        sums._in_torch_order = exact
    after = best(lambda: t.sum(dim), number)
    return base, ours, before, after


def main():
    rng = np.random.default_rng(0)
    print(f"{'case':<22}{'np.add.reduce':>14}{'torch_order':>12}{'ratio':>7}"
          f"{'ember before':>14}{'ember after':>13}{'ratio':>7}   (us)")
    for shape, dim in CASES:
        base, ours, before, after = measure(rng.standard_normal(shape).astype(np.float32), dim)
        name = f"{shape} dim={dim}"
        print(f"{name:<22}{base:14.1f}{ours:12.1f}{ours / base:7.2f}"
              f"{before:14.1f}{after:13.1f}{after / before:7.2f}")


if __name__ == "__main__":
    main()
