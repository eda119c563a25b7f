"""Seeded inputs shared by the recorder (torchvision) and the tests (ember).

Each ``*_cases()`` yields ``(name, function name, input arrays, keyword arguments, indices of
the inputs whose gradient is recorded)``. Only NumPy here, so both interpreters import it.
"""

import numpy as np

F32, F64 = np.float32, np.float64


def upstream(shape, double=False):
    """The seeded upstream gradient for an output of ``shape``."""
    return np.random.default_rng(12345).standard_normal(tuple(shape)).astype(
        F64 if double else F32)


def _boxes(rng, n, low=-5.0, high=20.0, dtype=F32):
    xy = rng.uniform(low, high, (n, 2))
    wh = rng.uniform(0.5, 10.0, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


def _hostile_boxes(rng):
    b = _boxes(rng, 8)
    special = np.array([[3, 3, 3, 8],       # zero width
                        [4, 4, 4, 4],       # a point
                        [0, 0, 10, 10],     # duplicated below
                        [0, 0, 10, 10],
                        [2, 2, 5, 5],       # inside the one above
                        [-8, -6, -1, -2]],  # outside the image
                       dtype=F32)
    return np.concatenate([b, special])


def box_cases():
    rng = np.random.default_rng(0)
    b1 = _hostile_boxes(rng)
    b2 = _boxes(rng, 5)
    b1i = np.round(b1).astype(np.int64)
    b2i = np.round(b2).astype(np.int64)
    for fmt in ("xyxy", "xywh", "cxcywh"):
        yield f"box_area_{fmt}", "box_area", [b1], {"fmt": fmt}, (0,)
        yield f"box_iou_{fmt}", "box_iou", [b1, b2], {"fmt": fmt}, (0, 1)
    yield "box_area_bad_fmt", "box_area", [b1], {"fmt": "foo"}, ()
    yield "box_iou_bad_fmt", "box_iou", [b1, b2], {"fmt": "foo"}, ()
    yield "box_area_int64", "box_area", [b1i], {}, ()
    yield "box_area_int16", "box_area", [b1i.astype(np.int16)], {}, ()
    yield "box_area_f64", "box_area", [b1.astype(F64)], {}, (0,)
    yield "box_iou_int64", "box_iou", [b1i, b2i], {}, ()
    yield "box_iou_empty", "box_iou", [b1[:0], b2], {}, ()
    for fn in ("generalized_box_iou", "distance_box_iou", "complete_box_iou"):
        yield f"{fn}_f32", fn, [b1, b2], {}, (0, 1)
        yield f"{fn}_f64", fn, [b1.astype(F64), b2.astype(F64)], {}, (0, 1)
        yield f"{fn}_int64", fn, [b1i, b2i], {}, ()
        yield f"{fn}_self", fn, [b2, b2], {}, (0, 1)
    yield "distance_box_iou_eps", "distance_box_iou", [b1, b2], {"eps": 1e-3}, (0, 1)
    yield "complete_box_iou_eps", "complete_box_iou", [b1, b2], {"eps": 1e-3}, (0, 1)
    fmts = ("xyxy", "xywh", "cxcywh")
    for i in fmts:
        for o in fmts:
            yield f"box_convert_{i}_{o}", "box_convert", [b2], {"in_fmt": i, "out_fmt": o}, (0,)
            yield f"box_convert_{i}_{o}_int", "box_convert", [b2i], {"in_fmt": i, "out_fmt": o}, ()
    yield "box_convert_bad", "box_convert", [b2], {"in_fmt": "foo", "out_fmt": "xyxy"}, ()
    yield "box_convert_rotated", "box_convert", [b2], {"in_fmt": "xyxy", "out_fmt": "xywhr"}, ()
    yield "clip_f32", "clip_boxes_to_image", [b1], {"size": (12, 15)}, (0,)
    yield "clip_int", "clip_boxes_to_image", [b1i], {"size": (12, 15)}, ()
    yield "clip_batched", "clip_boxes_to_image", [b1.reshape(2, 7, 4)], {"size": (9, 30)}, (0,)
    yield "remove_small_2", "remove_small_boxes", [b1], {"min_size": 2.0}, ()
    yield "remove_small_0", "remove_small_boxes", [b1], {"min_size": 0.0}, ()
    masks = (rng.random((5, 7, 9)) > 0.85).astype(np.uint8)
    masks[1] = 0                # an empty mask
    masks[2] = 0
    masks[2, 3, 4] = 1          # a single pixel
    yield "masks_to_boxes_u8", "masks_to_boxes", [masks], {}, ()
    yield "masks_to_boxes_bool", "masks_to_boxes", [masks.astype(bool)], {}, ()
    yield "masks_to_boxes_f64", "masks_to_boxes", [masks.astype(F64)], {}, ()
    yield "masks_to_boxes_empty", "masks_to_boxes", [masks[:0]], {}, ()
    yield from _nms_cases(rng)


def _nms_cases(rng):
    # clusters of overlapping boxes, scores on a coarse grid so that many are equal
    centers = rng.uniform(0, 60, (6, 2))
    pick = rng.integers(0, 6, 80)
    xy = centers[pick] + rng.normal(0, 2.0, (80, 2))
    wh = rng.uniform(6, 14, (80, 2))
    boxes = np.concatenate([xy, xy + wh], 1).astype(F32)
    boxes[5] = boxes[6] = boxes[7]          # identical boxes...
    scores = (rng.integers(0, 12, 80) / 12).astype(F32)
    scores[5:8] = 0.5                       # ...with identical scores
    boxes[10] = [4, 4, 4, 4]                # degenerate: 0/0 IoU with its twin
    boxes[11] = [4, 4, 4, 4]
    scores[10:12] = 0.99
    idxs = rng.integers(0, 4, 80)
    for thr in (0.0, 0.3, 0.5, 0.8, 1.0):
        yield f"nms_{thr}", "nms", [boxes, scores], {"iou_threshold": thr}, ()
        yield f"batched_nms_{thr}", "batched_nms", [boxes, scores, idxs], \
            {"iou_threshold": thr}, ()
    yield "nms_f64", "nms", [boxes.astype(F64), scores.astype(F64)], {"iou_threshold": 0.4}, ()
    yield "nms_empty", "nms", [boxes[:0], scores[:0]], {"iou_threshold": 0.5}, ()
    yield "nms_int", "nms", [np.round(boxes).astype(np.int64), scores], {"iou_threshold": 0.5}, ()
    yield "nms_bad_scores", "nms", [boxes, scores[:3]], {"iou_threshold": 0.5}, ()
    yield "batched_nms_empty", "batched_nms", [boxes[:0], scores[:0], idxs[:0]], \
        {"iou_threshold": 0.5}, ()
    # more than 4000 coordinates: torchvision shifts the categories apart instead of looping
    n = 1100
    xy = rng.uniform(0, 200, (n, 2))
    big = np.concatenate([xy, xy + rng.uniform(5, 30, (n, 2))], 1).astype(F32)
    big_scores = (rng.integers(0, 50, n) / 50).astype(F32)
    big_idxs = rng.integers(0, 5, n)
    yield "batched_nms_big", "batched_nms", [big, big_scores, big_idxs], \
        {"iou_threshold": 0.5}, ()
    yield "nms_big", "nms", [big, big_scores], {"iou_threshold": 0.5}, ()


def loss_cases():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (6, 5)).astype(F32)
    targets = (rng.random((6, 5)) > 0.7).astype(F32)
    for alpha in (0.25, -1.0, 0.7):
        for gamma in (0, 2, 1.5):
            for red in ("none", "mean", "sum"):
                yield f"focal_{alpha}_{gamma}_{red}", "sigmoid_focal_loss", [logits, targets], \
                    {"alpha": alpha, "gamma": gamma, "reduction": red}, (0, 1)
    yield "focal_f64", "sigmoid_focal_loss", [logits.astype(F64), targets.astype(F64)], {}, (0,)
    yield "focal_empty_mean", "sigmoid_focal_loss", [logits[:0], targets[:0]], \
        {"reduction": "mean"}, ()
    yield "focal_bad", "sigmoid_focal_loss", [logits, targets], {"reduction": "x"}, ()
    b1 = _hostile_boxes(rng)
    b2 = _boxes(rng, len(b1))
    b2[3] = b1[3]                     # a perfect match
    for fn in ("generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"):
        for red in ("none", "mean", "sum"):
            yield f"{fn}_{red}", fn, [b1, b2], {"reduction": red}, (0, 1)
        yield f"{fn}_eps", fn, [b1, b2], {"eps": 1e-2}, (0, 1)
        yield f"{fn}_f64", fn, [b1.astype(F64), b2.astype(F64)], {"reduction": "sum"}, (0, 1)
        yield f"{fn}_int", fn, [np.round(b1).astype(np.int64), np.round(b2).astype(np.int64)], \
            {}, ()
        yield f"{fn}_one", fn, [b1[0], b2[0]], {}, (0, 1)
        yield f"{fn}_empty_mean", fn, [b1[:0], b2[:0]], {"reduction": "mean"}, ()
        yield f"{fn}_bad", fn, [b1, b2], {"reduction": "x"}, ()


def roi_inputs(rng, dtype=F32):
    x = rng.standard_normal((2, 3, 10, 12)).astype(dtype)
    rois = np.array([
        [0, 1.0, 1.0, 6.0, 5.0],        # inside
        [1, 0.3, 0.7, 11.6, 9.4],       # nearly the whole map
        [0, -3.0, -2.0, 4.0, 3.0],      # crossing the top-left border
        [1, 8.0, 6.0, 15.0, 13.0],      # crossing the bottom-right border
        [0, 20.0, 20.0, 30.0, 30.0],    # outside the map
        [1, 5.0, 5.0, 5.2, 5.1],        # tiny
        [0, 4.0, 4.0, 4.0, 4.0],        # a point
        [1, 7.0, 2.0, 3.0, 6.0],        # x2 < x1
        [0, 2.5, 3.5, 9.5, 8.5],        # half-pixel corners
        [1, -1.0, 8.9, 12.0, 10.0],     # along the bottom edge
    ], dtype=dtype)
    return x, rois


def roi_cases():
    rng = np.random.default_rng(2)
    x, rois = roi_inputs(rng)
    for scale in (1.0, 0.5):
        for ratio in (-1, 0, 2):
            for aligned in (False, True):
                kw = {"output_size": (3, 2), "spatial_scale": scale, "sampling_ratio": ratio,
                      "aligned": aligned}
                # torchvision's kernel sizes a buffer from the sample count, which an inverted
                # box makes negative when aligned and adaptive ("cannot create std::vector
                # larger than max_size()"); ember gives zeros there (test_roi.py)
                r = np.delete(rois, 7, axis=0) if aligned and ratio <= 0 else rois
                yield f"roi_align_{scale}_{ratio}_{aligned}", "roi_align", [x, r], kw, (0,)
    yield "roi_align_f64", "roi_align", [x.astype(F64), rois.astype(F64)], \
        {"output_size": 3, "spatial_scale": 0.7, "aligned": True}, (0,)
    yield "roi_align_list", "roi_align", [x, rois], \
        {"output_size": 4, "sampling_ratio": 1, "as_list": True}, (0,)
    yield "roi_align_bad_boxes", "roi_align", [x, rois[:, 1:]], {"output_size": 2}, ()
    yield "roi_align_empty", "roi_align", [x, rois[:0]], {"output_size": 2}, ()
    for scale in (1.0, 0.5, 0.3):
        yield f"roi_pool_{scale}", "roi_pool", [x, rois], \
            {"output_size": (3, 2), "spatial_scale": scale}, (0,)
    ties = np.round(x * 1.5).astype(F32)  # few distinct values: ties for the maximum
    yield "roi_pool_ties", "roi_pool", [ties, rois], {"output_size": 4}, (0,)
    yield "roi_pool_list", "roi_pool", [x, rois], {"output_size": 2, "as_list": True}, (0,)
    xps = rng.standard_normal((2, 12, 10, 12)).astype(F32)  # 2 output channels of 3x2 bins
    for fn in ("ps_roi_align", "ps_roi_pool"):
        # torchvision's ps_roi_pool backward is not the adjoint of its forward at the bottom
        # and right borders (its forward skips the last row and column, its backward does
        # not; torch.autograd.gradcheck fails on it), so only its outputs are recorded
        g = (0,) if fn == "ps_roi_align" else ()
        for scale in (1.0, 0.5):
            yield f"{fn}_{scale}", fn, [xps, rois], {"output_size": (3, 2),
                                                      "spatial_scale": scale}, g
        yield f"{fn}_list", fn, [xps, rois], {"output_size": (2, 3), "as_list": True}, g
        yield f"{fn}_f64", fn, [xps.astype(F64), rois.astype(F64)], {"output_size": 2}, g
        yield f"{fn}_bad_channels", fn, [xps, rois], {"output_size": 4}, ()
    for ratio in (0, 2):
        yield f"ps_roi_align_ratio{ratio}", "ps_roi_align", [xps, rois], \
            {"output_size": (2, 3), "sampling_ratio": ratio, "spatial_scale": 0.7}, (0,)
    yield "roi_pool_f64", "roi_pool", [x.astype(F64), rois.astype(F64)], \
        {"output_size": (2, 3), "spatial_scale": 0.8}, (0,)


def fill_state(module, make):
    """Give every floating parameter and buffer seeded values (variances kept positive)."""
    rng = np.random.default_rng(3)
    state = {}
    for key, value in module.state_dict().items():
        if not value.is_floating_point():
            continue
        shape = tuple(value.shape)
        if key.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, shape)
        else:
            a = rng.standard_normal(shape) * 0.5
        state[key] = make(a.astype(F32))
    module.load_state_dict(state, strict=False)


def layer_cases(lib, ops, last_level_max_pool, last_level_p6p7):
    """``(name, build, input)``; ``lib`` is torch or ember, ``ops`` its vision ops."""
    nn = lib.nn
    rng = np.random.default_rng(4)
    img = rng.standard_normal((2, 4, 6, 7)).astype(F32)
    yield "frozen_bn", lambda: ops.FrozenBatchNorm2d(4), img
    yield "frozen_bn_eps", lambda: ops.FrozenBatchNorm2d(4, eps=0.1), img
    yield "cna_default", lambda: ops.Conv2dNormActivation(4, 8, stride=2), img
    yield "cna_tuple", lambda: ops.Conv2dNormActivation(
        4, 6, kernel_size=(3, 5), dilation=(1, 2), norm_layer=None,
        activation_layer=nn.SiLU), img
    yield "cna_groups", lambda: ops.Conv2dNormActivation(
        4, 8, kernel_size=1, groups=2, activation_layer=nn.Hardswish, inplace=None), img
    vol = rng.standard_normal((1, 2, 4, 5, 5)).astype(F32)
    yield "cna3d", lambda: ops.Conv3dNormActivation(2, 4, stride=(1, 2, 2)), vol
    yield "se", lambda: ops.SqueezeExcitation(4, 2), img
    yield "se_hard", lambda: ops.SqueezeExcitation(
        4, 3, activation=nn.SiLU, scale_activation=nn.Hardsigmoid), img
    vec = rng.standard_normal((5, 4)).astype(F32)
    yield "mlp", lambda: ops.MLP(4, [8, 6, 3], norm_layer=nn.LayerNorm, dropout=0.1,
                                 inplace=False), vec
    yield "mlp_plain", lambda: ops.MLP(4, [3], bias=False), vec
    yield "permute", lambda: ops.Permute([0, 2, 3, 1]), img
    yield "stochastic_depth", lambda: ops.StochasticDepth(0.2, "row"), img
    yield "drop_block", lambda: ops.DropBlock2d(0.1, 3), img
    yield "drop_block3d", lambda: ops.DropBlock3d(0.2, 2, inplace=True), vol
    feats = {"a": rng.standard_normal((1, 4, 8, 10)).astype(F32),
             "b": rng.standard_normal((1, 8, 4, 5)).astype(F32),
             "c": rng.standard_normal((1, 16, 2, 3)).astype(F32)}
    yield "fpn_pool", lambda: ops.FeaturePyramidNetwork(
        [4, 8, 16], 6, extra_blocks=last_level_max_pool()), feats
    yield "fpn_p6p7", lambda: ops.FeaturePyramidNetwork(
        [4, 8, 16], 6, extra_blocks=last_level_p6p7(16, 6)), feats
    yield "fpn_bn", lambda: ops.FeaturePyramidNetwork(
        [4, 8, 16], 6, norm_layer=nn.BatchNorm2d), feats
    yield "roi_align_module", lambda: ops.RoIAlign((2, 2), 0.5, 2), None
    yield "roi_align_module_int", lambda: ops.RoIAlign(7, 0.25, -1, aligned=True), None
    yield "roi_pool_module", lambda: ops.RoIPool(3, 0.5), None
    yield "ps_roi_align_module", lambda: ops.PSRoIAlign(3, 0.5, 2), None
    yield "ps_roi_pool_module", lambda: ops.PSRoIPool((2, 3), 1.0), None
    yield "deform_module", lambda: ops.DeformConv2d(4, 6, 3, stride=2, padding=1, groups=2), None
    yield "deform_module_nobias", lambda: ops.DeformConv2d(4, 6, (3, 2), dilation=2,
                                                           bias=False), None


def error_cases(lib, ops):
    """``(name, thunk)`` pairs that raise in torchvision; the type and message are recorded."""
    x2 = lib.zeros(2, 3)
    yield "stochastic_depth_p", lambda: ops.stochastic_depth(x2, 2.0, "row")
    yield "stochastic_depth_mode", lambda: ops.stochastic_depth(x2, 0.2, "x")
    yield "drop_block2d_p", lambda: ops.drop_block2d(x2, -0.5, 3)
    yield "drop_block2d_dim", lambda: ops.drop_block2d(x2, 0.2, 3)
    yield "drop_block3d_dim", lambda: ops.drop_block3d(x2, 0.2, 3)
    yield "drop_block2d_even", lambda: ops.drop_block2d(lib.ones(1, 1, 5, 5), 0.2, 2)
    yield "drop_block2d_capped_even", lambda: ops.drop_block2d(lib.ones(1, 1, 2, 5), 0.2, 3)
    yield "drop_block3d_even", lambda: ops.drop_block3d(lib.ones(1, 1, 5, 5, 5), 0.2, 4)
    yield "fpn_zero", lambda: ops.FeaturePyramidNetwork([0, 2], 3)
    yield "fpn_extra", lambda: ops.FeaturePyramidNetwork([2, 2], 3, extra_blocks=lib.nn.ReLU())


def multiscale_cases():
    """``(name, constructor args, constructor kwargs, features, boxes per image, image sizes)``."""
    rng = np.random.default_rng(6)
    feats = {"feat1": rng.standard_normal((2, 3, 32, 32)).astype(F32),
             "extra": rng.standard_normal((2, 3, 5, 5)).astype(F32),
             "feat2": rng.standard_normal((2, 3, 16, 16)).astype(F32),
             "feat3": rng.standard_normal((2, 3, 8, 8)).astype(F32)}
    boxes = [np.array([[0, 0, 10, 12], [5, 5, 100, 90], [20, 30, 60, 70], [-5, 2, 127, 127],
                       [3, 3, 3.5, 3.5]], dtype=F32),
             np.array([[1, 1, 50, 40], [60, 10, 70, 100]], dtype=F32)]
    shapes = [(128, 128), (120, 100)]
    names = ["feat1", "feat2", "feat3"]
    yield "msra_3", (names, 3, 2), {}, feats, boxes, shapes
    yield "msra_canonical", (names, (2, 3), -1), {"canonical_scale": 64,
                                                  "canonical_level": 3}, feats, boxes, shapes
    yield "msra_one", (["feat2"], 4, 1), {}, feats, boxes, shapes
    yield "msra_odd", (["feat1", "feat3"], 2, 2), {}, feats, boxes, [(100, 90), (128, 64)]


def deform_cases():
    """Arrays are ``[input, offset, weight, bias or None, mask or None]``."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 6, 7)).astype(F32)
    w = (rng.standard_normal((6, 2, 3, 3)) * 0.3).astype(F32)
    b = rng.standard_normal(6).astype(F32)

    def offsets(groups, out_hw, scale=1.5, n=2):
        # large enough that samples leave the map; never on integer positions (kinks)
        a = rng.uniform(-scale, scale, (n, 2 * groups * 9, *out_hw))
        return (np.round(a * 8) / 8 + 1 / 16).astype(F32)

    def mask(groups, out_hw):
        return rng.uniform(0, 1, (2, groups * 9, *out_hw)).astype(F32)

    kw = {"stride": (1, 1), "padding": (1, 1)}
    yield "deform_plain", [x, offsets(1, (6, 7)), w, b, None], kw, (0, 1, 2, 3)
    yield "deform_mask", [x, offsets(1, (6, 7)), w, None, mask(1, (6, 7))], kw, (0, 1, 2, 4)
    yield "deform_groups", [x, offsets(2, (2, 2)), w, b, mask(2, (2, 2))], \
        {"stride": 2, "padding": 0, "dilation": (1, 2)}, (0, 1, 2, 3, 4)
    yield "deform_f64", [x[:1, :, :4, :5].astype(F64), offsets(2, (4, 5), n=1).astype(F64),
                         w.astype(F64), b.astype(F64), None], kw, (0, 1, 2)
    yield "deform_zero_offset", [x, np.zeros((2, 18, 4, 5), F32), w, b, None], {}, ()
    yield "deform_bad_mask", [x, offsets(2, (4, 5)), w, b, mask(1, (4, 5))], {}, ()
    yield "deform_bad_dims", [x, offsets(1, (3, 5)), w, b, None], {}, ()
    yield "deform_bad_offset", [x, offsets(1, (4, 5))[:, :17], w, b, None], {}, ()
    yield "deform_bad_groups", [x, offsets(3, (4, 5)), w, b, None], {}, ()
    yield "deform_bad_weight", [x, offsets(1, (4, 5)), w[:, :1].repeat(3, 1), b, None], {}, ()
