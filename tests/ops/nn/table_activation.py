"""Op-table entries for ``ember/_ops/nn/activation.py`` and the rest of ``nn.functional``'s
activations; kinked ones get samples away from their kinks."""

import numpy as np

from .._inputs import F
from ..spec import OpSpec

U = [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),)]
U1 = [((3, 4),), ((2, 3, 4),)]


def _away_from(points, lo=-3.0, hi=3.0, gap=0.05):
    """A sampler that keeps inputs away from an activation's kinks (finite differences)."""
    def make_for(shape):
        def make(rng):
            x = rng.uniform(lo, hi, shape)
            for p in points:
                near = np.abs(x - p) < gap
                x[near] = p + gap * 2 * np.sign(x[near] - p + 1e-12)
            return [x]
        return make
    return make_for


def kinked(name, fn, points, **kw):
    return OpSpec(name, fn, [((3, 4),)], make=_away_from(points)((3, 4)), **kw)


OPS = [
    kinked("nn.relu", lambda L, x: F(L).relu(x), [0.0]),
    kinked("nn.relu6", lambda L, x: F(L).relu6(x * 3), [0.0, 2.0]),
    kinked("nn.leaky_relu", lambda L, x: F(L).leaky_relu(x, 0.2), [0.0]),
    kinked("nn.hardtanh", lambda L, x: F(L).hardtanh(x, -0.5, 1.0), [-0.5, 1.0]),
    kinked("nn.threshold", lambda L, x: F(L).threshold(x, 0.3, -2.0), [0.3]),
    kinked("nn.hardshrink", lambda L, x: F(L).hardshrink(x, 0.4), [-0.4, 0.4]),
    kinked("nn.softshrink", lambda L, x: F(L).softshrink(x, 0.4), [-0.4, 0.4]),
    # torch has no double backward for hardsigmoid ("not implemented"): nothing to compare
    kinked("nn.hardsigmoid", lambda L, x: F(L).hardsigmoid(x * 2), [-1.5, 1.5], gradgrad=False),
    kinked("nn.hardswish", lambda L, x: F(L).hardswish(x * 2), [-1.5, 1.5]),
    kinked("nn.prelu", lambda L, x, w: F(L).prelu(x, w), [0.0], grad_inputs=(0,)),
    OpSpec("nn.elu", lambda L, x: F(L).elu(x, 0.7), U, make=None),
    OpSpec("nn.selu", lambda L, x: F(L).selu(x), U1),
    OpSpec("nn.celu", lambda L, x: F(L).celu(x, 1.5), U1),
    OpSpec("nn.gelu", lambda L, x: F(L).gelu(x), U),
    OpSpec("nn.gelu_tanh", lambda L, x: F(L).gelu(x, approximate="tanh"), U1),
    OpSpec("nn.silu", lambda L, x: F(L).silu(x), U),
    OpSpec("nn.mish", lambda L, x: F(L).mish(x), U1),
    OpSpec("nn.sigmoid", lambda L, x: F(L).sigmoid(x), U),
    OpSpec("nn.tanh", lambda L, x: F(L).tanh(x), U1),
    OpSpec("nn.softplus", lambda L, x: F(L).softplus(x, beta=2.0, threshold=30.0), U1),
    # a threshold the samples cross (beta x > 1 is linear); samples kept off the kink x = 0.5
    kinked("nn.softplus_threshold", lambda L, x: F(L).softplus(x, beta=2.0, threshold=1.0),
           [0.5]),
    OpSpec("nn.softsign", lambda L, x: F(L).softsign(x), U1, domain=(0.1, 2.0)),
    OpSpec("nn.logsigmoid", lambda L, x: F(L).logsigmoid(x * 10), U1),
    OpSpec("nn.tanhshrink", lambda L, x: F(L).tanhshrink(x), U1),
    OpSpec("nn.glu", lambda L, x: F(L).glu(x, dim=-1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.glu_dim0", lambda L, x: F(L).glu(x, 0), [((4, 3),)]),
    OpSpec("hardshrink", lambda L, a: a.hardshrink(0.7), [((3, 4),)]),
]

# PReLU's weight input: one slope per channel of the (3, 4) input.
OPS[[s.name for s in OPS].index("nn.prelu")].make = (
    lambda rng: [_away_from([0.0])((3, 4))(rng)[0], rng.uniform(0.1, 0.5, (4,))])
OPS[[s.name for s in OPS].index("nn.prelu")].grad_inputs = None
