"""Mask R-CNN and Keypoint R-CNN (``ember.vision.models.detection``) against torchvision 0.28.

The answers are recorded in ``fixtures/mask_keypoint_rcnn.json.gz`` by
``_mask_keypoint_oracle.py`` (which documents how to run it, and builds the models for both
libraries): for the two builders the state_dict keys, shapes and per-tensor sums after
``manual_seed(0)``; for the mask / keypoint branches on a MobileNetV3 FPN backbone also the
eval outputs on two images drawn after ``manual_seed(1)`` and the train losses after
``manual_seed(2)``; and the helper functions (heatmaps, mask pasting, the losses, the
transform's mask/keypoint resizing) on fixed inputs. With ``EMBER_TORCHVISION_PATH`` set, one
test runs torchvision live and loads its state_dict into ember's model.
"""

import collections
import doctest
import gzip
import importlib
import json
import pathlib

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models
from ember.vision.models import detection
from ember.vision.models.detection import roi_heads as rh
from ember.vision.models.detection.faster_rcnn import FastRCNNPredictor
from ember.vision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from ember.vision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from ember.vision.ops import MultiScaleRoIAlign

from . import _mask_keypoint_oracle as oracle
from ._live_oracle import recorded_state, run_oracle

HERE = pathlib.Path(__file__).parent
FACTS = json.loads(gzip.decompress((HERE / "fixtures" /
                                    "mask_keypoint_rcnn.json.gz").read_bytes()))
BRANCH_CASES = ["mask", "keypoint"]


def _build(case):
    ember.manual_seed(0)
    return oracle.build(ember, detection, case)


def _images():
    ember.manual_seed(1)
    return [ember.rand(*s) for s in oracle.IMAGE_SIZES]


def _close(got, want, atol):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=0, atol=atol)


def _assert_outputs(detections, want):
    for mine, theirs in zip(detections, want):
        assert mine["labels"].tolist() == theirs["labels"]
        _close(mine["scores"].numpy(), theirs["scores"], 1e-6)
        _close(mine["boxes"].numpy(), theirs["boxes"], 1e-3)
        if "mask_sums" in theirs:
            masks = mine["masks"].numpy()
            _close(masks.sum(axis=(1, 2, 3)), theirs["mask_sums"], 1e-2)
            _close(masks[:, 0, ::7, ::5], theirs["mask_rows"], 1e-4)
        else:
            _close(mine["keypoints"].numpy(), theirs["keypoints"], 1e-3)
            _close(mine["keypoints_scores"].numpy(), theirs["keypoints_scores"], 1e-4)


@pytest.mark.parametrize("case", sorted(oracle.CASES))
def test_state_dict_keys_shapes_and_seeded_init(case):
    state = _build(case).state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == FACTS[case]["keys"]
    sums = [float(v.double().sum()) for v in state.values()]
    np.testing.assert_allclose(sums, FACTS[case]["sums"], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("case", BRANCH_CASES)
def test_eval_outputs_and_train_losses(case):
    model = _build(case).eval()
    images = _images()
    with ember.no_grad():
        detections = model(images)
    _assert_outputs(detections, FACTS[case]["eval"])
    extra = ["masks"] if case == "mask" else ["keypoints", "keypoints_scores"]
    assert [sorted(d) for d in detections] == [sorted(["boxes", "labels", "scores"] + extra)] * 2
    if case == "mask":  # pasted at the input size, as probabilities
        assert [tuple(d["masks"].shape[1:]) for d in detections] == [(1, 100, 120), (1, 90, 140)]
    model.train()
    ember.manual_seed(2)
    losses = model(images, oracle.make_targets(ember.tensor, case))
    want = FACTS[case]["losses"]
    assert list(losses) == list(want)
    for name, value in want.items():
        assert losses[name].item() == pytest.approx(value, rel=1e-5, abs=1e-7), name
    assert ember.rand(1).item() == pytest.approx(FACTS[case]["after_draw"], abs=0)
    sum(losses.values()).backward()
    branch = model.roi_heads.mask_predictor if case == "mask" \
        else model.roi_heads.keypoint_predictor
    assert all(p.grad is not None and p.grad.abs().sum().item() > 0
               for p in branch.parameters())


def test_helpers_match_torchvision():
    got = oracle.unit_results(ember, detection)
    want = FACTS["units"]
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        if isinstance(value, str):
            assert got[key] == value, key
        elif key == "mask_probs":
            for mine, theirs in zip(got[key], value):
                _close(mine, theirs, 1e-6)
        elif key in ("heatmap", "heatmap_valid", "t_masks"):
            assert got[key] == value, key  # integer outputs: exact
        else:
            _close(got[key], value, 1e-5)


def test_errors_and_edge_cases_follow_torchvision():
    # a one-layer backbone keeps construction (the box head's draws) cheap
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=8, padding=1))
    backbone.out_channels = 8
    with pytest.raises(ValueError, match="num_classes should be None when mask_predictor is "
                                         "specified"):
        detection.MaskRCNN(backbone, num_classes=3, mask_predictor=MaskRCNNPredictor(4, 4, 3))
    with pytest.raises(TypeError, match="mask_roi_pool should be of type MultiScaleRoIAlign or "
                                        "None instead of <class 'int'>"):
        detection.MaskRCNN(backbone, num_classes=3, mask_roi_pool=3)
    # torchvision's message keeps its braces (not an f-string)
    with pytest.raises(TypeError, match=r"instead of \{type\(keypoint_roi_pool\)\}"):
        detection.KeypointRCNN(backbone, num_classes=3, keypoint_roi_pool=3)
    with pytest.raises(ValueError, match="num_keypoints should be None when keypoint_predictor"):
        detection.KeypointRCNN(backbone, num_classes=3, num_keypoints=3,
                               keypoint_predictor=KeypointRCNNPredictor(4, 3))
    with pytest.raises(ValueError, match="Instead got H = 4 and W = 5"):
        rh.keypointrcnn_loss(ember.zeros(1, 2, 4, 5), [ember.zeros(1, 4)],
                             [ember.zeros(1, 2, 3)], [ember.zeros(1, dtype=ember.int64)])
    # small heads keep this test fast
    kp_head = {"keypoint_head": KeypointRCNNHeads(8, (8,)),
               "keypoint_predictor": KeypointRCNNPredictor(8, 2)}
    assert detection.KeypointRCNN(backbone, num_classes=2, **kp_head).transform.min_size == \
        (640, 672, 704, 736, 768, 800)
    pool = MultiScaleRoIAlign(["0"], 7, 2)
    anchors = detection.anchor_utils.AnchorGenerator(((32, 64),), ((1.0,),))
    small = {"min_size": 64, "max_size": 64, "rpn_anchor_generator": anchors,
             "box_roi_pool": pool}
    image = [ember.rand(3, 64, 64)]
    target = {"boxes": ember.tensor([[1.0, 2, 30, 40]]), "labels": ember.tensor([1])}
    masker = detection.MaskRCNN(backbone, num_classes=2, mask_roi_pool=pool,
                                mask_head=MaskRCNNHeads(8, (256,), 1), **small)
    with pytest.raises(ValueError, match="Every element of targets should have a masks key"):
        masker(image, [target])
    pointer = detection.KeypointRCNN(backbone, num_classes=2, keypoint_roi_pool=pool,
                                     **kp_head, **small)
    with pytest.raises(TypeError, match="target keypoints must of float type, instead got "
                                        "torch.float64"):
        pointer(image, [{**target, "keypoints": ember.zeros(1, 2, 3, dtype=ember.float64)}])
    # no visible keypoint: a zero loss that is still connected to the logits
    losses = pointer(image, [{**target, "keypoints": ember.zeros(1, 2, 3)}])
    assert losses["loss_keypoint"].item() == 0.0 and losses["loss_keypoint"].requires_grad
    # nothing detected: empty outputs of the right shapes (probed with torchvision)
    for model, want in ((masker, {"masks": (0, 1, 64, 64)}),
                        (pointer, {"keypoints": (0, 2, 3), "keypoints_scores": (0, 2)})):
        model.eval()
        model.roi_heads.score_thresh = 1.0
        with ember.no_grad():
            out = model(image)[0]
        assert {k: tuple(v.shape) for k, v in out.items() if k in want} == want
        assert all(v.dtype == ember.float32 for k, v in out.items() if k in want)


def test_mask_head_loads_version_1_checkpoints():
    # torchvision's MaskRCNNHeads once held bare convolutions named mask_fcn1, mask_fcn2, ...
    head = MaskRCNNHeads(4, (6, 5), 1)
    ember.manual_seed(7)
    old = collections.OrderedDict([
        ("mask_fcn1.weight", ember.randn(6, 4, 3, 3)), ("mask_fcn1.bias", ember.randn(6)),
        ("mask_fcn2.weight", ember.randn(5, 6, 3, 3)), ("mask_fcn2.bias", ember.randn(5))])
    wanted = {k: v.clone() for k, v in old.items()}
    old._metadata = {"": {"version": 1}}
    head.load_state_dict(old)
    assert ember.equal(head[0][0].weight, wanted["mask_fcn1.weight"])
    assert ember.equal(head[1][0].bias, wanted["mask_fcn2.bias"])
    assert list(head.state_dict()) == ["0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias"]
    assert head.state_dict()._metadata[""]["version"] == 2


def test_finetuning_tutorial_head_swap_trains():
    # the "TorchVision Object Detection Finetuning Tutorial" recipe, on small sizes
    model = detection.maskrcnn_resnet50_fpn(weights_backbone=None, min_size=64, max_size=64,
                                            rpn_post_nms_top_n_train=20,
                                            box_batch_size_per_image=8)
    features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(features, 2)
    channels = model.roi_heads.mask_predictor.conv5_mask.in_channels
    model.roi_heads.mask_predictor = MaskRCNNPredictor(channels, 16, 2)
    masks = ember.zeros(1, 60, 50, dtype=ember.uint8)
    masks[0, 10:40, 5:30] = 1
    target = {"boxes": ember.tensor([[5.0, 10, 30, 40]]), "labels": ember.tensor([1]),
              "masks": masks}
    optimizer = ember.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = model([ember.rand(3, 60, 50)], [target])
    assert sorted(losses) == ["loss_box_reg", "loss_classifier", "loss_mask",
                              "loss_objectness", "loss_rpn_box_reg"]
    sum(losses.values()).backward()
    before = model.roi_heads.mask_predictor.mask_fcn_logits.weight.clone()
    optimizer.step()
    assert not ember.equal(before, model.roi_heads.mask_predictor.mask_fcn_logits.weight)


def test_registered_with_get_model_and_weights():
    # torchvision 0.28's list_models(module=detection) names these (and more ember lacks)
    names = models.list_models(module=detection)
    for name in ["fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn",
                 "keypointrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn"]:
        assert name in names and name in models.list_models()
        assert models.get_model_builder(name) is getattr(detection, name)
    assert names == sorted(names)
    model = models.get_model("keypointrcnn_resnet50_fpn", weights_backbone=None,
                             num_keypoints=3)
    assert isinstance(model, detection.KeypointRCNN)
    assert model.roi_heads.box_predictor.cls_score.out_features == 2  # background, person
    assert model.roi_heads.keypoint_predictor.out_channels == 3
    weights = models.get_model_weights("maskrcnn_resnet50_fpn")
    assert weights is detection.MaskRCNN_ResNet50_FPN_Weights
    assert weights.DEFAULT.url == ("https://download.pytorch.org/models/"
                                   "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth")
    assert weights.DEFAULT.meta["num_params"] == 44401393
    kp = detection.KeypointRCNN_ResNet50_FPN_Weights
    assert [m.name for m in kp] == ["COCO_LEGACY", "COCO_V1"] and kp.DEFAULT is kp.COCO_V1
    assert models.get_weight("FasterRCNN_ResNet50_FPN_Weights.DEFAULT").url.endswith(
        "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth")
    assert not hasattr(models, "MaskRCNN_ResNet50_FPN_Weights")  # detection's only
    with pytest.raises(ValueError, match="cannot download"):
        detection.maskrcnn_resnet50_fpn(weights=weights.DEFAULT)
    with pytest.raises(ValueError, match="cannot download"):
        detection.keypointrcnn_resnet50_fpn(weights="DEFAULT")


def test_torchvision_state_dict_loads_and_matches():
    rec = run_oracle("_mask_keypoint_oracle.py", "mask")
    ember.manual_seed(123)  # a different init: every value must come from the state_dict
    model = oracle.build(ember, detection, "mask")
    model.load_state_dict(recorded_state(rec))
    images = [ember.from_numpy(rec[f"image/{i}"]) for i in range(len(oracle.IMAGE_SIZES))]
    model.eval()
    with ember.no_grad():
        detections = model(images)
    for i, det in enumerate(detections):
        for key in ("boxes", "scores", "masks"):
            _close(det[key].numpy(), rec[f"eval/{i}/{key}"], 1e-3)
        assert det["labels"].tolist() == rec[f"eval/{i}/labels"].tolist()


@pytest.mark.parametrize("module", ["mask_rcnn", "keypoint_rcnn", "roi_heads", "transform"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"ember.vision.models.detection.{module}")
    result = doctest.testmod(mod, extraglobs={"ember": ember, "nn": nn},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0 and result.attempted > 0
