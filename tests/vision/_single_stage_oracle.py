"""Run torchvision 0.28's RetinaNet / FCOS for ``test_detection_single_stage.py`` and save what
they did to an ``.npz`` (weights, inputs, eval detections, train losses, the next draw).

Usage (torchvision beside the oracle torch, with the shim that lets it import)::

    PYTHONPATH=tests/programs/_torchvision_shim:$EMBER_TORCHVISION_PATH \
        python tests/vision/_single_stage_oracle.py CASE OUT.npz

and ``python tests/vision/_single_stage_oracle.py --fixture
tests/vision/fixtures/single_stage.json.gz retinanet=R.npz ...`` writes the offline fixture.
The shim's ``nms`` has no kernel: the Faster R-CNN oracle's greedy suppression stands in.
"""

import json
import sys

import numpy as np

# name -> (builder, keyword arguments): small images and class counts keep runs short; a
# zero score threshold keeps detections from a randomly initialised (near-prior) head
_SMALL = {"min_size": 128, "max_size": 160, "score_thresh": 0.0, "topk_candidates": 60,
          "detections_per_img": 40, "num_classes": 7}
CASES = {
    "retinanet": ("retinanet_resnet50_fpn", _SMALL),
    "retinanet_v2": ("retinanet_resnet50_fpn_v2", _SMALL),
    "fcos": ("fcos_resnet50_fpn", _SMALL),
}
IMAGE_SIZES = [(3, 100, 120), (3, 90, 140)]
# the second image's large box reaches FCOS's upper levels
TARGETS = [([[10.0, 12.0, 60.0, 70.0], [30.0, 5.0, 90.0, 40.0]], [1, 3]),
           ([[5.0, 8.0, 50.0, 60.0], [2.0, 3.0, 130.0, 88.0]], [2, 6])]


def record(case, path):
    # torch and torchvision are imported here: the test imports CASES without them
    import torch
    import torchvision.ops
    import torchvision.ops.boxes as box_ops
    from torchvision.models import detection

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from _faster_rcnn_oracle import greedy_nms

    box_ops.nms = greedy_nms
    torchvision.ops.nms = greedy_nms
    builder, kwargs = CASES[case]
    torch.manual_seed(0)
    model = getattr(detection, builder)(weights=None, weights_backbone=None, **kwargs)
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
    out["after_draw"] = torch.rand(1).numpy()
    # the second image without objects: matched to nothing, only background terms count
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    losses = model(images, [targets[0], empty])
    for key, value in losses.items():
        out[f"empty_loss/{key}"] = value.detach().numpy()
    out["keys"] = np.array(json.dumps([[k, list(v.shape)] for k, v in
                                       model.state_dict().items()]))
    # a few seeded initial values, to check ember draws the same weights
    out["init"] = np.array(json.dumps({k: out[f"state/{k}"].ravel()[:4].tolist()
                                       for k in model.state_dict()
                                       if k.startswith(("head.", "backbone.fpn."))}))
    np.savez(path, **out)


def compact(paths, fixture):
    """Keep what the offline tests need from recorded ``.npz`` files, as gzipped JSON."""
    import gzip

    facts = {}
    for case, path in paths.items():
        rec = np.load(path)
        facts[case] = {
            "keys": json.loads(str(rec["keys"])),
            "init": json.loads(str(rec["init"])),
            "eval": [{key: rec[f"eval/{i}/{key}"].tolist() for key in ("boxes", "labels",
                                                                         "scores")}
                     for i in range(len(IMAGE_SIZES))],
            "losses": {str(k): float(rec[f"loss/{k}"]) for k in rec["loss_names"]},
            "after_draw": float(rec["after_draw"][0]),
            "empty_losses": {str(k): float(rec[f"empty_loss/{k}"]) for k in rec["loss_names"]},
        }
    with gzip.open(fixture, "wt") as f:
        json.dump(facts, f)


if __name__ == "__main__":
    if sys.argv[1] == "--fixture":
        compact(dict(arg.split("=", 1) for arg in sys.argv[3:]), sys.argv[2])
    else:
        record(sys.argv[1], sys.argv[2])
