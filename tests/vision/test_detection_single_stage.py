"""``ember.vision.models.detection`` RetinaNet and FCOS against torchvision 0.28.

torchvision cannot be imported by the test oracle, so its answers are written in here (probed
with torchvision 0.28 beside torch 2.13) or recorded in ``fixtures/single_stage.json.gz`` by
``_single_stage_oracle.py`` (which documents how to run it): for the three builders, built
after ``manual_seed(0)``, the state_dict keys and shapes and the first initial values of the
FPN and head tensors, eval detections on two images drawn after ``manual_seed(1)``, the
train-mode losses after ``manual_seed(2)`` (then with the second image's targets empty) and
the next global draw. With ``EMBER_TORCHVISION_PATH`` set, one test also runs torchvision live
and loads its state_dict into ember's model.
"""

import doctest
import gzip
import json
import pathlib

import numpy as np
import pytest

import ember
from ember.vision.models import detection
from ember.vision.models.detection import _utils as det_utils
from ember.vision.models.detection import fcos, retinanet
from ember.vision.models.detection.anchor_utils import AnchorGenerator

from . import _single_stage_oracle as oracle
from ._live_oracle import recorded_state, run_oracle

HERE = pathlib.Path(__file__).parent
FACTS = json.loads(gzip.decompress((HERE / "fixtures" / "single_stage.json.gz").read_bytes()))

# float32 drift through a randomly initialised ResNet-50: measured box error at most 4e-4
# (RetinaNet v2's GroupNorm head), scores 2e-7, losses 8e-6 relative
BOX_TOL, SCORE_TOL, LOSS_RTOL = 2e-3, 1e-6, 5e-5


def _build(case, seed=0):
    builder, kwargs = oracle.CASES[case]
    ember.manual_seed(seed)
    return getattr(detection, builder)(weights=None, weights_backbone=None, **kwargs)


def _images():
    ember.manual_seed(1)  # ember.rand draws torch.rand's numbers
    return [ember.rand(*s) for s in oracle.IMAGE_SIZES]


def _targets(empty_second=False):
    targets = [{"boxes": ember.tensor(b), "labels": ember.tensor(lab)}
               for b, lab in oracle.TARGETS]
    if empty_second:
        targets[1] = {"boxes": ember.zeros(0, 4), "labels": ember.zeros(0, dtype=ember.int64)}
    return targets


def _assert_detections(got, want):
    for mine, theirs in zip(got, want):
        assert mine["labels"].tolist() == theirs["labels"]
        assert mine["boxes"].dtype == ember.float32 and mine["labels"].dtype == ember.int64
        np.testing.assert_allclose(mine["scores"].numpy(), theirs["scores"], rtol=0,
                                   atol=SCORE_TOL)
        np.testing.assert_allclose(mine["boxes"].numpy(), theirs["boxes"], rtol=0,
                                   atol=BOX_TOL)


def _assert_losses(losses, want):
    assert list(losses) == list(want)
    for name, value in want.items():
        assert losses[name].item() == pytest.approx(value, rel=LOSS_RTOL, abs=1e-7), name


@pytest.mark.parametrize("case", sorted(oracle.CASES))
def test_state_dict_keys_shapes_and_seeded_init(case):
    state = _build(case).state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == FACTS[case]["keys"]
    for key, first in FACTS[case]["init"].items():
        np.testing.assert_allclose(state[key].numpy().ravel()[:4], first, rtol=0, atol=1e-7,
                                   err_msg=key)


@pytest.mark.parametrize("case", sorted(oracle.CASES))
def test_eval_detections_and_train_losses(case):
    model = _build(case).eval()
    images = _images()
    with ember.no_grad():
        detections = model(images)
    _assert_detections(detections, FACTS[case]["eval"])
    model.train()
    # gradients are checked from the FPN up: the ResNet body's backward would only add time
    # (freezing does not change the forward, batch norms still update their statistics)
    model.backbone.body.requires_grad_(False)
    ember.manual_seed(2)
    losses = model(images, _targets())
    _assert_losses(losses, FACTS[case]["losses"])
    assert ember.rand(1).item() == pytest.approx(FACTS[case]["after_draw"], abs=0)
    sum(losses.values()).backward()
    assert model.head.classification_head.cls_logits.weight.grad.abs().sum().item() > 0
    assert model.head.regression_head.bbox_reg.weight.grad.abs().sum().item() > 0
    assert model.backbone.fpn.extra_blocks.p7.weight.grad.abs().sum().item() > 0
    if case != "retinanet_v2":  # it matches anchors as "retinanet" does
        # an image without objects only adds background terms
        with ember.no_grad():
            losses = model(images, _targets(empty_second=True))
        _assert_losses(losses, FACTS[case]["empty_losses"])


def test_builder_defaults_match_torchvision():
    # probed from torchvision 0.28's builders (num_classes=5)
    model = retinanet.retinanet_resnet50_fpn(weights_backbone=None, num_classes=5)
    assert model.anchor_generator.sizes == ((32, 40, 50), (64, 80, 101), (128, 161, 203),
                                            (256, 322, 406), (512, 645, 812))
    assert model.anchor_generator.aspect_ratios == ((0.5, 1.0, 2.0),) * 5
    assert (model.score_thresh, model.nms_thresh, model.detections_per_img,
            model.topk_candidates) == (0.05, 0.5, 300, 1000)
    assert model.head.regression_head._loss_type == "l1"
    assert model.backbone.fpn.extra_blocks.use_P5
    assert model.head.classification_head.cls_logits.bias[0].item() == pytest.approx(
        -np.log(99), abs=1e-6)
    v2 = retinanet.retinanet_resnet50_fpn_v2(num_classes=5)  # no backbone weights by default
    assert v2.head.regression_head._loss_type == "giou"
    assert not v2.backbone.fpn.extra_blocks.use_P5
    assert isinstance(v2.head.classification_head.conv[0][1], ember.nn.GroupNorm)
    f = fcos.fcos_resnet50_fpn(weights_backbone=None, num_classes=5)
    assert f.anchor_generator.sizes == ((8,), (16,), (32,), (64,), (128,))
    assert (f.center_sampling_radius, f.score_thresh, f.nms_thresh, f.detections_per_img,
            f.topk_candidates) == (1.5, 0.2, 0.6, 100, 1000)
    assert sorted(detection.__all__) == sorted(set(detection.__all__))
    for name in ("RetinaNet", "FCOS", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2",
                 "fcos_resnet50_fpn"):
        assert name in detection.__all__
    assert retinanet.__all__ == ["RetinaNet", "retinanet_resnet50_fpn",
                                 "retinanet_resnet50_fpn_v2"]
    assert fcos.__all__ == ["FCOS", "fcos_resnet50_fpn"]


def _tiny_backbone():
    backbone = ember.nn.Conv2d(3, 32, 3)
    backbone.out_channels = 32
    return backbone


def test_errors_match_torchvision():
    backbone = _tiny_backbone()
    two = AnchorGenerator(((8, 16),), ((1.0,),))
    retinanet.RetinaNet(backbone, 3, anchor_generator=two)  # any anchor count is fine here
    with pytest.raises(ValueError, match=r"num_anchors_per_location\(\)\[0\] should be 1 "
                                         "instead of 2"):
        fcos.FCOS(backbone, 3, anchor_generator=two)
    with pytest.raises(TypeError, match="AnchorGenerator or None instead of <class 'str'>"):
        retinanet.RetinaNet(backbone, 3, anchor_generator="x")
    with pytest.raises(TypeError, match="AnchorGenerator or None, instead  got <class 'str'>"):
        fcos.FCOS(backbone, 3, anchor_generator="x")
    model = retinanet.RetinaNet(backbone, 3, anchor_generator=AnchorGenerator(((8,),), ((1.0,),)),
                                min_size=32, max_size=32).eval()
    assert model([ember.rand(3, 30, 30)])[0]["boxes"].shape == (0, 4)  # score_thresh 0.05
    model.train()
    with pytest.raises(AssertionError, match="targets should not be none when in training"):
        model([ember.rand(3, 30, 30)])
    coder = det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    with pytest.raises(AssertionError, match="Unsupported loss: foo"):
        retinanet._box_loss("foo", coder, ember.zeros(1, 4), ember.zeros(1, 4),
                            ember.zeros(1, 4))


def test_box_losses_and_linear_coder():
    coder = det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    anchors = ember.tensor([[0.0, 0.0, 10.0, 10.0]])
    gt = ember.tensor([[1.0, 1.0, 12.0, 9.0]])
    codes = ember.tensor([[0.05, 0.3, 0.0, -0.1]])
    # torchvision 0.28's _box_loss("smooth_l1", ...) on these (beta 1)
    assert retinanet._box_loss("smooth_l1", coder, anchors, gt, codes).item() == \
        pytest.approx(0.062124185264110565, rel=1e-6)
    target = np.array([0.15, 0.0, np.log(1.1), np.log(0.8)])
    assert retinanet._box_loss("l1", coder, anchors, gt, codes).item() == pytest.approx(
        np.abs(codes.numpy()[0] - target).sum(), rel=1e-6)
    exact = retinanet._box_loss("giou", coder, anchors, gt, ember.tensor([target.tolist()]))
    assert exact.item() == pytest.approx(0.0, abs=1e-6)
    linear = fcos.BoxLinearCoder(normalize_by_size=True)
    sides = linear.encode(ember.tensor([[0.0, 0.0, 8.0, 8.0]]),
                          ember.tensor([[2.0, 0.0, 10.0, 6.0]]))
    assert sides.tolist() == [[0.25, 0.5, 0.75, 0.25]]  # torchvision's answer
    back = linear.decode(sides, ember.tensor([[0.0, 0.0, 8.0, 8.0]]))
    assert back.tolist() == [[2.0, 0.0, 10.0, 6.0]]
    plain = fcos.BoxLinearCoder(normalize_by_size=False)
    assert plain.encode(ember.tensor([[0.0, 0.0, 8.0, 8.0]]),
                        ember.tensor([[2.0, 0.0, 10.0, 6.0]])).tolist() == [[2.0, 4.0, 6.0, 2.0]]


def test_docstring_examples():
    for module in (retinanet, fcos):
        result = doctest.testmod(module, extraglobs={"ember": ember}, verbose=False)
        assert result.failed == 0 and result.attempted > 0


def test_torchvision_state_dict_loads_and_matches():
    rec = run_oracle("_single_stage_oracle.py", "fcos")
    model = _build("fcos", seed=123)  # a different init: every value comes from the file
    model.load_state_dict(recorded_state(rec))
    images = [ember.from_numpy(rec[f"image/{i}"]) for i in range(len(oracle.IMAGE_SIZES))]
    model.eval()
    with ember.no_grad():
        detections = model(images)
    _assert_detections(detections, [{key: rec[f"eval/{i}/{key}"].tolist()
                                     for key in ("boxes", "labels", "scores")}
                                    for i in range(len(images))])
    model.train()
    ember.manual_seed(2)
    _assert_losses(model(images, _targets()),
                   {str(k): float(rec[f"loss/{k}"]) for k in rec["loss_names"]})
