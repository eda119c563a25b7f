"""SSD and SSDlite against recorded torchvision 0.28 facts (``fixtures/models_ssd.json.gz``,
written by ``fixtures/make_models_ssd.py``, which says how to run it), plus a live comparison
when torchvision is importable beside the torch oracle.

Recorded per builder (``weights_backbone=None``, 5 classes, built after ``manual_seed(0)``):
state_dict keys, shapes and initial sums (equal sums in order mean the same init draws), the
parameter count, eval head outputs and default boxes for two seeded images, training losses for
fixed targets, and the detections for random (tie-free) head outputs.
"""

import gzip
import json
import os
import pathlib
import warnings

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import detection
from ember.vision.models.detection._utils import SSDMatcher
from ember.vision.models.detection.anchor_utils import DefaultBoxGenerator
from ember.vision.models.detection.image_list import ImageList
from ember.vision.models.detection.ssd import (
    SSD,
    SSDClassificationHead,
    SSDFeatureExtractorVGG,
    SSDHead,
    SSDRegressionHead,
)
from ember.vision.models.detection.ssdlite import SSDLiteHead

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_ssd.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
KWARGS = {"weights_backbone": None, "num_classes": 5}
# ssd300_vgg16's seeded build draws VGG16's 138M initial weights (its classifier's too, which
# SSD drops), about half a minute in ember: only with EMBER_SLOW_TESTS. "ssd_vgg_features" is
# the same SSD300 on VGG16's conv layers alone and runs every time.
SLOW = bool(os.environ.get("EMBER_SLOW_TESTS"))
CASES = ["ssdlite320_mobilenet_v3_large", "ssd_vgg_features"] + (["ssd300_vgg16"] if SLOW
                                                                  else [])
IMAGE_SHAPES = [(3, 200, 240), (3, 180, 150)]
TARGETS = [{"boxes": [[10.0, 20, 120, 150], [50, 60, 200, 170]], "labels": [1, 3]},
           {"boxes": [[5.0, 5, 60, 90]], "labels": [4]}]


def _images(count=len(IMAGE_SHAPES)):
    ember.manual_seed(1)
    return [ember.rand(*s) for s in IMAGE_SHAPES][:count]


def _check(t, fact, rtol=1e-4):
    t = t.detach().numpy().astype(np.float64)
    assert list(t.shape) == fact["shape"]
    scale = fact["abs_sum"] / max(t.size, 1)
    np.testing.assert_allclose(t.ravel()[:6], fact["first"], rtol=rtol, atol=1e-4 * scale + 1e-6)
    np.testing.assert_allclose(np.abs(t).sum(), fact["abs_sum"], rtol=rtol)
    np.testing.assert_allclose(t.sum(), fact["sum"], rtol=rtol, atol=rtol * fact["abs_sum"])


def _vgg_features_ssd():
    # as fixtures/make_models_ssd.py builds it with torchvision
    backbone = SSDFeatureExtractorVGG(models.vgg.make_layers(models.vgg.cfgs["D"]), False)
    boxes = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]],
                                scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                                steps=[8, 16, 32, 64, 100, 300])
    return SSD(backbone, boxes, (300, 300), KWARGS["num_classes"],
               image_mean=[0.48235, 0.45882, 0.40784], image_std=[1.0 / 255.0] * 3)


@pytest.fixture(scope="module", params=CASES)
def built(request):
    name = request.param
    ember.manual_seed(0)
    if name == "ssd_vgg_features":
        model = _vgg_features_ssd().eval()
    else:
        model = getattr(detection, name)(**KWARGS).eval()
    return name, model, FACTS["models"][name]


def test_state_dict_and_init_match_torchvision(built):
    _, model, fact = built
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    want = np.array([s for _, _, s in fact["state"]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]


def _check_features_and_head(features, head, anchors, fact):
    for f, want in zip(features, fact["features"], strict=True):
        _check(f, want)
    assert list(head) == list(fact["head"])
    for key, want in fact["head"].items():
        _check(head[key], want)
    _check(anchors[0], fact["anchors"], rtol=1e-6)


def test_forward_matches_torchvision(built):
    """One training forward (hooks keep the maps, head outputs and default boxes), checked
    against the recorded losses; the eval-mode maps and head outputs (the same as in training
    for VGG, which has no batch norm; SSDlite needs an eval pass); then the postprocessing of
    tie-free random head outputs."""
    name, model, fact = built
    count = fact["batch"]
    has_batch_norm = name.startswith("ssdlite")
    if has_batch_norm:
        # eval first: the training pass below moves the running statistics
        with ember.no_grad():
            batch, _ = model.transform(_images(count))
            features = list(model.backbone(batch.tensors).values())
            head = model.head(features)
            detections = model(_images(1))
        # the whole eval forward: detections mapped back onto the 200x240 input
        assert sorted(detections[0]) == ["boxes", "labels", "scores"]
        boxes = detections[0]["boxes"].numpy()
        assert (boxes[:, 2] <= 240 + 1e-3).all() and (boxes[:, 3] <= 200 + 1e-3).all()
        assert detections[0]["labels"].dtype == ember.int64
        assert len(boxes) <= model.detections_per_img == 300
        buffers = {k: v.clone() for k, v in model.state_dict().items()
                   if "running" in k or "num_batches" in k}
    seen = {}
    hooks = [model.backbone.register_forward_hook(
                 lambda m, i, o: seen.__setitem__("features", list(o.values()))),
             model.head.register_forward_hook(lambda m, i, o: seen.__setitem__("head", o)),
             model.anchor_generator.register_forward_hook(
                 lambda m, i, o: seen.__setitem__("anchors", o))]
    model.train()
    targets = [{"boxes": ember.tensor(t["boxes"]), "labels": ember.tensor(t["labels"])}
               for t in TARGETS][:count]
    try:
        ember.manual_seed(5)
        losses = model(_images(count), targets)
    finally:
        for hook in hooks:
            hook.remove()
        model.eval()
        if has_batch_norm:
            model.load_state_dict(buffers, strict=False)
    assert list(losses) == list(fact["losses"])
    for key, value in fact["losses"].items():
        np.testing.assert_allclose(float(losses[key].detach()), value, rtol=1e-4)
    if not has_batch_norm:
        # VGG has no batch norm: the training pass's maps are the eval ones
        features, head = seen["features"], seen["head"]
    _check_features_and_head(features, head, seen["anchors"], fact)
    ember.manual_seed(7)
    n, a, c = head["cls_logits"].shape
    fake = {"bbox_regression": ember.randn(n, a, 4) * 0.5, "cls_logits": ember.randn(n, a, c) * 3}
    limit, model.detections_per_img = model.detections_per_img, 10 ** 6
    try:
        side = 320 if has_batch_norm else 300
        dets = model.postprocess_detections(fake, seen["anchors"], [(side, side)] * count)
    finally:
        model.detections_per_img = limit
    for det, want in zip(dets, fact["detections"], strict=True):
        boxes = det["boxes"].numpy().astype(np.float64)
        scores = det["scores"].numpy().astype(np.float64)
        assert len(boxes) == want["n"]
        assert np.bincount(det["labels"].numpy(), minlength=5).tolist() == want["label_counts"]
        np.testing.assert_allclose(scores[:5], want["top_scores"], rtol=1e-5)
        np.testing.assert_allclose(scores.sum(), want["score_sum"], rtol=1e-5)
        np.testing.assert_allclose(boxes.sum(), want["box_sum"], rtol=1e-4)
        np.testing.assert_allclose(np.abs(boxes).sum(), want["box_abs_sum"], rtol=1e-4)


@pytest.mark.parametrize("case", range(len(FACTS["default_boxes"])))
def test_default_box_generator_matches_torchvision(case):
    fact = FACTS["default_boxes"][case]
    gen = DefaultBoxGenerator(**fact["kwargs"])
    assert gen.scales == pytest.approx(fact["scales"], abs=0)
    assert repr(gen) == fact["repr"]
    assert gen.num_anchors_per_location() == fact["num_anchors"]
    batch = ImageList(ember.zeros(2, 3, 30, 40), [(30, 40), (28, 36)])
    boxes = gen(batch, [ember.zeros(2, 8, h, w) for h, w in fact["grids"]])
    assert len(boxes) == 2
    np.testing.assert_array_equal(boxes[0].numpy(), np.array(fact["boxes"], dtype=np.float32))
    with pytest.raises(ValueError, match="aspect_ratios and steps should have the same length"):
        DefaultBoxGenerator([[2]], steps=[8, 16])


def test_ssd_matcher_matches_torchvision():
    fact = FACTS["matcher"]
    got = SSDMatcher(0.5)(ember.tensor(fact["quality"]))
    assert got.tolist() == fact["matches"]


def test_registry_and_weight_enums():
    assert "ssd300_vgg16" in models.list_models(module=detection)
    assert "ssdlite320_mobilenet_v3_large" in models.list_models(module=detection)
    assert models.get_model_builder("ssd300_vgg16") is detection.ssd300_vgg16
    assert detection.ssd300_vgg16.__module__ == "ember.vision.models.detection.ssd"
    assert (detection.ssdlite320_mobilenet_v3_large.__module__
            == "ember.vision.models.detection.ssdlite")
    enum = models.get_model_weights("ssd300_vgg16")
    assert enum is detection.SSD300_VGG16_Weights is detection.ssd.SSD300_VGG16_Weights
    assert enum.DEFAULT is enum.COCO_V1
    assert enum.COCO_V1.url.endswith("ssd300_vgg16_coco-b556d3b4.pth")
    assert enum.COCO_V1.meta["num_params"] == 35641826
    lite = models.get_weight("SSDLite320_MobileNet_V3_Large_Weights.DEFAULT")
    assert lite.url.endswith("ssdlite320_mobilenet_v3_large_coco-a79551df.pth")
    assert lite.meta["num_params"] == 3440060


def test_builder_argument_checks():
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            detection.ssdlite320_mobilenet_v3_large(weights_backbone=None, size=(3, 3))
    assert "already fixed" in str(caught[0].message)
    # the keywords reach the MobileNet too (torchvision passes them to both)
    model = detection.ssdlite320_mobilenet_v3_large(weights_backbone=None, dilated=True,
                                                    score_thresh=0.2)
    dilations = {m.dilation for m in model.backbone.modules() if isinstance(m, ember.nn.Conv2d)}
    assert (2, 2) in dilations and model.score_thresh == 0.2


def test_small_ssd_with_trial_forward_backbone():
    # a backbone without out_channels: its channels come from a trial forward
    ember.manual_seed(0)
    backbone = ember.nn.Sequential(ember.nn.Conv2d(3, 8, 3, stride=4, padding=1))
    model = SSD(backbone, DefaultBoxGenerator([[2]]), (32, 32), 3)
    assert isinstance(model.head, SSDHead)
    assert model.head.classification_head.module_list[0].in_channels == 8
    assert model.neg_to_pos_ratio == 3.0
    with pytest.raises(AssertionError, match="do not match the length"):
        SSD(backbone, DefaultBoxGenerator([[2], [2]]), (32, 32), 3)
    out = model.eval()([ember.rand(3, 40, 30)])
    assert sorted(out[0]) == ["boxes", "labels", "scores"]


def test_heads_and_extractor_shapes():
    cls = SSDClassificationHead([8, 4], [4, 6], 3)
    reg = SSDRegressionHead([8, 4], [4, 6])
    x = [ember.rand(1, 8, 2, 2), ember.rand(1, 4, 1, 1)]
    assert tuple(cls(x).shape) == (1, 22, 3) and tuple(reg(x).shape) == (1, 22, 4)
    lite = SSDLiteHead([8], [6], 3, ember.nn.BatchNorm2d)
    out = lite([ember.rand(1, 8, 2, 2)])
    assert list(out) == ["bbox_regression", "cls_logits"]
    # VGG16's conv layers only (its classifier would take long to initialise)
    ext = SSDFeatureExtractorVGG(models.vgg.make_layers(models.vgg.cfgs["D"]), highres=True)
    assert len(ext.extra) == 6
    assert ext.extra[5][2].kernel_size == (4, 4)
    assert ext.features[16].ceil_mode


def test_live_against_torchvision():
    """With torchvision importable: seeded init equal, and copied weights give equal head
    outputs and losses."""
    try:
        import torch
        import torchvision.models.detection as tvd
    except Exception:  # noqa: BLE001 - absent or broken beside the oracle
        pytest.skip("torchvision is not importable here")
    name = "ssdlite320_mobilenet_v3_large"
    torch.manual_seed(0)
    ref = getattr(tvd, name)(**KWARGS).eval()
    ember.manual_seed(0)
    mine = getattr(detection, name)(**KWARGS).eval()
    ref_state = ref.state_dict()
    for key, value in mine.state_dict().items():
        np.testing.assert_allclose(value.numpy(), ref_state[key].numpy(), rtol=0, atol=1e-6)
    torch.manual_seed(1)
    imgs = [torch.rand(*s) for s in IMAGE_SHAPES]
    with torch.no_grad():
        batch, _ = ref.transform(imgs)
        want = ref.head(list(ref.backbone(batch.tensors).values()))
    with ember.no_grad():
        batch, _ = mine.transform([ember.from_numpy(i.numpy().copy()) for i in imgs])
        got = mine.head(list(mine.backbone(batch.tensors).values()))
    for key in want:
        np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("trainable, last_frozen", [(5, None), (4, "features.2.bias"),
                                                     (2, "features.14.bias"),
                                                     (0, "extra.0.5.bias")])
def test_vgg_extractor_freezes_like_torchvision(trainable, last_frozen):
    # torchvision 0.28 (probed with ImageNet weights): the last frozen parameter per setting;
    # narrow convs keep it quick (only the layer positions matter)
    from types import SimpleNamespace

    from ember.vision.models.detection.ssd import _vgg_extractor

    layout = [8, 8, "M", 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M"]
    vgg = SimpleNamespace(features=models.vgg.make_layers(layout))
    extractor = _vgg_extractor(vgg, False, trainable)
    frozen = [n for n, p in extractor.named_parameters() if not p.requires_grad]
    assert (frozen[-1] if frozen else None) == last_frozen
    trainable_names = [n for n, p in extractor.named_parameters() if p.requires_grad]
    assert trainable_names[0] == "scale_weight"


def test_mobilenet_extractor_freezes_like_torchvision():
    from ember.vision.models.detection.ssdlite import _mobilenet_extractor

    extractor = _mobilenet_extractor(models.mobilenet_v3_large(), 2, ember.nn.BatchNorm2d)
    frozen = [n for n, p in extractor.named_parameters() if not p.requires_grad]
    trained = [n for n, p in extractor.named_parameters() if p.requires_grad]
    assert frozen[-1] == "features.0.12.block.3.1.bias"
    assert trained[:2] == ["features.0.13.0.weight", "features.0.13.1.weight"]
