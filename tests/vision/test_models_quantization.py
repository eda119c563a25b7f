"""ember.vision.models.quantization against torchvision 0.28's recordings
(``fixtures/make_models_quantization.py`` writes ``models_quantization.json.gz``; torchvision
is not needed here).

Checked: state_dict keys/order/shapes, seeded initial values (per-tensor sums), parameter
counts and eval outputs of every builder; ``fuse_model`` in eval and training mode (module
tree as ``repr``); the eager post-training flow (fuse, qconfig, prepare, calibrate, convert)
per backend, within a few output quanta (ember requantizes in float, so a value on a rounding
boundary may land one quantum off and carry on); QAT's fake-quantized training forward;
``quantize=True``; the weight enums, ``list_models`` and the builders' errors.
"""

from __future__ import annotations

import gzip
import json
import pathlib
import re

import numpy as np
import pytest

import ember
from ember.ao import quantization as aoq
from ember.vision import models
from ember.vision.models import quantization as Q

REC = json.load(gzip.open(pathlib.Path(__file__).parent / "fixtures"
                          / "models_quantization.json.gz", "rt"))
TESTED = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x0_5",
          "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "googlenet"]
PTQ = {"resnet18_x86": ("resnet18", "x86", "fc"),
       "mobilenet_v2_qnnpack": ("mobilenet_v2", "qnnpack", "classifier.1"),
       "shufflenet_v2_x0_5_fbgemm": ("shufflenet_v2_x0_5", "fbgemm", "fc"),
       "mobilenet_v3_large_qnnpack": ("mobilenet_v3_large", "qnnpack", "classifier.3")}


def tv_name(text: str) -> str:
    return text.replace("torchvision.models", "ember.vision.models")


def build(name: str):
    ember.manual_seed(0)
    return getattr(Q, name)(num_classes=10)


def inputs():
    ember.manual_seed(1)
    x = ember.rand(*REC["shape"])
    ember.manual_seed(2)
    return x, ember.rand(*REC["calib"])


def blank_scales(text: str) -> str:
    return re.sub(r"scale=(tensor\(\[)?[0-9.e-]+(\]\))?", "scale=?", text)


@pytest.mark.parametrize("name", TESTED)
def test_builder_state_init_eval_and_fusion(name):
    rec = REC["builders"][name]
    model = build(name)
    state = model.state_dict()
    assert list(state) == rec["keys"]
    assert [list(v.shape) for v in state.values()] == rec["shapes"]
    sums = [float(v.double().sum()) for v in state.values()]
    np.testing.assert_allclose(sums, rec["sums"], rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == rec["num_params"]
    builder = getattr(Q, name)
    assert builder.__module__ == tv_name(rec["module"])
    assert type(model).__name__ == rec["class"]
    assert type(model).__module__ == tv_name(rec["class_module"])
    x, _ = inputs()
    model.eval()
    with ember.no_grad():
        out = model(x)
    np.testing.assert_allclose(out.flatten().numpy(), rec["eval"], rtol=1e-4, atol=1e-5)
    model.fuse_model()
    assert repr(model) == rec["fused_eval_repr"]
    with ember.no_grad():  # fusion folds BatchNorm without changing the numerics
        np.testing.assert_allclose(model(x).flatten().numpy(), rec["eval"], rtol=1e-4,
                                   atol=1e-5)
    qat = build(name).train()
    qat.fuse_model()  # is_qat=None: training mode keeps BatchNorm (ConvBnReLU2d ...)
    assert repr(qat) == rec["fused_train_repr"]


def test_inception_v3_state_and_init():
    # keys, shapes, seeded init and the module tree (its PTQ flow was checked by hand)
    rec = REC["builders"]["inception_v3"]
    model = build("inception_v3")
    state = model.state_dict()
    assert list(state) == rec["keys"]
    assert [list(v.shape) for v in state.values()] == rec["shapes"]
    np.testing.assert_allclose([float(v.double().sum()) for v in state.values()], rec["sums"],
                               rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == rec["num_params"]
    assert type(model).__module__ == tv_name(rec["class_module"])
    assert Q.googlenet.__module__ == "ember.vision.models.quantization.googlenet"


@pytest.mark.parametrize("case", list(PTQ))
def test_post_training_quantization_flow(case):
    name, backend, last = PTQ[case]
    rec = REC["ptq"][case]
    model = build(name).eval()
    model.fuse_model()
    model.qconfig = aoq.get_default_qconfig(backend)
    prepared = aoq.prepare(model)
    x, calib = inputs()
    prepared(calib)
    converted = aoq.convert(prepared)
    assert blank_scales(repr(converted)) == rec["repr"]
    assert float(converted.quant.scale) == pytest.approx(rec["quant_scale"], rel=1e-6)
    out_scale = converted.get_submodule(last).scale
    assert out_scale == pytest.approx(rec["out_scale"], rel=1e-3)
    out = converted(x).flatten().numpy()
    quanta = np.abs(out - np.asarray(rec["out"])) / rec["out_scale"]
    # one-quantum flips inside the network can move a logit by a few output quanta
    assert quanta.max() <= 6, quanta.max()
    assert np.median(quanta) <= 2.01


def test_qat_prepare_forward():
    rec = REC["qat"]["shufflenet_v2_x0_5_fbgemm"]
    model = build("shufflenet_v2_x0_5").train()
    model.fuse_model()
    model.qconfig = aoq.get_default_qat_qconfig("fbgemm")
    prepared = aoq.prepare_qat(model)
    _, calib = inputs()
    out = prepared(calib).detach().flatten().numpy()
    # fake-quantized logits: the output grid's scale agrees to ~1e-4 (relative), so a value
    # may sit one grid step (~0.006 here) away
    np.testing.assert_allclose(out, rec["train_out"], rtol=1e-3, atol=0.013)
    assert np.median(np.abs(out - rec["train_out"])) < 1e-3
    prepared.eval()
    converted = aoq.convert(prepared)
    assert converted.fc._get_name() == "QuantizedLinear"


def test_quantize_true_builds_a_converted_model():
    rec = REC["quantize_true"]
    ember.manual_seed(0)
    model = Q.shufflenet_v2_x0_5(quantize=True, num_classes=10)
    # the module tree matches; the zero points come from one random calibration batch
    # through the histogram observers and may differ by a few levels, so they are blanked
    def blank(text):
        return re.sub(r"zero_point=(tensor\(\[)?-?\d+(\]\))?", "zero_point=?",
                      blank_scales(text))

    assert blank(repr(model)) == blank(rec["repr"])
    # calibrated on one batch of rand() images: the input stub sees max ~1 over 127 levels
    assert float(model.quant.scale) == pytest.approx(rec["quant_scale"], rel=1e-3)


def test_weight_enums_and_registry():
    for enum_name, rec in REC["enums"].items():
        builder = rec["builder"]
        if not hasattr(Q, builder):
            continue
        enum = models.get_model_weights("quantized_" + builder)
        assert enum.__name__ == enum_name and enum is getattr(Q, enum_name)
        assert enum.__module__ == tv_name(rec["module"])
        assert models.get_model_weights(getattr(Q, builder)) is enum
        assert enum.DEFAULT.name == rec["default"]
        assert [m.name for m in enum] == list(rec["members"])
        for member, meta in rec["members"].items():
            weight = models.get_weight(f"{enum_name}.{member}")
            assert weight.url == meta["url"]
            assert weight.meta["num_params"] == meta["num_params"]
            assert list(weight.meta["min_size"]) == meta["min_size"]
            assert weight.meta["backend"] == meta["backend"]
            assert repr(weight.meta["unquantized"]) == meta["unquantized"]
    assert models.list_models(module=Q) == REC["list_models"]
    assert models.get_model_builder("quantized_resnet18") is Q.resnet18
    assert type(models.get_model("quantized_mobilenet_v2", num_classes=3)).__name__ == \
        "QuantizableMobileNetV2"
    # the float builders keep their own enums
    assert models.get_model_weights(models.resnet18).__name__ == "ResNet18_Weights"


def test_builder_errors():
    errors = REC["errors"]
    cases = {"float_weights_quantize": dict(weights=models.get_weight(
        "ResNet18_Weights.IMAGENET1K_V1"), quantize=True),
        "quantized_weights_float": dict(weights=Q.ResNet18_QuantizedWeights.IMAGENET1K_FBGEMM_V1,
                                        quantize=False),
        "bad_kwarg": dict(bogus=1)}
    for case, kwargs in cases.items():
        kind, message = errors[case]
        with pytest.raises(Exception) as info:  # noqa: B017 - the type is checked below
            Q.resnet18(**kwargs)
        assert type(info.value).__name__ == kind
        assert str(info.value) == message
    # the right enum passes the check; ember then refuses to download
    with pytest.raises(ValueError, match="cannot download"):
        Q.resnet18(weights=Q.ResNet18_QuantizedWeights.DEFAULT, quantize=True)


def test_regressions_quantized_ops():
    # QuantizedTensor.chunk (ShuffleNet's channel split), hardsigmoid's fixed output qparams
    # and nnq.Hardswish / QuantizedDropout, found by the MobileNetV3/ShuffleNet flows
    q = ember.quantize_per_tensor(ember.tensor([[-1.0, 0.5, 2.0, 3.0, 4.0]]), 0.1, 10,
                                  ember.quint8)
    parts = q.chunk(2, dim=1)
    assert [p.shape[1] for p in parts] == [3, 2]
    assert parts[1].int_repr().tolist() == [[40, 50]] and parts[1].q_scale() == 0.1
    h = ember.nn.functional.hardsigmoid(q)
    assert (h.q_scale(), h.q_zero_point()) == (1 / 256, 0)
    # relu6(x + 3) / 6 * 256: -1 -> 85.33, 0.5 -> 149.33, 2 -> 213.33, >= 3 -> 255 (clamped)
    assert h.int_repr().tolist() == [[85, 149, 213, 255, 255]]
    hs = ember.ao.nn.quantized.Hardswish(0.05, 20)
    assert hs._get_name() == "QuantizedHardswish"
    np.testing.assert_allclose(hs(q).dequantize().numpy(), [[-0.35, 0.3, 1.65, 3.0, 4.0]],
                               atol=1e-6)
    m = ember.nn.Sequential(aoq.QuantStub(), ember.nn.Dropout(0.2), aoq.DeQuantStub()).eval()
    m.qconfig = aoq.get_default_qconfig("qnnpack")
    p = aoq.prepare(m)
    p(ember.rand(2, 3))
    assert repr(aoq.convert(p)[1]) == "QuantizedDropout(p=0.2, inplace=False)"
