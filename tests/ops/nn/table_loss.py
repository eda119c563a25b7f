"""Op-table entries for the losses of nn.functional: the fused classification losses of
``ember/_ops/nn/loss.py`` and the losses composed from other ops."""

import numpy as np

from .._inputs import F
from ..spec import OpSpec


def _probs(rng, shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=1, keepdims=True)


def _ce_make(shape, classes, ignore=False):
    def make(rng):
        x = rng.standard_normal(shape)
        t_shape = (shape[0],) + tuple(shape[2:])
        t = rng.integers(0, classes, t_shape)
        if ignore:
            t.reshape(-1)[0] = -100
        return [x, t]
    return make


PAIR = [((3, 4), (3, 4)), ((5,), (5,)), ((), ())]

OPS = [
    OpSpec("loss.mse", lambda L, a, b: F(L).mse_loss(a, b), PAIR),
    OpSpec("loss.mse_sum", lambda L, a, b: F(L).mse_loss(a, b, reduction="sum"), PAIR[:1]),
    OpSpec("loss.mse_none", lambda L, a, b: F(L).mse_loss(a, b, reduction="none"), PAIR[:1]),
    OpSpec("loss.l1", lambda L, a, b: F(L).l1_loss(a, b), PAIR[:2], gradgrad=True),
    OpSpec("loss.smooth_l1", lambda L, a, b: F(L).smooth_l1_loss(a, b, beta=0.5), PAIR[:2],
           gradcheck=False),
    OpSpec("loss.huber", lambda L, a, b: F(L).huber_loss(a, b, delta=0.5), PAIR[:2],
           gradcheck=False),
    OpSpec("loss.cross_entropy", lambda L, x, t: F(L).cross_entropy(x, t), [None],
           make=_ce_make((4, 5), 5), grad_inputs=(0,)),
    OpSpec("loss.cross_entropy_nd_none",
           lambda L, x, t: F(L).cross_entropy(x, t, reduction="none"), [None],
           make=_ce_make((2, 3, 2, 2), 3), grad_inputs=(0,)),
    OpSpec("loss.cross_entropy_smooth_ignore",
           lambda L, x, t: F(L).cross_entropy(x, t, label_smoothing=0.2), [None],
           make=_ce_make((4, 5), 5, ignore=True), grad_inputs=(0,)),
    OpSpec("loss.cross_entropy_probs", lambda L, x, t: F(L).cross_entropy(x, t), [None],
           make=lambda rng: [rng.standard_normal((3, 4)), _probs(rng, (3, 4))]),
    OpSpec("loss.nll", lambda L, x, t: F(L).nll_loss(x, t, reduction="sum"), [None],
           make=_ce_make((4, 5), 5), grad_inputs=(0,)),
    OpSpec("loss.bce", lambda L, x, t: F(L).binary_cross_entropy(x, t), [None],
           make=lambda rng: [rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))]),
    OpSpec("loss.bce_logits", lambda L, x, t: F(L).binary_cross_entropy_with_logits(x, t),
           [((3, 4), (3, 4)), ((5,), (5,))]),
    OpSpec("loss.bce_logits_pos_weight",
           lambda L, x, t, w: F(L).binary_cross_entropy_with_logits(x, t, pos_weight=w),
           [None], make=lambda rng: [rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4)),
                                     rng.uniform(0.5, 2, (4,))], grad_inputs=(0, 1)),
    OpSpec("loss.kl_div", lambda L, x, t: F(L).kl_div(x, t, reduction="batchmean"), [None],
           make=lambda rng: [np.log(_probs(rng, (3, 4))), _probs(rng, (3, 4))]),
    OpSpec("loss.kl_div_log_target",
           lambda L, x, t: F(L).kl_div(x, t, reduction="sum", log_target=True),
           [((3, 4), (3, 4))]),
    OpSpec("loss.poisson_nll", lambda L, x, t: F(L).poisson_nll_loss(x, t), [None],
           make=lambda rng: [rng.standard_normal((3, 4)), rng.uniform(0, 3, (3, 4))]),
    OpSpec("loss.soft_margin", lambda L, x, t: F(L).soft_margin_loss(x, t), [None],
           make=lambda rng: [rng.standard_normal((3, 4)),
                             np.sign(rng.standard_normal((3, 4)))], grad_inputs=(0,)),
    OpSpec("loss.multilabel_soft_margin",
           lambda L, x, t: F(L).multilabel_soft_margin_loss(x, t), [None],
           make=lambda rng: [rng.standard_normal((3, 4)),
                             (rng.random((3, 4)) < 0.5).astype(float)], grad_inputs=(0,)),
    OpSpec("loss.cosine_embedding",
           lambda L, a, b, t: F(L).cosine_embedding_loss(a, b, t, margin=-0.9), [None],
           make=lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                             np.array([1.0, -1.0, 1.0])], grad_inputs=(0, 1)),
    OpSpec("loss.triplet_margin",
           lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=5.0),
           [((3, 4), (3, 4), (3, 4))]),
    OpSpec("loss.gaussian_nll", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v), [None],
           make=lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                             rng.uniform(0.5, 2, (3, 4))]),
]
