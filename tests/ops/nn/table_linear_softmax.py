"""Op-table entries for ``ember/_ops/nn/linear_softmax.py``: linear and bilinear, the softmax
family, embedding, scaled dot-product attention, and the distance functions built from the
module's primitives (normalize, cosine_similarity, pairwise_distance)."""

from .._inputs import F
from ..spec import OpSpec

SM = [((3, 4),), ((2, 3, 4),), ((5,),)]


def _masked_qkv(rng):
    mask = rng.random((3, 5)) < 0.5
    mask[:, 0] = True  # every query attends somewhere (a fully masked row is NaN)
    return [rng.uniform(-2, 2, s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3))] + [mask]


OPS = [
    OpSpec("nn.linear", lambda L, x, w, b: F(L).linear(x, w, b),
           [((5, 4), (3, 4), (3,)), ((2, 5, 4), (3, 4), (3,)), ((4,), (3, 4), (3,)),
            ((0, 4), (3, 4), (3,)), ((1, 4), (3, 4), (3,))]),
    OpSpec("nn.linear_nobias", lambda L, x, w: F(L).linear(x, w), [((5, 4), (3, 4))]),
    OpSpec("nn.bilinear", lambda L, a, b, w, c: F(L).bilinear(a, b, w, c),
           [((3, 2), (3, 4), (5, 2, 4), (5,))]),
    OpSpec("nn.softmax", lambda L, x: F(L).softmax(x, dim=-1), SM),
    OpSpec("nn.softmax_dim0", lambda L, x: F(L).softmax(x, 0), [((3, 4),), ((),)]),
    OpSpec("nn.log_softmax", lambda L, x: F(L).log_softmax(x, dim=1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.log_softmax_last", lambda L, x: F(L).log_softmax(x, -1), [((5,),), ((0, 3),)]),
    OpSpec("nn.softmin", lambda L, x: F(L).softmin(x, dim=1), [((3, 4),)]),
    OpSpec("nn.normalize", lambda L, x: F(L).normalize(x, dim=1), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("nn.normalize_p1", lambda L, x: F(L).normalize(x, p=1.0, dim=-1), [((3, 4),)],
           domain=(0.2, 2.0)),
    OpSpec("nn.cosine_similarity", lambda L, a, b: F(L).cosine_similarity(a, b),
           [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4))]),
    OpSpec("nn.pairwise_distance", lambda L, a, b: F(L).pairwise_distance(a, b),
           [((3, 4), (3, 4)), ((4,), (4,))]),
    OpSpec("nn.pairwise_distance_p3", lambda L, a, b: F(L).pairwise_distance(a, b, p=3.0),
           [((3, 4), (3, 4))], domain=(0.3, 2.0)),
    OpSpec("nn.embedding", lambda L, i, w: F(L).embedding(i, w, padding_idx=1),
           [((2, 3), (5, 4)), ((4,), (5, 4))], int_inputs={0: (0, 5)},
           # padding_idx's row takes part in the forward but gets no gradient, by definition,
           # so finite differences disagree with it on purpose
           gradcheck=False),
    OpSpec("nn.embedding_plain", lambda L, i, w: F(L).embedding(i, w),
           [((2, 3), (5, 4))], int_inputs={0: (0, 5)}),
    # attention
    OpSpec("sdpa", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
           [((2, 3, 4), (2, 5, 4), (2, 5, 3)), ((3, 4), (5, 4), (5, 2))]),
    OpSpec("sdpa_4d_causal", lambda L, q, k, v: F(L).scaled_dot_product_attention(
        q, k, v, is_causal=True), [((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4))], gradgrad=False),
    # torch's 4-d CPU path (flash attention) has no double backward to compare with
    OpSpec("sdpa_4d", lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v),
           [((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4))], gradgrad=False),
    OpSpec("sdpa_causal_scale", lambda L, q, k, v: F(L).scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.4), [((2, 4, 3), (2, 4, 3), (2, 4, 2))]),
    OpSpec("sdpa_float_mask", lambda L, q, k, v, m: F(L).scaled_dot_product_attention(
        q, k, v, attn_mask=m), [((2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5))]),
    OpSpec("sdpa_bool_mask", lambda L, q, k, v, m: F(L).scaled_dot_product_attention(
        q, k, v, attn_mask=m), [((2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5))], make=_masked_qkv),
]
