"""fasterrcnn_resnet50_fpn_v2 / maskrcnn_resnet50_fpn_v2 against recorded torchvision 0.28
facts (``fixtures/models_segmentation.json.gz``, written by
``fixtures/make_models_segmentation.py``): state_dict layout and seeded initial values,
parameter counts, trainable parameters and the top eval detections of the seeded model on a
seeded image. With ``EMBER_TORCHVISION_PATH`` set, a live check loads torchvision's state dict.
"""

import gzip
import json
import pathlib

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models.detection.faster_rcnn import FastRCNNConvFCHead

from ._live_oracle import recorded_state, run_oracle

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_segmentation.json.gz"
CASES = {k: v for k, v in json.loads(gzip.decompress(FIXTURE.read_bytes()))["cases"].items()
         if "rcnn" in k}


def _build(name, seed=0):
    ember.manual_seed(seed)
    return models.get_model(name, weights=None, weights_backbone=None,
                            **CASES[name]["kwargs"]).eval()


def _image():
    ember.manual_seed(1)
    return ember.rand(3, 100, 120)


def _check_detections(out, want):
    assert list(out) == list(want)
    for key, fact in want.items():
        value = out[key].numpy().astype(np.float64)
        assert list(value.shape) == fact["shape"]
        if key == "labels":
            assert value[:5].ravel().tolist() == fact["top"]
        elif key == "boxes":  # pixels: decoding (exp) amplifies float32 rounding a little
            np.testing.assert_allclose(value[:5].ravel(), fact["top"], atol=5e-3)
        elif key == "scores":
            np.testing.assert_allclose(value[:5], fact["top"], rtol=1e-4, atol=1e-5)
        else:  # masks: probabilities pasted into the image
            np.testing.assert_allclose(value.sum(), fact["sum"], rtol=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
def test_v2_rcnn_matches_torchvision(name):
    fact = CASES[name]
    model = _build(name)
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    np.testing.assert_allclose(got, [s for _, _, s in fact["state"]], rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]
    assert sum(p.requires_grad for p in model.parameters()) == fact["trainable"]
    with ember.no_grad():
        out = model([_image()])[0]
    _check_detections(out, fact["out"])


def test_conv_fc_head():
    head = FastRCNNConvFCHead((4, 3, 3), [8, 6], [16, 5], norm_layer=ember.nn.BatchNorm2d)
    assert [type(m).__name__ for m in head] == ["Conv2dNormActivation", "Conv2dNormActivation",
                                                "Flatten", "Linear", "ReLU", "Linear", "ReLU"]
    assert head[3].in_features == 6 * 3 * 3
    assert head[0][0].bias is None  # the norm layer takes the bias's place
    assert head(ember.rand(2, 4, 3, 3)).shape == (2, 5)
    plain = FastRCNNConvFCHead((4, 3, 3), [8], [16])
    assert plain[0][0].bias is not None and float(plain[0][0].bias.abs().sum()) == 0.0


@pytest.mark.parametrize("name", ["fasterrcnn_resnet50_fpn_v2"])
def test_live_torchvision_state_dict_loads(name):
    rec = run_oracle("fixtures/make_models_segmentation.py", name)
    model = _build(name, seed=123)  # a different init, so the load must carry every value
    model.load_state_dict(recorded_state(rec))
    with ember.no_grad():
        out = model([_image()])[0]
    np.testing.assert_allclose(out["scores"].numpy(), rec["out/scores"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["boxes"].numpy(), rec["out/boxes"], atol=5e-3)
    np.testing.assert_array_equal(out["labels"].numpy(), rec["out/labels"])
