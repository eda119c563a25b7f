"""Run torchvision 0.28's Faster R-CNN for ``test_detection_faster_rcnn.py`` and save what it
did to an ``.npz`` (weights, inputs, eval detections, train losses, draws).

Usage (torchvision beside the oracle torch, with the shim that lets it import)::

    PYTHONPATH=tests/programs/_torchvision_shim:$EMBER_TORCHVISION_PATH \
        python tests/vision/_faster_rcnn_oracle.py CASE OUT.npz

and ``python tests/vision/_faster_rcnn_oracle.py --fixture
tests/vision/fixtures/faster_rcnn.json.gz resnet50=R.npz mobilenet=M.npz`` writes the
offline fixture from two recordings.

The shim declares torchvision's compiled operators without kernels, so ``nms`` is given a
plain-torch greedy suppression here (highest score first, equal scores in index order, a box
dropped when its IoU with a kept box exceeds the threshold), the rule ember's ``nms`` follows.
"""

import json
import sys

import numpy as np

# name -> (builder, keyword arguments); small images keep every run to seconds
_SMALL = {"min_size": 128, "max_size": 160, "box_score_thresh": 0.0,
          "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_test": 100,
          "rpn_pre_nms_top_n_train": 300, "rpn_post_nms_top_n_train": 150,
          "box_batch_size_per_image": 64, "box_detections_per_img": 40}
CASES = {
    "resnet50": ("fasterrcnn_resnet50_fpn", _SMALL),
    "mobilenet": ("fasterrcnn_mobilenet_v3_large_fpn",
                  {**_SMALL, "rpn_score_thresh": 0.0, "num_classes": 7}),
}
IMAGE_SIZES = [(3, 100, 120), (3, 90, 140)]
TARGETS = [([[10.0, 12.0, 60.0, 70.0], [30.0, 5.0, 90.0, 40.0]], [1, 3]),
           ([[5.0, 8.0, 50.0, 60.0]], [2])]


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
    # torch and torchvision are imported here: the test imports CASES without them
    import torch
    import torchvision.ops
    import torchvision.ops.boxes as box_ops
    from torchvision.models import detection

    box_ops.nms = greedy_nms
    torchvision.ops.nms = greedy_nms
    builder, kwargs = CASES[case]
    torch.manual_seed(0)
    model = getattr(detection, builder)(weights=None, weights_backbone=None, **kwargs)
    # copies: training below updates the norms' running statistics in place
    out = {f"state/{k}": v.numpy().copy() for k, v in model.state_dict().items()}
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
    targets = [{"boxes": torch.tensor(b), "labels": torch.tensor(lab)} for b, lab in TARGETS]
    torch.manual_seed(2)
    losses = model(images, targets)
    out["loss_names"] = np.array(list(losses))
    for key, value in losses.items():
        out[f"loss/{key}"] = value.detach().numpy()
    out["after_draw"] = torch.rand(1).numpy()  # the global stream advanced alike
    out["keys"] = np.array(json.dumps([[k, list(v.shape)] for k, v in
                                       model.state_dict().items()]))
    np.savez(path, **out)


def compact(paths, fixture):
    """Keep what the offline tests need from recorded ``.npz`` files (keys and shapes, eval
    detections, losses, the next draw), keyed by case, as gzipped JSON."""
    import gzip

    facts = {}
    for case, path in paths.items():
        rec = np.load(path)
        facts[case] = {
            "keys": json.loads(str(rec["keys"])),
            "eval": [{key: rec[f"eval/{i}/{key}"].tolist() for key in ("boxes", "labels",
                                                                         "scores")}
                     for i in range(len(IMAGE_SIZES))],
            "losses": {str(k): float(rec[f"loss/{k}"]) for k in rec["loss_names"]},
            "after_draw": float(rec["after_draw"][0]),
        }
    with gzip.open(fixture, "wt") as f:
        json.dump(facts, f)


if __name__ == "__main__":
    if sys.argv[1] == "--fixture":  # --fixture OUT.json.gz resnet50=R.npz mobilenet=M.npz
        compact(dict(arg.split("=", 1) for arg in sys.argv[3:]), sys.argv[2])
    else:
        record(sys.argv[1], sys.argv[2])
