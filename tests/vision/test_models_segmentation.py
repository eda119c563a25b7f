"""torchvision.models.segmentation (FCN, DeepLabV3, LR-ASPP) against recorded torchvision 0.28
facts.

torchvision cannot be imported in CI, so ``fixtures/models_segmentation.json.gz`` holds its
answers (recorded by ``fixtures/make_models_segmentation.py``, which says how to run it): for
each builder, after ``manual_seed(0)`` construction, the ordered state_dict keys, shapes and
initial-value sums (equal sums in order mean the same init calls drew the same random stream),
the parameter count, the eval outputs for an input drawn after ``manual_seed(1)`` and the
train-mode outputs (batch statistics, dropout under a seed); plus module paths, weight enums and
the builders' argument errors. With ``EMBER_TORCHVISION_PATH`` set, a live check also loads
torchvision's state dict into ember's model and compares the outputs.
"""

import gzip
import json
import pathlib
import warnings

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import detection, segmentation

from ._live_oracle import recorded_state, run_oracle

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_segmentation.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))
CASES = {k: v for k, v in FACTS["cases"].items() if "rcnn" not in k}
SAMPLES = [0, 7, 100, 1000, 4095, 5000, 12345, 20000]  # as the recorder


def _build(name):
    ember.manual_seed(0)
    return models.get_model(name, weights=None, weights_backbone=None,
                            **CASES[name]["kwargs"]).eval()


def _check_summary(out, want, tol=1e-4):
    assert list(out.shape) == want["shape"]
    flat = out.detach().numpy().astype(np.float64).ravel()
    scale = want["abs_sum"] / flat.size
    np.testing.assert_allclose(flat[[i % flat.size for i in SAMPLES]], want["samples"],
                               rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(np.abs(flat).sum(), want["abs_sum"], rtol=tol)
    np.testing.assert_allclose(flat.sum(), want["sum"], rtol=tol, atol=tol * want["abs_sum"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_builder_matches_torchvision(name):
    # one build per builder: state_dict layout and seeded init, then eval and train outputs
    fact = CASES[name]
    model = _build(name)
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    np.testing.assert_allclose(got, [s for _, _, s in fact["state"]], rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]
    assert sum(p.requires_grad for p in model.parameters()) == fact["trainable"]
    if name.endswith("resnet101"):
        return  # the forward is the ResNet-50 variant's, which is checked; this keeps it fast

    ember.manual_seed(1)
    x = ember.rand(1, 3, 64, 64)
    with ember.no_grad():
        out = model(x)
    assert list(out) == list(fact["out"])  # "out" first, then "aux"
    for key, want in fact["out"].items():
        _check_summary(out[key], want)

    if "mobilenet" not in name:
        return  # train mode (dropout in FCNHead and ASPP) is covered by the MobileNet models
    model.train()
    ember.manual_seed(1)
    x = ember.rand(2, 3, 32, 32)
    ember.manual_seed(5)
    with ember.no_grad():
        out = model(x)
    assert list(out) == list(fact["train_out"])
    # batch statistics over a 2x4x4 map in a deep ResNet amplify float32 rounding (torch and
    # ember differ by ~2e-4 of the largest logit there); a dropout mask drawn differently
    # would differ by O(1)
    for key, want in fact["train_out"].items():
        _check_summary(out[key], want, tol=3e-3)


def test_registry_and_module_paths():
    api = FACTS["api"]
    assert models.list_models(module=segmentation) == api["list_segmentation"]
    assert models.list_models(module=detection, include="*rcnn*_v2") == api["list_detection_v2"]
    assert sorted(n for n in dir(segmentation) if not n.startswith("_")) == \
        api["segmentation_names"]
    for path, module in api["modules"].items():
        package, attr = path.rsplit(".", 1)
        package = package.replace("torchvision.models", "ember.vision.models")
        obj = getattr(__import__(package, fromlist=[attr]), attr)
        assert obj.__module__ == module.replace("torchvision.models", "ember.vision.models")
    for name in api["list_segmentation"]:
        assert models.get_model_builder(name) is getattr(segmentation, name)


@pytest.mark.parametrize("name", sorted(FACTS["api"]["enums"]))
def test_weight_enums(name):
    want = FACTS["api"]["enums"][name]
    enum = models.get_model_weights(name)
    assert enum is models.get_model_weights(models.get_model_builder(name))
    assert enum.__name__ == want["enum"]
    assert enum.__module__ == want["module"].replace("torchvision.models", "ember.vision.models")
    assert list(enum.__members__) == want["members"]
    assert enum.DEFAULT.name == want["default"]
    assert {k: v.url for k, v in enum.__members__.items()} == want["urls"]
    assert enum.DEFAULT.meta["num_params"] == want["num_params"]
    assert list(enum.DEFAULT.meta["min_size"]) == want["min_size"]
    if "rcnn" not in name:
        assert enum.DEFAULT.meta["categories"] == want["categories"]
    assert models.get_weight(f"{want['enum']}.DEFAULT") is enum.DEFAULT
    package = detection if "rcnn" in name else segmentation
    assert getattr(package, want["enum"]) is enum


def _outcome(call):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = call()
    except Exception as exc:  # noqa: BLE001  (compared with torchvision's exception)
        return [type(exc).__name__, str(exc)]
    head = getattr(model, "aux_classifier", "absent")
    return ["ok", type(model).__name__, head is None if head != "absent" else "absent"]


_NB = {"weights_backbone": None}
_ERRORS = {
    "extra_kwarg": lambda: segmentation.deeplabv3_mobilenet_v3_large(foo=1, **_NB),
    "lraspp_extra_kwarg": lambda: segmentation.lraspp_mobilenet_v3_large(foo=1, **_NB),
    "lraspp_aux": lambda: segmentation.lraspp_mobilenet_v3_large(aux_loss=True, **_NB),
    "lraspp_no_aux": lambda: segmentation.lraspp_mobilenet_v3_large(aux_loss=False, **_NB),
    "weights_num_classes": lambda: segmentation.deeplabv3_mobilenet_v3_large(
        weights="COCO_WITH_VOC_LABELS_V1", num_classes=3, **_NB),
    "weights_aux_false": lambda: segmentation.deeplabv3_mobilenet_v3_large(
        weights="COCO_WITH_VOC_LABELS_V1", aux_loss=False, **_NB),
    "lraspp_weights_num_classes": lambda: segmentation.lraspp_mobilenet_v3_large(
        weights="COCO_WITH_VOC_LABELS_V1", num_classes=3, **_NB),
    "bad_weights": lambda: segmentation.deeplabv3_mobilenet_v3_large(weights="BAD", **_NB),
    "fcn_bad_weights": lambda: segmentation.fcn_resnet50(weights="BAD", **_NB),
    "wrong_enum": lambda: segmentation.deeplabv3_mobilenet_v3_large(
        weights=segmentation.FCN_ResNet50_Weights.DEFAULT, **_NB),
    "bad_backbone": lambda: segmentation.deeplabv3_mobilenet_v3_large(weights_backbone="BAD"),
    "wrong_backbone": lambda: segmentation.fcn_resnet50(
        weights_backbone=models.MobileNet_V3_Large_Weights.DEFAULT),
    "frcnn_bad_weights": lambda: detection.fasterrcnn_resnet50_fpn_v2(weights="BAD"),
    "frcnn_wrong_enum": lambda: detection.fasterrcnn_resnet50_fpn_v2(
        weights=detection.MaskRCNN_ResNet50_FPN_V2_Weights.DEFAULT),
    "frcnn_weights_num_classes": lambda: detection.fasterrcnn_resnet50_fpn_v2(
        weights="COCO_V1", num_classes=3),
    "mrcnn_weights_num_classes": lambda: detection.maskrcnn_resnet50_fpn_v2(
        weights="COCO_V1", num_classes=3),
    "mrcnn_bad_backbone": lambda: detection.maskrcnn_resnet50_fpn_v2(weights_backbone="BAD"),
}


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_argument_errors_match_torchvision(case):
    assert _outcome(_ERRORS[case]) == FACTS["api"]["errors"][case]


@pytest.mark.parametrize("name", ["fcn_resnet50", "lraspp_mobilenet_v3_large",
                                  "fasterrcnn_resnet50_fpn_v2"])
def test_checkpoint_request_is_refused(name):
    # ember downloads nothing: a valid checkpoint request (after torchvision's checks) fails
    # with instructions to load a saved state_dict
    with pytest.raises(ValueError, match="ember cannot download pretrained weights"):
        models.get_model(name, weights="DEFAULT")


def test_heads_and_upsampling():
    # the pieces on their own: output sizes follow the input (ASPP pooling is upsampled back)
    from ember.vision.models.segmentation.deeplabv3 import ASPP, DeepLabHead
    from ember.vision.models.segmentation.fcn import FCNHead
    from ember.vision.models.segmentation.lraspp import LRASPPHead

    x = ember.rand(2, 16, 5, 7)
    assert ASPP(16, (1, 2), out_channels=8)(x).shape == (2, 8, 5, 7)
    assert len(ASPP(16, (1, 2, 3, 4)).convs) == 6
    assert DeepLabHead(16, 3, atrous_rates=(2,))(x).shape == (2, 3, 5, 7)
    assert FCNHead(16, 3)(x).shape == (2, 3, 5, 7)
    assert [type(m).__name__ for m in FCNHead(16, 3)] == [
        "Conv2d", "BatchNorm2d", "ReLU", "Dropout", "Conv2d"]
    head = LRASPPHead(4, 16, 3, 8)
    assert head({"low": ember.rand(2, 4, 10, 14), "high": x}).shape == (2, 3, 10, 14)


@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large"])
def test_live_torchvision_state_dict_loads(name):
    # torchvision's own weights (its seeded init) loaded into ember's model: equal outputs
    rec = run_oracle("fixtures/make_models_segmentation.py", name)
    ember.manual_seed(123)  # a different init, so the load must carry every value
    model = models.get_model(name, weights=None, weights_backbone=None,
                             **CASES[name]["kwargs"]).eval()
    model.load_state_dict(recorded_state(rec))
    ember.manual_seed(1)
    with ember.no_grad():
        out = model(ember.rand(1, 3, 64, 64))
    for key, value in out.items():
        np.testing.assert_allclose(value.numpy(), rec[f"out/{key}"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("module", ["ember.vision.models.segmentation",
                                    "ember.vision.models.segmentation._utils",
                                    "ember.vision.models.segmentation.lraspp"])
def test_docstring_examples(module):
    # the modules whose examples build small models (the ResNet ones take seconds each)
    import doctest
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"ember": ember, "nn": ember.nn},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0 and result.attempted > 0
