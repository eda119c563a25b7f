"""Op-table entries for convolution, pooling, interpolation and attention (small shapes so the
float64 finite-difference gradcheck stays fast)."""

import importlib

from .spec import OpSpec


def F(L):
    return importlib.import_module(L.__name__ + ".nn.functional")


def _masked_qkv(rng):
    mask = rng.random((3, 5)) < 0.5
    mask[:, 0] = True  # every query attends somewhere (a fully masked row is NaN)
    return [rng.uniform(-2, 2, s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3))] + [mask]


OPS = [
    OpSpec("conv2d", lambda L, x, w, b: F(L).conv2d(x, w, b),
           [((2, 3, 5, 5), (4, 3, 3, 3), (4,)), ((3, 4, 4), (2, 3, 1, 1), (2,))]),
    OpSpec("conv2d_stride_pad_dil", lambda L, x, w: F(L).conv2d(x, w, None, (2, 1), (1, 2),
                                                               (1, 2)),
           [((2, 3, 6, 5), (4, 3, 3, 2))]),
    OpSpec("conv2d_groups", lambda L, x, w, b: F(L).conv2d(x, w, b, padding=1, groups=2),
           [((2, 4, 4, 5), (6, 2, 3, 3), (6,))]),
    OpSpec("conv2d_same", lambda L, x, w: F(L).conv2d(x, w, padding="same"),
           [((1, 2, 5, 4), (3, 2, 2, 3))]),
    OpSpec("conv2d_empty_batch", lambda L, x, w: F(L).conv2d(x, w), [((0, 2, 4, 4), (3, 2, 3, 3))],
           gradcheck=False, gradgrad=False),
    OpSpec("conv1d", lambda L, x, w, b: F(L).conv1d(x, w, b, stride=2, padding=1),
           [((2, 3, 7), (4, 3, 3), (4,))]),
    OpSpec("conv1d_dilated_groups", lambda L, x, w: F(L).conv1d(x, w, dilation=2, groups=3),
           [((2, 3, 9), (3, 1, 3))]),
    OpSpec("conv3d", lambda L, x, w: F(L).conv3d(x, w, padding=1, stride=2),
           [((1, 2, 3, 4, 3), (2, 2, 2, 2, 2))]),
    OpSpec("conv_transpose2d", lambda L, x, w, b: F(L).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1),
           [((2, 3, 3, 4), (3, 2, 3, 3), (2,))]),
    OpSpec("conv_transpose2d_groups_dil", lambda L, x, w: F(L).conv_transpose2d(
        x, w, groups=2, dilation=2, stride=(1, 2)),
           [((1, 4, 3, 3), (4, 1, 2, 3))]),
    OpSpec("conv_transpose1d", lambda L, x, w: F(L).conv_transpose1d(x, w, stride=3),
           [((2, 3, 4), (3, 2, 3)), ((3, 4), (3, 2, 2))]),
    # pooling: random uniform inputs have no ties, so max pooling is smooth at the samples
    OpSpec("max_pool2d", lambda L, x: F(L).max_pool2d(x, 2),
           [((2, 3, 4, 6),), ((3, 5, 4),)]),
    OpSpec("max_pool2d_overlap_ceil", lambda L, x: F(L).max_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True), [((2, 2, 6, 5),)]),
    OpSpec("max_pool2d_dilation", lambda L, x: F(L).max_pool2d(x, (2, 3), stride=1,
                                                               dilation=(2, 1)),
           [((1, 2, 5, 5),)]),
    OpSpec("max_pool2d_indices", lambda L, x: F(L).max_pool2d(x, 2, return_indices=True),
           [((1, 2, 4, 4),)]),
    OpSpec("max_pool1d", lambda L, x: F(L).max_pool1d(x, 3, stride=2, ceil_mode=True),
           [((2, 3, 8),)]),
    OpSpec("avg_pool2d", lambda L, x: F(L).avg_pool2d(x, 2), [((2, 3, 4, 6),)]),
    OpSpec("avg_pool2d_pad_ceil", lambda L, x: F(L).avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
           [((2, 2, 6, 5),)]),
    OpSpec("avg_pool2d_divisor", lambda L, x: F(L).avg_pool2d(x, (2, 3), stride=(1, 2),
                                                              divisor_override=4),
           [((1, 2, 5, 5),)]),
    OpSpec("avg_pool1d", lambda L, x: F(L).avg_pool1d(x, 3, stride=2, padding=1),
           [((2, 3, 7),), ((3, 6),)]),
    OpSpec("adaptive_avg_pool2d", lambda L, x: F(L).adaptive_avg_pool2d(x, (2, 3)),
           [((2, 3, 4, 6),)]),
    # uneven windows go through averaging matrices: linear, so no second-order graph
    OpSpec("adaptive_avg_pool2d_uneven", lambda L, x: F(L).adaptive_avg_pool2d(x, (3, 2)),
           [((2, 3, 5, 7),)], gradgrad=False),
    OpSpec("adaptive_avg_pool1d", lambda L, x: F(L).adaptive_avg_pool1d(x, 1),
           [((2, 3, 5),)], gradgrad=False),
    OpSpec("adaptive_max_pool2d", lambda L, x: F(L).adaptive_max_pool2d(x, (3, 2)),
           [((2, 3, 5, 7),), ((2, 3, 6, 4),)]),
    OpSpec("adaptive_max_pool1d", lambda L, x: F(L).adaptive_max_pool1d(x, 3),
           [((2, 3, 7),)]),
    # interpolation
    OpSpec("interpolate_nearest", lambda L, x: F(L).interpolate(x, scale_factor=2),
           [((2, 2, 3, 4),), ((2, 3, 5),)]),
    OpSpec("interpolate_nearest_size", lambda L, x: F(L).interpolate(x, size=(5, 3)),
           [((1, 2, 3, 4),)]),
    OpSpec("interpolate_nearest_exact", lambda L, x: F(L).interpolate(
        x, size=(5, 3), mode="nearest-exact"), [((1, 2, 3, 4),)]),
    OpSpec("interpolate_bilinear", lambda L, x: F(L).interpolate(
        x, scale_factor=(1.5, 2), mode="bilinear"), [((2, 2, 3, 4),)]),
    OpSpec("interpolate_bilinear_corners", lambda L, x: F(L).interpolate(
        x, size=(5, 2), mode="bilinear", align_corners=True), [((1, 2, 3, 4),)]),
    OpSpec("interpolate_linear", lambda L, x: F(L).interpolate(x, size=7, mode="linear"),
           [((2, 3, 4),)]),
    OpSpec("pixel_shuffle", lambda L, x: F(L).pixel_shuffle(x, 2), [((1, 8, 2, 3),)]),
    OpSpec("pixel_unshuffle", lambda L, x: F(L).pixel_unshuffle(x, 2), [((1, 2, 4, 2),)]),
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
    # im2col / col2im, local response norm, power-average pooling
    OpSpec("unfold", lambda L, x: F(L).unfold(x, (2, 3), dilation=(1, 2), padding=1,
                                              stride=(2, 1)), [((2, 3, 5, 6),), ((2, 4, 4),)]),
    OpSpec("fold", lambda L, x: F(L).fold(x, (4, 5), (2, 2), padding=1, stride=(2, 1)),
           [((2, 8, 18),), ((4, 18),)]),
    OpSpec("local_response_norm", lambda L, x: F(L).local_response_norm(x, 3, k=2.0),
           [((2, 5, 4),), ((2, 4, 3, 3),)]),
    OpSpec("lp_pool2d", lambda L, x: F(L).lp_pool2d(x, 2, 2), [((2, 3, 4, 4),)],
           domain=(0.5, 2.0)),
    OpSpec("lp_pool1d", lambda L, x: F(L).lp_pool1d(x, 3, 2, stride=1), [((2, 3, 5),)],
           domain=(0.5, 2.0)),
]
