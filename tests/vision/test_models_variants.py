"""The family variants (convnext_small ... vit_h_14, resnext101_*, regnet_x_* / regnet_y_*,
efficientnet_b2 ... b7, ...), MNASNet and the 320-pixel MobileNetV3 Faster R-CNN against
torchvision 0.28.

torchvision cannot be imported in CI, so ``fixtures/models_variants.json.gz`` holds its answers
(recorded by ``fixtures/make_models_variants.py``, which documents how to run it):

* every builder's state_dict keys, shapes and parameter count, compared here on models built on
  the ``meta`` device (no memory, so even vit_h_14 and regnet_y_128gf are checked);
* for the models up to ~130M parameters, the per-tensor sums of the seeded initial values and
  the eval-mode output for a seeded input. Only the cheaper ones are built by default;
  ``EMBER_BIG_MODEL_TESTS=1`` checks the rest of the recorded ones too (tens of seconds each).

The live checks (``EMBER_TORCHVISION_PATH`` set) load torchvision's state dict into ember and
compare eval and train-mode outputs (dropout and stochastic depth under the same seed).
"""

import gzip
import json
import os
import pathlib
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import detection, mnasnet

from ._live_oracle import recorded_state, run_oracle

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_variants.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
NAMES = sorted(FACTS)
SEEDED = sorted(n for n in NAMES if "seeded" in FACTS[n])
# seeded builds cheap enough for every run (a second or two each, forward pass included)
DEFAULT_RUN = {"efficientnet_b2", "efficientnet_b3", "efficientnet_b5",
               "regnet_x_400mf", "regnet_x_800mf", "regnet_y_800mf", "regnet_x_1_6gf",
               "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mnasnet0_5", "mnasnet0_75",
               "mnasnet1_0", "mnasnet1_3", "fasterrcnn_mobilenet_v3_large_320_fpn"}
BIG_RUN = os.environ.get("EMBER_BIG_MODEL_TESTS") == "1"


def _build(name, **kwargs):
    kwargs.setdefault("weights", None)
    if name.startswith("fasterrcnn"):
        return getattr(detection, name)(weights_backbone=None, **kwargs)
    return models.get_model(name, **kwargs)


def _check_summary(out, fact):
    out = out.numpy().astype(np.float64)
    assert list(out.shape) == fact["out_shape"]
    scale = max(abs(v) for v in fact["out_first"]) or 1.0
    np.testing.assert_allclose(out.ravel()[:5], fact["out_first"], rtol=1e-4, atol=1e-4 * scale)
    np.testing.assert_allclose(np.abs(out).sum(), fact["out_abs_sum"], rtol=1e-4)
    np.testing.assert_allclose(out.sum(), fact["out_sum"], rtol=1e-4,
                               atol=1e-4 * fact["out_abs_sum"])


@pytest.mark.parametrize("name", NAMES)
def test_layout_matches_torchvision(name):
    # keys, order, shapes and parameter count of the default model, without allocating
    fact = FACTS[name]["layout"]
    with ember.device("meta"):
        model = _build(name)
    state = model.state_dict()
    assert list(state) == fact["keys"]
    assert [list(v.shape) for v in state.values()] == fact["shapes"]
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == fact["num_params"]
    if name.startswith("fasterrcnn"):
        return  # its checkpoint count is with a frozen backbone (BatchNorm as buffers)
    # the weights enum records the count of some checkpoint of this layout (ViT's SWAG
    # checkpoints are at other image sizes, with more position embeddings)
    counts = {w.meta["num_params"] for w in models.get_model_weights(name)}
    assert num_params in counts


@pytest.mark.parametrize("name", SEEDED)
def test_seeded_init_and_output_match_torchvision(name):
    if name not in DEFAULT_RUN and not BIG_RUN:
        pytest.skip("large model: set EMBER_BIG_MODEL_TESTS=1 to build it")
    fact = FACTS[name]["seeded"]
    ember.manual_seed(0)
    model = _build(name, **fact["kwargs"]).eval()
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in model.state_dict().values()])
    np.testing.assert_allclose(got, fact["sums"], rtol=1e-4, atol=1e-3)
    if "out_shape" not in fact:
        return  # the detector: layout and initial values only
    if fact["headless"]:
        model.heads = ember.nn.Identity()  # a zero-initialised head would give zero logits
    side = fact["kwargs"].get("image_size", 64)
    ember.manual_seed(1)
    x = ember.randn(1, 3, side, side)
    with ember.no_grad():
        _check_summary(model(x), fact)
    if "train" in fact:
        ember.manual_seed(1)
        x = ember.randn(2, 3, side, side)
        model.train()
        ember.manual_seed(2)
        with ember.no_grad():
            _check_summary(model(x), fact["train"])


def test_registration():
    every = models.list_models()
    assert set(NAMES) <= set(every)
    assert models.list_models(module=models.mnasnet) == ["mnasnet0_5", "mnasnet0_75",
                                                         "mnasnet1_0", "mnasnet1_3"]
    assert models.list_models(module=models.convnext) == [
        "convnext_base", "convnext_large", "convnext_small", "convnext_tiny"]
    assert models.list_models(include="efficientnet_b*") == [
        f"efficientnet_b{i}" for i in range(8)]
    assert len(models.list_models(include="regnet_*")) == 15
    assert "fasterrcnn_mobilenet_v3_large_320_fpn" in models.list_models(module=detection)
    assert models.get_model_builder("fasterrcnn_mobilenet_v3_large_320_fpn") is \
        detection.fasterrcnn_mobilenet_v3_large_320_fpn
    for name in NAMES:
        builder = models.get_model_builder(name)
        home = detection if name.startswith("fasterrcnn") else models
        assert getattr(home, name) is builder
    # module paths as torchvision's (``builder.__module__`` there: torchvision.models.<module>)
    assert models.mnasnet1_0.__module__ == "ember.vision.models.mnasnet"
    assert models.MNASNet.__module__ == "ember.vision.models.mnasnet"
    assert models.vit_h_14.__module__ == "ember.vision.models.vision_transformer"
    assert models.regnet_x_8gf.__module__ == "ember.vision.models.regnet"
    assert detection.fasterrcnn_mobilenet_v3_large_320_fpn.__module__ == \
        "ember.vision.models.detection.faster_rcnn"


def test_weight_enums():
    # torchvision 0.28's answers
    w = models.get_model_weights("regnet_y_128gf")
    assert w.__name__ == "RegNet_Y_128GF_Weights" and w is models.RegNet_Y_128GF_Weights
    assert [m.name for m in w] == ["IMAGENET1K_SWAG_E2E_V1", "IMAGENET1K_SWAG_LINEAR_V1"]
    assert w.DEFAULT is w.IMAGENET1K_SWAG_E2E_V1
    assert w.DEFAULT.meta["num_params"] == 644812894
    v = models.ViT_H_14_Weights
    assert v.DEFAULT.url == "https://download.pytorch.org/models/vit_h_14_swag-80465313.pth"
    assert v.DEFAULT.meta["min_size"] == (518, 518)
    assert v.IMAGENET1K_SWAG_LINEAR_V1.meta["num_params"] == 632045800
    assert models.get_weight("MNASNet0_5_Weights.DEFAULT").url.endswith(
        "mnasnet0.5_top1_67.823-3ffadce67e.pth")
    assert repr(models.get_model_weights(models.efficientnet_b7).DEFAULT) == \
        "EfficientNet_B7_Weights.IMAGENET1K_V1"
    assert [m.name for m in models.RegNet_Y_16GF_Weights] == [
        "IMAGENET1K_V1", "IMAGENET1K_V2", "IMAGENET1K_SWAG_E2E_V1", "IMAGENET1K_SWAG_LINEAR_V1"]
    assert models.RegNet_Y_16GF_Weights.DEFAULT.name == "IMAGENET1K_V2"
    assert models.ConvNeXt_Large_Weights.DEFAULT.meta["min_size"] == (32, 32)
    assert models.DenseNet161_Weights.DEFAULT.meta["min_size"] == (29, 29)
    d = models.get_model_weights("fasterrcnn_mobilenet_v3_large_320_fpn")
    assert d is detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights
    assert d.DEFAULT.name == "COCO_V1" and d.DEFAULT.meta["num_params"] == 19386354
    assert d.DEFAULT.url.endswith("fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth")


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_refused(name):
    with pytest.raises(ValueError, match="cannot download"):
        _build(name, weights="DEFAULT")


def _meta(build):
    with ember.device("meta"):
        return build()


@pytest.mark.parametrize("build, exc, message", [
    # torchvision 0.28's exception types (messages where they are its own words)
    (lambda: models.resnext101_32x8d(groups=4), ValueError,
     "The parameter 'groups' expected value 32 but got 4 instead."),
    (lambda: models.resnext101_64x4d(width_per_group=8), ValueError,
     "The parameter 'width_per_group' expected value 4 but got 8 instead."),
    (lambda: models.wide_resnet101_2(width_per_group=8), ValueError,
     "The parameter 'width_per_group' expected value 128 but got 8 instead."),
    (lambda: models.efficientnet_b5(norm_layer=ember.nn.BatchNorm2d), TypeError,
     "multiple values for keyword argument 'norm_layer'"),
    (lambda: models.vit_b_32(patch_size=16), TypeError,
     "multiple values for keyword argument 'patch_size'"),
    (lambda: models.mnasnet1_0(alpha=2.0), TypeError, "multiple values"),
    (lambda: models.mnasnet1_0(foo=1), TypeError, "unexpected keyword argument 'foo'"),
    (lambda: models.MNASNet(0.0), ValueError, "alpha should be greater than 0.0 instead of 0.0"),
    (lambda: models.MNASNet(-1.0), ValueError, "alpha should be greater than 0.0 instead of -1.0"),
    (lambda: models.shufflenet_v2_x2_0(stages_repeats=[1, 1, 1]), TypeError, "multiple values"),
    (lambda: models.densenet161(growth_rate=8), TypeError, "multiple values"),
])
def test_builder_errors_match_torchvision(build, exc, message):
    with pytest.raises(exc, match=message.replace("(", r"\(").replace(")", r"\)")):
        _meta(build)


def test_variant_defaults_match_torchvision():
    # torchvision 0.28's reprs: per-variant dropout, stochastic depth of the last block, the
    # TensorFlow-style BatchNorm of B5-B7
    effnet = {2: (0.3, 0.19130434782608696, 1e-05, 0.1), 3: (0.3, 0.19230769230769232, 1e-05, 0.1),
              4: (0.4, 0.19375, 1e-05, 0.1), 5: (0.4, 0.19487179487179487, 0.001, 0.01),
              6: (0.5, 0.19555555555555557, 0.001, 0.01),
              7: (0.5, 0.19636363636363638, 0.001, 0.01)}
    for i, (dropout, last_p, eps, momentum) in effnet.items():
        model = _meta(getattr(models, f"efficientnet_b{i}"))
        assert model.classifier[0].p == dropout
        assert model.features[-2][-1].stochastic_depth.p == pytest.approx(last_p, rel=1e-12)
        assert (model.features[0][1].eps, model.features[0][1].momentum) == (eps, momentum)
    assert _meta(lambda: models.efficientnet_b7(dropout=0.1)).classifier[0].p == 0.1
    for name, p in [("convnext_small", 0.4), ("convnext_base", 0.5), ("convnext_large", 0.5)]:
        assert _meta(getattr(models, name)).features[-1][-1].stochastic_depth.p == p
    last = _meta(lambda: models.convnext_large(stochastic_depth_prob=0.2))
    assert last.features[-1][-1].stochastic_depth.p == 0.2
    assert _meta(lambda: models.vit_l_16(image_size=32)).seq_length == 5
    assert _meta(lambda: models.vit_h_14(image_size=28)).seq_length == 5
    assert _meta(models.mnasnet1_0).classifier[0].p == 0.2
    assert _meta(lambda: models.mnasnet1_0(dropout=0.5)).classifier[0].p == 0.5
    bn = _meta(models.mnasnet0_5).layers[1]
    assert bn.momentum == pytest.approx(1 - 0.9997, abs=1e-15) and bn.eps == 1e-05


def test_fasterrcnn_320_defaults_match_torchvision():
    model = _meta(lambda: detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None))
    assert (model.transform.min_size, model.transform.max_size) == ((320,), 640)
    assert model.rpn._pre_nms_top_n == {"training": 2000, "testing": 150}
    assert model.rpn._post_nms_top_n == {"training": 2000, "testing": 150}
    assert model.rpn.score_thresh == 0.05 and model.roi_heads.score_thresh == 0.05
    assert model.roi_heads.box_predictor.cls_score.out_features == 91
    model = _meta(lambda: detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights_backbone=None, min_size=200, rpn_score_thresh=0.1, rpn_pre_nms_top_n_test=10))
    assert (model.transform.min_size, model.transform.max_size) == ((200,), 640)
    assert model.rpn._pre_nms_top_n["testing"] == 10 and model.rpn.score_thresh == 0.1
    with pytest.raises(ValueError, match="cannot download"):
        detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights="DEFAULT", num_classes=5)


def test_mnasnet_helpers_match_torchvision():
    # torchvision 0.28's answers for its private helpers
    assert mnasnet._round_to_multiple_of(32 * 0.75, 8) == 24
    assert mnasnet._get_depths(0.75) == [24, 16, 24, 32, 64, 72, 144, 240]
    assert mnasnet._get_depths(1.3) == [40, 24, 32, 56, 104, 128, 248, 416]
    for bias in (1.5, 0.0):
        with pytest.raises(ValueError, match="round_up_bias should be greater than 0.0 and "
                                             f"smaller than 1.0 instead of {bias}"):
            mnasnet._round_to_multiple_of(10, 8, bias)
    with pytest.raises(ValueError, match="stride should be 1 or 2 instead of 3"):
        mnasnet._InvertedResidual(8, 8, 3, 3, 3)
    with pytest.raises(ValueError, match="kernel_size should be 3 or 5 instead of 4"):
        mnasnet._InvertedResidual(8, 8, 4, 1, 3)
    with pytest.raises(ValueError, match="repeats should be >= 1, instead got 0"):
        mnasnet._stack(8, 16, 3, 2, 3, 0, 0.1)
    assert mnasnet._InvertedResidual(8, 8, 3, 1, 3, 0.5).apply_residual
    stack = mnasnet._stack(8, 16, 3, 2, 3, 2, 0.1)
    assert [b.layers[3].stride for b in stack] == [(2, 2), (1, 1)]
    assert stack[1].apply_residual and not stack[0].apply_residual


def test_mnasnet_state_dict_versions():
    model = models.mnasnet0_5()
    state = model.state_dict()
    assert state._metadata[""] == {"version": 2}
    # a plain dict carries no version: refused, as torchvision does
    with pytest.raises(ValueError, match="version should be set to 1 or 2 instead of None"):
        model.load_state_dict(dict(state))
    # a version-1 checkpoint of alpha 0.5 kept the stem of alpha 1 (32 and 16 channels): the
    # model rebuilds that stem (drawing default inits as torchvision does), warns, and
    # saves as version 1 from then on
    v1 = models.mnasnet0_5()
    old = OrderedDict(v1.state_dict())
    old._metadata = OrderedDict(v1.state_dict()._metadata)
    old._metadata[""] = {"version": 1}
    with pytest.warns(UserWarning, match="A new version of MNASNet model has been implemented"):
        with pytest.raises(RuntimeError, match="size mismatch for layers.0.weight"):
            v1.load_state_dict(old)
    assert v1.layers[0].out_channels == 32 and v1.layers[6].out_channels == 16
    assert v1.layers[8][0].layers[0].in_channels == 16
    assert v1._version == 1
    saved = v1.state_dict()
    assert saved._metadata[""] == {"version": 1}
    assert sum(p.numel() for p in v1.parameters()) == 2220824  # torchvision's count
    fresh = models.mnasnet0_5()
    ember.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert str(fresh.load_state_dict(saved)) == "<All keys matched successfully>"
    # the rebuild's random draws come in torchvision's order and number: the next draw after
    # manual_seed(5) and the load is torchvision's
    assert ember.randn(1).item() == pytest.approx(-0.5031773447990417, abs=1e-7)
    # alpha 1.0: version 1 changes nothing
    full = models.mnasnet1_0()
    state = full.state_dict()
    state._metadata[""]["version"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full.load_state_dict(state)
    assert full._version == 2


@pytest.mark.parametrize("case", ["mnasnet0_75", "efficientnet_b5", "shufflenet_v2_x2_0",
                                  "densenet169", "regnet_x_800mf", "convnext_small", "vit_b_32"])
def test_live_torchvision_state_dict_outputs(case):
    from ._variants_oracle import CASES

    rec = run_oracle("_variants_oracle.py", case)
    kwargs, _ = CASES[case]
    model = models.get_model(case, **kwargs)
    state = recorded_state(rec)
    state = OrderedDict(state)
    state._metadata = model.state_dict()._metadata  # what a torch.save'd file carries
    model.load_state_dict(state)
    x = ember.from_numpy(rec["input"])
    with ember.no_grad():
        out = model.eval()(x).numpy()
        np.testing.assert_allclose(out, rec["eval"], rtol=1e-4, atol=1e-5)
        model.train()
        ember.manual_seed(2)
        out = model(x).numpy()
    # batch statistics of two samples divide by small deviations: float32 rounding grows
    np.testing.assert_allclose(out, rec["train"], rtol=1e-3,
                               atol=2e-4 * np.abs(rec["train"]).max())
