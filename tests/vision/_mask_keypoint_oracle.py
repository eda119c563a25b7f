"""Run torchvision 0.28's Mask R-CNN / Keypoint R-CNN for ``test_detection_mask_keypoint.py``
and save what they did to an ``.npz``.

Usage (torchvision beside the oracle torch, with the shim that lets it import)::

    PYTHONPATH=tests/programs/_torchvision_shim:$EMBER_TORCHVISION_PATH \\
        python tests/vision/_mask_keypoint_oracle.py CASE OUT.npz

and ``python tests/vision/_mask_keypoint_oracle.py --fixture
tests/vision/fixtures/mask_keypoint_rcnn.json.gz mask=M.npz keypoint=K.npz ...`` writes the
offline fixture from the recordings.

Cases ``mask`` and ``keypoint`` put the default mask / keypoint branches on a MobileNetV3 FPN
backbone (a ResNet-50 run is too slow for the test suite); ``maskrcnn_resnet50_fpn`` and
``keypointrcnn_resnet50_fpn`` record the builders' state_dict only. ``nms`` is replaced by a
plain greedy suppression as in ``_faster_rcnn_oracle.py`` (the shim has no kernels).
"""

import json
import sys

import numpy as np

# few proposals and detections keep the 512-channel keypoint head cheap
SMALL = {"min_size": 128, "max_size": 160, "box_score_thresh": 0.0, "rpn_score_thresh": 0.0,
         "rpn_pre_nms_top_n_test": 200, "rpn_post_nms_top_n_test": 50,
         "rpn_pre_nms_top_n_train": 200, "rpn_post_nms_top_n_train": 60,
         "box_batch_size_per_image": 32, "box_detections_per_img": 6}
IMAGE_SIZES = [(3, 100, 120), (3, 90, 140)]
BOXES = [([[10.0, 12.0, 60.0, 70.0], [30.0, 5.0, 90.0, 40.0]], [1, 3]),
         ([[5.0, 8.0, 50.0, 60.0]], [2])]
# (x, y, visibility) per keypoint: one invisible, one outside its box, one on its right edge
KEYPOINTS = [[[[20.0, 30.0, 2.0], [40.0, 50.0, 1.0], [60.0, 20.0, 1.0], [15.0, 65.0, 0.0],
               [90.0, 90.0, 1.0]],
              [[35.0, 10.0, 1.0], [80.0, 30.0, 2.0], [90.0, 35.0, 1.0], [50.0, 20.0, 1.0],
               [31.0, 39.0, 1.0]]],
             [[[6.0, 9.0, 1.0], [25.0, 30.0, 1.0], [49.5, 59.0, 2.0], [10.0, 40.0, 0.0],
               [44.0, 12.0, 1.0]]]]
CASES = ("mask", "keypoint", "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn")


def build(lib, det, case):
    """The model of ``case`` from ``det``: torchvision's or ember's ``models.detection``
    (``lib``: torch or ember)."""
    if case in ("maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn"):
        return getattr(det, case)(weights=None, weights_backbone=None)
    backbone = det.backbone_utils.mobilenet_backbone(
        backbone_name="mobilenet_v3_large", weights=None, fpn=True, trainable_layers=6)
    sizes = ((32, 64, 128, 256, 512),) * 3
    anchors = det.anchor_utils.AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 3)
    if case == "mask":
        model = det.MaskRCNN(backbone, num_classes=5, rpn_anchor_generator=anchors, **SMALL)
    else:
        model = det.KeypointRCNN(backbone, num_classes=4, num_keypoints=5,
                                 rpn_anchor_generator=anchors, **SMALL)
    # a freshly initialised MobileNetV3 in eval mode gives features of about 1e-8, so every
    # region scores alike and the detections' order hangs on rounding; the FPN's output
    # convolutions (no bias) scaled up give O(1) features that tell regions apart
    with lib.no_grad():
        for name, param in model.backbone.fpn.named_parameters():
            if name.startswith("layer_blocks") and name.endswith("weight"):
                param.mul_(3e7)
    return model


def make_targets(tensor, case):
    """Training targets (``tensor`` is ``torch.tensor`` or ``ember.tensor``): boxes, labels,
    and rectangle-with-a-hole masks (uint8) or the keypoints above."""
    targets = []
    for i, (boxes, labels) in enumerate(BOXES):
        target = {"boxes": tensor(boxes), "labels": tensor(labels)}
        if case == "mask":
            _, h, w = IMAGE_SIZES[i]
            masks = np.zeros((len(boxes), h, w), dtype=np.uint8)
            for m, (x1, y1, x2, y2) in zip(masks, boxes):
                m[int(y1):int(y2), int(x1):int(x2)] = 1
                m[int(y1) + 5:int(y1) + 15, int(x1) + 3:int(x1) + 9] = 0
            target["masks"] = tensor(masks)
        else:
            target["keypoints"] = tensor(KEYPOINTS[i])
        targets.append(target)
    return targets


def unit_results(lib, det):
    """The mask/keypoint helpers of ``det.roi_heads`` and ``det.transform`` on fixed inputs
    (``lib``: torch or ember), as plain lists."""
    rng = np.random.RandomState(0)
    t = lib.from_numpy
    rh, tf = det.roi_heads, det.transform
    out = {}
    # no box reaches left of x = -1: there torchvision's compiled roi_align (which ember's
    # follows) zeroes samples while its Python fallback, used by the shim, clamps them
    rois = t(np.array([[2.0, 3.0, 20.0, 15.0], [0.5, 0.25, 9.75, 30.5], [5.0, 5.0, 5.6, 5.3],
                       [-0.5, 10.0, 12.0, 26.0]], dtype=np.float32))
    kps = rng.uniform(-5, 32, size=(4, 6, 3)).astype(np.float32)
    kps[..., 2] = rng.randint(0, 3, size=(4, 6))
    kps[0, 0, :2] = [20.0, 15.0]  # on the right and bottom edges
    kps[1, 1, 0] = 9.75
    heat, valid = rh.keypoints_to_heatmap(t(kps), rois, 8)
    out["heatmap"], out["heatmap_valid"] = heat.tolist(), valid.tolist()
    maps = t(rng.randn(4, 6, 7, 7).astype(np.float32))
    points, scores = rh.heatmaps_to_keypoints(maps, rois)
    out["points"], out["point_scores"] = points.tolist(), scores.tolist()
    idx = t(np.array([1, 0, 1, 0]))
    gt = t(np.concatenate([kps, kps[::-1]], axis=0)[:2].copy())
    logits = t(rng.randn(4, 6, 8, 8).astype(np.float32))
    out["kp_loss"] = float(rh.keypointrcnn_loss(logits, [rois], [gt], [idx]))
    out["kp_loss_none"] = float(rh.keypointrcnn_loss(logits[:0], [rois[:0]], [gt], [idx[:0]]))
    gt_masks = t((rng.rand(2, 40, 30) > 0.4).astype(np.uint8))
    out["projected"] = rh.project_masks_on_boxes(gt_masks, rois, idx, 5).tolist()
    mask_logits = t(rng.randn(4, 3, 5, 5).astype(np.float32))
    labels = t(np.array([2, 1]))
    out["mask_loss"] = float(rh.maskrcnn_loss(mask_logits, [rois[:3], rois[3:]],
                                              [gt_masks, gt_masks[1:]], [labels, labels[1:]],
                                              [idx[:3], idx[1:2]]))
    probs = rh.maskrcnn_inference(mask_logits, [t(np.array([1, 2, 0])), t(np.array([2]))])
    out["mask_probs"] = [p.tolist() for p in probs]
    pasted = rh.paste_masks_in_image(lib.sigmoid(mask_logits[:, :1]),
                                     rois * 1.5 + t(np.float32([[-3.0, 0, 8, 2]])), (28, 33))
    out["pasted"] = pasted.tolist()
    out["resized_kps"] = tf.resize_keypoints(t(kps), (37, 41), (50, 29)).tolist()
    transform = tf.GeneralizedRCNNTransform(64, 80, [0.5] * 3, [0.25] * 3).eval()
    image = t(rng.rand(3, 40, 30).astype(np.float32))
    target = {"boxes": rois[:2] + 5, "labels": labels, "masks": gt_masks,
              "keypoints": t(kps[:2].copy())}
    batch, targets = transform([image], [target])
    out["t_masks"] = targets[0]["masks"].tolist()
    out["t_masks_dtype"] = str(targets[0]["masks"].dtype)
    out["t_keypoints"] = targets[0]["keypoints"].tolist()
    result = [{"boxes": rois[:3] + 3, "labels": labels, "scores": labels.float(),
               "masks": lib.sigmoid(mask_logits[:3, :1]), "keypoints": t(kps[:3].copy())}]
    post = transform.postprocess(result, [(52, 61)], [(40, 30)])[0]
    out["post_masks"] = post["masks"].tolist()
    out["post_keypoints"] = post["keypoints"].tolist()
    return out


def greedy_nms(boxes, scores, iou_threshold):
    import torch
    import torchvision.ops.boxes as box_ops

    order = torch.argsort(scores, descending=True, stable=True)
    overlap = box_ops.box_iou(boxes[order], boxes[order])
    dropped = torch.zeros(len(order), dtype=torch.bool)
    kept = []
    for rank in range(len(order)):
        if not dropped[rank]:
            kept.append(int(order[rank]))
            dropped[rank + 1:] |= overlap[rank, rank + 1:] > iou_threshold
    return torch.tensor(kept, dtype=torch.int64)


def record(case, path):
    # torch and torchvision are imported here: the test imports this module without them
    import torch
    import torchvision.ops
    import torchvision.ops.boxes as box_ops
    from torchvision.models import detection

    box_ops.nms = greedy_nms
    torchvision.ops.nms = greedy_nms
    if case == "units":
        np.savez(path, units=np.array(json.dumps(unit_results(torch, detection))))
        return
    torch.manual_seed(0)
    model = build(torch, detection, case)
    state = model.state_dict()
    out = {"keys": np.array(json.dumps([[k, list(v.shape)] for k, v in state.items()])),
           "sums": np.array([float(v.double().sum()) for v in state.values()])}
    if case in ("mask", "keypoint"):
        out.update({f"state/{k}": v.numpy().copy() for k, v in state.items()})
        torch.manual_seed(1)
        images = [torch.rand(*s) for s in IMAGE_SIZES]
        for i, img in enumerate(images):
            out[f"image/{i}"] = img.numpy()
        model.eval()
        with torch.no_grad():
            detections = model(images)
        for i, det in enumerate(detections):
            for key, value in det.items():
                out[f"eval/{i}/{key}"] = value.numpy()
        model.train()
        torch.manual_seed(2)
        losses = model(images, make_targets(torch.tensor, case))
        out["loss_names"] = np.array(list(losses))
        for key, value in losses.items():
            out[f"loss/{key}"] = value.detach().numpy()
        out["after_draw"] = torch.rand(1).numpy()
    np.savez(path, **out)


def compact(paths, fixture):
    """Keep what the offline tests need (keys, shapes and sums of the state_dict, eval
    outputs, losses, the next draw), keyed by case, as gzipped JSON. Pasted masks are kept
    as their per-detection sums and a few sampled pixels."""
    import gzip

    facts = {}
    for case, path in paths.items():
        rec = np.load(path)
        if case == "units":
            facts[case] = json.loads(str(rec["units"]))
            continue
        fact = {"keys": json.loads(str(rec["keys"])), "sums": rec["sums"].tolist()}
        if "loss_names" in rec:
            fact["eval"] = []
            for i in range(len(IMAGE_SIZES)):
                names = [k.split("/")[2] for k in rec if k.startswith(f"eval/{i}/")]
                det = {}
                for key in names:
                    value = rec[f"eval/{i}/{key}"]
                    if key == "masks":
                        det["mask_sums"] = value.sum(axis=(1, 2, 3)).tolist()
                        det["mask_rows"] = value[:, 0, ::7, ::5].tolist()
                    else:
                        det[key] = value.tolist()
                fact["eval"].append(det)
            fact["losses"] = {str(k): float(rec[f"loss/{k}"]) for k in rec["loss_names"]}
            fact["after_draw"] = float(rec["after_draw"][0])
        facts[case] = fact
    with gzip.open(fixture, "wt") as f:
        json.dump(facts, f)


if __name__ == "__main__":
    if sys.argv[1] == "--fixture":
        compact(dict(arg.split("=", 1) for arg in sys.argv[3:]), sys.argv[2])
    else:
        record(sys.argv[1], sys.argv[2])
