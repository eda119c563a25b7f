"""Op-table entries for the losses of nn.functional: the fused classification losses of
``ember/_ops/nn/loss.py``, its margin losses and CTC, and the losses composed from other ops.

PyTorch has no second derivative for the margin losses and CTC, so their entries compare first
order only (``gradgrad=False``). CTC's gradient assumes ``log_probs`` came from
``log_softmax`` (as PyTorch's does), so its entries take logits and apply it."""

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


def _margin_make(shape, classes, weight=False):
    def make(rng):
        x = rng.standard_normal(shape)
        t = rng.integers(0, classes, shape[:-1])
        return [x, t] + ([rng.uniform(0.5, 2.0, (classes,))] if weight else [])
    return make


def _multilabel_make(n, classes):
    """Targets: a prefix of distinct classes per sample, the rest -1 (one row with none)."""
    def make(rng):
        t = np.full((n, classes), -1)
        for i in range(n):
            k = i % (classes + 1)
            t[i, :k] = rng.permutation(classes)[:k]
        return [rng.standard_normal((n, classes)), t]
    return make


def _ctc_make(steps, input_lengths, target_lengths, classes, concat=False, blank=0):
    """Logits (T, N, C), targets without the blank (a repeat in the first), and lengths."""
    def make(rng):
        n, s = len(target_lengths), max(target_lengths)
        labels = [c for c in range(classes) if c != blank]
        t = rng.choice(labels, (n, s))
        if s > 1:
            t[0, 1] = t[0, 0]  # a repeated label needs a blank between, in every path
        x = rng.standard_normal((steps, n, classes))
        if concat:
            t = np.concatenate([t[i, :k] for i, k in enumerate(target_lengths)])
        return [x, t, np.array(input_lengths), np.array(target_lengths)]
    return make


def _ctc(reduction="mean", blank=0, zero_infinity=False):
    return lambda L, x, t, il, tl: F(L).ctc_loss(x.log_softmax(-1), t, il, tl, blank=blank,
                                                 reduction=reduction,
                                                 zero_infinity=zero_infinity)


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
    # linear_cross_entropy: a linear head and cross entropy, here with a K-dimensional head
    OpSpec("loss.linear_cross_entropy",
           lambda L, x, w, b, t: F(L).linear_cross_entropy(x, w, t, linear_bias=b,
                                                           reduction="sum"), [None],
           make=lambda rng: [rng.standard_normal((4, 3)), rng.standard_normal((5, 2, 3)),
                             rng.standard_normal((5, 2)), rng.integers(0, 5, (4, 2))],
           grad_inputs=(0, 1, 2)),
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
    OpSpec("loss.triplet_margin_swap_none",
           lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=5.0, p=1.0, swap=True,
                                                       reduction="none"),
           [((3, 4), (3, 4), (3, 4))]),
    OpSpec("loss.margin_ranking",
           lambda L, a, b, t: F(L).margin_ranking_loss(a, b, t, margin=0.3), [None],
           make=lambda rng: [rng.standard_normal(6), rng.standard_normal(6),
                             np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])], grad_inputs=(0, 1)),
    OpSpec("loss.hinge_embedding",
           lambda L, x, t: F(L).hinge_embedding_loss(x, t, margin=1.5, reduction="sum"), [None],
           make=lambda rng: [rng.standard_normal((3, 4)),
                             np.sign(rng.standard_normal((3, 4)))], grad_inputs=(0,)),
    # composed from pairwise_distance, minimum and clamp_min; a large margin keeps the hinge
    # away from its kink and random inputs keep minimum's two sides apart
    OpSpec("loss.triplet_margin_with_distance",
           lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(a, p, n, margin=5.0),
           [((3, 4), (3, 4), (3, 4))]),
    OpSpec("loss.triplet_margin_with_distance_swap_cos",
           lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(
               a, p, n, distance_function=lambda x, y: 1 - F(L).cosine_similarity(x, y),
               margin=3.0, swap=True, reduction="none"),
           [((3, 4), (3, 4), (3, 4))]),
    OpSpec("loss.gaussian_nll", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v), [None],
           make=lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                             rng.uniform(0.5, 2, (3, 4))]),
    OpSpec("loss.multi_margin", lambda L, x, t: F(L).multi_margin_loss(x, t), [None, None],
           make=_margin_make((4, 5), 5), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.multi_margin_p2_weight_none",
           lambda L, x, t, w: F(L).multi_margin_loss(x, t, p=2, margin=0.7, weight=w,
                                                     reduction="none"),
           [None], make=_margin_make((4, 5), 5, weight=True), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.multi_margin_1d_sum",
           lambda L, x, t: F(L).multi_margin_loss(x, t, margin=1.5, reduction="sum"), [None],
           make=_margin_make((6,), 6), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.multilabel_margin", lambda L, x, t: F(L).multilabel_margin_loss(x, t), [None],
           make=_multilabel_make(5, 4), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.multilabel_margin_none",
           lambda L, x, t: F(L).multilabel_margin_loss(x, t, reduction="none"), [None],
           make=_multilabel_make(6, 5), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.ctc", _ctc(), [None], make=_ctc_make(8, [8, 7, 5], [3, 2, 0], 5),
           grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.ctc_concat_sum_blank", _ctc("sum", blank=4), [None],
           make=_ctc_make(7, [7, 6], [3, 2], 5, concat=True, blank=4), grad_inputs=(0,),
           gradgrad=False),
    OpSpec("loss.ctc_zero_infinity_none", _ctc("none", zero_infinity=True), [None],
           make=_ctc_make(6, [6, 2, 6], [2, 3, 3], 4), grad_inputs=(0,), gradgrad=False),
    OpSpec("loss.ctc_unbatched", _ctc("none"), [None],
           make=lambda rng: [rng.standard_normal((7, 4)), np.array([1, 3, 3]), np.array(7),
                             np.array(3)], grad_inputs=(0,), gradgrad=False),
]
