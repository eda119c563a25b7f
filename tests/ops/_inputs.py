"""Pieces that several op tables share: sample shapes, samplers and the functional namespace.

A table keeps the helpers only it uses; the ones two or more tables use live here, under the
names the entries call them by.
"""

import numpy as np

# pointwise: binary samples (broadcasting, 0-d, empty), the first four of them, and integer
# ranges for (numerator, divisor) pairs that avoid division by zero
B = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((), (3,)), ((0, 3), (3,))]
B2 = B[:4]
INT2 = {0: (-20, 20), 1: (1, 7)}

# pointwise: unary samples
U = [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),)]


def _call(name):
    """``fn`` calling ``lib.<name>(*tensors)``."""
    return lambda L, *xs: getattr(L, name)(*xs)


def _s(*shapes):
    """One sample per shape for single-input ops."""
    return [(s,) for s in shapes]


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


def well_conditioned(*shapes, rhs=()):
    """Square matrices ``R + n I`` (far from singular), then right-hand sides."""

    def make(rng):
        out = []
        for shape in shapes:
            n = shape[-1]
            out.append(rng.uniform(-1, 1, size=shape) + n * np.eye(n))
        return out + [rng.uniform(-1, 1, size=s) for s in rhs]

    return make


def F(L):
    """``nn.functional`` of ``L`` (ember or torch)."""
    return L.nn.functional
