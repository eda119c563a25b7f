"""``ember.vision.models.detection`` (Faster R-CNN) against torchvision 0.28.

torchvision cannot be imported by the test oracle, so its answers are written in here (probed
with torchvision 0.28 beside torch 2.13) or recorded in ``fixtures/faster_rcnn.json.gz`` by
``_faster_rcnn_oracle.py`` (which documents how to run it): for the two builders, built after
``manual_seed(0)`` (ember's construction draws the same initial weights), the state_dict keys
and shapes, eval detections on two images of different sizes drawn after ``manual_seed(1)``,
and the train-mode losses after ``manual_seed(2)`` with the targets of the oracle script (the
samplers' ``randperm`` draws come from the global stream, so the next draw is recorded too).
With ``EMBER_TORCHVISION_PATH`` set, one test also runs torchvision live and loads its
state_dict into ember's model.
"""

import doctest
import gzip
import importlib
import json
import pathlib
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision.models import detection
from ember.vision.models.detection import _utils as det_utils
from ember.vision.models.detection.anchor_utils import AnchorGenerator
from ember.vision.models.detection.backbone_utils import (
    _validate_trainable_layers,
    mobilenet_backbone,
    resnet_fpn_backbone,
)
from ember.vision.models.detection.faster_rcnn import FasterRCNN, FastRCNNPredictor, TwoMLPHead
from ember.vision.models.detection.image_list import ImageList
from ember.vision.models.detection.rpn import RPNHead
from ember.vision.models.detection.transform import GeneralizedRCNNTransform
from ember.vision.ops import MultiScaleRoIAlign

from . import _faster_rcnn_oracle as oracle
from ._live_oracle import recorded_state, run_oracle

HERE = pathlib.Path(__file__).parent
FACTS = json.loads(gzip.decompress((HERE / "fixtures" / "faster_rcnn.json.gz").read_bytes()))


def _build(case):
    builder, kwargs = oracle.CASES[case]
    ember.manual_seed(0)
    return getattr(detection, builder)(weights=None, weights_backbone=None, **kwargs)


def _images():
    ember.manual_seed(1)  # ember.rand draws torch.rand's numbers
    return [ember.rand(*s) for s in oracle.IMAGE_SIZES]


def _assert_detections(got, want, atol_box, atol_score):
    for mine, theirs in zip(got, want):
        assert mine["labels"].tolist() == theirs["labels"]
        np.testing.assert_allclose(mine["scores"].numpy(), theirs["scores"], rtol=0,
                                   atol=atol_score)
        np.testing.assert_allclose(mine["boxes"].numpy(), theirs["boxes"], rtol=0,
                                   atol=atol_box)


def _assert_losses(losses, want, rtol):
    assert list(losses) == list(want)
    for name, value in want.items():
        assert losses[name].item() == pytest.approx(value, rel=rtol, abs=1e-7), name


# float32 drift through a randomly initialised ResNet-50 (activations grow layer by layer)
# is larger than through MobileNetV3
TOLERANCES = {"resnet50": (1e-3, 5e-5, 1e-3), "mobilenet": (1e-4, 1e-6, 1e-5)}


@pytest.mark.parametrize("case", sorted(oracle.CASES))
def test_state_dict_keys_and_shapes(case):
    model = _build(case)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == FACTS[case]["keys"]


@pytest.mark.parametrize("case", sorted(oracle.CASES))
def test_eval_detections_and_train_losses(case):
    box_tol, score_tol, loss_rtol = TOLERANCES[case]
    model = _build(case).eval()
    images = _images()
    with ember.no_grad():
        detections = model(images)
    _assert_detections(detections, FACTS[case]["eval"], box_tol, score_tol)
    assert all(d["boxes"].dtype == ember.float32 and d["labels"].dtype == ember.int64
               for d in detections)
    model.train()
    targets = [{"boxes": ember.tensor(b), "labels": ember.tensor(lab)}
               for b, lab in oracle.TARGETS]
    ember.manual_seed(2)
    losses = model(images, targets)
    _assert_losses(losses, FACTS[case]["losses"], loss_rtol)
    assert ember.rand(1).item() == pytest.approx(FACTS[case]["after_draw"], abs=0)
    sum(losses.values()).backward()
    assert model.rpn.head.cls_logits.weight.grad is not None
    assert model.roi_heads.box_predictor.bbox_pred.weight.grad.abs().sum().item() > 0


def test_torchvision_state_dict_loads_and_matches():
    rec = run_oracle("_faster_rcnn_oracle.py", "mobilenet")
    builder, kwargs = oracle.CASES["mobilenet"]
    ember.manual_seed(123)  # a different init: every value must come from the state_dict
    model = getattr(detection, builder)(weights=None, weights_backbone=None, **kwargs)
    state = recorded_state(rec)
    model.load_state_dict(state)
    images = [ember.from_numpy(rec[f"image/{i}"]) for i in range(len(oracle.IMAGE_SIZES))]
    model.eval()
    with ember.no_grad():
        detections = model(images)
    want = [{key: rec[f"eval/{i}/{key}"] for key in ("boxes", "labels", "scores")}
            for i in range(len(images))]
    want = [{k: v.tolist() for k, v in w.items()} for w in want]
    _assert_detections(detections, want, 1e-4, 1e-6)
    model.train()
    ember.manual_seed(2)
    losses = model(images, [{"boxes": ember.tensor(b), "labels": ember.tensor(lab)}
                            for b, lab in oracle.TARGETS])
    _assert_losses(losses, {str(k): float(rec[f"loss/{k}"]) for k in rec["loss_names"]}, 1e-5)


# -- a tiny model (one conv as backbone) for behaviour and errors -------------------------

def _tiny(**kwargs):
    ember.manual_seed(0)
    backbone = nn.Conv2d(3, 8, 3, stride=4, padding=1)
    backbone.out_channels = 8
    options = {"num_classes": 3, "min_size": 64, "max_size": 80,
               "rpn_anchor_generator": AnchorGenerator(((16, 32),), ((0.5, 1.0, 2.0),)),
               "box_roi_pool": MultiScaleRoIAlign(["0"], 4, 2), **kwargs}
    return FasterRCNN(backbone, **options)


# (transform's message, exception) for bad training inputs, as torchvision 0.28 raises them
BAD_TARGETS = {
    "none": (None, AssertionError, "targets should not be none when in training mode"),
    "shape": ([{"boxes": ember.zeros(4), "labels": ember.tensor([1])}], AssertionError,
              "Expected target boxes to be a tensor of shape [N, 4], got torch.Size([4])."),
    "type": ([{"boxes": [[1, 2, 3, 4]], "labels": ember.tensor([1])}], AssertionError,
             "Expected target boxes to be of type Tensor, got <class 'list'>."),
    "degenerate": ([{"boxes": ember.tensor([[1., 2, 30, 40], [5., 5, 5, 9]]),
                     "labels": ember.tensor([1, 2])}], AssertionError,
                   "All bounding boxes should have positive height and width. Found invalid "
                   "box [6.3333330154418945, 6.399999618530273, 6.3333330154418945, "
                   "11.519999504089355] for target at index 0."),
    "int32_labels": ([{"boxes": ember.tensor([[1., 2, 30, 40]]),
                       "labels": ember.tensor([1], dtype=ember.int32)}], TypeError,
                     "target labels must of int64 type, instead got torch.int32"),
    "no_labels": ([{"boxes": ember.tensor([[1., 2, 30, 40]])}], KeyError, "'labels'"),
}


@pytest.mark.parametrize("name", sorted(BAD_TARGETS))
def test_bad_targets_raise_like_torchvision(name):
    targets, exc, message = BAD_TARGETS[name]
    with pytest.raises(exc) as info:
        _tiny()([ember.rand(3, 50, 60)], targets)
    assert str(info.value) == (message if exc is not KeyError else message)


def test_bad_images_and_empty_targets():
    model = _tiny().eval()
    with pytest.raises(ValueError, match=r"images is expected to be a list of 3d tensors of "
                                         r"shape \[C, H, W\], got torch.Size\(\[50, 60\]\)"):
        model([ember.rand(50, 60)])
    with pytest.raises(TypeError, match="Expected input images to be of floating type"):
        model([ember.zeros(3, 50, 60, dtype=ember.uint8)])
    # an image without objects trains on background only: no box losses (torchvision: 0.0)
    model.train()
    losses = model([ember.rand(3, 50, 60)],
                   [{"boxes": ember.zeros(0, 4), "labels": ember.zeros(0, dtype=ember.int64)}])
    assert losses["loss_box_reg"].item() == 0.0 and losses["loss_rpn_box_reg"].item() == 0.0
    assert losses["loss_objectness"].item() > 0


def test_score_threshold_and_detections_per_image():
    model = _tiny(box_score_thresh=0.34, box_detections_per_img=5).eval()
    with ember.no_grad():
        (out,) = model([ember.rand(3, 50, 60)])
    assert len(out["boxes"]) <= 5
    assert bool((out["scores"] > 0.34).all())
    assert out["labels"].min().item() >= 1  # the background class is never reported
    # boxes are in the input image's coordinates
    assert out["boxes"][:, 2].max().item() <= 60 and out["boxes"][:, 3].max().item() <= 50


def test_constructor_errors():
    with pytest.raises(ValueError, match="backbone should contain an attribute out_channels"):
        FasterRCNN(nn.Sequential(nn.Conv2d(3, 8, 3)), 3)
    backbone = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match="^num_classes should not be None when box_predictor "
                                         "is not specified$"):
        FasterRCNN(backbone)
    with pytest.raises(ValueError, match="^num_classes should be None when box_predictor is "
                                         "specified$"):
        FasterRCNN(backbone, 3, box_predictor=FastRCNNPredictor(8, 3))
    with pytest.raises(TypeError, match="^rpn_anchor_generator should be of type "
                                        "AnchorGenerator or None instead of <class 'int'>$"):
        FasterRCNN(backbone, 3, rpn_anchor_generator=1)
    with pytest.raises(TypeError, match="^box_roi_pool should be of type MultiScaleRoIAlign "
                                        "or None instead of <class 'int'>$"):
        FasterRCNN(backbone, 3, box_roi_pool=1)
    with pytest.raises(ValueError, match="cannot download pretrained weights"):
        detection.fasterrcnn_resnet50_fpn()  # torchvision would download ImageNet weights


def test_defaults_follow_torchvision():
    model = _tiny()
    assert model.rpn._pre_nms_top_n == {"training": 2000, "testing": 1000}
    assert model.rpn._post_nms_top_n == {"training": 2000, "testing": 1000}
    assert model.roi_heads.score_thresh == 0.05 and model.roi_heads.nms_thresh == 0.5
    assert model.roi_heads.box_coder.weights == (10.0, 10.0, 5.0, 5.0)
    assert repr(model.transform) == (
        "GeneralizedRCNNTransform(\n    Normalize(mean=[0.485, 0.456, 0.406], "
        "std=[0.229, 0.224, 0.225])\n    Resize(min_size=(64,), max_size=80, mode='bilinear')\n)")
    mb = _build("mobilenet")
    assert mb.rpn.score_thresh == 0.0  # the case overrides the builder's 0.05
    assert detection.fasterrcnn_mobilenet_v3_large_fpn(weights_backbone=None).rpn.score_thresh \
        == 0.05
    assert mb.backbone.body.return_layers == {"13": "0", "16": "1"}
    assert mb.rpn.anchor_generator.num_anchors_per_location() == [15, 15, 15]
    # without pretrained weights the backbone uses BatchNorm2d and trains every layer
    r50 = _build("resnet50")
    assert type(r50.backbone.body.bn1) is nn.BatchNorm2d
    assert all(p.requires_grad for p in r50.parameters())


def test_trainable_layers():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _validate_trainable_layers(False, 2, 5, 3) == 5
    assert "falling back to trainable_backbone_layers=5" in str(caught[0].message)
    with pytest.raises(ValueError, match=r"^Trainable backbone layers should be in the range "
                                         r"\[0,5\], got 7 $"):
        _validate_trainable_layers(True, 7, 5, 3)
    body = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=2)
    trained = [n for n, p in body.named_parameters() if p.requires_grad]
    assert trained[0] == "body.layer3.0.conv1.weight" and body.out_channels == 256
    assert not any(n.startswith(("body.layer2", "body.conv1")) for n in trained)
    with pytest.raises(ValueError, match=r"^Each returned layer should be in the range "
                                         r"\[1,4\]. Got \[0, 1\]$"):
        resnet_fpn_backbone(backbone_name="resnet18", weights=None, returned_layers=[0, 1])
    plain = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=False)
    assert tuple(plain(ember.rand(1, 3, 64, 64)).shape) == (1, 256, 2, 2)


# (min_size, max_size, height, width) -> resized (height, width), from torchvision 0.28: the
# scale is a double, floor(side * scale) (a float32 scale gives 9 x 80 for the first)
RESIZED = {(64, 80, 9, 77): (9, 79), (64, 80, 9, 111): (6, 80), (128, 160, 22, 77): (45, 159),
           (128, 160, 22, 111): (31, 160), (100, 333, 178, 77): (231, 100),
           (64, 80, 50, 60): (64, 76)}


@pytest.mark.parametrize("key", sorted(RESIZED))
def test_resize_sizes(key):
    min_size, max_size, h, w = key
    t = GeneralizedRCNNTransform(min_size, max_size, [0.0] * 3, [1.0] * 3).eval()
    batch, _ = t([ember.zeros(3, h, w)])
    assert batch.image_sizes == [RESIZED[key]]


def test_transform_resize_pad_and_postprocess():
    t = GeneralizedRCNNTransform(128, 160, [0.5] * 3, [0.2] * 3).eval()
    batch, targets = t([ember.rand(3, 50, 70)],
                       [{"boxes": ember.tensor([[1., 2, 30, 40]]), "labels": ember.tensor([1])}])
    assert batch.image_sizes == [(114, 160)] and tuple(batch.tensors.shape) == (1, 3, 128, 160)
    np.testing.assert_allclose(targets[0]["boxes"].numpy(),
                               [[2.2857, 4.56, 68.5714, 91.2]], atol=1e-4)
    padded = GeneralizedRCNNTransform(128, 160, [0.5] * 3, [0.2] * 3, size_divisible=48).eval()
    batch, _ = padded([ember.rand(3, 50, 70), ember.rand(3, 90, 60)])
    assert tuple(batch.tensors.shape) == (2, 3, 192, 192)
    assert batch.image_sizes == [(114, 160), (160, 106)]
    assert batch.tensors[1, :, :, 106:].abs().sum().item() == 0  # zero padding
    out = t.postprocess([{"boxes": ember.tensor([[1., 2, 30, 40]])}], [(128, 160)], [(50, 70)])
    np.testing.assert_allclose(out[0]["boxes"].numpy(), [[0.4375, 0.78125, 13.125, 15.625]])
    t.train()
    out = t.postprocess([{"boxes": ember.tensor([[1., 2, 30, 40]])}], [(128, 160)], [(50, 70)])
    assert out[0]["boxes"].tolist() == [[1., 2., 30., 40.]]
    fixed = GeneralizedRCNNTransform(128, 160, [0.5] * 3, [0.2] * 3, fixed_size=(90, 70)).eval()
    batch, targets = fixed([ember.rand(3, 50, 70)], [{"boxes": ember.tensor([[1., 2, 30, 40]])}])
    assert batch.image_sizes == [(70, 90)] and tuple(batch.tensors.shape) == (1, 3, 96, 96)
    np.testing.assert_allclose(targets[0]["boxes"].numpy(), [[1.2857, 2.8, 38.5714, 56.0]],
                               atol=1e-4)


def test_transform_values_and_random_min_size():
    x = ember.arange(2 * 5 * 7.0).reshape(2, 5, 7) / 70
    batch, _ = GeneralizedRCNNTransform(8, 9, [0.5] * 2, [0.2] * 2).eval()([x])
    assert tuple(batch.tensors.shape) == (1, 2, 32, 32) and batch.image_sizes == [(6, 9)]
    np.testing.assert_allclose(batch.tensors[0, 1, :2, :4].numpy(),
                               [[0.0, 0.04761914536356926, 0.10317467153072357,
                                 0.15873019397258759],
                                [0.37500008940696716, 0.4226190745830536, 0.47817462682724,
                                 0.5337302088737488]], rtol=1e-6, atol=1e-7)
    # training draws each image's short side from min_size with the global generator
    t = GeneralizedRCNNTransform((100, 128, 140), 160, [0.5] * 3, [0.2] * 3)
    ember.manual_seed(5)
    batch, _ = t([ember.rand(3, 50, 70), ember.rand(3, 90, 60)])
    assert batch.image_sizes == [(100, 140), (150, 100)]
    assert ember.rand(1).item() == pytest.approx(0.195972740650177, abs=1e-9)


def test_anchor_generator():
    gen = AnchorGenerator()
    assert gen.sizes == ((128, 256, 512),) and gen.num_anchors_per_location() == [9]
    assert gen.cell_anchors[0][:3].tolist() == [[-91., -45., 91., 45.], [-181., -91., 181., 91.],
                                                [-362., -181., 362., 181.]]
    flat = AnchorGenerator(sizes=(16, 32), aspect_ratios=(0.5, 1.0))
    assert flat.sizes == ((16,), (32,)) and flat.aspect_ratios == ((0.5, 1.0), (0.5, 1.0))
    assert flat.cell_anchors[1].tolist() == [[-23., -11., 23., 11.], [-16., -16., 16., 16.]]
    two = AnchorGenerator(sizes=((16,), (32,)), aspect_ratios=((0.5, 1.0, 2.0),) * 2)
    batch = ImageList(ember.zeros(2, 3, 64, 96), [(60, 90), (64, 80)])
    anchors = two(batch, [ember.zeros(2, 8, 16, 24), ember.zeros(2, 8, 8, 12)])
    assert len(anchors) == 2 and tuple(anchors[0].shape) == (1440, 4)
    assert anchors[0][:4].tolist() == [[-11., -6., 11., 6.], [-8., -8., 8., 8.],
                                       [-6., -11., 6., 11.], [-7., -6., 15., 6.]]
    with pytest.raises(ValueError, match="There needs to be a match between the number of "
                                         "feature maps passed"):
        AnchorGenerator(sizes=((16,), (32,)))(batch, [ember.zeros(2, 8, 16, 24)] * 2)


def test_box_coder_matcher_sampler():
    coder = det_utils.BoxCoder((10.0, 10.0, 5.0, 5.0))
    anchors = ember.tensor([[0., 0, 10, 10], [5, 5, 25, 15]])
    targets = ember.tensor([[1., 2, 12, 9], [4, 6, 30, 20]])
    codes = coder.encode_single(targets, anchors)
    np.testing.assert_allclose(coder.decode_single(codes, anchors).numpy(), targets.numpy(),
                               rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(codes.numpy(), [[1.5, 0.5, 0.47655102610588074, -1.7833747863769531],
                                               [1.0, 3.0, 1.3118209838867188, 1.682361125946045]],
                               rtol=1e-6)
    assert tuple(coder.decode(ember.zeros(2, 8), [anchors]).shape) == (2, 2, 4)

    matcher = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)
    quality = ember.tensor([[0.9, 0.5, 0.1, 0.2], [0.1, 0.2, 0.25, 0.2]])
    # column 2 is below 0.3 but is row 1's best: kept by the low-quality rule
    assert matcher(quality).tolist() == [0, -2, 1, -1]
    with pytest.raises(ValueError, match="No ground-truth boxes available"):
        matcher(ember.zeros(0, 3))
    with pytest.raises(ValueError, match="No proposal boxes available"):
        matcher(ember.zeros(2, 0))

    sampler = det_utils.BalancedPositiveNegativeSampler(4, 0.25)
    labels = ember.tensor([1, 1, 1, 0, 0, 0, 0, 0, -1])
    ember.manual_seed(0)
    pos, neg = sampler([labels])
    # torchvision's draws for seed 0: positives first, then negatives
    assert pos[0].dtype == ember.uint8
    assert pos[0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert neg[0].tolist() == [0, 0, 0, 1, 1, 0, 1, 0, 0]


def test_heads_and_old_rpn_checkpoint():
    head = RPNHead(8, 3)
    keys = list(head.state_dict())
    assert keys == ["conv.0.0.weight", "conv.0.0.bias", "cls_logits.weight", "cls_logits.bias",
                    "bbox_pred.weight", "bbox_pred.bias"]
    assert list(RPNHead(8, 3, conv_depth=2).state_dict())[:4] == [
        "conv.0.0.weight", "conv.0.0.bias", "conv.1.0.weight", "conv.1.0.bias"]
    # a version-1 checkpoint held the shared conv bare, as "conv.weight"
    old = {k.replace("conv.0.0.", "conv."): v.clone() + 1 for k, v in head.state_dict().items()}
    from collections import OrderedDict

    old = OrderedDict(old)
    old._metadata = {"": {"version": 1}}
    fresh = RPNHead(8, 3)
    fresh.load_state_dict(old)
    assert ember.equal(fresh.conv[0][0].weight, old["conv.weight"])
    scores, deltas = FastRCNNPredictor(8, 3)(ember.rand(2, 8, 1, 1))
    assert tuple(scores.shape) == (2, 3) and tuple(deltas.shape) == (2, 12)
    with pytest.raises(AssertionError, match=r"expecting the last two dimensions to be \[1,1\] "
                                             r"instead of \[2, 2\]"):
        FastRCNNPredictor(8, 3)(ember.rand(2, 8, 2, 2))
    assert tuple(TwoMLPHead(8 * 4, 16)(ember.rand(3, 8, 2, 2)).shape) == (3, 16)
    moved = ImageList(ember.zeros(1, 3, 4, 4), [(3, 4)]).to("cpu")
    assert moved.image_sizes == [(3, 4)]


DOC_MODULES = ["", ".image_list", ".anchor_utils", ".transform", "._utils", ".rpn", ".roi_heads",
               ".generalized_rcnn", ".faster_rcnn", ".backbone_utils"]


@pytest.mark.parametrize("module", DOC_MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module("ember.vision.models.detection" + module)
    public = [getattr(mod, name) for name in getattr(mod, "__all__", [])]
    assert all("Example" in (obj.__doc__ or "") for obj in public if callable(obj))
    ember.manual_seed(0)
    result = doctest.testmod(mod, extraglobs={"ember": ember, "nn": nn},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0 and result.attempted > 0

